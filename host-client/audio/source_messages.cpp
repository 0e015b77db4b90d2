#include "audio/source_messages.hpp"

#include <fmt/core.h>

namespace porthole::client::audio {

std::vector<std::string> SourceMessages::update(const PlaybackStats& s, std::uint64_t now_ns) {
    std::vector<std::string> lines;
    if (!said_realtime_ && s.sched_policy >= 0) {
        said_realtime_ = true;
        if (!s.realtime())
            lines.push_back("audio: no real-time priority for the audio thread: " + s.realtime_why +
                            "; playing at normal priority, where a busy machine can cut the "
                            "sound");
    }
    const double every_s = static_cast<double>(errors_.every_ns()) / 1e9;
    // Counters only grow; a smaller one is a new playback: start from it.
    const std::uint64_t errors =
        s.source_errors >= seen_errors_ ? s.source_errors - seen_errors_ : 0;
    seen_errors_ = s.source_errors;
    if (errors > 0) {
        if (!s.error.empty()) last_error_ = s.error;
        if (errors_.note(now_ns, errors)) lines.push_back("audio: " + last_error_);
    }
    if (const auto n = errors_.due(now_ns); n > 0)
        lines.push_back(
            fmt::format("audio: {} ({} more times in the last {:.0f} s)", last_error_, n, every_s));

    const std::uint64_t formats =
        s.format_changes >= seen_formats_ ? s.format_changes - seen_formats_ : 0;
    seen_formats_ = s.format_changes;
    if (formats_.note(now_ns, formats))
        lines.push_back(fmt::format("audio: the guest's format changed ({} Hz, {} channels)",
                                    s.rate, s.channels));
    if (const auto n = formats_.due(now_ns); n > 0)
        lines.push_back(
            fmt::format("audio: the guest's format changed {} more times in the last "
                        "{:.0f} s (now {} Hz, {} channels)",
                        n, every_s, s.rate, s.channels));

    if (s.playing != playing_) {
        playing_ = s.playing;
        if (starts_.note(now_ns))
            lines.push_back(playing_ ? "audio: the guest's stream started"
                                     : "audio: the guest's stream stopped");
    }
    if (const auto n = starts_.due(now_ns); n > 0)
        lines.push_back(fmt::format(
            "audio: the guest's stream stopped or started {} more times in the last {:.0f} s (now "
            "{})",
            n, every_s, playing_ ? "playing" : "stopped"));
    return lines;
}

}  // namespace porthole::client::audio
