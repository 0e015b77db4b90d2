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
#include <string>

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

Result<Mapping> open_guest_pci(std::string_view bdf_in, const std::string& sysfs_root) {
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

    // Enabling the device makes its BARs accessible (harmless when already on).
    if (std::ofstream en(dev / "enable"); en) en << "1";

    for (const char* name : {"resource2_wc", "resource2"}) {
        const fs::path res = dev / name;
        UniqueFd fd(::open(res.c_str(), O_RDWR | O_SYNC | O_CLOEXEC));
        if (!fd) {
            if (errno == ENOENT) continue;
            const int err = errno;
            return Error::make("cannot open " + res.string() + ": " + std::strerror(err) +
                                   (err == EACCES ? " (run the agent as root)" : ""),
                               err);
        }
        struct stat st {};
        if (::fstat(fd.get(), &st) != 0 || st.st_size <= 0) {
            return Error::make(res.string() + " reports no size");
        }
        const auto size = static_cast<std::size_t>(st.st_size);
        void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
        if (p == MAP_FAILED) {
            const int err = errno;
            return Error::make("cannot map " + res.string() + ": " + std::strerror(err), err);
        }
        return Mapping(p, size,
                       "IVSHMEM " + bdf + " BAR2 (" + std::to_string(size >> 20) + " MiB)");
    }
    return Error::make("IVSHMEM device " + bdf + " has no BAR2 resource file", ENOENT);
}

}  // namespace porthole::ivshmem
