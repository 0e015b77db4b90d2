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
        std::optional<std::string> own;
        {
            const std::lock_guard lock(mutex_);
            own.swap(to_own_);
            if (step.copied) {
                latest_ = *step.copied;
                changed_ = std::move(step.copied);
            }
        }
        if (own) {
            if (auto ok = bridge_->own(std::move(*own)); !ok)
                step.errors.push_back(ok.error().message);
        }
        for (auto& e : step.errors) {
            spdlog::warn("{}", e);
            const std::lock_guard lock(mutex_);
            last_error_ = std::move(e);
            ++errors_;
        }
    }
}

std::optional<std::string> X11Clipboard::take_change(std::uint64_t) {
    const std::lock_guard lock(mutex_);
    return std::exchange(changed_, std::nullopt);
}

std::optional<std::string> X11Clipboard::text_now() {
    const std::lock_guard lock(mutex_);
    return latest_;
}

Status X11Clipboard::set_text(std::string_view text) {
    {
        const std::lock_guard lock(mutex_);
        to_own_.emplace(text);
        latest_.emplace(text);
    }
    wake();
    return {};
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
