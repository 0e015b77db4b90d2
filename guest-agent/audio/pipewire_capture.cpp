// Linux guests: captures the monitor of the default sink (or of
// options.pipewire_target) with a pw_stream on its own thread loop. A timer
// on the same loop writes silence while the sink is suspended, so the
// writer has one thread and the stream's position never stalls.
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
#include <atomic>
#include <cstring>
#include <mutex>
#include <vector>

#include "audio/backends.hpp"
#include "audio/stream_clock.hpp"
#include "porthole/util/adaptive_wait.hpp"

namespace porthole::agent::audio {
namespace {

constexpr std::uint32_t kRate = 48000;
constexpr std::uint32_t kChannels = 2;

class PipeWireSource final : public AudioSource {
  public:
    static Result<std::unique_ptr<AudioSource>> start(protocol::AudioWriter& writer,
                                                      const AudioSourceOptions& o) {
        pw_init(nullptr, nullptr);
        auto s = std::unique_ptr<PipeWireSource>(new PipeWireSource(writer));
        if (auto ok = s->open(o); !ok) return ok.error();
        return std::unique_ptr<AudioSource>(std::move(s));
    }
    ~PipeWireSource() override {
        if (loop_ != nullptr) pw_thread_loop_stop(loop_);
        if (stream_ != nullptr) pw_stream_destroy(stream_);
        if (timer_ != nullptr && loop_ != nullptr)
            pw_loop_destroy_source(pw_thread_loop_get_loop(loop_), timer_);
        if (loop_ != nullptr) pw_thread_loop_destroy(loop_);
    }
    PipeWireSource(const PipeWireSource&) = delete;
    PipeWireSource& operator=(const PipeWireSource&) = delete;
    std::string_view name() const override { return "pipewire"; }
    const AudioSourceStats& stats() const override { return stats_; }
    std::string last_error() const override {
        std::lock_guard lock(mutex_);
        return error_;
    }

  private:
    explicit PipeWireSource(protocol::AudioWriter& writer) : writer_(writer), clock_(kRate) {}

    Status open(const AudioSourceOptions& o) {
        loop_ = pw_thread_loop_new("porthole-audio-capture", nullptr);
        if (loop_ == nullptr) return Error::make("cannot create a PipeWire thread loop");
        pw_properties* props = pw_properties_new(
            PW_KEY_MEDIA_TYPE, "Audio", PW_KEY_MEDIA_CATEGORY, "Capture", PW_KEY_MEDIA_ROLE,
            "Music", PW_KEY_APP_NAME, "porthole-agent", PW_KEY_NODE_NAME, "porthole-agent-capture",
            PW_KEY_STREAM_CAPTURE_SINK, "true", PW_KEY_NODE_LATENCY, "256/48000", nullptr);
        if (!o.pipewire_target.empty())
            pw_properties_set(props, PW_KEY_TARGET_OBJECT, o.pipewire_target.c_str());
        static const pw_stream_events events = [] {
            pw_stream_events e{};
            e.version = PW_VERSION_STREAM_EVENTS;
            e.process = [](void* self) { static_cast<PipeWireSource*>(self)->on_process(); };
            return e;
        }();
        stream_ = pw_stream_new_simple(pw_thread_loop_get_loop(loop_), "porthole-agent capture",
                                       props, &events, this);
        if (stream_ == nullptr) {
            return Error::make(
                "cannot create a PipeWire capture stream: is a PipeWire daemon running "
                "(XDG_RUNTIME_DIR set)?");
        }
        timer_ = pw_loop_add_timer(
            pw_thread_loop_get_loop(loop_),
            [](void* self, std::uint64_t) { static_cast<PipeWireSource*>(self)->on_timer(); },
            this);
        const protocol::AudioFormat f{kRate, kChannels, protocol::SampleFormat::f32};
        if (auto ok = writer_.set_format(f); !ok) return ok;
        stats_.format_changes.fetch_add(1);
        clock_.on_frames(0, monotonic_ns());  // a sink suspended from the start still gets silence

        std::array<std::uint8_t, 1024> pod_buf{};
        spa_pod_builder b{};
        spa_pod_builder_init(&b, pod_buf.data(), static_cast<std::uint32_t>(pod_buf.size()));
        spa_audio_info_raw info{};
        info.format = SPA_AUDIO_FORMAT_F32;
        info.rate = kRate;
        info.channels = kChannels;
        info.position[0] = SPA_AUDIO_CHANNEL_FL;
        info.position[1] = SPA_AUDIO_CHANNEL_FR;
        const spa_pod* params[1] = {spa_format_audio_raw_build(&b, SPA_PARAM_EnumFormat, &info)};
        const int rc = pw_stream_connect(
            stream_, SPA_DIRECTION_INPUT, PW_ID_ANY,
            // No RT_PROCESS: process runs on the thread loop, beside the timer.
            static_cast<pw_stream_flags>(PW_STREAM_FLAG_AUTOCONNECT | PW_STREAM_FLAG_MAP_BUFFERS),
            params, 1);
        if (rc < 0)
            return Error::make("cannot connect the PipeWire capture stream: " +
                               std::string(std::strerror(-rc)));
        if (pw_thread_loop_start(loop_) < 0)
            return Error::make("cannot start the PipeWire thread loop");
        pw_thread_loop_lock(loop_);
        timespec interval{0, 5'000'000};
        pw_loop_update_timer(pw_thread_loop_get_loop(loop_), timer_, &interval, &interval, false);
        pw_thread_loop_unlock(loop_);
        return {};
    }

    // Both callbacks run on the loop's thread: the writer has one user.
    void on_process() {
        pw_buffer* b = pw_stream_dequeue_buffer(stream_);
        if (b == nullptr) return;
        spa_buffer* buf = b->buffer;
        if (buf->n_datas > 0 && buf->datas[0].data != nullptr && buf->datas[0].chunk != nullptr) {
            const spa_data& d = buf->datas[0];
            const std::uint32_t fb = kChannels * 4;
            const std::uint32_t offset = std::min(d.chunk->offset, d.maxsize);
            const std::uint32_t size = std::min(d.chunk->size, d.maxsize - offset) / fb * fb;
            const auto* p = static_cast<const std::byte*>(d.data) + offset;
            write({p, size}, size / fb, false);
        }
        pw_stream_queue_buffer(stream_, b);
    }
    void on_timer() {
        const std::uint64_t now = monotonic_ns();
        const std::uint64_t n = std::min<std::uint64_t>(clock_.silence_due(now), kRate);
        if (n == 0) return;
        silence_.assign(n * kChannels * 4, std::byte{0});
        write(silence_, n, true);
    }
    void write(std::span<const std::byte> bytes, std::uint64_t frames, bool silence) {
        const std::uint64_t now = monotonic_ns();
        if (auto ok = writer_.write(bytes, now); !ok) {
            std::lock_guard lock(mutex_);
            error_ = ok.error().message;
            return;
        }
        if (silence) {
            clock_.on_silence(frames);
            stats_.silence_frames.fetch_add(frames);
        } else {
            clock_.on_frames(frames, now);
            stats_.frames.fetch_add(frames);
        }
    }

    protocol::AudioWriter& writer_;
    StreamClock clock_;
    AudioSourceStats stats_;
    std::vector<std::byte> silence_;
    mutable std::mutex mutex_;
    std::string error_;
    pw_thread_loop* loop_ = nullptr;
    pw_stream* stream_ = nullptr;
    spa_source* timer_ = nullptr;
};

}  // namespace

Result<std::unique_ptr<AudioSource>> start_pipewire_source(protocol::AudioWriter& writer,
                                                           const AudioSourceOptions& options) {
    return PipeWireSource::start(writer, options);
}

}  // namespace porthole::agent::audio
