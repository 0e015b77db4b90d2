#pragma once
// Which display output DXGI duplicates. A VFIO guest usually has QEMU's
// emulated display (QXL, VGA, virtio-gpu) besides the passed-through GPU, and
// Windows may list the emulated one first; the user passed the GPU through to
// have it captured, so emulated adapters are skipped. Pure logic over what
// the DXGI enumeration reported, so it is tested without a GPU.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace porthole::agent::win {

struct OutputInfo {
    std::uint32_t adapter_index = 0, output_index = 0;
    std::string adapter;  // DXGI_ADAPTER_DESC1::Description
    std::uint32_t vendor_id = 0, device_id = 0;
    bool software = false;                                  // DXGI_ADAPTER_FLAG_SOFTWARE
    std::string device;                                     // "\\.\DISPLAY1"
    bool attached = false;                                  // AttachedToDesktop
    std::int32_t left = 0, top = 0, right = 0, bottom = 0;  // on the virtual desktop
};

// QEMU's and other hypervisors' emulated displays and Microsoft's Basic
// Render/Display driver, by PCI id or description.
bool is_emulated_adapter(const OutputInfo& o);

struct OutputChoice {
    std::optional<std::size_t> index;  // into the list given
    std::string why;                   // when none: what the user can do
    bool no_display = false;           // no real GPU drives a display (keep waiting)
};
// selector: "" (the first attached output of a real GPU), a number (the
// position in list_outputs' numbering of attached outputs) or a name (the
// device, e.g. \\.\DISPLAY2, or a part of the adapter's description).
OutputChoice choose_output(std::span<const OutputInfo> outputs, std::string_view selector);

// One line per attached output, numbered as --output takes them.
std::vector<std::string> list_outputs(std::span<const OutputInfo> outputs);

}  // namespace porthole::agent::win
