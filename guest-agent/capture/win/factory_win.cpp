#include "capture/win/factory_win.hpp"

#include <spdlog/spdlog.h>

#include <string>

#include "capture/win/dxgi.hpp"
#include "capture/win/gdi.hpp"

namespace porthole::agent::win {

Result<std::unique_ptr<CaptureSource>> make_windows_capture(std::string_view name,
                                                            const CaptureOptions& options) {
    const auto as_source = [](auto r) -> Result<std::unique_ptr<CaptureSource>> {
        if (!r) return r.error();
        return std::unique_ptr<CaptureSource>(std::move(*r));
    };
    if (name == "dxgi") return as_source(DxgiSource::create(options));
    if (name == "gdi") return as_source(GdiSource::create(options, "chosen with --capture gdi"));
    if (name == "auto") {
        auto dxgi = DxgiSource::create(options);
        if (dxgi) return as_source(std::move(dxgi));
        const std::string why = "DXGI desktop duplication is unavailable (" + dxgi.error().message +
                                "); using GDI capture (slower, no HDR)";
        spdlog::warn("{}", why);
        return as_source(GdiSource::create(options, why));
    }
    std::string msg = "not a Windows capture backend (dxgi, gdi, auto): ";
    msg += name;
    return Error::make(std::move(msg));
}

}  // namespace porthole::agent::win
