#pragma once
// Mapping the shared region on every side: the host's file or character
// device, the Linux guest's IVSHMEM PCI BAR2, the Windows guest's IVSHMEM
// driver. Each opener returns a Mapping that unmaps when destroyed.

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "porthole/util/result.hpp"

namespace porthole::ivshmem {

inline constexpr std::string_view kDefaultShmPath = "/dev/shm/porthole";
inline constexpr std::uint16_t kIvshmemVendor = 0x1af4;
inline constexpr std::uint16_t kIvshmemDevice = 0x1110;

class Mapping {
  public:
    Mapping() = default;
    // Takes ownership of a mapping made by one of the openers below.
    Mapping(void* addr, std::size_t size, std::string description, void* os_handle = nullptr);
    Mapping(Mapping&& o) noexcept;
    Mapping& operator=(Mapping&& o) noexcept;
    Mapping(const Mapping&) = delete;
    Mapping& operator=(const Mapping&) = delete;
    ~Mapping();

    [[nodiscard]] std::span<std::byte> bytes() const {
        return {static_cast<std::byte*>(addr_), size_};
    }
    [[nodiscard]] std::size_t size() const { return size_; }
    [[nodiscard]] bool valid() const { return addr_ != nullptr; }
    // Where the region came from, for logs: "/dev/shm/porthole (32 MiB)".
    [[nodiscard]] const std::string& description() const { return description_; }
    // Windows: the device handle the region was mapped through (the doorbell
    // rings through it) and the device's interrupt vectors (0: ivshmem-plain).
    [[nodiscard]] void* os_handle() const { return os_handle_; }
    [[nodiscard]] std::uint16_t interrupt_vectors() const { return interrupt_vectors_; }
    void set_interrupt_vectors(std::uint16_t n) { interrupt_vectors_ = n; }

  private:
    void reset();
    void* addr_ = nullptr;
    std::size_t size_ = 0;
    void* os_handle_ = nullptr;  // Windows: the device HANDLE kept open with the view
    std::uint16_t interrupt_vectors_ = 0;
    std::string description_;
};

#ifndef _WIN32
// Host: a region file (QEMU's memory-backend-file, e.g. /dev/shm/porthole) or
// a character device such as /dev/kvmfr0. The file must exist and hold at
// least min_size bytes; errors say what is missing and how to fix access.
Result<Mapping> open_host_region(const std::string& path, std::size_t min_size = 0);

// True for the errors of a region that is not there yet but will be: a file
// QEMU has not created (ENOENT) or has created and not sized yet (ENODATA).
// A client started before its VM waits on these; the others need a fix.
[[nodiscard]] inline bool region_not_there_yet(const Error& e) {
    return e.code == ENOENT || e.code == ENODATA;
}

// Test and Linux-agent-on-host use: opens path, creating it or growing it to
// `size` bytes when needed (a /dev/shm file standing in for a VM's region).
Result<Mapping> create_region_file(const std::string& path, std::size_t size);

// Linux guest: the IVSHMEM PCI device's BAR2 through sysfs. `bdf` is
// "auto" (the first 1af4:1110 device) or a PCI address such as 0000:00:03.0.
// sysfs_root lets tests point at a fixture tree.
Result<Mapping> open_guest_pci(std::string_view bdf = "auto",
                               const std::string& sysfs_root = "/sys");

// The IVSHMEM devices under sysfs_root, as BDFs.
std::vector<std::string> find_ivshmem_devices(const std::string& sysfs_root = "/sys");
#else
// Windows guest: the virtio-win IVSHMEM driver's device; `index` picks among
// several IVSHMEM devices (0 = first).
Result<Mapping> open_windows_ivshmem(unsigned index = 0);

// Tests under Wine: a file as the region, as on Linux (created or grown to
// `size`). Wine maps a writable shared view of a file with MAP_SHARED, so a
// Z: path to a /dev/shm file is the same memory a Linux host program maps.
Result<Mapping> create_region_file(const std::string& path, std::size_t size);
#endif

}  // namespace porthole::ivshmem
