#pragma once
// Shared helpers: a System over a fixture copy with the fake kernel behind it.

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

}  // namespace porthole::vfio::testing
