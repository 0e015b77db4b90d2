#pragma once
// For AudioPlayback runs against the private daemon (tests and
// bench/audio --realtime): a tone arriving in real time, and taking away
// this process's real-time rights.

#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <numbers>

#include "audio/pcm_source.hpp"

namespace porthole::test {

// A 440 Hz stereo tone at 48 kHz arriving in real time (as a guest writing steadily).
class ClockedTone : public client::audio::PcmSource {
  public:
    Result<std::optional<client::audio::PcmFormat>> format() override {
        return std::optional(client::audio::PcmFormat{});
    }
    std::uint64_t available() override {
        const double s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
        const auto arrived = static_cast<std::uint64_t>(s * 48000.0);
        return arrived > read_ ? arrived - read_ : 0;
    }
    Result<client::audio::PcmRead> read(std::span<float> out) override {
        const std::size_t frames = std::min<std::uint64_t>(out.size() / 2, available());
        for (std::size_t i = 0; i < frames; ++i) {
            const auto v =
                static_cast<float>(0.2 * std::sin(2 * std::numbers::pi * 440.0 *
                                                  static_cast<double>(read_ + i) / 48000.0));
            out[2 * i] = out[2 * i + 1] = v;
        }
        read_ += frames;
        return client::audio::PcmRead{frames, 0, false};
    }
    void skip_to_latest(std::uint64_t keep) override {
        const auto a = available();
        if (a > keep) read_ += a - keep;
    }

  private:
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
    std::uint64_t read_ = 0;
};

inline bool has_cap_sys_nice() {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    std::array<__user_cap_data_struct, 2> data{};
    if (syscall(SYS_capget, &header, data.data()) != 0) return false;
    return (data[CAP_SYS_NICE / 32].effective & (1U << (CAP_SYS_NICE % 32))) != 0;
}

// RLIMIT_RTPRIO 0 and no CAP_SYS_NICE for the threads this thread starts
// from now on, as for a desktop user without an rtprio limit or RTKit.
// Irreversible for the process. False if a step failed.
inline bool drop_realtime_rights() {
    const rlimit zero{0, 0};
    if (setrlimit(RLIMIT_RTPRIO, &zero) != 0) return false;
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    std::array<__user_cap_data_struct, 2> data{};
    if (syscall(SYS_capget, &header, data.data()) != 0) return false;
    const auto bit = 1U << (CAP_SYS_NICE % 32);
    auto& d = data[CAP_SYS_NICE / 32];
    d.effective &= ~bit;
    d.permitted &= ~bit;
    d.inheritable &= ~bit;
    if (syscall(SYS_capset, &header, data.data()) != 0) return false;
    return !has_cap_sys_nice();
}

}  // namespace porthole::test
