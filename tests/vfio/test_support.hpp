#pragma once
// Shared helpers: a System over a fixture copy with the fake kernel behind it.

#include <filesystem>
#include <memory>
#include <string>

#include "fake_kernel.hpp"
#include "fixture.hpp"
#include "porthole/vfio/pci.hpp"

namespace porthole::vfio::testing {

struct FakeMachine {
    explicit FakeMachine(const std::string& machine)
        : copy(machine),
          state(std::make_shared<FakeKernelState>()),
          sys(copy.roots(), std::make_unique<FakeKernel>(copy.roots(), state)),
          ids(PciIds::load(sys)) {}

    [[nodiscard]] std::string driver(const std::string& bdf) const {
        return sys.link_name("/sys/bus/pci/devices/" + bdf + "/driver").value_or("");
    }
    [[nodiscard]] std::string override_of(const std::string& bdf) const {
        return sys.read_trimmed("/sys/bus/pci/devices/" + bdf + "/driver_override").value_or("");
    }

    FixtureCopy copy;
    std::shared_ptr<FakeKernelState> state;
    System sys;
    PciIds ids;
};

// A relative symlink inside the fixture copy, as sysfs makes them.
inline void add_link(const FakeMachine& m, const std::string& at, const std::string& to) {
    namespace fs = std::filesystem;
    fs::path p = m.copy.dir() / at;
    fs::create_directories(p.parent_path());
    fs::create_symlink(fs::relative(m.copy.dir() / to, p.parent_path()), p);
}

// A PS/2 keyboard, as laptops have: on the platform bus, behind no PCI device.
inline void add_ps2_keyboard(const FakeMachine& m) {
    const std::string dir = "sys/devices/platform/i8042/serio0/input/input40";
    m.copy.write(dir + "/name", "AT Translated Set 2 keyboard\n");
    m.copy.write(dir + "/capabilities/ev", "120013\n");
    m.copy.write(dir + "/capabilities/key",
                 "402000000 3803078f800d001 feffffdfffefffff fffffffffffffffe\n");
    add_link(m, "sys/class/input/input40", dir);
}

}  // namespace porthole::vfio::testing
