#pragma once
// A sysfs that reacts to writes the way the kernel does, over a fixture copy:
// driver_override keeps the name ("(null)" when cleared), drivers/X/unbind removes
// the driver links, drivers/X/bind and drivers_probe bind by driver_override or the
// native driver, nr_hugepages is capped by what memory allows. Commands and CPU
// affinity are recorded, never executed. Faults can be injected per path or device.

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "porthole/vfio/system.hpp"

namespace porthole::vfio::testing {

struct FakeKernelState {
    std::map<std::string, std::string> native_driver;   // bdf -> driver drivers_probe picks
    std::set<std::string> probe_binds_nothing;          // bdfs vfio-pci refuses at probe
    std::map<std::string, int> failing_writes;          // logical path -> errno
    std::map<std::string, uint64_t> hugepage_capacity;  // logical nr_hugepages path -> max
    std::map<std::string, uint64_t> hugepages_in_use;   // pages a VM holds: the pool's floor
    std::vector<std::vector<std::string>> commands;     // run, in order
    std::vector<std::pair<int64_t, std::string>> affinities;
    int compactions = 0;
};

class FakeKernel : public Backend {
  public:
    // Learns each device's native driver from the tree as it is now.
    FakeKernel(Roots roots, std::shared_ptr<FakeKernelState> state);

    [[nodiscard]] Status apply(const Action& action, const fs::path& physical) override;

  private:
    Status write_attribute(const Action& action, const fs::path& physical);
    Status bind(const std::string& bdf, const std::string& driver);
    [[nodiscard]] std::string driver_of(const std::string& bdf) const;
    [[nodiscard]] fs::path device_dir(const std::string& bdf) const;

    Roots roots_;
    std::shared_ptr<FakeKernelState> state_;
    RealBackend files_;
};

}  // namespace porthole::vfio::testing
