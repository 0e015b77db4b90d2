// QMP's message rules on what a socket may send, well-formed or not.
#include <gtest/gtest.h>

#include "porthole/qmp/message.hpp"

namespace porthole::qmp {
namespace {

TEST(QmpMessage, ClassifiesGreetingReplyErrorAndEventWithTheirIds) {
    auto g = parse_message(R"({"QMP":{"version":{"qemu":{"major":7,"minor":2,"micro":0}}}})");
    ASSERT_TRUE(g);
    EXPECT_EQ(g->kind, Message::Kind::greeting);
    EXPECT_EQ(greeting_version(g->body), (QemuVersion{7, 2}));

    auto r = parse_message(R"({"return":{"a":1},"id":42})");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->kind, Message::Kind::reply);
    EXPECT_EQ(r->id, 42u);
    EXPECT_EQ(r->body, (nlohmann::json{{"a", 1}}));

    auto e = parse_message(R"({"error":{"class":"GenericError","desc":"no such bus"},"id":7})");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->kind, Message::Kind::error);
    EXPECT_EQ(e->id, 7u);
    EXPECT_EQ(e->error_class, "GenericError");
    EXPECT_EQ(e->error_desc, "no such bus");

    auto ev = parse_message(R"({"event":"DEVICE_DELETED","data":{"device":"x"}})");
    ASSERT_TRUE(ev);
    EXPECT_EQ(ev->kind, Message::Kind::event);
    EXPECT_FALSE(ev->id.has_value());
}

TEST(QmpMessage, RefusesWhatIsNotAQmpMessageWithAShortQuote) {
    for (const char* bad : {"", "not json", "[1,2]", "42", R"({"something":"else"})",
                            R"({"event":5})", R"({"error":"text"})"}) {
        auto m = parse_message(bad);
        EXPECT_FALSE(m) << bad;
    }
    const std::string huge(500, 'x');
    auto m = parse_message(huge);
    ASSERT_FALSE(m);
    EXPECT_LT(m.error().message.size(), 200u) << "the whole line is not quoted back";
}

TEST(QmpMessage, AnIdThatIsNotAnUnsignedNumberIsNoId) {
    auto r = parse_message(R"({"return":{},"id":"seven"})");
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->id.has_value());
    auto n = parse_message(R"({"return":{},"id":-3})");
    ASSERT_TRUE(n);
    EXPECT_FALSE(n->id.has_value());
}

TEST(QmpMessage, AnErrorWithoutDescriptionSaysSo) {
    auto e = parse_message(R"({"error":{"class":"GenericError"}})");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->error_desc, "unknown error");
}

TEST(QmpMessage, GreetingVersionIsZeroForAnythingMalformed) {
    for (const char* odd :
         {R"({"QMP":{}})", R"({"QMP":{"version":{"qemu":{"major":"8","minor":0}}}})",
          R"({"QMP":{"version":{"qemu":{"major":-1,"minor":0}}}})",
          R"({"QMP":{"version":{"qemu":{"major":99999999999,"minor":0}}}})",
          R"({"QMP":{"version":{"qemu":{"major":8}}}})", R"({"QMP":{"version":{"qemu":[8,0]}}})",
          R"({"QMP":[]})", R"([])", R"({"QMP":{"version":{"qemu":{"major":8.5,"minor":0}}}})"}) {
        SCOPED_TRACE(odd);
        EXPECT_EQ(greeting_version(nlohmann::json::parse(odd)), (QemuVersion{0, 0}));
    }
}

TEST(QmpMessage, QueryVersionResultGivesMajorAndMinorOrZeroWhenMalformed) {
    // QEMU 7.2's own reply to query-version.
    EXPECT_EQ(query_version_result(nlohmann::json::parse(
                  R"({"qemu":{"micro":19,"minor":2,"major":7},"package":"Debian 1:7.2+dfsg-7"})")),
              (QemuVersion{7, 2}));
    EXPECT_EQ(query_version_result(nlohmann::json::parse(R"({"qemu":{"major":8,"minor":0}})")),
              (QemuVersion{8, 0}));
    for (const char* odd : {R"({})", R"({"qemu":[8,0]})", R"({"qemu":{"major":"8","minor":0}})",
                            R"({"qemu":{"major":8}})", R"([])", R"("8.0")",
                            R"({"QMP":{"version":{"qemu":{"major":8,"minor":0}}}})"}) {
        SCOPED_TRACE(odd);
        EXPECT_EQ(query_version_result(nlohmann::json::parse(odd)), (QemuVersion{0, 0}));
    }
}

TEST(QmpMessage, CommandLineCarriesIdAndLeavesOutNullArguments) {
    EXPECT_EQ(nlohmann::json::parse(command_line("qmp_capabilities", nullptr, 0)),
              (nlohmann::json{{"execute", "qmp_capabilities"}, {"id", 0}}));
    const auto line = command_line("device_del", {{"id", "a"}}, 9);
    EXPECT_EQ(line.back(), '\n');
    EXPECT_EQ(nlohmann::json::parse(line),
              (nlohmann::json{{"execute", "device_del"}, {"id", 9}, {"arguments", {{"id", "a"}}}}));
}

TEST(QmpMessage, AddressTakesUnixPrefixOrABarePathAndRefusesQemuOptions) {
    EXPECT_EQ(*parse_qmp_address("unix:/run/vm.qmp"), "/run/vm.qmp");
    EXPECT_EQ(*parse_qmp_address("/run/vm.qmp"), "/run/vm.qmp");
    EXPECT_FALSE(parse_qmp_address("unix:/run/vm.qmp,server=on"));
    EXPECT_FALSE(parse_qmp_address(""));
}

}  // namespace
}  // namespace porthole::qmp
