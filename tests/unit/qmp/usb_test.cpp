// Naming host USB devices for QEMU's usb-host: what users type, what QEMU gets.
#include <gtest/gtest.h>

#include <cctype>

#include "porthole/qmp/usb.hpp"

namespace porthole::qmp {
namespace {

TEST(UsbSelector, VendorProductInHexAsLsusbShowsIt) {
    auto s = parse_usb_selector("046d:C52b");
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->vendor, 0x046d);
    EXPECT_EQ(s->product, 0xc52b);
    EXPECT_FALSE(s->bus.has_value());
    EXPECT_EQ(to_string(*s), "046d:c52b");
    EXPECT_EQ(usb_device_id(*s), "porthole-usb-046d-c52b");
    EXPECT_EQ(
        usb_device_add_arguments(*s, "x"),
        (nlohmann::json{
            {"driver", "usb-host"}, {"id", "x"}, {"vendorid", 0x046d}, {"productid", 0xc52b}}));
}

TEST(UsbSelector, BusAndPortPathAsSysfsNamesThem) {
    auto s = parse_usb_selector("3-1.2");
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->bus, 3u);
    EXPECT_EQ(s->port, "1.2");
    EXPECT_EQ(to_string(*s), "3-1.2");
    EXPECT_EQ(usb_device_id(*s), "porthole-usb-3-1.2");
    EXPECT_EQ(
        usb_device_add_arguments(*s, "y"),
        (nlohmann::json{{"driver", "usb-host"}, {"id", "y"}, {"hostbus", 3}, {"hostport", "1.2"}}));
}

TEST(UsbSelector, AnythingElseIsAClearErrorNamingBothForms) {
    for (const char* bad : {"", "046d", "46d:c52b", "046d:c52", "046d:c52bb", "g46d:c52b",
                            "046d:-52b", "3-", "-1", "0-1", "3-0", "3-1..2", "3-1.", "3-256",
                            "3-1.2.3.4.5.6.7.8", "3-1,2", "3-1\n2", "1000-1", "046d:c52b;rm"}) {
        auto s = parse_usb_selector(bad);
        EXPECT_FALSE(s) << bad;
        if (!s) {
            EXPECT_NE(s.error().message.find("vendor:product"), std::string::npos);
            EXPECT_NE(s.error().message.find("bus-port"), std::string::npos);
        }
    }
}

TEST(UsbSelector, EveryAcceptedSelectorMakesAValidQemuId) {
    // QEMU's id_wellformed: a letter first, then letters, digits, '-', '.', '_'.
    for (const char* ok : {"0000:0000", "ffff:ffff", "1-1", "999-255.255.255.255.255.255.255"}) {
        auto s = parse_usb_selector(ok);
        ASSERT_TRUE(s) << ok;
        const auto id = usb_device_id(*s);
        EXPECT_TRUE(std::isalpha(static_cast<unsigned char>(id.front())));
        for (char c : id)
            EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ||
                        c == '_')
                << id;
        EXPECT_EQ(to_string(*parse_usb_selector(to_string(*s))), to_string(*s));
    }
}

}  // namespace
}  // namespace porthole::qmp
