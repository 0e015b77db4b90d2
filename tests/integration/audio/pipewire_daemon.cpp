#include "pipewire_daemon.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>
#include <utility>

#include "porthole/util/unique_fd.hpp"
#include "support/command_output.hpp"

namespace porthole::test {

void warm_page_cache(const std::string& path) {
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return;
    std::vector<char> buf(1 << 20);
    while (::read(fd.get(), buf.data(), buf.size()) > 0) {
    }
}

void warm_program(const std::string& program) {
    std::string path = program;
    if (program.find('/') == std::string::npos) {
        path = command_output("command -v '" + program + "'");
        path = path.substr(0, path.find('\n'));
    }
    if (path.empty()) return;
    warm_page_cache(path);
    // "libfoo.so.1 => /usr/lib/.../libfoo.so.1 (0x...)" and the loader's own line.
    const std::string listing = command_output("ldd '" + path + "'");
    std::size_t at = 0;
    while ((at = listing.find('/', at)) != std::string::npos) {
        const std::size_t end = listing.find_first_of(" \t\n", at);
        warm_page_cache(listing.substr(at, end - at));
        at = end;
    }
}

void warm_pipewire() {
    std::error_code ec;
    for (const char* dir : {"/usr/lib/x86_64-linux-gnu/pipewire-0.3",
                            "/usr/lib/x86_64-linux-gnu/spa-0.2", "/usr/lib/pipewire-0.3",
                            "/usr/lib/spa-0.2", "/usr/lib64/pipewire-0.3", "/usr/lib64/spa-0.2"}) {
        for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
             !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
            if (it->is_regular_file(ec)) warm_page_cache(it->path().string());
        }
        ec.clear();
    }
    // This process's own code: the test binary, libpipewire, speexdsp.
    std::ifstream maps("/proc/self/maps");
    std::string line, last;
    while (std::getline(maps, line)) {
        const std::size_t slash = line.find('/');
        if (slash == std::string::npos || line.compare(slash, std::string::npos, last) == 0)
            continue;
        last = line.substr(slash);
        warm_page_cache(last);
    }
}

Result<Child> Child::spawn(const std::vector<std::string>& argv, const std::string& log_path) {
    if (!argv.empty()) warm_program(argv[0]);
    std::vector<char*> args;
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) return Error::make("fork failed: " + std::string(std::strerror(errno)), errno);
    if (pid == 0) {
        ::setsid();
        const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            ::dup2(fd, 1);
            ::dup2(fd, 2);
            ::close(fd);
        }
        ::execvp(args[0], args.data());
        ::_exit(127);
    }
    Child c;
    c.pid_ = pid;
    return c;
}

Child::Child(Child&& o) noexcept : pid_(std::exchange(o.pid_, -1)) {}
Child& Child::operator=(Child&& o) noexcept {
    if (this != &o) {
        stop();
        pid_ = std::exchange(o.pid_, -1);
    }
    return *this;
}

bool Child::running() {
    if (pid_ < 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
    }
    return true;
}

int Child::stop(int sig, std::chrono::milliseconds wait) {
    if (pid_ < 0) return 0;
    ::kill(pid_, sig);
    int status = 0;
    const auto until = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < until) {
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return status;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
}

namespace {

bool write_file(const std::string& path, const std::string& text) {
    std::ofstream f(path);
    f << text;
    return static_cast<bool>(f);
}

std::string pipewire_conf(std::uint32_t quantum, bool surround) {
    const std::string surround_sink = surround ? R"(
    { factory = adapter
      args = { factory.name = support.null-audio-sink node.name = porthole-test-surround
               media.class = Audio/Sink audio.position = [ FL FR FC LFE RL RR SL SR ]
               audio.rate = 48000 node.group = porthole.test } })"
                                               : "";
    return R"(context.properties = {
    core.daemon = true
    core.name = pipewire-0
    default.clock.rate = 48000
    default.clock.quantum = )" +
           std::to_string(quantum) + R"(
    default.clock.min-quantum = 32
    default.clock.max-quantum = 2048
    support.dbus = false
}
context.spa-libs = {
    audio.convert.* = audioconvert/libspa-audioconvert
    support.*       = support/libspa-support
}
context.modules = [
    # Real time for the graph's data thread, as a desktop's PipeWire has it
    # (there through RTKit): without it the null sink's timer ran at normal
    # priority, and lavapipe's threads in the client under test delayed
    # whole cycles (underruns the client never caused).
    { name = libpipewire-module-rt args = { nice.level = -11 rt.prio = 88 }
      flags = [ ifexists nofail ] }
    { name = libpipewire-module-protocol-native }
    { name = libpipewire-module-profiler }
    { name = libpipewire-module-metadata }
    { name = libpipewire-module-spa-node-factory }
    { name = libpipewire-module-client-node }
    { name = libpipewire-module-client-device }
    { name = libpipewire-module-access args = { } }
    { name = libpipewire-module-adapter }
    { name = libpipewire-module-link-factory }
]
context.objects = [
    { factory = spa-node-factory
      args = { factory.name = support.node.driver node.name = Dummy-Driver
               node.group = porthole.test priority.driver = 20000 } }
    { factory = adapter
      args = { factory.name = support.null-audio-sink node.name = porthole-test-sink
               media.class = Audio/Sink audio.position = [ FL FR ] audio.rate = 48000
               node.group = porthole.test } })" +
           surround_sink + R"(
]
)";
}

}  // namespace

Result<PipeWireDaemon> PipeWireDaemon::start(std::uint32_t quantum, bool surround) {
    char tmpl[] = "/tmp/porthole-pw-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return Error::make("mkdtemp failed", errno);
    PipeWireDaemon d;
    d.dir_ = tmpl;
    namespace fs = std::filesystem;
    const std::string run = d.dir_ + "/run";
    fs::create_directories(run);
    ::chmod(run.c_str(), 0700);
    fs::create_directories(d.dir_ + "/config/wireplumber/main.lua.d");
    fs::create_directories(d.dir_ + "/state");
    if (!write_file(d.dir_ + "/pipewire.conf", pipewire_conf(quantum, surround)) ||
        !write_file(d.dir_ + "/config/wireplumber/main.lua.d/51-no-dbus.lua",
                    "default_access.properties[\"enable-flatpak-portal\"] = false\n"
                    "alsa_monitor.properties[\"alsa.reserve\"] = false\n")) {
        return Error::make("cannot write the PipeWire test config in " + d.dir_);
    }
    // Surround: streams in this process keep each channel where it was
    // declared (no upmix filling the sides from the rears), so a test sees
    // which position PipeWire was told.
    if (surround) {
        fs::create_directories(d.dir_ + "/config/pipewire/client.conf.d");
        if (!write_file(d.dir_ + "/config/pipewire/client.conf.d/50-no-upmix.conf",
                        "stream.properties = { channelmix.upmix = false }\n"))
            return Error::make("cannot write the PipeWire client config in " + d.dir_);
    }
    // This process and every child use the private daemon, nothing else.
    ::setenv("XDG_RUNTIME_DIR", run.c_str(), 1);
    ::setenv("XDG_CONFIG_HOME", (d.dir_ + "/config").c_str(), 1);
    ::setenv("XDG_STATE_HOME", (d.dir_ + "/state").c_str(), 1);
    for (const char* v : {"PIPEWIRE_RUNTIME_DIR", "PIPEWIRE_REMOTE", "DBUS_SESSION_BUS_ADDRESS",
                          "PIPEWIRE_CONFIG_DIR"}) {
        ::unsetenv(v);
    }
    warm_pipewire();
    auto pw = Child::spawn({"pipewire", "-c", d.dir_ + "/pipewire.conf"}, d.dir_ + "/pipewire.log");
    if (!pw) return pw.error();
    d.pipewire_ = std::move(*pw);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!fs::exists(run + "/pipewire-0")) {
        if (!d.pipewire_.running() || std::chrono::steady_clock::now() > deadline) {
            return Error::make(
                "pipewire did not start (is the 'pipewire' package installed?); see " + d.dir_ +
                "/pipewire.log");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    auto wp = Child::spawn({"wireplumber"}, d.dir_ + "/wireplumber.log");
    if (!wp) return wp.error();
    d.wireplumber_ = std::move(*wp);
    // WirePlumber needs a moment to pick the default sink; a stream that
    // connects earlier is linked as soon as it has.
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    if (!d.wireplumber_.running())
        return Error::make("wireplumber exited; see " + d.dir_ + "/wireplumber.log");
    return d;
}

PipeWireDaemon::~PipeWireDaemon() {
    wireplumber_.stop();
    pipewire_.stop();
    if (!dir_.empty() && std::getenv("PORTHOLE_KEEP_TEST_DIRS") == nullptr) {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
}

Result<std::vector<float>> read_wav_f32(const std::string& path, std::uint16_t& channels) {
    std::ifstream f(path, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (bytes.size() < 12 || std::memcmp(bytes.data(), "RIFF", 4) != 0 ||
        std::memcmp(bytes.data() + 8, "WAVE", 4) != 0) {
        return Error::make(path + " is not a WAV file");
    }
    std::size_t at = 12;
    std::uint16_t format = 0, bits = 0;
    while (at + 8 <= bytes.size()) {
        std::uint32_t size = 0;
        std::memcpy(&size, bytes.data() + at + 4, 4);
        const std::string id(bytes.data() + at, 4);
        const std::size_t body = at + 8;
        if (id == "fmt " && body + 16 <= bytes.size()) {
            std::memcpy(&format, bytes.data() + body, 2);
            std::memcpy(&channels, bytes.data() + body + 2, 2);
            std::memcpy(&bits, bytes.data() + body + 14, 2);
            if (format == 0xFFFE && body + 26 <= bytes.size())
                std::memcpy(&format, bytes.data() + body + 24, 2);
        } else if (id == "data") {
            if (format != 3 || bits != 32 || channels == 0)
                return Error::make(path + " is not float32 PCM");
            // A recorder stopped abruptly may leave the size unset: take what is there.
            const std::size_t avail = bytes.size() - body;
            const std::size_t n =
                (size == 0 || size == 0xFFFFFFFFU || size > avail ? avail : size) / 4;
            std::vector<float> out(n);
            std::memcpy(out.data(), bytes.data() + body, n * 4);
            return out;
        }
        at = body + size + (size & 1U);
    }
    return Error::make(path + " has no data chunk");
}

}  // namespace porthole::test
