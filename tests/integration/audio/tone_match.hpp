#pragma once
// Finding the agent's test tone in a recording: normalised correlation with
// the tone played from some offset at some speed, searched around the
// playback ratio the client reported. Shared by the audio end-to-end tests,
// the client's and the VM's.

#include <cmath>
#include <cstdint>
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
// played from frame `off` at `ratio` tone frames per captured frame.
inline double correlation_at(const std::vector<float>& got, const std::vector<double>& table,
                             double ratio, double off) {
    const auto period = static_cast<double>(table.size() - 1);
    double dot = 0, e1 = 0, e2 = 0;
    for (std::size_t i = 0; i < got.size(); i += 4) {
        const double pos = std::fmod(off + static_cast<double>(i) * ratio, period);
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

struct Match {
    double correlation = -1;
    double ratio = 1;
    std::uint64_t offset = 0;
};

// The best match over every offset and playback ratios within 2% of `ratio`.
// The private daemon's null sink runs on a timer a few percent off real time
// (more under CPU load) and the client follows it: `ratio` is what the
// playback reported last, the range covers its wander.
inline Match best_match(const std::vector<float>& got, const std::vector<double>& table,
                        double ratio) {
    const auto period = static_cast<std::uint64_t>(table.size() - 1);
    Match best;
    for (double r = ratio - 0.02; r <= ratio + 0.0201; r += 0.0025) {
        for (std::uint64_t off = 0; off < period; off += 2) {
            const double c = correlation_at(got, table, r, static_cast<double>(off));
            if (c > best.correlation) best = {c, r, off};
        }
    }
    return best;
}

}  // namespace porthole::test
