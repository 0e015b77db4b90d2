#include <algorithm>
#include <cstring>
#include <vector>

#include "audio/pcm_source.hpp"

namespace porthole::client::audio {
namespace {

class RegionSource final : public PcmSource {
  public:
    explicit RegionSource(protocol::AudioReader reader) : reader_(std::move(reader)) {}

    Result<std::optional<PcmFormat>> format() override {
        auto f = reader_.format();
        if (!f) return f.error();
        if (!*f) return std::optional<PcmFormat>{};
        sample_ = (*f)->sample;
        frame_bytes_ = (*f)->frame_bytes();
        channels_ = (*f)->channels;
        return std::optional<PcmFormat>{PcmFormat{(*f)->rate, (*f)->channels, (*f)->channel_mask}};
    }
    std::uint64_t available() override { return frame_bytes_ == 0 ? 0 : reader_.available(); }
    Result<PcmRead> read(std::span<float> out) override {
        if (frame_bytes_ == 0) return PcmRead{0, 0, true};
        const std::size_t frames = out.size() / channels_;
        scratch_.resize(frames * frame_bytes_);
        auto r = reader_.read(scratch_);
        if (!r) return r.error();
        PcmRead res{r->frames, r->lost_frames, r->format_changed};
        to_float(sample_, std::span(scratch_).first(r->frames * frame_bytes_),
                 out.first(r->frames * channels_));
        return res;
    }
    void skip_to_latest(std::uint64_t keep_frames) override { reader_.skip_to_latest(keep_frames); }
    float volume() const override { return reader_.volume(); }
    bool muted() const override { return reader_.muted(); }

  private:
    protocol::AudioReader reader_;
    protocol::SampleFormat sample_ = protocol::SampleFormat::f32;
    std::uint32_t frame_bytes_ = 0;
    std::uint16_t channels_ = 1;
    std::vector<std::byte> scratch_;
};

}  // namespace

std::unique_ptr<PcmSource> make_region_source(protocol::AudioReader reader) {
    return std::make_unique<RegionSource>(std::move(reader));
}

}  // namespace porthole::client::audio
