#include "audio/playback.hpp"

#include <pipewire/impl-module.h>
#include <pipewire/pipewire.h>
#include <spa/param/audio/format-utils.h>
#include <spa/pod/builder.h>
#include <spa/support/thread.h>

// PipeWire's pw_loop_* macros expand to GNU statement expressions, which
// clang's -Wpedantic flags in our code (GCC treats them as system code).
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wgnu-statement-expression"
#endif

#include <linux/capability.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <string>

#include "audio/speaker_positions.hpp"

namespace porthole::client::audio {

// Threads: the PipeWire data thread runs on_process (RT_PROCESS); the thread
// loop runs on_reconfigure; callers use set_source/stats. `mutex` guards the
// engine; on_process only try-locks it, so set_source or a reconnect costs
// one silent cycle (counted), never a blocked real-time thread. stats() does
// not take it: the callback publishes what stats() reports in `live`.
struct AudioPlayback::Impl {
    explicit Impl(const PlaybackOptions& o)
        : options(o), engine(PlayoutConfig{o.latency_ms, o.follow_volume, o.quality}) {
        error.reserve(256);  // the callback copies into it without allocating
    }
    ~Impl() {
        if (loop != nullptr) pw_thread_loop_stop(loop);
        if (stream != nullptr) pw_stream_destroy(stream);
        if (core != nullptr) pw_core_disconnect(core);
        if (context != nullptr) pw_context_destroy(context);
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
    void publish(double delay_ms);  // data thread, holding `mutex`

    PlaybackOptions options;
    pw_thread_loop* loop = nullptr;
    pw_context* context = nullptr;
    pw_core* core = nullptr;
    int connect_errno = 0;  // pw_context_connect's failure
    pw_stream* stream = nullptr;
    spa_hook stream_listener{};
    spa_source* reconfigure_event = nullptr;
    PcmFormat stream_format{48000, 2};
    std::uint32_t quantum = 256;

    std::mutex mutex;
    PlayoutEngine engine;
    PcmFormat wanted{48000, 2};
    bool reconfigure_pending = false;

    // What stats() reads. Each field is a counter or a reading of its own,
    // written by the one data thread: relaxed is enough (a snapshot may mix
    // two adjacent cycles, which --stats and the log do not mind).
    struct Live {
        std::atomic<std::uint64_t> underruns{0}, overruns{0}, resets{0}, trims{0}, frames_out{0},
            source_errors{0}, format_changes{0}, missed_cycles{0}, late_cycles{0};
        std::atomic<double> max_wake_ms{0};
        std::atomic<double> latency_ms{0}, output_delay_ms{0}, ratio{1.0}, target_ms{0};
        std::atomic<bool> playing{false};
        std::atomic<std::uint32_t> rate{48000};
        std::atomic<std::uint16_t> channels{2};
        std::atomic<int> sched_policy{-1}, sched_priority{0};
    } live;
    static_assert(std::atomic<double>::is_always_lock_free &&
                  std::atomic<std::uint64_t>::is_always_lock_free);
    // The last source error's text: rare, so a mutex the callback only
    // try-locks (a miss retries next cycle; the audio is not affected).
    mutable std::mutex error_mutex;
    std::string error;
    std::uint64_t error_published = 0;     // source_errors when `error` was copied (data thread)
    std::uint64_t engine_frames_seen = 0;  // the engine's frames_out already published
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

// libpipewire's "Host is down" and its kin: no daemon answers on this user's socket.
bool daemon_absent(int err) {
    return err == EHOSTDOWN || err == ECONNREFUSED || err == ENOENT;
}

Error not_running_error(int err) {
    const char* runtime = std::getenv("XDG_RUNTIME_DIR");
    return Error::make("PipeWire is not running for this user (nothing answers at " +
                           std::string(runtime != nullptr ? runtime : "$XDG_RUNTIME_DIR") +
                           "/pipewire-0): start it with `systemctl --user start pipewire "
                           "wireplumber`; the video continues without audio",
                       err);
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
    // Real-time priority the way PipeWire's clients get it: libpipewire-module-rt
    // (as client-rt.conf loads it) provides the context's thread utils
    // (RLIMIT_RTPRIO/CAP_SYS_NICE, else RTKit or the portal), which then make
    // the data thread real-time. Loaded here rather than by naming
    // client-rt.conf: that config changed how the stream's channels are
    // mixed into a surround sink (stereo came out of all eight speakers).
    // module-rt also renices the thread that loads it: the caller's, whose
    // own priority is put back.
    pw_thread_loop_lock(loop);
    const auto tid = static_cast<id_t>(gettid());
    errno = 0;
    const int nice_before = getpriority(PRIO_PROCESS, tid);
    const bool nice_known = errno == 0;
    context = pw_context_new(pw_thread_loop_get_loop(loop), nullptr, 0);
    const int context_errno = errno;
    if (context != nullptr &&
        pw_context_load_module(context, "libpipewire-module-rt", nullptr, nullptr) != nullptr) {
        // The data thread started with the context, before the module: raise it now.
        auto* utils = static_cast<spa_thread_utils*>(
            pw_context_get_object(context, SPA_TYPE_INTERFACE_ThreadUtils));
        spa_thread* data_thread = pw_data_loop_get_thread(pw_context_get_data_loop(context));
        if (utils != nullptr && data_thread != nullptr)
            spa_thread_utils_acquire_rt(utils, data_thread, -1);
    }
    if (nice_known) setpriority(PRIO_PROCESS, tid, nice_before);
    if (context != nullptr) {
        core = pw_context_connect(context, nullptr, 0);
        if (core == nullptr) connect_errno = errno;
    }
    pw_thread_loop_unlock(loop);
    errno = context_errno;
    if (context == nullptr)
        return Error::make("cannot create a PipeWire context: " +
                           std::string(std::strerror(errno)));
    if (core == nullptr) {
        const int e = connect_errno;
        if (daemon_absent(e)) return not_running_error(e);
        return Error::make("cannot connect to PipeWire: " + std::string(std::strerror(e)), e);
    }
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
    stream = pw_stream_new(core, "porthole playback", props);
    if (stream != nullptr) {
        stream_listener = {};
        pw_stream_add_listener(stream, &stream_listener, &events, this);
    }
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
    live.rate.store(f.rate, std::memory_order_relaxed);
    live.channels.store(f.channels, std::memory_order_relaxed);
    const int rc = pw_stream_connect(
        stream, SPA_DIRECTION_OUTPUT, PW_ID_ANY,
        static_cast<pw_stream_flags>(PW_STREAM_FLAG_AUTOCONNECT | PW_STREAM_FLAG_MAP_BUFFERS |
                                     PW_STREAM_FLAG_RT_PROCESS),
        params, 1);
    if (daemon_absent(-rc)) return not_running_error(-rc);
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
        // The graph's cycle began at t.now (CLOCK_MONOTONIC): how long this
        // thread took to be woken and run.
        timespec ts{};
        clock_gettime(CLOCK_MONOTONIC, &ts);
        const auto now_ns = static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
        const double wake_ms = static_cast<double>(now_ns - t.now) * 1e-6;
        if (t.now != 0 && wake_ms > 0) {
            if (wake_ms > static_cast<double>(frames) * 1000.0 / stream_format.rate)
                live.late_cycles.fetch_add(1, std::memory_order_relaxed);
            if (wake_ms > live.max_wake_ms.load(std::memory_order_relaxed))
                live.max_wake_ms.store(wake_ms, std::memory_order_relaxed);
        }
        delay_ms = static_cast<double>(t.delay) * ticks_ms +
                   static_cast<double>(t.buffered) * 1000.0 / stream_format.rate +
                   static_cast<double>(t.queued) / stride * 1000.0 / stream_format.rate;
    }
    std::unique_lock lock(mutex, std::try_to_lock);
    if (!lock.owns_lock()) {
        std::fill(out.begin(), out.end(), 0.0F);
        live.missed_cycles.fetch_add(1, std::memory_order_relaxed);
        live.frames_out.fetch_add(frames, std::memory_order_relaxed);
    } else {
        const auto f = engine.poll_format();
        engine.fill(out, stream_format, delay_ms);
        if (f && *f != stream_format && !reconfigure_pending) {
            wanted = *f;
            reconfigure_pending = true;
            pw_loop_signal_event(pw_thread_loop_get_loop(loop), reconfigure_event);
        }
        publish(delay_ms);
    }
    d.chunk->offset = 0;
    d.chunk->stride = static_cast<std::int32_t>(stride);
    d.chunk->size = static_cast<std::uint32_t>(frames * stride);
    pw_stream_queue_buffer(stream, b);
}

void AudioPlayback::Impl::publish(double delay_ms) {
    constexpr auto relaxed = std::memory_order_relaxed;
    const auto& c = engine.counters();
    live.underruns.store(c.underruns, relaxed);
    live.overruns.store(c.overruns, relaxed);
    live.resets.store(c.resets, relaxed);
    live.trims.store(c.trims, relaxed);
    // The engine's count plus the silent cycles it never saw.
    live.frames_out.fetch_add(c.frames_out - engine_frames_seen, relaxed);
    engine_frames_seen = c.frames_out;
    live.latency_ms.store(c.latency_ms, relaxed);
    live.output_delay_ms.store(delay_ms, relaxed);
    live.ratio.store(c.ratio, relaxed);
    live.target_ms.store(c.target_ms, relaxed);
    live.playing.store(c.playing, relaxed);
    live.format_changes.store(c.format_changes, relaxed);
    if (c.source_errors != error_published) {
        std::unique_lock lock(error_mutex, std::try_to_lock);
        if (lock.owns_lock()) {
            error.assign(engine.last_error(), 0, error.capacity());
            error_published = c.source_errors;
        }
    }
    // After the text, so a reader seeing the count finds its text (or a newer one).
    live.source_errors.store(c.source_errors, std::memory_order_release);
    if (live.sched_policy.load(relaxed) < 0) {
        // Once: what module-rt made of the data thread (it lives as long as the context).
        sched_param p{};
        int policy = 0;
        if (pthread_getschedparam(pthread_self(), &policy, &p) == 0) {
            live.sched_priority.store(p.sched_priority, relaxed);
            live.sched_policy.store(policy & ~SCHED_RESET_ON_FORK, relaxed);
        }
    }
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

bool PlaybackStats::realtime() const {
    return sched_policy == SCHED_FIFO || sched_policy == SCHED_RR;
}

namespace {

bool has_cap_sys_nice() {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    std::array<__user_cap_data_struct, 2> data{};
    if (syscall(SYS_capget, &header, data.data()) != 0) return false;
    return (data[CAP_SYS_NICE / 32].effective & (1U << (CAP_SYS_NICE % 32))) != 0;
}

// The rights module-rt tries, in its order: the rlimit or the capability,
// then RTKit (or the portal) over D-Bus.
std::string why_not_realtime() {
    rlimit rl{};
    const bool rl_ok = getrlimit(RLIMIT_RTPRIO, &rl) == 0;
    std::string why = rl_ok ? "RLIMIT_RTPRIO is " + std::to_string(rl.rlim_cur)
                            : std::string("RLIMIT_RTPRIO unknown");
    why += has_cap_sys_nice() ? ", CAP_SYS_NICE held but refused" : " and no CAP_SYS_NICE";
    why +=
        ", and RTKit did not grant it (is rtkit-daemon running? or allow it in "
        "/etc/security/limits.d, e.g. @audio - rtprio 95)";
    return why;
}

}  // namespace

PlaybackStats AudioPlayback::stats() const {
    constexpr auto relaxed = std::memory_order_relaxed;
    const auto& l = impl_->live;
    PlaybackStats s;
    s.underruns = l.underruns.load(relaxed);
    s.overruns = l.overruns.load(relaxed);
    s.resets = l.resets.load(relaxed);
    s.trims = l.trims.load(relaxed);
    s.frames_out = l.frames_out.load(relaxed);
    s.source_errors = l.source_errors.load(std::memory_order_acquire);
    s.format_changes = l.format_changes.load(relaxed);
    s.missed_cycles = l.missed_cycles.load(relaxed);
    s.late_cycles = l.late_cycles.load(relaxed);
    s.max_wake_ms = l.max_wake_ms.load(relaxed);
    s.latency_ms = l.latency_ms.load(relaxed);
    s.output_delay_ms = l.output_delay_ms.load(relaxed);
    s.ratio = l.ratio.load(relaxed);
    s.target_ms = l.target_ms.load(relaxed);
    s.playing = l.playing.load(relaxed);
    s.rate = l.rate.load(relaxed);
    s.channels = l.channels.load(relaxed);
    s.sched_policy = l.sched_policy.load(relaxed);
    s.sched_priority = l.sched_priority.load(relaxed);
    if (s.sched_policy >= 0 && !s.realtime()) s.realtime_why = why_not_realtime();
    if (s.source_errors != 0) {
        std::lock_guard lock(impl_->error_mutex);
        s.error = impl_->error;
    }
    return s;
}

}  // namespace porthole::client::audio
