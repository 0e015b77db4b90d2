#include "display/win32.hpp"

#include <windows.h>

#include <string>

#include "display/modes.hpp"
#include "win/utf16.hpp"

namespace porthole::agent::display {

namespace {

// Modes of the current colour depth only: a 16-bit desktop is not what the
// host's window asked for.
class Win32Modes final : public DisplayModes {
  public:
    explicit Win32Modes(std::wstring device) : device_(std::move(device)) {}
    [[nodiscard]] std::string_view name() const override { return "win32"; }

    Result<std::vector<Mode>> modes() override {
        auto cur = current_devmode();
        if (!cur) return cur.error();
        std::vector<Mode> out;
        DEVMODEW dm{};
        dm.dmSize = sizeof dm;
        for (DWORD i = 0; EnumDisplaySettingsExW(dev(), i, &dm, 0) != 0; ++i) {
            if (dm.dmBitsPerPel == cur->dmBitsPerPel)
                out.push_back(Mode{dm.dmPelsWidth, dm.dmPelsHeight, dm.dmDisplayFrequency * 1000});
            dm = DEVMODEW{};
            dm.dmSize = sizeof dm;
        }
        return out;
    }

    Result<Mode> current() override {
        auto cur = current_devmode();
        if (!cur) return cur.error();
        return Mode{cur->dmPelsWidth, cur->dmPelsHeight, cur->dmDisplayFrequency * 1000};
    }

    Status set(const Mode& mode) override {
        auto cur = current_devmode();
        if (!cur) return cur.error();
        DEVMODEW dm{};
        dm.dmSize = sizeof dm;
        dm.dmPelsWidth = mode.width;
        dm.dmPelsHeight = mode.height;
        dm.dmBitsPerPel = cur->dmBitsPerPel;
        dm.dmFields = DM_PELSWIDTH | DM_PELSHEIGHT | DM_BITSPERPEL;
        if (mode.refresh_mhz != 0) {
            dm.dmDisplayFrequency = mode.refresh_mhz / 1000;
            dm.dmFields |= DM_DISPLAYFREQUENCY;
        }
        if (const LONG r = ChangeDisplaySettingsExW(dev(), &dm, nullptr, CDS_TEST, nullptr);
            r != DISP_CHANGE_SUCCESSFUL)
            return Error::make("win32: " + describe(mode) + " refused by the test (" + why(r) + ")",
                               static_cast<int>(r));
        if (const LONG r = ChangeDisplaySettingsExW(dev(), &dm, nullptr, 0, nullptr);
            r != DISP_CHANGE_SUCCESSFUL)
            return Error::make("win32: cannot set " + describe(mode) + " (" + why(r) + ")",
                               static_cast<int>(r));
        return {};
    }

  private:
    [[nodiscard]] const wchar_t* dev() const { return device_.empty() ? nullptr : device_.c_str(); }

    Result<DEVMODEW> current_devmode() const {
        DEVMODEW dm{};
        dm.dmSize = sizeof dm;
        if (EnumDisplaySettingsExW(dev(), ENUM_CURRENT_SETTINGS, &dm, 0) == 0)
            return Error::make("win32: cannot read the display's current mode",
                               static_cast<int>(GetLastError()));
        return dm;
    }

    static std::string describe(const Mode& m) {
        return std::to_string(m.width) + "x" + std::to_string(m.height) + "@" +
               std::to_string(m.refresh_mhz / 1000) + "Hz";
    }
    static std::string why(LONG r) {
        switch (r) {
            case DISP_CHANGE_BADMODE:
                return "the display does not support that mode";
            case DISP_CHANGE_FAILED:
                return "the driver failed";
            case DISP_CHANGE_RESTART:
                return "Windows needs a restart for it";
            case DISP_CHANGE_BADPARAM:
            case DISP_CHANGE_BADFLAGS:
                return "bad parameters";
            case DISP_CHANGE_NOTUPDATED:
                return "not updated";
            case DISP_CHANGE_BADDUALVIEW:
                return "a DualView display";
            default:
                return "code " + std::to_string(r);
        }
    }

    std::wstring device_;
};

}  // namespace

std::string display_device_at(std::int32_t x, std::int32_t y) {
    HMONITOR monitor = MonitorFromPoint(POINT{x, y}, MONITOR_DEFAULTTONULL);
    MONITORINFOEXW info{};
    info.cbSize = sizeof info;
    if (monitor == nullptr || GetMonitorInfoW(monitor, &info) == 0) return {};
    return win::narrow(info.szDevice);
}

Result<std::unique_ptr<DisplayModes>> open_win32_modes(const std::string& device) {
    auto modes = std::make_unique<Win32Modes>(win::widen(device));
    if (auto cur = modes->current(); !cur) return cur.error();
    return std::unique_ptr<DisplayModes>(std::move(modes));
}

}  // namespace porthole::agent::display
