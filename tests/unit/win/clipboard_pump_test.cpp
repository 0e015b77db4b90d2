// The Windows agent's clipboard pump under Wine, with the host's side of the
// clipboard channels on its own thread: the host's image is only announced
// (delayed rendering) and travels when a program pastes it, inside
// WM_RENDERFORMAT; a host that never answers costs a bounded wait.
#include <gtest/gtest.h>
#include <objbase.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <windows.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <thread>

#include "clipboard/dib_png.hpp"
#include "clipboard/pump.hpp"
#include "clipboard/win32.hpp"
#include "porthole/protocol/clipboard_channel.hpp"
#include "support/aligned_region.hpp"

namespace {

using namespace std::chrono_literals;
using porthole::agent::clipboard::ClipboardPump;
using porthole::agent::clipboard::dib_to_png;
using porthole::agent::clipboard::make_win32_clipboard;
using porthole::protocol::ClipboardEndpoint;
using porthole::protocol::ClipboardMime;
using porthole::protocol::ClipboardReader;
using porthole::protocol::ClipboardWriter;
using porthole::testing::AlignedRegion;

struct ComScope {
    ComScope() { CoInitializeEx(nullptr, COINIT_MULTITHREADED); }
    ~ComScope() { CoUninitialize(); }
};

// A 24-bit bottom-up DIB of noise: its PNG is larger than a channel's data area.
std::string noise_dib(int w, int h) {
    BITMAPINFOHEADER bh{};
    bh.biSize = sizeof bh;
    bh.biWidth = w;
    bh.biHeight = h;
    bh.biPlanes = 1;
    bh.biBitCount = 24;
    bh.biCompression = BI_RGB;
    const auto stride = static_cast<std::size_t>((w * 3 + 3) / 4 * 4);
    std::string dib(sizeof bh + stride * static_cast<std::size_t>(h), '\0');
    std::memcpy(dib.data(), &bh, sizeof bh);
    std::mt19937 rng(7);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w * 3; ++x)
            dib[sizeof bh + static_cast<std::size_t>(y) * stride + static_cast<std::size_t>(x)] =
                static_cast<char>(rng());
    return dib;
}

// The pixel (B, G, R) at x, y (top-down) of a 24- or 32-bit DIB.
std::array<std::uint8_t, 3> pixel(const std::string& dib, int x, int y) {
    BITMAPINFOHEADER bh{};
    std::memcpy(&bh, dib.data(), sizeof bh);
    const int h = bh.biHeight < 0 ? -bh.biHeight : bh.biHeight;
    const int row = bh.biHeight > 0 ? h - 1 - y : y;
    const auto stride = static_cast<std::size_t>((bh.biWidth * bh.biBitCount + 31) / 32 * 4);
    const auto* p = reinterpret_cast<const std::uint8_t*>(dib.data()) + bh.biSize +
                    static_cast<std::size_t>(row) * stride +
                    static_cast<std::size_t>(x) * (bh.biBitCount / 8U);
    return {p[0], p[1], p[2]};
}

void expect_same_pixels(const std::string& a, const std::string& b, int w, int h) {
    ASSERT_GE(b.size(), sizeof(BITMAPINFOHEADER));
    BITMAPINFOHEADER bh{};
    std::memcpy(&bh, b.data(), sizeof bh);
    ASSERT_EQ(bh.biWidth, w);
    ASSERT_EQ(bh.biHeight < 0 ? -bh.biHeight : bh.biHeight, h);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            ASSERT_EQ(pixel(a, x, y), pixel(b, x, y)) << "at " << x << "," << y;
}

// The Windows clipboard's CF_DIB as a paste reads it ("" when it has none).
std::string paste_dib() {
    if (OpenClipboard(nullptr) == 0) return {};
    std::string got;
    if (HANDLE h = GetClipboardData(CF_DIB); h != nullptr) {
        if (const auto* p = static_cast<const char*>(GlobalLock(h)); p != nullptr) {
            got.assign(p, GlobalSize(h));
            GlobalUnlock(h);
        }
    }
    CloseClipboard();
    return got;
}

bool copy_as_another_program(const std::wstring& text) {
    if (OpenClipboard(nullptr) == 0) return false;
    EmptyClipboard();
    HGLOBAL mem = GlobalAlloc(GMEM_MOVEABLE, (text.size() + 1) * sizeof(wchar_t));
    auto* dst = static_cast<wchar_t*>(GlobalLock(mem));
    std::copy(text.begin(), text.end(), dst);
    dst[text.size()] = L'\0';
    GlobalUnlock(mem);
    const bool ok = SetClipboardData(CF_UNICODETEXT, mem) != nullptr;
    CloseClipboard();
    return ok;
}

// The region's two clipboard channels (60 KiB data areas), laid out as the agent does.
struct Channels {
    Channels() : to_host(16 * 4096), to_guest(16 * 4096) {
        EXPECT_TRUE(porthole::protocol::init_clipboard_channel(to_host.bytes()));
        EXPECT_TRUE(porthole::protocol::init_clipboard_channel(to_guest.bytes()));
        agent_out.emplace(*ClipboardWriter::attach(to_host.bytes()));
        agent_in.emplace(*ClipboardReader::attach(to_guest.bytes()));
    }
    AlignedRegion to_host;
    AlignedRegion to_guest;
    std::optional<ClipboardWriter> agent_out;
    std::optional<ClipboardReader> agent_in;
};

// The host's side, on its own thread: offers an image (and a text when given),
// counts the agent's requests for the image and answers them unless told not to.
class Host {
  public:
    Host(Channels& ch, std::string png, std::optional<std::string> text, bool answers)
        : endpoint_(*ClipboardWriter::attach(ch.to_guest.bytes()),
                    *ClipboardReader::attach(ch.to_host.bytes())) {
        std::vector<ClipboardEndpoint::Format> f;
        if (text) f.push_back({ClipboardMime::text_utf8, 0, std::move(text)});
        f.push_back({ClipboardMime::image_png, png.size(), std::nullopt});
        EXPECT_TRUE(endpoint_.offer(std::move(f)));
        thread_ = std::jthread([this, png = std::move(png), answers](const std::stop_token& st) {
            while (!st.stop_requested()) {
                auto ev = endpoint_.step();
                if (ev.request && ev.request->mime == ClipboardMime::image_png) {
                    png_requests.fetch_add(1);
                    if (answers) (void)endpoint_.answer(ev.request->id, png);
                }
                if (!ev.active) std::this_thread::sleep_for(1ms);
            }
        });
    }
    std::atomic<int> png_requests{0};

  private:
    ClipboardEndpoint endpoint_;
    std::jthread thread_;
};

// spdlog's default logger into a string for the test's life.
class CapturedLog {
  public:
    CapturedLog() : previous_(spdlog::default_logger()) {
        auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
        sink->set_pattern("%v");
        spdlog::set_default_logger(std::make_shared<spdlog::logger>("captured", sink));
    }
    ~CapturedLog() { spdlog::set_default_logger(previous_); }
    CapturedLog(const CapturedLog&) = delete;
    CapturedLog& operator=(const CapturedLog&) = delete;
    [[nodiscard]] std::string text() {
        spdlog::default_logger()->flush();
        return out_.str();
    }

  private:
    std::shared_ptr<spdlog::logger> previous_;
    std::ostringstream out_;
};

// Another test's image may still be on Wine's clipboard (one per wineserver):
// each test starts from a text of "another program".
void start_clean() {
    ASSERT_TRUE(copy_as_another_program(L"before"));
    ASSERT_EQ(IsClipboardFormatAvailable(CF_DIB), 0);
}

// Waits up to 10 s until the Windows clipboard announces CF_DIB (the agent owns it).
bool dib_announced() {
    for (int i = 0; i < 200; ++i) {
        if (IsClipboardFormatAvailable(CF_DIB) != 0) return true;
        std::this_thread::sleep_for(50ms);
    }
    return false;
}

int count(const std::string& s, std::string_view what) {
    int n = 0;
    for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + 1))
        ++n;
    return n;
}

}  // namespace

TEST(Win32ClipboardPump, HostImageTravelsOnlyWhenPastedAndArrivesPixelExact) {
    const ComScope com;
    start_clean();
    const std::string dib = noise_dib(300, 200);
    auto png = dib_to_png(dib);
    ASSERT_TRUE(png) << png.error().message;
    ASSERT_GT(png->size(), 120U * 1024);  // more than two chunks of the data area
    Channels ch;
    Host host(ch, *png, std::string("with text"), true);
    ClipboardPump pump(make_win32_clipboard(), *ch.agent_in, *ch.agent_out);
    ASSERT_TRUE(dib_announced());
    std::this_thread::sleep_for(300ms);  // time for an eager fetch, were there one
    EXPECT_EQ(host.png_requests.load(), 0) << "the image travelled before a paste";
    const std::string got = paste_dib();
    EXPECT_EQ(host.png_requests.load(), 1);
    expect_same_pixels(dib, got, 300, 200);
    // Pasted again: the clipboard holds it now, nothing travels twice.
    EXPECT_EQ(paste_dib(), got);
    EXPECT_EQ(host.png_requests.load(), 1);
}

TEST(Win32ClipboardPump, HostThatNeverAnswersGivesABoundedWaitAndAnEmptyPasteWithOneLogLine) {
    const ComScope com;
    start_clean();
    CapturedLog log;
    auto png = dib_to_png(noise_dib(40, 30));
    ASSERT_TRUE(png);
    Channels ch;
    Host host(ch, *png, std::nullopt, false);
    ClipboardPump pump(make_win32_clipboard(), *ch.agent_in, *ch.agent_out, 400ms);
    ASSERT_TRUE(dib_announced());
    const auto t0 = std::chrono::steady_clock::now();
    const std::string got = paste_dib();
    const auto waited = std::chrono::steady_clock::now() - t0;
    EXPECT_EQ(got, "");
    EXPECT_EQ(host.png_requests.load(), 1);
    EXPECT_GE(waited, 400ms);
    EXPECT_LT(waited, 2400ms);
    EXPECT_EQ(count(log.text(), "did not send its image within 400 ms"), 1) << log.text();
}

TEST(Win32ClipboardPump, AnnouncedImageIsRenderedWhenTheAgentStops) {
    const ComScope com;
    start_clean();
    const std::string dib = noise_dib(64, 48);
    auto png = dib_to_png(dib);
    ASSERT_TRUE(png);
    Channels ch;
    Host host(ch, *png, std::string("text too"), true);
    {
        ClipboardPump pump(make_win32_clipboard(), *ch.agent_in, *ch.agent_out);
        ASSERT_TRUE(dib_announced());
        EXPECT_EQ(host.png_requests.load(), 0);
    }  // WM_RENDERALLFORMATS: fetched once, while the agent's window still owns the clipboard
    EXPECT_EQ(host.png_requests.load(), 1);
    expect_same_pixels(dib, paste_dib(), 64, 48);
}

TEST(Win32ClipboardPump, AnotherProgramsCopyDropsTheImageOwed) {
    const ComScope com;
    start_clean();
    auto png = dib_to_png(noise_dib(64, 48));
    ASSERT_TRUE(png);
    Channels ch;
    Host host(ch, *png, std::nullopt, true);
    {
        ClipboardPump pump(make_win32_clipboard(), *ch.agent_in, *ch.agent_out);
        ASSERT_TRUE(dib_announced());
        ASSERT_TRUE(copy_as_another_program(L"mine now"));  // WM_DESTROYCLIPBOARD
    }
    EXPECT_EQ(host.png_requests.load(), 0);  // nothing fetched at exit for a clipboard not ours
    EXPECT_EQ(paste_dib(), "");
}
