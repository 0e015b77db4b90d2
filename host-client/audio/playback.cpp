#include "audio/playback.hpp"

#include <pipewire/pipewire.h>
#include <spa/param/audio/format-utils.h>
#include <spa/pod/builder.h>

// PipeWire's pw_loop_* macros expand to GNU statement expressions, which
// clang's -Wpedantic flags in our code (GCC treats them as system code).
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wgnu-statement-expression"
#endif

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "audio/speaker_positions.hpp"

namespace porthole::client::audio {

// Threads: the PipeWire data thread runs on_process (RT_PROCESS); the thread
// loop runs on_reconfigure; callers use set_source/stats. `mutex` guards the
// engine and the snapshot; on_process only try-locks it, so a caller holding
// it costs one silent cycle, never a blocked real-time thread.
struct AudioPlayback::Impl {
    explicit Impl(const PlaybackOptions& o)
        : options(o), engine(PlayoutConfig{o.latency_ms, o.follow_volume, o.quality}) {}
    ~Impl() {
        if (loop != nullptr) pw_thread_loop_stop(loop);
        if (stream != nullptr) pw_stream_destroy(stream);
        if (reconfigure_event != nullptr)
            pw_loop_destroy_source(pw_thread_loop_get_loop(loop), reconfigure_event);
        if (loop != nullptr) pw_thread_loop_destroy(loop);
        pw_deinit();
    }
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;

    Status open();
    Status connect(const PcmFormat& f);  // loop thread (or before the loop starts)
    void on_process();
    void on_reconfigure();

    PlaybackOptions options;
    pw_thread_loop* loop = nullptr;
    pw_stream* stream = nullptr;
    spa_source* reconfigure_event = nullptr;
    PcmFormat stream_format{48000, 2};
    std::uint32_t quantum = 256;

    mutable std::mutex mutex;
    PlayoutEngine engine;
    PcmFormat wanted{48000, 2};
    bool reconfigure_pending = false;
    double output_delay_ms = 0;
};

namespace {

// A quantum well under the target, as a power of two (PipeWire rounds down):
// half the target from 10 ms up (fewer wake-ups), a quarter below, where the
// guest's write grain and the resampler's delay need the room.
std::uint32_t quantum_for(double target_ms, std::uint32_t rate) {
    const double frames = target_ms / (target_ms >= 10.0 ? 2.0 : 4.0) * rate / 1000.0;
    std::uint32_t q = 32;
    while (q * 2 <= frames && q < 1024)
        q *= 2;
    return q;
}

}  // namespace

Status AudioPlayback::Impl::open() {
    pw_init(nullptr, nullptr);
    loop = pw_thread_loop_new("porthole-audio", nullptr);
    if (loop == nullptr) return Error::make("cannot create a PipeWire thread loop");
    reconfigure_event = pw_loop_add_event(
        pw_thread_loop_get_loop(loop),
        [](void* self, std::uint64_t) { static_cast<Impl*>(self)->on_reconfigure(); }, this);
    if (pw_thread_loop_start(loop) < 0) return Error::make("cannot start the PipeWire thread loop");
    pw_thread_loop_lock(loop);
    Status st = connect(stream_format);
    pw_thread_loop_unlock(loop);
    return st;
}

Status AudioPlayback::Impl::connect(const PcmFormat& f) {
    if (stream != nullptr) {
        pw_stream_destroy(stream);
        stream = nullptr;
    }
    quantum = quantum_for(options.latency_ms, f.rate);
    const std::string latency = std::to_string(quantum) + "/" + std::to_string(f.rate);
    pw_properties* props = pw_properties_new(
        PW_KEY_MEDIA_TYPE, "Audio", PW_KEY_MEDIA_CATEGORY, "Playback", PW_KEY_MEDIA_ROLE, "Game",
        PW_KEY_APP_NAME, options.app_name.c_str(), PW_KEY_APP_ICON_NAME, "video-display",
        PW_KEY_NODE_NAME, options.node_name.c_str(), PW_KEY_NODE_DESCRIPTION,
        "Porthole guest audio", PW_KEY_MEDIA_NAME, "Guest audio", PW_KEY_NODE_LATENCY,
        latency.c_str(), nullptr);
    if (!options.target.empty())
        pw_properties_set(props, PW_KEY_TARGET_OBJECT, options.target.c_str());
    static const pw_stream_events events = [] {
        pw_stream_events e{};
        e.version = PW_VERSION_STREAM_EVENTS;
        e.process = [](void* self) { static_cast<Impl*>(self)->on_process(); };
        return e;
    }();
    stream = pw_stream_new_simple(pw_thread_loop_get_loop(loop), "porthole playback", props,
                                  &events, this);
    if (stream == nullptr) {
        return Error::make(
            "cannot create a PipeWire playback stream: is PipeWire running for this user "
            "(XDG_RUNTIME_DIR)? Use --audio off to run without sound");
    }
    std::array<std::uint8_t, 1024> pod_buf{};
    spa_pod_builder b{};
    spa_pod_builder_init(&b, pod_buf.data(), static_cast<std::uint32_t>(pod_buf.size()));
    spa_audio_info_raw info{};
    info.format = SPA_AUDIO_FORMAT_F32;
    info.rate = f.rate;
    info.channels = f.channels;
    // Each channel at its speaker, as the guest's channel mask says.
    const SpeakerPositions positions = speaker_positions(f.channels, f.channel_mask);
    std::copy(positions.begin(), positions.end(), std::begin(info.position));
    const spa_pod* params[1] = {spa_format_audio_raw_build(&b, SPA_PARAM_EnumFormat, &info)};
    {
        // Before connecting: on_process reads it (no callback runs before connect).
        std::lock_guard lock(mutex);
        stream_format = f;
    }
    const int rc = pw_stream_connect(
        stream, SPA_DIRECTION_OUTPUT, PW_ID_ANY,
        static_cast<pw_stream_flags>(PW_STREAM_FLAG_AUTOCONNECT | PW_STREAM_FLAG_MAP_BUFFERS |
                                     PW_STREAM_FLAG_RT_PROCESS),
        params, 1);
    if (rc == -EHOSTDOWN || rc == -ECONNREFUSED || rc == -ENOENT) {
        // libpipewire's "Host is down": no daemon answers on this user's socket.
        const char* runtime = std::getenv("XDG_RUNTIME_DIR");
        return Error::make(
            "PipeWire is not running for this user (nothing answers at " +
                std::string(runtime != nullptr ? runtime : "$XDG_RUNTIME_DIR") +
                "/pipewire-0): start it with `systemctl --user start pipewire wireplumber`; "
                "the video continues without audio",
            -rc);
    }
    if (rc < 0)
        return Error::make("cannot connect the PipeWire playback stream: " +
                           std::string(std::strerror(-rc)));
    return {};
}

void AudioPlayback::Impl::on_process() {
    pw_buffer* b = pw_stream_dequeue_buffer(stream);
    if (b == nullptr) return;
    spa_data& d = b->buffer->datas[0];
    if (d.data == nullptr) {
        pw_stream_queue_buffer(stream, b);
        return;
    }
    const std::uint32_t stride = static_cast<std::uint32_t>(sizeof(float)) * stream_format.channels;
    std::uint64_t frames = d.maxsize / stride;
    if (b->requested != 0) frames = std::min<std::uint64_t>(frames, b->requested);
    std::span<float> out(static_cast<float*>(d.data), frames * stream_format.channels);

    pw_time t{};
    double delay_ms = 0;
    if (pw_stream_get_time_n(stream, &t, sizeof t) == 0 && t.rate.denom != 0) {
        // Graph delay to the device, plus what is still queued in the stream
        // and its converter: all of it is heard before this buffer is.
        const double ticks_ms = 1000.0 * t.rate.num / t.rate.denom;
        delay_ms = static_cast<double>(t.delay) * ticks_ms +
                   static_cast<double>(t.buffered) * 1000.0 / stream_format.rate +
                   static_cast<double>(t.queued) / stride * 1000.0 / stream_format.rate;
    }
    std::unique_lock lock(mutex, std::try_to_lock);
    if (!lock.owns_lock()) {
        std::fill(out.begin(), out.end(), 0.0F);
    } else {
        output_delay_ms = delay_ms;
        const auto f = engine.poll_format();
        engine.fill(out, stream_format, delay_ms);
        if (f && *f != stream_format && !reconfigure_pending) {
            wanted = *f;
            reconfigure_pending = true;
            pw_loop_signal_event(pw_thread_loop_get_loop(loop), reconfigure_event);
        }
    }
    d.chunk->offset = 0;
    d.chunk->stride = static_cast<std::int32_t>(stride);
    d.chunk->size = static_cast<std::uint32_t>(frames * stride);
    pw_stream_queue_buffer(stream, b);
}

void AudioPlayback::Impl::on_reconfigure() {
    PcmFormat f;
    {
        std::lock_guard lock(mutex);
        f = wanted;
    }
    (void)connect(f);  // a failure leaves no stream: nothing plays until the next change
    std::lock_guard lock(mutex);
    reconfigure_pending = false;
}

AudioPlayback::AudioPlayback(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AudioPlayback::~AudioPlayback() = default;

Result<std::unique_ptr<AudioPlayback>> AudioPlayback::create(const PlaybackOptions& options) {
    auto impl = std::make_unique<Impl>(options);
    if (auto ok = impl->open(); !ok) return ok.error();
    return std::unique_ptr<AudioPlayback>(new AudioPlayback(std::move(impl)));
}

void AudioPlayback::set_source(std::unique_ptr<PcmSource> source) {
    std::lock_guard lock(impl_->mutex);
    impl_->engine.set_source(std::move(source));  // the old one is destroyed here
}

PlaybackStats AudioPlayback::stats() const {
    std::lock_guard lock(impl_->mutex);
    const auto& c = impl_->engine.counters();
    PlaybackStats s;
    s.underruns = c.underruns;
    s.overruns = c.overruns;
    s.resets = c.resets;
    s.trims = c.trims;
    s.frames_out = c.frames_out;
    s.source_errors = c.source_errors;
    s.format_changes = c.format_changes;
    s.latency_ms = c.latency_ms;
    s.output_delay_ms = impl_->output_delay_ms;
    s.ratio = c.ratio;
    s.playing = c.playing;
    s.rate = impl_->stream_format.rate;
    s.channels = impl_->stream_format.channels;
    s.error = impl_->engine.last_error();
    return s;
}

}  // namespace porthole::client::audio
