#include "audio/probe.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "porthole/util/adaptive_wait.hpp"

namespace porthole::agent::audio {
namespace {

constexpr std::size_t kChannelBytes = std::size_t{512} * 1024;  // the region's default ring

double to_dbfs(double amplitude) {
    return amplitude > 0 ? 20.0 * std::log10(amplitude) : -std::numeric_limits<double>::infinity();
}

std::string_view sample_name(protocol::SampleFormat f) {
    switch (f) {
        case protocol::SampleFormat::s16:
            return "s16";
        case protocol::SampleFormat::s32:
            return "s32";
        case protocol::SampleFormat::f32:
            return "f32";
    }
    return "?";
}

// WAVE order names, as Windows' and PipeWire's tools print them.
std::string speaker_names(std::uint32_t mask) {
    static constexpr std::array<std::string_view, protocol::speaker::kPositionCount> names{
        "FL", "FR", "FC", "LFE", "RL",  "RR",  "FLC", "FRC", "RC",
        "SL", "SR", "TC", "TFL", "TFC", "TFR", "TRL", "TRC", "TRR"};
    std::string out;
    for (std::uint32_t bit = 0; bit < names.size(); ++bit) {
        if ((mask & (1U << bit)) == 0) continue;
        if (!out.empty()) out += ' ';
        out += names[bit];
    }
    return out;
}

std::string dbfs_text(double db) {
    return std::isinf(db) ? std::string("silence") : fmt::format("{:.1f} dBFS", db);
}

}  // namespace

Result<ProbeResult> probe_audio_source(std::string_view source, std::chrono::milliseconds duration,
                                       const AudioSourceOptions& options) {
    // std::uint64_t storage: the channel's header holds 64-bit atomics.
    std::vector<std::uint64_t> storage(kChannelBytes / sizeof(std::uint64_t));
    const std::span<std::byte> channel(reinterpret_cast<std::byte*>(storage.data()), kChannelBytes);
    auto writer = protocol::AudioWriter::create(channel);
    if (!writer) return writer.error();
    auto reader = protocol::AudioReader::attach(channel);
    if (!reader) return reader.error();
    auto started = start_audio_source(source, *writer, options);
    if (!started) return started.error();
    const std::unique_ptr<AudioSource> running = std::move(*started);

    const auto deadline =
        monotonic_ns() + static_cast<std::uint64_t>((duration + std::chrono::seconds(2)) /
                                                    std::chrono::nanoseconds(1));
    ProbeResult r;
    std::optional<protocol::AudioFormat> format;
    std::uint64_t wanted = 0;
    double peak = 0, sum_squares = 0;
    std::uint64_t samples = 0;
    std::vector<std::byte> buffer(64 * 1024);
    std::vector<float> samples_f;
    while (monotonic_ns() < deadline && (!format || r.frames < wanted)) {
        if (auto e = running->last_error(); !e.empty())
            return Error::make(fmt::format("the {} source failed: {}", source, e));
        if (!format) {
            auto f = reader->format();
            if (!f) return f.error();
            if (*f) {
                format = **f;
                r.format = *format;
                wanted = std::max<std::uint64_t>(
                    1, format->rate * static_cast<std::uint64_t>(duration.count()) / 1000);
            }
        }
        if (format) {
            auto read = reader->read(buffer);
            if (!read) return read.error();
            if (read->format_changed) {
                // The device's format changed mid-probe: measure the new one.
                format.reset();
                r = {};
                peak = sum_squares = 0;
                samples = 0;
                continue;
            }
            const std::size_t n = read->frames * format->channels;
            samples_f.resize(n);
            protocol::to_float(format->sample, buffer, samples_f);
            for (const float f : samples_f) {
                const auto v = static_cast<double>(f);
                peak = std::max(peak, std::abs(v));
                sum_squares += v * v;
            }
            samples += n;
            r.frames += read->frames;
            if (read->frames > 0) continue;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (!format)
        return Error::make(fmt::format("the {} source set no format within {} ms", source,
                                       (duration + std::chrono::seconds(2)).count()));
    if (r.frames == 0)
        return Error::make(fmt::format("the {} source wrote no audio within {} ms", source,
                                       (duration + std::chrono::seconds(2)).count()));
    r.peak_dbfs = to_dbfs(peak);
    r.rms_dbfs = to_dbfs(std::sqrt(sum_squares / static_cast<double>(samples)));
    return r;
}

std::string describe(const ProbeResult& r) {
    const auto ms = r.format.rate > 0 ? r.frames * 1000 / r.format.rate : 0;
    return fmt::format("{} Hz, {} channel{} ({}), {}; {} ms: peak {}, RMS {}", r.format.rate,
                       r.format.channels, r.format.channels == 1 ? "" : "s",
                       speaker_names(r.format.speakers()), sample_name(r.format.sample), ms,
                       dbfs_text(r.peak_dbfs), dbfs_text(r.rms_dbfs));
}

}  // namespace porthole::agent::audio
