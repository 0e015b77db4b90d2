#include "app/usb_subsystem.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "porthole/qmp/message.hpp"
#include "porthole/qmp/session.hpp"

namespace porthole::client {

namespace {

// A notice line is drawn in the window's message area: keep it short.
std::string short_line(std::string s) {
    constexpr std::size_t kWidth = 60;
    if (s.size() > kWidth) s = s.substr(0, kWidth - 3) + "...";
    return s;
}

// QEMU's reason without the "attaching USB device X failed: QMP device_add failed: " prefix.
std::string reason_of(const std::string& message) {
    const std::string tag = "failed: ";
    const auto at = message.rfind(tag);
    return at == std::string::npos ? message : message.substr(at + tag.size());
}

}  // namespace

Result<std::unique_ptr<UsbSubsystem>> UsbSubsystem::create(const Options& o,
                                                           qmp::QmpClient* input_qmp) {
    if (o.usb_devices.empty()) return std::unique_ptr<UsbSubsystem>{};
    if (o.qmp.empty())
        return Error::make(
            "--usb needs QEMU's QMP socket: give --qmp unix:/path/to/socket (QEMU's -qmp "
            "unix:PATH,server=on,wait=off)");
    auto path = porthole::qmp::parse_qmp_address(o.qmp);
    if (!path) return Error::make("--qmp: " + path.error().message);
    std::vector<porthole::qmp::UsbSelector> devices;
    for (const auto& d : o.usb_devices) {
        auto s = porthole::qmp::parse_usb_selector(d);
        if (!s) return Error::make("--usb: " + s.error().message);
        if (std::find(devices.begin(), devices.end(), *s) == devices.end()) devices.push_back(*s);
    }
    std::vector<std::string> names;
    for (const auto& d : devices)
        names.push_back(porthole::qmp::to_string(d));
    spdlog::info("usb: {} go to the VM on the capture key + U (QMP at {})", fmt::join(names, ", "),
                 *path);
    // The key is read by the window: headless, only the exit's give-back remains.
    if (o.headless)
        spdlog::warn(
            "usb: --headless has no window for the capture key + U: the --usb devices "
            "stay on the host");
    return std::unique_ptr<UsbSubsystem>(new UsbSubsystem(*path, std::move(devices), input_qmp));
}

UsbSubsystem::UsbSubsystem(std::string socket, std::vector<porthole::qmp::UsbSelector> devices,
                           qmp::QmpClient* input_qmp)
    : socket_(std::move(socket)), devices_(std::move(devices)) {
    if (input_qmp != nullptr) shared_ = std::make_unique<qmp::SharedChannel>(*input_qmp);
    worker_ = std::jthread([this](std::stop_token stop) { work(std::move(stop)); });
}

UsbSubsystem::~UsbSubsystem() {
    worker_.request_stop();
    wake_.notify_all();
    if (worker_.joinable()) worker_.join();
}

void UsbSubsystem::toggle() {
    {
        std::lock_guard lock(mutex_);
        ++pending_;
    }
    wake_.notify_all();
}

std::vector<std::vector<std::string>> UsbSubsystem::take_notices() {
    std::lock_guard lock(mutex_);
    std::vector<std::vector<std::string>> out;
    out.swap(notices_);
    return out;
}

void UsbSubsystem::notice(std::vector<std::string> lines) {
    for (auto& l : lines)
        l = short_line(std::move(l));
    std::lock_guard lock(mutex_);
    notices_.push_back(std::move(lines));
}

void UsbSubsystem::work(std::stop_token stop) {
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, stop, [this] { return pending_ > 0; });
            // A press not handled yet when the client ends would only be undone below.
            if (stop.stop_requested()) break;
            --pending_;
        }
        if (attached_.empty())
            attach_all();
        else
            give_back(false);
    }
    if (!attached_.empty() || !uncertain_.empty()) give_back(true);
}

Result<porthole::qmp::Channel*> UsbSubsystem::channel(std::optional<porthole::qmp::Session>& own) {
    if (shared_) return static_cast<porthole::qmp::Channel*>(shared_.get());
    auto s = porthole::qmp::Session::connect(socket_);
    if (!s) return s.error();
    own.emplace(std::move(*s));
    return static_cast<porthole::qmp::Channel*>(&*own);
}

void UsbSubsystem::attach_all() {
    std::optional<porthole::qmp::Session> own;
    auto session = channel(own);
    if (!session) {
        spdlog::error("usb: cannot reach QEMU's QMP socket {} (--qmp): {}", socket_,
                      session.error().message);
        notice({"USB: no QMP connection", session.error().message});
        return;
    }
    std::vector<std::string> lines{"USB devices to the VM"};
    for (const auto& d : devices_) {
        auto r = porthole::qmp::attach_usb(**session, d);
        if (r) {
            attached_.push_back(d);
            spdlog::info("usb: {} attached to the VM (QEMU device {})", porthole::qmp::to_string(d),
                         r->id);
            lines.push_back(porthole::qmp::to_string(d) + " attached");
            continue;
        }
        // A lost answer may hide a device QEMU added: the give-back tries it too.
        if (r.error().code != porthole::qmp::Channel::kQemuRefused) uncertain_.push_back(d);
        spdlog::error("usb: {}", r.error().message);
        lines.push_back(porthole::qmp::to_string(d) + " refused: " + reason_of(r.error().message));
    }
    if (attached_.empty()) lines[0] = "USB: no device attached";
    notice(std::move(lines));
}

void UsbSubsystem::give_back(bool exiting) {
    std::optional<porthole::qmp::Session> own;
    auto session = channel(own);
    if (!session) {
        std::vector<std::string> names;
        for (const auto& d : attached_)
            names.push_back(porthole::qmp::to_string(d));
        spdlog::error("usb: cannot reach QEMU's QMP socket {} (--qmp) to give back {}: {}", socket_,
                      fmt::join(names, ", "), session.error().message);
        if (!exiting) notice({"USB: no QMP connection", session.error().message});
        return;
    }
    std::vector<std::string> lines{"USB devices back to the host"};
    std::vector<porthole::qmp::UsbSelector> kept;
    for (const auto& d : attached_) {
        auto r = porthole::qmp::detach_usb(**session, porthole::qmp::usb_device_id(d));
        if (r) {
            spdlog::info("usb: {} given back to the host{}", porthole::qmp::to_string(d),
                         exiting ? " (porthole exits)" : "");
            lines.push_back(porthole::qmp::to_string(d) + " detached");
        } else {
            kept.push_back(d);
            spdlog::error("usb: {}", r.error().message);
            lines.push_back(porthole::qmp::to_string(d) +
                            " still in the VM: " + reason_of(r.error().message));
        }
    }
    attached_ = std::move(kept);
    // Only ours: a device_add whose answer was lost carries our id and no other.
    for (const auto& d : uncertain_) {
        if (auto r = porthole::qmp::detach_usb(**session, porthole::qmp::usb_device_id(d)); r)
            spdlog::info("usb: {} given back to the host", porthole::qmp::to_string(d));
        else
            spdlog::debug("usb: {} was not attached: {}", porthole::qmp::to_string(d),
                          r.error().message);
    }
    uncertain_.clear();
    if (!exiting) notice(std::move(lines));
}

}  // namespace porthole::client
