#include "prov/codec/user_agent.hpp"

#include <gtest/gtest.h>

namespace ucedge::prov {
namespace {

DeviceUserAgent parse_ok(std::string_view text) {
  auto r = parse_user_agent(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : to_string(r.error()));
  return r.ok() ? *r : DeviceUserAgent{};
}

UserAgentError parse_error(std::string_view text) {
  auto r = parse_user_agent(text);
  EXPECT_FALSE(r.ok()) << text << " parsed as model " << (r.ok() ? r->model : "");
  return r.ok() ? UserAgentError::empty : r.error();
}

TEST(UserAgent, CiscoMpp) {
  auto ua = parse_ok("Cisco-CP-8841-3PCC/11.0 (00562b043615)");
  EXPECT_EQ(ua.vendor, "Cisco");
  EXPECT_EQ(ua.model, "CP-8841-3PCC");
  EXPECT_EQ(ua.firmware, "11.0");
  EXPECT_EQ(ua.mac, "00562b043615");
  EXPECT_EQ(ua.serial, "");
}

TEST(UserAgent, CiscoMppWithSerial) {
  auto ua = parse_ok("Cisco-CP-8841-3PCC/11.0.1 (00562b043615)(FCH1234ABCD)");
  EXPECT_EQ(ua.model, "CP-8841-3PCC");
  EXPECT_EQ(ua.firmware, "11.0.1");
  EXPECT_EQ(ua.mac, "00562b043615");
  EXPECT_EQ(ua.serial, "FCH1234ABCD");
}

TEST(UserAgent, OtherMppModels) {
  auto ua = parse_ok("Cisco-CP-8832-3PCC/11.3.1 (00562B043615)");
  EXPECT_EQ(ua.model, "CP-8832-3PCC");
  EXPECT_EQ(ua.mac, "00562b043615");
  ua = parse_ok("Cisco-CP-6871-3PCC/11.2.3MPP0001 (00562b043615)");
  EXPECT_EQ(ua.model, "CP-6871-3PCC");
  EXPECT_EQ(ua.firmware, "11.2.3MPP0001");
  ua = parse_ok("Cisco-ATA192-3PCC/11.1.0 (00562b043615)");
  EXPECT_EQ(ua.model, "ATA192-3PCC");
  EXPECT_EQ(ua.firmware, "11.1.0");
}

TEST(UserAgent, CiscoSpa) {
  auto ua = parse_ok("Cisco/SPA508G-7.4.4 (0002FDFF2103)(CBT141400UK)");
  EXPECT_EQ(ua.vendor, "Cisco");
  EXPECT_EQ(ua.model, "SPA508G");
  EXPECT_EQ(ua.firmware, "7.4.4");
  EXPECT_EQ(ua.mac, "0002fdff2103");
  EXPECT_EQ(ua.serial, "CBT141400UK");
  ua = parse_ok("Cisco/SPA525G2-7.6.2c (0002FDFF2103)(CBT141400UK)");
  EXPECT_EQ(ua.model, "SPA525G2");
  EXPECT_EQ(ua.firmware, "7.6.2c");
}

TEST(UserAgent, LinksysSendsASerialNotAMac) {
  auto ua = parse_ok("Linksys/SPA942-5.1.8 (4MM00F123456)");
  EXPECT_EQ(ua.vendor, "Linksys");
  EXPECT_EQ(ua.model, "SPA942");
  EXPECT_EQ(ua.firmware, "5.1.8");
  EXPECT_EQ(ua.mac, "");
  EXPECT_EQ(ua.serial, "4MM00F123456");
}

TEST(UserAgent, LiberalInWhitespace) {
  auto ua = parse_ok("  Cisco-CP-8841-3PCC/11.0\t(  00562b043615 ) ( FCH1234ABCD )  ");
  EXPECT_EQ(ua.model, "CP-8841-3PCC");
  EXPECT_EQ(ua.mac, "00562b043615");
  EXPECT_EQ(ua.serial, "FCH1234ABCD");
  ua = parse_ok("Cisco-CP-8841-3PCC/11.0(00562b043615)(FCH1234ABCD)");
  EXPECT_EQ(ua.serial, "FCH1234ABCD");
  ua = parse_ok("Cisco-CP-8841-3PCC/11.0");
  EXPECT_EQ(ua.firmware, "11.0");
  EXPECT_EQ(ua.mac, "");
}

TEST(UserAgent, Errors) {
  EXPECT_EQ(parse_error(""), UserAgentError::empty);
  EXPECT_EQ(parse_error(" \t "), UserAgentError::empty);
  EXPECT_EQ(parse_error("Mozilla/5.0 (X11; Linux x86_64)"), UserAgentError::unknown_vendor);
  EXPECT_EQ(parse_error("curl/7.88.1"), UserAgentError::unknown_vendor);
  EXPECT_EQ(parse_error("Polycom/5.9.0 (0004f2000000)"), UserAgentError::unknown_vendor);
  for (std::string_view bad :
       {"Cisco", "Cisco-", "Cisco/", "Cisco-CP-8841-3PCC", "Cisco-CP-8841-3PCC/",
        "Cisco-/11.0 (00562b043615)", "Cisco/SPA508G (0002FDFF2103)", "Cisco/SPA508G-beta (0002FDFF2103)",
        "Linksys-SPA942/5.1.8 (4MM00F123456)", "Cisco-CP-8841-3PCC/11.0 (00562b043615",
        "Cisco-CP-8841-3PCC/11.0 ()", "Cisco-CP-8841-3PCC/11.0 (00562b043615)(A)(B)",
        "Cisco-CP-8841-3PCC/11.0 (FCH1234ABCD)(00562b043615)",
        "Cisco-CP-8841-3PCC/11.0 (00562b043615) trailing", "Cisco-CP-8841-3PCC/11.0/x (00562b043615)",
        "Cisco-CP 8841/11.0", "Cisco-CP-8841-3PCC/11.0 ((00562b043615))"}) {
    EXPECT_EQ(parse_error(bad), UserAgentError::malformed) << bad;
  }
}

TEST(UserAgent, ErrorNames) {
  EXPECT_FALSE(to_string(UserAgentError::empty).empty());
  EXPECT_NE(to_string(UserAgentError::unknown_vendor), to_string(UserAgentError::malformed));
}

}  // namespace
}  // namespace ucedge::prov
