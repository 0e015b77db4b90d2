#pragma once
// A private PipeWire for tests: its own XDG_RUNTIME_DIR (mode 700), a
// config with a dummy driver and a null sink ("porthole-test-sink"), and
// WirePlumber without D-Bus to link streams. Started with setsid, ended by
// PID (also when a test fails). The calling process's environment is pointed
// at it, so PipeWire clients in this process connect to it.

#include <sys/types.h>

#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "porthole/util/result.hpp"

namespace porthole::test {

// A child process in its own session; killed (TERM, then KILL) when destroyed.
class Child {
  public:
    Child() = default;
    // Starts argv[0] (searched in PATH) with stdout/stderr to log_path.
    static Result<Child> spawn(const std::vector<std::string>& argv, const std::string& log_path);
    Child(Child&& o) noexcept;
    Child& operator=(Child&& o) noexcept;
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    ~Child() { stop(); }
    // Sends sig and waits up to `wait` for the exit; then SIGKILL. Returns the wait status.
    int stop(int sig = 15, std::chrono::milliseconds wait = std::chrono::milliseconds(3000));
    [[nodiscard]] bool running();
    [[nodiscard]] pid_t pid() const { return pid_; }

  private:
    pid_t pid_ = -1;
};

class PipeWireDaemon {
  public:
    static constexpr const char* kSink = "porthole-test-sink";
    // A 7.1 null sink (FL FR FC LFE RL RR SL SR), created only on request.
    static constexpr const char* kSurroundSink = "porthole-test-surround";
    static constexpr const char* kSurroundPositions = "FL,FR,FC,LFE,RL,RR,SL,SR";
    // quantum: the graph's default quantum (frames); surround: also create
    // kSurroundSink (the stereo sink stays the default).
    static Result<PipeWireDaemon> start(std::uint32_t quantum = 256, bool surround = false);
    PipeWireDaemon(PipeWireDaemon&&) = default;
    PipeWireDaemon& operator=(PipeWireDaemon&&) = default;
    ~PipeWireDaemon();
    [[nodiscard]] const std::string& dir() const { return dir_; }

  private:
    PipeWireDaemon() = default;
    std::string dir_;
    Child pipewire_;
    Child wireplumber_;
};

// A null sink off real time by more than `limit` (0.8%; less where the
// guest drifts on purpose), its timer starved on a loaded shared machine,
// drains slower or faster than any guest: no +-1% controller
// can hold a latency target then, by design. Such a run measured the
// machine, not the playout; drift itself is pinned in simulated time
// (PlayoutEngine.DriftingGuestClock*).
#define SKIP_IF_THE_SINK_LOST_REAL_TIME(rate, limit)  \
    if (std::abs((rate) / 48000.0 - 1.0) > (limit))   \
    GTEST_SKIP() << "the null sink ran at " << (rate) \
                 << " frames/s (48000 is real time): this machine did not keep real time"

// Reads files into the page cache, so that a process's first touch of
// their code is a minor fault, not a disk read. A machine that pages out
// file pages no process maps (DAMON's reclaim on these CI machines drops
// them after a minute) otherwise makes a program not run lately, or a
// PipeWire plugin, fault its code in from disk while it plays: a
// real-time thread waiting on a disk read misses its cycle, and the
// underrun that follows raises the playout's floor for minutes.
// warm_program: the executable (searched in PATH) and the libraries ldd
// lists for it. warm_pipewire: the PipeWire and SPA plugin directories
// and every file this process maps. Best effort: what cannot be read is
// passed over (the run is then only slower).
void warm_page_cache(const std::string& path);
void warm_program(const std::string& program);
void warm_pipewire();

// Reads a float32 WAV (as pw-record writes it): interleaved samples.
Result<std::vector<float>> read_wav_f32(const std::string& path, std::uint16_t& channels);

}  // namespace porthole::test
