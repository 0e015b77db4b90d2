#include "clipboard/win32.hpp"

#include <objbase.h>
#include <windows.h>

#include <spdlog/spdlog.h>

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

    Result<void> set_text(std::string text) override { return own_formats(std::move(text), false); }

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
        if (!changed_) return out;
        changed_ = false;
        if (GetClipboardOwner() == window_) return out;  // the host's: no echo
        out.copied = read_text();
        // An image is only announced; fetch_png converts it when the host asks.
        out.copied_png = IsClipboardFormatAvailable(CF_DIB) != 0;
        out.copy_seen = out.copied || out.copied_png;
        return out;
    }

    // The host's text is set at once; its image only announced (delayed
    // rendering: SetClipboardData with no data) and fetched from the host when
    // a program pastes it, inside WM_RENDERFORMAT.
    Result<void> own_formats(std::optional<std::string> text, bool png) override {
        if (auto ok = ensure_window(); !ok) return ok;
        HGLOBAL mem = nullptr;
        if (text) {
            const std::wstring w = to_windows_text(*text);
            mem = GlobalAlloc(GMEM_MOVEABLE, (w.size() + 1) * sizeof(wchar_t));
            if (mem == nullptr) return Error::make("clipboard: out of memory for the host's text");
            auto* dst = static_cast<wchar_t*>(GlobalLock(mem));
            std::copy(w.begin(), w.end(), dst);
            dst[w.size()] = L'\0';
            GlobalUnlock(mem);
        }
        if (!open_clipboard(window_)) {
            if (mem != nullptr) GlobalFree(mem);
            return Error::make("clipboard: another program keeps the Windows clipboard open");
        }
        // Makes our window the owner: its own change is never read back. (If it
        // owned the clipboard already, WM_DESTROYCLIPBOARD clears delayed_png_ here.)
        EmptyClipboard();
        const bool set_text = mem == nullptr || SetClipboardData(CF_UNICODETEXT, mem) != nullptr;
        const DWORD text_error = GetLastError();
        delayed_png_ = false;
        if (png && fetch_) {
            // With no data, success returns null too: only the error tells.
            SetLastError(ERROR_SUCCESS);
            SetClipboardData(CF_DIB, nullptr);
            delayed_png_ = GetLastError() == ERROR_SUCCESS;
        }
        CloseClipboard();
        if (!set_text) {
            GlobalFree(mem);
            return Error::make("clipboard: SetClipboardData failed (error " +
                               std::to_string(text_error) + ")");
        }
        return {};
    }

    void set_host_png_fetch(HostPngFetch fetch) override { fetch_ = std::move(fetch); }

    void close() override {
        if (window_ == nullptr) return;
        // The data announced but not yet pasted stays on the clipboard after us.
        if (delayed_png_ && GetClipboardOwner() == window_)
            SendMessageW(window_, WM_RENDERALLFORMATS, 0, 0);
        RemoveClipboardFormatListener(window_);
        DestroyWindow(window_);
        window_ = nullptr;
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
        auto* self = reinterpret_cast<Win32Clipboard*>(GetWindowLongPtrW(hwnd, GWLP_USERDATA));
        if (self == nullptr) return DefWindowProcW(hwnd, msg, wp, lp);
        switch (msg) {
            case WM_CLIPBOARDUPDATE:
                self->changed_ = true;
                return 0;
            case WM_RENDERFORMAT:
                // A program pastes: the clipboard is open already (not opened here).
                if (wp == CF_DIB) self->render_dib();
                return 0;
            case WM_RENDERALLFORMATS:
                // The window goes: render while still the owner, clipboard opened here.
                if (self->delayed_png_ && open_clipboard(hwnd)) {
                    if (GetClipboardOwner() == hwnd) self->render_dib();
                    CloseClipboard();
                }
                self->delayed_png_ = false;
                return 0;
            case WM_DESTROYCLIPBOARD:
                self->delayed_png_ = false;  // emptied: the image is owed no more
                return 0;
            default:
                return DefWindowProcW(hwnd, msg, wp, lp);
        }
    }

    // Sets the host's image as CF_DIB (the clipboard is open); on failure
    // nothing is set and the paste gets no data.
    void render_dib() {
        if (!delayed_png_ || !fetch_) return;
        auto png = fetch_();  // bounded wait; says why when it gives up
        if (!png) return;
        auto dib = png_to_dib(*png);
        if (!dib) {
            spdlog::warn("clipboard: the host's image not pasted: {}", dib.error().message);
            return;
        }
        HGLOBAL mem = GlobalAlloc(GMEM_MOVEABLE, dib->size());
        if (mem == nullptr) return;
        std::memcpy(GlobalLock(mem), dib->data(), dib->size());
        GlobalUnlock(mem);
        if (SetClipboardData(CF_DIB, mem) == nullptr) {
            GlobalFree(mem);
            return;
        }
        delayed_png_ = false;
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
    HostPngFetch fetch_;
    bool delayed_png_ = false;  // CF_DIB announced, not yet rendered
    std::string error_;
};

}  // namespace

std::unique_ptr<ClipboardBackend> make_win32_clipboard() {
    return std::make_unique<Win32Clipboard>();
}

}  // namespace porthole::agent::clipboard
