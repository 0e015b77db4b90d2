#include "porthole/vfio/host_use.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "porthole/vfio/iommu.hpp"

namespace porthole::vfio {

namespace {

int hex_digit(char c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

// A sysfs capability bitmap: hex words of `long`, most significant first.
class Bitmap {
  public:
    static Bitmap parse(std::string_view text) {
        Bitmap b;
        auto words = split(text);
        for (auto it = words.rbegin(); it != words.rend(); ++it) {
            uint64_t v = 0;
            std::string_view w = *it;
            if (w.size() > 16) w = w.substr(w.size() - 16);
            for (char c : w) {
                int d = hex_digit(c);
                if (d < 0) return {};
                v = (v << 4) | static_cast<uint64_t>(d);
            }
            b.words_.push_back(v);
        }
        return b;
    }
    [[nodiscard]] uint64_t word(size_t i) const { return i < words_.size() ? words_[i] : 0; }
    [[nodiscard]] bool test(unsigned bit) const { return (word(bit / 64) >> (bit % 64)) & 1u; }

  private:
    std::vector<uint64_t> words_;  // least significant first
};

constexpr unsigned kEvKey = 1, kEvRel = 2, kRelX = 0, kRelY = 1, kBtnMouse = 0x110;

bool under(const std::string& child, const std::string& parent) {
    return child.size() > parent.size() && child.starts_with(parent) && child[parent.size()] == '/';
}

std::string read_text(const System& sys, const std::string& path) {
    return valid_utf8(sys.read_trimmed(path).value_or(""));
}

std::string path_of(const System& sys, const std::string& logical) {
    auto p = sys.canonical(logical);
    return p ? p->string() : std::string();
}

// Mount points in /proc/self/mountinfo escape blanks as \040.
std::string unescape_octal(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() &&
            std::all_of(s.begin() + static_cast<long>(i) + 1, s.begin() + static_cast<long>(i) + 4,
                        [](char c) { return c >= '0' && c <= '7'; })) {
            out += static_cast<char>(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) |
                                     (s[i + 3] - '0'));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return valid_utf8(out);
}

std::string base_name(std::string_view path) {
    auto slash = path.rfind('/');
    return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

// A hex word of /proc/net: IPv4 in the kernel's in-memory order (little-endian host).
std::optional<uint32_t> route_word(std::string_view hex) {
    if (hex.empty() || hex.size() > 8) return std::nullopt;
    uint32_t v = 0;
    for (char c : hex) {
        int d = hex_digit(c);
        if (d < 0) return std::nullopt;
        v = (v << 4) | static_cast<uint32_t>(d);
    }
    return v;
}

std::optional<uint32_t> dotted_to_route_word(std::string_view dotted) {
    auto parts = split(dotted, ".");
    if (parts.size() != 4) return std::nullopt;
    uint32_t v = 0;
    for (size_t i = 0; i < 4; ++i) {
        auto octet = parse_decimal(parts[i], 255);
        if (!octet) return std::nullopt;
        v |= static_cast<uint32_t>(*octet) << (8 * i);
    }
    return v;
}

int popcount(uint32_t v) {
    int n = 0;
    for (; v; v &= v - 1)
        ++n;
    return n;
}

struct Route {
    std::string iface;
    uint32_t dest = 0;
    uint32_t mask = 0;
};

// Interfaces with a default route (IPv4 and IPv6) and each interface's addresses.
void read_routes(const System& sys, std::set<std::string>& defaults,
                 std::map<std::string, std::vector<std::string>>& addresses) {
    std::vector<Route> links;
    if (auto text = sys.read("/proc/net/route")) {
        auto lines = split(*text, "\n");
        for (size_t i = 1; i < lines.size(); ++i) {
            auto f = split(lines[i]);
            if (f.size() < 8) continue;
            auto dest = route_word(f[1]), gw = route_word(f[2]), mask = route_word(f[7]);
            auto flags = route_word(f[3]);
            if (!dest || !gw || !mask || !flags || !(*flags & 1u)) continue;
            if (*dest == 0 && *mask == 0) {
                defaults.insert(f[0]);
            } else if (*gw == 0) {
                links.push_back({f[0], *dest, *mask});
            }
        }
    }
    // Local IPv4 addresses: "|-- a.b.c.d" followed by "/32 host LOCAL".
    std::set<std::string> local;
    if (auto text = sys.read("/proc/net/fib_trie")) {
        std::string last;
        for (const auto& line : split(*text, "\n")) {
            auto bar = line.find("|-- ");
            if (bar != std::string::npos) {
                last = trim(line.substr(bar + 4));
            } else if (line.find("/32 host LOCAL") != std::string::npos && !last.empty() &&
                       !last.starts_with("127.")) {
                local.insert(last);
            }
        }
    }
    for (const auto& addr : local) {
        auto word = dotted_to_route_word(addr);
        if (!word) continue;
        const Route* best = nullptr;
        for (const auto& r : links) {
            if ((*word & r.mask) == r.dest && (!best || popcount(r.mask) > popcount(best->mask))) {
                best = &r;
            }
        }
        if (best) addresses[best->iface].push_back(addr);
    }
    // IPv6: global and site addresses per interface; the default route's interface.
    if (auto text = sys.read("/proc/net/if_inet6")) {
        for (const auto& line : split(*text, "\n")) {
            auto f = split(line);
            if (f.size() < 6 || f[0].size() != 32) continue;
            if (f[3] == "20" || f[3] == "10") continue;  // link-local, loopback
            unsigned char bytes[16];
            bool ok = true;
            for (size_t i = 0; i < 16 && ok; ++i) {
                int hi = hex_digit(f[0][2 * i]), lo = hex_digit(f[0][2 * i + 1]);
                ok = hi >= 0 && lo >= 0;
                if (ok) bytes[i] = static_cast<unsigned char>((hi << 4) | lo);
            }
            char buf[INET6_ADDRSTRLEN];
            if (ok && ::inet_ntop(AF_INET6, bytes, buf, sizeof buf)) addresses[f[5]].push_back(buf);
        }
    }
    if (auto text = sys.read("/proc/net/ipv6_route")) {
        for (const auto& line : split(*text, "\n")) {
            auto f = split(line);
            if (f.size() < 10 || f[0] != std::string(32, '0') || f[1] != "00") continue;
            auto flags = route_word(f[8]);
            if (!flags || !(*flags & 0x1u) || (*flags & 0x200u) || f[9] == "lo") continue;
            defaults.insert(f[9]);
        }
    }
}

}  // namespace

std::vector<std::string> DisplayUse::evidence() const {
    std::vector<std::string> out;
    if (!boot_vga && connected.empty()) return out;
    if (!connected.empty()) {
        std::string names;
        for (const auto& c : connected)
            names += (names.empty() ? "" : ", ") + c;
        out.push_back("a monitor is connected to it (" + names + ")");
    }
    if (console) out.push_back("the text console (fbcon) draws on it");
    if (!firmware_framebuffer.empty()) {
        out.push_back("the firmware framebuffer (" + firmware_framebuffer +
                      ") lives in its memory");
    }
    return out;
}

DisplayUse read_display_use(const System& sys, const PciDevice& dev) {
    DisplayUse d;
    d.boot_vga = dev.boot_vga;
    const std::string dir = std::string(kPciDevices) + "/" + dev.bdf;
    const auto class_drm = sys.list("/sys/class/drm");
    for (const auto& card : sys.list(dir + "/drm")) {
        if (!card.starts_with("card") || card.find('-') != std::string::npos) continue;
        std::set<std::string> connectors;
        for (const auto& n : sys.list(dir + "/drm/" + card)) {
            if (n.starts_with(card + "-")) connectors.insert(n);
        }
        for (const auto& n : class_drm) {
            if (n.starts_with(card + "-")) connectors.insert(n);
        }
        for (const auto& c : connectors) {
            auto status = sys.read_trimmed("/sys/class/drm/" + c + "/status");
            if (!status) status = sys.read_trimmed(dir + "/drm/" + card + "/" + c + "/status");
            if (status.value_or("") == "connected") d.connected.push_back(valid_utf8(c));
        }
    }
    if (!dev.is_display()) return d;

    bool fbcon = false;
    for (const auto& vt : sys.list("/sys/class/vtconsole")) {
        const std::string v = "/sys/class/vtconsole/" + vt;
        if (sys.read_trimmed(v + "/name").value_or("").find("frame buffer") != std::string::npos &&
            sys.read_trimmed(v + "/bind").value_or("0") == "1") {
            fbcon = true;
        }
    }
    if (fbcon) {
        // fbcon draws on fb0 unless told otherwise; fb0 belongs to a GPU's DRM driver or
        // to the firmware framebuffer, which lives on the boot GPU.
        const std::string fb0 = path_of(sys, "/sys/class/graphics/fb0/device");
        const std::string mine = path_of(sys, dir);
        if (fb0.empty()) {
            d.console = dev.boot_vga;
        } else if (!mine.empty() && (fb0 == mine || under(fb0, mine))) {
            d.console = true;
        } else if (fb0.find("framebuffer") != std::string::npos ||
                   fb0.find("/platform/") != std::string::npos) {
            d.console = dev.boot_vga;
        }
    }
    auto claims = find_framebuffer_claims(sys, dev);
    if (!claims.empty()) {
        d.firmware_framebuffer = claims.front().owner;
    } else if (dev.boot_vga) {
        // /proc/iomem shows zeros to non-root readers: the platform device tells too.
        for (const auto& p : sys.list("/sys/bus/platform/devices")) {
            if (!(p.starts_with("efi-framebuffer") || p.starts_with("simple-framebuffer") ||
                  p.starts_with("vesa-framebuffer") || p.starts_with("vesafb"))) {
                continue;
            }
            if (auto driver = sys.link_name("/sys/bus/platform/devices/" + p + "/driver")) {
                d.firmware_framebuffer = valid_utf8(*driver);
                break;
            }
        }
    }
    return d;
}

HostUse HostUse::read(const System& sys) {
    HostUse h;
    h.sys_ = &sys;
    const std::string sys_root = path_of(sys, "/sys");
    const std::string virtual_root = sys_root + "/devices/virtual";

    std::vector<Input> inputs;
    for (const auto& name : sys.list("/sys/class/input")) {
        if (!name.starts_with("input") || !parse_decimal(name.substr(5), 1u << 30)) continue;
        const std::string dir = "/sys/class/input/" + name;
        Input in;
        in.name = read_text(sys, dir + "/name");
        in.path = path_of(sys, dir);
        if (in.path.empty() || under(in.path, virtual_root)) continue;
        auto ev = Bitmap::parse(sys.read_trimmed(dir + "/capabilities/ev").value_or(""));
        auto key = Bitmap::parse(sys.read_trimmed(dir + "/capabilities/key").value_or(""));
        auto rel = Bitmap::parse(sys.read_trimmed(dir + "/capabilities/rel").value_or(""));
        // udev's rules: a keyboard has the keys Esc..S (1-31); a mouse moves and clicks.
        in.keyboard = ev.test(kEvKey) && (key.word(0) & 0xFFFFFFFEu) == 0xFFFFFFFEu;
        in.mouse = ev.test(kEvRel) && rel.test(kRelX) && rel.test(kRelY) && key.test(kBtnMouse);
        h.keyboards_ += in.keyboard;
        inputs.push_back(std::move(in));
    }

    for (const auto& id : sys.list("/sys/bus/usb/devices")) {
        if (id.find(':') != std::string::npos || id.starts_with("usb")) continue;
        const std::string dir = "/sys/bus/usb/devices/" + id;
        Usb u;
        u.id = valid_utf8(id);
        u.path = path_of(sys, dir);
        if (u.path.empty()) continue;
        std::string label =
            trim(read_text(sys, dir + "/manufacturer") + " " + read_text(sys, dir + "/product"));
        std::string ids =
            read_text(sys, dir + "/idVendor") + ":" + read_text(sys, dir + "/idProduct");
        u.name = label.empty() ? "USB device " + ids : label + " (" + ids + ")";
        for (const auto& intf : sys.list(dir)) {
            if (!intf.starts_with(id + ":")) continue;
            const std::string i = dir + "/" + intf;
            if (sys.read_trimmed(i + "/bInterfaceClass").value_or("") != "03" ||
                sys.read_trimmed(i + "/bInterfaceSubClass").value_or("") != "01") {
                continue;
            }
            auto protocol = sys.read_trimmed(i + "/bInterfaceProtocol").value_or("");
            u.keyboard |= protocol == "01";  // HID boot keyboard
            u.mouse |= protocol == "02";     // HID boot mouse
        }
        h.usb_.push_back(std::move(u));
    }
    // Each input device belongs to the deepest USB device above it.
    for (const auto& in : inputs) {
        Usb* best = nullptr;
        for (auto& u : h.usb_) {
            if (under(in.path, u.path) && (!best || u.path.size() > best->path.size())) best = &u;
        }
        if (best) {
            best->keyboard |= in.keyboard;
            best->mouse |= in.mouse;
        }
    }
    // A keyboard seen only through its HID interface (driver not bound) still counts.
    for (const auto& u : h.usb_) {
        bool counted = std::any_of(inputs.begin(), inputs.end(), [&](const Input& in) {
            return in.keyboard && under(in.path, u.path);
        });
        if (u.keyboard && !counted) ++h.keyboards_;
    }

    // Mounts by device number (mountinfo) or, failing that, by device name (mounts).
    std::map<std::string, std::vector<std::string>> mounts_by_dev, mounts_by_name;
    if (auto info = sys.read("/proc/self/mountinfo")) {
        for (const auto& line : split(*info, "\n")) {
            auto f = split(line, " ");
            if (f.size() >= 5) mounts_by_dev[f[2]].push_back(unescape_octal(f[4]));
        }
    } else if (auto mounts = sys.read("/proc/mounts")) {
        for (const auto& line : split(*mounts, "\n")) {
            auto f = split(line, " ");
            if (f.size() >= 2 && f[0].starts_with("/dev/")) {
                mounts_by_name[base_name(f[0])].push_back(unescape_octal(f[1]));
            }
        }
    }
    std::map<std::string, std::string> dm_names;  // device-mapper name -> dm-N
    for (const auto& b : sys.list("/sys/block")) {
        if (auto n = sys.read_trimmed("/sys/block/" + b + "/dm/name")) dm_names[*n] = b;
    }
    auto canonical_name = [&](const std::string& dev_path) {
        std::string n = base_name(dev_path);
        if (dev_path.starts_with("/dev/mapper/") && dm_names.count(n)) return dm_names[n];
        return n;
    };
    if (!mounts_by_name.empty()) {
        std::map<std::string, std::vector<std::string>> fixed;
        for (auto& [n, m] : mounts_by_name) {
            auto& v = fixed[dm_names.count(n) ? dm_names[n] : n];
            v.insert(v.end(), m.begin(), m.end());
        }
        mounts_by_name = std::move(fixed);
    }
    std::set<std::string> swaps;
    if (auto text = sys.read("/proc/swaps")) {
        auto lines = split(*text, "\n");
        for (size_t i = 1; i < lines.size(); ++i) {
            auto f = split(lines[i]);
            if (!f.empty() && f[0].starts_with("/dev/")) swaps.insert(canonical_name(f[0]));
        }
    }

    for (const auto& disk : sys.list("/sys/block")) {
        Disk d;
        d.name = valid_utf8(disk);
        d.path = path_of(sys, "/sys/block/" + disk);
        if (d.path.empty()) continue;
        // The disk, its partitions, and whatever is stacked on them (LVM, LUKS, RAID).
        std::vector<std::pair<std::string, std::string>> nodes;  // name, sysfs dir
        nodes.emplace_back(disk, "/sys/block/" + disk);
        for (const auto& part : sys.list("/sys/block/" + disk)) {
            if (part.starts_with(disk) &&
                sys.exists("/sys/block/" + disk + "/" + part + "/partition")) {
                nodes.emplace_back(part, "/sys/block/" + disk + "/" + part);
            }
        }
        std::set<std::string> seen;
        for (size_t i = 0; i < nodes.size() && nodes.size() < 256; ++i) {
            for (const auto& holder : sys.list(nodes[i].second + "/holders")) {
                if (seen.insert(holder).second) nodes.emplace_back(holder, "/sys/block/" + holder);
            }
        }
        for (const auto& [node, dir] : nodes) {
            std::vector<std::string> points;
            if (auto dev = sys.read_trimmed(dir + "/dev"); dev && mounts_by_dev.count(*dev)) {
                points = mounts_by_dev[*dev];
            }
            if (mounts_by_name.count(node)) {
                points.insert(points.end(), mounts_by_name[node].begin(),
                              mounts_by_name[node].end());
            }
            for (const auto& p : points) {
                d.mounts.push_back(p + " (" + valid_utf8(node) + ")");
                d.root |= p == "/";
            }
            if (swaps.count(node)) d.swaps.push_back(valid_utf8(node));
        }
        h.disks_.push_back(std::move(d));
    }

    std::set<std::string> defaults;
    std::map<std::string, std::vector<std::string>> addresses;
    read_routes(sys, defaults, addresses);
    for (const auto& name : sys.list("/sys/class/net")) {
        Iface f;
        f.name = valid_utf8(name);
        f.path = path_of(sys, "/sys/class/net/" + name);
        // A port of a bridge or bond carries what its master carries.
        std::string at = name;
        for (int hop = 0; hop < 4 && !at.empty(); ++hop) {
            for (const auto& a : addresses[at])
                f.addresses.push_back(at == name ? a : a + " on " + valid_utf8(at));
            f.default_route |= defaults.count(at) > 0;
            at = sys.link_name("/sys/class/net/" + at + "/master").value_or("");
        }
        h.ifaces_.push_back(std::move(f));
    }
    return h;
}

DeviceUse HostUse::of(const PciDevice& dev) const {
    DeviceUse u;
    u.bdf = dev.bdf;
    const std::string mine = path_of(*sys_, std::string(kPciDevices) + "/" + dev.bdf);
    if (!mine.empty()) {
        for (const auto& x : usb_) {
            if (under(x.path, mine)) u.usb.push_back({x.id, x.name, x.keyboard, x.mouse});
        }
        std::stable_sort(u.usb.begin(), u.usb.end(), [](const UsbUse& a, const UsbUse& b) {
            auto rank = [](const UsbUse& x) { return x.keyboard ? 0 : x.mouse ? 1 : 2; };
            return rank(a) < rank(b);
        });
        for (const auto& d : disks_) {
            if (under(d.path, mine)) u.block.push_back({d.name, d.mounts, d.swaps, d.root});
        }
        for (const auto& f : ifaces_) {
            if (under(f.path, mine)) u.net.push_back({f.name, f.addresses, f.default_route});
        }
    }
    u.display = read_display_use(*sys_, dev);
    return u;
}

HostLoss assess_host_loss(const System& sys, const std::vector<PciDevice>& devices) {
    return assess_host_loss(HostUse::read(sys), devices);
}

HostLoss assess_host_loss(const HostUse& host, const std::vector<PciDevice>& devices) {
    HostLoss loss;
    std::vector<std::string> keyboard_devices;
    std::vector<std::string> input_lines, usb_lines, block_lines, net_lines, display_lines;
    std::vector<std::string> keyboards;
    for (const auto& dev : devices) {
        DeviceUse use = host.of(dev);
        const std::string who = fmt::format("{} ({})", dev.bdf, dev.class_name());
        for (const auto& u : use.usb) {
            std::string kind = u.keyboard && u.mouse ? "keyboard and mouse"
                               : u.keyboard          ? "keyboard"
                               : u.mouse             ? "mouse"
                                                     : "USB device";
            auto& lines = u.keyboard || u.mouse ? input_lines : usb_lines;
            lines.push_back(fmt::format("{} {} at USB {}, behind {}", kind, u.name, u.id, who));
            if (u.keyboard) {
                keyboards.push_back(u.name);
                keyboard_devices.push_back(dev.bdf);
            }
        }
        for (const auto& b : use.block) {
            std::string what = "disk " + b.name;
            if (!b.mounts.empty()) {
                std::string m;
                for (const auto& x : b.mounts)
                    m += (m.empty() ? "" : ", ") + x;
                what += " with mounted filesystems " + m;
            }
            for (const auto& s : b.swaps)
                what += ", swap on " + s;
            what += ", behind " + who;
            block_lines.insert(b.holds_root ? block_lines.begin() : block_lines.end(), what);
            if (b.holds_root) {
                loss.critical_devices.push_back(dev.bdf);
                loss.critical.push_back(fmt::format(
                    "{} holds the root filesystem (disk {}): the host stops working the moment "
                    "it leaves",
                    who, b.name));
            }
        }
        for (const auto& n : use.net) {
            std::string what = "network interface " + n.name;
            if (!n.addresses.empty()) {
                std::string a;
                for (const auto& x : n.addresses)
                    a += (a.empty() ? "" : ", ") + x;
                what += " with addresses " + a;
            }
            if (n.default_route) what += ", carrying the default route";
            what += ", behind " + who;
            net_lines.insert(n.default_route ? net_lines.begin() : net_lines.end(), what);
            if (n.default_route) {
                loss.critical_devices.push_back(dev.bdf);
                loss.critical.push_back(fmt::format(
                    "{} behind {} carries the default route: the host goes offline (and so does "
                    "any remote session)",
                    n.name, who));
            }
        }
        auto evidence = use.display.evidence();
        if (!evidence.empty()) {
            std::string e;
            for (const auto& x : evidence)
                e += (e.empty() ? "" : "; ") + x;
            display_lines.push_back(fmt::format("screen of {}: {}", who, e));
            if (use.display.drives_host_display()) {
                loss.display_devices.push_back(dev.bdf);
                loss.display.push_back(fmt::format(
                    "{} is the boot GPU and shows the host's screen ({}): the host is left "
                    "without a display",
                    who, e));
            }
        }
    }
    if (!keyboards.empty() && static_cast<int>(keyboards.size()) >= host.keyboards()) {
        std::string names;
        for (const auto& k : keyboards)
            names += (names.empty() ? "" : ", ") + k;
        loss.critical_devices.insert(loss.critical_devices.end(), keyboard_devices.begin(),
                                     keyboard_devices.end());
        loss.critical.insert(loss.critical.begin(),
                             fmt::format("the host's only keyboard ({}) would go: nothing could "
                                         "type on the host afterwards",
                                         names));
    }
    for (auto* group : {&input_lines, &usb_lines, &block_lines, &net_lines, &display_lines}) {
        loss.lost.insert(loss.lost.end(), group->begin(), group->end());
    }
    return loss;
}

}  // namespace porthole::vfio
