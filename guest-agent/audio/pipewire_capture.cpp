// Linux guests: captures the monitor of the default sink (or of
// options.pipewire_target) with a pw_stream on its own thread loop. A timer
// on the same loop writes silence while the sink is suspended, so the
// writer has one thread and the stream's position never stalls. The sink's
// volume and mute (its Props, found through the link our stream gets) are
// reported in the channel: the monitor carries the mix before the sink's
// volume, so a host following the guest's volume needs them.
#include <pipewire/pipewire.h>
#include <spa/param/audio/format-utils.h>
#include <spa/param/props.h>
#include <spa/pod/builder.h>
#include <spa/pod/iter.h>

// PipeWire's pw_loop_* macros expand to GNU statement expressions, which
// clang's -Wpedantic flags in our code (GCC treats them as system code).
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wgnu-statement-expression"
#endif

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string_view>
#include <vector>

#include "audio/backends.hpp"
#include "audio/stream_clock.hpp"
#include "porthole/util/adaptive_wait.hpp"

namespace porthole::agent::audio {
namespace {

constexpr std::uint32_t kRate = 48000;
constexpr std::uint32_t kChannels = 2;

// PipeWire's interface-call macros cast C-style: kept here, out of the class.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
void add_registry_listener(pw_registry* r, spa_hook* hook, const pw_registry_events* events,
                           void* data) {
    pw_registry_add_listener(r, hook, events, data);
}
void add_node_listener(pw_node* node, spa_hook* hook, const pw_node_events* events, void* data) {
    pw_node_add_listener(node, hook, events, data);
}
void subscribe_props(pw_node* node) {
    std::uint32_t ids[1] = {SPA_PARAM_Props};
    pw_node_subscribe_params(node, ids, 1);
}
#pragma GCC diagnostic pop

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
        drop_sink();
        if (registry_ != nullptr) {
            spa_hook_remove(&registry_listener_);
            pw_proxy_destroy(reinterpret_cast<pw_proxy*>(registry_));
        }
        if (stream_ != nullptr) pw_stream_destroy(stream_);
        if (core_ != nullptr) pw_core_disconnect(core_);
        if (context_ != nullptr) pw_context_destroy(context_);
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
    explicit PipeWireSource(protocol::AudioWriter& writer)
        : writer_(writer), clock_(kRate), volume_(writer, stats_) {}

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
        context_ = pw_context_new(pw_thread_loop_get_loop(loop_), nullptr, 0);
        if (context_ != nullptr) core_ = pw_context_connect(context_, nullptr, 0);
        if (core_ == nullptr) {
            pw_properties_free(props);
            return Error::make(
                "cannot connect to PipeWire: is a PipeWire daemon running (XDG_RUNTIME_DIR "
                "set)?");
        }
        stream_ = pw_stream_new(core_, "porthole-agent capture", props);
        if (stream_ == nullptr) return Error::make("cannot create a PipeWire capture stream");
        pw_stream_add_listener(stream_, &stream_listener_, &events, this);
        static const pw_registry_events registry_events = [] {
            pw_registry_events e{};
            e.version = PW_VERSION_REGISTRY_EVENTS;
            e.global = [](void* self, std::uint32_t id, std::uint32_t, const char* type,
                          std::uint32_t, const spa_dict* global_props) {
                static_cast<PipeWireSource*>(self)->on_global(id, type, global_props);
            };
            e.global_remove = [](void* self, std::uint32_t id) {
                static_cast<PipeWireSource*>(self)->on_global_remove(id);
            };
            return e;
        }();
        registry_ = pw_core_get_registry(core_, PW_VERSION_REGISTRY, 0);
        if (registry_ != nullptr)
            add_registry_listener(registry_, &registry_listener_, &registry_events, this);
        timer_ = pw_loop_add_timer(
            pw_thread_loop_get_loop(loop_),
            [](void* self, std::uint64_t) { static_cast<PipeWireSource*>(self)->on_timer(); },
            this);
        // Captured as FL FR (the positions declared below), whatever the sink has.
        const protocol::AudioFormat f{kRate, kChannels, protocol::SampleFormat::f32,
                                      protocol::speaker::stereo};
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

    // Our stream's link names the sink it captures: follow that sink's Props.
    void on_global(std::uint32_t id, const char* type, const spa_dict* props) {
        if (props == nullptr || std::string_view(type) != PW_TYPE_INTERFACE_Link) return;
        const char* in = spa_dict_lookup(props, PW_KEY_LINK_INPUT_NODE);
        const char* out = spa_dict_lookup(props, PW_KEY_LINK_OUTPUT_NODE);
        if (in == nullptr || out == nullptr) return;
        if (std::strtoul(in, nullptr, 10) != pw_stream_get_node_id(stream_)) return;
        const auto sink = static_cast<std::uint32_t>(std::strtoul(out, nullptr, 10));
        link_id_ = id;
        if (sink == sink_id_) return;
        drop_sink();
        sink_id_ = sink;
        sink_node_ = static_cast<pw_node*>(
            pw_registry_bind(registry_, sink, PW_TYPE_INTERFACE_Node, PW_VERSION_NODE, 0));
        if (sink_node_ == nullptr) return;
        static const pw_node_events node_events = [] {
            pw_node_events e{};
            e.version = PW_VERSION_NODE_EVENTS;
            e.param = [](void* self, int, std::uint32_t param_id, std::uint32_t, std::uint32_t,
                         const spa_pod* param) {
                if (param_id == SPA_PARAM_Props)
                    static_cast<PipeWireSource*>(self)->on_sink_props(param);
            };
            return e;
        }();
        add_node_listener(sink_node_, &node_listener_, &node_events, this);
        subscribe_props(sink_node_);
    }
    void on_global_remove(std::uint32_t id) {
        if (id != link_id_ && id != sink_id_) return;
        drop_sink();  // unlinked: until the next link, the guest's level is its own
        volume_.report(1.0F, false);
    }
    void drop_sink() {
        if (sink_node_ != nullptr) {
            spa_hook_remove(&node_listener_);
            pw_proxy_destroy(reinterpret_cast<pw_proxy*>(sink_node_));
        }
        sink_node_ = nullptr;
        sink_id_ = link_id_ = SPA_ID_INVALID;
    }
    // A sink's Props: linear channel volumes (what wpctl's cubic slider
    // sets), an overall volume and mute. Keys missing from this object keep
    // their last value.
    void on_sink_props(const spa_pod* param) {
        if (param == nullptr || !spa_pod_is_object(param)) return;
        const auto* obj = reinterpret_cast<const spa_pod_object*>(param);
        const spa_pod_prop* prop = nullptr;
        SPA_POD_OBJECT_FOREACH(obj, prop) {
            if (prop->key == SPA_PROP_mute) {
                bool m = false;
                if (spa_pod_get_bool(&prop->value, &m) == 0) sink_muted_ = m;
            } else if (prop->key == SPA_PROP_volume) {
                float v = 1.0F;
                if (spa_pod_get_float(&prop->value, &v) == 0) sink_volume_ = v;
            } else if (prop->key == SPA_PROP_channelVolumes) {
                std::array<float, SPA_AUDIO_MAX_CHANNELS> v{};
                const std::uint32_t n = spa_pod_copy_array(&prop->value, SPA_TYPE_Float, v.data(),
                                                           static_cast<std::uint32_t>(v.size()));
                if (n > 0) {
                    float sum = 0;
                    for (std::uint32_t i = 0; i < n; ++i)
                        sum += v[i];
                    sink_channels_ = sum / static_cast<float>(n);
                }
            }
        }
        volume_.report(sink_volume_ * sink_channels_, sink_muted_);
    }

    // Every callback runs on the loop's thread: the writer has one user.
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
    VolumeReporter volume_;
    float sink_volume_ = 1.0F, sink_channels_ = 1.0F;
    bool sink_muted_ = false;
    pw_thread_loop* loop_ = nullptr;
    pw_context* context_ = nullptr;
    pw_core* core_ = nullptr;
    pw_stream* stream_ = nullptr;
    spa_hook stream_listener_{};
    pw_registry* registry_ = nullptr;
    spa_hook registry_listener_{};
    pw_node* sink_node_ = nullptr;
    spa_hook node_listener_{};
    std::uint32_t sink_id_ = SPA_ID_INVALID, link_id_ = SPA_ID_INVALID;
    spa_source* timer_ = nullptr;
};

}  // namespace

Result<std::unique_ptr<AudioSource>> start_pipewire_source(protocol::AudioWriter& writer,
                                                           const AudioSourceOptions& options) {
    return PipeWireSource::start(writer, options);
}

}  // namespace porthole::agent::audio
