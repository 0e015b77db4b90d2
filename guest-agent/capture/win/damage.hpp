#pragma once
// Damage bookkeeping for the Windows backends: DXGI's dirty and move
// rectangles become the frame's damage (a move's destination is what
// changed), and GDI frames are compared tile by tile with the previous one.

#include <dxgi1_2.h>

#include <cstdint>
#include <span>

#include "capture/win/formats.hpp"
#include "porthole/protocol/format.hpp"

namespace porthole::agent::win {

// r clipped to a width x height image; empty if it lies outside or is inverted.
protocol::Rect clip_rect(const RECT& r, std::uint32_t width, std::uint32_t height);

// The desktop damage of one duplicated frame: dirty rects and move
// destinations, in texture coordinates, clipped and turned by rot.
protocol::DamageList damage_from_dxgi(std::span<const RECT> dirty,
                                      std::span<const DXGI_OUTDUPL_MOVE_RECT> moves, Size texture,
                                      Rotation rot);

// Tiles (tile x tile pixels) where cur differs from prev, merged along rows.
// Both images have the same size, stride and pixel size.
protocol::DamageList diff_tiles(ConstImageView prev, ConstImageView cur, std::uint32_t tile = 64);

}  // namespace porthole::agent::win
