#include "capture/win/staging_ring.hpp"

#include <limits>
#include <utility>

namespace porthole::agent::win {

using protocol::DamageList;
using protocol::Rect;
using namespace std::chrono_literals;

StagingRing::StagingRing(std::size_t slots) : slots_(slots < 2 ? 2 : slots) {}

std::optional<std::size_t> StagingRing::free_slot() const {
    // The slot written longest ago: the ring's order.
    std::optional<std::size_t> best;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        if (slots_[i].state != State::free) continue;
        if (!best || slots_[i].written < slots_[*best].written) best = i;
    }
    return best;
}

void StagingRing::drop_in_flight() {
    for (const std::size_t s : fifo_)
        slots_[s].state = State::free;
    fifo_.clear();
    need_full_out_ = true;  // the next frame handed out follows one never handed out
}

void StagingRing::reset(DuplicationPort& port) {
    if (handed_out_) {
        port.unmap(*handed_out_);
        slots_[*handed_out_].state = State::free;
        handed_out_.reset();
    }
    if (held_) {
        port.release_frame();
        held_ = false;
    }
    drop_in_flight();
    for (Slot& s : slots_) {
        s.stale.clear();
        s.stale_full = true;
    }
    layout_.reset();
    pending_ = CaptureStatus::ok;
    pending_why_.clear();
}

void StagingRing::push(DuplicationPort& port, DuplicationPort::Acquired& a) {
    const std::size_t s = *free_slot();
    Slot& slot = slots_[s];
    const Rect whole{0, 0, a.layout.width, a.layout.height};
    DamageList copy;
    if (slot.stale_full || !a.damage_known) {
        copy.add(whole);
    } else {
        // What this slot missed while others were written, and this frame's change.
        copy = slot.stale;
        copy.add(a.damage.rects());
    }
    if (!copy.empty()) port.copy(s, copy.rects());
    // The copy is queued on the GPU: DWM may have the desktop frame back.
    port.release_frame();
    slot.stale.clear();
    slot.stale_full = false;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        if (i == s || slots_[i].stale_full) continue;
        if (a.damage_known)
            slots_[i].stale.add(a.damage.rects());
        else
            slots_[i].stale_full = true;
    }
    if (need_full_out_ || !a.damage_known) {
        slot.damage.set_full(a.layout.width, a.layout.height);
        need_full_out_ = false;
    } else {
        slot.damage = a.damage;
    }
    slot.capture_time_ns = a.capture_time_ns;
    slot.written = ++writes_;
    slot.state = State::in_flight;
    fifo_.push_back(s);
}

bool StagingRing::take(DuplicationPort& port, std::chrono::milliseconds timeout) {
    auto a = port.acquire(timeout);
    switch (a.kind) {
        case DuplicationPort::Acquired::Kind::timeout:
            return false;
        case DuplicationPort::Acquired::Kind::lost:
        case DuplicationPort::Acquired::Kind::failed:
            // Frames already copied are still handed out first.
            pending_ = CaptureStatus::reinit;
            pending_why_ = std::move(a.why);
            return false;
        case DuplicationPort::Acquired::Kind::pointer_only:
            port.release_frame();
            return false;
        case DuplicationPort::Acquired::Kind::image:
            break;
    }
    if (layout_ && *layout_ == a.layout) {
        push(port, a);
        return true;
    }
    if (handed_out_ || !fifo_.empty()) {
        // New textures would pull the old ones from under frames not yet
        // handed out: hold this desktop frame until they are.
        held_ = true;
        held_frame_ = std::move(a);
        return false;
    }
    return install_layout(port, a);
}

bool StagingRing::install_layout(DuplicationPort& port, DuplicationPort::Acquired& a) {
    layout_.reset();
    if (auto ok = port.make_staging(a.layout, slots_.size()); !ok) {
        port.release_frame();
        pending_ = CaptureStatus::unfit;
        pending_why_ = ok.error().message;
        return false;
    }
    layout_ = a.layout;
    for (Slot& s : slots_) {
        s.stale.clear();
        s.stale_full = true;
        s.written = 0;
    }
    writes_ = 0;
    need_full_out_ = true;
    push(port, a);
    return true;
}

RingFrame StagingRing::hand_out(std::size_t slot, const MappedSlot& map) {
    fifo_.pop_front();
    Slot& s = slots_[slot];
    s.state = State::handed_out;
    handed_out_ = slot;
    RingFrame f;
    f.status = CaptureStatus::ok;
    f.slot = slot;
    f.map = map;
    f.layout = *layout_;
    f.damage = s.damage;
    f.capture_time_ns = s.capture_time_ns;
    return f;
}

RingFrame StagingRing::map_failed() {
    drop_in_flight();
    RingFrame f;
    f.status = CaptureStatus::reinit;
    f.why = "cannot map a staging texture";
    return f;
}

RingFrame StagingRing::next(DuplicationPort& port, std::chrono::milliseconds timeout) {
    if (handed_out_) {
        port.unmap(*handed_out_);
        slots_[*handed_out_].state = State::free;
        handed_out_.reset();
    }
    for (;;) {
        if (held_ && fifo_.empty()) {
            held_ = false;
            install_layout(port, held_frame_);
            continue;
        }
        if (!fifo_.empty()) {
            MappedSlot m;
            const MapResult r = port.map(fifo_.front(), false, m);
            if (r == MapResult::failed) return map_failed();
            if (r == MapResult::ok) {
                RingFrame f = hand_out(fifo_.front(), m);
                // Take the next desktop frame now, so that its copy runs on
                // the GPU while the caller publishes this one.
                if (!held_ && pending_ == CaptureStatus::ok && free_slot()) take(port, 0ms);
                return f;
            }
            // Still drawing: take newer frames meanwhile rather than wait.
        } else if (pending_ != CaptureStatus::ok && !held_) {
            RingFrame f;
            f.status = std::exchange(pending_, CaptureStatus::ok);
            f.why = std::exchange(pending_why_, {});
            return f;
        }
        if (!held_ && pending_ == CaptureStatus::ok && free_slot()) {
            if (take(port, fifo_.empty() ? timeout : 0ms)) continue;
        }
        if (fifo_.empty()) {
            if (held_ || pending_ != CaptureStatus::ok) continue;
            return RingFrame{};  // timeout
        }
        // Nothing newer to take: wait for the oldest copy.
        MappedSlot m;
        if (port.map(fifo_.front(), true, m) != MapResult::ok) return map_failed();
        return hand_out(fifo_.front(), m);
    }
}

}  // namespace porthole::agent::win
