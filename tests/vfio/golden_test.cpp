// Every command, in table and JSON form, against each fixture machine, compared
// with the golden output under tests/fixtures/vfio/golden (the fake kernel
// applies the writes). PORTHOLE_UPDATE_GOLDEN=1 rewrites the golden files.
#include <gtest/gtest.h>

#include <sstream>

#include "porthole/vfio/cli.hpp"
#include "test_support.hpp"
#include "vm_support.hpp"

namespace porthole::vfio {
namespace {

struct Case {
    std::string machine;
    std::string label;
    std::vector<std::string> args;
    bool json = false;
};

void PrintTo(const Case& c, std::ostream* os) {
    *os << c.machine << ":";
    for (const auto& a : c.args)
        *os << " " << a;
    if (c.json) *os << " --json";
}

std::string run_on_fixture(const Case& c, bool with_ovmf = false) {
    testing::FixtureCopy copy(c.machine);
    if (with_ovmf) testing::install_debian_ovmf(copy);
    auto state = std::make_shared<testing::FakeKernelState>();
    BackendFactory fake = [&](const Roots& roots, bool dry_run) -> std::unique_ptr<Backend> {
        if (dry_run) return std::make_unique<DryRunBackend>();
        return std::make_unique<testing::FakeKernel>(roots, state);
    };
    std::vector<std::string> args = copy.root_args();
    if (c.json) args.push_back("--json");
    args.insert(args.end(), c.args.begin(), c.args.end());
    std::ostringstream out, err;
    int code = run_cli(args, out, err, fake);
    std::string text =
        "exit: " + std::to_string(code) + "\n--- stdout\n" + out.str() + "--- stderr\n" + err.str();
    // The copy's place differs per run: the recorded output names it <fixture>.
    const std::string dir = copy.dir().string();
    for (size_t at = text.find(dir); at != std::string::npos; at = text.find(dir, at))
        text.replace(at, dir.size(), "<fixture>");
    return text;
}

std::vector<Case> cases() {
    std::vector<Case> base = {
        {"intel-desktop", "groups", {"groups"}},
        {"ryzen-2ccd", "groups", {"groups"}},
        {"iommu-off", "groups", {"groups"}},
        {"numa-server", "groups", {"groups"}},
        {"intel-desktop", "doctor", {"doctor"}},
        {"ryzen-2ccd", "doctor", {"doctor"}},
        {"iommu-off", "doctor", {"doctor"}},
        {"numa-server", "doctor", {"doctor"}},
        {"intel-desktop", "pin-8", {"pin", "--vcpus", "8"}},
        {"ryzen-2ccd", "pin-12-isolate", {"pin", "--vcpus", "12", "--isolate"}},
        {"ryzen-2ccd", "pin-undo", {"pin", "--undo-isolation"}},
        {"numa-server", "pin-8", {"pin", "--vcpus", "8"}},
        {"iommu-off", "pin-odd", {"pin", "--vcpus", "3"}},
        {"intel-desktop", "persist", {"persist", "01:00.0", "01:00.1"}},
        {"ryzen-2ccd", "persist", {"persist", "0b:00.0", "0b:00.1", "05:00.0", "06:00.0"}},
        {"iommu-off", "persist-apply", {"persist", "02:00.0", "--apply"}},
        {"numa-server", "persist", {"persist", "af:00.0", "af:00.1"}},
        {"intel-desktop", "bind", {"bind", "01:00.0", "01:00.1"}},
        {"intel-desktop", "bind-dry-run", {"--dry-run", "bind", "01:00.0", "--with-functions"}},
        {"intel-desktop", "bind-refused", {"bind", "01:00.0"}},
        {"ryzen-2ccd", "bind-no-vfio", {"bind", "0b:00.0", "--with-group"}},
        {"numa-server", "unbind", {"unbind", "af:00.0", "af:00.1"}},
        {"intel-desktop", "hugepages-reserve", {"hugepages", "reserve", "2G"}},
        {"numa-server",
         "hugepages-reserve-node",
         {"hugepages", "reserve", "4G", "--page", "1G", "--node", "1"}},
        {"numa-server", "hugepages-release", {"hugepages", "release", "1G"}},
        {"intel-desktop",
         "libvirt-snippets",
         {"libvirt", "snippets", "--width", "2560", "--height", "1440"}},
        {"intel-desktop",
         "libvirt-hooks",
         {"--dry-run", "libvirt", "hooks", "--vm", "win11", "--bdf", "01:00.0", "--bdf", "01:00.1",
          "--hugepages", "16G", "--page", "1G", "--isolate-vcpus", "8", "--program",
          "/usr/local/bin/porthole-vfio"}},
        {"intel-desktop", "rom", {"rom", "01:00.0"}},
        {"ryzen-2ccd", "rom", {"rom", "0b:00.0"}},
        {"intel-desktop", "doctor-rom", {"doctor", "--rom"}},
        {"usb-keyboard-group", "groups", {"groups"}},
        {"usb-keyboard-group", "doctor", {"doctor"}},
        {"usb-keyboard-group", "bind-with-group", {"bind", "03:00.0", "--with-group"}},
        {"usb-keyboard-group", "persist", {"persist", "03:00.0", "03:00.1"}},
        {"sata-root-group", "groups", {"groups"}},
        {"sata-root-group", "doctor", {"doctor"}},
        {"sata-root-group", "bind-with-group", {"bind", "04:00.0", "--with-group"}},
        {"sata-root-group", "persist-apply", {"persist", "--apply"}},
        {"boot-gpu-display", "groups", {"groups"}},
        {"boot-gpu-display", "bind", {"bind", "0a:00.0", "0a:00.1"}},
        {"boot-gpu-display", "persist", {"persist", "0a:00.0", "0a:00.1"}},
        {"boot-gpu-display",
         "persist-force-hugepages",
         {"persist", "0a:00.0", "0a:00.1", "--force", "--hugepages", "16G", "--page", "1G"}},
        {"rmrr-server", "groups", {"groups"}},
        {"rmrr-server", "doctor", {"doctor"}},
        {"rmrr-server", "bind", {"bind", "04:00.0", "04:00.1"}},
        {"amd-vendor-reset", "doctor", {"doctor"}},
        {"amd-vendor-reset", "persist", {"persist", "0c:00.0", "0c:00.1"}},
    };
    std::vector<Case> all;
    for (auto c : base) {
        all.push_back(c);
        c.json = true;
        all.push_back(c);
    }
    return all;
}

class GoldenOutput : public ::testing::TestWithParam<Case> {};

TEST_P(GoldenOutput, MatchesTheRecordedOutput) {
    const Case& c = GetParam();
    std::string name = c.machine + "/" + c.label + (c.json ? ".json.txt" : ".txt");
    std::string diff = testing::compare_golden(name, run_on_fixture(c));
    EXPECT_TRUE(diff.empty()) << diff;
}

INSTANTIATE_TEST_SUITE_P(Commands, GoldenOutput, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& param) {
                             std::string n = param.param.machine + "_" + param.param.label +
                                             (param.param.json ? "_json" : "_table");
                             for (char& ch : n) {
                                 if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                             }
                             return n;
                         });

// vm define's domain, byte for byte, on a machine with Debian's OVMF: options added
// later (--doorbell) must leave the output of a command without them unchanged.
TEST(GoldenVmDefine, DefaultDomainIsTheRecordedOne) {
    for (const Case& c : {
             Case{"intel-desktop",
                  "vm-define",
                  {"vm", "define", "win11", "--gpu", "01:00.0", "--memory", "8G", "--vcpus", "4",
                   "--virt-type", "kvm"}},
             Case{"intel-desktop",
                  "vm-define-4k",
                  {"vm", "define", "win11", "--gpu", "01:00.0", "--memory", "8G", "--vcpus", "4",
                   "--virt-type", "kvm", "--width", "3840", "--height", "2160", "--shm-name",
                   "porthole-win11"},
                  true},
         }) {
        std::string name = c.machine + "/" + c.label + (c.json ? ".json.txt" : ".txt");
        std::string diff = testing::compare_golden(name, run_on_fixture(c, true));
        EXPECT_TRUE(diff.empty()) << diff;
    }
}

}  // namespace
}  // namespace porthole::vfio
