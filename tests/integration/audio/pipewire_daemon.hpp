#pragma once
// A private PipeWire for tests: its own XDG_RUNTIME_DIR (mode 700), a
// config with a dummy driver and a null sink ("porthole-test-sink"), and
// WirePlumber without D-Bus to link streams. Started with setsid, ended by
// PID (also when a test fails). The calling process's environment is pointed
// at it, so PipeWire clients in this process connect to it.

#include <sys/types.h>

#include <chrono>
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
    // quantum: the graph's default quantum (frames).
    static Result<PipeWireDaemon> start(std::uint32_t quantum = 256);
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

// Reads a float32 WAV (as pw-record writes it): interleaved samples.
Result<std::vector<float>> read_wav_f32(const std::string& path, std::uint16_t& channels);

}  // namespace porthole::test
