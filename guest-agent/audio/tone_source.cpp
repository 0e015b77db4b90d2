// The tone source: writes the sweep in real time (scaled by clock_scale) in
// chunk_ms pieces, as a capture device would.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "audio/backends.hpp"
#include "audio/tone.hpp"
#include "porthole/util/adaptive_wait.hpp"

namespace porthole::agent::audio {
namespace {

class ToneSource final : public AudioSource {
  public:
    ToneSource(protocol::AudioWriter& writer, const AudioSourceOptions& o)
        : writer_(writer),
          tone_(o.tone_format, 0.5F, o.tone_per_speaker ? ToneKind::speakers : ToneKind::sweep),
          chunk_ms_(std::max<std::uint32_t>(o.chunk_ms, 1)),
          scale_(o.clock_scale),
          volume_(o.tone_volume),
          muted_(o.tone_muted) {
        thread_ = std::thread([this] { run(); });
    }
    ~ToneSource() override {
        stop_.store(true);
        thread_.join();
    }
    ToneSource(const ToneSource&) = delete;
    ToneSource& operator=(const ToneSource&) = delete;
    std::string_view name() const override { return "tone"; }
    const AudioSourceStats& stats() const override { return stats_; }
    std::string last_error() const override {
        std::lock_guard lock(mutex_);
        return error_;
    }

  private:
    void run() {
        const auto& f = tone_.format();
        if (auto ok = writer_.set_format(f); !ok) {
            fail(ok.error().message);
            return;
        }
        stats_.format_changes.fetch_add(1);
        VolumeReporter(writer_, stats_).report(volume_, muted_);
        const std::uint64_t start = monotonic_ns();
        std::uint64_t written = 0;
        std::vector<std::byte> buf;
        while (!stop_.load()) {
            const std::uint64_t now = monotonic_ns();
            const double elapsed_s = static_cast<double>(now - start) * 1e-9 * scale_;
            const auto due = static_cast<std::uint64_t>(elapsed_s * f.rate);
            if (due > written) {
                const std::uint64_t n = due - written;
                buf.resize(n * f.frame_bytes());
                tone_.render(written, buf);
                if (auto ok = writer_.write(buf, now); !ok) {
                    fail(ok.error().message);
                    return;
                }
                written = due;
                stats_.frames.fetch_add(n);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(chunk_ms_));
        }
    }
    void fail(std::string msg) {
        std::lock_guard lock(mutex_);
        error_ = std::move(msg);
    }

    protocol::AudioWriter& writer_;
    ToneGenerator tone_;
    std::uint32_t chunk_ms_;
    double scale_;
    float volume_;
    bool muted_;
    AudioSourceStats stats_;
    mutable std::mutex mutex_;
    std::string error_;
    std::atomic<bool> stop_{false};
    std::thread thread_;  // last: started after every member it uses
};

}  // namespace

Result<std::unique_ptr<AudioSource>> start_tone_source(protocol::AudioWriter& writer,
                                                       const AudioSourceOptions& options) {
    if (auto ok = protocol::validate_audio_format(options.tone_format); !ok) return ok.error();
    if (options.clock_scale < 0.5 || options.clock_scale > 2.0) {
        return Error::make("tone clock scale must be within 0.5..2");
    }
    if (!(options.tone_volume >= 0.0F && options.tone_volume <= 1.0F)) {
        return Error::make("tone volume must be within 0..1");
    }
    return std::unique_ptr<AudioSource>(std::make_unique<ToneSource>(writer, options));
}

}  // namespace porthole::agent::audio
