#pragma once
// The guest's side of the ivshmem-doorbell device: ringing a peer (the host's
// porthole client) through the device's doorbell register. ivshmem-plain has
// no doorbell: opening one then fails, and the agent goes on without it (the
// host polls, as it always can).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "porthole/ivshmem/mapping.hpp"
#include "porthole/util/result.hpp"

namespace porthole::ivshmem {

// BAR0's registers (QEMU docs/specs/ivshmem-spec.rst).
inline constexpr std::size_t kRegIvPosition = 8;  // this device's peer ID (read-only)
inline constexpr std::size_t kRegDoorbell = 12;   // write (peer << 16) | vector

class Doorbell {
  public:
    virtual ~Doorbell() = default;
    // Interrupts `peer`'s `vector`. A ring for a peer that is not connected
    // is dropped by the device; a lost ring only delays the host's notice.
    virtual Status ring(std::uint16_t peer, std::uint16_t vector) = 0;
    // This device's own peer ID, for logs.
    [[nodiscard]] virtual std::uint16_t own_id() const = 0;
    [[nodiscard]] virtual std::string describe() const = 0;
};

// Rings the host client after each publish: its peer ID is read afresh every
// time (a restarted client has a new one; none: no ring).
class PeerRinger {
  public:
    using PeerSource = std::function<std::optional<std::uint16_t>()>;
    PeerRinger(std::unique_ptr<Doorbell> bell, PeerSource peer)
        : bell_(std::move(bell)), peer_(std::move(peer)) {}
    // Returns the error of a failed ring (the caller logs it, once).
    Status ring() {
        const auto peer = peer_();
        if (!peer) return {};
        auto ok = bell_->ring(*peer, 0);
        if (ok) ++rings_;
        return ok;
    }
    [[nodiscard]] std::uint64_t rings() const { return rings_; }
    [[nodiscard]] const Doorbell& doorbell() const { return *bell_; }

  private:
    std::unique_ptr<Doorbell> bell_;
    PeerSource peer_;
    std::uint64_t rings_ = 0;
};

#ifndef _WIN32
// Linux guest: BAR0 of the IVSHMEM device (bdf as for open_guest_pci). Fails
// for a device without interrupts (ivshmem-plain: no MSI-X BAR1).
Result<std::unique_ptr<Doorbell>> open_guest_doorbell(std::string_view bdf = "auto",
                                                      const std::string& sysfs_root = "/sys");
#else
// Windows guest: the driver's IOCTL_IVSHMEM_RING_DOORBELL on the device handle
// that mapped the region (the driver lets only that handle ring). Fails when
// the device has no interrupt vectors (ivshmem-plain). The doorbell must not
// outlive `region`.
Result<std::unique_ptr<Doorbell>> open_windows_doorbell(const Mapping& region);
#endif

}  // namespace porthole::ivshmem
