// vm-input-send: the host side of the VM input tests. Sends a fixed script of
// key, relative, button, wheel and absolute events either through the region
// (attaching as the host, writing the agent's input ring) or through QEMU's
// QMP socket (input-send-event), and prints each non-SYN event it sent as
//   SENT <type> <code> <value>
// so that the test can compare with what the guest's probe read.
// `pad` sends a gamepad script in pad slot 1 through the region instead: a
// first event that changes nothing makes the agent create its uinput pad,
// and a pause lets the probe open it before the script starts. The probe
// plays a rumble effect on the pad (gain, upload, play, stop, erase): the
// sender then reads the agent's pad feedback ring and fails unless those
// records came, in order, with the probe's values.
// usage: vm-input-send region REGION_FILE | pad REGION_FILE | qmp QMP_SOCKET
#include <fmt/format.h>
#include <linux/input-event-codes.h>
#include <spdlog/spdlog.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "porthole/ivshmem/mapping.hpp"
#include "porthole/protocol/input_ring.hpp"
#include "porthole/protocol/session.hpp"
#include "porthole/util/adaptive_wait.hpp"
#include "qmp/sink.hpp"

namespace {

using porthole::monotonic_ns;
using porthole::protocol::InputEvent;
using Batch = std::vector<InputEvent>;
using namespace std::chrono_literals;

InputEvent ev(std::uint16_t type, std::uint16_t code, std::int32_t value) {
    return InputEvent{monotonic_ns(), type, code, value, 0};
}

Batch batch(std::initializer_list<InputEvent> events) {
    Batch b(events);
    b.push_back(ev(EV_SYN, SYN_REPORT, 0));
    return b;
}

// Each batch ends in SYN_REPORT; presses are released quickly (well under the
// kernel's 250 ms autorepeat delay).
struct Step {
    Batch events;
    std::chrono::milliseconds pause_after;
};

std::vector<Step> script() {
    return {
        {batch({ev(EV_KEY, KEY_A, 1)}), 40ms},
        {batch({ev(EV_KEY, KEY_A, 0)}), 200ms},
        {batch({ev(EV_KEY, KEY_LEFTSHIFT, 1)}), 40ms},
        {batch({ev(EV_KEY, KEY_B, 1)}), 40ms},
        {batch({ev(EV_KEY, KEY_B, 0)}), 40ms},
        {batch({ev(EV_KEY, KEY_LEFTSHIFT, 0)}), 200ms},
        {batch({ev(EV_REL, REL_X, 5), ev(EV_REL, REL_Y, -3)}), 200ms},
        {batch({ev(EV_KEY, BTN_LEFT, 1)}), 40ms},
        {batch({ev(EV_KEY, BTN_LEFT, 0)}), 200ms},
        {batch({ev(EV_REL, REL_WHEEL, 1)}), 200ms},
        {batch({ev(EV_ABS, ABS_X, 16384), ev(EV_ABS, ABS_Y, 8192)}), 200ms},
        {batch({ev(EV_KEY, BTN_RIGHT, 1)}), 40ms},
        {batch({ev(EV_KEY, BTN_RIGHT, 0)}), 200ms},
    };
}

InputEvent on_pad(std::uint16_t type, std::uint16_t code, std::int32_t value) {
    auto e = ev(type, code, value);
    e.device = 1;
    return e;
}

Batch pad_batch(std::initializer_list<InputEvent> events) {
    Batch b(events);
    b.push_back(on_pad(EV_SYN, SYN_REPORT, 0));
    return b;
}

// Axis steps are far apart: the pad's sticks have xpad's fuzz (16).
std::vector<Step> pad_script() {
    return {
        {pad_batch({on_pad(EV_KEY, BTN_SOUTH, 1)}), 40ms},
        {pad_batch({on_pad(EV_KEY, BTN_SOUTH, 0)}), 100ms},
        {pad_batch({on_pad(EV_ABS, ABS_X, -32768), on_pad(EV_ABS, ABS_Y, 32767)}), 100ms},
        {pad_batch({on_pad(EV_ABS, ABS_RZ, 1023)}), 100ms},
        {pad_batch({on_pad(EV_ABS, ABS_HAT0X, -1)}), 40ms},
        {pad_batch({on_pad(EV_ABS, ABS_HAT0X, 0)}), 100ms},
        {pad_batch({on_pad(EV_KEY, BTN_DPAD_UP, 1)}), 40ms},
        {pad_batch({on_pad(EV_KEY, BTN_DPAD_UP, 0)}), 100ms},
        {pad_batch({on_pad(EV_KEY, BTN_START, 1), on_pad(EV_ABS, ABS_RX, 20000)}), 40ms},
        {pad_batch({on_pad(EV_KEY, BTN_START, 0)}), 200ms},
    };
}

void report_sent(const Batch& b) {
    for (const auto& e : b)
        if (e.type != EV_SYN) fmt::print("SENT {} {} {}\n", e.type, e.code, e.value);
    std::fflush(stdout);
}

// The records the probe's rumble must have made, in order (a stop may repeat:
// the kernel stops an effect it erases).
int check_rumble(porthole::protocol::HostSession& session,
                 porthole::protocol::HostChannels& channels) {
    using porthole::protocol::PadFeedbackOp;
    using porthole::protocol::PadFeedbackRecord;
    if (!channels.pad_feedback) {
        spdlog::error("the agent offers no pad feedback ring");
        return 1;
    }
    const auto is = [](const PadFeedbackRecord& r, PadFeedbackOp op) {
        return r.op == static_cast<std::uint8_t>(op) && r.device == 1;
    };
    std::vector<std::function<bool(const PadFeedbackRecord&)>> want = {
        [&](const PadFeedbackRecord& r) { return is(r, PadFeedbackOp::gain) && r.value == 0xc000; },
        [&](const PadFeedbackRecord& r) {
            return is(r, PadFeedbackOp::upload) && r.strong == 0xc000 && r.weak == 0x4000 &&
                   r.length_ms == 300 && r.delay_ms == 5;
        },
        [&](const PadFeedbackRecord& r) { return is(r, PadFeedbackOp::play) && r.value == 1; },
        [&](const PadFeedbackRecord& r) { return is(r, PadFeedbackOp::stop); },
        [&](const PadFeedbackRecord& r) { return is(r, PadFeedbackOp::erase); },
    };
    std::size_t matched = 0;
    std::optional<std::uint16_t> effect;
    const auto deadline = monotonic_ns() + 20'000'000'000ULL;
    while (matched < want.size() && monotonic_ns() < deadline) {
        std::array<PadFeedbackRecord, 16> recs{};
        const std::size_t n = channels.pad_feedback->pop(recs);
        for (std::size_t i = 0; i < n; ++i) {
            const auto& r = recs[i];
            fmt::print(stderr,
                       "FEEDBACK op {} pad {} effect {} strong {:#x} weak {:#x} {} ms after {} ms "
                       "value {:#x}\n",
                       r.op, r.device, r.effect, r.strong, r.weak, r.length_ms, r.delay_ms,
                       r.value);
            const bool gain = is(r, PadFeedbackOp::gain);
            if (!gain && effect && r.effect != *effect) {
                spdlog::error("a record for effect {}, the probe's is {}", r.effect, *effect);
                return 1;
            }
            if (matched < want.size() && want[matched](r)) {
                if (is(r, PadFeedbackOp::upload)) effect = r.effect;
                ++matched;
            }
        }
        session.poll(monotonic_ns());
        std::this_thread::sleep_for(10ms);
    }
    if (channels.pad_feedback->lost() != 0 || channels.pad_feedback->rejected() != 0) {
        spdlog::error("pad feedback: {} records lost, {} invalid", channels.pad_feedback->lost(),
                      channels.pad_feedback->rejected());
        return 1;
    }
    if (matched < want.size()) {
        spdlog::error(
            "pad feedback: only {} of the {} records of the probe's rumble came "
            "(gain, upload, play, stop, erase)",
            matched, want.size());
        return 1;
    }
    fmt::print(stderr, "FEEDBACK-OK effect {}\n", *effect);
    return 0;
}

int send_region(const std::string& path, bool pad) {
    auto map = porthole::ivshmem::open_host_region(path);
    if (!map) {
        spdlog::error("{}", map.error().message);
        return 1;
    }
    porthole::protocol::HostSession session(map->bytes(), 0, "vm-input-send");
    std::optional<porthole::protocol::HostChannels> channels;
    const auto deadline = monotonic_ns() + 60'000'000'000ULL;
    while (!channels) {
        auto p = session.poll(monotonic_ns());
        if (p.state == porthole::protocol::LinkState::connected && p.new_session) {
            auto c = session.attach_channels();
            if (!c) {
                spdlog::error("cannot attach the agent's channels: {}", c.error().message);
                return 1;
            }
            channels.emplace(std::move(*c));
        }
        if (monotonic_ns() > deadline) {
            spdlog::error("no agent session in {} after 60 s", path);
            return 1;
        }
        std::this_thread::sleep_for(20ms);
    }
    if (!channels->input) {
        spdlog::error("the agent offers no input channel");
        return 1;
    }
    // Pushes one step, reports it when asked, and keeps the host's side of
    // the link alive while pausing.
    const auto run = [&](const Step& step, bool report) {
        if (!channels->input->push(step.events)) {
            spdlog::error("the input ring is full (the agent does not take events)");
            return false;
        }
        if (report) report_sent(step.events);
        const auto until = monotonic_ns() + static_cast<std::uint64_t>(
                                                std::chrono::nanoseconds(step.pause_after).count());
        while (monotonic_ns() < until) {
            session.poll(monotonic_ns());
            std::this_thread::sleep_for(10ms);
        }
        return true;
    };
    // ABS_X 0 is the new pad's own value: the kernel passes on nothing.
    if (pad && !run(Step{pad_batch({on_pad(EV_ABS, ABS_X, 0)}), 1500ms}, false)) return 1;
    for (const auto& step : pad ? pad_script() : script())
        if (!run(step, true)) return 1;
    return pad ? check_rumble(session, *channels) : 0;
}

int send_qmp(const std::string& socket) {
    porthole::client::qmp::QmpInputSink sink(porthole::client::qmp::QmpConfig{socket});
    if (!sink.client().wait_connected(30s)) {
        spdlog::error("no QMP connection to {} within 30 s: {}", socket,
                      sink.client().stats().last_error);
        return 1;
    }
    for (const auto& step : script()) {
        sink.deliver(step.events);
        report_sent(step.events);
        std::this_thread::sleep_for(step.pause_after);
    }
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
        const auto s = sink.client().stats();
        if (s.accepted + s.rejected >= s.batches_sent) break;
        std::this_thread::sleep_for(20ms);
    }
    const auto s = sink.client().stats();
    if (s.rejected != 0 || s.dropped != 0 || s.accepted != script().size()) {
        spdlog::error("QMP: {} batches accepted, {} rejected, {} dropped of {} (last error: {})",
                      s.accepted, s.rejected, s.dropped, script().size(), s.last_error);
        return 1;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(
            stderr, "usage: vm-input-send region REGION_FILE | pad REGION_FILE | qmp QMP_SOCKET\n");
        return 2;
    }
    const std::string mode = argv[1];
    if (mode == "region") return send_region(argv[2], false);
    if (mode == "pad") return send_region(argv[2], true);
    if (mode == "qmp") return send_qmp(argv[2]);
    std::fprintf(stderr, "vm-input-send: unknown mode %s\n", argv[1]);
    return 2;
}
