// The [turn] table as an operator writes it: defaults, lists of listeners,
// and an error with its key for every bad value.
#include <gtest/gtest.h>

#include "app/config.hpp"

namespace ucedge::turn {
namespace {

core::Result<app::Config, core::ConfigErrors> parse(const std::string& turn) {
  return app::parse_config("[turn]\n" + turn, "t.toml");
}

TEST(TurnConfig, DefaultsAreTheDocumentedOnes) {
  auto c = parse("");
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_TRUE(c->turn.enabled);
  EXPECT_EQ(c->turn.listen_udp, std::vector<std::string>{"127.0.0.1:3478"});
  EXPECT_EQ(c->turn.listen_tcp, std::vector<std::string>{"127.0.0.1:3478"});
  EXPECT_EQ(c->turn.listen_tls, std::vector<std::string>{"127.0.0.1:5349"});
  EXPECT_EQ(c->turn.relay_port_min, 49152);
  EXPECT_EQ(c->turn.relay_port_max, 65535);
  EXPECT_EQ(c->turn.default_lifetime.count(), 600);
  EXPECT_EQ(c->turn.max_lifetime.count(), 3600);
  EXPECT_EQ(c->turn.user_quota, 10);
  EXPECT_FALSE(c->turn.integrity_failure_431);
  EXPECT_TRUE(c->turn.allow_peers.empty());
}

TEST(TurnConfig, ListenersTakeOneAddressAListOrNone) {
  auto c = parse(
      "listen_udp = [\"0.0.0.0:3478\", \"[::]:3478\"]\nlisten_tcp = \"\"\nlisten_tls = \"[::1]:5349\"\n"
      "relay_ports = \"24000-29999\"\nrelay_address_v6 = \"::1\"\nallow_peers = [\"10.1.0.0/16\", \"fd00::1\"]\n");
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->turn.listen_udp, (std::vector<std::string>{"0.0.0.0:3478", "[::]:3478"}));
  EXPECT_TRUE(c->turn.listen_tcp.empty());
  EXPECT_EQ(c->turn.listen_tls, std::vector<std::string>{"[::1]:5349"});
  EXPECT_EQ(c->turn.relay_port_min, 24000);
  EXPECT_EQ(c->turn.relay_port_max, 29999);
  EXPECT_EQ(c->turn.relay_address_v6, "::1");
  EXPECT_EQ(c->turn.allow_peers.size(), 2u);
}

TEST(TurnConfig, EveryBadValueIsReportedWithItsKey) {
  auto c = parse(
      "listen_udp = [\"nowhere\"]\nrelay_ports = \"60000-50000\"\nrelay_address = \"::1\"\n"
      "allow_peers = [\"10.0.0.1/33\"]\nmax_lifetime = \"1m\"\ndefault_lifetime = \"5m\"\nrealm = \"\"\n");
  ASSERT_FALSE(c);
  std::string text = c.error().to_string();
  for (const char* key : {"turn.listen_udp", "turn.relay_ports", "turn.relay_address", "turn.allow_peers",
                          "turn.max_lifetime", "turn.realm"}) {
    EXPECT_NE(text.find(key), std::string::npos) << key << "\n" << text;
  }
}

}  // namespace
}  // namespace ucedge::turn
