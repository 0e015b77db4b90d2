// porthole: the host client. Maps the region, follows the agent's session and
// shows its frames in a Vulkan window (or offscreen with --headless).
#include <fmt/ranges.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "app/clipboard_subsystem.hpp"
#include "app/guest_res_subsystem.hpp"
#include "app/options.hpp"
#include "app/session_loop.hpp"
#include "app/usb_subsystem.hpp"
#include "display/sdl_window.hpp"
#include "porthole/ivshmem/mapping.hpp"
#include "porthole/protocol/layout.hpp"
#include "porthole/protocol/region.hpp"
#include "porthole/util/adaptive_wait.hpp"
#include "render/renderer.hpp"

namespace {

std::atomic<bool> g_stop{false};  // set from the signal handler only
extern "C" void on_signal(int) {
    g_stop.store(true);
}

// A region no agent can lay out (smaller than its fixed channels and three
// minimal frame slots): the agent would exit and the window would wait for it
// for ever, so say at once what size it needs and where that is set.
std::optional<std::string> region_too_small(const std::string& path,
                                            std::span<const std::byte> region) {
    using namespace porthole::protocol;
    const std::size_t size = region.size();
    if (size >= kPageSize && plan_layout(size)) return std::nullopt;
    // An agent laid it out already (with channels smaller than the defaults):
    // the session's own validation judges it.
    std::uint64_t magic = 0;
    if (size >= sizeof magic) std::memcpy(&magic, region.data(), sizeof magic);
    if (magic == kMagic) return std::nullopt;
    const auto mib = [](std::uint64_t b) { return b / (std::uint64_t{1024} * 1024); };
    const auto need = mib(recommended_region_size(1920, 1080, PixelFormat::bgra8));
    const std::string name = std::filesystem::path(path).filename().string();
    return fmt::format(
        "{} holds {} bytes, too small for the shared region: it needs {} MiB for a 1920x1080 "
        "desktop ({} MiB for 2560x1440, {} MiB for 3840x2160). Set the size where the VM "
        "defines the region: QEMU -object memory-backend-file,id=porthole,share=on,mem-path={},"
        "size={}M; libvirt <shmem name='{}'><model type='ivshmem-plain'/><size unit='M'>{}</size>"
        "</shmem> (`porthole-vfio libvirt snippets --width W --height H` prints it sized)",
        path, size, need, mib(recommended_region_size(2560, 1440, PixelFormat::bgra8)),
        mib(recommended_region_size(3840, 2160, PixelFormat::bgra8)), path, need, name, need);
}

int run(const porthole::client::Options& o) {
    using namespace porthole;
    const std::uint64_t start = monotonic_ns();
    // QEMU creates the region file when the VM starts: a client started
    // first waits for it (a wrong path or missing permissions still fail).
    auto region = ivshmem::open_host_region(o.shm);
    for (bool said = false; !region && ivshmem::region_not_there_yet(region.error());) {
        if (!said) spdlog::info("waiting for {} ({})", o.shm, region.error().message);
        said = true;
        if (g_stop.load()) return 0;
        if (o.timeout_s > 0 && static_cast<double>(monotonic_ns() - start) / 1e9 > o.timeout_s) {
            spdlog::error("timed out after {} s waiting for {}: {}", o.timeout_s, o.shm,
                          region.error().message);
            return 3;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        region = ivshmem::open_host_region(o.shm);
    }
    if (!region) {
        spdlog::error("{}", region.error().message);
        return 1;
    }
    spdlog::info("region: {}", region->description());
    if (auto why = region_too_small(o.shm, region->bytes())) {
        spdlog::error("{}", *why);
        return 1;
    }

    std::unique_ptr<client::SdlWindow> window;
    if (!o.headless) {
        client::WindowConfig wc;
        wc.title = o.title;
        if (o.width != 0) wc.width = o.width;
        if (o.height != 0) wc.height = o.height;
        wc.fullscreen = o.fullscreen;
        wc.borderless = o.borderless;
        wc.position = o.position;
        wc.allow_screensaver = o.allow_screensaver;
        wc.ui_scale = o.ui_scale;
        auto w = client::SdlWindow::create(wc);
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
    // With --input-to qmp the USB commands share the input's connection (QEMU serves one).
    auto usb = client::UsbSubsystem::create(o, (*input)->qmp_client());
    if (!usb) {
        spdlog::error("{}", usb.error().message);
        return 1;
    }
    auto audio = client::AudioSubsystem::create(o);
    client::SessionLoop loop(o, region->bytes(), **renderer, window.get());
    loop.set_input(**input);
    if (*usb) loop.set_usb(**usb);
    if (audio) loop.set_audio(*audio);
    auto clipboard = client::ClipboardSubsystem::create(o);
    if (clipboard) loop.add_subsystem(*clipboard);
    std::optional<client::GuestResSubsystem> guest_res;
    if (o.set_guest_res && window) {
        guest_res.emplace(region->bytes(), [w = window.get()] { return w->drawable_size(); });
    } else if (o.set_guest_res && o.width != 0 && o.height != 0) {
        guest_res.emplace(region->bytes(), [&o] { return client::PixelSize{o.width, o.height}; });
    } else if (o.set_guest_res) {
        spdlog::warn("--set-guest-res: headless without --size, there is no size to ask for");
    }
    if (guest_res) loop.add_subsystem(*guest_res);
    // The run's checks and limits (tests, scripts): observers of the loop.
    // --timeout counts from the program's start, so that it covers the wait for the VM too.
    std::optional<client::PatternVerifier> verifier;
    if (o.verify_pattern) loop.add_observer(verifier.emplace());
    client::RunLimits limits(o.exit_after_frames, o.timeout_s, start);
    loop.add_observer(limits);
    const int code = loop.run(g_stop);
    // Every USB device this client attached goes back to the host before it exits.
    usb->reset();
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
    if (!o.config_files_read.empty()) {
        spdlog::info("config: read {}", fmt::join(o.config_files_read, ", "));
    } else if (!o.config_files_absent.empty()) {
        spdlog::info("config: no config file ({} not there)",
                     fmt::join(o.config_files_absent, " and "));
    } else {
        spdlog::info("config: no config file (--config \"\")");
    }
    return run(o);
}
