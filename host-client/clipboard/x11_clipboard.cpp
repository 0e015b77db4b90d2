#include "clipboard/x11_clipboard.hpp"

#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace porthole::client::clipboard {

Result<std::unique_ptr<X11Clipboard>> X11Clipboard::open(const x11::SelectionOptions& options) {
    UniqueFd wake(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!wake)
        return Error::make(std::string("x11 clipboard: eventfd: ") + std::strerror(errno), errno);
    auto bridge = x11::SelectionBridge::open(options);
    if (!bridge) return bridge.error();
    return std::unique_ptr<X11Clipboard>(new X11Clipboard(std::move(*bridge), std::move(wake)));
}

X11Clipboard::X11Clipboard(std::unique_ptr<x11::SelectionBridge> bridge, UniqueFd wake)
    : bridge_(std::move(bridge)), wake_(std::move(wake)) {
    thread_ = std::jthread([this](const std::stop_token& stop) { run(stop); });
}

X11Clipboard::~X11Clipboard() {
    thread_.request_stop();
    wake();
    thread_.join();
}

void X11Clipboard::wake() const {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(wake_.get(), &one, sizeof one);
}

void X11Clipboard::run(const std::stop_token& stop) {
    using namespace std::chrono_literals;
    while (!stop.stop_requested()) {
        // A stop or a text to own wakes it through wake_; the bridge wakes
        // itself for its transfers' deadlines.
        auto step = bridge_->wait(1000ms, wake_.get());
        std::uint64_t drained = 0;
        [[maybe_unused]] const auto n = ::read(wake_.get(), &drained, sizeof drained);
        std::optional<std::pair<std::optional<std::string>, bool>> own;
        bool fetch = false;
        std::optional<std::optional<std::string>> provide;
        {
            const std::lock_guard lock(mutex_);
            own.swap(to_own_);
            fetch = std::exchange(fetch_png_, false);
            provide.swap(to_provide_);
            if (step.copied || step.copied_png) {
                latest_ = step.copied;  // an image alone: the desktop holds no text
                changed_ = std::move(step.copied);
                changed_png_ = step.copied_png;
                copy_seen_ = true;
            }
            if (step.png) images_.png = std::move(step.png);
            images_.png_failed = images_.png_failed || step.png_failed;
            images_.png_wanted = images_.png_wanted || step.png_wanted;
        }
        if (own) {
            if (auto ok = bridge_->own_formats(std::move(own->first), own->second); !ok)
                step.errors.push_back(ok.error().message);
        }
        if (provide) bridge_->provide_png(std::move(*provide));
        if (fetch) bridge_->fetch_png();
        for (auto& e : step.errors) {
            spdlog::warn("{}", e);
            const std::lock_guard lock(mutex_);
            last_error_ = std::move(e);
            ++errors_;
        }
    }
}

std::optional<std::string> X11Clipboard::take_change(std::uint64_t now_ns) {
    auto copy = take_copy(now_ns);
    if (!copy) return std::nullopt;
    return std::move(copy->text);
}

std::optional<DesktopCopy> X11Clipboard::take_copy(std::uint64_t) {
    const std::lock_guard lock(mutex_);
    if (!std::exchange(copy_seen_, false)) return std::nullopt;
    return DesktopCopy{std::exchange(changed_, std::nullopt), changed_png_};
}

std::optional<std::string> X11Clipboard::text_now() {
    const std::lock_guard lock(mutex_);
    return latest_;
}

Status X11Clipboard::set_text(std::string_view text) {
    return own_formats(std::string(text), false);
}

Status X11Clipboard::own_formats(std::optional<std::string> text, bool png) {
    {
        const std::lock_guard lock(mutex_);
        latest_ = text;
        to_own_.emplace(std::move(text), png);
    }
    wake();
    return {};
}

DesktopImageEvents X11Clipboard::take_image_events() {
    const std::lock_guard lock(mutex_);
    return std::exchange(images_, DesktopImageEvents{});
}

void X11Clipboard::fetch_png() {
    {
        const std::lock_guard lock(mutex_);
        fetch_png_ = true;
    }
    wake();
}

void X11Clipboard::provide_png(std::optional<std::string> png) {
    {
        const std::lock_guard lock(mutex_);
        to_provide_.emplace(std::move(png));
    }
    wake();
}

std::optional<std::string> X11Clipboard::last_error() const {
    const std::lock_guard lock(mutex_);
    return last_error_;
}

std::uint64_t X11Clipboard::errors() const {
    const std::lock_guard lock(mutex_);
    return errors_;
}

}  // namespace porthole::client::clipboard
