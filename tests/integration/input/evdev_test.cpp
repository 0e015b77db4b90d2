// evdev mode against keyboards and mice faked with umockdev: no root, no
// /dev/input, no /dev/uinput. The program re-runs itself under
// umockdev-wrapper so that the preload library fakes /dev and /sys.
#include <gtest/gtest.h>
#include <linux/input.h>
#include <sys/fsuid.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "fake_evdev.hpp"
#include "input/evdev_input.hpp"
#include "input/uinput.hpp"
#include "porthole/protocol/input_ring.hpp"

namespace porthole::client::input {
namespace {

using namespace std::chrono_literals;
using test::FakeDeviceSpec;
using test::FakeEvdevBed;

struct CollectingSink final : InputSink {
    std::mutex m;
    std::vector<protocol::InputEvent> events;
    std::size_t batches = 0;
    void deliver(std::span<const protocol::InputEvent> b) override {
        std::lock_guard l(m);
        events.insert(events.end(), b.begin(), b.end());
        ++batches;
    }
    bool saw(std::uint16_t type, std::uint16_t code, std::int32_t value) {
        std::lock_guard l(m);
        for (const auto& e : events)
            if (e.type == type && e.code == code && e.value == value) return true;
        return false;
    }
    std::size_t count() {
        std::lock_guard l(m);
        return events.size();
    }
};

struct Rig {
    FakeEvdevBed bed;
    FakeDeviceSpec kbd{"Porthole Test Keyboard", 10, true, "usb-Porthole_Test_Keyboard-event-kbd"};
    FakeDeviceSpec mouse{"Porthole Test Mouse", 11, false, "usb-Porthole_Test_Mouse-event-mouse"};
    CollectingSink sink;
    std::unique_ptr<EvdevInput> input;

    explicit Rig(bool named = false) {
        bed.add(kbd);
        bed.add(mouse);
        EvdevConfig c;
        if (named) c.devices = {"/dev/input/by-id/" + kbd.by_id, "/dev/input/by-id/" + mouse.by_id};
        c.hotkey = *parse_hotkey("ctrl-ctrl");
        c.retry_min = 20ms;
        c.retry_max = 200ms;
        auto r = EvdevInput::create(c, sink);
        if (!r)
            ADD_FAILURE() << r.error().message;
        else
            input = std::move(*r);
        if (!input) return;
        for (const auto& d : input->devices()) {
            EXPECT_TRUE(d.open) << d.path << ": " << d.last_error;
        }
    }
    // Polls until `done` holds (or 3 s pass).
    bool until(const std::function<bool()>& done) {
        const auto end = std::chrono::steady_clock::now() + 3s;
        while (std::chrono::steady_clock::now() < end) {
            if (done()) return true;
            EXPECT_TRUE(input->poll(20ms));
        }
        return done();
    }
    void settle() {
        for (int i = 0; i < 5; ++i)
            EXPECT_TRUE(input->poll(10ms));
    }
    void key(const FakeDeviceSpec& d, std::uint16_t code, int value) {
        bed.emit(d, EV_KEY, code, value);
        bed.syn(d);
    }
    bool all_grabbed(bool want) {
        for (const auto& d : input->devices())
            if (!d.open || d.grabbed != want) return false;
        return true;
    }
    void give_guest() {
        key(kbd, KEY_LEFTCTRL, 1);
        key(kbd, KEY_RIGHTCTRL, 1);
        key(kbd, KEY_RIGHTCTRL, 0);
        key(kbd, KEY_LEFTCTRL, 0);
        ASSERT_TRUE(until([&] { return input->router().owner() == Owner::guest; }));
    }
};

TEST(EvdevInput, FindsEveryKeyboardAndMouseByItself) {
    Rig r;
    ASSERT_TRUE(r.input);
    const auto devs = r.input->devices();
    ASSERT_EQ(devs.size(), 2U);
    EXPECT_TRUE(devs[0].open && devs[1].open);
    EXPECT_TRUE(r.all_grabbed(false)) << "the host owns input at start: nothing grabbed";
}

TEST(EvdevInput, HostOwnedInputNeverReachesTheGuest) {
    Rig r(true);
    ASSERT_TRUE(r.input);
    r.key(r.kbd, KEY_A, 1);
    r.key(r.kbd, KEY_A, 0);
    r.settle();
    EXPECT_EQ(r.sink.count(), 0U);
}

TEST(EvdevInput, HotkeyGrabsEveryDeviceAndGuestGetsBatches) {
    Rig r(true);
    ASSERT_TRUE(r.input);
    r.give_guest();
    EXPECT_TRUE(r.all_grabbed(true));
    r.bed.emit(r.mouse, EV_REL, REL_X, 5);
    r.bed.emit(r.mouse, EV_REL, REL_WHEEL_HI_RES, 60);
    r.bed.syn(r.mouse);
    ASSERT_TRUE(r.until([&] { return r.sink.saw(EV_REL, REL_WHEEL_HI_RES, 60); }));
    EXPECT_TRUE(r.sink.saw(EV_REL, REL_X, 5));
    EXPECT_EQ(r.sink.events.back().type, EV_SYN);
    // And back: the switch releases the grab.
    r.key(r.kbd, KEY_LEFTCTRL, 1);
    r.key(r.kbd, KEY_RIGHTCTRL, 1);
    r.key(r.kbd, KEY_RIGHTCTRL, 0);
    r.key(r.kbd, KEY_LEFTCTRL, 0);
    ASSERT_TRUE(r.until([&] { return r.input->router().owner() == Owner::host; }));
    EXPECT_TRUE(r.all_grabbed(false));
}

TEST(EvdevInput, SwitchWaitsUntilNoKeyIsHeld) {
    Rig r(true);
    ASSERT_TRUE(r.input);
    r.key(r.kbd, KEY_A, 1);
    r.key(r.kbd, KEY_LEFTCTRL, 1);
    r.key(r.kbd, KEY_RIGHTCTRL, 1);
    r.key(r.kbd, KEY_RIGHTCTRL, 0);
    r.key(r.kbd, KEY_LEFTCTRL, 0);
    r.settle();
    EXPECT_EQ(r.input->router().owner(), Owner::host);
    EXPECT_TRUE(r.all_grabbed(false)) << "grabbing now would strand KEY_A down on the host";
    r.key(r.kbd, KEY_A, 0);
    ASSERT_TRUE(r.until([&] { return r.input->router().owner() == Owner::guest; }));
    EXPECT_TRUE(r.all_grabbed(true));
    EXPECT_FALSE(r.sink.saw(EV_KEY, KEY_A, 0))
        << "the host's key must not be released on the guest";
}

TEST(EvdevInput, ReleasingInputLetsGoOfEveryKeyTheGuestHolds) {
    Rig r(true);
    ASSERT_TRUE(r.input);
    r.give_guest();
    r.key(r.kbd, KEY_W, 1);
    r.key(r.mouse, BTN_LEFT, 1);
    ASSERT_TRUE(r.until([&] { return r.sink.saw(EV_KEY, BTN_LEFT, 1); }));
    std::thread([&] { r.input->release_to_host(); }).join();  // e.g. from the UI thread
    ASSERT_TRUE(r.until([&] { return r.input->router().owner() == Owner::host; }));
    EXPECT_TRUE(r.sink.saw(EV_KEY, KEY_W, 0));
    EXPECT_TRUE(r.sink.saw(EV_KEY, BTN_LEFT, 0));
    EXPECT_TRUE(r.all_grabbed(false));
}

TEST(EvdevInput, UnpluggedDeviceIsReleasedAndReopenedWhenItReturns) {
    Rig r(true);
    ASSERT_TRUE(r.input);
    r.give_guest();
    r.key(r.kbd, KEY_S, 1);
    ASSERT_TRUE(r.until([&] { return r.sink.saw(EV_KEY, KEY_S, 1); }));
    r.bed.remove(r.kbd);
    ASSERT_TRUE(r.until([&] { return !r.input->devices()[0].open; })) << "loss not noticed";
    EXPECT_TRUE(r.sink.saw(EV_KEY, KEY_S, 0)) << "the guest must not keep S down";
    r.kbd.number = 12;  // back through the KVM switch under a new node, same by-id link
    r.bed.add(r.kbd);
    ASSERT_TRUE(r.until([&] { return r.input->devices()[0].open; }))
        << r.input->devices()[0].last_error;
    EXPECT_TRUE(r.input->devices()[0].grabbed)
        << "the guest still owns input: the returning device is grabbed";
    r.key(r.kbd, KEY_D, 1);
    ASSERT_TRUE(r.until([&] { return r.sink.saw(EV_KEY, KEY_D, 1); }));
}

// Opens files as another user on this thread only (the filesystem uid is
// per thread), so a test run as root meets permission checks.
class FilesystemUser {
  public:
    explicit FilesystemUser(uid_t uid)
        : uid_(static_cast<uid_t>(::setfsuid(uid))), gid_(static_cast<gid_t>(::setfsgid(uid))) {}
    ~FilesystemUser() {
        ::setfsgid(gid_);
        ::setfsuid(uid_);
    }
    FilesystemUser(const FilesystemUser&) = delete;
    FilesystemUser& operator=(const FilesystemUser&) = delete;

  private:
    uid_t uid_;
    gid_t gid_;
};

// udev sets a new node's group and mode a moment after the kernel makes it
// (a hot-plugged keyboard, a KVM switch): an open in between is refused. The
// device stays wanted, the error says what to do, and the chmod that follows
// (inotify IN_ATTRIB) brings it in without a restart.
TEST(EvdevInput, TransientPermissionDenialIsRetriedUntilUdevFixesTheMode) {
    constexpr uid_t kNobody = 65534;
    FakeEvdevBed bed;
    FakeDeviceSpec kbd{"Porthole Test Keyboard", 10, true, "usb-Porthole_Test_Keyboard-event-kbd"};
    bed.add(kbd);
    bed.set_mode(kbd, 0600);  // root's, as the kernel leaves it
    CollectingSink sink;
    EvdevConfig c;
    c.devices = {"/dev/input/by-id/" + kbd.by_id};
    c.hotkey = *parse_hotkey("ctrl-ctrl");
    c.retry_min = 2s;  // the first retry is late: only the chmod's inotify event is quick
    c.retry_max = 5s;
    std::unique_ptr<EvdevInput> input;
    {
        FilesystemUser as_user(kNobody);
        auto r = EvdevInput::create(c, sink);
        ASSERT_TRUE(r) << r.error().message;
        input = std::move(*r);
        for (int i = 0; i < 10; ++i)
            ASSERT_TRUE(input->poll(20ms));
    }
    ASSERT_EQ(input->devices().size(), 1U);
    EXPECT_FALSE(input->devices()[0].open);
    const std::string why = input->devices()[0].last_error;
    EXPECT_NE(why.find("Permission denied"), std::string::npos) << why;
    EXPECT_NE(why.find("'input' group"), std::string::npos) << why;
    bed.set_mode(kbd, 0660 | 0006);  // udev's rule ran (uaccess / input group)
    FilesystemUser as_user(kNobody);
    // Well inside the 2 s backoff: only the inotify event can have done it.
    const auto end = std::chrono::steady_clock::now() + 1500ms;
    while (!input->devices()[0].open && std::chrono::steady_clock::now() < end)
        ASSERT_TRUE(input->poll(20ms));
    ASSERT_TRUE(input->devices()[0].open) << input->devices()[0].last_error;
    bed.emit(kbd, EV_KEY, KEY_LEFTCTRL, 1);
    bed.syn(kbd);
    bed.emit(kbd, EV_KEY, KEY_RIGHTCTRL, 1);
    bed.syn(kbd);
    bed.emit(kbd, EV_KEY, KEY_RIGHTCTRL, 0);
    bed.syn(kbd);
    bed.emit(kbd, EV_KEY, KEY_LEFTCTRL, 0);
    bed.syn(kbd);
    const auto end2 = std::chrono::steady_clock::now() + 3s;
    while (input->router().owner() != Owner::guest && std::chrono::steady_clock::now() < end2)
        ASSERT_TRUE(input->poll(20ms));
    EXPECT_EQ(input->router().owner(), Owner::guest) << "the reopened keyboard is not read";
}

TEST(EvdevInput, SynDroppedResyncsHeldKeys) {
    Rig r(true);
    ASSERT_TRUE(r.input);
    r.give_guest();
    r.key(r.kbd, KEY_Q, 1);
    ASSERT_TRUE(r.until([&] { return r.sink.saw(EV_KEY, KEY_Q, 1); }));
    // The kernel's buffer overflowed while Q was released: the device's key
    // state (EVIOCGKEY: nothing held) is the truth after SYN_DROPPED.
    r.bed.emit(r.kbd, EV_SYN, SYN_DROPPED, 0);
    r.bed.syn(r.kbd);
    ASSERT_TRUE(r.until([&] { return r.sink.saw(EV_KEY, KEY_Q, 0); }));
    EXPECT_FALSE(r.input->router().any_key_held());
}

bool led(const std::vector<input_event>& w, std::uint16_t code, int value) {
    return std::any_of(w.begin(), w.end(), [&](const input_event& e) {
        return e.type == EV_LED && e.code == code && e.value == value;
    });
}

TEST(EvdevInput, LockLedsShowTheOwnersState) {
    Rig r(true);
    ASSERT_TRUE(r.input);
    r.give_guest();
    r.bed.written(r.kbd);  // the grab's LED write: the guest's state, all off
    r.key(r.kbd, KEY_CAPSLOCK, 1);
    r.key(r.kbd, KEY_CAPSLOCK, 0);
    std::vector<input_event> w;
    ASSERT_TRUE(r.until([&] {
        auto more = r.bed.written(r.kbd);
        w.insert(w.end(), more.begin(), more.end());
        return led(w, LED_CAPSL, 1);
    })) << "the guest's Caps Lock is on: the keyboard shows it";
    EXPECT_TRUE(r.bed.written(r.mouse).empty()) << "a mouse has no LEDs to set";
    w.clear();
    r.input->router().force_host();
    auto back = r.bed.written(r.kbd);
    EXPECT_TRUE(led(back, LED_CAPSL, 0)) << "back to the host's own state (off)";
}

// The whole agent path with a faked keyboard: evdev -> router -> region
// ring -> agent's reader -> uinput injector (kernel side recorded).
class RecordingUinput final : public agent::UinputKernel {
  public:
    explicit RecordingUinput(std::vector<input_event>& out) : out_(out) {}
    Status set_bit(unsigned long, int) override { return {}; }
    Status abs_setup(const uinput_abs_setup&) override { return {}; }
    Status setup(const uinput_setup&) override { return {}; }
    Status create() override { return {}; }
    Status write(std::span<const input_event> events) override {
        out_.insert(out_.end(), events.begin(), events.end());
        return {};
    }

  private:
    std::vector<input_event>& out_;
};

TEST(EvdevInput, KeysReachTheAgentsUinputDeviceThroughTheRegionRing) {
    std::vector<std::byte> channel(4096 + 256 * sizeof(protocol::InputEvent));
    ASSERT_TRUE(protocol::init_input_ring(channel, 256));
    auto reader = protocol::InputRingReader::attach(channel);
    ASSERT_TRUE(reader);
    std::vector<input_event> pointer_dev, tablet_dev;
    auto injector = agent::UinputInjector::create(std::make_unique<RecordingUinput>(pointer_dev),
                                                  std::make_unique<RecordingUinput>(tablet_dev));
    ASSERT_TRUE(injector);

    FakeEvdevBed bed;
    FakeDeviceSpec kbd{"Porthole Test Keyboard", 20, true, ""};
    bed.add(kbd);
    RegionInputSink sink;
    sink.attach(*protocol::InputRingWriter::attach(channel));
    EvdevConfig c;
    c.devices = {"/dev/input/event20"};
    c.hotkey = *parse_hotkey("scrolllock");
    auto input = EvdevInput::create(c, sink);
    ASSERT_TRUE(input) << input.error().message;
    auto agent_poll = [&] {
        protocol::InputEvent buf[64];
        const auto n = reader->pop(buf);
        if (n) {
            EXPECT_TRUE((*injector)->inject(std::span(buf, n)));
        }
    };
    auto until = [&](const std::function<bool()>& f) {
        for (int i = 0; i < 150 && !f(); ++i) {
            EXPECT_TRUE((*input)->poll(20ms));
            agent_poll();
        }
        return f();
    };
    for (int v : {1, 0}) {
        bed.emit(kbd, EV_KEY, KEY_SCROLLLOCK, v);
        bed.syn(kbd);
    }
    ASSERT_TRUE(until([&] { return (*input)->router().owner() == Owner::guest; }));
    for (int v : {1, 0}) {
        bed.emit(kbd, EV_KEY, KEY_H, v);
        bed.syn(kbd);
    }
    ASSERT_TRUE(until([&] { return pointer_dev.size() >= 4; }))
        << "delivered " << sink.delivered() << ", overflow " << sink.overflow() << ", rejected "
        << reader->rejected() << ", injected " << (*injector)->stats().events;
    ASSERT_EQ(pointer_dev.size(), 4U) << "H down, SYN, H up, SYN: nothing else, no Scroll Lock";
    EXPECT_EQ(pointer_dev[0].code, KEY_H);
    EXPECT_EQ(pointer_dev[0].value, 1);
    EXPECT_EQ(pointer_dev[1].type, EV_SYN);
    EXPECT_EQ(pointer_dev[2].value, 0);
    EXPECT_TRUE(tablet_dev.empty());
    EXPECT_EQ(reader->rejected(), 0U);
    EXPECT_EQ(sink.overflow(), 0U);
}

}  // namespace
}  // namespace porthole::client::input

int main(int argc, char** argv) {
    // The preload library must be in place before the program starts.
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
