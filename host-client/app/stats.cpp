#include "app/stats.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace porthole::client {

void FrameStats::frame_shown(std::uint64_t serial, std::optional<double> latency_ms) {
    totals_.frames++;
    shown_++;
    if (first_serial_ == 0 || serial < first_serial_) first_serial_ = serial;
    last_serial_ = serial;
    if (latency_ms) {
        latency_sum_ += *latency_ms;
        latency_n_++;
    }
}

void FrameStats::presented() {
    totals_.presents++;
    presents_++;
}

FrameStats::Window FrameStats::roll() {
    Window w;
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
    j["copy_path"] = e.copy_path;
    j["present_mode"] = e.present_mode;
    j["dropped"] = e.skipped + e.torn;
    j["torn"] = e.torn;
    j["skipped"] = e.skipped;
    j["invalid"] = e.invalid;
    j["cpu_bytes_copied"] = e.cpu_bytes;
    j["gpu_bytes_copied"] = e.gpu_bytes;
    if (e.verify) {
        j["verified"] = t.verified;
        j["mismatched"] = t.mismatched;
        j["repeats"] = t.repeats;
        j["gaps"] = t.gaps;
    }
    return j.dump();
}

std::vector<std::string> overlay_lines(const FrameStats::Window& w, const StatsTotals& t,
                                       const StatsLine& e) {
    (void)t;
    return {
        fmt::format("FPS {:>4}  UPS {:>4}", w.fps, w.ups),
        w.latency_ms ? fmt::format("LATENCY {:.1f} MS", *w.latency_ms) : std::string("LATENCY -"),
        fmt::format("COPY {}  PRESENT {}", e.copy_path, e.present_mode),
        fmt::format("DROPPED {}", e.skipped + e.torn),
    };
}

}  // namespace porthole::client
