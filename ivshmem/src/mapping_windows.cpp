// The Windows guest's region: the virtio-win IVSHMEM driver maps BAR2 into our
// address space on IOCTL_IVSHMEM_REQUEST_MMAP and unmaps it on
// IOCTL_IVSHMEM_RELEASE_MMAP (or when the device handle is closed).
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
// windows.h first: SetupAPI's header needs its types.
#include <setupapi.h>
#include <winioctl.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "porthole/ivshmem/doorbell.hpp"
#include "porthole/ivshmem/mapping.hpp"

namespace porthole::ivshmem {

namespace {

// From the driver's public header (virtio-win kvm-guest-drivers-windows,
// ivshmem/Public.h); the ABI is fixed, so we restate it rather than vendor it.
constexpr GUID kIvshmemInterface = {
    0xdf576976, 0x569d, 0x4672, {0x95, 0xa0, 0xf5, 0x7e, 0x4e, 0xa0, 0xb2, 0x10}};
constexpr DWORD ivshmem_ioctl(DWORD function) {
    return CTL_CODE(FILE_DEVICE_UNKNOWN, function, METHOD_BUFFERED, FILE_ANY_ACCESS);
}
constexpr DWORD kIoctlRequestPeerId = ivshmem_ioctl(0x800);
constexpr DWORD kIoctlRequestSize = ivshmem_ioctl(0x801);
constexpr DWORD kIoctlRequestMmap = ivshmem_ioctl(0x802);
constexpr DWORD kIoctlReleaseMmap = ivshmem_ioctl(0x803);
constexpr DWORD kIoctlRingDoorbell = ivshmem_ioctl(0x804);
constexpr std::uint8_t kCacheWriteCombined = 2;  // IVSHMEM_CACHE_WRITECOMBINED

struct IvshmemMmapConfig {
    std::uint8_t cache_mode;
};
struct IvshmemMmap {
    std::uint16_t peer_id;
    std::uint64_t size;
    void* ptr;
    std::uint16_t vectors;
};
static_assert(sizeof(IvshmemMmapConfig) == 1);
static_assert(sizeof(IvshmemMmap) == 32, "layout of the driver's IVSHMEM_MMAP on x64");
struct IvshmemRing {
    std::uint16_t peer_id;
    std::uint16_t vector;
};
static_assert(sizeof(IvshmemRing) == 4, "layout of the driver's IVSHMEM_RING");

std::string win32_message(DWORD code) {
    char* buf = nullptr;
    const DWORD n = FormatMessageA(
        FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
        nullptr, code, 0, reinterpret_cast<char*>(&buf), 0, nullptr);
    std::string s =
        n != 0 && buf != nullptr ? std::string(buf, n) : "error " + std::to_string(code);
    if (buf != nullptr) LocalFree(buf);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == '.'))
        s.pop_back();
    return s + " (" + std::to_string(code) + ")";
}

class DeviceInfoSet {
  public:
    explicit DeviceInfoSet(HDEVINFO h) : h_(h) {}
    DeviceInfoSet(const DeviceInfoSet&) = delete;
    DeviceInfoSet& operator=(const DeviceInfoSet&) = delete;
    ~DeviceInfoSet() {
        if (valid()) SetupDiDestroyDeviceInfoList(h_);
    }
    [[nodiscard]] bool valid() const { return h_ != INVALID_HANDLE_VALUE; }
    [[nodiscard]] HDEVINFO get() const { return h_; }

  private:
    HDEVINFO h_;
};

class DeviceHandle {
  public:
    explicit DeviceHandle(HANDLE h) : h_(h) {}
    DeviceHandle(const DeviceHandle&) = delete;
    DeviceHandle& operator=(const DeviceHandle&) = delete;
    ~DeviceHandle() {
        if (valid()) CloseHandle(h_);
    }
    [[nodiscard]] bool valid() const { return h_ != INVALID_HANDLE_VALUE && h_ != nullptr; }
    [[nodiscard]] HANDLE get() const { return h_; }
    HANDLE release() { return std::exchange(h_, INVALID_HANDLE_VALUE); }

  private:
    HANDLE h_;
};

constexpr const char* kInstallHint =
    "install the virtio-win IVSHMEM driver (virtio-win ISO, folder ivshmem; Device Manager: "
    "'PCI standard RAM Controller' -> Update driver) and give the VM an ivshmem-plain device";

// The device path of the index-th IVSHMEM interface.
Result<std::string> device_path(unsigned index) {
    DeviceInfoSet set(SetupDiGetClassDevsA(&kIvshmemInterface, nullptr, nullptr,
                                           DIGCF_PRESENT | DIGCF_DEVICEINTERFACE));
    if (!set.valid()) {
        return Error::make("cannot list IVSHMEM devices (SetupDiGetClassDevs): " +
                               win32_message(GetLastError()) + "; " + kInstallHint,
                           static_cast<int>(GetLastError()));
    }
    SP_DEVICE_INTERFACE_DATA iface{};
    iface.cbSize = sizeof(iface);
    if (SetupDiEnumDeviceInterfaces(set.get(), nullptr, &kIvshmemInterface, index, &iface) ==
        FALSE) {
        const DWORD err = GetLastError();
        if (err == ERROR_NO_MORE_ITEMS) {
            return Error::make(index == 0 ? std::string("no IVSHMEM device found: ") + kInstallHint
                                          : "IVSHMEM device " + std::to_string(index) +
                                                " not found (indices start at 0); " + kInstallHint,
                               static_cast<int>(err));
        }
        return Error::make(
            "cannot enumerate IVSHMEM device " + std::to_string(index) + ": " + win32_message(err),
            static_cast<int>(err));
    }
    DWORD needed = 0;
    SetupDiGetDeviceInterfaceDetailA(set.get(), &iface, nullptr, 0, &needed, nullptr);
    if (needed < sizeof(SP_DEVICE_INTERFACE_DETAIL_DATA_A)) {
        return Error::make("cannot read the IVSHMEM device's interface path: " +
                           win32_message(GetLastError()));
    }
    // The detail struct is variable-length; keep it in 8-byte aligned storage.
    std::vector<std::uint64_t> storage((needed + 7) / 8);
    auto* detail = reinterpret_cast<SP_DEVICE_INTERFACE_DETAIL_DATA_A*>(storage.data());
    detail->cbSize = sizeof(SP_DEVICE_INTERFACE_DETAIL_DATA_A);
    if (SetupDiGetDeviceInterfaceDetailA(set.get(), &iface, detail, needed, nullptr, nullptr) ==
        FALSE) {
        return Error::make("cannot read the IVSHMEM device's interface path: " +
                           win32_message(GetLastError()));
    }
    return std::string(detail->DevicePath);
}

}  // namespace

void Mapping::reset() {
    if (os_handle_ != nullptr) {
        // The driver owns the view; it unmaps on release (and on close anyway).
        DWORD returned = 0;
        if (addr_ != nullptr) {
            DeviceIoControl(os_handle_, kIoctlReleaseMmap, nullptr, 0, nullptr, 0, &returned,
                            nullptr);
        }
        CloseHandle(os_handle_);
    } else if (addr_ != nullptr) {
        UnmapViewOfFile(addr_);  // a view made by MapViewOfFile (tests)
    }
    addr_ = nullptr;
    size_ = 0;
    os_handle_ = nullptr;
}

Result<Mapping> open_windows_ivshmem(unsigned index) {
    auto path = device_path(index);
    if (!path) return path.error();
    DeviceHandle dev(CreateFileA(path->c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr,
                                 OPEN_EXISTING, 0, nullptr));
    if (!dev.valid()) {
        const DWORD err = GetLastError();
        return Error::make("cannot open IVSHMEM device " + *path + ": " + win32_message(err) +
                               (err == ERROR_ACCESS_DENIED
                                    ? "; run porthole-agent as administrator or as the service"
                                    : ""),
                           static_cast<int>(err));
    }
    std::uint64_t size = 0;
    DWORD returned = 0;
    if (DeviceIoControl(dev.get(), kIoctlRequestSize, nullptr, 0, &size, sizeof(size), &returned,
                        nullptr) == FALSE ||
        returned != sizeof(size)) {
        return Error::make("cannot query the IVSHMEM region size of " + *path + ": " +
                           win32_message(GetLastError()) +
                           "; update the virtio-win IVSHMEM driver");
    }
    IvshmemMmapConfig config{kCacheWriteCombined};
    IvshmemMmap map{};
    if (DeviceIoControl(dev.get(), kIoctlRequestMmap, &config, sizeof(config), &map, sizeof(map),
                        &returned, nullptr) == FALSE ||
        returned != sizeof(map) || map.ptr == nullptr) {
        // The driver hands the region to one process at a time: this is where
        // a second owner fails, not at CreateFile.
        return Error::make("cannot map the IVSHMEM region of " + *path + " (" +
                           std::to_string(size >> 20) + " MiB): " + win32_message(GetLastError()) +
                           "; another program (another porthole-agent or the Looking Glass host) "
                           "probably has it mapped: stop it");
    }
    if (map.size != size) size = std::min(size, map.size);
    std::string description =
        "IVSHMEM device " + std::to_string(index) + " (" + std::to_string(size >> 20) + " MiB)";
    Mapping m(map.ptr, static_cast<std::size_t>(size), std::move(description), dev.release());
    m.set_interrupt_vectors(map.vectors);
    return m;
}

namespace {

// IOCTL_IVSHMEM_RING_DOORBELL: the driver writes (peer << 16) | vector to
// the doorbell register (virtio-win ivshmem/Queue.c).
class WindowsDoorbell final : public Doorbell {
  public:
    WindowsDoorbell(HANDLE device, std::uint16_t own_id, std::uint16_t vectors)
        : device_(device), own_id_(own_id), vectors_(vectors) {}
    Status ring(std::uint16_t peer, std::uint16_t vector) override {
        IvshmemRing r{peer, vector};
        DWORD returned = 0;
        if (DeviceIoControl(device_, kIoctlRingDoorbell, &r, sizeof r, nullptr, 0, &returned,
                            nullptr) == FALSE)
            return Error::make("IVSHMEM doorbell: " + win32_message(GetLastError()));
        return {};
    }
    [[nodiscard]] std::uint16_t own_id() const override { return own_id_; }
    [[nodiscard]] std::string describe() const override {
        return "IVSHMEM doorbell (peer " + std::to_string(own_id_) + ", " +
               std::to_string(vectors_) + " vectors)";
    }

  private:
    HANDLE device_;
    std::uint16_t own_id_;
    std::uint16_t vectors_;
};

}  // namespace

Result<std::unique_ptr<Doorbell>> open_windows_doorbell(const Mapping& region) {
    if (region.os_handle() == nullptr)
        return Error::make("the region is not an IVSHMEM device's (no doorbell)");
    if (region.interrupt_vectors() == 0)
        return Error::make(
            "the IVSHMEM device has no interrupt vectors (ivshmem-plain): no doorbell");
    std::uint16_t own = 0;
    DWORD returned = 0;
    if (DeviceIoControl(region.os_handle(), kIoctlRequestPeerId, nullptr, 0, &own, sizeof own,
                        &returned, nullptr) == FALSE ||
        returned != sizeof own)
        return Error::make("cannot read the IVSHMEM device's peer ID: " +
                           win32_message(GetLastError()));
    return std::unique_ptr<Doorbell>(
        std::make_unique<WindowsDoorbell>(region.os_handle(), own, region.interrupt_vectors()));
}

Result<Mapping> create_region_file(const std::string& path, std::size_t size) {
    DeviceHandle file(CreateFileA(path.c_str(), GENERIC_READ | GENERIC_WRITE,
                                  FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                                  OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr));
    if (!file.valid()) {
        const DWORD err = GetLastError();
        return Error::make("cannot open " + path + ": " + win32_message(err),
                           static_cast<int>(err));
    }
    LARGE_INTEGER have{};
    if (GetFileSizeEx(file.get(), &have) == FALSE)
        return Error::make("cannot read the size of " + path + ": " +
                           win32_message(GetLastError()));
    if (static_cast<std::uint64_t>(have.QuadPart) < size) {
        LARGE_INTEGER want{};
        want.QuadPart = static_cast<LONGLONG>(size);
        if (SetFilePointerEx(file.get(), want, nullptr, FILE_BEGIN) == FALSE ||
            SetEndOfFile(file.get()) == FALSE)
            return Error::make("cannot size " + path + " to " + std::to_string(size >> 20) +
                               " MiB: " + win32_message(GetLastError()));
    } else {
        size = static_cast<std::size_t>(have.QuadPart);  // a larger file is kept whole
    }
    // The view keeps the section (and the file) alive: both handles close here.
    DeviceHandle section(CreateFileMappingA(file.get(), nullptr, PAGE_READWRITE, 0, 0, nullptr));
    if (!section.valid())
        return Error::make("cannot map " + path + ": " + win32_message(GetLastError()));
    void* view = MapViewOfFile(section.get(), FILE_MAP_ALL_ACCESS, 0, 0, size);
    if (view == nullptr)
        return Error::make("cannot map " + path + ": " + win32_message(GetLastError()));
    return Mapping(view, size, path + " (" + std::to_string(size >> 20) + " MiB)");
}

}  // namespace porthole::ivshmem
