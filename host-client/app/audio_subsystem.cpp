#include "app/audio_subsystem.hpp"

#include <spdlog/spdlog.h>

#include "audio/scream_ring.hpp"
#include "porthole/protocol/region.hpp"

namespace porthole::client {

std::unique_ptr<AudioSubsystem> AudioSubsystem::create(const Options& o) {
    if (o.audio == "off") return nullptr;
    audio::PlaybackOptions po;
    po.latency_ms = o.audio_latency_ms;
    po.follow_volume = o.audio_follow_volume;
    auto playback = audio::AudioPlayback::create(po);
    if (!playback) {
        const auto& why = playback.error().message;
        spdlog::warn("audio off: {} ({}--audio off silences this)", why,
                     why.find("without audio") == std::string::npos ? "the picture goes on; " : "");
        return nullptr;
    }
    std::unique_ptr<AudioSubsystem> s(new AudioSubsystem(o, std::move(*playback)));
    if (o.audio_source == "scream" && !s->open_scream(true) && !s->scream_pending_) return nullptr;
    return s;
}

bool AudioSubsystem::open_scream(bool first) {
    auto map = ivshmem::open_host_region(o_.scream_shm);
    if (!map) {
        // The VM creates Scream's file when it starts: wait for it as for the region.
        scream_pending_ = ivshmem::region_not_there_yet(map.error());
        if (scream_pending_ && first)
            spdlog::info("audio: waiting for the Scream ring {} ({})", o_.scream_shm,
                         map.error().message);
        if (!scream_pending_) spdlog::warn("audio off: Scream region: {}", map.error().message);
        return false;
    }
    scream_pending_ = false;
    scream_.emplace(std::move(*map));
    playback_->set_source(audio::make_scream_source(scream_->bytes()));
    spdlog::info("audio: Scream ring {} at {} ms", o_.scream_shm, o_.audio_latency_ms);
    return true;
}

std::optional<audio::ScreamFormat> AudioSubsystem::scream_format() const {
    if (!scream_) return std::nullopt;
    return audio::read_scream_format(scream_->bytes());
}

AudioSubsystem::~AudioSubsystem() {
    // The source reads the region or the Scream mapping: drop it before either goes.
    playback_->set_source(nullptr);
}

void AudioSubsystem::attach(protocol::HostChannels& channels,
                            const protocol::HostSession& session) {
    if (o_.audio_source != "region") return;
    const bool announced = (session.agent_capabilities() & protocol::cap::audio_out) != 0;
    if (!channels.audio || (!announced && o_.audio != "on")) {
        // Said once per change, not for every session a restarting agent opens.
        if (o_.audio == "on" && said_ != Said::no_channel)
            spdlog::warn("audio: the agent offers no audio channel");
        said_ = Said::no_channel;
        return;
    }
    playback_->set_reader(std::move(*channels.audio));
    channels.audio.reset();
    from_region_ = true;
    if (said_ != Said::playing)
        spdlog::info("audio: playing the agent's audio at {} ms", o_.audio_latency_ms);
    said_ = Said::playing;
}

void AudioSubsystem::detach() {
    if (from_region_) playback_->set_source(nullptr);
    from_region_ = false;
}

bool AudioSubsystem::tick(std::uint64_t now_ns) {
    if (scream_pending_ && now_ns >= scream_retry_ns_) {
        scream_retry_ns_ = now_ns + 200'000'000;
        open_scream(false);
    }
    // Once a second (the snapshot is lock-free: it never costs the callback a cycle).
    if (now_ns >= messages_ns_) {
        messages_ns_ = now_ns + 1'000'000'000;
        for (const auto& line : messages_.update(playback_->stats(), now_ns))
            spdlog::info("{}", line);
    }
    return false;  // PipeWire's thread pulls the source itself
}

}  // namespace porthole::client
