// porthole-input-probe: runs inside the VM tests' guest and reports every
// input event of every /dev/input/event* device on stdout (the serial
// console), one line each, so that a host-side test can compare them with
// what it sent. Devices that appear later (the agent's uinput devices) are
// picked up by rescanning. Plain read() of struct input_event: no libevdev.
//   PROBE-DEV eventN <name>
//   PROBE-EV eventN <type> <code> <value>     (EV_SYN, EV_MSC and EV_FF left out)
// On the agent's pad ("Porthole gamepad N") it also does what a game does
// for rumble, through a second fd (evdev echoes its EV_FF writes to every
// reader: left out of PROBE-EV):
// FF_GAIN 0xc000, EVIOCSFF of an FF_RUMBLE (strong 0xc000, weak 0x4000,
// 300 ms after 5 ms), play once, stop, EVIOCRMFF, and says
//   PROBE-FF eventN <effect id>   or   PROBE-FF-FAIL eventN <why>
// (the upload waits for the agent to answer the kernel: a hang here is an
// agent that does not).
// usage: porthole-input-probe [SECONDS]
#include <dirent.h>
#include <fcntl.h>
#include <linux/input.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Device {
    std::string node;
    int fd;
};

void say(const std::string& line) {
    const std::string l = line + "\n";
    // One write per line: the agent logs to the same console.
    [[maybe_unused]] auto n = ::write(STDOUT_FILENO, l.data(), l.size());
}

void rumble(const std::string& node) {
    const auto fail = [&](const std::string& why) {
        say("PROBE-FF-FAIL " + node + " " + why + ": " + std::strerror(errno));
    };
    const int fd = ::open(("/dev/input/" + node).c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return fail("open");
    const auto ff = [&](std::uint16_t code, std::int32_t value) {
        input_event e{};
        e.type = EV_FF;
        e.code = code;
        e.value = value;
        return ::write(fd, &e, sizeof(e)) == static_cast<ssize_t>(sizeof(e));
    };
    ff_effect effect{};
    effect.type = FF_RUMBLE;
    effect.id = -1;
    effect.u.rumble.strong_magnitude = 0xc000;
    effect.u.rumble.weak_magnitude = 0x4000;
    effect.replay.length = 300;
    effect.replay.delay = 5;
    if (!ff(FF_GAIN, 0xc000)) {
        fail("FF_GAIN");
    } else if (::ioctl(fd, EVIOCSFF, &effect) < 0) {
        fail("EVIOCSFF");
    } else if (!ff(static_cast<std::uint16_t>(effect.id), 1)) {
        fail("play");
    } else {
        ::usleep(50'000);
        if (!ff(static_cast<std::uint16_t>(effect.id), 0)) {
            fail("stop");
        } else if (::ioctl(fd, EVIOCRMFF, effect.id) < 0) {
            fail("EVIOCRMFF");
        } else {
            say("PROBE-FF " + node + " " + std::to_string(effect.id));
        }
    }
    ::close(fd);
}

void rescan(std::vector<Device>& devices) {
    DIR* dir = ::opendir("/dev/input");
    if (dir == nullptr) return;
    while (const dirent* d = ::readdir(dir)) {
        const std::string node = d->d_name;
        if (node.rfind("event", 0) != 0) continue;
        bool known = false;
        for (const auto& dev : devices)
            known = known || dev.node == node;
        if (known) continue;
        const int fd = ::open(("/dev/input/" + node).c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) continue;
        std::array<char, 256> name{};
        if (::ioctl(fd, EVIOCGNAME(name.size() - 1), name.data()) < 0) name[0] = '\0';
        devices.push_back({node, fd});
        say("PROBE-DEV " + node + " " + name.data());
        if (std::string(name.data()).rfind("Porthole gamepad", 0) == 0) rumble(node);
    }
    ::closedir(dir);
}

}  // namespace

int main(int argc, char** argv) {
    const long seconds = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 60;
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    std::vector<Device> devices;
    rescan(devices);
    say("PROBE-READY");
    auto next_scan = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() < end) {
        if (std::chrono::steady_clock::now() >= next_scan) {
            rescan(devices);
            next_scan = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
        }
        std::vector<pollfd> fds;
        for (const auto& d : devices)
            fds.push_back({d.fd, POLLIN, 0});
        if (::poll(fds.data(), fds.size(), 100) <= 0) continue;
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if ((fds[i].revents & POLLIN) == 0) continue;
            std::array<input_event, 64> evs{};
            const auto n = ::read(devices[i].fd, evs.data(), sizeof(evs));
            if (n <= 0) continue;
            for (std::size_t k = 0; k < static_cast<std::size_t>(n) / sizeof(input_event); ++k) {
                const auto& e = evs[k];
                if (e.type == EV_SYN || e.type == EV_MSC || e.type == EV_FF) continue;
                say("PROBE-EV " + devices[i].node + " " + std::to_string(e.type) + " " +
                    std::to_string(e.code) + " " + std::to_string(e.value));
            }
        }
    }
    say("PROBE-END");
    for (const auto& d : devices)
        ::close(d.fd);
    return 0;
}
