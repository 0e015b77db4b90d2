#include "render/cpu_frame_store.hpp"

namespace porthole::client {

void CpuFrameStore::update(const protocol::FrameView& view) {
    const auto& m = view.meta;
    const std::uint32_t bpp = protocol::bytes_per_pixel(view.format);
    if (m.width != width_ || m.height != height_ || view.format != format_) {
        width_ = m.width;
        height_ = m.height;
        format_ = view.format;
        stride_ = m.width * bpp;
        pixels_.assign(std::size_t{stride_} * height_, std::byte{0});
    }
    protocol::copy_frame_rects(view, pixels_, stride_);
    for (const auto& r : view.copy_rects.rects()) bytes_copied_ += r.area() * bpp;
}

}  // namespace porthole::client
