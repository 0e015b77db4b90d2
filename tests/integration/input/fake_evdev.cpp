#include "fake_evdev.hpp"

#include <linux/input.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace porthole::test {
namespace {

std::string bits(std::size_t bytes, std::initializer_list<int> codes, std::vector<int> more = {}) {
    std::vector<unsigned char> b(bytes, 0);
    auto set = [&](int c) {
        b[static_cast<std::size_t>(c / 8)] |= static_cast<unsigned char>(1U << (c % 8));
    };
    for (int c : codes)
        set(c);
    for (int c : more)
        set(c);
    std::string hex;
    char buf[3];
    for (auto v : b) {
        std::snprintf(buf, sizeof buf, "%02x", v);
        hex += buf;
    }
    return hex;
}

std::string text(const std::string& s, std::size_t len) {
    std::vector<unsigned char> b(len, 0);
    for (std::size_t i = 0; i < s.size() && i < len - 1; ++i)
        b[i] = static_cast<unsigned char>(s[i]);
    std::string hex;
    char buf[3];
    for (auto v : b) {
        std::snprintf(buf, sizeof buf, "%02x", v);
        hex += buf;
    }
    return hex;
}

// The ioctl answers libevdev 1.13 asks for at libevdev_new_from_fd and on resync.
// struct input_absinfo {value, minimum, maximum, fuzz, flat, resolution}, little-endian.
std::string absinfo(std::int32_t min, std::int32_t max) {
    std::string hex;
    char buf[9];
    for (std::int32_t v : {0, min, max, 0, 0, 0}) {
        const auto u = static_cast<std::uint32_t>(v);
        std::snprintf(buf, sizeof buf, "%02x%02x%02x%02x", u & 0xff, (u >> 8) & 0xff,
                      (u >> 16) & 0xff, (u >> 24) & 0xff);
        hex += buf;
    }
    return hex;
}

std::string gamepad_record(const FakeDeviceSpec& s, const std::string& node) {
    std::vector<int> keys;
    for (int k = BTN_SOUTH; k <= BTN_THUMBR; ++k)
        keys.push_back(k);
    const std::string zero8 = "0000000000000000";
    std::string r = "@DEV " + node + "\n";
    r += "EVIOCGBIT(0) 8 " + bits(8, {EV_SYN, EV_KEY, EV_ABS}) + "\n";
    r += "EVIOCGBIT(1) 96 " + bits(96, {}, keys) + "\n";
    r += "EVIOCGBIT(2) 8 " + zero8 + "\n";
    r += "EVIOCGBIT(3) 8 " +
         bits(8, {ABS_X, ABS_Y, ABS_Z, ABS_RX, ABS_RY, ABS_RZ, ABS_HAT0X, ABS_HAT0Y}) + "\n";
    for (int a : {ABS_X, ABS_Y, ABS_Z, ABS_RX, ABS_RY, ABS_RZ})
        r += "EVIOCGABS(" + std::to_string(a) + ") 0 " + absinfo(0, 255) + "\n";
    for (int a : {ABS_HAT0X, ABS_HAT0Y})
        r += "EVIOCGABS(" + std::to_string(a) + ") 0 " + absinfo(-1, 1) + "\n";
    r += "EVIOCGBIT(4) 8 " + zero8 + "\n";
    r += "EVIOCGBIT(5) 8 " + zero8 + "\n";
    r += "EVIOCGBIT(17) 8 " + zero8 + "\n";
    r += "EVIOCGBIT(18) 8 " + zero8 + "\n";
    r += "EVIOCGBIT(21) 16 " + bits(16, {}) + "\n";
    r += "EVIOCGKEY(0) 96 " + bits(96, {}) + "\n";
    r += "EVIOCGLED(0) 8 " + zero8 + "\n";
    r += "EVIOCGSW(0) 8 " + zero8 + "\n";
    r += "EVIOCGPROP(0) 8 " + zero8 + "\n";
    r += "EVIOCGNAME(0) 255 " + text(s.name, 255) + "\n";
    r += "EVIOCGPHYS(0) 255 " + text("usb-porthole-test/input0", 255) + "\n";
    r += "EVIOCGUNIQ(0) 255 " + text("", 255) + "\n";
    r += "EVIOCGID 0 03004c05cc091181\n";
    r += "EVIOCGVERSION 0 01000100\n";
    return r;
}

std::string ioctl_record(const FakeDeviceSpec& s, const std::string& node) {
    if (s.gamepad) return gamepad_record(s, node);
    std::vector<int> keys;
    if (s.keyboard) {
        for (int k = 1; k <= KEY_MICMUTE; ++k)
            keys.push_back(k);
    } else {
        for (int k = BTN_LEFT; k <= BTN_TASK; ++k)
            keys.push_back(k);
    }
    const std::string zero8 = "0000000000000000";
    std::string r = "@DEV " + node + "\n";
    r += "EVIOCGBIT(0) 8 " +
         (s.keyboard ? bits(8, {EV_SYN, EV_KEY, EV_MSC, EV_LED, EV_REP})
                     : bits(8, {EV_SYN, EV_KEY, EV_REL})) +
         "\n";
    r += "EVIOCGBIT(1) 96 " + bits(96, {}, keys) + "\n";
    r += "EVIOCGBIT(2) 8 " +
         (s.keyboard ? zero8
                     : bits(8, {REL_X, REL_Y, REL_HWHEEL, REL_WHEEL, REL_WHEEL_HI_RES,
                                REL_HWHEEL_HI_RES})) +
         "\n";
    r += "EVIOCGBIT(3) 8 " + zero8 + "\n";
    r += "EVIOCGBIT(4) 8 " + (s.keyboard ? bits(8, {MSC_SCAN}) : zero8) + "\n";
    r += "EVIOCGBIT(5) 8 " + zero8 + "\n";
    r += "EVIOCGBIT(17) 8 " + (s.keyboard ? bits(8, {LED_NUML, LED_CAPSL, LED_SCROLLL}) : zero8) +
         "\n";
    r += "EVIOCGBIT(18) 8 " + zero8 + "\n";
    r += "EVIOCGBIT(21) 16 " + bits(16, {}) + "\n";
    r += "EVIOCGKEY(0) 96 " + bits(96, {}) + "\n";  // nothing held: what a resync reads back
    r += "EVIOCGLED(0) 8 " + zero8 + "\n";
    r += "EVIOCGSW(0) 8 " + zero8 + "\n";
    r += "EVIOCGPROP(0) 8 " + zero8 + "\n";
    r += "EVIOCGNAME(0) 255 " + text(s.name, 255) + "\n";
    r += "EVIOCGPHYS(0) 255 " + text("usb-porthole-test/input0", 255) + "\n";
    r += "EVIOCGUNIQ(0) 255 " + text("", 255) + "\n";
    r += "EVIOCGID 0 0300d1049a020101\n";
    r += "EVIOCGVERSION 0 01000100\n";
    if (s.keyboard) r += "EVIOCGREP 0 fa00000021000000\n";
    return r;
}

}  // namespace

FakeEvdevBed::FakeEvdevBed() : bed_(umockdev_testbed_new()) {
    char tmpl[] = "/tmp/porthole-evdev-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
}

FakeEvdevBed::~FakeEvdevBed() {
    g_object_unref(bed_);
    std::string cmd = "rm -rf '" + dir_ + "'";
    [[maybe_unused]] const int rc = std::system(cmd.c_str());
}

std::string FakeEvdevBed::add(const FakeDeviceSpec& s) {
    const std::string n = std::to_string(s.number);
    const std::string node = "/dev/input/event" + n;
    const std::string desc =
        "P: /devices/virtual/input/input" + n + "/event" + n + "\nN: input/event" + n +
        "\nE: DEVNAME=" + node + "\nE: ID_INPUT=1\nE: " +
        (s.gamepad ? "ID_INPUT_JOYSTICK=1"
                   : (s.keyboard ? "ID_INPUT_KEYBOARD=1" : "ID_INPUT_MOUSE=1")) +
        "\nE: MAJOR=13\nE: MINOR=" + std::to_string(64 + s.number) +
        "\nE: SUBSYSTEM=input\nA: dev=13:" + std::to_string(64 + s.number) + "\n";
    GError* err = nullptr;
    if (!umockdev_testbed_add_from_string(bed_, desc.c_str(), &err)) {
        throw std::runtime_error(std::string("umockdev add: ") + err->message);
    }
    const std::string file = dir_ + "/event" + n + ".ioctl";
    std::ofstream(file) << ioctl_record(s, node);
    if (!umockdev_testbed_load_ioctl(bed_, node.c_str(), file.c_str(), &err)) {
        throw std::runtime_error(std::string("umockdev load_ioctl: ") + err->message);
    }
    if (!s.by_id.empty()) {
        // A relative link, as udev makes them (umockdev's own S: links are absolute).
        gchar* root = umockdev_testbed_get_root_dir(bed_);
        const std::filesystem::path dir = std::filesystem::path(root) / "dev/input/by-id";
        g_free(root);
        std::filesystem::create_directories(dir);
        std::filesystem::remove(dir / s.by_id);
        std::filesystem::create_symlink("../event" + n, dir / s.by_id);
    }
    return node;
}

void FakeEvdevBed::remove(const FakeDeviceSpec& s) {
    const std::string n = std::to_string(s.number);
    const std::string node = "/dev/input/event" + n;
    GError* err = nullptr;
    umockdev_testbed_detach_ioctl(bed_, node.c_str(), &err);
    if (err) g_error_free(err);
    umockdev_testbed_remove_device(bed_,
                                   ("/sys/devices/virtual/input/input" + n + "/event" + n).c_str());
}

void FakeEvdevBed::emit(const FakeDeviceSpec& s, std::uint16_t type, std::uint16_t code,
                        std::int32_t value) {
    const std::string node = "/dev/input/event" + std::to_string(s.number);
    const int fd = umockdev_testbed_get_dev_fd(bed_, node.c_str());
    if (fd < 0) throw std::runtime_error("no umockdev fd for " + node);
    input_event e{};
    e.type = type;
    e.code = code;
    e.value = value;
    if (::write(fd, &e, sizeof e) != static_cast<ssize_t>(sizeof e))
        throw std::runtime_error("write to fake device");
}

}  // namespace porthole::test

namespace porthole::test {

std::vector<input_event> FakeEvdevBed::written(const FakeDeviceSpec& s) {
    const std::string node = "/dev/input/event" + std::to_string(s.number);
    const int fd = umockdev_testbed_get_dev_fd(bed_, node.c_str());
    std::vector<input_event> out;
    pollfd p{fd, POLLIN, 0};
    while (::poll(&p, 1, 0) > 0 && (p.revents & POLLIN)) {
        input_event e{};
        if (::read(fd, &e, sizeof e) != static_cast<ssize_t>(sizeof e)) break;
        out.push_back(e);
    }
    return out;
}

}  // namespace porthole::test

namespace porthole::test {

void FakeEvdevBed::set_mode(const FakeDeviceSpec& s, unsigned mode) {
    gchar* raw = umockdev_testbed_get_root_dir(bed_);
    const std::filesystem::path root(raw);
    g_free(raw);
    namespace fs = std::filesystem;
    for (const fs::path& d : {root, root / "dev", root / "dev/input", root / "dev/input/by-id",
                              root / "ioctl", root / "ioctl/dev", root / "ioctl/dev/input"}) {
        std::error_code ec;
        fs::permissions(d,
                        fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec,
                        ec);
    }
    const fs::path node = root / ("dev/input/event" + std::to_string(s.number));
    // The node links to the pty that stands for the device: chmod follows it.
    if (::chmod(node.c_str(), mode) != 0)
        throw std::runtime_error("chmod " + node.string() + ": " + std::strerror(errno));
    // umockdev's own ioctl socket stays open to everyone: only the node's
    // mode decides, as on a real system.
    const fs::path sock = root / ("ioctl/dev/input/event" + std::to_string(s.number));
    if (::chmod(sock.c_str(), 0777) != 0)
        throw std::runtime_error("chmod " + sock.string() + ": " + std::strerror(errno));
}

}  // namespace porthole::test
