#include "fake_kernel.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace porthole::vfio::testing {

namespace {

std::string read_file(const fs::path& p) {
    std::ifstream in(p);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void write_file(const fs::path& p, const std::string& content) {
    std::ofstream(p, std::ios::trunc) << content;
}

Error kernel_error(const std::string& path, int err) {
    return Error::make("writing " + path + " failed: " + std::strerror(err), err);
}

}  // namespace

FakeKernel::FakeKernel(Roots roots, std::shared_ptr<FakeKernelState> state)
    : roots_(std::move(roots)), state_(std::move(state)) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(roots_.sys / "bus/pci/devices", ec)) {
        std::string bdf = entry.path().filename().string();
        std::string driver = driver_of(bdf);
        if (!driver.empty() && driver != "vfio-pci" && !state_->native_driver.count(bdf)) {
            state_->native_driver[bdf] = driver;
        }
    }
}

fs::path FakeKernel::device_dir(const std::string& bdf) const {
    return roots_.sys / "bus/pci/devices" / bdf;
}

std::string FakeKernel::driver_of(const std::string& bdf) const {
    std::error_code ec;
    auto target = fs::read_symlink(device_dir(bdf) / "driver", ec);
    return ec ? std::string() : target.filename().string();
}

Status FakeKernel::bind(const std::string& bdf, const std::string& driver) {
    fs::path drv = roots_.sys / "bus/pci/drivers" / driver;
    if (!fs::exists(drv)) return Error::make("no driver " + driver, ENODEV);
    fs::create_directory_symlink("../../drivers/" + driver, device_dir(bdf) / "driver");
    fs::create_directory_symlink("../../devices/" + bdf, drv / bdf);
    return {};
}

Status FakeKernel::write_attribute(const Action& action, const fs::path& physical) {
    const std::string& path = action.path;
    const std::string value = trim(action.value);
    const std::string devices = "/sys/bus/pci/devices/";
    const std::string drivers = "/sys/bus/pci/drivers/";

    if (path.starts_with(devices) && path.ends_with("/driver_override")) {
        if (!fs::exists(physical)) return kernel_error(path, ENOENT);
        write_file(physical, (value.empty() ? "(null)" : value) + "\n");
        return {};
    }
    if (path.starts_with(devices) && path.ends_with("/rom")) {
        if (value != "0" && value != "1") return kernel_error(path, EINVAL);
        return {};  // enabling the ROM for reading changes nothing visible
    }
    if (path.starts_with(drivers) && (path.ends_with("/unbind") || path.ends_with("/bind"))) {
        std::string rest = path.substr(drivers.size());
        std::string driver = rest.substr(0, rest.find('/'));
        if (!fs::exists(physical)) return kernel_error(path, ENOENT);
        if (!fs::exists(device_dir(value))) return kernel_error(path, ENODEV);
        if (path.ends_with("/unbind")) {
            if (driver_of(value) != driver) return kernel_error(path, ENODEV);
            fs::remove(device_dir(value) / "driver");
            fs::remove(roots_.sys / "bus/pci/drivers" / driver / value);
            return {};
        }
        if (!driver_of(value).empty()) return kernel_error(path, EBUSY);
        // The kernel matches by driver_override when set, else by the id table.
        std::string override_name = trim(read_file(device_dir(value) / "driver_override"));
        bool matches = override_name != "(null)" ? override_name == driver
                                                 : state_->native_driver[value] == driver;
        if (!matches) return kernel_error(path, ENODEV);
        return bind(value, driver);
    }
    if (path == "/sys/bus/pci/drivers_probe") {
        if (!fs::exists(device_dir(value))) return kernel_error(path, ENODEV);
        if (!driver_of(value).empty()) return {};
        std::string override_name = trim(read_file(device_dir(value) / "driver_override"));
        std::string driver =
            override_name != "(null)" ? override_name : state_->native_driver[value];
        if (driver.empty() || !fs::exists(roots_.sys / "bus/pci/drivers" / driver)) return {};
        if (driver == "vfio-pci" && state_->probe_binds_nothing.count(value)) return {};
        return bind(value, driver);
    }
    if (path.ends_with("/nr_hugepages")) {
        uint64_t wanted = std::stoull(value);
        auto cap = state_->hugepage_capacity.find(path);
        if (cap != state_->hugepage_capacity.end()) wanted = std::min(wanted, cap->second);
        auto used = state_->hugepages_in_use.find(path);
        if (used != state_->hugepages_in_use.end()) wanted = std::max(wanted, used->second);
        write_file(physical, std::to_string(wanted) + "\n");
        return {};
    }
    if (path == "/proc/sys/vm/compact_memory") {
        ++state_->compactions;
        return {};
    }
    return files_.apply(action, physical);
}

Status FakeKernel::apply(const Action& action, const fs::path& physical) {
    auto fault = state_->failing_writes.find(action.path);
    if (fault != state_->failing_writes.end()) return kernel_error(action.path, fault->second);
    switch (action.kind) {
        case ActionKind::WriteAttribute:
            return write_attribute(action, physical);
        case ActionKind::RunCommand:
            state_->commands.push_back(action.argv);
            return {};
        case ActionKind::SetAffinity:
            state_->affinities.emplace_back(action.thread_id, action.value);
            return {};
        default:
            return files_.apply(action, physical);
    }
}

}  // namespace porthole::vfio::testing
