#include "display/sdl_window.hpp"

#include <SDL2/SDL_vulkan.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <string_view>

#include "display/x11_resources.hpp"

namespace porthole::client {

Result<std::unique_ptr<SdlWindow>> SdlWindow::create(const WindowConfig& config) {
    // Without a display SDL falls back to its offscreen driver, and the window
    // then fails for what looks like a Vulkan problem: say what is missing.
    const auto unset = [](const char* name) {
        const char* v = std::getenv(name);
        return v == nullptr || *v == '\0';
    };
    const std::string no_display =
        "no display: neither $DISPLAY nor $WAYLAND_DISPLAY is set. Run porthole in your desktop "
        "session (or set DISPLAY), or pass --headless to render without a window";
    if (unset("SDL_VIDEODRIVER") && unset("DISPLAY") && unset("WAYLAND_DISPLAY"))
        return Error::make(no_display);
    if (SDL_InitSubSystem(SDL_INIT_VIDEO) != 0) {
        return Error::make(std::string("cannot open the display: ") + SDL_GetError() +
                           " (is DISPLAY or WAYLAND_DISPLAY set? --headless runs without one)");
    }
    if (const char* driver = SDL_GetCurrentVideoDriver();
        unset("SDL_VIDEODRIVER") && driver != nullptr && std::string_view(driver) == "offscreen") {
        SDL_QuitSubSystem(SDL_INIT_VIDEO);
        if (unset("DISPLAY") && unset("WAYLAND_DISPLAY"))
            return Error::make(no_display +
                               " (SDL found no display and chose its offscreen driver)");
        // Set but unreachable: the server is gone, refuses us, or is resetting.
        const auto shown = [](const char* name) {
            const char* v = std::getenv(name);
            if (v == nullptr) return std::string("unset");
            std::string out(1, '\'');
            out.append(std::string_view(v).substr(0, 64));
            out.push_back('\'');
            return out;
        };
        return Error::make("cannot open the display (DISPLAY=" + shown("DISPLAY") +
                           ", WAYLAND_DISPLAY=" + shown("WAYLAND_DISPLAY") +
                           "): its server is not running or refused the connection; or pass "
                           "--headless to render without a window");
    }
    // SDL's video start holds the screensaver off (SDL_HINT_VIDEO_ALLOW_SCREENSAVER
    // unset); said explicitly so that the option, not a hint in the environment, decides.
    if (config.allow_screensaver)
        SDL_EnableScreenSaver();
    else
        SDL_DisableScreenSaver();
    std::uint32_t flags = SDL_WINDOW_VULKAN | SDL_WINDOW_RESIZABLE | SDL_WINDOW_ALLOW_HIGHDPI;
    if (config.fullscreen) flags |= SDL_WINDOW_FULLSCREEN_DESKTOP;
    if (config.borderless) flags |= SDL_WINDOW_BORDERLESS;
    constexpr int centered = static_cast<int>(SDL_WINDOWPOS_CENTERED);
    const int x = config.position ? config.position->first : centered;
    const int y = config.position ? config.position->second : centered;
    SDL_Window* w = SDL_CreateWindow(config.title.c_str(), x, y, static_cast<int>(config.width),
                                     static_cast<int>(config.height), flags);
    if (w == nullptr) {
        const std::string err = SDL_GetError();
        SDL_QuitSubSystem(SDL_INIT_VIDEO);
        return Error::make(
            "cannot create a Vulkan window: " + err +
            " (SDL2 needs a Vulkan loader and driver: libvulkan1 and mesa-vulkan-drivers)");
    }
    auto win = std::make_unique<SdlWindow>(w);
    win->fullscreen_ = config.fullscreen;
    win->ui_scale_option_ = config.ui_scale;
    if (!config.ui_scale) {
        if (const auto db = x11_resource_string(w)) win->xft_dpi_ = find_xft_dpi(*db);
        if (const char* g = std::getenv("GDK_SCALE"); g != nullptr && *g != '\0')
            win->gdk_scale_ = g;
    }
    (void)win->pixel_density();  // logs where the scale comes from
    return win;
}

SdlWindow::~SdlWindow() {
    SDL_DestroyWindow(window_);
    SDL_QuitSubSystem(SDL_INIT_VIDEO);
}

std::vector<WindowEvent> SdlWindow::poll_events() {
    std::vector<WindowEvent> out;
    SDL_Event e;
    while (SDL_PollEvent(&e) != 0) {
        if (e.type == SDL_QUIT) {
            out.push_back(WindowEvent::quit);
            continue;
        }
        if (e.type == SDL_WINDOWEVENT) {
            refresh_drawable_size();
            switch (e.window.event) {
                case SDL_WINDOWEVENT_SIZE_CHANGED:
                case SDL_WINDOWEVENT_RESIZED:
                    out.push_back(WindowEvent::resized);
                    break;
                case SDL_WINDOWEVENT_EXPOSED:
                case SDL_WINDOWEVENT_SHOWN:
                case SDL_WINDOWEVENT_RESTORED:
                    out.push_back(WindowEvent::exposed);
                    break;
                default:
                    break;
            }
            if (sink_) sink_(e);  // focus changes matter to input capture too
            continue;
        }
        // Keys are the input module's: the bindings (input/bindings.hpp) act
        // through it, so a key can never both act here and reach the guest.
        if (sink_) sink_(e);
    }
    return out;
}

void SdlWindow::set_fullscreen(bool on) {
    // Desktop fullscreen is a borderless window covering the display: no mode
    // switch, and the swapchain is merely resized.
    if (SDL_SetWindowFullscreen(window_, on ? SDL_WINDOW_FULLSCREEN_DESKTOP : 0) == 0)
        fullscreen_ = on;
    refresh_drawable_size();
}

std::vector<std::string> SdlWindow::vulkan_instance_extensions() const {
    unsigned n = 0;
    std::vector<std::string> out;
    if (SDL_Vulkan_GetInstanceExtensions(window_, &n, nullptr) == SDL_FALSE) return out;
    std::vector<const char*> names(n);
    if (SDL_Vulkan_GetInstanceExtensions(window_, &n, names.data()) == SDL_FALSE) return out;
    for (const char* s : names)
        out.emplace_back(s);
    return out;
}

Result<VkSurfaceKHR> SdlWindow::create_vulkan_surface(VkInstance instance) {
    VkSurfaceKHR surface = VK_NULL_HANDLE;
    if (SDL_Vulkan_CreateSurface(window_, instance, &surface) == SDL_FALSE) {
        return Error::make(std::string("cannot create a Vulkan surface for the window: ") +
                           SDL_GetError());
    }
    return surface;
}

void SdlWindow::refresh_drawable_size() {
    int w = 0, h = 0;
    SDL_Vulkan_GetDrawableSize(window_, &w, &h);
    drawable_.store(static_cast<std::uint64_t>(std::max(w, 0)) << 32 |
                    static_cast<std::uint32_t>(std::max(h, 0)));
    int units = 0, uh = 0;
    SDL_GetWindowSize(window_, &units, &uh);
    ratio_.store(units > 0 && w > 0 ? static_cast<float>(w) / static_cast<float>(units) : 1.0F);
}

std::pair<std::uint32_t, std::uint32_t> SdlWindow::drawable_size() const {
    const std::uint64_t d = drawable_.load();
    return {static_cast<std::uint32_t>(d >> 32), static_cast<std::uint32_t>(d)};
}

int SdlWindow::refresh_hz() const {
    SDL_DisplayMode mode;
    if (SDL_GetWindowDisplayMode(window_, &mode) != 0) return 0;
    return mode.refresh_rate;
}

float SdlWindow::drawable_ratio() const {
    return ratio_.load();
}

float SdlWindow::pixel_density() const {
    // The ratio changes when a Wayland window moves to an output of another
    // scale (or learns its output's after opening): logged once per change.
    // Chosen (and its log text formatted) again only when the ratio changes.
    const float ratio = drawable_ratio();
    if (chosen_for_ratio_ == ratio && logged_scale_) return logged_scale_->first;
    chosen_for_ratio_ = ratio;
    const UiScale s = choose_ui_scale({ui_scale_option_, ratio, xft_dpi_, gdk_scale_});
    if (!logged_scale_ || logged_scale_->first != s.scale || logged_scale_->second != s.source) {
        spdlog::info("text scale {}: {}", s.scale, s.why);
        logged_scale_ = {s.scale, s.source};
    }
    return s.scale;
}

}  // namespace porthole::client
