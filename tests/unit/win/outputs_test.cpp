// Choosing the output to duplicate: a real GPU's display, never QEMU's
// emulated one, unless the user names it; no display on the GPU is a state
// the agent waits in, with what the user can do.
#include <gtest/gtest.h>

#include "capture/win/outputs.hpp"

using namespace porthole::agent::win;

namespace {
OutputInfo out(std::string adapter, std::uint32_t vendor, std::uint32_t device, std::string name,
               bool attached, std::int32_t left = 0) {
    OutputInfo o;
    o.adapter = std::move(adapter);
    o.vendor_id = vendor;
    o.device_id = device;
    o.device = std::move(name);
    o.attached = attached;
    o.left = left;
    o.right = left + 1920;
    o.bottom = 1080;
    return o;
}
const OutputInfo kQxl = out("Red Hat QXL controller", 0x1b36, 0x0100, "\\\\.\\DISPLAY1", true);
const OutputInfo kBasic =
    out("Microsoft Basic Render Driver", 0x1414, 0x008c, "\\\\.\\DISPLAY9", true);
const OutputInfo kNvidia =
    out("NVIDIA GeForce RTX 3080", 0x10de, 0x2206, "\\\\.\\DISPLAY2", true, 1920);
const OutputInfo kNvidia2 =
    out("NVIDIA GeForce RTX 3080", 0x10de, 0x2206, "\\\\.\\DISPLAY3", true, 3840);
}  // namespace

TEST(Outputs, EmulatedAdaptersAreRecognisedByIdAndName) {
    EXPECT_TRUE(is_emulated_adapter(kQxl));
    EXPECT_TRUE(is_emulated_adapter(kBasic));
    EXPECT_TRUE(is_emulated_adapter(out("QEMU Standard VGA", 0x1234, 0x1111, "", true)));
    EXPECT_TRUE(is_emulated_adapter(out("Something", 0, 0, "", true)) == false);
    OutputInfo sw = kNvidia;
    sw.software = true;
    EXPECT_TRUE(is_emulated_adapter(sw));
    EXPECT_FALSE(is_emulated_adapter(kNvidia));
}

TEST(Outputs, AnEmulatedAdapterListedFirstIsSkipped) {
    const std::vector<OutputInfo> all{kQxl, kBasic, kNvidia};
    const auto c = choose_output(all, "");
    ASSERT_TRUE(c.index) << c.why;
    EXPECT_EQ(*c.index, 2U);
}

TEST(Outputs, NoDisplayOnTheGpuWaitsAndSaysTheTwoWaysOut) {
    const std::vector<OutputInfo> all{
        kQxl, out("NVIDIA GeForce RTX 3080", 0x10de, 0x2206, "\\\\.\\DISPLAY2", false)};
    const auto c = choose_output(all, "");
    EXPECT_FALSE(c.index);
    EXPECT_TRUE(c.no_display);
    EXPECT_NE(c.why.find("dummy"), std::string::npos) << c.why;
    EXPECT_NE(c.why.find("virtual display driver"), std::string::npos) << c.why;
    EXPECT_NE(c.why.find("Red Hat QXL"), std::string::npos) << "names what it skipped: " << c.why;
    EXPECT_TRUE(choose_output({}, "").no_display);
}

TEST(Outputs, OutputByNumberCountsAttachedOutputsInListOrder) {
    const std::vector<OutputInfo> all{kQxl, kNvidia, kNvidia2};
    EXPECT_EQ(choose_output(all, "0").index, std::optional<std::size_t>(0));
    EXPECT_EQ(choose_output(all, "2").index, std::optional<std::size_t>(2));
    const auto bad = choose_output(all, "3");
    EXPECT_FALSE(bad.index);
    EXPECT_FALSE(bad.no_display) << "a wrong option is not a missing display";
    EXPECT_NE(bad.why.find("0..2"), std::string::npos) << bad.why;
}

TEST(Outputs, OutputByDeviceOrAdapterName) {
    const std::vector<OutputInfo> all{kQxl, kNvidia, kNvidia2};
    EXPECT_EQ(choose_output(all, "\\\\.\\display3").index, std::optional<std::size_t>(2));
    EXPECT_EQ(choose_output(all, "qxl").index, std::optional<std::size_t>(0));
    EXPECT_FALSE(choose_output(all, "radeon").index);
}

TEST(Outputs, ListingNumbersAttachedOutputsAndMarksEmulatedOnes) {
    const std::vector<OutputInfo> all{kQxl, out("x", 0x10de, 1, "\\\\.\\DISPLAY5", false), kNvidia};
    const auto lines = list_outputs(all);
    ASSERT_EQ(lines.size(), 2U);
    EXPECT_EQ(lines[0].rfind("0: \\\\.\\DISPLAY1 on Red Hat QXL controller [1b36:0100]", 0), 0U)
        << lines[0];
    EXPECT_NE(lines[0].find("emulated"), std::string::npos);
    EXPECT_NE(lines[1].find("1920x1080 at 1920,0"), std::string::npos) << lines[1];
    EXPECT_EQ(lines[1].find("emulated"), std::string::npos);
}
