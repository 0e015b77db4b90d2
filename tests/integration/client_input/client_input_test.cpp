// The porthole program's input end to end, evdev mode: a keyboard faked with
// umockdev, porthole --headless --input evdev reading it in a child process,
// and this test acting as the guest: it lays out the region (AgentSession)
// and reads the input ring the client writes. The test program re-runs
// itself under umockdev-wrapper so that it and porthole see the fake device.
#include <gtest/gtest.h>
#include <linux/input.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fake_evdev.hpp"
#include "porthole/ivshmem/mapping.hpp"
#include "porthole/protocol/input_ring.hpp"
#include "porthole/protocol/session.hpp"
#include "porthole/qmp/session.hpp"
#include "porthole/qmp/usb.hpp"
#include "porthole/util/adaptive_wait.hpp"
#include "process.hpp"
#include "render/png_file.hpp"
#include "support/qemu_process.hpp"

#ifndef PORTHOLE_CLIENT_BIN
#error "PORTHOLE_CLIENT_BIN must name the porthole program"
#endif

namespace porthole::test {
namespace {

using namespace std::chrono_literals;

// The guest side of a region file: a session with an input ring, kept alive
// (heartbeat) while the test reads what the client writes.
class TestGuest {
  public:
    explicit TestGuest(const std::string& path) {
        auto map = ivshmem::create_region_file(path, std::size_t{16} << 20);
        EXPECT_TRUE(map) << map.error().message;
        if (!map) return;
        map_.emplace(std::move(*map));
        auto s = protocol::AgentSession::create(map_->bytes(), protocol::LayoutParams{},
                                                protocol::cap::frames | protocol::cap::input_inject,
                                                "client-input-test", monotonic_ns());
        EXPECT_TRUE(s) << s.error().message;
        if (s) session_.emplace(std::move(*s));
    }
    // Heartbeat and read for `d`; returns the events that arrived.
    std::vector<protocol::InputEvent> pump(std::chrono::milliseconds d) {
        std::vector<protocol::InputEvent> got;
        const auto end = std::chrono::steady_clock::now() + d;
        while (std::chrono::steady_clock::now() < end) {
            session_->tick(monotonic_ns());
            protocol::InputEvent buf[64];
            const std::size_t n = session_->channels().input.pop(buf);
            got.insert(got.end(), buf, buf + n);
            std::this_thread::sleep_for(5ms);
        }
        return got;
    }
    // Waits (heartbeating) until the client attached to the session.
    bool wait_client(std::chrono::milliseconds limit) {
        const auto end = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < end) {
            pump(20ms);
            if (session_->client_session() != 0) return true;
        }
        return false;
    }
    [[nodiscard]] bool ok() const { return session_.has_value(); }
    [[nodiscard]] std::uint64_t rejected() { return session_->channels().input.rejected(); }

  private:
    std::optional<ivshmem::Mapping> map_;
    std::optional<protocol::AgentSession> session_;
};

bool wait_for_text(const std::string& path, const std::string& text,
                   std::chrono::milliseconds limit, TestGuest& guest) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (read_text(path).find(text) != std::string::npos) return true;
        guest.pump(20ms);
    }
    return false;
}

struct Key {
    std::uint16_t code;
    std::int32_t value;
    bool operator==(const Key&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Key& k) {
    return os << "{" << k.code << "," << k.value << "}";
}

std::vector<Key> keys_of(const std::vector<protocol::InputEvent>& events) {
    std::vector<Key> out;
    for (const auto& e : events)
        if (e.type == EV_KEY) out.push_back({e.code, e.value});
    return out;
}

// Heartbeats and reads until `keys` key events arrived or `limit` passed, then
// 300 ms more to catch stray extra events; returns all the events.
std::vector<protocol::InputEvent> pump_until_keys(TestGuest& guest, std::size_t keys,
                                                  std::chrono::milliseconds limit) {
    std::vector<protocol::InputEvent> got;
    const auto end = std::chrono::steady_clock::now() + limit;
    while (keys_of(got).size() < keys && std::chrono::steady_clock::now() < end) {
        const auto more = guest.pump(20ms);
        got.insert(got.end(), more.begin(), more.end());
    }
    const auto more = guest.pump(300ms);
    got.insert(got.end(), more.begin(), more.end());
    return got;
}

std::optional<nlohmann::json> last_stats(const std::string& path) {
    std::optional<nlohmann::json> last;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (!j.is_discarded()) last = j;
    }
    return last;
}

// Waits (heartbeating) until the last --stats line satisfies `ok`; that line, or the last one.
std::optional<nlohmann::json> wait_for_stats(const std::string& path,
                                             const std::function<bool(const nlohmann::json&)>& ok,
                                             std::chrono::milliseconds limit, TestGuest& guest) {
    const auto end = std::chrono::steady_clock::now() + limit;
    for (;;) {
        auto last = last_stats(path);
        if ((last && ok(*last)) || std::chrono::steady_clock::now() >= end) return last;
        guest.pump(50ms);
    }
}

class ClientInput : public ::testing::Test {
  protected:
    void press(std::uint16_t code) { key(code, 1); }
    void release(std::uint16_t code) { key(code, 0); }
    void key(std::uint16_t code, std::int32_t value) {
        bed_.emit(kbd_, EV_MSC, MSC_SCAN, code);
        bed_.emit(kbd_, EV_KEY, code, value);
        bed_.syn(kbd_);
        std::this_thread::sleep_for(10ms);
    }
    void type(std::uint16_t code) {
        press(code);
        release(code);
    }

    FakeEvdevBed bed_;
    FakeDeviceSpec kbd_{"Porthole Test Keyboard", 20, true, "usb-porthole-kbd-event-kbd"};
    TempDir dir_;
};

TEST_F(ClientInput, EvdevKeysReachTheGuestAfterTheHotkeyAndNoneStayHeldAfterSwitchingBack) {
    const std::string dev = bed_.add(kbd_);
    TestGuest guest(dir_.file("region"));
    ASSERT_TRUE(guest.ok());
    const std::string out = dir_.file("porthole.out"), err = dir_.file("porthole.err");
    Process client({PORTHOLE_CLIENT_BIN, "--shm", dir_.file("region"), "--headless", "--size",
                    "64x64", "--input", "evdev", "--input-to", "agent", "--stats"},
                   out, err);
    ASSERT_TRUE(guest.wait_client(30s)) << read_text(err);
    ASSERT_TRUE(wait_for_text(err, "input: evdev", 5s, guest)) << read_text(err);
    ASSERT_NE(read_text(err).find(dev), std::string::npos)
        << "porthole did not open " << dev << ":\n"
        << read_text(err);

    // Typed while the host owns input: nothing reaches the guest.
    type(KEY_Q);
    EXPECT_TRUE(keys_of(guest.pump(200ms)).empty());

    // ctrl-ctrl hands input to the guest once both are released.
    press(KEY_LEFTCTRL);
    press(KEY_RIGHTCTRL);
    release(KEY_RIGHTCTRL);
    release(KEY_LEFTCTRL);
    type(KEY_A);
    type(KEY_B);
    type(KEY_C);
    // Switch back while D is held: the guest must see D released, and the
    // keys after the switch must not arrive.
    press(KEY_D);
    press(KEY_LEFTCTRL);
    press(KEY_RIGHTCTRL);
    release(KEY_RIGHTCTRL);
    release(KEY_LEFTCTRL);
    release(KEY_D);
    type(KEY_Z);
    const std::vector<Key> want{{KEY_A, 1},        {KEY_A, 0}, {KEY_B, 1}, {KEY_B, 0},
                                {KEY_C, 1},        {KEY_C, 0}, {KEY_D, 1}, {KEY_LEFTCTRL, 1},
                                {KEY_LEFTCTRL, 0}, {KEY_D, 0}};
    const auto events = pump_until_keys(guest, want.size(), 15s);
    EXPECT_EQ(keys_of(events), want) << read_text(err);
    // Every batch ends with SYN_REPORT.
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back().type, EV_SYN);
    EXPECT_EQ(guest.rejected(), 0U);

    // The guest holds nothing now (no stuck keys).
    std::vector<bool> held(KEY_CNT, false);
    for (const auto& k : keys_of(events))
        held[k.code] = k.value != 0;
    for (std::size_t c = 0; c < held.size(); ++c)
        EXPECT_FALSE(held[c]) << "key " << c << " left held in the guest";

    guest.pump(1200ms);  // one more --stats line
    EXPECT_TRUE(client.terminate().has_value());
    // --stats reports the input: host owns it again, 10 key events plus syncs, none lost.
    const auto last = last_stats(out);
    ASSERT_TRUE(last) << read_text(out);
    const auto& input = (*last)["input"];
    EXPECT_EQ(input["mode"], "evdev");
    EXPECT_EQ(input["owner"], "host");
    EXPECT_GE(input["events"].get<std::uint64_t>(), want.size());
    EXPECT_EQ(input["overflow"].get<std::uint64_t>(), 0U);
}

// evdev's bindings (the hotkey held with another key) act through the client
// while the guest owns the grabbed devices, and not while the host owns them
// (the focused window sees those keys then and acts itself): ctrl-ctrl-Q quits
// only in the guest's hands, and Q never reaches the guest.
TEST_F(ClientInput, EvdevBindingsActOnlyWhileTheGuestOwnsTheDevices) {
    const std::string dev = bed_.add(kbd_);
    TestGuest guest(dir_.file("region"));
    ASSERT_TRUE(guest.ok());
    const std::string out = dir_.file("porthole.out"), err = dir_.file("porthole.err");
    Process client({PORTHOLE_CLIENT_BIN, "--shm", dir_.file("region"), "--headless", "--size",
                    "64x64", "--input", "evdev", "--input-to", "agent"},
                   out, err);
    ASSERT_TRUE(guest.wait_client(30s)) << read_text(err);
    ASSERT_TRUE(wait_for_text(err, "input: evdev", 5s, guest)) << read_text(err);
    const auto chord = [&](std::uint16_t code) {
        press(KEY_LEFTCTRL);
        press(KEY_RIGHTCTRL);
        type(code);
        release(KEY_RIGHTCTRL);
        release(KEY_LEFTCTRL);
    };

    chord(KEY_Q);  // the host owns: the window's business, not this one's
    auto events = guest.pump(1000ms);
    ASSERT_TRUE(client.running()) << read_text(err);
    EXPECT_EQ(read_text(err).find("quit key"), std::string::npos) << read_text(err);

    press(KEY_LEFTCTRL);  // ctrl-ctrl: the guest owns
    press(KEY_RIGHTCTRL);
    release(KEY_RIGHTCTRL);
    release(KEY_LEFTCTRL);
    ASSERT_TRUE(wait_for_text(err, "guest owns", 5s, guest)) << read_text(err);
    chord(KEY_Q);
    const auto end = std::chrono::steady_clock::now() + 10s;
    while (client.running() && std::chrono::steady_clock::now() < end) {
        const auto more = guest.pump(50ms);
        events.insert(events.end(), more.begin(), more.end());
    }
    ASSERT_FALSE(client.running()) << "ctrl-ctrl-Q did not quit: " << read_text(err)
                                   << ::testing::PrintToString(keys_of(events));
    EXPECT_EQ(client.wait_exit(5s), 0) << read_text(err);
    EXPECT_NE(read_text(err).find("quit key"), std::string::npos) << read_text(err);
    for (const auto& k : keys_of(events))
        EXPECT_NE(k.code, KEY_Q) << "a binding's key reached the guest";
}

// --gamepad through the real client: a umockdev pad (0..255 sticks and
// triggers) reaches the guest's ring in pad slot 1, its axes in the
// protocol's ranges, the guest rejecting nothing; unplugged, the guest is
// told the pad is gone.
TEST_F(ClientInput, GamepadReachesTheGuestInItsPadSlotAndItsUnplugIsAnnounced) {
    FakeDeviceSpec pad{"Porthole Test Pad", 40, false, "", true};
    const std::string dev = bed_.add(pad);
    TestGuest guest(dir_.file("region"));
    ASSERT_TRUE(guest.ok());
    const std::string out = dir_.file("porthole.out"), err = dir_.file("porthole.err");
    Process client({PORTHOLE_CLIENT_BIN, "--shm", dir_.file("region"), "--headless", "--size",
                    "64x64", "--input", "none", "--gamepad", dev},
                   out, err);
    ASSERT_TRUE(guest.wait_client(30s)) << read_text(err);
    ASSERT_TRUE(wait_for_text(err, "as pad 1", 5s, guest)) << read_text(err);
    bed_.emit(pad, EV_KEY, BTN_SOUTH, 1);
    bed_.emit(pad, EV_ABS, ABS_X, 255);
    bed_.emit(pad, EV_ABS, ABS_Z, 0);
    bed_.syn(pad);
    bed_.emit(pad, EV_KEY, BTN_SOUTH, 0);
    bed_.syn(pad);
    std::vector<protocol::InputEvent> got;
    for (int i = 0; i < 300 && got.size() < 6; ++i) {
        const auto more = guest.pump(20ms);
        got.insert(got.end(), more.begin(), more.end());
    }
    ASSERT_EQ(got.size(), 6U) << read_text(err);
    for (const auto& e : got)
        EXPECT_EQ(e.device, 1U);
    EXPECT_EQ(got[0].code, BTN_SOUTH);
    EXPECT_EQ(got[0].value, 1);
    EXPECT_EQ(got[1].code, ABS_X);
    EXPECT_EQ(got[1].value, 32767);
    EXPECT_EQ(got[2].code, ABS_Z);
    EXPECT_EQ(got[2].value, 0);
    EXPECT_EQ(got[3].type, EV_SYN);
    EXPECT_EQ(got[4].value, 0);
    EXPECT_EQ(guest.rejected(), 0U);

    bed_.remove(pad);
    bool gone = false;
    for (int i = 0; i < 150 && !gone; ++i)
        for (const auto& e : guest.pump(20ms))
            gone = gone || (e.device == 1 && e.type == EV_SYN && e.code == protocol::pad::syn_gone);
    EXPECT_TRUE(gone) << read_text(err);
    EXPECT_TRUE(client.terminate().has_value());
}

// --mouse-sensitivity and --ignore-windows-keys in evdev mode, through the
// real client: the fake mouse's one-count moves reach the ring halved (-5,
// none lost to rounding) and the Super keys of the fake keyboard never do,
// pressed nor released, while the key typed between them does.
TEST_F(ClientInput, EvdevMouseSensitivityScalesMotionAndWindowsKeysStayOnTheHost) {
    FakeDeviceSpec mouse{"Porthole Test Mouse", 21, false, "usb-porthole-mouse-event-mouse"};
    const std::string kdev = bed_.add(kbd_), mdev = bed_.add(mouse);
    TestGuest guest(dir_.file("region"));
    ASSERT_TRUE(guest.ok());
    const std::string out = dir_.file("porthole.out"), err = dir_.file("porthole.err");
    Process client({PORTHOLE_CLIENT_BIN, "--shm", dir_.file("region"), "--headless", "--size",
                    "64x64", "--input", "evdev", "--input-to", "agent", "--mouse-sensitivity", "-5",
                    "--ignore-windows-keys"},
                   out, err);
    ASSERT_TRUE(guest.wait_client(30s)) << read_text(err);
    ASSERT_TRUE(wait_for_text(err, "input: evdev", 5s, guest)) << read_text(err);
    for (const auto& dev : {kdev, mdev})
        ASSERT_NE(read_text(err).find(dev), std::string::npos) << dev << ": " << read_text(err);

    press(KEY_LEFTCTRL);
    press(KEY_RIGHTCTRL);
    release(KEY_RIGHTCTRL);
    release(KEY_LEFTCTRL);
    for (int i = 0; i < 40; ++i) {
        bed_.emit(mouse, EV_REL, REL_X, 1);
        bed_.emit(mouse, EV_REL, REL_Y, -3);
        bed_.syn(mouse);
        std::this_thread::sleep_for(2ms);
    }
    std::this_thread::sleep_for(50ms);  // the moves before the keys (two devices, two fds)
    press(KEY_LEFTMETA);
    type(KEY_X);
    release(KEY_LEFTMETA);
    type(KEY_RIGHTMETA);
    const auto events = pump_until_keys(guest, 2, 15s);
    EXPECT_EQ(keys_of(events), (std::vector<Key>{{KEY_X, 1}, {KEY_X, 0}})) << read_text(err);
    std::int64_t dx = 0, dy = 0;
    for (const auto& e : events) {
        if (e.type == EV_REL && e.code == REL_X) dx += e.value;
        if (e.type == EV_REL && e.code == REL_Y) dy += e.value;
    }
    EXPECT_EQ(dx, 20) << "40 one-count moves at half speed";
    EXPECT_EQ(dy, -60) << "40 three-count moves at half speed";
    EXPECT_EQ(guest.rejected(), 0U);
    EXPECT_TRUE(client.terminate().has_value());
}

TEST_F(ClientInput, QmpDeliveryQemuAcceptsTheEvdevKeys) {
    const std::string dev = bed_.add(kbd_);
    const std::string sock = dir_.file("qmp.sock");
    // QEMU must not run under the umockdev preload this test carries.
    std::string preload = std::getenv("LD_PRELOAD");
    ::unsetenv("LD_PRELOAD");
    QemuProcess qemu(sock);
    ::setenv("LD_PRELOAD", preload.c_str(), 1);
    ASSERT_TRUE(qemu.listening()) << read_text(sock + ".log");

    TestGuest guest(dir_.file("region"));
    ASSERT_TRUE(guest.ok());
    const std::string out = dir_.file("porthole.out"), err = dir_.file("porthole.err");
    Process client(
        {PORTHOLE_CLIENT_BIN, "--shm", dir_.file("region"), "--headless", "--size", "64x64",
         "--input", "evdev", "--input-to", "qmp", "--qmp", "unix:" + sock, "--stats"},
        out, err);
    ASSERT_TRUE(guest.wait_client(30s)) << read_text(err);
    ASSERT_TRUE(wait_for_text(err, "input: evdev", 5s, guest)) << read_text(err);
    // Batches sent before the QMP handshake would be dropped: wait until --stats says connected.
    const auto handshake = wait_for_stats(
        out,
        [](const nlohmann::json& j) { return j.value("/input/qmp/connected"_json_pointer, false); },
        30s, guest);
    ASSERT_TRUE(handshake && handshake->value("/input/qmp/connected"_json_pointer, false))
        << read_text(out) << read_text(err);

    press(KEY_LEFTCTRL);
    press(KEY_RIGHTCTRL);
    release(KEY_RIGHTCTRL);
    release(KEY_LEFTCTRL);
    type(KEY_H);
    type(KEY_I);
    // Input goes to QEMU, not to the region's ring.
    EXPECT_TRUE(keys_of(guest.pump(1500ms)).empty());
    // QEMU's replies may take a while under load: wait for them before stopping porthole.
    wait_for_stats(
        out,
        [](const nlohmann::json& j) {
            return j.value("/input/qmp/accepted"_json_pointer, std::uint64_t{0}) >= 4;
        },
        30s, guest);
    EXPECT_TRUE(client.terminate().has_value());

    const auto last = last_stats(out);
    ASSERT_TRUE(last) << read_text(out) << read_text(err);
    const auto& q = (*last)["input"]["qmp"];
    ASSERT_TRUE(q.is_object()) << last->dump();
    EXPECT_TRUE(q["connected"].get<bool>()) << last->dump() << "\n" << read_text(err);
    // Four batches (H and I, pressed and released), each one input-send-event QEMU accepted.
    EXPECT_EQ(q["sent"].get<std::uint64_t>(), 4U) << last->dump();
    EXPECT_EQ(q["accepted"].get<std::uint64_t>(), 4U) << last->dump();
    EXPECT_EQ(q["rejected"].get<std::uint64_t>(), 0U) << last->dump();
    EXPECT_EQ(q["dropped"].get<std::uint64_t>(), 0U) << last->dump();
}

// Runs `cmd` with the umockdev preload left out (QEMU, Xvfb, xdotool and a
// windowed porthole need the real /dev and /sys).
template <typename F>
auto without_preload(F&& f) {
    const char* p = std::getenv("LD_PRELOAD");
    const std::string preload = p != nullptr ? p : "";
    ::unsetenv("LD_PRELOAD");
    auto r = f();
    ::setenv("LD_PRELOAD", preload.c_str(), 1);
    return r;
}

// porthole in window mode on a private Xvfb, over a test guest's region,
// its window focused.
struct WindowClient {
    TempDir dir;
    std::unique_ptr<Xvfb> xvfb;
    std::unique_ptr<TestGuest> guest;
    std::unique_ptr<Process> client;
    std::string out, err;
    std::vector<std::string> env;  // more of porthole's environment ("NAME=value")

    // Runs xdotool on the test's display; its exit code.
    int xdo(const std::string& args) const {
        const std::string cmd = "env -u LD_PRELOAD DISPLAY=" + xvfb->display() +
                                " sh -c \"xdotool " + args + "\" >/dev/null 2>&1";
        return std::system(cmd.c_str());
    }
    // Empty when it is up with its window focused, else what went wrong.
    std::string start(const std::vector<std::string>& extra) {
        xvfb = without_preload([] { return std::make_unique<Xvfb>(); });
        if (xvfb->display().empty()) return "Xvfb did not start";
        guest = std::make_unique<TestGuest>(dir.file("region"));
        if (!guest->ok()) return "no test guest";
        out = dir.file("porthole.out");
        err = dir.file("porthole.err");
        std::vector<std::string> args{
            PORTHOLE_CLIENT_BIN, "--shm",   dir.file("region"), "--size",
            "320x240",           "--input", "window",           "--stats"};
        args.insert(args.end(), extra.begin(), extra.end());
        client = without_preload([&] {
            auto e = env;
            e.push_back("DISPLAY=" + xvfb->display());
            return std::make_unique<Process>(args, out, err, e);
        });
        if (!guest->wait_client(30s)) return "porthole never attached: " + read_text(err);
        if (!wait_for_text(err, "input: window", 5s, *guest)) return read_text(err);
        // The window may take a moment to map.
        bool focused = false;
        for (int i = 0; i < 50 && !focused; ++i) {
            focused = xdo("search --sync --name '^porthole [(]' windowfocus --sync") == 0;
            if (!focused) guest->pump(100ms);
        }
        if (!focused) return "the window never took the focus: " + read_text(err);
        guest->pump(300ms);
        return {};
    }
};

TEST(ClientWindowInput, ScrollLockTogglesCaptureAndTypedKeysReachTheRing) {
    WindowClient w;
    const auto failed = w.start({});
    ASSERT_TRUE(failed.empty()) << failed;
    auto& guest = *w.guest;
    auto& client = w.client;
    const auto& out = w.out;
    const auto& err = w.err;
    const auto xdo = [&](const std::string& args) { return w.xdo(args); };

    ASSERT_EQ(xdo("key Scroll_Lock"), 0);
    guest.pump(300ms);
    ASSERT_EQ(xdo("key a b"), 0);
    const std::vector<Key> want{{KEY_A, 1}, {KEY_A, 0}, {KEY_B, 1}, {KEY_B, 0}};
    const auto events = pump_until_keys(guest, want.size(), 15s);
    EXPECT_EQ(keys_of(events), want) << read_text(err);  // ScrollLock itself never reaches it
    // A --stats line with the capture on.
    const auto captured = wait_for_stats(
        out,
        [](const nlohmann::json& j) { return j.value("/input/owner"_json_pointer, "") == "guest"; },
        10s, guest);
    ASSERT_TRUE(captured) << read_text(out) << read_text(err);
    EXPECT_EQ((*captured)["input"]["mode"], "window");
    EXPECT_EQ((*captured)["input"]["owner"], "guest") << captured->dump();

    ASSERT_EQ(xdo("key Scroll_Lock"), 0);  // capture off again
    wait_for_stats(
        out,
        [](const nlohmann::json& j) { return j.value("/input/owner"_json_pointer, "") == "host"; },
        10s, guest);
    EXPECT_TRUE(client->terminate().has_value());
    const auto released = last_stats(out);
    ASSERT_TRUE(released);
    EXPECT_EQ((*released)["input"]["owner"], "host") << released->dump();
}

// Window input is delivered by the main thread, which only pumps SDL; the
// render thread draws. With every draw held 2.5 s (a present that blocks) and
// a draw each second (--overlay), each key still reaches the ring well before
// the draw it fell into ends (it waited for that draw when one thread did both).
TEST(ClientWindowInput, KeysReachTheRingWhileADrawStalls) {
    WindowClient w;
    w.env.push_back("PORTHOLE_TEST_DRAW_STALL_MS=2500");
    const auto failed = w.start({"--overlay"});
    ASSERT_TRUE(failed.empty()) << failed;
    ASSERT_NE(read_text(w.err).find("each draw is held 2500 ms"), std::string::npos)
        << read_text(w.err);
    for (int round = 0; round < 4; ++round) {
        const auto sent = std::chrono::steady_clock::now();
        ASSERT_EQ(w.xdo("key a"), 0);
        std::vector<protocol::InputEvent> got;
        while (keys_of(got).empty() && std::chrono::steady_clock::now() - sent < 10s) {
            const auto more = w.guest->pump(2ms);
            got.insert(got.end(), more.begin(), more.end());
        }
        const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - sent);
        ASSERT_FALSE(keys_of(got).empty()) << read_text(w.err);
        EXPECT_EQ(keys_of(got).front(), (Key{KEY_A, 1}));
        EXPECT_LT(took.count(), 800) << "round " << round << ": the key waited for the draw";
        w.guest->pump(700ms);  // the next key falls elsewhere in a draw
    }
    EXPECT_EQ(w.client->terminate(), 0) << read_text(w.err);  // SIGTERM: the threads end cleanly
}

// The client's keys stay on the host whether or not input is captured:
// F12 is an ordinary key for the guest now (it once toggled the overlay and
// reached the guest too), and ScrollLock+Q quits without typing q.
TEST(ClientWindowInput, ScrollLockQQuitsAndNoBindingKeyReachesTheGuest) {
    WindowClient w;
    const auto failed = w.start({});
    ASSERT_TRUE(failed.empty()) << failed;
    ASSERT_EQ(w.xdo("key F12"), 0);
    const auto events = pump_until_keys(*w.guest, 2, 15s);
    EXPECT_EQ(keys_of(events), (std::vector<Key>{{KEY_F12, 1}, {KEY_F12, 0}})) << read_text(w.err);
    ASSERT_EQ(w.xdo("keydown Scroll_Lock key --delay 30 o q keyup Scroll_Lock"), 0);
    std::vector<protocol::InputEvent> after;
    const auto end = std::chrono::steady_clock::now() + 15s;
    while (w.client->running() && std::chrono::steady_clock::now() < end) {
        const auto more = w.guest->pump(50ms);
        after.insert(after.end(), more.begin(), more.end());
    }
    ASSERT_FALSE(w.client->running()) << "ScrollLock+Q did not quit: " << read_text(w.err);
    EXPECT_EQ(w.client->wait_exit(5s), 0) << read_text(w.err);
    EXPECT_TRUE(keys_of(after).empty()) << read_text(w.err);
    EXPECT_NE(read_text(w.err).find("quit key"), std::string::npos) << read_text(w.err);
}

// ScrollLock+P saves into the pictures folder of the user's user-dirs.dirs,
// says so in the log, and shows where on the window for a few seconds (a
// second screenshot, taken while the first one's notice is up, has text
// where the first was dark).
TEST(ClientWindowInput, ScreenshotKeySavesIntoThePicturesFolderAndSaysWhere) {
    WindowClient w;
    const std::string home = w.dir.file("home");
    ASSERT_EQ(std::system(("mkdir -p " + w.dir.file("config")).c_str()), 0);
    std::ofstream(w.dir.file("config") + "/user-dirs.dirs")
        << "XDG_PICTURES_DIR=\"$HOME/My Shots\"\n";
    w.env = {"HOME=" + home, "XDG_CONFIG_HOME=" + w.dir.file("config")};
    const auto failed = w.start({});
    ASSERT_TRUE(failed.empty()) << failed;
    const auto saved = [&] {
        std::vector<std::string> paths;
        const std::string log = read_text(w.err);
        const std::string tag = "screenshot saved to ";
        for (auto at = log.find(tag); at != std::string::npos; at = log.find(tag, at + 1))
            paths.push_back(log.substr(at + tag.size(), log.find(" (", at) - at - tag.size()));
        return paths;
    };
    const auto wait_saved = [&](std::size_t n) {
        const auto end = std::chrono::steady_clock::now() + 15s;
        while (saved().size() < n && std::chrono::steady_clock::now() < end)
            w.guest->pump(50ms);
        return saved();
    };
    ASSERT_EQ(w.xdo("key Scroll_Lock+p"), 0);
    auto paths = wait_saved(1);
    ASSERT_EQ(paths.size(), 1U) << read_text(w.err);
    EXPECT_EQ(paths[0].rfind(home + "/My Shots/porthole-", 0), 0U) << paths[0];
    ASSERT_EQ(w.xdo("key Scroll_Lock+p"), 0);
    paths = wait_saved(2);
    ASSERT_EQ(paths.size(), 2U) << read_text(w.err);
    EXPECT_NE(paths[0], paths[1]) << "a second screenshot in the same second gets its own name";
    const auto first = client::read_png(paths[0]);
    const auto second = client::read_png(paths[1]);
    ASSERT_TRUE(first && second);
    const auto lit = [](const client::ReadbackImage& img) {
        std::size_t n = 0;
        for (std::size_t i = 0; i + 3 < img.bgra.size(); i += 4)
            if (std::to_integer<int>(img.bgra[i + 1]) > 128) ++n;
        return n;
    };
    EXPECT_GT(lit(*second), lit(*first) + 100) << "no notice on the window after the first";
    EXPECT_TRUE(w.client->terminate().has_value());
}

// --mouse absolute: captured motion over the window is a position in the
// protocol's 0..32767 range; --mouse relative: it is motion (SDL's relative
// mode), whatever the guest's cursor does.
TEST(ClientWindowInput, MouseOptionChoosesAbsoluteOrRelativeMotion) {
    for (const std::string mode : {"absolute", "relative"}) {
        WindowClient w;
        const auto failed = w.start({"--mouse", mode});
        ASSERT_TRUE(failed.empty()) << mode << ": " << failed;
        ASSERT_EQ(w.xdo("key Scroll_Lock"), 0);
        w.guest->pump(300ms);
        std::vector<protocol::InputEvent> got;
        if (mode == "absolute") {
            ASSERT_EQ(
                w.xdo("mousemove --window \\$(xdotool search --name '^porthole [(]' | head -1) "
                      "300 200"),
                0);
        } else {
            for (int i = 0; i < 5; ++i) {
                ASSERT_EQ(w.xdo("mousemove_relative -- 9 4"), 0);
                const auto more = w.guest->pump(50ms);
                got.insert(got.end(), more.begin(), more.end());
            }
        }
        const auto end = std::chrono::steady_clock::now() + 10s;
        const auto has = [&](std::uint16_t type) {
            return std::any_of(got.begin(), got.end(),
                               [&](const protocol::InputEvent& e) { return e.type == type; });
        };
        const std::uint16_t want = mode == "absolute" ? EV_ABS : EV_REL;
        while (!has(want) && std::chrono::steady_clock::now() < end) {
            const auto more = w.guest->pump(50ms);
            got.insert(got.end(), more.begin(), more.end());
        }
        ASSERT_TRUE(has(want)) << mode << ": no such motion reached the ring; " << read_text(w.err);
        EXPECT_FALSE(has(mode == "absolute" ? EV_REL : EV_ABS)) << mode;
        std::int64_t dx = 0;
        for (const auto& e : got) {
            if (e.type == EV_ABS) {
                EXPECT_GE(e.value, 0);
                EXPECT_LE(e.value, 32767);
            }
            if (e.type == EV_REL && e.code == REL_X) dx += e.value;
        }
        if (mode == "absolute") {
            // 300,200 in a 320x240 window: near the right and bottom edges.
            const auto last_x = std::find_if(got.rbegin(), got.rend(), [](const auto& e) {
                return e.type == EV_ABS && e.code == ABS_X;
            });
            ASSERT_NE(last_x, got.rend());
            EXPECT_GT(last_x->value, 32767 * 8 / 10);
        } else {
            EXPECT_GT(dx, 0) << "the pointer moved right";
        }
        EXPECT_TRUE(w.client->terminate().has_value());
    }
}

// --mouse-sensitivity and --ignore-windows-keys through the real client:
// captured relative motion reaches the ring scaled (-5: half, none lost),
// and the Super keys stay on the host while the others go on.
// The usb-host devices QEMU's VM holds, as "id=selector", through a session
// of the test's own that is closed at once (QEMU serves one QMP client at a
// time, and the client connects for each press).
std::vector<std::string> vm_usb(const std::string& sock) {
    auto s = qmp::Session::connect(sock, 20s);
    if (!s) return {"no QMP session: " + s.error().message};
    auto list = qmp::list_usb(*s);
    if (!list) return {"no list: " + list.error().message};
    std::vector<std::string> out;
    for (const auto& a : *list)
        out.push_back(a.id + "=" + qmp::to_string(a.selector));
    return out;
}

std::size_t count_text(const std::string& path, const std::string& text) {
    const std::string t = read_text(path);
    std::size_t n = 0;
    for (auto at = t.find(text); at != std::string::npos; at = t.find(text, at + 1))
        ++n;
    return n;
}

bool wait_for_count(const std::string& path, const std::string& text, std::size_t n,
                    std::chrono::milliseconds limit, TestGuest& guest) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (count_text(path, text) >= n) return true;
        guest.pump(50ms);
    }
    return false;
}

// --usb: ScrollLock+U attaches every listed device to a real QEMU with an
// xHCI controller (QEMU takes a usb-host device whose host device is absent,
// so no device of this machine moves), the next press gives them back, and a
// client that ends (SIGTERM) gives back what it attached. A device the user
// attached by other means (porthole-vfio's id for another device) is never
// touched.
TEST(ClientWindowInput, UsbKeyMovesTheDevicesToTheVmAndBackAndExitGivesThemBack) {
    WindowClient w;
    const std::string sock = w.dir.file("qmp.sock");
    auto qemu = without_preload([&] {
        return std::make_unique<QemuProcess>(sock, false,
                                             std::vector<std::string>{"-device", "qemu-xhci"});
    });
    ASSERT_TRUE(qemu->listening()) << read_text(sock + ".log");
    const std::string users = "porthole-usb-1-9=1-9";
    {
        auto s = qmp::Session::connect(sock, 20s);
        ASSERT_TRUE(s) << s.error().message;
        auto a = qmp::attach_usb(*s, *qmp::parse_usb_selector("1-9"));
        ASSERT_TRUE(a) << a.error().message;
    }
    ASSERT_EQ(vm_usb(sock), std::vector<std::string>{users});

    const auto failed = w.start({"--usb", "045e:028e", "--usb", "1-2.3", "--qmp", "unix:" + sock});
    ASSERT_TRUE(failed.empty()) << failed;
    const std::vector<std::string> all{"porthole-usb-045e-028e=045e:028e",
                                       "porthole-usb-1-2.3=1-2.3", users};

    ASSERT_EQ(w.xdo("key Scroll_Lock+u"), 0);
    ASSERT_TRUE(wait_for_count(w.err, "attached to the VM", 2, 30s, *w.guest)) << read_text(w.err);
    EXPECT_EQ(vm_usb(sock), all) << read_text(w.err);

    ASSERT_EQ(w.xdo("key Scroll_Lock+u"), 0);
    ASSERT_TRUE(wait_for_count(w.err, "given back to the host", 2, 30s, *w.guest))
        << read_text(w.err);
    EXPECT_EQ(vm_usb(sock), std::vector<std::string>{users}) << read_text(w.err);

    ASSERT_EQ(w.xdo("key Scroll_Lock+u"), 0);
    ASSERT_TRUE(wait_for_count(w.err, "attached to the VM", 4, 30s, *w.guest)) << read_text(w.err);
    EXPECT_EQ(vm_usb(sock), all) << read_text(w.err);
    EXPECT_EQ(w.client->terminate(30s), 0) << read_text(w.err);
    EXPECT_EQ(count_text(w.err, "given back to the host (porthole exits)"), 2U) << read_text(w.err);
    EXPECT_EQ(vm_usb(sock), std::vector<std::string>{users}) << read_text(w.err);
    EXPECT_EQ(read_text(w.err).find("[error]"), std::string::npos) << read_text(w.err);

    // The quit key is the other way out: the devices go back too.
    WindowClient again;
    const auto failed_again = again.start({"--usb", "045e:028e", "--qmp", "unix:" + sock});
    ASSERT_TRUE(failed_again.empty()) << failed_again;
    ASSERT_EQ(again.xdo("key Scroll_Lock+u"), 0);
    ASSERT_TRUE(wait_for_count(again.err, "attached to the VM", 1, 30s, *again.guest))
        << read_text(again.err);
    EXPECT_EQ(vm_usb(sock), (std::vector<std::string>{all[0], users})) << read_text(again.err);
    ASSERT_EQ(again.xdo("key Scroll_Lock+q"), 0);
    EXPECT_EQ(again.client->wait_exit(30s), 0) << read_text(again.err);
    EXPECT_EQ(count_text(again.err, "given back to the host (porthole exits)"), 1U)
        << read_text(again.err);
    EXPECT_EQ(vm_usb(sock), std::vector<std::string>{users}) << read_text(again.err);
}

// --input-to qmp holds QEMU's QMP socket, which serves one client: the USB
// commands go over the input's own connection (a second one would get no
// greeting). The test watches the VM through a second QMP socket of QEMU's.
TEST(ClientWindowInput, UsbKeySharesTheInputsQmpConnection) {
    WindowClient w;
    const std::string sock = w.dir.file("qmp.sock"), check = w.dir.file("check.sock");
    auto qemu = without_preload([&] {
        return std::make_unique<QemuProcess>(
            sock, false,
            std::vector<std::string>{"-device", "qemu-xhci", "-qmp",
                                     "unix:" + check + ",server=on,wait=off"});
    });
    ASSERT_TRUE(qemu->listening()) << read_text(sock + ".log");
    const std::vector<std::string> pad{"porthole-usb-045e-028e=045e:028e"};
    const auto failed =
        w.start({"--input-to", "qmp", "--usb", "045e:028e", "--qmp", "unix:" + sock});
    ASSERT_TRUE(failed.empty()) << failed;

    ASSERT_EQ(w.xdo("key Scroll_Lock+u"), 0);
    ASSERT_TRUE(wait_for_count(w.err, "attached to the VM", 1, 30s, *w.guest)) << read_text(w.err);
    EXPECT_EQ(vm_usb(check), pad) << read_text(w.err);
    ASSERT_EQ(w.xdo("key Scroll_Lock+u"), 0);
    ASSERT_TRUE(wait_for_count(w.err, "given back to the host", 1, 30s, *w.guest))
        << read_text(w.err);
    EXPECT_TRUE(vm_usb(check).empty()) << read_text(w.err);

    ASSERT_EQ(w.xdo("key Scroll_Lock+u"), 0);
    ASSERT_TRUE(wait_for_count(w.err, "attached to the VM", 2, 30s, *w.guest)) << read_text(w.err);
    EXPECT_EQ(vm_usb(check), pad) << read_text(w.err);
    EXPECT_EQ(w.client->terminate(30s), 0) << read_text(w.err);
    EXPECT_EQ(count_text(w.err, "given back to the host (porthole exits)"), 1U) << read_text(w.err);
    EXPECT_TRUE(vm_usb(check).empty()) << read_text(w.err);
    EXPECT_EQ(read_text(w.err).find("[error]"), std::string::npos) << read_text(w.err);
}

// A VM without a USB controller: the press says QEMU's reason in the log and
// the client carries on; nothing is left to give back at exit.
TEST(ClientWindowInput, UsbKeySaysWhyQemuRefused) {
    WindowClient w;
    const std::string sock = w.dir.file("qmp.sock");
    auto qemu = without_preload([&] { return std::make_unique<QemuProcess>(sock); });
    ASSERT_TRUE(qemu->listening()) << read_text(sock + ".log");
    w.env = {"HOME=" + w.dir.file("home"), "XDG_CONFIG_HOME=" + w.dir.file("config")};
    const auto failed = w.start({"--usb", "045e:028e", "--qmp", "unix:" + sock});
    ASSERT_TRUE(failed.empty()) << failed;
    ASSERT_EQ(w.xdo("key Scroll_Lock+u"), 0);
    ASSERT_TRUE(wait_for_text(w.err, "attaching USB device 045e:028e failed", 30s, *w.guest))
        << read_text(w.err);
    EXPECT_NE(read_text(w.err).find("no USB controller"), std::string::npos) << read_text(w.err);
    EXPECT_TRUE(w.client->running()) << read_text(w.err);
    EXPECT_TRUE(vm_usb(sock).empty());
    // The outcome shows on the window (a few seconds): the screenshot taken now
    // has text where the window is otherwise dark (no frame, the agent fine).
    ASSERT_EQ(w.xdo("key Scroll_Lock+p"), 0);
    ASSERT_TRUE(wait_for_text(w.err, "screenshot saved to ", 15s, *w.guest)) << read_text(w.err);
    const std::string log = read_text(w.err);
    const auto at = log.find("screenshot saved to ") + std::string("screenshot saved to ").size();
    const auto shot = client::read_png(log.substr(at, log.find(" (", at) - at));
    ASSERT_TRUE(shot) << log;
    std::size_t lit = 0;
    for (std::size_t i = 0; i + 3 < shot->bgra.size(); i += 4)
        if (std::to_integer<int>(shot->bgra[i + 1]) > 128) ++lit;
    EXPECT_GT(lit, 100U) << "no notice on the window";
    EXPECT_EQ(w.client->terminate(30s), 0) << read_text(w.err);
    EXPECT_EQ(read_text(w.err).find("given back"), std::string::npos) << read_text(w.err);
}

// No QEMU at the --qmp socket when the key is pressed: the log names the
// socket and the option, the client carries on, and the next press tries again.
TEST(ClientWindowInput, UsbKeyWithoutQemuNamesTheSocketAndTheOption) {
    WindowClient w;
    const std::string sock = w.dir.file("no-qemu.sock");
    const auto failed = w.start({"--usb", "1-2", "--qmp", "unix:" + sock});
    ASSERT_TRUE(failed.empty()) << failed;
    ASSERT_EQ(w.xdo("key Scroll_Lock+u"), 0);
    const std::string said = "usb: cannot reach QEMU's QMP socket " + sock + " (--qmp)";
    ASSERT_TRUE(wait_for_count(w.err, said, 1, 30s, *w.guest)) << read_text(w.err);
    ASSERT_EQ(w.xdo("key Scroll_Lock+u"), 0);
    EXPECT_TRUE(wait_for_count(w.err, said, 2, 30s, *w.guest))
        << "the second press tried again: " << read_text(w.err);
    EXPECT_TRUE(w.client->running()) << read_text(w.err);
    EXPECT_EQ(w.client->terminate(30s), 0) << read_text(w.err);
}

TEST(ClientWindowInput, MouseSensitivityScalesMotionAndWindowsKeysStayOnTheHost) {
    std::int64_t full = 0;
    for (const std::string sens : {"0", "-5"}) {
        WindowClient w;
        const auto failed =
            w.start({"--mouse", "relative", "--mouse-sensitivity", sens, "--ignore-windows-keys"});
        ASSERT_TRUE(failed.empty()) << sens << ": " << failed;
        ASSERT_EQ(w.xdo("key Scroll_Lock"), 0);
        w.guest->pump(300ms);
        std::vector<protocol::InputEvent> got;
        for (int i = 0; i < 8; ++i) {
            ASSERT_EQ(w.xdo("mousemove_relative -- 3 0"), 0);
            const auto more = w.guest->pump(50ms);
            got.insert(got.end(), more.begin(), more.end());
        }
        ASSERT_EQ(w.xdo("key --delay 30 Super_L Super_R x"), 0);
        const auto keys = pump_until_keys(*w.guest, 2, 15s);
        got.insert(got.end(), keys.begin(), keys.end());
        const auto more = w.guest->pump(300ms);
        got.insert(got.end(), more.begin(), more.end());
        EXPECT_EQ(keys_of(got), (std::vector<Key>{{KEY_X, 1}, {KEY_X, 0}})) << read_text(w.err);
        std::int64_t dx = 0;
        for (const auto& e : got)
            if (e.type == EV_REL && e.code == REL_X) dx += e.value;
        if (sens == "0") {
            full = dx;
            EXPECT_GT(full, 0) << read_text(w.err);
        } else {
            EXPECT_EQ(dx, full / 2) << "half of the unscaled run's " << full;
        }
        EXPECT_TRUE(w.client->terminate().has_value());
    }
}

}  // namespace
}  // namespace porthole::test

int main(int argc, char** argv) {
    // The preload library must be in place before the program starts; porthole inherits it.
    const char* preload = std::getenv("LD_PRELOAD");
    if (!preload || !std::strstr(preload, "umockdev-preload")) {
        std::vector<char*> args{const_cast<char*>("umockdev-wrapper")};
        for (int i = 0; i < argc; ++i)
            args.push_back(argv[i]);
        args.push_back(nullptr);
        ::execvp("umockdev-wrapper", args.data());
        std::perror("umockdev-wrapper (package umockdev)");
        return 1;
    }
    testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
