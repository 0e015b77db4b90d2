#include "audio/tone.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <numbers>

namespace porthole::agent::audio {
namespace {
constexpr double kLow = 300.0;
constexpr double kHigh = 3000.0;

// Phase (radians) of the rising half at t seconds into a 1 s period.
double rising_phase(double t) {
    return 2.0 * std::numbers::pi * (kLow * t + (kHigh - kLow) * t * t);
}

}  // namespace

double speaker_tone_hz(std::uint32_t speaker) {
    if (speaker == 0 || (speaker & (speaker - 1)) != 0) return 0;
    return 250.0 + 150.0 * std::countr_zero(speaker);
}

ToneGenerator::ToneGenerator(protocol::AudioFormat format, float amplitude, ToneKind kind)
    : format_(format), amplitude_(amplitude), kind_(kind) {}

float ToneGenerator::sample(std::uint64_t n, std::uint32_t ch) const {
    const std::uint64_t period = period_frames();
    if (kind_ == ToneKind::speakers) {
        const double hz = speaker_tone_hz(
            protocol::speaker_of_channel(format_.speakers(), static_cast<std::uint16_t>(ch)));
        // Whole cycles per period: the phase restarts exactly each second.
        const double t = static_cast<double>(n % period) / format_.rate;
        return amplitude_ * static_cast<float>(std::sin(2.0 * std::numbers::pi * hz * t));
    }
    const std::uint64_t i = (n + ch * (period / 4)) % period;
    const double t = static_cast<double>(i) / format_.rate;
    // The falling half mirrors the rising one; a whole number of cycles per
    // period ((300 + 3000) / 2 = 1650) makes sin(total - x) = -sin(x).
    const double v = t < 0.5 ? std::sin(rising_phase(t)) : -std::sin(rising_phase(1.0 - t));
    return amplitude_ * static_cast<float>(v);
}

void ToneGenerator::render(std::uint64_t first, std::span<std::byte> out) const {
    const std::uint32_t fb = format_.frame_bytes();
    const std::size_t frames = out.size() / fb;
    const std::uint32_t sb = bytes_per_sample(format_.sample);
    for (std::size_t f = 0; f < frames; ++f) {
        for (std::uint32_t c = 0; c < format_.channels; ++c) {
            const float v = sample(first + f, c);
            std::byte* d = out.data() + f * fb + c * sb;
            switch (format_.sample) {
                case protocol::SampleFormat::f32:
                    std::memcpy(d, &v, 4);
                    break;
                case protocol::SampleFormat::s16: {
                    const auto s = static_cast<std::int16_t>(
                        std::lround(std::clamp(v, -1.0F, 1.0F) * 32767.0F));
                    std::memcpy(d, &s, 2);
                    break;
                }
                case protocol::SampleFormat::s32: {
                    const auto s = static_cast<std::int32_t>(std::llround(
                        static_cast<double>(std::clamp(v, -1.0F, 1.0F)) * 2147483647.0));
                    std::memcpy(d, &s, 4);
                    break;
                }
            }
        }
    }
}

}  // namespace porthole::agent::audio
