// The TURN admin API through the router, as an operator's client calls it:
// JSON and CMS-style form bodies, partial PUT, problem details, the live
// status probe and the relay's allocations.
#include "turn/admin/admin_routes.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "core/secret_box.hpp"
#include "fake_turn_server.hpp"
#include "store/store.hpp"
#include "turn/admin/probe.hpp"
#include "turn/admin/turn_servers.hpp"
#include "turn/relay_view.hpp"

namespace ucedge::turn {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class FakeRelay : public RelayView {
 public:
  std::vector<AllocationInfo> list;
  std::vector<AllocationInfo> allocations() const override { return list; }
};

class TurnAdminRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ucedge-turn-admin-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    store::StoreConfig config;
    config.backend = store::Backend::sqlite;
    config.sqlite_path = "test.db";
    auto opened = store::open_store(config, dir_);
    ASSERT_TRUE(opened) << opened.error().to_string();
    store_ = std::move(opened).value();
    registry_ = std::make_unique<TurnServerRegistry>(*store_, box_, clock_);
    ProbeOptions o;
    o.transaction_timeout = 1000ms;
    o.initial_rto = 50ms;
    o.total_timeout = 5000ms;
    probe_ = std::make_unique<TurnProbe>(o, clock_);
    // A guard that lets everything through but marks what it wrapped.
    auto guard = [this](net::Handler inner) -> net::Handler {
      return [this, inner](net::Request& r) {
        ++guarded_;
        return inner(r);
      };
    };
    add_turn_admin_routes(router_, guard, *registry_, *probe_, &relay_);
    add_turn_admin_routes(router_without_relay_, guard, *registry_, *probe_, nullptr);
  }

  void TearDown() override {
    registry_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  net::Response call(net::Method method, std::string target, std::string body = {},
                     std::string content_type = "application/json", const net::Router* router = nullptr) {
    net::Request r;
    r.method = method;
    r.target = target;
    auto q = target.find('?');
    r.path = target.substr(0, q);
    if (q != std::string::npos) r.query = target.substr(q + 1);
    r.body = std::move(body);
    if (!content_type.empty()) r.headers.push_back({"Content-Type", content_type});
    return (router ? *router : router_).dispatch(r);
  }

  static json body(const net::Response& r) { return json::parse(r.body); }

  static std::string header(const net::Response& r, std::string_view name) {
    for (const auto& h : r.headers) {
      if (net::iequals(h.name, name)) return h.value;
    }
    return {};
  }

  std::string create(const json& j) {
    auto r = call(net::Method::post, "/api/v1/turnServers", j.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return body(r)["id"].get<std::string>();
  }

  std::filesystem::path dir_;
  core::SecretBox box_{core::SecretBox::Key{1, 2, 3}};
  core::ManualClock clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<TurnServerRegistry> registry_;
  std::unique_ptr<TurnProbe> probe_;
  FakeRelay relay_;
  net::Router router_;
  net::Router router_without_relay_;
  int guarded_ = 0;
};

TEST_F(TurnAdminRoutesTest, CreateReadListUpdateDelete) {
  auto created = call(net::Method::post, "/api/v1/turnServers",
                      R"({"serverAddress": "10.0.0.36", "clientAddress": "175.12.5.1", "type": "expressway",
                          "username": "cmsturn", "password": "pw", "tcpPortNumberOverride": 3478})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(header(created, "Content-Type"), "application/json");
  json s = body(created);
  std::string id = s["id"];
  EXPECT_EQ(header(created, "Location"), "/api/v1/turnServers/" + id);
  EXPECT_EQ(s["serverAddress"], "10.0.0.36");
  EXPECT_EQ(s["clientAddress"], "175.12.5.1");
  EXPECT_EQ(s["type"], "expressway");
  EXPECT_EQ(s["username"], "cmsturn");
  EXPECT_EQ(s["tcpPortNumberOverride"], 3478);
  EXPECT_EQ(s["numRegistrations"], 0);
  EXPECT_EQ(s["useShortTermCredentials"], false);
  // Secrets never come back, not even sealed.
  EXPECT_FALSE(s.contains("password"));
  EXPECT_FALSE(s.contains("sharedSecret"));
  EXPECT_EQ(s["hasPassword"], true);
  EXPECT_EQ(s["hasSharedSecret"], false);
  EXPECT_EQ(created.body.find("pw\""), std::string::npos);

  auto got = call(net::Method::get, "/api/v1/turnServers/" + id);
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(body(got), s);

  clock_.advance(1s);
  create({{"serverAddress", "turn.example.com"}});
  auto list = call(net::Method::get, "/api/v1/turnServers");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(body(list)["total"], 2);
  ASSERT_EQ(body(list)["turnServers"].size(), 2u);
  EXPECT_EQ(body(list)["turnServers"][0]["id"], id);
  auto page = body(call(net::Method::get, "/api/v1/turnServers?offset=1&limit=5"));
  EXPECT_EQ(page["total"], 2);
  ASSERT_EQ(page["turnServers"].size(), 1u);
  EXPECT_EQ(page["turnServers"][0]["serverAddress"], "turn.example.com");
  EXPECT_EQ(call(net::Method::get, "/api/v1/turnServers?limit=-1").status, 400);

  // PUT changes only what it carries.
  clock_.advance(30s);
  auto put = call(net::Method::put, "/api/v1/turnServers/" + id, R"({"numRegistrations": 3})");
  ASSERT_EQ(put.status, 200) << put.body;
  json changed = body(put);
  EXPECT_EQ(changed["numRegistrations"], 3);
  EXPECT_EQ(changed["serverAddress"], "10.0.0.36");
  EXPECT_EQ(changed["username"], "cmsturn");
  EXPECT_EQ(changed["hasPassword"], true);
  EXPECT_EQ(changed["updatedAt"].get<std::int64_t>(), s["createdAt"].get<std::int64_t>() + 31);
  EXPECT_EQ(body(call(net::Method::get, "/api/v1/turnServers/" + id))["numRegistrations"], 3);

  auto del = call(net::Method::delete_, "/api/v1/turnServers/" + id);
  EXPECT_EQ(del.status, 204);
  EXPECT_EQ(del.body, "");
  auto gone = call(net::Method::get, "/api/v1/turnServers/" + id);
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(header(gone, "Content-Type"), "application/problem+json");
  EXPECT_EQ(call(net::Method::delete_, "/api/v1/turnServers/" + id).status, 404);
  EXPECT_EQ(call(net::Method::put, "/api/v1/turnServers/" + id, "{}").status, 404);
  EXPECT_EQ(body(call(net::Method::get, "/api/v1/turnServers"))["total"], 1);

  EXPECT_GT(guarded_, 0);
}

TEST_F(TurnAdminRoutesTest, FormBodiesAsCmsSendsThem) {
  auto created = call(net::Method::post, "/api/v1/turnServers",
                      "serverAddress=10.0.0.36&clientAddress=175.12.5.1&type=expressway&username=cmsturn"
                      "&password=p%40ss+word&tcpPortNumberOverride=3478&useShortTermCredentials=false",
                      "application/x-www-form-urlencoded");
  ASSERT_EQ(created.status, 201) << created.body;
  json s = body(created);
  EXPECT_EQ(s["type"], "expressway");
  EXPECT_EQ(s["tcpPortNumberOverride"], 3478);
  // The password decoded as a form: "p@ss word".
  auto server = registry_->get(s["id"].get<std::string>());
  ASSERT_TRUE(server);
  EXPECT_EQ(registry_->probe_target(*server)->password, "p@ss word");

  auto put = call(net::Method::put, "/api/v1/turnServers/" + s["id"].get<std::string>(),
                  "numRegistrations=1&clientAddress=", "application/x-www-form-urlencoded; charset=utf-8");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(body(put)["numRegistrations"], 1);
  EXPECT_EQ(body(put)["clientAddress"], "");
  EXPECT_EQ(body(put)["type"], "expressway");

  auto bad = call(net::Method::post, "/api/v1/turnServers", "serverAddress=a&tcpPortNumberOverride=lots",
                  "application/x-www-form-urlencoded");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(body(bad)["detail"].get<std::string>().find("tcpPortNumberOverride"), std::string::npos);
  auto twice = call(net::Method::post, "/api/v1/turnServers", "serverAddress=a&serverAddress=b",
                    "application/x-www-form-urlencoded");
  EXPECT_EQ(twice.status, 400);
}

TEST_F(TurnAdminRoutesTest, BadInputIsAProblemWithTheReason) {
  auto detail = [&](net::Method m, const std::string& target, const std::string& text) {
    auto r = call(m, target, text);
    EXPECT_EQ(r.status, 400) << text;
    EXPECT_EQ(header(r, "Content-Type"), "application/problem+json");
    json j = body(r);
    EXPECT_EQ(j["status"], 400);
    return j["detail"].get<std::string>();
  };
  const std::string path = "/api/v1/turnServers";
  EXPECT_NE(detail(net::Method::post, path, R"({"serverAddress": "a", "colour": "blue"})").find("unknown field \"colour\""),
            std::string::npos);
  EXPECT_NE(detail(net::Method::post, path, R"({"serverAddress": "a", "id": "x"})").find("read-only"),
            std::string::npos);
  EXPECT_NE(detail(net::Method::post, path, R"({"serverAddress": 10})").find("string"), std::string::npos);
  EXPECT_NE(detail(net::Method::post, path, R"({"serverAddress": "a", "tcpPortNumberOverride": "3478"})")
                .find("integer"),
            std::string::npos);
  EXPECT_NE(detail(net::Method::post, path, R"({"serverAddress": "a", "useShortTermCredentials": 1})")
                .find("true or false"),
            std::string::npos);
  EXPECT_NE(detail(net::Method::post, path, R"({"serverAddress": "a", "type": "coturn"})").find("type"),
            std::string::npos);
  EXPECT_NE(detail(net::Method::post, path, R"({"serverAddress": "2001:db8::1"})").find("brackets"),
            std::string::npos);
  EXPECT_NE(detail(net::Method::post, path, "{}").find("serverAddress is required"), std::string::npos);
  EXPECT_NE(detail(net::Method::post, path, "not json").find("JSON"), std::string::npos);
  EXPECT_NE(detail(net::Method::post, path, "[1, 2]").find("object"), std::string::npos);

  std::string id = create({{"serverAddress", "192.0.2.10"}});
  EXPECT_NE(detail(net::Method::put, path + "/" + id, R"({"username": "alice"})").find("username and password"),
            std::string::npos);
  // null puts a field back to its default.
  auto reset = call(net::Method::put, path + "/" + id, R"({"type": "cms", "numRegistrations": 4})");
  ASSERT_EQ(reset.status, 200);
  reset = call(net::Method::put, path + "/" + id, R"({"type": null, "numRegistrations": null})");
  ASSERT_EQ(reset.status, 200) << reset.body;
  EXPECT_EQ(body(reset)["type"], "standard");
  EXPECT_EQ(body(reset)["numRegistrations"], 0);
}

TEST_F(TurnAdminRoutesTest, StatusProbesTheServerLive) {
  testing::FakeTurnServer server({});
  std::string id = create({{"serverAddress", server.address()}, {"username", "alice"}, {"password", "wonderland"}});
  auto r = call(net::Method::get, "/api/v1/turnServers/" + id + "/status");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = body(r);
  EXPECT_EQ(j["id"], id);
  EXPECT_EQ(j["serverAddress"], server.address());
  EXPECT_FALSE(j.contains("password"));
  const json& status = j["status"];
  EXPECT_EQ(status["reachable"], true);
  ASSERT_TRUE(status["roundTripTimeMs"].is_number());
  EXPECT_GT(status["roundTripTimeMs"].get<double>(), 0.0);
  EXPECT_EQ(status["allocation"], "ok");
  EXPECT_EQ(status["relayedAddress"], "203.0.113.7:" + std::to_string(testing::FakeTurnServer::kRelayedPort));
  EXPECT_TRUE(status["mappedAddress"].get<std::string>().starts_with("127.0.0.1:"));
  EXPECT_EQ(status["transport"], "udp");
  EXPECT_TRUE(status["error"].is_null());
  EXPECT_EQ(status["checkedAt"],
            std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count());
  ASSERT_EQ(status["checks"].size(), 1u);
  EXPECT_EQ(status["checks"][0]["released"], true);
  EXPECT_EQ(server.log().releases, 1);

  EXPECT_EQ(call(net::Method::get, "/api/v1/turnServers/266cb509-71fb-4ecc-b600-b93d07d886ff/status").status, 404);
}

TEST_F(TurnAdminRoutesTest, StatusOfAServerThatIsNotThere) {
  // Nothing listens there: the ICMP answer ends the probe.
  std::string id = create({{"serverAddress", "127.0.0.1:" + std::to_string(testing::closed_port(SOCK_DGRAM))}});
  auto r = call(net::Method::get, "/api/v1/turnServers/" + id + "/status");
  ASSERT_EQ(r.status, 200) << r.body;
  const json status = body(r)["status"];
  EXPECT_EQ(status["reachable"], false);
  EXPECT_TRUE(status["roundTripTimeMs"].is_null());
  EXPECT_EQ(status["allocation"], "not_tried");
  EXPECT_TRUE(status["error"].is_string());
}

TEST_F(TurnAdminRoutesTest, AllocationsShowTheRelayLive) {
  AllocationInfo a;
  a.id = "a1";
  a.username = "alice";
  a.realm = "ucedge";
  a.client = "198.51.100.4:50000";
  a.transport = "udp";
  a.relayed = "203.0.113.1:49200";
  a.created_at = 1700000000;
  a.expires_at = 1700000600;
  a.packets_to_peers = 10;
  a.bytes_to_peers = 1600;
  a.packets_from_peers = 12;
  a.bytes_from_peers = 1800;
  a.dropped = 1;
  a.peers = {{"198.51.100.9:6000", 0x4001, 1700000500}, {"198.51.100.10", 0, 1700000300}};
  relay_.list = {a};

  auto r = call(net::Method::get, "/api/v1/turn/allocations");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = body(r);
  EXPECT_EQ(j["total"], 1);
  const json& x = j["allocations"][0];
  EXPECT_EQ(x["id"], "a1");
  EXPECT_EQ(x["username"], "alice");
  EXPECT_EQ(x["realm"], "ucedge");
  EXPECT_EQ(x["client"], "198.51.100.4:50000");
  EXPECT_EQ(x["transport"], "udp");
  EXPECT_EQ(x["relayed"], "203.0.113.1:49200");
  EXPECT_EQ(x["createdAt"], 1700000000);
  EXPECT_EQ(x["expiresAt"], 1700000600);
  EXPECT_EQ(x["packetsToPeers"], 10);
  EXPECT_EQ(x["bytesToPeers"], 1600);
  EXPECT_EQ(x["packetsFromPeers"], 12);
  EXPECT_EQ(x["bytesFromPeers"], 1800);
  EXPECT_EQ(x["dropped"], 1);
  ASSERT_EQ(x["peers"].size(), 2u);
  EXPECT_EQ(x["peers"][0]["address"], "198.51.100.9:6000");
  EXPECT_EQ(x["peers"][0]["channel"], 0x4001);
  EXPECT_TRUE(x["peers"][1]["channel"].is_null());

  // The counters are read at each request, not cached.
  relay_.list[0].packets_to_peers = 11;
  EXPECT_EQ(body(call(net::Method::get, "/api/v1/turn/allocations"))["allocations"][0]["packetsToPeers"], 11);
  relay_.list.clear();
  EXPECT_EQ(body(call(net::Method::get, "/api/v1/turn/allocations"))["total"], 0);

  auto off = call(net::Method::get, "/api/v1/turn/allocations", {}, {}, &router_without_relay_);
  EXPECT_EQ(off.status, 503);
  EXPECT_EQ(header(off, "Content-Type"), "application/problem+json");
  EXPECT_EQ(body(off)["title"], "TURN relay is off");
}

TEST_F(TurnAdminRoutesTest, EveryRouteIsBehindTheGuard) {
  net::Router router;
  auto refuse = [](net::Handler) -> net::Handler {
    return [](net::Request&) { return net::Response::problem(401, "Unauthorized"); };
  };
  add_turn_admin_routes(router, refuse, *registry_, *probe_, &relay_);
  for (auto [method, path] : std::vector<std::pair<net::Method, std::string>>{
           {net::Method::get, "/api/v1/turnServers"},
           {net::Method::post, "/api/v1/turnServers"},
           {net::Method::get, "/api/v1/turnServers/266cb509-71fb-4ecc-b600-b93d07d886ff"},
           {net::Method::put, "/api/v1/turnServers/266cb509-71fb-4ecc-b600-b93d07d886ff"},
           {net::Method::delete_, "/api/v1/turnServers/266cb509-71fb-4ecc-b600-b93d07d886ff"},
           {net::Method::get, "/api/v1/turnServers/266cb509-71fb-4ecc-b600-b93d07d886ff/status"},
           {net::Method::get, "/api/v1/turn/allocations"}}) {
    EXPECT_EQ(call(method, path, "{}", "application/json", &router).status, 401) << path;
  }
}

}  // namespace
}  // namespace ucedge::turn
