// Read-only runs on this machine's own /sys and /proc: whatever they hold
// (often no IOMMU in CI), the commands must finish cleanly and say something sensible.
#include <gtest/gtest.h>

#include <sstream>

#include <nlohmann/json.hpp>

#include "porthole/vfio/cli.hpp"

namespace porthole::vfio {
namespace {

struct CliRun {
    int code;
    std::string out, err;
};

CliRun run(std::vector<std::string> args) {
    std::ostringstream out, err;
    // Dry-run backend: nothing on the real machine may change.
    auto dry = [](const Roots&, bool) -> std::unique_ptr<Backend> {
        return std::make_unique<DryRunBackend>();
    };
    int code = run_cli(args, out, err, dry);
    return {code, out.str(), err.str()};
}

TEST(RealSystem, GroupsReportsGroupsOrThatTheIommuIsOff) {
    CliRun r = run({"groups"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(r.out.find("IOMMU group") != std::string::npos ||
                r.out.find("IOMMU is off") != std::string::npos)
        << r.out;
}

TEST(RealSystem, GroupsJsonIsValid) {
    CliRun r = run({"--json", "groups"});
    ASSERT_EQ(r.code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_TRUE(j["iommu"].is_boolean());
    EXPECT_TRUE(j["groups"].is_array());
}

TEST(RealSystem, DoctorFinishesWithEveryCoreCheck) {
    CliRun r = run({"--json", "doctor", "--no-rom", "--region", "/nonexistent/porthole"});
    ASSERT_TRUE(r.code == 0 || r.code == 1) << r.err;
    auto j = nlohmann::json::parse(r.out);
    std::vector<std::string> checks;
    for (const auto& f : j["findings"])
        checks.push_back(f["check"]);
    for (const char* c :
         {"cpu-virtualization", "iommu", "acs-override", "hugepages", "region-file"}) {
        EXPECT_NE(std::find(checks.begin(), checks.end(), c), checks.end()) << c;
    }
}

TEST(RealSystem, PinPlanForOneVcpuOrAClearRefusal) {
    CliRun r = run({"pin", "--vcpus", "1"});
    // A one-core machine cannot spare a core: that must be an error message, not a crash.
    if (r.code == 0) {
        EXPECT_NE(r.out.find("<vcpupin vcpu='0'"), std::string::npos);
    } else {
        EXPECT_EQ(r.code, 2);
        EXPECT_NE(r.err.find("error: "), std::string::npos);
    }
}

}  // namespace
}  // namespace porthole::vfio
