// The Windows agent's clipboard backend under Wine: the host's text becomes
// CF_UNICODETEXT, another program's copy comes back as UTF-8, and the
// backend's own text is never reported as a copy.
#include <gtest/gtest.h>
#include <objbase.h>
#include <windows.h>

#include <cstring>
#include <vector>

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "clipboard/dib_png.hpp"
#include "clipboard/win32.hpp"

namespace {

using porthole::agent::clipboard::ClipboardBackend;
using porthole::agent::clipboard::dib_to_png;
using porthole::agent::clipboard::make_win32_clipboard;
using porthole::agent::clipboard::png_to_dib;

// A 24-bit bottom-up DIB of w x h with a pattern that tells rows and columns apart.
std::string pattern_dib(int w, int h) {
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
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            auto* p = dib.data() + sizeof bh + static_cast<std::size_t>(h - 1 - y) * stride +
                      static_cast<std::size_t>(x) * 3;
            p[0] = static_cast<char>(x * 7);        // B
            p[1] = static_cast<char>(y * 11);       // G
            p[2] = static_cast<char>((x ^ y) * 3);  // R
        }
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
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            ASSERT_EQ(pixel(a, x, y), pixel(b, x, y)) << "at " << x << "," << y;
}

struct ComScope {
    ComScope() { CoInitializeEx(nullptr, COINIT_MULTITHREADED); }
    ~ComScope() { CoUninitialize(); }
};

std::optional<std::wstring> clipboard_text() {
    if (OpenClipboard(nullptr) == 0) return std::nullopt;
    std::optional<std::wstring> out;
    if (HANDLE h = GetClipboardData(CF_UNICODETEXT); h != nullptr) {
        if (const auto* w = static_cast<const wchar_t*>(GlobalLock(h))) {
            out = std::wstring(w);
            GlobalUnlock(h);
        }
    }
    CloseClipboard();
    return out;
}

// Copies as another program does (the clipboard then has no owner window).
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

// The first text the backend reports within 10 s.
std::optional<std::string> next_copy(ClipboardBackend& b) {
    for (int i = 0; i < 200; ++i)
        if (auto t = b.wait(std::chrono::milliseconds(50))) return t;
    return std::nullopt;
}

TEST(Win32Clipboard, HostTextBecomesUnicodeTextWithCrlfLineEnds) {
    auto b = make_win32_clipboard();
    ASSERT_TRUE(b->set_text("h\xC3\xA9llo \xE2\x9C\x93\nworld"));
    EXPECT_EQ(clipboard_text(), std::wstring(L"h\u00E9llo \u2713\r\nworld"));
}

TEST(Win32Clipboard, AnotherProgramsCopyArrivesAsUtf8WithLfLineEnds) {
    auto b = make_win32_clipboard();
    b->wait(std::chrono::milliseconds(10));  // starts listening; drops what was there
    ASSERT_TRUE(copy_as_another_program(L"from windows \u00F8\r\nline 2 \U0001F600"));
    EXPECT_EQ(next_copy(*b), "from windows \xC3\xB8\nline 2 \xF0\x9F\x98\x80");
}

TEST(Win32Clipboard, ItsOwnTextIsNeverReportedAsACopy) {
    auto b = make_win32_clipboard();
    b->wait(std::chrono::milliseconds(10));
    ASSERT_TRUE(copy_as_another_program(L"before"));
    ASSERT_EQ(next_copy(*b), "before");
    ASSERT_TRUE(b->set_text("from the host"));
    // Its clipboard update arrives and is handled in these turns, and not reported.
    for (int i = 0; i < 5; ++i)
        EXPECT_EQ(b->wait(std::chrono::milliseconds(50)), std::nullopt);
    ASSERT_TRUE(copy_as_another_program(L"after"));
    EXPECT_EQ(next_copy(*b), "after");
}

}  // namespace

TEST(Win32Clipboard, DibAndPngConvertBothWaysPixelExact) {
    const ComScope com;
    const std::string dib = pattern_dib(37, 19);  // an odd width: padded rows
    auto png = dib_to_png(dib);
    ASSERT_TRUE(png) << png.error().message;
    ASSERT_GE(png->size(), 8U);
    EXPECT_EQ(png->substr(1, 3), "PNG");
    auto back = png_to_dib(*png);
    ASSERT_TRUE(back) << back.error().message;
    expect_same_pixels(dib, *back, 37, 19);
    EXPECT_FALSE(dib_to_png(dib.substr(0, 100)));  // shorter than its pixels
    EXPECT_FALSE(png_to_dib("not a png at all"));
}

TEST(Win32Clipboard, AnotherProgramsImageIsOfferedAndConvertedOnlyWhenFetched) {
    const ComScope com;
    auto b = make_win32_clipboard();
    b->wait(std::chrono::milliseconds(10));
    const std::string dib = pattern_dib(64, 40);
    ASSERT_NE(OpenClipboard(nullptr), 0);
    EmptyClipboard();
    HGLOBAL mem = GlobalAlloc(GMEM_MOVEABLE, dib.size());
    std::memcpy(GlobalLock(mem), dib.data(), dib.size());
    GlobalUnlock(mem);
    ASSERT_NE(SetClipboardData(CF_DIB, mem), nullptr);
    CloseClipboard();
    porthole::agent::clipboard::BackendStep st;
    for (int i = 0; i < 200 && !st.copy_seen; ++i)
        st = b->step(std::chrono::milliseconds(50));
    ASSERT_TRUE(st.copy_seen);
    EXPECT_TRUE(st.copied_png);
    EXPECT_FALSE(st.png);  // announced, not converted
    b->fetch_png();
    auto got = b->step(std::chrono::milliseconds(10));
    ASSERT_TRUE(got.png);
    auto back = png_to_dib(*got.png);
    ASSERT_TRUE(back) << back.error().message;
    expect_same_pixels(dib, *back, 64, 40);
}

TEST(Win32Clipboard, HostImageIsRenderedOnlyWhenPastedAndNeverReportedBack) {
    const ComScope com;
    auto b = make_win32_clipboard();
    const std::string dib = pattern_dib(50, 30);
    auto png = dib_to_png(dib);
    ASSERT_TRUE(png);
    int fetched = 0;
    b->set_host_png_fetch([&]() -> std::optional<std::string> {
        ++fetched;
        return *png;
    });
    b->wait(std::chrono::milliseconds(10));
    ASSERT_TRUE(b->own_formats(std::string("with text"), true));
    EXPECT_FALSE(b->step(std::chrono::milliseconds(10)).png_wanted);
    EXPECT_NE(IsClipboardFormatAvailable(CF_DIB), 0);  // announced
    EXPECT_EQ(fetched, 0);
    // The paste: WM_RENDERFORMAT reaches the backend's window (this thread's).
    ASSERT_NE(OpenClipboard(nullptr), 0);
    std::string got;
    if (HANDLE h = GetClipboardData(CF_DIB); h != nullptr) {
        got.assign(static_cast<const char*>(GlobalLock(h)), GlobalSize(h));
        GlobalUnlock(h);
    }
    CloseClipboard();
    EXPECT_EQ(fetched, 1);
    ASSERT_GE(got.size(), sizeof(BITMAPINFOHEADER));
    expect_same_pixels(dib, got, 50, 30);
    EXPECT_EQ(clipboard_text(), std::wstring(L"with text"));
    for (int i = 0; i < 10; ++i)
        EXPECT_FALSE(b->step(std::chrono::milliseconds(20)).copy_seen);
    b->close();
    EXPECT_EQ(fetched, 1);  // rendered already: nothing owed at close
}
