#pragma once
// What the playback's source did, for the log, from PlaybackStats snapshots
// taken off the real-time thread (the callback never logs). A bad guest can
// repeat each event every period (a garbage Scream header, a format flapping,
// a stream stopping and starting): each kind is said once, then as a count at
// most every `every_ns` (RepeatLimiter). A data thread without real-time
// priority is said once, with why.

#include <cstdint>
#include <string>
#include <vector>

#include "audio/playback.hpp"
#include "audio/repeat_limiter.hpp"

namespace porthole::client::audio {

class SourceMessages {
  public:
    explicit SourceMessages(std::uint64_t every_ns = 10'000'000'000ULL)
        : errors_(every_ns), formats_(every_ns), starts_(every_ns) {}
    // The lines to log for the snapshot `s` taken at now_ns.
    std::vector<std::string> update(const PlaybackStats& s, std::uint64_t now_ns);

  private:
    RepeatLimiter errors_, formats_, starts_;
    std::uint64_t seen_errors_ = 0, seen_formats_ = 0;
    bool playing_ = false;
    bool said_realtime_ = false;
    std::string last_error_;
};

}  // namespace porthole::client::audio
