#pragma once
// The client's audio: an AudioPlayback fed by each agent session's audio
// channel (or by a Scream ring). Playback failing (no PipeWire) leaves the
// client running without sound.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "app/options.hpp"
#include "app/subsystem.hpp"
#include "audio/playback.hpp"
#include "audio/scream_ring.hpp"
#include "audio/source_messages.hpp"
#include "porthole/ivshmem/mapping.hpp"

namespace porthole::client {

class AudioSubsystem final : public SessionSubsystem {
  public:
    // Null when audio is off by option; a warning (and null) when playback cannot start.
    static std::unique_ptr<AudioSubsystem> create(const Options& o);
    ~AudioSubsystem() override;
    AudioSubsystem(const AudioSubsystem&) = delete;
    AudioSubsystem& operator=(const AudioSubsystem&) = delete;

    void attach(protocol::HostChannels& channels, const protocol::HostSession& session) override;
    void detach() override;
    bool tick(std::uint64_t now_ns) override;
    [[nodiscard]] audio::PlaybackStats stats() const { return playback_->stats(); }
    // The Scream ring's format, for --stats: nullopt unless the source is a
    // Scream ring whose header is valid.
    [[nodiscard]] std::optional<audio::ScreamFormat> scream_format() const;

  private:
    AudioSubsystem(const Options& o, std::unique_ptr<audio::AudioPlayback> playback)
        : o_(o), playback_(std::move(playback)) {}
    // Maps the Scream ring; false while its file is not there yet (retried by tick).
    bool open_scream(bool first);
    const Options& o_;
    std::unique_ptr<audio::AudioPlayback> playback_;
    std::optional<ivshmem::Mapping> scream_;
    bool from_region_ = false;
    bool scream_pending_ = false;  // waiting for Scream's file, as for the region
    std::uint64_t scream_retry_ns_ = 0;
    // What the source did (bad header, format change, start/stop), logged
    // rate limited from a snapshot a second: never from the callback.
    audio::SourceMessages messages_;
    std::uint64_t messages_ns_ = 0;
    enum class Said { nothing, playing, no_channel } said_ = Said::nothing;
};

}  // namespace porthole::client
