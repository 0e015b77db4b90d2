#include "audio/playout.hpp"

#include <speex/speex_resampler.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

namespace porthole::client::audio {

PlayoutEngine::PlayoutEngine(PlayoutConfig config) : config_(config) {
    config_.target_ms = std::clamp(config_.target_ms, 5.0, 500.0);
    config_.quality = std::clamp(config_.quality, 0, 10);
    counters_.target_ms = config_.target_ms;
}

PlayoutEngine::~PlayoutEngine() {
    if (resampler_ != nullptr) speex_resampler_destroy(resampler_);
}

void PlayoutEngine::set_source(std::unique_ptr<PcmSource> source) {
    source_ = std::move(source);
    format_.reset();
    restart(State::idle);
}

void PlayoutEngine::restart(State next) {
    if (next != State::playing && state_ == State::playing) ++counters_.resets;
    state_ = next;
    fifo_.clear();
    fifo_pos_ = 0;
    integral_ = 0;
    if (resampler_ != nullptr) {
        speex_resampler_reset_mem(resampler_);
        speex_resampler_skip_zeros(resampler_);  // output starts with the first input frame
    }
    set_ratio(1.0, true);
    counters_.playing = next == State::playing;
}

std::optional<PcmFormat> PlayoutEngine::poll_format() {
    if (!source_) return std::nullopt;
    auto f = source_->format();
    if (!f) {
        error_ = f.error().message;
        if (state_ != State::idle) restart(State::idle);
        format_.reset();
        return std::nullopt;
    }
    if (!*f) {
        if (state_ != State::idle) restart(State::idle);
        format_.reset();
        return std::nullopt;
    }
    if (!format_ || **f != *format_) {
        format_ = **f;
        if (resampler_ != nullptr) speex_resampler_destroy(resampler_);
        int err = 0;
        resampler_ = speex_resampler_init(format_->channels, format_->rate, format_->rate,
                                          config_.quality, &err);
        resampler_num_ = 0;
        if (resampler_ == nullptr) {
            error_ = std::string("cannot create the resampler: ") + speex_resampler_strerror(err);
            format_.reset();
            return std::nullopt;
        }
        restart(State::buffering);
    } else if (state_ == State::idle) {
        restart(State::buffering);
    }
    return format_;
}

std::uint64_t PlayoutEngine::engine_frames() const {
    const std::uint64_t fifo = (fifo_.size() - fifo_pos_) / format_->channels;
    return fifo + (resampler_ != nullptr
                       ? static_cast<std::uint64_t>(speex_resampler_get_input_latency(resampler_))
                       : 0);
}

void PlayoutEngine::set_ratio(double r, bool force) {
    if (resampler_ == nullptr || !format_) {
        counters_.ratio = r;
        return;
    }
    // speexdsp rescales its phase by den on every change in 32 bits: a
    // denominator over 65535 overflows it (and crashes). 48000 steps the
    // ratio by 21 ppm, which the integrator dithers to any mean.
    constexpr std::uint32_t den = 48000;
    const auto num = static_cast<std::uint32_t>(std::lround(r * den));
    if (num == resampler_num_) return;
    // Each change rebuilds speexdsp's interpolation table: at most every
    // 20 ms (well inside the controller's ~0.5 s response), or it costs more
    // than the resampling itself.
    if (!force && resampler_num_ != 0 && frames_since_rate_ < format_->rate / 50) return;
    frames_since_rate_ = 0;
    speex_resampler_set_rate_frac(resampler_, num, den, format_->rate, format_->rate);
    resampler_num_ = num;
    counters_.ratio = static_cast<double>(num) / den;
}

bool PlayoutEngine::trim(std::uint64_t frames) {
    const std::size_t ch = format_->channels;
    // The last `fade` frames before the cut and the first `fade` after it are
    // overlapped: the cut removes skip + fade frames in all.
    auto fade = static_cast<std::uint64_t>(config_.trim_fade_ms * format_->rate / 1000.0);
    const std::uint64_t avail = source_->available();  // skip + 2 x fade are read
    fade = std::min(fade, avail / 2);
    frames = std::min(frames, avail - fade);
    fade = std::min(fade, frames);
    if (fade == 0) return true;
    const std::uint64_t skip = frames - fade;
    // Reads exactly n frames into `into`; false: the source failed or jumped.
    auto read_exact = [&](std::vector<float>& into, std::uint64_t n) {
        into.resize(n * ch);
        auto r = source_->read(into);
        if (!r) {
            error_ = r.error().message;
            restart(State::buffering);
            return false;
        }
        if (r->lost_frames > 0 || r->format_changed || r->frames != n) {
            if (r->lost_frames > 0) ++counters_.overruns;
            restart(State::buffering);
            return false;
        }
        return true;
    };
    if (!read_exact(trim_a_, fade)) return false;
    for (std::uint64_t left = skip; left > 0;) {
        const std::uint64_t n = std::min(left, fade);
        if (!read_exact(trim_b_, n)) return false;
        left -= n;
    }
    if (!read_exact(trim_b_, fade)) return false;
    // Raised-cosine weights summing to one: never louder than either side.
    for (std::uint64_t i = 0; i < fade; ++i) {
        const double x = (static_cast<double>(i) + 0.5) / static_cast<double>(fade);
        const auto w = static_cast<float>(0.5 - 0.5 * std::cos(std::numbers::pi * x));
        for (std::size_t c = 0; c < ch; ++c) {
            float& a = trim_a_[i * ch + c];
            a += w * (trim_b_[i * ch + c] - a);
        }
    }
    fifo_.insert(fifo_.end(), trim_a_.begin(), trim_a_.end());
    const double cut_ms = static_cast<double>(frames) * 1000.0 / format_->rate;
    prefiltered_ms_ -= cut_ms;
    smoothed_ms_ -= cut_ms;
    ++counters_.trims;
    return true;
}

bool PlayoutEngine::start_if_ready(const PcmFormat& f, double output_delay_ms) {
    const double rate = f.rate;
    // The resampler starts empty (skip_zeros): it swallows its half filter
    // before the first output, so that part comes out of the source too.
    const double want = std::max((config_.target_ms - output_delay_ms) * rate / 1000.0, 0.0);
    const auto need = static_cast<std::uint64_t>(std::ceil(want));
    // The guest publishes in grains (10 ms for WASAPI, 20 ms for Scream): we
    // see the top of that sawtooth right after a write, so start half a grain
    // above the target and the average sits on it.
    const auto start = need + static_cast<std::uint64_t>(write_grain_ / 2);
    const std::uint64_t avail = source_->available();
    if (avail < start) return false;
    // Too much waiting (a backlog from before, or a resumed VM): keep the newest.
    if (avail > start + f.rate / 1000) source_->skip_to_latest(start);
    state_ = State::playing;
    counters_.playing = true;
    smoothed_ms_ = prefiltered_ms_ = config_.target_ms;
    integral_ = 0;
    fade_len_ =
        std::max<std::uint64_t>(static_cast<std::uint64_t>(config_.fade_ms * rate / 1000.0), 1);
    fade_left_ = fade_len_;
    return true;
}

void PlayoutEngine::apply_gain(std::span<float> out, std::size_t channels) {
    const std::size_t frames = out.size() / channels;
    float target = 1.0F;
    if (config_.follow_volume && source_) target = source_->muted() ? 0.0F : source_->volume();
    const float step = 1.0F / 480.0F;  // a full swing takes 10 ms at 48 kHz: no zipper noise
    for (std::size_t i = 0; i < frames; ++i) {
        if (gain_ < target)
            gain_ = std::min(target, gain_ + step);
        else if (gain_ > target)
            gain_ = std::max(target, gain_ - step);
        float g = gain_;
        if (fade_left_ > 0) {
            g *= static_cast<float>(fade_len_ - fade_left_) / static_cast<float>(fade_len_);
            --fade_left_;
        }
        if (g == 1.0F) continue;
        for (std::size_t c = 0; c < channels; ++c)
            out[i * channels + c] *= g;
    }
}

void PlayoutEngine::fill(std::span<float> out, const PcmFormat& output, double output_delay_ms) {
    const std::size_t ch = output.channels;
    const std::size_t frames = out.size() / ch;
    counters_.frames_out += frames;
    auto silence = [&](std::size_t from) {
        std::fill(out.begin() + static_cast<std::ptrdiff_t>(from * ch), out.end(), 0.0F);
    };
    if (!source_ || !format_ || output != *format_ || resampler_ == nullptr) {
        silence(0);
        return;
    }
    const double rate = format_->rate;
    if (state_ == State::idle) restart(State::buffering);
    {
        const std::uint64_t avail = source_->available();
        const double grain = static_cast<double>(avail > last_avail_ ? avail - last_avail_ : 0);
        // A burst beyond twice the target is a jump (VM resumed), not a grain.
        if (grain <= 2.0 * config_.target_ms * rate / 1000.0)
            write_grain_ = std::max(grain, write_grain_ * 0.999);
        last_avail_ = avail;
    }
    if (state_ == State::buffering && !start_if_ready(*format_, output_delay_ms)) {
        silence(0);
        return;
    }
    struct Remember {  // what the source holds when this cycle ends, for the grain
        PlayoutEngine& e;
        ~Remember() { e.last_avail_ = e.source_ ? e.source_->available() : 0; }
    } remember{*this};

    // Controller: smoothed latency -> ratio (in frames per out frame).
    const double latency =
        static_cast<double>(source_->available() + engine_frames()) * 1000.0 / rate +
        output_delay_ms;
    // Up to this far above the target a trim takes the excess out smoothly
    // (a desktop stall); beyond it is a jump (VM resumed, writer burst) not
    // worth hearing late for the trim's settling: start over at the target.
    const double limit = config_.target_ms + std::max(3.0 * config_.target_ms, 150.0);
    if (latency > limit) {
        ++counters_.overruns;
        restart(State::buffering);
        silence(0);
        return;
    }
    const double dt = static_cast<double>(frames) / rate;
    frames_since_rate_ += frames;
    // Two averages in a row: the guest's writes make the latency a sawtooth
    // (10 ms teeth for WASAPI); one average leaves ripple the controller
    // would turn into pitch wobble, two leave almost none.
    const double a = dt / (config_.smoothing_s + dt);
    prefiltered_ms_ += a * (latency - prefiltered_ms_);
    smoothed_ms_ += a * (prefiltered_ms_ - smoothed_ms_);
    // A step above the target (the host stalled while the guest wrote on):
    // once the two averages agree on it, cut it out in one trim. Only what
    // the source holds beyond this cycle can go: latency in PipeWire's own
    // queue is not ours to cut.
    const double margin = std::max(config_.trim_margin_ms, config_.target_ms / 4.0);
    const double spare =
        std::max(static_cast<double>(source_->available()) - static_cast<double>(frames), 0.0);
    const bool trimmable =
        smoothed_ms_ > config_.target_ms + margin && spare * 1000.0 / rate > margin;
    if (trimmable && std::abs(prefiltered_ms_ - smoothed_ms_) < 1.0) {
        const double excess = (prefiltered_ms_ - config_.target_ms) * rate / 1000.0;
        if (!trim(static_cast<std::uint64_t>(std::min(excess, spare)))) {
            silence(0);
            return;
        }
    }
    counters_.latency_ms = smoothed_ms_;
    const double err = (smoothed_ms_ - config_.target_ms) / 1000.0;
    const double imax = config_.ki > 0 ? config_.max_deviation / config_.ki : 0.0;
    const double unclamped = 1.0 + config_.kp * err + config_.ki * integral_;
    // The integral learns the clock drift: not from excursions the trims
    // handle, nor while the ratio is pinned at its clamp (wind-up would swing
    // the latency the other way afterwards).
    const bool pinned =
        std::abs(unclamped - 1.0) >= config_.max_deviation && (unclamped > 1.0) == (err > 0);
    if (!trimmable && !pinned) integral_ = std::clamp(integral_ + err * dt, -imax, imax);
    // A trim is coming: play at the drift estimate alone rather than speed
    // up for the few hundred ms until it.
    const double p = trimmable ? 0.0 : config_.kp * err;
    const double ratio = std::clamp(1.0 + p + config_.ki * integral_, 1.0 - config_.max_deviation,
                                    1.0 + config_.max_deviation);
    set_ratio(ratio);

    std::size_t produced = 0;
    bool dry = false;
    while (produced < frames) {
        std::size_t have = (fifo_.size() - fifo_pos_) / ch;
        const auto need =
            static_cast<std::size_t>(std::ceil(static_cast<double>(frames - produced) * ratio)) + 8;
        if (have < need && !dry) {
            if (fifo_pos_ > 0) {
                fifo_.erase(fifo_.begin(), fifo_.begin() + static_cast<std::ptrdiff_t>(fifo_pos_));
                fifo_pos_ = 0;
            }
            const std::size_t old = fifo_.size();
            fifo_.resize(old + (need - have) * ch);
            auto r = source_->read(std::span(fifo_).subspan(old));
            if (!r) {
                error_ = r.error().message;
                fifo_.resize(old);
                dry = true;
            } else {
                fifo_.resize(old + r->frames * ch);
                if (r->lost_frames > 0 || r->format_changed) {  // discontinuity: start over
                    if (r->lost_frames > 0) ++counters_.overruns;
                    restart(State::buffering);
                    silence(produced);
                    apply_gain(out.first(produced * ch), ch);
                    return;
                }
                if (r->frames < need - have) dry = true;
            }
            have = (fifo_.size() - fifo_pos_) / ch;
        }
        auto in_len = static_cast<spx_uint32_t>(have);
        auto out_len = static_cast<spx_uint32_t>(frames - produced);
        speex_resampler_process_interleaved_float(resampler_, fifo_.data() + fifo_pos_, &in_len,
                                                  out.data() + produced * ch, &out_len);
        fifo_pos_ += in_len * ch;
        produced += out_len;
        if (out_len == 0 && dry) break;
    }
    if (produced < frames) {  // the source ran dry: a real underrun
        ++counters_.underruns;
        const std::size_t tail = std::min<std::size_t>(produced, 64);
        for (std::size_t i = 0; i < tail; ++i) {  // short fade-out instead of a click
            const float g = static_cast<float>(tail - i) / static_cast<float>(tail + 1);
            for (std::size_t c = 0; c < ch; ++c)
                out[(produced - tail + i) * ch + c] *= g;
        }
        silence(produced);
        apply_gain(out.first(produced * ch), ch);
        restart(State::buffering);
        return;
    }
    apply_gain(out, ch);
}

}  // namespace porthole::client::audio
