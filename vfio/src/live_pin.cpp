#include "porthole/vfio/live_pin.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "porthole/util/unique_fd.hpp"

namespace porthole::vfio {

namespace {

// QMP speaks one JSON object per line; events may arrive between replies.
class QmpConnection {
  public:
    explicit QmpConnection(UniqueFd fd) : fd_(std::move(fd)) {}

    Result<nlohmann::json> read_message() {
        while (true) {
            auto nl = buffer_.find('\n');
            if (nl != std::string::npos) {
                std::string line = buffer_.substr(0, nl);
                buffer_.erase(0, nl + 1);
                if (trim(line).empty()) continue;
                auto msg = nlohmann::json::parse(line, nullptr, false);
                if (msg.is_discarded()) return Error::make("QMP sent invalid JSON: " + line);
                return msg;
            }
            pollfd p{fd_.get(), POLLIN, 0};
            int r = ::poll(&p, 1, 5000);
            if (r == 0) return Error::make("QMP did not answer within 5 s");
            if (r < 0 && errno != EINTR) return Error::make("poll on QMP socket failed", errno);
            char chunk[4096];
            ssize_t n = ::read(fd_.get(), chunk, sizeof chunk);
            if (n <= 0) return Error::make("QMP closed the connection");
            buffer_.append(chunk, static_cast<size_t>(n));
        }
    }

    Result<nlohmann::json> execute(const std::string& command) {
        std::string line = nlohmann::json{{"execute", command}}.dump() + "\n";
        if (::write(fd_.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
            return Error::make("writing to the QMP socket failed", errno);
        }
        while (true) {
            auto msg = read_message();
            if (!msg) return msg;
            if (msg->contains("event")) continue;
            if (msg->contains("error")) {
                return Error::make(fmt::format("QMP {} failed: {}", command,
                                               (*msg)["error"].value("desc", "unknown error")));
            }
            if (msg->contains("return")) return (*msg)["return"];
        }
    }

  private:
    UniqueFd fd_;
    std::string buffer_;
};

}  // namespace

Result<VmThreads> query_vm_threads(const std::string& socket_path) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return Error::make("cannot create a unix socket", errno);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof addr.sun_path) return Error::make("QMP socket path too long");
    std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        int err = errno;
        return Error::make(fmt::format("cannot connect to QMP at {}: {} (is the VM running, and "
                                       "QEMU started with -qmp unix:{},server,nowait?)",
                                       socket_path, std::strerror(err), socket_path),
                           err);
    }
    QmpConnection qmp(std::move(fd));
    auto greeting = qmp.read_message();
    if (!greeting) return greeting.error();
    if (!greeting->contains("QMP")) return Error::make("not a QMP socket: " + socket_path);
    if (auto r = qmp.execute("qmp_capabilities"); !r) return r.error();
    auto cpus = qmp.execute("query-cpus-fast");
    if (!cpus) return cpus.error();
    VmThreads out;
    for (const auto& c : *cpus) {
        out.vcpus.push_back({c.value("cpu-index", 0), c.value("thread-id", int64_t{0})});
    }
    auto iothreads = qmp.execute("query-iothreads");
    if (!iothreads) return iothreads.error();
    for (const auto& t : *iothreads)
        out.iothreads.push_back(t.value("thread-id", int64_t{0}));
    return out;
}

Status apply_pin_live(System& sys, const PinPlan& plan, const VmThreads& threads,
                      std::optional<int> qemu_pid) {
    if (threads.vcpus.size() != plan.vcpu_to_cpu.size()) {
        return Error::make(
            fmt::format("the VM has {} vCPUs but the plan is for {}: run `pin --vcpus {}`",
                        threads.vcpus.size(), plan.vcpu_to_cpu.size(), threads.vcpus.size()));
    }
    for (const auto& t : threads.vcpus) {
        if (t.cpu_index < 0 || static_cast<size_t>(t.cpu_index) >= plan.vcpu_to_cpu.size()) {
            return Error::make(
                fmt::format("QMP reported vCPU index {} outside the plan", t.cpu_index));
        }
    }
    for (const auto& t : threads.vcpus) {
        int cpu = plan.vcpu_to_cpu[static_cast<size_t>(t.cpu_index)];
        if (auto s = sys.set_affinity(t.thread_id, std::to_string(cpu)); !s) return s;
    }
    const std::string host = format_cpu_list(plan.host_cpus);
    for (int64_t tid : threads.iothreads) {
        if (auto s = sys.set_affinity(tid, host); !s) return s;
    }
    if (!qemu_pid) return {};
    const auto tasks = sys.list(fmt::format("/proc/{}/task", *qemu_pid));
    if (tasks.empty()) {
        return Error::make(
            fmt::format("no QEMU process {} (no /proc/{}/task)", *qemu_pid, *qemu_pid));
    }
    for (const auto& name : tasks) {
        int64_t tid = 0;
        try {
            tid = std::stoll(name);
        } catch (const std::exception&) {
            continue;
        }
        bool is_vcpu = std::any_of(threads.vcpus.begin(), threads.vcpus.end(),
                                   [&](const VcpuThread& v) { return v.thread_id == tid; });
        bool is_iothread = std::find(threads.iothreads.begin(), threads.iothreads.end(), tid) !=
                           threads.iothreads.end();
        if (is_vcpu || is_iothread) continue;
        if (auto s = sys.set_affinity(tid, host); !s) return s;
    }
    return {};
}

Status isolate_host(System& sys, const std::vector<int>& host_cpus) {
    if (host_cpus.empty()) return Error::make("refusing to leave the host without CPUs");
    for (const auto& unit : kHostUnits) {
        auto s = sys.run({"systemctl", "set-property", "--runtime", unit,
                          "AllowedCPUs=" + format_cpu_list(host_cpus)});
        if (!s) return s;
    }
    return {};
}

Status undo_isolation(System& sys, const std::vector<int>& all_cpus) {
    for (const auto& unit : kHostUnits) {
        auto s = sys.run({"systemctl", "set-property", "--runtime", unit,
                          "AllowedCPUs=" + format_cpu_list(all_cpus)});
        if (!s) return s;
    }
    return {};
}

}  // namespace porthole::vfio
