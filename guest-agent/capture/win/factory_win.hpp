#pragma once
// The Windows capture backends behind capture/source.hpp's make_capture.

#include <memory>
#include <string_view>

#include "capture/source.hpp"

namespace porthole::agent::win {

// "dxgi": Desktop Duplication or an error saying why it is unavailable.
// "gdi": BitBlt capture. "auto": DXGI, else GDI with a warning that says why.
Result<std::unique_ptr<CaptureSource>> make_windows_capture(std::string_view name,
                                                            const CaptureOptions& options);

}  // namespace porthole::agent::win
