#pragma once
// A simulated guest writer and host output around a real AudioWriter /
// AudioReader / PlayoutEngine, in simulated time: minutes of audio with any
// clock drift run in seconds. The writer writes the tone in chunks on its
// own (drifting) clock; the output asks for a quantum on the host clock.
// Shared by the unit tests and bench/audio.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "audio/playout.hpp"
#include "audio/tone.hpp"
#include "porthole/protocol/audio_ring.hpp"
#include "porthole/protocol/region.hpp"

namespace porthole::test {

struct AudioSimConfig {
    std::uint32_t rate = 48000;
    std::uint16_t channels = 2;
    std::uint32_t writer_chunk = 480;       // frames per guest write (10 ms, WASAPI's period)
    std::uint32_t quantum = 256;            // frames per output cycle
    double output_delay_ms = 256.0 / 48.0;  // the output's own delay (one quantum)
    client::audio::PlayoutConfig playout{};
    // Guest clock speed relative to the host at host time t (1.005 = 0.5% fast).
    std::function<double(double)> clock_scale = [](double) { return 1.0; };
    // Guest writes nothing while this says so (VM paused).
    std::function<bool(double)> paused = [](double) { return false; };
    // The host's output misses its cycles while this says so (client not
    // scheduled): the sink plays on without it, the guest keeps writing.
    std::function<bool(double)> output_stalled = [](double) { return false; };
    // The guest's volume and mute at guest write time t, sent in the channel.
    std::function<std::pair<float, bool>(double)> guest_volume = [](double) {
        return std::pair{1.0F, false};
    };
};

// Counts what the engine consumes, so the test knows the true backlog.
class CountingSource final : public client::audio::PcmSource {
  public:
    CountingSource(std::unique_ptr<client::audio::PcmSource> inner,
                   const protocol::AudioWriter& writer)
        : inner_(std::move(inner)), writer_(writer) {}
    Result<std::optional<client::audio::PcmFormat>> format() override {
        auto f = inner_->format();
        if (f && *f && !started_) {  // the reader starts at the writer's position
            started_ = true;
            consumed_ = writer_.position();
        }
        return f;
    }
    std::uint64_t available() override { return inner_->available(); }
    Result<client::audio::PcmRead> read(std::span<float> out) override {
        auto r = inner_->read(out);
        if (r) consumed_ += r->frames + r->lost_frames;
        return r;
    }
    void skip_to_latest(std::uint64_t keep) override {
        inner_->skip_to_latest(keep);
        consumed_ = writer_.position() > keep ? writer_.position() - keep : 0;
    }
    [[nodiscard]] float volume() const override { return inner_->volume(); }
    [[nodiscard]] bool muted() const override { return inner_->muted(); }
    [[nodiscard]] std::uint64_t consumed() const { return consumed_; }

  private:
    std::unique_ptr<client::audio::PcmSource> inner_;
    const protocol::AudioWriter& writer_;
    std::uint64_t consumed_ = 0;
    bool started_ = false;
};

class AudioSim {
  public:
    struct Cycle {
        double t = 0;                  // host time (s)
        double engine_latency_ms = 0;  // what the engine reports (smoothed)
        double true_latency_ms = 0;    // from the writer's and reader's positions
        std::span<const float> out;    // this cycle's output
    };

    explicit AudioSim(AudioSimConfig c)
        : c_(std::move(c)),
          channel_(protocol::kPageSize + 512 * 1024),
          writer_(*protocol::AudioWriter::create(channel_)),
          tone_({c_.rate, c_.channels, protocol::SampleFormat::f32}),
          engine_(c_.playout) {
        (void)writer_.set_format(tone_.format());
        auto reader = protocol::AudioReader::attach(channel_);
        auto src = std::make_unique<CountingSource>(
            client::audio::make_region_source(std::move(*reader)), writer_);
        counting_ = src.get();
        engine_.set_source(std::move(src));
        out_.resize(std::size_t{c_.quantum} * c_.channels);
        chunk_.resize(std::size_t{c_.writer_chunk} * tone_.format().frame_bytes());
    }

    // Runs `seconds` of host time, calling on_cycle after every output cycle.
    void run(double seconds, const std::function<void(const Cycle&)>& on_cycle) {
        const double end = t_ + seconds;
        const double cycle_s = static_cast<double>(c_.quantum) / c_.rate;
        while (t_ < end) {
            const double next_fill = static_cast<double>(fills_) * cycle_s;
            if (next_write_ <= next_fill) {
                if (!c_.paused(next_write_)) {
                    const auto [gain, muted] = c_.guest_volume(next_write_);
                    writer_.set_volume(gain, muted);
                    tone_.render(written_, chunk_);
                    (void)writer_.write(chunk_, static_cast<std::uint64_t>(next_write_ * 1e9));
                    written_ += c_.writer_chunk;
                }
                next_write_ +=
                    static_cast<double>(c_.writer_chunk) / (c_.rate * c_.clock_scale(next_write_));
                continue;
            }
            t_ = next_fill;
            ++fills_;
            if (c_.output_stalled(t_)) continue;
            (void)engine_.poll_format();
            engine_.fill(out_, {c_.rate, c_.channels}, c_.output_delay_ms);
            Cycle cy;
            cy.t = t_;
            cy.engine_latency_ms = engine_.counters().latency_ms;
            // The newest written frame is heard after the output's delay, this
            // cycle's frames, the engine's own queue and the ring's backlog.
            const double backlog = static_cast<double>(writer_.position()) -
                                   static_cast<double>(counting_->consumed()) +
                                   static_cast<double>(engine_.internal_frames() + c_.quantum);
            cy.true_latency_ms = backlog * 1000.0 / c_.rate + c_.output_delay_ms;
            cy.out = out_;
            on_cycle(cy);
        }
    }
    [[nodiscard]] const client::audio::PlayoutCounters& counters() const {
        return engine_.counters();
    }
    [[nodiscard]] const agent::audio::ToneGenerator& tone() const { return tone_; }

  private:
    AudioSimConfig c_;
    std::vector<std::byte> channel_;
    protocol::AudioWriter writer_;
    agent::audio::ToneGenerator tone_;
    client::audio::PlayoutEngine engine_;
    CountingSource* counting_ = nullptr;
    std::vector<float> out_;
    std::vector<std::byte> chunk_;
    double t_ = 0;
    double next_write_ = 0;
    std::uint64_t fills_ = 0;
    std::uint64_t written_ = 0;
};

}  // namespace porthole::test
