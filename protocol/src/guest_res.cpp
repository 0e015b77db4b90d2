#include "porthole/protocol/guest_res.hpp"

#include "porthole/protocol/shared_memory.hpp"

namespace porthole::protocol {

void write_guest_res_request(std::span<std::byte> region, std::uint64_t serial, std::uint32_t width,
                             std::uint32_t height) {
    if (region.size() < kGuestResRequestOffset + sizeof(GuestResRequest)) return;
    auto& shared = *reinterpret_cast<GuestResRequest*>(region.data() + kGuestResRequestOffset);
    seqlock_begin_write(shared.seq);
    GuestResRequest r{};
    r.seq = load_relaxed(shared.seq);
    r.serial = serial;
    r.width = width;
    r.height = height;
    copy_in(shared, r);
    seqlock_end_write(shared.seq);
}

std::optional<GuestResView> read_guest_res_request(std::span<const std::byte> region) {
    if (region.size() < kGuestResRequestOffset + sizeof(GuestResRequest)) return std::nullopt;
    const auto& shared =
        *reinterpret_cast<const GuestResRequest*>(region.data() + kGuestResRequestOffset);
    const std::uint64_t begin = seqlock_read_begin(shared.seq);
    if ((begin & 1U) != 0) return std::nullopt;
    const GuestResRequest r = copy_out(shared);
    if (!seqlock_read_valid(shared.seq, begin)) return std::nullopt;
    if (r.serial == 0 || r.width == 0 || r.height == 0 || r.width > kMaxGuestResDimension ||
        r.height > kMaxGuestResDimension)
        return std::nullopt;
    return GuestResView{r.serial, r.width, r.height};
}

}  // namespace porthole::protocol
