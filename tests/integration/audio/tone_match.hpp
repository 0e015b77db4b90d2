#pragma once
// Finding the agent's test tone in a recording: normalised correlation with
// the tone played from some offset at some speed. The speed is the client's
// resampling ratio, within +-1% of 1 (PlayoutConfig::max_deviation). Shared
// by the audio end-to-end tests, the client's and the VM's.

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "audio/tone.hpp"

namespace porthole::test {

// A tone channel's period as a table (one extra frame), for fractional lookups.
inline std::vector<double> tone_table(const agent::audio::ToneGenerator& tone, std::uint32_t ch) {
    std::vector<double> table(tone.period_frames() + 1);
    for (std::size_t k = 0; k < table.size(); ++k)
        table[k] = tone.sample(k, ch);
    return table;
}

// Normalised correlation of `got` (one channel of a capture) with the tone
// played from frame `off` at `ratio` tone frames per captured frame, over
// every `stride`-th frame.
inline double correlation_at(const std::vector<float>& got, const std::vector<double>& table,
                             double ratio, double off, std::size_t stride = 4) {
    const auto period = static_cast<double>(table.size() - 1);
    double dot = 0, e1 = 0, e2 = 0;
    const double start = std::fmod(off, period);
    for (std::size_t i = 0; i < got.size(); i += stride) {
        double pos = start + static_cast<double>(i) * ratio;  // windows are shorter than a period
        while (pos >= period)
            pos -= period;
        const auto k = static_cast<std::size_t>(pos);
        const double frac = pos - static_cast<double>(k);
        const double b = (1 - frac) * table[k] + frac * table[k + 1];
        const double a = got[i];
        dot += a * b;
        e1 += a * a;
        e2 += b * b;
    }
    return dot / std::sqrt(e1 * e2 + 1e-12);
}

// One window of a stereo capture compared with the tone.
struct WindowMatch {
    std::size_t at = 0;  // first frame of the window in the capture
    double ratio = 1;    // playback speed and tone offset of the best joint match
    double offset = 0;
    double left = -1, right = -1;  // each channel's correlation there
    [[nodiscard]] bool matches(double min) const { return left > min && right > min; }
};

// Both channels of one window against the tone at one speed and offset.
// A chirp alone is ambiguous: a shifted start and a compensating speed
// correlate almost as well. The two channels are at different points of the
// sweep, so only the true speed and offset fit both.
inline WindowMatch best_stereo_match(const std::vector<float>& left,
                                     const std::vector<float>& right, const std::vector<double>& t0,
                                     const std::vector<double>& t1) {
    const auto period = static_cast<std::uint64_t>(t0.size() - 1);
    WindowMatch best;
    auto consider = [&](double r, double off) {
        // A sparse look first: most candidates are nowhere near.
        if (correlation_at(left, t0, r, off, 12) < 0.4) return;
        const double l = correlation_at(left, t0, r, off);
        if (l < 0.5 || l + 1.0 < best.left + best.right) return;  // cannot win: skip the right
        const double rc = correlation_at(right, t1, r, off);
        if (l + rc > best.left + best.right) {
            best.ratio = r;
            best.offset = off;
            best.left = l;
            best.right = rc;
        }
    };
    for (double r = 1.0 - 0.0125; r <= 1.0125 + 1e-9; r += 0.0025)
        for (std::uint64_t off = 0; off < period; off += 2)
            consider(r, static_cast<double>(off));
    const WindowMatch coarse = best;
    for (double r = coarse.ratio - 0.0025; r <= coarse.ratio + 0.0025 + 1e-9; r += 0.00025)
        for (double off = coarse.offset - 4; off <= coarse.offset + 4; off += 0.5)
            consider(r, std::max(off, 0.0));
    return best;
}

// Looks for the tone in `count` windows of `window` frames of an
// interleaved stereo capture, the first at frame `first`, then every
// `spacing` frames. Each window is searched on its own, the speed within
// +-1.25% of 1: the client resamples by up to 1% and retunes every 20 ms, so
// a window of 20 ms holds one or two speeds, while a longer one would hold a
// wander that no single speed fits. Swapped channels fit nowhere.
inline std::vector<WindowMatch> match_windows(const std::vector<float>& stereo,
                                              const agent::audio::ToneGenerator& tone,
                                              std::size_t first, std::size_t count,
                                              std::size_t spacing, std::size_t window = 960) {
    const auto t0 = tone_table(tone, 0), t1 = tone_table(tone, 1);
    std::vector<WindowMatch> out;
    for (std::size_t w = 0; w < count; ++w) {
        const std::size_t at = first + w * spacing;
        if (2 * (at + window) > stereo.size()) break;
        std::vector<float> left, right;
        for (std::size_t i = 0; i < window; ++i) {
            left.push_back(stereo[2 * (at + i)]);
            right.push_back(stereo[2 * (at + i) + 1]);
        }
        WindowMatch m = best_stereo_match(left, right, t0, t1);
        m.at = at;
        out.push_back(m);
    }
    return out;
}

// How many windows match on both channels above `min`.
inline std::size_t matching(const std::vector<WindowMatch>& windows, double min) {
    std::size_t good = 0;
    for (const auto& w : windows)
        if (w.matches(min)) ++good;
    return good;
}

// "3 of 4 windows match [frame N: left C, right C at ratio R] ...", for failure messages.
inline std::string describe(const std::vector<WindowMatch>& windows, double min) {
    std::string detail;
    for (const auto& w : windows) {
        detail += " [frame " + std::to_string(w.at) + ": left " + std::to_string(w.left) +
                  ", right " + std::to_string(w.right) + " at ratio " + std::to_string(w.ratio) +
                  "]";
    }
    return std::to_string(matching(windows, min)) + " of " + std::to_string(windows.size()) +
           " windows match" + detail;
}

}  // namespace porthole::test
