// vm-evdev-client: the host side of the VM tests of porthole's own input
// path. A keyboard and a mouse faked with umockdev, porthole --headless
// --input evdev reading them, delivering to the VM's agent (the region's
// input ring) or to QEMU (QMP). This program switches input to the guest
// with the default hotkey (both Ctrl keys), types and moves on the fake
// devices, and prints each event the guest's probe should then read as
//   SENT <type> <code> <value>
// The hotkey itself and whatever is typed before it stay on the host.
// usage: vm-evdev-client agent REGION PORTHOLE | qmp REGION PORTHOLE QMP_SOCKET
#include <fmt/format.h>
#include <linux/input.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "fake_evdev.hpp"
#include "process.hpp"

namespace {

using namespace std::chrono_literals;
using porthole::test::FakeDeviceSpec;
using porthole::test::FakeEvdevBed;
using porthole::test::Process;
using porthole::test::read_text;

struct Sender {
    FakeEvdevBed& bed;
    const FakeDeviceSpec& kbd;
    const FakeDeviceSpec& mouse;
    bool qmp = false;     // QMP carries no high-resolution wheel: QEMU's mouse sends notches
    bool report = false;  // after the hotkey: the guest should see these

    void emit(const FakeDeviceSpec& d, std::uint16_t type, std::uint16_t code, std::int32_t value) {
        bed.emit(d, type, code, value);
        const bool hi_res =
            type == EV_REL && (code == REL_WHEEL_HI_RES || code == REL_HWHEEL_HI_RES);
        if (report && type != EV_MSC && !(qmp && hi_res))
            fmt::print("SENT {} {} {}\n", type, code, value);
    }
    void key(std::uint16_t code, std::int32_t value) {
        emit(kbd, EV_MSC, MSC_SCAN, code);
        emit(kbd, EV_KEY, code, value);
        bed.syn(kbd);
        std::fflush(stdout);
        // Quick presses, well under the guest kernel's 250 ms autorepeat delay.
        std::this_thread::sleep_for(value != 0 ? 40ms : 150ms);
    }
    void mouse_batch(std::initializer_list<input_event> events) {
        for (const auto& e : events)
            emit(mouse, e.type, e.code, e.value);
        bed.syn(mouse);
        std::fflush(stdout);
        std::this_thread::sleep_for(150ms);
    }
};

input_event ev(std::uint16_t type, std::uint16_t code, std::int32_t value) {
    input_event e{};
    e.type = type;
    e.code = code;
    e.value = value;
    return e;
}

bool wait_for(const std::string& path, const std::string& text, std::chrono::seconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (read_text(path).find(text) != std::string::npos) return true;
        std::this_thread::sleep_for(50ms);
    }
    return false;
}

// Waits until porthole's last --stats line (JSON, one a second) says QMP is connected.
bool wait_qmp_connected(const std::string& stats_path, std::chrono::seconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        std::ifstream in(stats_path);
        bool connected = false;
        for (std::string line; std::getline(in, line);) {
            const auto j = nlohmann::json::parse(line, nullptr, false);
            if (j.is_object()) connected = j.value("/input/qmp/connected"_json_pointer, false);
        }
        if (connected) return true;
        std::this_thread::sleep_for(50ms);
    }
    return false;
}

int run(int argc, char** argv) {
    const std::string mode = argc > 1 ? argv[1] : "";
    if (!((mode == "agent" && argc == 4) || (mode == "qmp" && argc == 5))) {
        std::fprintf(stderr,
                     "usage: vm-evdev-client agent REGION PORTHOLE | qmp REGION PORTHOLE "
                     "QMP_SOCKET\n");
        return 2;
    }
    const std::string region = argv[2], porthole = argv[3];
    FakeEvdevBed bed;
    const FakeDeviceSpec kbd{"Porthole VM Test Keyboard", 30, true, "usb-porthole-vm-kbd"};
    const FakeDeviceSpec mouse{"Porthole VM Test Mouse", 31, false, "usb-porthole-vm-mouse"};
    bed.add(kbd);
    bed.add(mouse);

    const std::string out = bed.dir() + "/porthole.out", err = bed.dir() + "/porthole.err";
    std::vector<std::string> args{porthole,  "--shm", region,    "--headless", "--size", "64x64",
                                  "--input", "evdev", "--stats", "--input-to", mode};
    if (mode == "qmp") {
        args.emplace_back("--qmp");
        args.emplace_back(std::string("unix:") + argv[4]);
    }
    Process client(args, out, err);
    // Attached to the guest's agent session (QMP needs none), reading both devices.
    if ((mode == "agent" && !wait_for(err, "agent connected", 60s)) ||
        !wait_for(err, "input: evdev", 10s)) {
        std::fprintf(stderr, "porthole did not attach and open the devices:\n%s\n",
                     read_text(err).c_str());
        return 1;
    }
    if (mode == "qmp") {
        // Batches sent before the QMP handshake would be dropped.
        if (!wait_qmp_connected(out, 30s)) {
            std::fprintf(stderr, "porthole did not connect to QMP within 30 s:\n%s\n%s\n",
                         read_text(err).c_str(), read_text(out).c_str());
            return 1;
        }
    } else {
        std::this_thread::sleep_for(500ms);  // the devices opened and grabbed
    }

    Sender s{bed, kbd, mouse, mode == "qmp"};
    s.key(KEY_X, 1);  // the host's: never seen by the guest
    s.key(KEY_X, 0);
    s.key(KEY_LEFTCTRL, 1);
    s.key(KEY_RIGHTCTRL, 1);
    s.key(KEY_RIGHTCTRL, 0);
    s.key(KEY_LEFTCTRL, 0);  // both released: the guest owns input now
    std::this_thread::sleep_for(200ms);
    s.report = true;
    s.key(KEY_A, 1);
    s.key(KEY_A, 0);
    s.key(KEY_LEFTSHIFT, 1);
    s.key(KEY_B, 1);
    s.key(KEY_B, 0);
    s.key(KEY_LEFTSHIFT, 0);
    s.mouse_batch({ev(EV_REL, REL_X, 5), ev(EV_REL, REL_Y, -3)});
    s.mouse_batch({ev(EV_KEY, BTN_LEFT, 1)});
    s.mouse_batch({ev(EV_KEY, BTN_LEFT, 0)});
    s.mouse_batch({ev(EV_REL, REL_WHEEL, 1), ev(EV_REL, REL_WHEEL_HI_RES, 120)});
    s.mouse_batch({ev(EV_REL, REL_X, -7)});
    s.mouse_batch({ev(EV_KEY, BTN_RIGHT, 1)});
    s.mouse_batch({ev(EV_KEY, BTN_RIGHT, 0)});
    s.report = false;
    std::this_thread::sleep_for(1500ms);  // a --stats line after the last event
    if (!client.running()) {
        std::fprintf(stderr, "porthole exited:\n%s\n", read_text(err).c_str());
        return 1;
    }
    const auto rc = client.terminate();
    std::fprintf(stderr, "%s\n---- porthole --stats ----\n%s\n", read_text(err).c_str(),
                 read_text(out).c_str());
    return rc == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    // The umockdev preload must be in place before the program starts, so
    // that porthole, our child, sees the fake devices too.
    const char* preload = std::getenv("LD_PRELOAD");
    if (preload == nullptr || std::strstr(preload, "umockdev-preload") == nullptr) {
        std::vector<char*> args{const_cast<char*>("umockdev-wrapper")};
        for (int i = 0; i < argc; ++i)
            args.push_back(argv[i]);
        args.push_back(nullptr);
        ::execvp("umockdev-wrapper", args.data());
        std::perror("umockdev-wrapper (package umockdev)");
        return 1;
    }
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "vm-evdev-client: %s\n", e.what());
        return 1;
    }
}
