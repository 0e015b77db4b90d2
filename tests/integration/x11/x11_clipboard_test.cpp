// Clipboard text both ways with the real parts: porthole (window mode) on one
// Xvfb, porthole-agent --clipboard x11 on a second Xvfb, the region in
// /dev/shm; text copied and pasted with xclip on either display.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <png.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "child_process.hpp"
#include "porthole/ivshmem/mapping.hpp"
#include "porthole/protocol/layout.hpp"
#include "porthole/protocol/region.hpp"
#include "porthole/protocol/session.hpp"
#include "porthole/protocol/shared_memory.hpp"
#include "porthole/util/adaptive_wait.hpp"
#include "xvfb_server.hpp"

#include "raw_selection_client.hpp"  // last: Xlib #defines None and Status

namespace {

using namespace std::chrono_literals;
using porthole::testing::big_text;
using porthole::testing::Child;
using porthole::testing::RawClient;
using porthole::testing::read_file;
using porthole::testing::XvfbServer;
using Clock = std::chrono::steady_clock;

// Runs a shell command on a display with no sanitizer preload; its exit code.
int on_display(const XvfbServer& x, const std::string& cmd) {
    const std::string full = "env -u LD_PRELOAD DISPLAY=" + x.display() + " " + cmd;
    return std::system(full.c_str());
}

// One side's desktop: copy and paste through xclip, as a user's program would.
class Desktop {
  public:
    Desktop(const XvfbServer& x, std::string dir) : x_(x), dir_(std::move(dir)) {}
    // xclip stays in the background serving the text until another program copies.
    void copy(const std::string& text) const {
        const std::string file = dir_ + "/copy-" + x_.display().substr(1);
        std::ofstream(file, std::ios::binary) << text;
        ASSERT_EQ(on_display(x_, "xclip -selection clipboard -i " + file + " >/dev/null 2>&1"), 0);
    }
    // xclip serves the bytes as image/png.
    void copy_png(const std::string& png) const {
        const std::string file = dir_ + "/copy-png-" + x_.display().substr(1);
        std::ofstream(file, std::ios::binary) << png;
        ASSERT_EQ(on_display(x_, "xclip -selection clipboard -t image/png -i " + file +
                                     " >/dev/null 2>&1"),
                  0);
    }
    // The clipboard's text (or `target`), or nullopt when nobody offers any.
    [[nodiscard]] std::optional<std::string> paste(const std::string& target = "") const {
        const std::string file = dir_ + "/paste-" + x_.display().substr(1);
        const std::string t = target.empty() ? "" : " -t " + target;
        if (on_display(x_, "timeout 20 xclip -selection clipboard -o" + t + " >" + file +
                               " 2>/dev/null") != 0)
            return std::nullopt;
        return read_file(file);
    }
    // Waits for the clipboard to hold `want`; the last text seen otherwise.
    [[nodiscard]] std::optional<std::string> wait_for(const std::string& want,
                                                      std::chrono::seconds limit = 15s) const {
        const auto end = Clock::now() + limit;
        std::optional<std::string> got;
        while (Clock::now() < end) {
            got = paste();
            if (got == want) return got;
            std::this_thread::sleep_for(100ms);
        }
        return got;
    }

  private:
    const XvfbServer& x_;
    std::string dir_;
};

// The serials of the region's two clipboard channels, read from the file:
// how many texts each side has published.
struct Serials {
    std::uint64_t to_host = 0, to_guest = 0;
    bool operator==(const Serials&) const = default;
};

// A PNG of random pixels (they do not compress: about w*h*4 bytes).
std::string noise_png(std::uint32_t w, std::uint32_t h, unsigned seed) {
    std::vector<std::uint8_t> rgba(std::size_t{w} * h * 4);
    std::mt19937 rng(seed);
    for (auto& b : rgba)
        b = static_cast<std::uint8_t>(rng());
    png_image image{};
    image.version = PNG_IMAGE_VERSION;
    image.width = w;
    image.height = h;
    image.format = PNG_FORMAT_RGBA;
    png_alloc_size_t size = 0;
    if (png_image_write_to_memory(&image, nullptr, &size, 0, rgba.data(), 0, nullptr) == 0)
        return {};
    std::string out(size, '\0');
    if (png_image_write_to_memory(&image, out.data(), &size, 0, rgba.data(), 0, nullptr) == 0)
        return {};
    out.resize(size);
    return out;
}

// One clipboard channel's header, read from the region file.
std::optional<porthole::protocol::ClipboardHeader> read_clipboard_header(const std::string& region,
                                                                         bool to_guest) {
    using namespace porthole::protocol;
    const int fd = ::open(region.c_str(), O_RDONLY);
    if (fd < 0) return std::nullopt;
    struct stat st {};
    fstat(fd, &st);
    const auto size = static_cast<std::size_t>(st.st_size);
    void* p = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    if (p == MAP_FAILED) return std::nullopt;
    std::optional<ClipboardHeader> out;
    const auto* base = static_cast<const std::byte*>(p);
    const auto header = copy_out(*reinterpret_cast<const RegionHeader*>(base));
    if (auto l = validate_region(header, size)) {
        const auto& c = to_guest ? l->clipboard_to_guest : l->clipboard_to_host;
        out = copy_out(*reinterpret_cast<const ClipboardHeader*>(base + c.offset));
    }
    munmap(p, size);
    return out;
}

std::optional<Serials> read_serials(const std::string& region) {
    using namespace porthole::protocol;
    const int fd = ::open(region.c_str(), O_RDONLY);
    if (fd < 0) return std::nullopt;
    struct stat st {};
    fstat(fd, &st);
    const auto size = static_cast<std::size_t>(st.st_size);
    void* p = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    if (p == MAP_FAILED) return std::nullopt;
    std::optional<Serials> out;
    const auto* base = static_cast<const std::byte*>(p);
    const auto header = copy_out(*reinterpret_cast<const RegionHeader*>(base));
    if (auto l = validate_region(header, size)) {
        const auto at = [&](const ChannelSpan& c) {
            return copy_out(*reinterpret_cast<const ClipboardHeader*>(base + c.offset)).serial;
        };
        out = Serials{at(l->clipboard_to_host), at(l->clipboard_to_guest)};
    }
    munmap(p, size);
    return out;
}

class ClipboardBothWays : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/porthole-clipboard-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        region_ = "/dev/shm/porthole-clipboard-" + std::to_string(getpid());
        auto h = XvfbServer::start(320, 240, 24);
        ASSERT_TRUE(h) << h.error().message;
        host_x_ = std::make_unique<XvfbServer>(std::move(*h));
        auto g = XvfbServer::start(320, 240, 24);
        ASSERT_TRUE(g) << g.error().message;
        guest_x_ = std::make_unique<XvfbServer>(std::move(*g));
        host_ = std::make_unique<Desktop>(*host_x_, dir_);
        guest_ = std::make_unique<Desktop>(*guest_x_, dir_);
    }
    void TearDown() override {
        client_.reset();
        agent_.reset();
        host_x_.reset();  // the xclip servers end with their X servers
        guest_x_.reset();
        unlink(region_.c_str());
        std::system(("rm -rf " + dir_).c_str());
    }
    // Starts the agent, then porthole with `mode`; empty when both are ready.
    std::string start(const std::string& mode, const std::vector<std::string>& extra = {}) {
        agent_ = std::make_unique<Child>(
            std::vector<std::string>{PORTHOLE_AGENT_BIN, "--shm", region_, "--shm-size", "8",
                                     "--width", "64", "--height", "64", "--fps-limit", "5",
                                     "--input", "none", "--clipboard", "x11", "--display",
                                     guest_x_->display()},
            std::vector<std::string>{}, dir_ + "/agent.out");
        struct stat st {};
        for (int i = 0; i < 500 && stat(region_.c_str(), &st) != 0; ++i)
            std::this_thread::sleep_for(10ms);
        if (!wait_log(dir_ + "/agent.out", "clipboard: x11"))
            return "agent: " + read_file(dir_ + "/agent.out");
        std::vector<std::string> args{
            PORTHOLE_CLIENT_BIN, "--shm", region_,       "--size", "320x240", "--input", "none",
            "--audio",           "off",   "--clipboard", mode};
        args.insert(args.end(), extra.begin(), extra.end());
        client_ = std::make_unique<Child>(
            args, std::vector<std::string>{"DISPLAY=" + host_x_->display()}, dir_ + "/client.out");
        if (!wait_log(dir_ + "/agent.out", "host client"))
            return "never attached: " + read_file(dir_ + "/client.out");
        return {};
    }
    bool wait_log(const std::string& file, const std::string& text) {
        for (int i = 0; i < 300; ++i) {
            if (read_file(file).find(text) != std::string::npos) return true;
            std::this_thread::sleep_for(100ms);
        }
        return false;
    }
    [[nodiscard]] std::string logs() const {
        return "\n--- client:\n" + read_file(dir_ + "/client.out") + "\n--- agent:\n" +
               read_file(dir_ + "/agent.out");
    }

    std::string dir_, region_;
    std::unique_ptr<XvfbServer> host_x_, guest_x_;
    std::unique_ptr<Desktop> host_, guest_;
    std::unique_ptr<Child> agent_, client_;
};

TEST_F(ClipboardBothWays, HostTextReachesTheGuestAndGuestTextTheHostByteExact) {
    const auto failed = start("both");
    ASSERT_TRUE(failed.empty()) << failed;
    // SDL runs on X11 here: the desktop's clipboard is watched on its own thread.
    EXPECT_TRUE(wait_log(dir_ + "/client.out", "the desktop's through x11")) << logs();
    const std::string to_guest =
        "h\xC3\xA9llo w\xC3\xB6rld \xE2\x9C\x93 \xF0\x9F\x98\x80\nline 2\n";
    host_->copy(to_guest);
    EXPECT_EQ(guest_->wait_for(to_guest), to_guest) << logs();
    const std::string to_host = "from the guest: \xC3\xB8 \xE2\x82\xAC\n\ttabbed";
    guest_->copy(to_host);
    EXPECT_EQ(host_->wait_for(to_host), to_host) << logs();
    // Each text crossed once, and nothing came back the way it went, for a
    // while after (SDL's fallback would have polled three times).
    std::this_thread::sleep_for(1500ms);
    const auto s = read_serials(region_);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->to_guest, 1U) << logs();
    EXPECT_EQ(s->to_host, 1U) << logs();
}

TEST_F(ClipboardBothWays, RapidChangesEndWithTheLastValueOnBothSidesWithoutEcho) {
    const auto failed = start("both");
    ASSERT_TRUE(failed.empty()) << failed;
    for (int i = 0; i < 8; ++i) {
        host_->copy("host value " + std::to_string(i));
        std::this_thread::sleep_for(30ms);
    }
    EXPECT_EQ(guest_->wait_for("host value 7"), "host value 7") << logs();
    for (int i = 0; i < 8; ++i) {
        guest_->copy("guest value " + std::to_string(i));
        std::this_thread::sleep_for(30ms);
    }
    EXPECT_EQ(host_->wait_for("guest value 7"), "guest value 7") << logs();
    EXPECT_EQ(guest_->paste(), "guest value 7");
    // Settled: the serials stop (an echo loop would keep publishing).
    const auto a = read_serials(region_);
    std::this_thread::sleep_for(1500ms);
    const auto b = read_serials(region_);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(*a, *b) << logs();
    EXPECT_LE(b->to_guest, 8U) << logs();
    EXPECT_LE(b->to_host, 8U) << logs();
    EXPECT_EQ(host_->paste(), "guest value 7");
    EXPECT_EQ(guest_->paste(), "guest value 7");
}

// Programs that send a large text in parts (INCR), as GTK and Qt do: the
// client's X11 watcher and the agent read them (SDL 2.26 could not).
TEST_F(ClipboardBothWays, TextsSentInPartsCrossBothWays) {
    const auto failed = start("both");
    ASSERT_TRUE(failed.empty()) << failed;
    const std::string to_guest = big_text(200 * 1024, 'h');  // within the 256 KiB channel
    RawClient host_owner(host_x_->display());
    ASSERT_TRUE(host_owner.ok());
    host_owner.own(to_guest, 1000);
    const auto in_guest = guest_->wait_for(to_guest);
    ASSERT_TRUE(in_guest) << logs();
    EXPECT_EQ(in_guest->size(), to_guest.size()) << logs();
    EXPECT_TRUE(*in_guest == to_guest);
    EXPECT_GE(host_owner.parts_sent(), 3);
    const std::string to_host = big_text(180 * 1024, 'g');
    RawClient guest_owner(guest_x_->display());
    ASSERT_TRUE(guest_owner.ok());
    guest_owner.own(to_host, 1000);
    const auto on_host = host_->wait_for(to_host);
    ASSERT_TRUE(on_host) << logs();
    EXPECT_EQ(on_host->size(), to_host.size()) << logs();
    EXPECT_TRUE(*on_host == to_host);
    EXPECT_GE(guest_owner.parts_sent(), 2);
}

TEST_F(ClipboardBothWays, ToGuestSendsTheHostsTextButNeverTakesTheGuests) {
    const auto failed = start("to-guest");
    ASSERT_TRUE(failed.empty()) << failed;
    host_->copy("first from the host");
    EXPECT_EQ(guest_->wait_for("first from the host"), "first from the host") << logs();
    guest_->copy("the guest's secret");
    // The agent offers it (the to-host serial moves) and the client leaves it.
    for (int i = 0; i < 100 && read_serials(region_)->to_host == 0; ++i)
        std::this_thread::sleep_for(100ms);
    EXPECT_EQ(read_serials(region_)->to_host, 1U) << logs();
    host_->copy("second from the host");  // a turn of the client's loop later
    EXPECT_EQ(guest_->wait_for("second from the host"), "second from the host") << logs();
    EXPECT_EQ(host_->paste(), "second from the host");
    EXPECT_EQ(read_file(dir_ + "/client.out").find("secret"), std::string::npos);
}

TEST_F(ClipboardBothWays, OffSharesNothing) {
    const auto failed = start("off");
    ASSERT_TRUE(failed.empty()) << failed;
    host_->copy("stays on the host");
    guest_->copy("stays in the guest");
    // The agent offers the guest's text; the client, with the clipboard off, neither
    // takes it nor publishes anything.
    for (int i = 0; i < 100 && read_serials(region_)->to_host == 0; ++i)
        std::this_thread::sleep_for(100ms);
    std::this_thread::sleep_for(1500ms);
    EXPECT_EQ(read_serials(region_)->to_guest, 0U) << logs();
    EXPECT_EQ(host_->paste(), "stays on the host");
    EXPECT_EQ(guest_->paste(), "stays in the guest");
}

// Images (image/png) both ways, lazily: only the offer crosses when copied;
// the bytes (several times the channel's 512 KiB, in acked chunks; INCR on
// both X servers) only when a program pastes, byte-exact.
TEST_F(ClipboardBothWays, ImagesCrossBothWaysByteExactOnlyWhenPasted) {
    const auto failed = start("both");
    ASSERT_TRUE(failed.empty()) << failed;
    const std::string to_guest = noise_png(640, 480, 1);  // about 1.2 MiB
    ASSERT_GT(to_guest.size(), 1U << 20);
    host_->copy_png(to_guest);
    for (int i = 0; i < 100 && read_serials(region_)->to_guest == 0; ++i)
        std::this_thread::sleep_for(100ms);
    std::this_thread::sleep_for(500ms);
    // Offered, not sent: no answer has been written into the channel.
    auto before = read_clipboard_header(region_, true);
    ASSERT_TRUE(before);
    EXPECT_EQ(before->serial, 1U) << logs();
    EXPECT_EQ(before->answer_total, 0U) << logs();
    const auto targets = guest_->paste("TARGETS");
    ASSERT_TRUE(targets) << logs();
    EXPECT_NE(targets->find("image/png"), std::string::npos) << *targets;
    const auto in_guest = guest_->paste("image/png");
    ASSERT_TRUE(in_guest) << logs();
    EXPECT_EQ(in_guest->size(), to_guest.size()) << logs();
    EXPECT_TRUE(*in_guest == to_guest);
    EXPECT_EQ(read_clipboard_header(region_, true)->answer_total, to_guest.size());

    const std::string to_host = noise_png(700, 500, 2);
    guest_->copy_png(to_host);
    for (int i = 0; i < 100 && read_serials(region_)->to_host == 0; ++i)
        std::this_thread::sleep_for(100ms);
    std::this_thread::sleep_for(500ms);
    EXPECT_EQ(read_clipboard_header(region_, false)->answer_total, 0U) << logs();
    std::optional<std::string> on_host;
    for (int i = 0; i < 50 && (!on_host || on_host->size() != to_host.size()); ++i) {
        on_host = host_->paste("image/png");
        if (!on_host || on_host->size() != to_host.size()) std::this_thread::sleep_for(100ms);
    }
    ASSERT_TRUE(on_host) << logs();
    EXPECT_EQ(on_host->size(), to_host.size()) << logs();
    EXPECT_TRUE(*on_host == to_host);
    // Each crossed once; nothing echoed back.
    std::this_thread::sleep_for(1000ms);
    const auto s = read_serials(region_);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->to_guest, 1U) << logs();
    EXPECT_EQ(s->to_host, 1U) << logs();
}

TEST_F(ClipboardBothWays, GuestImageOverTheLimitIsRefusedWithOneClearLine) {
    const auto failed = start("both", {"--clipboard-max-size", "100000"});
    ASSERT_TRUE(failed.empty()) << failed;
    host_->copy("the host's text");
    EXPECT_EQ(guest_->wait_for("the host's text"), "the host's text") << logs();
    const std::string big = noise_png(600, 500, 3);
    guest_->copy_png(big);
    for (int i = 0; i < 100 && read_serials(region_)->to_host == 0; ++i)
        std::this_thread::sleep_for(100ms);
    std::this_thread::sleep_for(300ms);
    // The host owns the guest's image (lazily); pasting it fetches it and is refused.
    const auto pasted = host_->paste("image/png");
    EXPECT_TRUE(!pasted || pasted->empty()) << pasted->size();
    EXPECT_TRUE(wait_log(dir_ + "/client.out", "over the limit of 100000 bytes")) << logs();
    const std::string log = read_file(dir_ + "/client.out");
    EXPECT_NE(log.find("image/png of " + std::to_string(big.size()) +
                       " bytes refused: over the limit of 100000 bytes"),
              std::string::npos)
        << log;
}

TEST_F(ClipboardBothWays, RapidImageAndTextChangesEndWithTheLastValueWithoutEcho) {
    const auto failed = start("both");
    ASSERT_TRUE(failed.empty()) << failed;
    for (int i = 0; i < 6; ++i) {
        if (i % 2 == 0)
            host_->copy_png(noise_png(64, 64, static_cast<unsigned>(10 + i)));
        else
            host_->copy("host value " + std::to_string(i));
        std::this_thread::sleep_for(30ms);
    }
    const std::string last = noise_png(300, 300, 99);
    host_->copy_png(last);
    std::optional<std::string> got;
    for (int i = 0; i < 100 && got != last; ++i) {
        got = guest_->paste("image/png");
        if (got != last) std::this_thread::sleep_for(100ms);
    }
    EXPECT_TRUE(got == last) << logs();
    const auto a = read_serials(region_);
    std::this_thread::sleep_for(1500ms);
    const auto b = read_serials(region_);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(*a, *b) << logs();
    EXPECT_EQ(b->to_host, 0U) << logs();  // the guest never offered the host's values back
}

// A hostile guest: this process plays the agent and writes what it likes into
// the guest->host clipboard channel. The real client refuses it with a clear
// line, at most one every 5 s, and the desktop's clipboard keeps its text.
TEST(HostileGuestClipboard, ClientRefusesBadUtf8AndOversizeTextWithOneClearLine) {
    namespace protocol = porthole::protocol;
    char tmpl[] = "/tmp/porthole-clipboard-hostile-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    const std::string dir = tmpl;
    const std::string region = "/dev/shm/porthole-clipboard-hostile-" + std::to_string(getpid());
    struct Cleanup {
        std::string dir, region;
        ~Cleanup() {
            unlink(region.c_str());
            std::system(("rm -rf " + dir).c_str());
        }
    } cleanup{dir, region};
    auto x = XvfbServer::start(320, 240, 24);
    ASSERT_TRUE(x) << x.error().message;
    const Desktop host(*x, dir);
    host.copy("the host's own text");

    auto map = porthole::ivshmem::create_region_file(region, std::size_t{8} << 20);
    ASSERT_TRUE(map) << map.error().message;
    auto session = protocol::AgentSession::create(
        map->bytes(), protocol::LayoutParams{}, protocol::cap::frames | protocol::cap::clipboard,
        "hostile-clipboard-test", porthole::monotonic_ns());
    ASSERT_TRUE(session) << session.error().message;
    // The guest's side of the clipboard, answering the client's requests.
    protocol::ClipboardEndpoint clip(session->channels().clipboard_out,
                                     session->channels().clipboard_in);
    const auto pump = [&](std::chrono::milliseconds d) {
        for (const auto end = Clock::now() + d; Clock::now() < end;) {
            session->tick(porthole::monotonic_ns());
            auto ev = clip.step();
            if (ev.request) clip.refuse(ev.request->id);
            std::this_thread::sleep_for(5ms);
        }
    };
    Child client({PORTHOLE_CLIENT_BIN, "--shm", region, "--size", "320x240", "--input", "none",
                  "--audio", "off", "--clipboard-limit", "1000"},
                 {"DISPLAY=" + x->display()}, dir + "/client.out");
    for (int i = 0; i < 1500 && session->client_session() == 0; ++i)
        pump(20ms);
    ASSERT_NE(session->client_session(), 0U) << read_file(dir + "/client.out");

    // Ten offers of invalid UTF-8, then ten sizes over the limit (never read).
    using Format = protocol::ClipboardEndpoint::Format;
    for (int i = 0; i < 10; ++i) {
        std::vector<Format> f;
        f.push_back({protocol::ClipboardMime::text_utf8, 0,
                     std::string("bad \xC3\x28 text " + std::to_string(i))});
        ASSERT_TRUE(clip.offer(std::move(f)));
        pump(30ms);
    }
    const auto offer_oversize = [&clip] {
        std::vector<Format> f;
        f.push_back({protocol::ClipboardMime::text_utf8, 200'000, std::nullopt});
        ASSERT_TRUE(clip.offer(std::move(f)));
    };
    for (int i = 0; i < 10; ++i) {
        offer_oversize();
        pump(30ms);
    }
    pump(500ms);
    const std::string log = read_file(dir + "/client.out");
    const auto count = [&log](const std::string& what) {
        std::size_t n = 0;
        for (auto at = log.find(what); at != std::string::npos; at = log.find(what, at + 1))
            ++n;
        return n;
    };
    EXPECT_EQ(count("the guest's clipboard text is not valid UTF-8 (byte 4 of"), 1U) << log;
    // Within 5 s of the first line: the oversize offers are counted, not logged.
    EXPECT_EQ(count("clipboard: "), 2U) << log;  // "clipboard: both ..." and the refusal
    EXPECT_EQ(host.paste(), "the host's own text");
    // After the quiet period the next refusal is said, with what was left unsaid.
    pump(5000ms);
    offer_oversize();
    pump(500ms);
    const std::string later = read_file(dir + "/client.out");
    EXPECT_NE(later.find("clipboard text of 200000 bytes is over the limit of 1000 bytes"),
              std::string::npos)
        << later;
    EXPECT_NE(later.find("(19 more refused since the last line)"), std::string::npos) << later;
    EXPECT_EQ(host.paste(), "the host's own text");
    EXPECT_EQ(client.terminate(), 0) << later;
}

}  // namespace
