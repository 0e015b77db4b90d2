#pragma once
// The client's window, through SDL2: a resizable Vulkan-capable window that
// toggles borderless fullscreen, reports what the display loop acts on, and
// hands every other SDL event to an optional sink (the input module, later).
//
// Threads: SDL's video calls stay on the main thread, so every operation is
// the main thread's (in window mode it pumps events: app/window_pump.hpp),
// except drawable_size(), which any thread may call (the renderer's, on the
// render thread): it reads a copy the main thread refreshes on window events.

#include <SDL2/SDL.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "display/ui_scale.hpp"
#include "porthole/util/result.hpp"
#include "render/surface_provider.hpp"

namespace porthole::client {

enum class WindowEvent {
    quit,            // window closed
    resized,         // drawable size changed
    exposed,         // contents need redrawing
    toggle_overlay,  // the input module's key bindings ask for these three
    toggle_fullscreen,
    screenshot,
};

// How the window opens (the window options of `porthole --help`).
struct WindowConfig {
    std::string title = "porthole";
    std::uint32_t width = 1280, height = 720;  // window units
    bool fullscreen = false;
    bool borderless = false;                      // no frame or title bar from the desktop
    std::optional<std::pair<int, int>> position;  // top left on the desktop; nullopt: centered
    // false: SDL holds the screensaver and blanking off while the window exists.
    bool allow_screensaver = false;
    // --ui-scale: the text's scale; nullopt: from the desktop (display/ui_scale.hpp).
    std::optional<float> ui_scale;
};

class SdlWindow final : public SurfaceProvider {
  public:
    static Result<std::unique_ptr<SdlWindow>> create(const WindowConfig& config);
    SdlWindow(const SdlWindow&) = delete;
    SdlWindow& operator=(const SdlWindow&) = delete;
    ~SdlWindow() override;

    // Drains SDL's queue without blocking: window changes become WindowEvents,
    // and every event goes to the sink (keys and the mouse only there).
    std::vector<WindowEvent> poll_events();
    using EventSink = std::function<void(const SDL_Event&)>;
    void set_event_sink(EventSink sink) { sink_ = std::move(sink); }

    // Borderless fullscreen on the window's display, or back to the window.
    void set_fullscreen(bool on);
    [[nodiscard]] bool fullscreen() const { return fullscreen_; }
    // The SDL window itself (input capture grabs it); owned by this object.
    [[nodiscard]] SDL_Window* sdl_window() const { return window_; }

    [[nodiscard]] std::vector<std::string> vulkan_instance_extensions() const override;
    Result<VkSurfaceKHR> create_vulkan_surface(VkInstance instance) override;
    [[nodiscard]] std::pair<std::uint32_t, std::uint32_t> drawable_size() const override;
    // The scale text is drawn at: --ui-scale, else the drawable pixels per
    // window unit when above 1 (Wayland HiDPI), else X11's Xft.dpi / 96, else
    // GDK_SCALE, else 1 (display/ui_scale.hpp).
    [[nodiscard]] float pixel_density() const override;
    // The refresh rate of the window's display in Hz (0: unknown, as on Xvfb).
    [[nodiscard]] int refresh_hz() const;

    // Takes ownership of a window made by create().
    explicit SdlWindow(SDL_Window* w) : window_(w) { refresh_drawable_size(); }

  private:
    // Any thread: the drawable pixels per window unit, as last copied.
    [[nodiscard]] float drawable_ratio() const;
    // Main thread: copies SDL's drawable size (and its ratio to the window's
    // units) for drawable_size() and drawable_ratio() on the render thread.
    void refresh_drawable_size();

    SDL_Window* window_;
    std::atomic<std::uint64_t> drawable_{0};  // width << 32 | height, in pixels
    std::atomic<float> ratio_{1.0F};          // drawable pixels per window unit
    bool fullscreen_ = false;
    // What the desktop said when the window opened (the drawable ratio is read each time).
    std::optional<float> ui_scale_option_;
    std::optional<std::string> xft_dpi_, gdk_scale_;
    mutable std::optional<std::pair<float, UiScaleSource>> logged_scale_;  // the scale last logged
    // The drawable ratio the scale was last chosen for: the renderer asks every draw.
    mutable std::optional<float> chosen_for_ratio_;
    EventSink sink_;
};

}  // namespace porthole::client
