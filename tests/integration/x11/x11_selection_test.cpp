// The desktop's X11 clipboard with the real parts: a private Xvfb, xclip as
// the user's programs, and a raw Xlib client (below) for what xclip never
// does: an owner that sends its text in parts (INCR) or never answers, and a
// requestor that stops reading. The host's X11Clipboard runs its own thread;
// the Linux agent's backend shares the same selection bridge (x11/).
#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include <SDL.h>

#include <future>

#include "clipboard/backend.hpp"
#include "clipboard/sdl_clipboard.hpp"
#include "clipboard/x11.hpp"
#include "clipboard/x11_clipboard.hpp"
#include "xvfb_server.hpp"

#include "raw_selection_client.hpp"  // last: Xlib #defines None and Status

namespace {

using namespace std::chrono_literals;
using porthole::client::clipboard::X11Clipboard;
using porthole::testing::big_text;
using porthole::testing::RawClient;
using porthole::testing::read_file;
using porthole::testing::XvfbServer;
using Clock = std::chrono::steady_clock;

class X11Selection : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/porthole-selection-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        auto x = XvfbServer::start(64, 64, 24);
        ASSERT_TRUE(x) << x.error().message;
        x_ = std::make_unique<XvfbServer>(std::move(*x));
    }
    void TearDown() override {
        x_.reset();  // xclip's servers end with their X server
        std::system(("rm -rf " + dir_).c_str());
    }
    [[nodiscard]] std::unique_ptr<X11Clipboard> open(std::size_t limit = 1U << 20,
                                                     std::chrono::milliseconds timeout = 2000ms) {
        porthole::x11::SelectionOptions o;
        o.display = x_->display();
        o.limit = limit;
        o.timeout = timeout;
        auto c = X11Clipboard::open(o);
        EXPECT_TRUE(c) << c.error().message;
        return c ? std::move(*c) : nullptr;
    }
    [[nodiscard]] int sh(const std::string& cmd) const {
        const std::string full = "env -u LD_PRELOAD DISPLAY=" + x_->display() + " " + cmd;
        return std::system(full.c_str());
    }
    // xclip serves `text` as CLIPBOARD in the background until another program copies.
    void copy(const std::string& text) {
        const std::string file = dir_ + "/copy";
        std::ofstream(file, std::ios::binary) << text;
        ASSERT_EQ(sh("xclip -selection clipboard -i " + file + " >/dev/null 2>&1"), 0);
    }
    // What `xclip -o` pastes (with `target`), waiting up to 10 s for `want`.
    [[nodiscard]] std::optional<std::string> paste_until(const std::string& want,
                                                         const std::string& target = "") {
        const std::string file = dir_ + "/paste";
        std::optional<std::string> got;
        for (const auto end = Clock::now() + 10s; Clock::now() < end;) {
            const std::string t = target.empty() ? "" : " -t " + target;
            got = sh("timeout 10 xclip -selection clipboard -o" + t + " >" + file +
                     " 2>/dev/null") == 0
                      ? std::optional(read_file(file))
                      : std::nullopt;
            if (got == want) break;
            std::this_thread::sleep_for(50ms);
        }
        return got;
    }
    // Takes changes every 10 ms for up to `limit` until one equals `want`; every
    // text taken on the way lands in `seen`, and the slowest call in `slowest`.
    std::optional<std::string> take_until(X11Clipboard& c, const std::string& want,
                                          std::chrono::milliseconds limit = 10s) {
        std::optional<std::string> last;
        for (const auto end = Clock::now() + limit; Clock::now() < end;) {
            const auto t0 = Clock::now();
            auto t = c.take_change(0);
            slowest_ = std::max(slowest_, Clock::now() - t0);
            if (t) {
                seen_.push_back(*t);
                last = t;
                if (*t == want) break;
            }
            std::this_thread::sleep_for(10ms);
        }
        return last;
    }

    std::string dir_;
    std::unique_ptr<XvfbServer> x_;
    std::vector<std::string> seen_;
    Clock::duration slowest_{};
};

TEST_F(X11Selection, HostCopyArrivesWithoutTheLoopCallingAnything) {
    auto c = open();
    ASSERT_TRUE(c);
    const std::string text = "h\xC3\xA9llo w\xC3\xB6rld \xE2\x9C\x93 \xF0\x9F\x98\x80\n";
    copy(text);
    // No call at all while the text travels: the watcher's thread reads it.
    std::this_thread::sleep_for(1500ms);
    const auto t0 = Clock::now();
    const auto got = c->take_change(0);
    const auto took = Clock::now() - t0;
    EXPECT_EQ(got, text);
    EXPECT_LT(took, 250ms);                      // a mutex and a move (SDL waits up to 1 s on X)
    EXPECT_EQ(c->take_change(0), std::nullopt);  // taken once
    EXPECT_EQ(c->text_now(), text);              // still known for a new session
    EXPECT_EQ(c->errors(), 0U);
}

TEST_F(X11Selection, PrimaryIsWatchedOnlyWhenAsked) {
    auto clipboard_only = open();
    porthole::x11::SelectionOptions o;
    o.display = x_->display();
    o.watch_primary = true;
    auto with_primary = X11Clipboard::open(o);
    ASSERT_TRUE(clipboard_only && with_primary);
    std::ofstream(dir_ + "/primary") << "selected with the mouse";
    ASSERT_EQ(sh("xclip -selection primary -i " + dir_ + "/primary >/dev/null 2>&1"), 0);
    EXPECT_EQ(take_until(**with_primary, "selected with the mouse"), "selected with the mouse");
    EXPECT_EQ(clipboard_only->take_change(0), std::nullopt);
}

TEST_F(X11Selection, AnOwnerOfferingOnlyStringIsReadAsLatin1) {
    auto c = open();
    ASSERT_TRUE(c);
    // xclip -t STRING answers that target alone: UTF8_STRING and TEXT are refused.
    std::ofstream(dir_ + "/latin1", std::ios::binary) << "caf\xE9 cr\xE8me";
    ASSERT_EQ(sh("xclip -selection clipboard -t STRING -i " + dir_ + "/latin1 >/dev/null 2>&1"), 0);
    EXPECT_EQ(take_until(*c, "caf\xC3\xA9 cr\xC3\xA8me"), "caf\xC3\xA9 cr\xC3\xA8me");
    EXPECT_EQ(c->errors(), 0U);
}

TEST_F(X11Selection, UnwatchedCopiesAreNeverReadButTheGuestsTextIsServed) {
    porthole::x11::SelectionOptions o;
    o.display = x_->display();
    o.watch = false;  // --clipboard to-host
    auto c = X11Clipboard::open(o);
    ASSERT_TRUE(c);
    RawClient owner(x_->display());
    ASSERT_TRUE(owner.ok());
    owner.own(big_text(100 * 1024, 'u'), 1000);
    std::this_thread::sleep_for(1s);
    EXPECT_EQ(owner.parts_sent(), 0);  // nobody asked for it
    EXPECT_EQ((*c)->take_change(0), std::nullopt);
    ASSERT_TRUE((*c)->set_text("to the host"));
    EXPECT_EQ(paste_until("to the host"), "to the host");
}

TEST_F(X11Selection, TextCopiedBeforeTheStartIsRead) {
    copy("there before");
    auto c = open();
    ASSERT_TRUE(c);
    EXPECT_EQ(take_until(*c, "there before"), "there before");
}

TEST_F(X11Selection, GuestTextIsPastedByXclipInEveryTarget) {
    auto c = open();
    ASSERT_TRUE(c);
    const std::string text = "from the guest: \xC3\xB8 \xE2\x82\xAC\n\ttabbed";
    ASSERT_TRUE(c->set_text(text));
    EXPECT_EQ(paste_until(text), text);
    EXPECT_EQ(paste_until(text, "UTF8_STRING"), text);
    // STRING is Latin-1: the euro sign has no place there.
    EXPECT_EQ(paste_until("from the guest: \xF8 ?\n\ttabbed", "STRING"),
              "from the guest: \xF8 ?\n\ttabbed");
    const auto targets = paste_until("TARGETS\nUTF8_STRING\nTEXT\nSTRING\n", "TARGETS");
    EXPECT_EQ(targets, "TARGETS\nUTF8_STRING\nTEXT\nSTRING\n");
    // Its own ownership is never read back as a desktop change: no echo.
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(c->take_change(0), std::nullopt);
}

TEST_F(X11Selection, LargeTextBothWaysThroughIncr) {
    auto host = open(1U << 20);
    ASSERT_TRUE(host);
    const std::string to_desktop = big_text(300 * 1024, 'g');  // over 256 KiB: past one request
    ASSERT_TRUE(host->set_text(to_desktop));
    // A raw requestor sees the parts (INCR); xclip pastes it whole.
    RawClient raw(x_->display());
    ASSERT_TRUE(raw.ok());
    std::this_thread::sleep_for(200ms);
    const auto p = raw.paste(10s);
    EXPECT_TRUE(p.incr);
    EXPECT_TRUE(p.complete);
    EXPECT_EQ(p.bytes.size(), to_desktop.size());
    EXPECT_TRUE(p.bytes == to_desktop);
    const auto pasted = paste_until(to_desktop);
    ASSERT_TRUE(pasted);
    EXPECT_EQ(pasted->size(), to_desktop.size());
    EXPECT_TRUE(*pasted == to_desktop);

    // The other way: an owner that sends its text in parts of 64 KiB.
    const std::string from_desktop = big_text(400 * 1024, 'h');
    RawClient owner(x_->display());
    ASSERT_TRUE(owner.ok());
    owner.own(from_desktop, 1000);
    const auto got = take_until(*host, from_desktop);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->size(), from_desktop.size());
    EXPECT_TRUE(*got == from_desktop);
    EXPECT_GE(owner.parts_sent(), 7);
    EXPECT_EQ(host->errors(), 0U) << host->last_error().value_or("");
}

TEST_F(X11Selection, TwoBridgesTradeALargeTextThroughIncr) {
    auto a = open(1U << 20);
    auto b = open(1U << 20);
    ASSERT_TRUE(a && b);
    const std::string text = big_text(600 * 1024, 'a');
    ASSERT_TRUE(a->set_text(text));
    const auto got = take_until(*b, text);
    ASSERT_TRUE(got);
    EXPECT_TRUE(*got == text);
    EXPECT_EQ(a->errors() + b->errors(), 0U);
}

TEST_F(X11Selection, TextOverTheLimitIsRefusedWithAClearError) {
    auto c = open(1000, 500ms);
    ASSERT_TRUE(c);
    copy(std::string(5000, 'x'));  // one property, over the limit
    for (int i = 0; i < 500 && c->errors() == 0; ++i)
        std::this_thread::sleep_for(10ms);
    EXPECT_NE(c->last_error().value_or("").find("is over the limit of 1000 bytes: not read"),
              std::string::npos)
        << c->last_error().value_or("(no error)");
    EXPECT_EQ(c->take_change(0), std::nullopt);
    // In parts: the announced size is already over the limit.
    RawClient owner(x_->display());
    ASSERT_TRUE(owner.ok());
    owner.own(std::string(300 * 1024, 'y'), 1000);
    for (int i = 0; i < 500 && c->errors() < 2; ++i)
        std::this_thread::sleep_for(10ms);
    EXPECT_NE(c->last_error().value_or("").find("(307200 bytes) is over the limit of 1000 bytes"),
              std::string::npos)
        << c->last_error().value_or("(no error)");
    EXPECT_EQ(owner.parts_sent(), 0);
    EXPECT_EQ(c->take_change(0), std::nullopt);
}

TEST_F(X11Selection, AnOwnerThatNeverAnswersTimesOutAndNothingHangs) {
    auto c = open(1U << 20, 300ms);
    ASSERT_TRUE(c);
    RawClient silent(x_->display());
    ASSERT_TRUE(silent.ok());
    silent.own("never sent", -1);  // never answers
    // The loop keeps calling meanwhile, never slowed.
    for (const auto end = Clock::now() + 3s; Clock::now() < end && c->errors() == 0;) {
        const auto t0 = Clock::now();
        EXPECT_EQ(c->take_change(0), std::nullopt);
        slowest_ = std::max(slowest_, Clock::now() - t0);
        std::this_thread::sleep_for(10ms);
    }
    EXPECT_LT(slowest_, 250ms);  // SDL 2.26 would wait 1 s in each read
    ASSERT_EQ(c->errors(), 1U);
    EXPECT_NE(c->last_error()->find("did not answer within 300 ms: its text is not read"),
              std::string::npos)
        << *c->last_error();
    // The next copy is read as usual, and the guest's text still served.
    copy("after the silent one");
    EXPECT_EQ(take_until(*c, "after the silent one"), "after the silent one");
    ASSERT_TRUE(c->set_text("the guest's"));
    EXPECT_EQ(paste_until("the guest's"), "the guest's");
    const auto t0 = Clock::now();
    c.reset();  // stops and joins its thread
    EXPECT_LT(Clock::now() - t0, 1s);
}

TEST_F(X11Selection, AnOwnerThatStopsSendingPartsTimesOut) {
    auto c = open(1U << 20, 300ms);
    ASSERT_TRUE(c);
    RawClient owner(x_->display());
    ASSERT_TRUE(owner.ok());
    owner.own(big_text(400 * 1024, 's'), 2);  // two parts, then silence
    for (int i = 0; i < 300 && c->errors() == 0; ++i)
        std::this_thread::sleep_for(10ms);
    ASSERT_EQ(c->errors(), 1U);
    EXPECT_NE(c->last_error()->find("did not answer within 300 ms while sending its text in parts"),
              std::string::npos)
        << *c->last_error();
    EXPECT_EQ(owner.parts_sent(), 2);
    EXPECT_EQ(c->take_change(0), std::nullopt);  // no partial text
}

TEST_F(X11Selection, OwnershipChangeDuringATransferEndsWithTheNewText) {
    auto c = open(1U << 20, 1500ms);
    ASSERT_TRUE(c);
    RawClient owner(x_->display());
    ASSERT_TRUE(owner.ok());
    owner.own(big_text(400 * 1024, 'o'), 2);  // stalls in the middle of its parts
    for (int i = 0; i < 300 && owner.parts_sent() < 2; ++i)
        std::this_thread::sleep_for(10ms);
    ASSERT_EQ(owner.parts_sent(), 2);
    copy("the new owner's text");  // before the stalled read times out
    EXPECT_EQ(take_until(*c, "the new owner's text", 3s), "the new owner's text");
    // Nothing of the abandoned read surfaced, and it is not reported as a timeout.
    std::this_thread::sleep_for(2000ms);
    EXPECT_EQ(c->take_change(0), std::nullopt);
    EXPECT_EQ(seen_, std::vector<std::string>{"the new owner's text"});
    EXPECT_EQ(c->errors(), 0U) << c->last_error().value_or("");
}

TEST_F(X11Selection, ARequestorThatStopsReadingPartsIsGivenUp) {
    auto c = open(1U << 20, 300ms);
    ASSERT_TRUE(c);
    const std::string text = big_text(300 * 1024, 'r');
    ASSERT_TRUE(c->set_text(text));
    RawClient stuck(x_->display());
    ASSERT_TRUE(stuck.ok());
    std::this_thread::sleep_for(200ms);
    const auto p = stuck.paste(5s, /*stall=*/true);
    EXPECT_TRUE(p.incr);
    for (int i = 0; i < 300 && c->errors() == 0; ++i)
        std::this_thread::sleep_for(10ms);
    ASSERT_EQ(c->errors(), 1U);
    EXPECT_NE(c->last_error()->find("stopped reading the text after 65536 of 307200 bytes"),
              std::string::npos)
        << *c->last_error();
    const auto pasted = paste_until(text);  // others still paste it
    ASSERT_TRUE(pasted);
    EXPECT_TRUE(*pasted == text);
}

// The Linux agent's backend shares the bridge: a text sent in parts is read there too.
TEST_F(X11Selection, AgentBackendReadsATextSentInParts) {
    auto agent = porthole::agent::clipboard::make_clipboard("x11", x_->display());
    ASSERT_TRUE(agent) << agent.error().message;
    ASSERT_TRUE(*agent);
    const std::string text = big_text(200 * 1024, 'z');
    RawClient owner(x_->display());
    ASSERT_TRUE(owner.ok());
    owner.own(text, 1000);
    std::optional<std::string> got;
    for (const auto end = Clock::now() + 10s; Clock::now() < end && !got;)
        got = (*agent)->wait(50ms);
    ASSERT_TRUE(got);
    EXPECT_TRUE(*got == text);
}

// The guest's image owned lazily: a paste waits for provide_png (and gets the
// bytes, INCR past the request size), or is refused after the timeout.
TEST_F(X11Selection, PasteOfALazyImageWaitsForItsBytesOrIsRefusedAfterTheTimeout) {
    auto c = open(1U << 20, 700ms);
    ASSERT_TRUE(c);
    ASSERT_TRUE(c->own_formats(std::nullopt, true));
    // Never provided: the paste fails and the timeout is said.
    const auto t0 = Clock::now();
    EXPECT_NE(sh("timeout 10 xclip -selection clipboard -o -t image/png >/dev/null 2>&1"), 0);
    EXPECT_LT(Clock::now() - t0, 5s);
    EXPECT_TRUE(c->take_image_events().png_wanted);
    for (int i = 0; i < 300 && c->errors() == 0; ++i)
        std::this_thread::sleep_for(10ms);
    ASSERT_GE(c->errors(), 1U);
    EXPECT_NE(c->last_error()->find("did not come from the other side within 700 ms"),
              std::string::npos)
        << *c->last_error();
    // Provided while the paste waits: it gets the bytes.
    const std::string image = big_text(600 * 1024, 'p');
    std::thread provider([&] {
        for (int i = 0; i < 500; ++i) {
            if (c->take_image_events().png_wanted) {
                c->provide_png(image);
                return;
            }
            std::this_thread::sleep_for(5ms);
        }
    });
    const auto pasted = paste_until(image, "image/png");
    provider.join();
    ASSERT_TRUE(pasted);
    EXPECT_TRUE(*pasted == image);
}

// A desktop image is only announced when copied, and read when fetched.
TEST_F(X11Selection, CopiedImageIsAnnouncedThenReadOnlyWhenFetched) {
    auto c = open();
    ASSERT_TRUE(c);
    const std::string image = big_text(900 * 1024, 'i');
    const std::string file = dir_ + "/image";
    std::ofstream(file, std::ios::binary) << image;
    ASSERT_EQ(sh("xclip -selection clipboard -t image/png -i " + file + " >/dev/null 2>&1"), 0);
    std::optional<porthole::client::clipboard::DesktopCopy> copy;
    for (int i = 0; i < 500 && !copy; ++i) {
        copy = c->take_copy(0);
        if (!copy) std::this_thread::sleep_for(10ms);
    }
    ASSERT_TRUE(copy);
    EXPECT_TRUE(copy->png);
    EXPECT_FALSE(copy->text);
    EXPECT_FALSE(c->take_image_events().png);  // not read
    c->fetch_png();
    std::optional<std::string> got;
    for (int i = 0; i < 500 && !got; ++i) {
        got = c->take_image_events().png;
        if (!got) std::this_thread::sleep_for(10ms);
    }
    ASSERT_TRUE(got);
    EXPECT_TRUE(*got == image);
}

// SDL's clipboard (the backend for Wayland and other drivers, here on X11):
// the render thread's calls touch only a cache, SDL's calls are made in the
// main thread's round, as window mode's two threads need.
TEST_F(X11Selection, SdlBackendCallsSdlOnlyInTheMainThreadsRound) {
    ASSERT_EQ(setenv("DISPLAY", x_->display().c_str(), 1), 0);
    ASSERT_EQ(setenv("SDL_VIDEODRIVER", "x11", 1), 0);
    ASSERT_EQ(SDL_InitSubSystem(SDL_INIT_VIDEO), 0) << SDL_GetError();
    copy("on the desktop");
    {
        auto c = porthole::client::clipboard::SdlClipboard::open();
        ASSERT_TRUE(c) << c.error().message;
        auto& sdl = **c;
        EXPECT_EQ(sdl.take_change(0), std::nullopt);  // nothing read before a round
        EXPECT_EQ(sdl.text_now(), std::nullopt);
        // A round reads what the desktop holds (xclip may take a moment to own it).
        std::optional<std::string> got;
        std::uint64_t t = 0;
        for (int i = 0; !got && i < 200; ++i, t += sdl.poll_ns) {
            sdl.serve_main_thread(t);
            got = sdl.take_change(t);
            if (!got) std::this_thread::sleep_for(50ms);
        }
        EXPECT_EQ(got, "on the desktop");
        EXPECT_EQ(sdl.take_change(0), std::nullopt);  // taken once
        EXPECT_EQ(sdl.text_now(), "on the desktop");

        ASSERT_TRUE(sdl.set_text("from the guest"));
        EXPECT_EQ(paste_until("on the desktop"), "on the desktop");  // not set before a round
        sdl.serve_main_thread(t);
        // SDL answers xclip's paste while its events are pumped, as the main thread does.
        auto paste = std::async(std::launch::async, [&] { return paste_until("from the guest"); });
        while (paste.wait_for(10ms) != std::future_status::ready)
            SDL_PumpEvents();
        EXPECT_EQ(paste.get(), "from the guest");
    }
    SDL_QuitSubSystem(SDL_INIT_VIDEO);
}

}  // namespace
