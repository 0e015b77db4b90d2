#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "porthole/vfio/rom.hpp"
#include "test_support.hpp"

namespace porthole::vfio {
namespace {

std::vector<uint8_t> rom_file(const std::string& name) {
    std::ifstream in(testing::fixtures_dir() / "roms" / name, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    std::string bytes = s.str();
    return {bytes.begin(), bytes.end()};
}

TEST(OptionRom, FindsTheUefiImageAfterTheLegacyOne) {
    auto info = parse_option_rom(rom_file("legacy-uefi.rom"));
    ASSERT_TRUE(info) << info.error().message;
    ASSERT_EQ(info->images.size(), 2u);
    EXPECT_EQ(info->images[0].code_type, 0);
    EXPECT_EQ(info->images[1].code_type, 3);
    EXPECT_EQ(info->images[1].offset, info->images[0].length);
    EXPECT_TRUE(info->images[1].last);
    EXPECT_EQ(info->images[1].code_type_name(), "UEFI (x64)");
    EXPECT_EQ(info->images[0].vendor, 0x10de);
    EXPECT_TRUE(info->has_uefi());
    EXPECT_TRUE(info->problems.empty());
}

TEST(OptionRom, LegacyOnlyRomHasNoUefiImage) {
    auto info = parse_option_rom(rom_file("legacy-only.rom"));
    ASSERT_TRUE(info);
    ASSERT_EQ(info->images.size(), 1u);
    EXPECT_FALSE(info->has_uefi());
}

TEST(OptionRom, DataWithoutSignatureIsRejectedWithAReason) {
    auto info = parse_option_rom(rom_file("not-a-rom.bin"));
    ASSERT_FALSE(info);
    EXPECT_NE(info.error().message.find("0x55AA"), std::string::npos);
}

TEST(OptionRom, TruncatedSecondImageIsReportedNotFatal) {
    auto bytes = rom_file("legacy-uefi.rom");
    bytes.resize(1500);
    auto info = parse_option_rom(bytes);
    ASSERT_TRUE(info);
    EXPECT_TRUE(info->has_uefi());
    ASSERT_EQ(info->problems.size(), 1u);
    EXPECT_NE(info->problems[0].find("truncated"), std::string::npos);
}

TEST(OptionRom, BadPcirPointerIsCaught) {
    auto bytes = rom_file("legacy-only.rom");
    bytes[0x18] = 0xF0;
    bytes[0x19] = 0x7F;  // far past the end
    EXPECT_FALSE(parse_option_rom(bytes));
}

TEST(OptionRom, IsReadThroughSysfsWithEnableAndDisable) {
    testing::FakeMachine m("intel-desktop");
    auto bytes = read_device_rom(m.sys, "0000:01:00.0");
    ASSERT_TRUE(bytes) << bytes.error().message;
    EXPECT_EQ(*bytes, rom_file("legacy-uefi.rom"));
    ASSERT_EQ(m.sys.journal().size(), 2u);
    EXPECT_EQ(m.sys.journal()[0].value, "1");
    EXPECT_EQ(m.sys.journal()[1].value, "0");
}

TEST(OptionRom, DeviceWithoutRomSaysSo) {
    testing::FakeMachine m("intel-desktop");
    auto bytes = read_device_rom(m.sys, "0000:01:00.1");
    ASSERT_FALSE(bytes);
    EXPECT_NE(bytes.error().message.find("no option ROM"), std::string::npos);
}

}  // namespace
}  // namespace porthole::vfio
