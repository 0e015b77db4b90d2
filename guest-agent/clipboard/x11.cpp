#include "clipboard/x11.hpp"

#include <spdlog/spdlog.h>

#include "porthole/x11/selection.hpp"

namespace porthole::agent::clipboard {
namespace {

// The host's text can be up to the channel's size; a copy here is read up to
// the same bound (the host refuses more than its own limit anyway).
constexpr std::size_t read_limit = 16U << 20;

class X11Clipboard final : public ClipboardBackend {
  public:
    explicit X11Clipboard(std::unique_ptr<x11::SelectionBridge> bridge)
        : bridge_(std::move(bridge)) {}

    [[nodiscard]] std::string_view name() const override { return "x11"; }

    Status set_text(std::string text) override { return bridge_->own(std::move(text)); }

    std::optional<std::string> wait(std::chrono::milliseconds timeout) override {
        auto step = bridge_->wait(timeout);
        for (const auto& e : step.errors)
            spdlog::warn("clipboard: {}", e);
        return std::move(step.copied);
    }

    BackendStep step(std::chrono::milliseconds timeout) override {
        auto st = bridge_->wait(timeout);
        for (const auto& e : st.errors)
            spdlog::warn("clipboard: {}", e);
        BackendStep out;
        out.copy_seen = st.copied.has_value() || st.copied_png;
        out.copied = std::move(st.copied);
        out.copied_png = st.copied_png;
        out.png = std::move(st.png);
        out.png_failed = st.png_failed;
        out.png_wanted = st.png_wanted;
        return out;
    }

    Status own_formats(std::optional<std::string> text, bool png) override {
        return bridge_->own_formats(std::move(text), png);
    }
    void provide_png(std::optional<std::string> png) override {
        bridge_->provide_png(std::move(png));
    }
    void fetch_png() override { bridge_->fetch_png(); }

  private:
    std::unique_ptr<x11::SelectionBridge> bridge_;
};

}  // namespace

Result<std::unique_ptr<ClipboardBackend>> open_x11_clipboard(const std::string& display) {
    x11::SelectionOptions options;
    options.display = display;
    options.limit = read_limit;
    options.image_limit = read_limit;
    auto bridge = x11::SelectionBridge::open(options);
    if (!bridge) return bridge.error();
    return std::unique_ptr<ClipboardBackend>(new X11Clipboard(std::move(*bridge)));
}

}  // namespace porthole::agent::clipboard
