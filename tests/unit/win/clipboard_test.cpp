// The Windows agent's clipboard backend under Wine: the host's text becomes
// CF_UNICODETEXT, another program's copy comes back as UTF-8, and the
// backend's own text is never reported as a copy.
#include <gtest/gtest.h>
#include <windows.h>

#include <chrono>
#include <optional>
#include <string>

#include "clipboard/win32.hpp"

namespace {

using porthole::agent::clipboard::ClipboardBackend;
using porthole::agent::clipboard::make_win32_clipboard;

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
