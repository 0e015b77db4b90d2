// porthole-ivshmem-server: serves the region and the doorbells' eventfds to
// QEMU's ivshmem-doorbell device and to the porthole client (QEMU's ivshmem
// server protocol; Debian ships no server). Runs in the foreground, as a
// systemd service or by hand, and must be up before the VM starts.
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "porthole/ivshmem/doorbell_host.hpp"
#include "porthole/ivshmem/mapping.hpp"
#include "porthole/packaging/cli_docs.hpp"
#include "porthole/util/unique_fd.hpp"
#include "porthole/util/version.hpp"

namespace {

std::atomic<bool> g_stop{false};
void on_signal(int /*sig*/) {
    g_stop.store(true);
}

bool power_of_two(std::uint64_t v) {
    return v != 0 && (v & (v - 1)) == 0;
}

// The region file: opened, created or grown to size_mib (never shrunk: a
// running VM may map all of it). QEMU maps it as its BAR2, a power of two.
porthole::Result<porthole::UniqueFd> open_region(const std::string& path, std::uint64_t size_mib,
                                                 mode_t mode, std::optional<gid_t> group) {
    using porthole::Error;
    const int flags = O_RDWR | O_CLOEXEC | (size_mib != 0 ? O_CREAT : 0);
    porthole::UniqueFd fd(::open(path.c_str(), flags, mode & 0666));
    if (!fd) {
        const int err = errno;
        return Error::make("cannot open the region " + path + ": " + std::strerror(err) +
                               (err == ENOENT ? " (give --size MIB to create it)" : ""),
                           err);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
        return Error::make(path + " is not a regular file", EINVAL);
    const std::uint64_t want = size_mib << 20;
    if (want > static_cast<std::uint64_t>(st.st_size)) {
        if (::ftruncate(fd.get(), static_cast<off_t>(want)) != 0) {
            const int err = errno;
            return Error::make("cannot size " + path + " to " + std::to_string(size_mib) +
                                   " MiB: " + std::strerror(err),
                               err);
        }
        st.st_size = static_cast<off_t>(want);
        if (group) (void)::fchown(fd.get(), static_cast<uid_t>(-1), *group);
    }
    if (!power_of_two(static_cast<std::uint64_t>(st.st_size)) || st.st_size < (1 << 20)) {
        return Error::make(path + " holds " + std::to_string(st.st_size) +
                               " bytes: an IVSHMEM region is a power of two of at least 1 MiB "
                               "(--size 32, 64, 128...)",
                           EINVAL);
    }
    return fd;
}

int run(int argc, char** argv) {
    porthole::ivshmem::DoorbellServer::Options o;
    std::string shm(porthole::ivshmem::kDefaultShmPath);
    std::uint64_t size_mib = 0;
    std::string mode_text = "0660";
    std::string group_name;
    std::string log_level = "info";

    CLI::App app{
        "porthole-ivshmem-server: serves the Porthole region and its doorbells to QEMU's "
        "ivshmem-doorbell device and to porthole (QEMU's ivshmem server protocol). Start it "
        "before the VM: QEMU cannot reconnect to a restarted server."};
    app.set_version_flag("--version", porthole::version_line("porthole-ivshmem-server"));
    app.add_option("--socket", o.socket_path, "the unix socket QEMU and porthole connect to")
        ->capture_default_str();
    app.add_option("--shm", shm, "the region file to serve (created with --size)")
        ->capture_default_str();
    app.add_option("--size", size_mib,
                   "region size in MiB, a power of two: creates or grows the file (never shrinks "
                   "it); 0 uses the file as it is")
        ->capture_default_str();
    app.add_option("--vectors", o.vectors,
                   "interrupt vectors per peer (QEMU's vectors= must match)")
        ->check(CLI::Range(1, porthole::ivshmem::kMaxDoorbellVectors))
        ->capture_default_str();
    app.add_option("--mode", mode_text, "permissions of the socket and a created region (octal)")
        ->capture_default_str();
    app.add_option("--group", group_name,
                   "group of the socket and a created region (e.g. the group of the users who run "
                   "porthole)");
    app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
        ->capture_default_str();
    porthole::packaging::ProgramDocs docs;
    docs.name = "porthole-ivshmem-server";
    docs.summary = "serve the Porthole region and its doorbells to QEMU's ivshmem-doorbell device";
    docs.sections = {
        {"DESCRIPTION",
         "With an ivshmem-doorbell device (instead of ivshmem-plain) the guest's agent rings "
         "porthole after each frame, and porthole wakes at once instead of polling the region. "
         "QEMU's device gets the region and the interrupts from an ivshmem server over a unix "
         "socket (QEMU's ivshmem server protocol); this is that server. It must be running "
         "before the VM starts, and for as long as it runs: QEMU cannot reconnect to a "
         "restarted server. porthole connects to the same socket (its --doorbell option).\n\n"
         "QEMU: -chardev socket,path=/run/porthole/ivshmem.sock,id=ivsh -device "
         "ivshmem-doorbell,chardev=ivsh,vectors=1. libvirt: porthole-vfio vm define --doorbell."},
        {"EXIT STATUS",
         "0 when stopped by SIGTERM or SIGINT, 1 on an error (the message says "
         "what and how to fix it), 2 for bad options."},
        {"SEE ALSO", "porthole(1), porthole-vfio(8), qemu(1)"},
    };
    if (auto code = porthole::packaging::print_docs_if_asked(app, argc, argv, docs)) return *code;
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? 0 : 2;  // --help and --version: 0; bad options: 2
    }

    spdlog::set_level(spdlog::level::from_str(log_level));
    try {
        std::size_t used = 0;
        const unsigned long m = std::stoul(mode_text, &used, 8);
        if (used != mode_text.size() || m > 0777) throw std::invalid_argument("mode");
        o.mode = static_cast<mode_t>(m);
    } catch (const std::exception&) {
        spdlog::error("--mode '{}' is not an octal file mode such as 0660", mode_text);
        return 2;
    }
    if (!group_name.empty()) {
        const group* g = ::getgrnam(group_name.c_str());
        if (g == nullptr) {
            spdlog::error("--group '{}': no such group", group_name);
            return 2;
        }
        o.group = g->gr_gid;
    }
    if (size_mib != 0 && (!power_of_two(size_mib) || size_mib > (1U << 20))) {
        spdlog::error("--size {} MiB is not a power of two (32, 64, 128...)", size_mib);
        return 2;
    }

    auto region = open_region(shm, size_mib, o.mode, o.group);
    if (!region) {
        spdlog::error("{}", region.error().message);
        return 1;
    }
    auto server = porthole::ivshmem::DoorbellServer::listen(o, std::move(*region));
    if (!server) {
        spdlog::error("{}", server.error().message);
        return 1;
    }
    struct sigaction sa {};
    sa.sa_handler = on_signal;  // no SA_RESTART: poll returns at once
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    spdlog::info("serving {} on {} ({} vector{} a peer)", shm, o.socket_path, o.vectors,
                 o.vectors == 1 ? "" : "s");
    while (!g_stop.load()) {
        if (auto ok = server->serve_once(std::chrono::milliseconds(500)); !ok) {
            spdlog::error("{}", ok.error().message);
            return 1;
        }
    }
    spdlog::info("stopping ({} peers connected)", server->peer_count());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {  // out of memory, a logger failing: nothing to go on with
        spdlog::error("{}", e.what());
        return 1;
    }
}
