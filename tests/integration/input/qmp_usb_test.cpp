// USB devices attached to and detached from a real QEMU (TCG, no disk) over
// QMP, through the shared session: QEMU accepts a usb-host device whose host
// device is absent and attaches it when it appears, so no USB device of this
// machine is touched.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "porthole/qmp/session.hpp"
#include "porthole/qmp/usb.hpp"
#include "support/qemu_process.hpp"

namespace porthole::qmp {
namespace {

using namespace std::chrono_literals;

struct TempDir {
    std::string path;
    TempDir() {
        char t[] = "/tmp/porthole-qmp-usb-XXXXXX";
        path = ::mkdtemp(t);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

std::vector<std::string> ids(const std::vector<AttachedUsb>& list) {
    std::vector<std::string> out;
    for (const auto& a : list)
        out.push_back(a.id + "=" + to_string(a.selector));
    return out;
}

TEST(QmpUsb, AttachListAndDetachOnARealQemuWithAnXhciController) {
    TempDir dir;
    const std::string sock = dir.path + "/qmp.sock";
    test::QemuProcess qemu(sock, true, {"-device", "qemu-xhci,id=xhci"});
    ASSERT_TRUE(qemu.listening()) << "qemu-system-x86_64 did not start";
    auto s = Session::connect(sock, 10s);
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_GE(s->version().major, 7) << "the greeting's version was read";

    auto none = list_usb(*s);
    ASSERT_TRUE(none) << none.error().message;
    EXPECT_TRUE(none->empty());

    auto pad = attach_usb(*s, *parse_usb_selector("045e:028e"));
    ASSERT_TRUE(pad) << pad.error().message;
    EXPECT_EQ(pad->id, "porthole-usb-045e-028e");
    auto headset = attach_usb(*s, *parse_usb_selector("1-2.3"));
    ASSERT_TRUE(headset) << headset.error().message;

    auto both = list_usb(*s);
    ASSERT_TRUE(both) << both.error().message;
    EXPECT_EQ(ids(*both), (std::vector<std::string>{"porthole-usb-045e-028e=045e:028e",
                                                    "porthole-usb-1-2.3=1-2.3"}))
        << "ids are sorted; a bus-port device reads back by its place";

    auto twice = attach_usb(*s, *parse_usb_selector("045e:028e"));
    ASSERT_FALSE(twice);
    EXPECT_NE(twice.error().message.find("attached already"), std::string::npos)
        << twice.error().message;

    auto gone = detach_usb(*s, "045e:028e");
    ASSERT_TRUE(gone) << gone.error().message;
    EXPECT_EQ(*gone, "porthole-usb-045e-028e");
    auto by_id = detach_usb(*s, "porthole-usb-1-2.3");
    ASSERT_TRUE(by_id) << by_id.error().message;
    auto after = list_usb(*s);
    ASSERT_TRUE(after) << after.error().message;
    EXPECT_TRUE(after->empty()) << ::testing::PrintToString(ids(*after));

    auto unknown = detach_usb(*s, "045e:028e");
    ASSERT_FALSE(unknown);
    EXPECT_NE(unknown.error().message.find("045e:028e"), std::string::npos)
        << unknown.error().message;
}

TEST(QmpUsb, AVmWithoutAUsbControllerIsSaidSo) {
    TempDir dir;
    const std::string sock = dir.path + "/qmp.sock";
    test::QemuProcess qemu(sock, true);
    ASSERT_TRUE(qemu.listening()) << "qemu-system-x86_64 did not start";
    auto s = Session::connect(sock, 10s);
    ASSERT_TRUE(s) << s.error().message;
    auto r = attach_usb(*s, *parse_usb_selector("045e:028e"));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("no USB controller"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace porthole::qmp
