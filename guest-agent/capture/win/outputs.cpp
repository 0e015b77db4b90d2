#include "capture/win/outputs.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>

namespace porthole::agent::win {

namespace {

struct PciId {
    std::uint32_t vendor, device;  // device 0: every device of the vendor
};
constexpr PciId kEmulated[] = {
    {0x1b36, 0x0100},  // QXL (Red Hat)
    {0x1234, 0x1111},  // QEMU standard VGA (Bochs)
    {0x1af4, 0x1050},  // virtio-gpu
    {0x1013, 0x00b8},  // Cirrus CL-GD5446
    {0x15ad, 0x0405},  // VMware SVGA II
    {0x80ee, 0xbeef},  // VirtualBox VGA
    {0x1414, 0x008c},  // Microsoft Basic Render Driver
    {0x1414, 0x02c1},  // Hyper-V synthetic video
};
constexpr std::string_view kEmulatedNames[] = {
    "basic render", "basic display", "qxl", "red hat", "virtio", "standard vga", "hyper-v video"};

std::string lower(std::string_view s) {
    std::string r(s);
    std::transform(r.begin(), r.end(), r.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return r;
}

std::string describe(const OutputInfo& o) {
    char ids[32];
    std::snprintf(ids, sizeof(ids), "%04x:%04x", o.vendor_id, o.device_id);
    return o.device + " on " + o.adapter + " [" + ids + "], " + std::to_string(o.right - o.left) +
           "x" + std::to_string(o.bottom - o.top) + " at " + std::to_string(o.left) + "," +
           std::to_string(o.top);
}

}  // namespace

bool is_emulated_adapter(const OutputInfo& o) {
    if (o.software) return true;
    for (const auto& id : kEmulated)
        if (o.vendor_id == id.vendor && (id.device == 0 || o.device_id == id.device)) return true;
    const std::string name = lower(o.adapter);
    return std::any_of(std::begin(kEmulatedNames), std::end(kEmulatedNames),
                       [&name](std::string_view n) { return name.find(n) != std::string::npos; });
}

OutputChoice choose_output(std::span<const OutputInfo> outputs, std::string_view selector) {
    OutputChoice c;
    std::vector<std::size_t> attached;
    for (std::size_t i = 0; i < outputs.size(); ++i)
        if (outputs[i].attached) attached.push_back(i);

    if (!selector.empty()) {
        std::size_t n = 0;
        const auto [end, ec] =
            std::from_chars(selector.data(), selector.data() + selector.size(), n);
        if (ec == std::errc{} && end == selector.data() + selector.size()) {
            if (n < attached.size()) {
                c.index = attached[n];
                return c;
            }
            c.why = "--output " + std::string(selector) + ": there are " +
                    std::to_string(attached.size()) + " outputs (0.." +
                    std::to_string(attached.empty() ? 0 : attached.size() - 1) +
                    "); --list-outputs shows them";
            return c;
        }
        const std::string want = lower(selector);
        for (std::size_t i : attached) {
            if (lower(outputs[i].device) == want ||
                lower(outputs[i].adapter).find(want) != std::string::npos) {
                c.index = i;
                return c;
            }
        }
        c.why = "--output " + std::string(selector) +
                ": no attached output has that name; --list-outputs shows them";
        return c;
    }
    for (std::size_t i : attached) {
        if (!is_emulated_adapter(outputs[i])) {
            c.index = i;
            return c;
        }
    }
    c.no_display = true;
    c.why =
        "the passed-through GPU has no display attached, so Windows gives it no desktop to "
        "capture. Either connect a monitor or a dummy HDMI/DisplayPort plug to the GPU, or install "
        "a virtual display driver in the guest. Waiting for a display";
    if (!attached.empty()) {
        c.why += " (only emulated displays are attached: ";
        for (std::size_t k = 0; k < attached.size(); ++k)
            c.why += (k == 0 ? "" : ", ") + outputs[attached[k]].adapter;
        c.why += "; --output picks one of them anyway)";
    }
    return c;
}

std::vector<std::string> list_outputs(std::span<const OutputInfo> outputs) {
    std::vector<std::string> lines;
    std::size_t n = 0;
    for (const auto& o : outputs) {
        if (!o.attached) continue;
        lines.push_back(std::to_string(n++) + ": " + describe(o) +
                        (is_emulated_adapter(o) ? " (emulated, skipped unless chosen)" : ""));
    }
    return lines;
}

}  // namespace porthole::agent::win
