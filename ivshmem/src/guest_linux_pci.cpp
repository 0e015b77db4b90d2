// Linux guest: the IVSHMEM device's BAR2 through sysfs (resource2_wc when the
// kernel offers write-combining, else resource2). The BAR must be mmapped:
// read()/write() on resource2 fail with EIO.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "porthole/ivshmem/doorbell.hpp"
#include "porthole/ivshmem/mapping.hpp"
#include "porthole/util/unique_fd.hpp"

namespace porthole::ivshmem {
namespace {

namespace fs = std::filesystem;

std::uint32_t read_hex(const fs::path& p) {
    std::ifstream in(p);
    std::string s;
    in >> s;
    try {
        return static_cast<std::uint32_t>(std::stoul(s, nullptr, 16));
    } catch (...) {
        return 0;
    }
}

bool is_ivshmem(const fs::path& dev) {
    return read_hex(dev / "vendor") == kIvshmemVendor && read_hex(dev / "device") == kIvshmemDevice;
}

}  // namespace

std::vector<std::string> find_ivshmem_devices(const std::string& sysfs_root) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(fs::path(sysfs_root) / "bus/pci/devices", ec)) {
        if (is_ivshmem(e.path())) out.push_back(e.path().filename().string());
    }
    std::sort(out.begin(), out.end());
    return out;
}

namespace {

// The device's sysfs folder: bdf "auto" (the first IVSHMEM device) or an address.
Result<fs::path> resolve_device(std::string_view bdf_in, const std::string& sysfs_root) {
    std::string bdf(bdf_in);
    if (bdf.empty() || bdf == "auto") {
        const auto devs = find_ivshmem_devices(sysfs_root);
        if (devs.empty()) {
            return Error::make(
                "no IVSHMEM PCI device (1af4:1110) under " + sysfs_root +
                    "/bus/pci/devices: add -device ivshmem-plain,memdev=... to the VM "
                    "(or a <shmem> element in libvirt)",
                ENOENT);
        }
        bdf = devs.front();
    }
    if (bdf.size() == 7) bdf = "0000:" + bdf;  // accept bus:dev.fn
    const fs::path dev = fs::path(sysfs_root) / "bus/pci/devices" / bdf;
    if (!fs::exists(dev))
        return Error::make("no PCI device " + bdf + " under " + sysfs_root, ENOENT);
    if (!is_ivshmem(dev))
        return Error::make("PCI device " + bdf + " is not an IVSHMEM device (1af4:1110)");
    return dev;
}

// A BAR through its sysfs resource file: mmapped (read()/write() fail with
// EIO), at least min_size bytes. ENOENT when the file is not there.
Result<Mapping> map_resource(const fs::path& res, std::size_t min_size, const std::string& what) {
    UniqueFd fd(::open(res.c_str(), O_RDWR | O_SYNC | O_CLOEXEC));
    if (!fd) {
        const int err = errno;
        return Error::make("cannot open " + res.string() + ": " + std::strerror(err) +
                               (err == EACCES ? " (run the agent as root)" : ""),
                           err);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || st.st_size <= 0 ||
        static_cast<std::size_t>(st.st_size) < min_size) {
        return Error::make(res.string() + " reports no size, or too small a one, for " + what);
    }
    const auto size = static_cast<std::size_t>(st.st_size);
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
    if (p == MAP_FAILED) {
        const int err = errno;
        return Error::make("cannot map " + res.string() + ": " + std::strerror(err), err);
    }
    return Mapping(p, size,
                   what + " (" +
                       (size >= (std::size_t{1} << 20) ? std::to_string(size >> 20) + " MiB"
                                                       : std::to_string(size) + " bytes") +
                       ")");
}

}  // namespace

Result<Mapping> open_guest_pci(std::string_view bdf_in, const std::string& sysfs_root) {
    auto found = resolve_device(bdf_in, sysfs_root);
    if (!found) return found.error();
    const fs::path dev = *found;
    const std::string bdf = dev.filename().string();

    // Enabling the device makes its BARs accessible (harmless when already on).
    if (std::ofstream en(dev / "enable"); en) en << "1";

    for (const char* name : {"resource2_wc", "resource2"}) {
        auto m = map_resource(dev / name, 1, "IVSHMEM " + bdf + " BAR2");
        if (!m && m.error().code == ENOENT) continue;
        if (!m) return m.error();
        return m;
    }
    return Error::make("IVSHMEM device " + bdf + " has no BAR2 resource file", ENOENT);
}

namespace {

// BAR0 mapped from sysfs (resource0): the registers, written with 32-bit stores.
class PciDoorbell final : public Doorbell {
  public:
    PciDoorbell(Mapping regs, std::string bdf) : regs_(std::move(regs)), bdf_(std::move(bdf)) {}
    Status ring(std::uint16_t peer, std::uint16_t vector) override {
        reg(kRegDoorbell) = (std::uint32_t{peer} << 16) | vector;
        return {};
    }
    [[nodiscard]] std::uint16_t own_id() const override {
        return static_cast<std::uint16_t>(reg(kRegIvPosition));
    }
    [[nodiscard]] std::string describe() const override {
        return "IVSHMEM " + bdf_ + " doorbell (peer " + std::to_string(own_id()) + ")";
    }

  private:
    [[nodiscard]] volatile std::uint32_t& reg(std::size_t offset) const {
        return *reinterpret_cast<volatile std::uint32_t*>(regs_.bytes().data() + offset);
    }
    Mapping regs_;
    std::string bdf_;
};

}  // namespace

Result<std::unique_ptr<Doorbell>> open_guest_doorbell(std::string_view bdf_in,
                                                      const std::string& sysfs_root) {
    auto found = resolve_device(bdf_in, sysfs_root);
    if (!found) return found.error();
    const fs::path dev = *found;
    const std::string bdf = dev.filename().string();
    // Only ivshmem-doorbell has BAR1 (its MSI-X table): without it the
    // doorbell register ignores every write.
    if (!fs::exists(dev / "resource1")) {
        return Error::make("IVSHMEM " + bdf + " has no interrupts (ivshmem-plain): no doorbell",
                           ENOTSUP);
    }
    if (std::ofstream en(dev / "enable"); en) en << "1";
    auto regs = map_resource(dev / "resource0", kRegDoorbell + 4, "IVSHMEM " + bdf + " BAR0");
    if (!regs) return regs.error();
    return std::unique_ptr<Doorbell>(std::make_unique<PciDoorbell>(std::move(*regs), bdf));
}

}  // namespace porthole::ivshmem
