// porthole-input-probe: runs inside the VM tests' guest and reports every
// input event of every /dev/input/event* device on stdout (the serial
// console), one line each, so that a host-side test can compare them with
// what it sent. Devices that appear later (the agent's uinput devices) are
// picked up by rescanning. Plain read() of struct input_event: no libevdev.
//   PROBE-DEV eventN <name>
//   PROBE-EV eventN <type> <code> <value>     (EV_SYN and EV_MSC left out)
// usage: porthole-input-probe [SECONDS]
#include <dirent.h>
#include <fcntl.h>
#include <linux/input.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
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
                if (e.type == EV_SYN || e.type == EV_MSC) continue;
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
