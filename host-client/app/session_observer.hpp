#pragma once
// What watches a session loop from outside it: the loop calls its observers
// at each shown frame and each round, and they may end the run. The checks
// the tests and scripts rely on (--verify-pattern, --exit-after-frames,
// --timeout) are observers main attaches; the loop itself has no branch for
// them.
//
// Threads: called on the loop's thread, between its rounds.

#include <cstdint>
#include <optional>

#include "app/stats.hpp"
#include "render/render_types.hpp"

namespace porthole::client {

// A newly accepted guest frame, as presented.
struct ShownFrame {
    std::uint64_t serial = 0;
    std::uint64_t present_ns = 0;
    const ReadbackImage* readback = nullptr;  // when an observer asked for it
};

class SessionObserver {
  public:
    virtual ~SessionObserver() = default;
    // The images of new frames are read back for on_frame_shown (a wait for the draw).
    [[nodiscard]] virtual bool wants_readback() const { return false; }
    // The observer counts verified, mismatched, repeated and missing frames
    // (--stats then reports them).
    [[nodiscard]] virtual bool verifies() const { return false; }
    // A new guest frame was presented; the observer may count into `totals`.
    virtual void on_frame_shown(const ShownFrame& /*frame*/, StatsTotals& /*totals*/) {}
    // The agent started a new session (counters restart).
    virtual void on_new_session() {}
    // Once a loop round: an exit code ends the run with it.
    virtual std::optional<int> on_tick(std::uint64_t /*now_ns*/, const StatsTotals& /*totals*/) {
        return std::nullopt;
    }
    // The run ended with `code`: the code to exit with.
    virtual int on_exit(int code, const StatsTotals& /*totals*/) { return code; }
};

// --verify-pattern: every shown frame must be the test pattern whose counter
// it carries, whole and at 1:1; a mismatch makes the exit code 4.
class PatternVerifier final : public SessionObserver {
  public:
    [[nodiscard]] bool wants_readback() const override { return true; }
    [[nodiscard]] bool verifies() const override { return true; }
    void on_frame_shown(const ShownFrame& frame, StatsTotals& totals) override;
    void on_new_session() override { last_counter_ = UINT64_MAX; }
    int on_exit(int code, const StatsTotals& totals) override;

  private:
    std::uint64_t last_counter_ = UINT64_MAX;
};

// --exit-after-frames and --timeout: ends the run with 0 once `frames` guest
// frames were shown (0: never), or with 3 once `timeout_s` seconds passed
// since `start_ns` (0: never).
class RunLimits final : public SessionObserver {
  public:
    RunLimits(std::uint64_t frames, double timeout_s, std::uint64_t start_ns)
        : frames_(frames), timeout_s_(timeout_s), start_ns_(start_ns) {}
    std::optional<int> on_tick(std::uint64_t now_ns, const StatsTotals& totals) override;

  private:
    std::uint64_t frames_;
    double timeout_s_;
    std::uint64_t start_ns_;
};

}  // namespace porthole::client
