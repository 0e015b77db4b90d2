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
    // One snapshot per 0.25 s over the drift window: no allocation in the
    // real-time callback later.
    snaps_.reserve(static_cast<std::size_t>(std::max(config_.drift_window_s, 2.0) * 4.0) + 2);
}

PlayoutEngine::~PlayoutEngine() {
    if (resampler_ != nullptr) speex_resampler_destroy(resampler_);
}

void PlayoutEngine::set_source(std::unique_ptr<PcmSource> source) {
    source_ = std::move(source);
    format_.reset();
    forget_clock();
    restart(State::idle);
}

void PlayoutEngine::restart(State next) {
    if (next != State::playing && state_ == State::playing) {
        ++counters_.resets;
        // Two resets within 3 s: the drift may have changed (a resumed or
        // migrated VM): acquire again. One is a stall or a pause.
        if (since_reset_s_ < 3.0) unlock();
        since_reset_s_ = 0;
        settle_pending_ = drift_known_ && locked_;
    }
    state_ = next;
    fifo_.clear();
    fifo_pos_ = 0;
    snaps_.clear();
    // The first estimate after a quarter second (the 5 ms target cannot wait
    // longer); after a reset the old estimate stands until the new window is 5 s.
    min_span_s_ = drift_known_ && locked_ ? 5.0 : 0.25;
    if (resampler_ != nullptr) {
        speex_resampler_reset_mem(resampler_);
        speex_resampler_skip_zeros(resampler_);  // output starts with the first input frame
    }
    ratio_ = drift_;  // the same guest clock: resume at its rate
    set_ratio(ratio_, true);
    counters_.playing = next == State::playing;
}

void PlayoutEngine::unlock() {
    locked_ = false;
    unlocked_s_ = 0;
    snaps_.clear();  // the old clock's arrivals do not count
    min_span_s_ = 0.25;
    trims_at_lock_ = counters_.trims;
}

void PlayoutEngine::forget_clock() {
    unlock();
    drift_ = 1.0;
    drift_known_ = false;
    dip_ms_ = pending_dip_ms_ = 0;
    chunk_grain_ = 0;
    settle_pending_ = false;
    target_eff_ms_ = config_.target_ms;
    counters_.target_ms = target_eff_ms_;
}

std::optional<PcmFormat> PlayoutEngine::poll_format() {
    if (!source_) return std::nullopt;
    auto f = source_->format();
    if (!f) {
        ++counters_.source_errors;
        // Assigned only when it changes: the string keeps its capacity, and
        // the callback does not copy the same message every period.
        if (error_ != f.error().message) error_ = f.error().message;
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
        if (format_) ++counters_.format_changes;
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
        forget_clock();
        restart(State::buffering);
    } else if (state_ == State::idle) {
        restart(State::buffering);
    }
    return format_;
}

// The band the slow mean must sit in to lock, and the level may stray before
// it unlocks: an eighth of the gains' reference (the target held, or twice
// the guest's chunk). Scream's DPC lateness ramp swings the level 2-3 ms
// around the target with a drifting clock: below a 40 ms target a band of an
// eighth of the target (2.5 ms at 10 ms) unlocked on that swing, and the
// re-acquisition's fast gains were heard (dpc 10 ms +0.5%: 5.5 cents p95).
double PlayoutEngine::lock_band_ms() const {
    const double ref = std::max(target_eff_ms_, 2.0 * chunk_grain_ * 1000.0 / format_->rate);
    return std::max(2.5, ref / 8.0);
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
    // The stall's step leaves the arrival count too (the trim's reads are
    // not counted as played): the drift estimate does not see it.
    level_ms_ -= cut_ms;
    mean_ms_ -= cut_ms;
    since_trim_s_ = 0;
    fill_lp_ -= static_cast<double>(frames);
    ++counters_.trims;
    return true;
}

bool PlayoutEngine::start_if_ready(const PcmFormat& f, double output_delay_ms) {
    const double rate = f.rate;
    // The resampler starts empty (skip_zeros): it swallows its half filter
    // before the first output, so that part comes out of the source too.
    const double want = std::max((target_eff_ms_ - output_delay_ms) * rate / 1000.0, 0.0);
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
    smoothed_ms_ = prefiltered_ms_ = level_ms_ = mean_ms_ = target_eff_ms_;
    // Started half a grain high, the sawtooth's mean sits on the target: so
    // does the filtered fill, or its settling would read as a slow guest.
    fill_lp_ = std::max(target_eff_ms_ - output_delay_ms, 0.0) * rate / 1000.0;
    pending_dip_ms_ = 0;
    snaps_.clear();
    min_span_s_ = drift_known_ && locked_ ? 5.0 : 0.25;
    playing_s_ = 0;
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

bool PlayoutEngine::control(std::size_t frames, double output_delay_ms, std::uint64_t avail) {
    const double rate = format_->rate;
    const double dt = static_cast<double>(frames) / rate;
    const auto fill = static_cast<double>(avail + engine_frames());
    const double latency = fill * 1000.0 / rate + output_delay_ms;
    // Far above the target: a jump (VM resumed, writer burst) not worth
    // hearing late for a trim's settling: start over at the target.
    if (latency > target_eff_ms_ + std::max(3.0 * target_eff_ms_, 150.0)) {
        ++counters_.overruns;
        restart(State::buffering);
        return false;
    }
    frames_since_rate_ += frames;
    out_total_ += static_cast<double>(frames);

    dip_ms_ -= dip_ms_ * dt / 120.0;
    // One callback needs a quantum (at the ratio) plus the resampler's
    // filter in hand when it starts: a dip must leave that and 1 ms.
    const double need_ms =
        output_delay_ms +
        (static_cast<double>(frames) * ratio_ +
         (resampler_ != nullptr ? speex_resampler_get_input_latency(resampler_) : 0) + 8.0) *
            1000.0 / rate;
    target_eff_ms_ = std::max(config_.target_ms, need_ms + dip_ms_ + 1.0);
    counters_.target_ms = target_eff_ms_;

    // Gains from the target held, or twice the guest's chunk where that is
    // longer (20 ms chunks below a 40 ms target): a quarter of it bends the
    // pitch 5 cents; four times that until locked (acquiring the drift).
    const double kp_ref_ms = std::max(target_eff_ms_, 2.0 * chunk_grain_ * 1000.0 / rate);
    const double kp = (locked_ ? 1.0 : 4.0) * 0.0116 / (kp_ref_ms / 1000.0);
    unlocked_s_ += dt;
    const double a = std::min(1.0, dt * 4.0 * kp);  // tau = 1 / (4 kp): critically damped
    // Not inside a stall (no arrival for longer than a driver's granularity):
    // its dip says nothing about the mean, and the backlog follows.
    if (since_arrival_s_ <= 0.040 + dt) {
        level_ms_ += a * (latency - level_ms_);
        fill_lp_ += a * (fill - fill_lp_);
    }
    // Locked, a dip below a mean that is itself moving fast (a changed guest
    // clock draining the buffer) is the mean's motion, not the arrivals'
    // grain: the floor takes it only while the fast and slow averages agree.
    if (!locked_ || std::abs(smoothed_ms_ - level_ms_) < lock_band_ms() / 2)
        pending_dip_ms_ = std::max(pending_dip_ms_, level_ms_ - latency);
    // The slow mean (2 s): a DPC timer against a drifting guest clock makes
    // the chunks' lateness ramp over the timer period and wrap (10 ms every
    // 2 s at 0.5%), so the sawtooth's mean itself swings that much, slower
    // than the level filter averages. The floor takes dips below this mean
    // too (once it has settled, while locked), and lock decisions use it.
    constexpr double slow_tau_s = 2.0;
    if (since_arrival_s_ <= 0.040 + dt) {
        mean_ms_ += std::min(1.0, dt / slow_tau_s) * (latency - mean_ms_);
        if (locked_ && playing_s_ >= 3.0 * slow_tau_s)
            pending_dip_ms_ = std::max(pending_dip_ms_, mean_ms_ - latency);
        // And below the target itself: the floor is target = need + dip + 1,
        // so a dip measured from a level that sits below the target leaves
        // less than that 1 ms. The proportional loop lags the lateness ramp:
        // at its end, just where the fill is lowest, the level sat 1-3 ms
        // under the target, and a 30 ms gap at the ramp's wrap (the timer's
        // jitter) ran the buffer dry (dpc 5 and 10 ms at +0.5%, at 57 and
        // 31 s; the re-buffer after it ran dry again and the unlock that
        // followed swung the ratio 11 cents). Measured from the target, the
        // floor rises exactly when the fill comes within 1 ms of what a
        // callback needs, and no further (no ratchet: a level lagging a
        // risen floor lags it by what the floor already holds). Not while
        // the averages disagree (a changed clock draining the buffer: that
        // is the unlock's).
        if (locked_ && playing_s_ >= 3.0 * slow_tau_s &&
            std::abs(smoothed_ms_ - level_ms_) < lock_band_ms() / 2)
            pending_dip_ms_ = std::max(pending_dip_ms_, target_eff_ms_ - latency);
    }

    // Fast average for trims, as before: two 40 ms poles.
    const double af = dt / (0.04 + dt);
    prefiltered_ms_ += af * (latency - prefiltered_ms_);
    smoothed_ms_ += af * (prefiltered_ms_ - smoothed_ms_);
    // A step above the target (the host stalled while the guest wrote on):
    // once the fast averages agree on it, cut it out in one trim. Only what
    // the source holds beyond this cycle can go: latency in PipeWire's own
    // queue is not ours to cut.
    const double margin = std::max(config_.trim_margin_ms, target_eff_ms_ / 4.0) + dip_ms_;
    const double spare =
        std::max(static_cast<double>(source_->available()) - static_cast<double>(frames), 0.0);
    const bool trimmable = smoothed_ms_ > target_eff_ms_ + margin && spare * 1000.0 / rate > margin;
    const bool stepped = smoothed_ms_ > target_eff_ms_ + margin;
    // A re-buffer starts at what the arrivals' sawtooth shows it, but the
    // callbacks beat against the chunks (10 ms chunks, 5.3 ms quanta: a
    // pattern 80 ms long), so where in that beat it starts puts the mean up
    // to half a chunk off the target (bursty at 20 ms: 4.3 ms high). Left to
    // the controller, that is a glide of seconds after every stall (2.2
    // cents p95); once the fast average has seen a whole beat, a trim cuts
    // the excess. Not counted as a repeated trim (the lock's test for a
    // changed clock): it is the start's, not the clock's.
    bool settle = false;
    if (settle_pending_ && playing_s_ >= 0.25) {
        settle_pending_ = false;
        const double excess_ms = smoothed_ms_ - target_eff_ms_;
        settle = excess_ms > 1.0 && spare * 1000.0 / rate > excess_ms;
    }
    if ((trimmable && std::abs(prefiltered_ms_ - smoothed_ms_) < 1.0) || settle) {
        const double excess =
            ((settle ? smoothed_ms_ : prefiltered_ms_) - target_eff_ms_) * rate / 1000.0;
        if (!trim(static_cast<std::uint64_t>(std::min(excess, spare)))) return false;
        if (settle) ++trims_at_lock_;
        // The slow filters had taken in part of the step: restart them from the
        // settled fast average.
        fill_lp_ += (prefiltered_ms_ - level_ms_) * rate / 1000.0;
        level_ms_ = mean_ms_ = prefiltered_ms_;
        // The cut never equals the stall's step to the frame: what is left
        // would bias the window by remainder / span. Start a new window; the
        // estimate so far stands until it spans 5 s.
        snaps_.clear();
        if (drift_known_) min_span_s_ = 5.0;
    }
    // Drift: arrivals (frames read + the filtered fill) against output frames.
    // Not before the fill filter has settled (three time constants) after a
    // start: its start value is the sawtooth's mean only to a millisecond or
    // two, and 1.5 ms settling within a 0.25 s window reads as a 0.6% drift.
    const double arrivals = in_total_ + fill_lp_;
    playing_s_ += dt;
    const bool settled = playing_s_ >= 3.0 / (4.0 * kp);
    if (settled && (snaps_.empty() || out_total_ - snaps_.back().out >= rate / 4)) {
        snaps_.push_back({out_total_, arrivals});
        const double keep = (locked_ ? config_.drift_window_s : 2.0) * rate;
        std::size_t drop = 0;
        while (drop + 1 < snaps_.size() && out_total_ - snaps_[drop + 1].out >= keep)
            ++drop;
        snaps_.erase(snaps_.begin(), snaps_.begin() + static_cast<std::ptrdiff_t>(drop));
    }
    const double span = snaps_.empty() ? 0.0 : out_total_ - snaps_.front().out;
    // Not while a step waits for its trim: it is the host's stall, not the
    // guest's clock.
    if (span >= min_span_s_ * rate && !stepped) {
        const double measured = (arrivals - snaps_.front().arrived) / span;
        if (std::abs(measured - 1.0) < config_.max_deviation) {
            // Smooths the window's 0.25 s steps (one second).
            drift_ += std::min(1.0, dt) * (measured - drift_);
            drift_known_ = true;
        }
    }

    counters_.latency_ms = level_ms_;
    counters_.drift = drift_;
    counters_.locked = locked_;
    // Lock: the drift estimate holds the latency. Lost when the latency sinks
    // well below the target (the guest's clock changed: a resumed or
    // migrated VM), or trims repeat (the same, the other way): acquire again.
    // Locking waits for the slow mean to sit on the target (not a lateness
    // ramp's extreme); unlocking watches the level, fast enough to catch a
    // clock step before it drains the buffer (on the 2 s mean, the real
    // PipeWire drift test underran at its 1% step).
    const double err_ms = mean_ms_ - target_eff_ms_;
    const double lock_ms = lock_band_ms();
    if (!locked_ && unlocked_s_ >= config_.startup_s && std::abs(err_ms) < lock_ms / 2)
        locked_ = true;
    else if (locked_ &&
             (level_ms_ - target_eff_ms_ < -lock_ms || counters_.trims >= trims_at_lock_ + 2))
        unlock();
    if (locked_ && since_trim_s_ > 10.0) trims_at_lock_ = counters_.trims;
    since_trim_s_ += dt;
    since_reset_s_ += dt;

    // The ratio: the drift plus a proportional correction, slew-limited.
    // While a trim is coming, the drift alone (no glide toward it).
    const double err = stepped ? 0.0 : (level_ms_ - target_eff_ms_) / 1000.0;
    const double want = drift_ + kp * err;
    const double cents_per_s =
        locked_ ? config_.slew_cents_per_s : config_.startup_slew_cents_per_s;
    const double step = ratio_ * (std::exp2(cents_per_s * dt / 1200.0) - 1.0);
    ratio_ = std::clamp(want, ratio_ - step, ratio_ + step);
    ratio_ = std::clamp(ratio_, 1.0 - config_.max_deviation, 1.0 + config_.max_deviation);
    set_ratio(ratio_);
    return true;
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
    std::uint64_t arrived = 0;  // frames the guest published since the last cycle
    bool regular = false;       // ... within a driver's granularity of the previous write
    {
        const std::uint64_t avail = source_->available();
        arrived = avail > last_avail_ ? avail - last_avail_ : 0;
        // The floor: the fill's deepest dip below its mean between two
        // arrivals, taken when the gap ends (a gap beyond 40 ms + a quantum is
        // a stall or a pause, whose dip the floor does not absorb).
        since_arrival_s_ += static_cast<double>(frames) / rate;
        regular = arrived > 0 && since_arrival_s_ <= 0.040 + static_cast<double>(frames) / rate;
        if (arrived > 0) {
            irregular_run_ = regular ? 0 : irregular_run_ + 1;
            if (regular) dip_ms_ = std::max({dip_ms_, pending_dip_ms_, underrun_dip_ms_});
            pending_dip_ms_ = underrun_dip_ms_ = 0;
            since_arrival_s_ = 0;
        }
        // The sawtooth the callbacks see rises by what arrived less what one
        // callback takes: with a quantum longer than the chunks (21 ms against
        // 10 ms writes) two or three chunks land per callback, but the fill
        // only steps by one chunk's worth.
        const auto grain = static_cast<double>(arrived);
        // A burst beyond twice the target is a jump (VM resumed), not a grain;
        // nor is the backlog a stall ends with (it would start 50 ms high).
        if (grain <= 2.0 * config_.target_ms * rate / 1000.0 && (regular || arrived == 0))
            write_grain_ = std::max(grain, write_grain_ * 0.999);
        // The guest's chunk: the smallest regular arrival (creeping up
        // slowly), not the largest: a late callback that finds two chunks
        // does not make the chunk twice as long.
        if (regular && grain <= 0.040 * rate)
            chunk_grain_ = chunk_grain_ == 0 || grain < chunk_grain_
                               ? grain
                               : chunk_grain_ + 0.001 * (grain - chunk_grain_);
        last_avail_ = avail;
    }
    // Start only on a regular arrival: the fill is then at its sawtooth's top
    // (start_if_ready puts the mean on the target from there). A backlog
    // ending a stall says nothing of where the guest's cadence is (bursty's
    // newest chunk is 10 ms old when it lands, so starting on it sat 5 ms
    // high for the next 10 s): wait for the next write, a grain at most.
    // A guest whose writes are all further apart than that (a 50 ms period)
    // has no regular arrival: from the second such write in a row, any does.
    const bool may_start = arrived > 0 && irregular_run_ != 1;
    if (state_ == State::buffering && (!may_start || !start_if_ready(*format_, output_delay_ms))) {
        silence(0);
        return;
    }
    struct Remember {  // what the source holds when this cycle ends, for the grain
        PlayoutEngine& e;
        ~Remember() { e.last_avail_ = e.source_ ? e.source_->available() : 0; }
    } remember{*this};

    if (!control(frames, output_delay_ms, source_->available())) {
        silence(0);
        return;
    }
    const double ratio = ratio_;

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
                in_total_ += static_cast<double>(r->frames);
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
        // Within a driver's granularity, the floor was too low: the dip so far
        // and a millisecond more (learned for this format).
        // Applied when the next arrival shows the gap was the driver's
        // granularity, not a pause.
        // Locked, with the guest writing on time and both the fast average
        // and the level sunk below the target: not the grain (the floor), but
        // the guest's clock changed (a migrated or resumed VM): acquire the
        // drift again. The fast average alone also sinks that far at the
        // bottom of a DPC lateness ramp (see the slow mean), and unlocking
        // there threw the drift away every few seconds; the level (tau
        // 0.4-0.9 s) has followed a clock step's drain most of the way when
        // it runs dry, a lateness ramp less. (0.85: at 1.0 the 1% step of
        // DriftingGuestClockHoldsTwentyMsForTenMinutes went unseen and cost
        // a second re-buffer; below 0.85 dpc at 20 ms +0.5% unlocked again.)
        const double lock_ms = lock_band_ms();
        if (locked_ && since_arrival_s_ <= 0.040 + static_cast<double>(frames) / rate &&
            smoothed_ms_ < target_eff_ms_ - lock_ms / 2 &&
            level_ms_ < target_eff_ms_ - 0.85 * lock_ms)
            unlock();
        else
            underrun_dip_ms_ = std::max(dip_ms_, pending_dip_ms_) + 1.0;
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
