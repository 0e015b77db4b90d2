// porthole: the host client. Maps the region, follows the agent's session and
// shows its frames in a Vulkan window (or offscreen with --headless).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <memory>
#include <thread>

#include "app/clipboard_subsystem.hpp"
#include "app/options.hpp"
#include "app/session_loop.hpp"
#include "display/sdl_window.hpp"
#include "porthole/ivshmem/mapping.hpp"
#include "porthole/protocol/region.hpp"
#include "render/renderer.hpp"

namespace {

std::atomic<bool> g_stop{false};  // set from the signal handler only
extern "C" void on_signal(int) {
    g_stop.store(true);
}

int run(const porthole::client::Options& o) {
    using namespace porthole;
    // QEMU creates the region file when the VM starts: a client started
    // first waits for it (a wrong path or missing permissions still fail).
    auto region = ivshmem::open_host_region(o.shm, protocol::kPageSize);
    for (bool said = false; !region && ivshmem::region_not_there_yet(region.error());) {
        if (!said) spdlog::info("waiting for {} ({})", o.shm, region.error().message);
        said = true;
        if (g_stop.load()) return 0;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        region = ivshmem::open_host_region(o.shm, protocol::kPageSize);
    }
    if (!region) {
        spdlog::error("{}", region.error().message);
        return 1;
    }
    spdlog::info("region: {}", region->description());

    std::unique_ptr<client::SdlWindow> window;
    if (!o.headless) {
        auto w = client::SdlWindow::create("porthole", o.width != 0 ? o.width : 1280,
                                           o.height != 0 ? o.height : 720, o.fullscreen);
        if (!w) {
            spdlog::error("{}", w.error().message);
            return 1;
        }
        window = std::move(*w);
    }
    auto renderer = client::Renderer::create(o.renderer, window.get(), region->bytes());
    if (!renderer) {
        spdlog::error("{}", renderer.error().message);
        return 1;
    }
    // Input before audio: a wrong input option is an error, missing audio only a warning.
    auto input = client::InputSubsystem::create(o, window.get());
    if (!input) {
        spdlog::error("{}", input.error().message);
        return 1;
    }
    auto audio = client::AudioSubsystem::create(o);
    client::SessionLoop loop(o, region->bytes(), **renderer, window.get());
    loop.set_input(**input);
    if (audio) loop.set_audio(*audio);
    auto clipboard = client::ClipboardSubsystem::create(o);
    if (clipboard) loop.add_subsystem(*clipboard);
    const int code = loop.run(g_stop);
    // The audio source and the input writer read the region: gone before its mapping.
    audio.reset();
    input->reset();
    clipboard.reset();
    return code;
}

}  // namespace

int main(int argc, char** argv) {
    auto parsed = porthole::client::parse_options(argc, argv);
    if (const int* code = std::get_if<int>(&parsed)) return *code;
    const auto& o = std::get<porthole::client::Options>(parsed);
    spdlog::set_default_logger(spdlog::stderr_color_mt("porthole"));
    spdlog::set_level(spdlog::level::from_str(o.log_level));
    spdlog::set_pattern("[%H:%M:%S.%e] [porthole] [%l] %v");
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    return run(o);
}
