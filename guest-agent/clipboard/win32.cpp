#include "clipboard/win32.hpp"

#include <objbase.h>
#include <windows.h>

#include <cstring>
#include <string>

#include "clipboard/dib_png.hpp"
#include "win/utf16.hpp"

namespace porthole::agent::clipboard {
namespace {

std::wstring to_windows_text(std::string_view utf8) {
    std::string crlf;
    crlf.reserve(utf8.size());
    for (std::size_t i = 0; i < utf8.size(); ++i) {
        if (utf8[i] == '\n' && (i == 0 || utf8[i - 1] != '\r')) crlf += '\r';
        crlf += utf8[i];
    }
    return win::widen(crlf);
}

std::string from_windows_text(std::wstring_view w) {
    const std::string s = win::narrow(w);
    std::string lf;
    lf.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i)
        if (!(s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n')) lf += s[i];
    return lf;
}

// OpenClipboard fails while another program holds it: retry briefly.
bool open_clipboard(HWND owner) {
    for (int i = 0; i < 20; ++i) {
        if (OpenClipboard(owner) != 0) return true;
        Sleep(5);
    }
    return false;
}

class Win32Clipboard final : public ClipboardBackend {
  public:
    Win32Clipboard() = default;
    ~Win32Clipboard() override {
        if (window_ != nullptr) {
            RemoveClipboardFormatListener(window_);
            DestroyWindow(window_);
        }
    }
    Win32Clipboard(const Win32Clipboard&) = delete;
    Win32Clipboard& operator=(const Win32Clipboard&) = delete;

    [[nodiscard]] std::string_view name() const override { return "win32"; }

    Result<void> set_text(std::string text) override {
        if (auto ok = ensure_window(); !ok) return ok;
        const std::wstring w = to_windows_text(text);
        HGLOBAL mem = GlobalAlloc(GMEM_MOVEABLE, (w.size() + 1) * sizeof(wchar_t));
        if (mem == nullptr) return Error::make("clipboard: out of memory for the host's text");
        auto* dst = static_cast<wchar_t*>(GlobalLock(mem));
        std::copy(w.begin(), w.end(), dst);
        dst[w.size()] = L'\0';
        GlobalUnlock(mem);
        if (!open_clipboard(window_)) {
            GlobalFree(mem);
            return Error::make("clipboard: another program keeps the Windows clipboard open");
        }
        EmptyClipboard();  // makes our window the owner: its own change is never read back
        const bool set = SetClipboardData(CF_UNICODETEXT, mem) != nullptr;
        CloseClipboard();
        if (!set) {
            GlobalFree(mem);
            return Error::make("clipboard: SetClipboardData failed (error " +
                               std::to_string(GetLastError()) + ")");
        }
        return {};
    }

    std::optional<std::string> wait(std::chrono::milliseconds timeout) override {
        return step(timeout).copied;
    }

    BackendStep step(std::chrono::milliseconds timeout) override {
        BackendStep out;
        if (!ensure_window()) {
            Sleep(static_cast<DWORD>(timeout.count()));
            return out;
        }
        MsgWaitForMultipleObjects(0, nullptr, FALSE, static_cast<DWORD>(timeout.count()),
                                  QS_ALLINPUT);
        MSG msg;
        while (PeekMessageW(&msg, nullptr, 0, 0, PM_REMOVE) != 0) {
            TranslateMessage(&msg);
            DispatchMessageW(&msg);
        }
        out.png = std::exchange(fetched_, std::nullopt);
        out.png_failed = std::exchange(fetch_failed_, false);
        out.png_wanted = std::exchange(png_wanted_, false);
        if (!changed_) return out;
        changed_ = false;
        if (GetClipboardOwner() == window_) return out;  // the host's: no echo
        out.copied = read_text();
        // An image is only announced; fetch_png converts it when the host asks.
        out.copied_png = IsClipboardFormatAvailable(CF_DIB) != 0;
        out.copy_seen = out.copied || out.copied_png;
        return out;
    }

    // The host's image is fetched as soon as it is offered (not when pasted:
    // delayed rendering would need it within WM_RENDERFORMAT) and set as
    // CF_DIB by provide_png while this window still owns the clipboard.
    Result<void> own_formats(std::optional<std::string> text, bool png) override {
        if (text) {
            if (auto ok = set_text(std::move(*text)); !ok) return ok;
        } else if (png) {
            if (auto ok = ensure_window(); !ok) return ok;
            if (!open_clipboard(window_))
                return Error::make("clipboard: another program keeps the Windows clipboard open");
            EmptyClipboard();
            CloseClipboard();
        }
        png_wanted_ = png;
        return {};
    }

    void provide_png(std::optional<std::string> png) override {
        if (!png || GetClipboardOwner() != window_) return;  // another copy since
        auto dib = png_to_dib(*png);
        if (!dib) return;
        HGLOBAL mem = GlobalAlloc(GMEM_MOVEABLE, dib->size());
        if (mem == nullptr) return;
        std::memcpy(GlobalLock(mem), dib->data(), dib->size());
        GlobalUnlock(mem);
        if (!open_clipboard(window_)) {
            GlobalFree(mem);
            return;
        }
        // Still the owner: the image joins the text without emptying it.
        if (SetClipboardData(CF_DIB, mem) == nullptr) GlobalFree(mem);
        CloseClipboard();
    }

    void fetch_png() override {
        fetch_failed_ = true;
        if (!ensure_window() || !open_clipboard(window_)) return;
        std::string dib;
        if (HANDLE h = GetClipboardData(CF_DIB); h != nullptr) {
            if (const auto* p = static_cast<const char*>(GlobalLock(h)); p != nullptr) {
                dib.assign(p, GlobalSize(h));
                GlobalUnlock(h);
            }
        }
        CloseClipboard();
        if (dib.empty()) return;
        if (auto png = dib_to_png(dib)) {
            fetched_ = std::move(*png);
            fetch_failed_ = false;
        }
    }

  private:
    static LRESULT CALLBACK proc(HWND hwnd, UINT msg, WPARAM wp, LPARAM lp) {
        if (msg == WM_CLIPBOARDUPDATE) {
            auto* self = reinterpret_cast<Win32Clipboard*>(GetWindowLongPtrW(hwnd, GWLP_USERDATA));
            if (self != nullptr) self->changed_ = true;
            return 0;
        }
        return DefWindowProcW(hwnd, msg, wp, lp);
    }

    Result<void> ensure_window() {
        if (window_ != nullptr) return {};
        if (!error_.empty()) return Error::make(error_);
        // WIC (the image conversions) on this thread; kept for the thread's life.
        CoInitializeEx(nullptr, COINIT_MULTITHREADED);
        WNDCLASSW wc{};
        wc.lpfnWndProc = &Win32Clipboard::proc;
        wc.hInstance = GetModuleHandleW(nullptr);
        wc.lpszClassName = L"PortholeClipboard";
        RegisterClassW(&wc);  // fails harmlessly when already registered
        window_ = CreateWindowExW(0, wc.lpszClassName, L"porthole clipboard", 0, 0, 0, 0, 0,
                                  HWND_MESSAGE, nullptr, wc.hInstance, nullptr);
        if (window_ == nullptr || AddClipboardFormatListener(window_) == 0) {
            error_ = "clipboard: cannot listen to the Windows clipboard (error " +
                     std::to_string(GetLastError()) + ")";
            if (window_ != nullptr) DestroyWindow(window_);
            window_ = nullptr;
            return Error::make(error_);
        }
        SetWindowLongPtrW(window_, GWLP_USERDATA, reinterpret_cast<LONG_PTR>(this));
        changed_ = true;  // text copied before the agent started is offered too
        return {};
    }

    std::optional<std::string> read_text() {
        if (IsClipboardFormatAvailable(CF_UNICODETEXT) == 0) return std::nullopt;
        if (!open_clipboard(window_)) return std::nullopt;
        std::optional<std::string> out;
        if (HANDLE h = GetClipboardData(CF_UNICODETEXT); h != nullptr) {
            if (const auto* w = static_cast<const wchar_t*>(GlobalLock(h)); w != nullptr) {
                // Bounded by the allocation, never by a missing terminator alone.
                const std::size_t cap = GlobalSize(h) / sizeof(wchar_t);
                std::size_t n = 0;
                while (n < cap && w[n] != L'\0')
                    ++n;
                out = from_windows_text(std::wstring_view(w, n));
                GlobalUnlock(h);
            }
        }
        CloseClipboard();
        return out;
    }

    HWND window_ = nullptr;
    bool changed_ = false;
    std::optional<std::string> fetched_;  // fetch_png's image, for the next step
    bool fetch_failed_ = false;
    bool png_wanted_ = false;
    std::string error_;
};

}  // namespace

std::unique_ptr<ClipboardBackend> make_win32_clipboard() {
    return std::make_unique<Win32Clipboard>();
}

}  // namespace porthole::agent::clipboard
