#include "app/stats.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

namespace porthole::client {

std::optional<double> percentile(std::vector<double>& samples, double q) {
    if (samples.empty()) return std::nullopt;
    // Nearest rank: the smallest sample with at least q of them at or below it.
    const auto n = samples.size();
    auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(n)));
    rank = std::clamp<std::size_t>(rank, 1, n);
    std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(rank - 1),
                     samples.end());
    return samples[rank - 1];
}

void LatencyWindow::add(std::uint64_t at_ns, double ms) {
    at_[count_ % kCapacity] = at_ns;
    ms_[count_ % kCapacity] = ms;
    ++count_;
}

std::optional<double> LatencyWindow::p99(std::uint64_t now_ns) const {
    std::vector<double> last;
    const std::size_t n = std::min(count_, kCapacity);
    last.reserve(n);
    for (std::size_t i = count_ - n; i < count_; ++i) {
        const auto at = at_[i % kCapacity];
        if (at <= now_ns && now_ns - at < kSpanNs) last.push_back(ms_[i % kCapacity]);
    }
    return percentile(last, 0.99);
}

void FrameStats::frame_shown(std::uint64_t serial, std::optional<double> latency_ms,
                             std::uint64_t at_ns) {
    totals_.frames++;
    shown_++;
    if (first_serial_ == 0 || serial < first_serial_) first_serial_ = serial;
    last_serial_ = serial;
    if (latency_ms) {
        latency_sum_ += *latency_ms;
        latency_n_++;
        if (at_ns != 0) latencies_.add(at_ns, *latency_ms);
    }
}

void FrameStats::frame_presented_at(std::uint64_t present_ns) {
    if (last_present_ns_ != 0 && present_ns > last_present_ns_) {
        frame_ms_[frame_ms_count_ % kFrameTimeSamples] =
            static_cast<float>(static_cast<double>(present_ns - last_present_ns_) / 1e6);
        ++frame_ms_count_;
    }
    last_present_ns_ = present_ns;
}

std::vector<float> FrameStats::frame_times() const {
    const std::size_t n = std::min(frame_ms_count_, kFrameTimeSamples);
    std::vector<float> out;
    out.reserve(n);
    for (std::size_t i = frame_ms_count_ - n; i < frame_ms_count_; ++i)
        out.push_back(frame_ms_[i % kFrameTimeSamples]);
    return out;
}

void FrameStats::presented() {
    totals_.presents++;
    presents_++;
}

FrameStats::Window FrameStats::roll(std::uint64_t now_ns) {
    Window w;
    if (now_ns != 0) w.latency_p99_ms = latencies_.p99(now_ns);
    w.fps = presents_;
    w.shown = shown_;
    w.ups = first_serial_ == 0 ? 0 : last_serial_ - first_serial_ + 1;
    if (latency_n_ != 0) w.latency_ms = latency_sum_ / static_cast<double>(latency_n_);
    presents_ = shown_ = first_serial_ = last_serial_ = latency_n_ = 0;
    latency_sum_ = 0;
    last_ = w;
    return w;
}

std::string stats_json(const FrameStats::Window& w, const StatsTotals& t, const StatsLine& e) {
    nlohmann::json j;
    j["state"] = e.state;
    j["frames"] = t.frames;
    j["presents"] = t.presents;
    j["fps"] = w.fps;
    j["ups"] = w.ups;
    j["latency_ms"] = w.latency_ms ? nlohmann::json(*w.latency_ms) : nlohmann::json(nullptr);
    j["latency_p99_ms"] =
        w.latency_p99_ms ? nlohmann::json(*w.latency_p99_ms) : nlohmann::json(nullptr);
    j["copy_path"] = e.copy_path;
    j["present_mode"] = e.present_mode;
    j["dropped"] = e.skipped + e.torn;
    j["torn"] = e.torn;
    j["skipped"] = e.skipped;
    j["invalid"] = e.invalid;
    j["vsync"] = e.vsync;
    j["superseded"] = e.superseded;
    j["late"] = e.late;
    j["cpu_bytes_copied"] = e.cpu_bytes;
    j["gpu_bytes_copied"] = e.gpu_bytes;
    j["doorbell_rings"] =
        e.doorbell_rings ? nlohmann::json(*e.doorbell_rings) : nlohmann::json(nullptr);
    if (e.verify) {
        j["verified"] = t.verified;
        j["mismatched"] = t.mismatched;
        j["repeats"] = t.repeats;
        j["gaps"] = t.gaps;
    }
    if (e.audio) {
        j["audio"] = {{"underruns", e.audio->underruns},   {"overruns", e.audio->overruns},
                      {"trims", e.audio->trims},           {"latency_ms", e.audio->latency_ms},
                      {"ratio", e.audio->ratio},           {"playing", e.audio->playing},
                      {"frames_out", e.audio->frames_out}, {"at_s", e.audio->at_s}};
        if (const auto& sc = e.audio->scream) {
            j["audio"]["scream"] = {{"rate", sc->rate},
                                    {"channels", sc->channels},
                                    {"bits", sc->bits},
                                    {"channel_mask", sc->channel_mask}};
        } else {
            j["audio"]["scream"] = nullptr;
        }
    } else {
        j["audio"] = nullptr;
    }
    if (e.input) {
        auto& in = j["input"];
        in = {{"mode", e.input->mode},
              {"owner", e.input->owner},
              {"events", e.input->events},
              {"overflow", e.input->overflow}};
        if (e.input->qmp) {
            in["qmp"] = {{"connected", e.input->qmp_connected},
                         {"sent", e.input->qmp_sent},
                         {"accepted", e.input->qmp_accepted},
                         {"rejected", e.input->qmp_rejected},
                         {"dropped", e.input->qmp_dropped}};
        }
    }
    return j.dump();
}

std::vector<std::string> overlay_lines(const FrameStats::Window& w, const StatsTotals& t,
                                       const StatsLine& e) {
    // Before the first frame there is no rate to show: a dash, not a 0 that
    // reads as a fault.
    constexpr const char* kNone = "\u2014";
    const bool frames = t.frames != 0;
    std::vector<std::string> lines{
        frames ? fmt::format("Frames     {} shown/s of {} from the guest, {} draws/s", w.shown,
                             w.ups, w.fps)
               : fmt::format("Frames     {} (none yet)", kNone),
        !w.latency_ms ? fmt::format("Latency    {}", kNone)
        : w.latency_p99_ms
            ? fmt::format("Latency    {:.1f} ms, p99 {:.1f} ms", *w.latency_ms, *w.latency_p99_ms)
            : fmt::format("Latency    {:.1f} ms", *w.latency_ms),
        fmt::format("Copy       {}, present {}", e.copy_path, e.present_mode),
        !frames ? fmt::format("Dropped    {}", kNone)
        // Paced to vblank: frames replaced before their refresh, and those shown late.
        : e.vsync || e.superseded != 0 || e.late != 0
            ? fmt::format("Dropped    {}, {} superseded, {} late", e.skipped + e.torn, e.superseded,
                          e.late)
            : fmt::format("Dropped    {}", e.skipped + e.torn),
    };
    if (e.audio) {
        lines.push_back(fmt::format("Audio      {:.1f} ms, {} underruns, {} overruns, {} trims",
                                    e.audio->latency_ms, e.audio->underruns, e.audio->overruns,
                                    e.audio->trims));
    } else {
        lines.emplace_back("Audio      off");
    }
    if (e.input && e.input->mode != "none") {
        lines.push_back(fmt::format("Input      {}, {}; {} events, {} lost", e.input->mode,
                                    e.input->owner == "guest" ? "captured" : "on the host",
                                    e.input->events, e.input->overflow));
    }
    return lines;
}

}  // namespace porthole::client
