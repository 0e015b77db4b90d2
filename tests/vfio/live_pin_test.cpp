#include <gtest/gtest.h>

#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <future>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "porthole/util/unique_fd.hpp"
#include "porthole/vfio/live_pin.hpp"
#include "test_support.hpp"

namespace porthole::vfio {
namespace {

// A QMP server on a unix socket that answers the way QEMU does (each reply
// echoes its command's id), with an event in between.
class FakeQmp {
  public:
    explicit FakeQmp(std::vector<int64_t> thread_ids, std::vector<int64_t> iothread_ids = {})
        : path_(std::filesystem::temp_directory_path() /
                ("porthole-qmp-" + std::to_string(::getpid()) + ".sock")) {
        std::filesystem::remove(path_);
        listener_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM, 0));
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
        if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::listen(listener_.get(), 1) != 0) {
            throw std::runtime_error("cannot listen on " + path_.string());
        }
        server_ = std::thread(
            [this, ids = std::move(thread_ids), io = std::move(iothread_ids)] { serve(ids, io); });
    }
    ~FakeQmp() {
        server_.join();
        std::filesystem::remove(path_);
    }
    [[nodiscard]] std::string path() const { return path_.string(); }
    std::vector<std::string> commands;

  private:
    void send(int fd, const nlohmann::json& j) {
        std::string line = j.dump() + "\r\n";
        (void)::write(fd, line.data(), line.size());
    }
    std::string read_line(int fd) {
        std::string line;
        char c = 0;
        while (::read(fd, &c, 1) == 1 && c != '\n')
            line += c;
        return line;
    }
    void serve(const std::vector<int64_t>& ids, const std::vector<int64_t>& io) {
        UniqueFd client(::accept(listener_.get(), nullptr, nullptr));
        send(client.get(), {{"QMP",
                             {{"version", {{"qemu", {{"major", 8}}}}},
                              {"capabilities", nlohmann::json::array()}}}});
        for (int i = 0; i < 3; ++i) {
            auto cmd = nlohmann::json::parse(read_line(client.get()));
            commands.push_back(cmd["execute"]);
            if (cmd["execute"] == "query-cpus-fast") {
                send(client.get(), {{"event", "RTC_CHANGE"}, {"data", {{"offset", 0}}}});
                nlohmann::json cpus = nlohmann::json::array();
                for (size_t k = 0; k < ids.size(); ++k) {
                    cpus.push_back({{"cpu-index", k}, {"thread-id", ids[k]}, {"target", "x86_64"}});
                }
                send(client.get(), {{"return", cpus}, {"id", cmd["id"]}});
            } else if (cmd["execute"] == "query-iothreads") {
                nlohmann::json threads = nlohmann::json::array();
                for (size_t k = 0; k < io.size(); ++k) {
                    threads.push_back(
                        {{"id", "iothread" + std::to_string(k + 1)}, {"thread-id", io[k]}});
                }
                send(client.get(), {{"return", threads}, {"id", cmd["id"]}});
            } else {
                send(client.get(), {{"return", nlohmann::json::object()}, {"id", cmd["id"]}});
            }
        }
    }

    std::filesystem::path path_;
    UniqueFd listener_;
    std::thread server_;
};

std::vector<int> allowed_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    sched_getaffinity(0, sizeof set, &set);
    std::vector<int> cpus;
    for (int c = 0; c < CPU_SETSIZE; ++c) {
        if (CPU_ISSET(static_cast<size_t>(c), &set)) cpus.push_back(c);
    }
    return cpus;
}

TEST(LivePin, ReadsVcpuAndIothreadIdsOverQmpSkippingEvents) {
    VmThreads threads;
    {
        FakeQmp qmp({4242, 4243}, {4250});
        auto r = query_vm_threads(qmp.path());
        ASSERT_TRUE(r) << r.error().message;
        threads = *r;
    }
    ASSERT_EQ(threads.vcpus.size(), 2u);
    EXPECT_EQ(threads.vcpus[1].cpu_index, 1);
    EXPECT_EQ(threads.vcpus[1].thread_id, 4243);
    EXPECT_EQ(threads.iothreads, std::vector<int64_t>{4250});
}

// Records affinity calls without making them.
struct AffinityRecorder : Backend {
    Status apply(const Action& a, const fs::path&) override {
        if (a.kind == ActionKind::SetAffinity) pinned[a.thread_id] = a.value;
        return {};
    }
    std::map<int64_t, std::string>& pinned;
    explicit AffinityRecorder(std::map<int64_t, std::string>& p) : pinned(p) {}
};

TEST(LivePin, SendsIothreadsAndEveryOtherQemuThreadToTheHostCpus) {
    // This test process plays QEMU: its main thread is an "emulator" thread.
    std::map<int64_t, std::string> pinned;
    System sys({}, std::make_unique<AffinityRecorder>(pinned));
    PinPlan plan;
    plan.vcpu_to_cpu = {6};
    plan.host_cpus = {0, 1};
    const auto self = static_cast<int64_t>(::syscall(SYS_gettid));
    VmThreads vm{{{0, 1000001}}, {1000002}};
    ASSERT_TRUE(apply_pin_live(sys, plan, vm, ::getpid()));
    EXPECT_EQ(pinned[1000001], "6");
    EXPECT_EQ(pinned[1000002], "0,1");
    EXPECT_EQ(pinned[self], "0,1");
}

TEST(LivePin, PinsRealThreadsWithSchedSetaffinity) {
    // Two threads of this process stand in for QEMU's vCPU threads.
    const auto cpus = allowed_cpus();
    ASSERT_FALSE(cpus.empty());
    std::atomic<bool> done{false};
    std::promise<int64_t> tid_a, tid_b;
    auto body = [&](std::promise<int64_t>& p) {
        p.set_value(static_cast<int64_t>(::syscall(SYS_gettid)));
        while (!done)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
    };
    std::thread a(body, std::ref(tid_a)), b(body, std::ref(tid_b));
    std::vector<int64_t> ids{tid_a.get_future().get(), tid_b.get_future().get()};

    PinPlan plan;
    plan.vcpu_to_cpu = {cpus.front(), cpus.back()};
    System sys({}, std::make_unique<RealBackend>());
    FakeQmp qmp(ids);
    auto threads = query_vm_threads(qmp.path());
    ASSERT_TRUE(threads) << threads.error().message;
    auto s = apply_pin_live(sys, plan, *threads);
    ASSERT_TRUE(s) << s.error().message;
    for (size_t i = 0; i < 2; ++i) {
        cpu_set_t set;
        CPU_ZERO(&set);
        ASSERT_EQ(sched_getaffinity(static_cast<pid_t>(ids[i]), sizeof set, &set), 0);
        EXPECT_EQ(CPU_COUNT(&set), 1);
        EXPECT_TRUE(CPU_ISSET(static_cast<size_t>(plan.vcpu_to_cpu[i]), &set));
    }
    done = true;
    a.join();
    b.join();
}

TEST(LivePin, RefusesAPlanForAnotherVcpuCount) {
    PinPlan plan;
    plan.vcpu_to_cpu = {2, 3, 4, 5};
    System sys({}, std::make_unique<DryRunBackend>());
    auto s = apply_pin_live(sys, plan, VmThreads{{{0, 100}, {1, 101}}, {}});
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().message.find("--vcpus 2"), std::string::npos);
    EXPECT_TRUE(sys.journal().empty());
}

TEST(LivePin, UnreachableQmpSocketExplainsHowToEnableIt) {
    auto r = query_vm_threads("/nonexistent/porthole-qmp.sock");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("-qmp unix:"), std::string::npos);
}

TEST(Isolation, ConfinesEveryHostSliceAndUndoGivesAllCpusBack) {
    // Commands only run when --root is this machine's /; the fake kernel records them.
    testing::FixtureCopy copy("ryzen-2ccd");
    auto state = std::make_shared<testing::FakeKernelState>();
    Roots roots{copy.dir() / "sys", copy.dir() / "proc", "/"};
    System sys(roots, std::make_unique<testing::FakeKernel>(roots, state));
    ASSERT_TRUE(isolate_host(sys, {0, 12}));
    ASSERT_TRUE(undo_isolation(sys, parse_cpu_list("0-23")));
    ASSERT_EQ(state->commands.size(), 6u);
    for (size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(state->commands[i],
                  (std::vector<std::string>{"systemctl", "set-property", "--runtime", kHostUnits[i],
                                            "AllowedCPUs=0,12"}));
        EXPECT_EQ(state->commands[3 + i].back(), "AllowedCPUs=0-23");
    }
}

TEST(Isolation, RefusesToLeaveTheHostWithoutCpus) {
    System sys({}, std::make_unique<DryRunBackend>());
    EXPECT_FALSE(isolate_host(sys, {}));
}

}  // namespace
}  // namespace porthole::vfio
