#include "porthole/qmp/usb.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace porthole::qmp {

namespace {

template <class T>
std::optional<T> parse_number(std::string_view s, int base) {
    T v{};
    if (s.empty()) return std::nullopt;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
    if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return v;
}

// A port path: 1..7 numbers of 1..255 (USB allows 7 tiers below the root hub) joined by '.'.
bool valid_port(std::string_view p) {
    int parts = 0;
    while (true) {
        const auto dot = p.find('.');
        const auto n = parse_number<unsigned>(p.substr(0, dot), 10);
        if (!n || *n == 0 || *n > 255) return false;
        if (++parts > 7) return false;
        if (dot == std::string_view::npos) return true;
        p.remove_prefix(dot + 1);
    }
}

std::optional<std::uint64_t> integer(const nlohmann::json& j) {
    if (j.is_number_unsigned()) return j.get<std::uint64_t>();
    if (j.is_number_integer() && j.get<std::int64_t>() >= 0)
        return static_cast<std::uint64_t>(j.get<std::int64_t>());
    return std::nullopt;
}

// A string member, "" when absent or not a string (QMP's answers are checked, not trusted).
std::string text_of(const nlohmann::json& j, const char* key) {
    if (!j.is_object()) return {};
    const auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

Result<UsbSelector> parse_usb_selector(std::string_view text) {
    const auto bad = [&] {
        return Error::make(
            fmt::format("'{}' names no USB device: give vendor:product in hex (046d:c52b, as lsusb "
                        "shows) or bus-port (3-1.2, as in /sys/bus/usb/devices)",
                        text));
    };
    UsbSelector s;
    if (const auto colon = text.find(':'); colon != std::string_view::npos) {
        const auto v = text.substr(0, colon), p = text.substr(colon + 1);
        if (v.size() != 4 || p.size() != 4) return bad();
        s.vendor = parse_number<std::uint16_t>(v, 16);
        s.product = parse_number<std::uint16_t>(p, 16);
        if (!s.vendor || !s.product) return bad();
        return s;
    }
    const auto dash = text.find('-');
    if (dash == std::string_view::npos) return bad();
    s.bus = parse_number<std::uint32_t>(text.substr(0, dash), 10);
    s.port = std::string(text.substr(dash + 1));
    if (!s.bus || *s.bus == 0 || *s.bus > 999 || !valid_port(s.port)) return bad();
    return s;
}

std::string to_string(const UsbSelector& s) {
    if (s.vendor) return fmt::format("{:04x}:{:04x}", *s.vendor, s.product.value_or(0));
    return fmt::format("{}-{}", s.bus.value_or(0), s.port);
}

std::string usb_device_id(const UsbSelector& s) {
    std::string id = "porthole-usb-" + to_string(s);
    std::replace(id.begin(), id.end(), ':', '-');
    return id;
}

nlohmann::json usb_device_add_arguments(const UsbSelector& s, std::string_view id) {
    nlohmann::json a{{"driver", "usb-host"}, {"id", id}};
    if (s.vendor) {
        a["vendorid"] = *s.vendor;
        a["productid"] = s.product.value_or(0);
    } else {
        a["hostbus"] = s.bus.value_or(0);
        a["hostport"] = s.port;
    }
    return a;
}

Result<std::vector<AttachedUsb>> list_usb(Channel& qmp) {
    auto children = qmp.execute("qom-list", {{"path", "/machine/peripheral"}});
    if (!children) return children.error();
    std::vector<AttachedUsb> out;
    if (!children->is_array()) return Error::make("QMP qom-list returned no list");
    for (const auto& c : *children) {
        if (text_of(c, "type") != "child<usb-host>") continue;
        const auto name = text_of(c, "name");
        if (name.empty()) continue;
        const auto path = "/machine/peripheral/" + name;
        const auto prop = [&](const char* p) -> Result<nlohmann::json> {
            return qmp.execute("qom-get", {{"path", path}, {"property", p}});
        };
        AttachedUsb a{name, {}};
        auto vendor = prop("vendorid"), product = prop("productid");
        if (!vendor) return vendor.error();
        if (!product) return product.error();
        const auto v = integer(*vendor), p = integer(*product);
        if (v && p && *v != 0 && *v <= 0xffff && *p <= 0xffff) {
            a.selector.vendor = static_cast<std::uint16_t>(*v);
            a.selector.product = static_cast<std::uint16_t>(*p);
        } else {
            auto bus = prop("hostbus"), port = prop("hostport");
            if (!bus) return bus.error();
            if (!port) return port.error();
            if (const auto b = integer(*bus); b && *b <= 0xffffffff)
                a.selector.bus = static_cast<std::uint32_t>(*b);
            if (port->is_string()) a.selector.port = port->get<std::string>();
        }
        out.push_back(std::move(a));
    }
    std::sort(out.begin(), out.end(),
              [](const AttachedUsb& x, const AttachedUsb& y) { return x.id < y.id; });
    return out;
}

Result<AttachedUsb> attach_usb(Channel& qmp, const UsbSelector& s) {
    const std::string id = usb_device_id(s);
    if (auto r = qmp.execute("device_add", usb_device_add_arguments(s, id)); !r) {
        const auto& why = r.error().message;
        std::string hint;
        if (why.find("Duplicate") != std::string::npos ||
            why.find("duplicate") != std::string::npos)
            hint = " (it is attached already: detach it first)";
        else if (why.find("bus") != std::string::npos)
            hint = " (the VM has no USB controller: give it one, e.g. -device qemu-xhci)";
        return Error::make(
            fmt::format("attaching USB device {} failed: {}{}", to_string(s), why, hint),
            r.error().code);
    }
    return AttachedUsb{id, s};
}

Result<std::string> detach_usb(Channel& qmp, std::string_view selector_or_id,
                               std::chrono::milliseconds timeout) {
    std::string id(selector_or_id);
    if (auto s = parse_usb_selector(selector_or_id)) id = usb_device_id(*s);
    if (auto r = qmp.execute("device_del", {{"id", id}}); !r)
        return Error::make(
            fmt::format("detaching USB device {} failed: {}", selector_or_id, r.error().message),
            r.error().code);
    auto gone = qmp.wait_event(
        "DEVICE_DELETED",
        [&](const nlohmann::json& e) {
            const auto d = e.find("data");
            return d != e.end() && text_of(*d, "device") == id;
        },
        timeout);
    if (!gone) return Error::make("USB device " + id + ": " + gone.error().message);
    return id;
}

}  // namespace porthole::qmp
