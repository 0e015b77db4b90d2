#pragma once
// The DXGI capture loop's decisions, apart from the COM calls: a ring of
// staging textures so that the GPU copies the next desktop frame while the
// CPU publishes the previous one. Each desktop frame is copied into a free
// slot and the desktop frame released at once; the oldest copied slot is
// mapped with DO_NOT_WAIT (a copy still running is not waited for while a
// newer desktop frame can be taken), and frames are handed out strictly in
// the order they were captured, none skipped. Every slot holds the whole
// desktop: a slot is brought up to date with the damage of every frame it
// missed. The COM side (DuplicationPort) is thin, so that the loop is tested
// with a fake duplication and device context (tests/unit/win).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "capture/source.hpp"
#include "porthole/protocol/format.hpp"

namespace porthole::agent::win {

// What mapping a staging slot gave: DXGI_ERROR_WAS_STILL_DRAWING is still_drawing.
enum class MapResult { ok, still_drawing, failed };

struct MappedSlot {
    const std::byte* data = nullptr;
    std::uint32_t row_pitch = 0;
};

// What the staging textures are made for; a change re-creates them.
struct StagingLayout {
    std::uint32_t width = 0, height = 0;
    std::uint32_t format = 0;  // the desktop's DXGI_FORMAT
    friend bool operator==(const StagingLayout&, const StagingLayout&) = default;
};

// The duplication and the device context, as the ring uses them.
class DuplicationPort {
  public:
    virtual ~DuplicationPort() = default;

    struct Acquired {
        enum class Kind {
            image,         // a new desktop image; the frame is held until release_frame()
            pointer_only,  // only the pointer changed (LastPresentTime 0); held
            timeout,       // DXGI_ERROR_WAIT_TIMEOUT
            lost,          // DXGI_ERROR_ACCESS_LOST and the like: re-create the duplication
            failed,        // another error: re-create too
        };
        Kind kind = Kind::timeout;
        StagingLayout layout;               // image
        protocol::DamageList damage;        // image: changed since the previous desktop frame
        bool damage_known = true;           // false: the metadata could not be read (whole frame)
        std::uint64_t capture_time_ns = 0;  // image
        std::string why;                    // lost, failed
    };
    // AcquireNextFrame (and the pointer's update).
    virtual Acquired acquire(std::chrono::milliseconds timeout) = 0;
    // Releases the desktop frame acquire() holds, if any.
    virtual void release_frame() = 0;
    // (Re-)creates `slots` staging textures for `layout`; an error means the
    // desktop cannot be carried by the region (CaptureStatus::unfit).
    virtual Status make_staging(const StagingLayout& layout, std::size_t slots) = 0;
    // Copies rects of the held desktop frame into slot's texture.
    virtual void copy(std::size_t slot, std::span<const protocol::Rect> rects) = 0;
    // Maps slot's texture for reading; wait=false: D3D11_MAP_FLAG_DO_NOT_WAIT.
    virtual MapResult map(std::size_t slot, bool wait, MappedSlot& out) = 0;
    virtual void unmap(std::size_t slot) = 0;
};

struct RingFrame {
    CaptureStatus status = CaptureStatus::timeout;
    // ok: the mapped slot, valid until the next call of next() or reset().
    std::size_t slot = 0;
    MappedSlot map;
    StagingLayout layout;
    protocol::DamageList damage;  // changed since the previous frame handed out
    std::uint64_t capture_time_ns = 0;
    std::string why;  // reinit, unfit
};

class StagingRing {
  public:
    // Two: one texture being published while the next frame's copy runs is
    // all the overlap there is. bench/staging (a serial GPU copy modelled):
    // 2 and 3 slots publish the same frames per second (1.1-2x one blocking
    // texture), but when the copy is slower than the refresh (the GPU busy
    // with the game) a third slot only queues one more frame: present-to-
    // publish p50 24 ms against 18 ms at 144 Hz with a 9 ms copy.
    static constexpr std::size_t kDefaultSlots = 2;
    explicit StagingRing(std::size_t slots = kDefaultSlots);

    // The next desktop frame, waiting up to `timeout` for one when nothing is in flight.
    RingFrame next(DuplicationPort& port, std::chrono::milliseconds timeout);
    // Unmaps the frame handed out, forgets frames in flight and the staging
    // textures (a new duplication or device follows).
    void reset(DuplicationPort& port);

    [[nodiscard]] std::size_t slots() const { return slots_.size(); }
    [[nodiscard]] std::size_t in_flight() const { return fifo_.size(); }

  private:
    enum class State { free, in_flight, handed_out };
    struct Slot {
        State state = State::free;
        protocol::DamageList stale;  // where its texture is behind the desktop
        bool stale_full = true;
        protocol::DamageList damage;  // the frame it carries: changed since the frame before
        std::uint64_t capture_time_ns = 0;
        std::uint64_t written = 0;  // order of the last copy into it (0: never)
    };
    // Takes a desktop frame into a free slot; false if none was copied (a
    // timeout, a pointer-only update, a frame held back, or pending_ set).
    bool take(DuplicationPort& port, std::chrono::milliseconds timeout);
    // New staging textures for a's layout, then a into the first slot.
    bool install_layout(DuplicationPort& port, DuplicationPort::Acquired& a);
    void push(DuplicationPort& port, DuplicationPort::Acquired& a);
    RingFrame hand_out(std::size_t slot, const MappedSlot& map);
    RingFrame map_failed();
    [[nodiscard]] std::optional<std::size_t> free_slot() const;
    void drop_in_flight();

    std::vector<Slot> slots_;
    std::deque<std::size_t> fifo_;  // slots in flight, oldest first
    std::optional<std::size_t> handed_out_;
    std::optional<StagingLayout> layout_;  // of the staging textures
    std::uint64_t writes_ = 0;
    bool need_full_out_ = true;  // the next frame handed out reports the whole image
    // A desktop frame held back: its layout needs new textures while a slot was mapped.
    bool held_ = false;
    DuplicationPort::Acquired held_frame_;
    // Reported once the frames in flight are handed out.
    CaptureStatus pending_ = CaptureStatus::ok;
    std::string pending_why_;
};

}  // namespace porthole::agent::win
