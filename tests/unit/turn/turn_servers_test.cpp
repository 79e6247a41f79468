// The turnServers registry on both backends: create, read, partial update,
// remove, the rules on each field, and secrets sealed at rest.
#include "turn/admin/turn_servers.hpp"

#include <gtest/gtest.h>

#include <regex>

#include "backend_fixture.hpp"
#include "core/clock.hpp"
#include "core/secret_box.hpp"

namespace ucedge::turn {
namespace {

using namespace std::chrono_literals;
using store::testing::BackendTest;

core::SecretBox test_box() {
  core::SecretBox::Key key{};
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(i * 5 + 3);
  return core::SecretBox(key);
}

class TurnServersTest : public BackendTest {
 protected:
  core::SecretBox box_ = test_box();
  core::ManualClock clock_;
};

TurnServerInput expressway() {
  TurnServerInput in;
  in.server_address = "10.0.0.36";
  in.client_address = "175.12.5.1";
  in.type = "expressway";
  in.username = "cmsturn";
  in.password = "cms-turn-password";
  in.tcp_port_number_override = 3478;
  return in;
}

TEST_P(TurnServersTest, CreateGetListUpdateRemove) {
  TurnServerRegistry registry(*store_, box_, clock_);
  auto created = registry.create(expressway());
  ASSERT_TRUE(created) << created.error().message;
  const TurnServer& s = *created;
  EXPECT_TRUE(std::regex_match(s.id, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
      << s.id;
  EXPECT_EQ(s.server_address, "10.0.0.36");
  EXPECT_EQ(s.client_address, "175.12.5.1");
  EXPECT_EQ(s.type, TurnServerType::expressway);
  EXPECT_EQ(s.username, "cmsturn");
  EXPECT_EQ(s.tcp_port_number_override, 3478);
  EXPECT_EQ(s.num_registrations, 0);
  EXPECT_FALSE(s.use_short_term_credentials);
  auto now = std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count();
  EXPECT_EQ(s.created_at, now);
  EXPECT_EQ(s.updated_at, now);

  auto got = registry.get(s.id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->server_address, "10.0.0.36");
  EXPECT_EQ(got->password, s.password);
  // Ids are read in either case.
  std::string upper = s.id;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(registry.get(upper));

  clock_.advance(10s);
  TurnServerInput second;
  second.server_address = "turn.example.com:3479";
  auto other = registry.create(second);
  ASSERT_TRUE(other) << other.error().message;
  EXPECT_NE(other->id, s.id);
  EXPECT_EQ(other->type, TurnServerType::standard);
  auto list = registry.list();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, s.id);  // creation order
  EXPECT_EQ((*list)[1].id, other->id);

  // Only the fields given change.
  clock_.advance(5s);
  TurnServerInput change;
  change.num_registrations = 2;
  change.client_address = "[2001:db8::5]:443";
  auto updated = registry.update(s.id, change);
  ASSERT_TRUE(updated) << updated.error().message;
  EXPECT_EQ(updated->num_registrations, 2);
  EXPECT_EQ(updated->client_address, "[2001:db8::5]:443");
  EXPECT_EQ(updated->server_address, "10.0.0.36");
  EXPECT_EQ(updated->username, "cmsturn");
  EXPECT_EQ(updated->password, s.password);
  EXPECT_EQ(updated->type, TurnServerType::expressway);
  EXPECT_EQ(updated->created_at, now);
  EXPECT_EQ(updated->updated_at, now + 15);
  EXPECT_EQ(registry.get(s.id)->num_registrations, 2);

  ASSERT_TRUE(registry.remove(s.id));
  EXPECT_EQ(registry.get(s.id).error().kind, RegistryError::Kind::not_found);
  EXPECT_EQ(registry.remove(s.id).error().kind, RegistryError::Kind::not_found);
  EXPECT_EQ(registry.update(s.id, change).error().kind, RegistryError::Kind::not_found);
  EXPECT_EQ(registry.list()->size(), 1u);
  EXPECT_EQ(registry.get("not-an-id").error().kind, RegistryError::Kind::not_found);
}

TEST_P(TurnServersTest, SecretsAreSealedAtRestAndOpenForTheProbe) {
  TurnServerRegistry registry(*store_, box_, clock_);
  TurnServerInput in = expressway();
  in.use_short_term_credentials = true;
  in.shared_secret = "rest-api-shared-secret";
  auto s = registry.create(in);
  ASSERT_TRUE(s) << s.error().message;

  auto rows = store_->query("SELECT password, shared_secret FROM turn_servers WHERE id = ?", {s->id});
  ASSERT_STORE_OK(rows);
  ASSERT_EQ(rows->size(), 1u);
  std::string password = *(*rows)[0].get<std::string>(0);
  std::string secret = *(*rows)[0].get<std::string>(1);
  EXPECT_EQ(password.find("cms-turn-password"), std::string::npos);
  EXPECT_EQ(secret.find("rest-api-shared-secret"), std::string::npos);
  EXPECT_TRUE(password.starts_with("v1:"));
  EXPECT_EQ(*box_.unseal(password), "cms-turn-password");
  EXPECT_EQ(*box_.unseal(secret), "rest-api-shared-secret");

  auto target = registry.probe_target(*s);
  ASSERT_TRUE(target) << target.error().message;
  EXPECT_EQ(target->server_address, "10.0.0.36");
  EXPECT_EQ(target->tcp_port, 3478);
  EXPECT_EQ(target->username, "cmsturn");
  EXPECT_EQ(target->password, "cms-turn-password");
  EXPECT_TRUE(target->use_short_term_credentials);
  EXPECT_EQ(target->shared_secret, "rest-api-shared-secret");

  // Another master key cannot open them: a clear error, not garbage.
  core::SecretBox::Key other{};
  core::SecretBox other_box(other);
  TurnServerRegistry stranger(*store_, other_box, clock_);
  auto opened = stranger.probe_target(*s);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().kind, RegistryError::Kind::unavailable);
  EXPECT_NE(opened.error().message.find("master key"), std::string::npos);

  // Clearing the credentials leaves nothing behind.
  TurnServerInput clear;
  clear.username = "";
  clear.password = "";
  clear.use_short_term_credentials = false;
  clear.shared_secret = "";
  auto cleared = registry.update(s->id, clear);
  ASSERT_TRUE(cleared) << cleared.error().message;
  EXPECT_EQ(cleared->password, "");
  EXPECT_EQ(cleared->shared_secret, "");
  rows = store_->query("SELECT password, shared_secret FROM turn_servers WHERE id = ?", {s->id});
  EXPECT_EQ(*(*rows)[0].get<std::string>(0), "");
  EXPECT_EQ(*(*rows)[0].get<std::string>(1), "");
}

TEST_P(TurnServersTest, InvalidInputIsRefusedWithTheReason) {
  TurnServerRegistry registry(*store_, box_, clock_);
  auto refused = [&](TurnServerInput in) {
    auto r = registry.create(in);
    EXPECT_FALSE(r);
    if (r) return std::string();
    EXPECT_EQ(r.error().kind, RegistryError::Kind::invalid);
    return r.error().message;
  };
  auto contains = [](const std::string& text, const char* part) { return text.find(part) != std::string::npos; };

  EXPECT_TRUE(contains(refused({}), "serverAddress is required"));
  TurnServerInput in;
  in.server_address = "2001:db8::1";
  EXPECT_TRUE(contains(refused(in), "brackets"));
  in.server_address = "10.0.0.300";
  EXPECT_TRUE(contains(refused(in), "not an IPv4 address"));
  in.server_address = "turn.example.com:0";
  EXPECT_TRUE(contains(refused(in), "port"));
  in.server_address = "turn.example.com:70000";
  EXPECT_TRUE(contains(refused(in), "port"));
  in.server_address = "[2001:db8::1";
  EXPECT_TRUE(contains(refused(in), "']'"));
  in.server_address = "bad_host!";
  EXPECT_TRUE(contains(refused(in), "serverAddress"));
  in.server_address = "turn.example.com";
  in.client_address = "-bad-.example";
  EXPECT_TRUE(contains(refused(in), "clientAddress"));
  in.client_address.reset();

  TurnServerInput typed = in;
  typed.type = "coturn";
  EXPECT_TRUE(contains(refused(typed), "lyncEdge"));
  TurnServerInput port = in;
  port.tcp_port_number_override = 65536;
  EXPECT_TRUE(contains(refused(port), "tcpPortNumberOverride"));
  port.tcp_port_number_override = -1;
  EXPECT_TRUE(contains(refused(port), "tcpPortNumberOverride"));
  TurnServerInput registrations = in;
  registrations.num_registrations = -1;
  EXPECT_TRUE(contains(refused(registrations), "numRegistrations"));
  TurnServerInput user_only = in;
  user_only.username = "alice";
  EXPECT_TRUE(contains(refused(user_only), "username and password"));
  TurnServerInput password_only = in;
  password_only.password = "secret";
  EXPECT_TRUE(contains(refused(password_only), "username and password"));
  TurnServerInput short_term = in;
  short_term.use_short_term_credentials = true;
  EXPECT_TRUE(contains(refused(short_term), "sharedSecret"));
  TurnServerInput control = in;
  control.username = "ali\nce";
  control.password = "x";
  EXPECT_TRUE(contains(refused(control), "control"));
  TurnServerInput long_user = in;
  long_user.username = std::string(513, 'a');
  long_user.password = "x";
  EXPECT_TRUE(contains(refused(long_user), "username"));

  EXPECT_TRUE(registry.list()->empty());  // nothing half-written

  // An update that breaks a rule leaves the record as it was.
  auto s = registry.create(expressway());
  ASSERT_TRUE(s);
  TurnServerInput drop_password;
  drop_password.password = "";
  auto r = registry.update(s->id, drop_password);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, RegistryError::Kind::invalid);
  EXPECT_EQ(registry.get(s->id)->password, s->password);
  TurnServerInput no_server;
  no_server.server_address = "";
  EXPECT_EQ(registry.update(s->id, no_server).error().kind, RegistryError::Kind::invalid);
}

TEST_P(TurnServersTest, EveryCmsTypeIsAccepted) {
  TurnServerRegistry registry(*store_, box_, clock_);
  for (const char* type : {"standard", "expressway", "cms", "lyncEdge"}) {
    TurnServerInput in;
    in.server_address = "192.0.2.1";
    in.type = type;
    auto s = registry.create(in);
    ASSERT_TRUE(s) << type << ": " << s.error().message;
    EXPECT_EQ(to_string(registry.get(s->id)->type), type);
  }
}

TEST(HostPort, ParsesHostsPortsAndBracketedIpv6) {
  auto hp = parse_host_port("10.0.0.36");
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->host, "10.0.0.36");
  EXPECT_EQ(hp->port, 3478);
  EXPECT_FALSE(hp->ipv6_literal);
  hp = parse_host_port("turn.example.com:5349");
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->host, "turn.example.com");
  EXPECT_EQ(hp->port, 5349);
  hp = parse_host_port("[2001:db8::1]:3479");
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->host, "2001:db8::1");
  EXPECT_EQ(hp->port, 3479);
  EXPECT_TRUE(hp->ipv6_literal);
  hp = parse_host_port("[::1]");
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->port, 3478);
  EXPECT_FALSE(parse_host_port(""));
  EXPECT_FALSE(parse_host_port(":3478"));
  EXPECT_FALSE(parse_host_port("[2001:db8::1]x"));
  EXPECT_FALSE(parse_host_port("[not-ipv6]:1"));
  EXPECT_FALSE(parse_host_port("host:port"));
  EXPECT_FALSE(parse_host_port("a..b"));
  EXPECT_FALSE(parse_host_port(std::string(254, 'a')));
}

INSTANTIATE_TEST_SUITE_P(Backends, TurnServersTest, ::testing::Values(store::Backend::sqlite, store::Backend::postgres),
                         store::testing::backend_label);

}  // namespace
}  // namespace ucedge::turn
