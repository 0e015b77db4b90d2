#pragma once
// The guest display size the host's window asks for (GuestResRequest at
// kGuestResRequestOffset): the client writes its window's drawable size, the
// agent reads it and sets the closest mode its display offers.

#include <cstdint>
#include <optional>
#include <span>

#include "porthole/protocol/region.hpp"

namespace porthole::protocol {

struct GuestResView {
    std::uint64_t serial = 0;
    std::uint32_t width = 0;
    std::uint32_t height = 0;
    friend bool operator==(const GuestResView&, const GuestResView&) = default;
};

// Client: a new request (`serial` must differ from the last one written;
// non-zero). `region` is the whole region (at least its header page).
void write_guest_res_request(std::span<std::byte> region, std::uint64_t serial, std::uint32_t width,
                             std::uint32_t height);

// Agent: a consistent, validated copy of the request; nullopt while the
// client writes it, when none was made (serial 0), or when a size is 0 or
// above kMaxGuestResDimension.
std::optional<GuestResView> read_guest_res_request(std::span<const std::byte> region);

}  // namespace porthole::protocol
