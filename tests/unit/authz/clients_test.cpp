// The client registry on both backends: public and confidential clients, the
// secret shown once and kept as a SHA-256 digest, what a registration may
// hold, and changes another process makes.
#include "authz/directory/clients.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "backend_fixture.hpp"
#include "core/clock.hpp"

namespace ucedge::authz {
namespace {

using store::testing::BackendTest;
using namespace std::chrono_literals;

std::string sha256_hex(std::string_view data) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  char hex[sizeof digest * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

bool base64url_only(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

ClientSpec public_app(std::string id = "softphone") {
  ClientSpec spec;
  spec.client_id = std::move(id);
  spec.name = "Softphone";
  spec.redirect_uris = {"com.example.softphone:/oauth2redirect", "https://app.example.com/cb"};
  return spec;
}

ClientSpec service(std::string id = "billing") {
  ClientSpec spec;
  spec.client_id = std::move(id);
  spec.confidential = true;
  spec.redirect_uris = {"https://billing.example.com/oauth/callback"};
  return spec;
}

class ClientsTest : public BackendTest {
 protected:
  void SetUp() override {
    ASSERT_EQ(sodium_init() >= 0, true);
    BackendTest::SetUp();
  }

  core::ManualClock clock_;
};

TEST_P(ClientsTest, APublicClientHasNoSecretAndTheCodeGrantByDefault) {
  ClientRegistry registry(*store_, clock_);
  ASSERT_TRUE(registry.reload());
  auto added = registry.add(public_app());
  ASSERT_TRUE(added) << added.error();
  EXPECT_FALSE(added->secret.has_value());
  EXPECT_FALSE(added->client.confidential);
  EXPECT_TRUE(added->client.secret_sha256.empty());
  EXPECT_EQ(added->client.grant_types, (std::vector<std::string>{"authorization_code", "refresh_token"}));

  auto found = registry.find("softphone");
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->name, "Softphone");
  EXPECT_TRUE(found->allows_grant("authorization_code"));
  EXPECT_TRUE(found->allows_grant("refresh_token"));
  EXPECT_FALSE(found->allows_grant("client_credentials"));
  EXPECT_FALSE(ClientRegistry::secret_matches(*found, ""));
  EXPECT_FALSE(ClientRegistry::secret_matches(*found, "anything"));
  EXPECT_EQ(registry.find("Softphone"), nullptr);
  EXPECT_EQ(registry.find("nobody"), nullptr);
}

TEST_P(ClientsTest, RedirectUrisMatchExactlyButForALoopbackPort) {
  ClientRegistry registry(*store_, clock_);
  ClientSpec spec = public_app();
  spec.redirect_uris.push_back("http://127.0.0.1/callback");
  spec.redirect_uris.push_back("http://[::1]:8000/callback");
  ASSERT_TRUE(registry.add(spec));
  auto c = registry.find("softphone");
  ASSERT_NE(c, nullptr);

  EXPECT_TRUE(c->allows_redirect("https://app.example.com/cb"));
  EXPECT_TRUE(c->allows_redirect("com.example.softphone:/oauth2redirect"));
  EXPECT_FALSE(c->allows_redirect("https://app.example.com/cb/"));
  EXPECT_FALSE(c->allows_redirect("https://app.example.com/cb?x=1"));
  EXPECT_FALSE(c->allows_redirect("https://APP.example.com/cb"));
  EXPECT_FALSE(c->allows_redirect("https://app.example.com:443/cb"));
  EXPECT_FALSE(c->allows_redirect("http://app.example.com/cb"));
  EXPECT_FALSE(c->allows_redirect(""));

  // RFC 8252 §7.3: a native app's loopback listener gets any port.
  EXPECT_TRUE(c->allows_redirect("http://127.0.0.1/callback"));
  EXPECT_TRUE(c->allows_redirect("http://127.0.0.1:51234/callback"));
  EXPECT_TRUE(c->allows_redirect("http://[::1]:40000/callback"));
  EXPECT_TRUE(c->allows_redirect("http://[::1]/callback"));
  EXPECT_FALSE(c->allows_redirect("http://127.0.0.1:51234/other"));
  EXPECT_FALSE(c->allows_redirect("http://127.0.0.1:51234/callback/"));
  EXPECT_FALSE(c->allows_redirect("http://localhost:51234/callback"));
  EXPECT_FALSE(c->allows_redirect("http://127.0.0.1:/callback"));
  EXPECT_FALSE(c->allows_redirect("http://127.0.0.1.evil.example/callback"));
  EXPECT_FALSE(c->allows_redirect("http://127.0.0.1:80@evil.example/callback"));
}

TEST_P(ClientsTest, AConfidentialClientsSecretIsShownOnceAndKeptAsItsDigest) {
  ClientRegistry registry(*store_, clock_);
  ClientSpec spec = service("");
  auto added = registry.add(spec);
  ASSERT_TRUE(added) << added.error();
  const std::string id = added->client.client_id;
  EXPECT_GE(id.size(), 22u);
  EXPECT_TRUE(base64url_only(id)) << id;
  EXPECT_EQ(added->client.grant_types,
            (std::vector<std::string>{"authorization_code", "refresh_token", "client_credentials"}));

  ASSERT_TRUE(added->secret.has_value());
  const std::string secret = *added->secret;
  EXPECT_EQ(secret.size(), 43u);  // 32 bytes, base64url without padding
  EXPECT_TRUE(base64url_only(secret)) << secret;
  EXPECT_EQ(added->client.secret_sha256, sha256_hex(secret));

  auto rows = store_->query("SELECT * FROM authz_clients WHERE client_id = ?", {id});
  ASSERT_STORE_OK(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(*rows->front().get<std::string>("secret_sha256"), sha256_hex(secret));
  for (const auto& value : rows->front().values()) {
    if (const auto* text = std::get_if<std::string>(&value)) {
      EXPECT_EQ(text->find(secret), std::string::npos);
    }
  }

  auto c = registry.find(id);
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(ClientRegistry::secret_matches(*c, secret));
  std::string altered = secret;
  altered.back() = altered.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(ClientRegistry::secret_matches(*c, altered));
  EXPECT_FALSE(ClientRegistry::secret_matches(*c, secret.substr(1)));
  EXPECT_FALSE(ClientRegistry::secret_matches(*c, ""));
  EXPECT_FALSE(ClientRegistry::secret_matches(*c, added->client.secret_sha256));

  // Two clients never share a generated id or secret.
  auto other = registry.add(service(""));
  ASSERT_TRUE(other);
  EXPECT_NE(other->client.client_id, id);
  EXPECT_NE(*other->secret, secret);
}

TEST_P(ClientsTest, RotatingASecretRetiresTheOldOne) {
  ClientRegistry registry(*store_, clock_);
  auto added = registry.add(service());
  ASSERT_TRUE(added);
  auto rotated = registry.rotate_secret("billing");
  ASSERT_TRUE(rotated) << rotated.error();
  EXPECT_NE(*rotated, *added->secret);

  auto c = registry.find("billing");
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(ClientRegistry::secret_matches(*c, *rotated));
  EXPECT_FALSE(ClientRegistry::secret_matches(*c, *added->secret));

  // A client object handed out before keeps what it was: nothing changes under a reader.
  EXPECT_TRUE(ClientRegistry::secret_matches(added->client, *added->secret));

  ClientRegistry fresh(*store_, clock_);
  ASSERT_TRUE(fresh.reload());
  EXPECT_TRUE(ClientRegistry::secret_matches(*fresh.find("billing"), *rotated));

  ASSERT_TRUE(registry.add(public_app()));
  auto public_rotation = registry.rotate_secret("softphone");
  ASSERT_FALSE(public_rotation);
  EXPECT_NE(public_rotation.error().find("public"), std::string::npos) << public_rotation.error();
  auto unknown = registry.rotate_secret("nobody");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().find("no client nobody"), std::string::npos) << unknown.error();
}

TEST_P(ClientsTest, RefusesWhatAClientMayNotBe) {
  ClientRegistry registry(*store_, clock_);
  ASSERT_TRUE(registry.add(public_app("taken")));

  const auto refused = [&](const ClientSpec& spec, std::string_view because) {
    auto r = registry.add(spec);
    ASSERT_FALSE(r) << spec.client_id;
    EXPECT_NE(r.error().find(because), std::string::npos) << r.error();
  };
  for (std::string id : {std::string(129, 'c'), std::string("two words"), std::string("a/b"),
                         std::string("caf\xC3\xA9"), std::string("semi;colon"), std::string("tab\t")}) {
    refused(public_app(id), "client id");
  }
  refused(public_app("taken"), "taken");

  ClientSpec spec = public_app("x");
  spec.grant_types = {"implicit"};
  refused(spec, "unknown grant type");
  spec.grant_types = {"password"};
  refused(spec, "unknown grant type");

  spec = public_app("x");
  spec.grant_types = {"client_credentials"};
  refused(spec, "public client cannot use client_credentials");

  spec = public_app("x");
  spec.redirect_uris = {};
  refused(spec, "needs at least one redirect URI");
  spec.confidential = true;
  refused(spec, "needs at least one redirect URI");

  for (std::string uri :
       {"https://app.example.com/cb#frag", "/relative/cb", "app.example.com/cb", "javascript:alert(1)",
        "JavaScript:alert(1)", "data:text/html,hi", "https:///nohost", "https://user@app.example.com/cb",
        "https://app.example.com/a b", "https:/one-slash", "com.example.app:", ":nothing", "1http://x/"}) {
    spec = public_app("x");
    spec.redirect_uris = {uri};
    refused(spec, "redirect URI");
  }

  spec = public_app("x");
  spec.scopes = {"openid", "has\"quote"};
  refused(spec, "scope");
  spec.scopes = {"two words"};
  refused(spec, "scope");
  spec.scopes = {""};
  refused(spec, "scope");

  spec = public_app("x");
  spec.name = "line\nbreak";
  refused(spec, "control character");

  EXPECT_EQ(registry.list().size(), 1u);
}

TEST_P(ClientsTest, AcceptsWhatTheStandardsAllow) {
  ClientRegistry registry(*store_, clock_);
  const std::string longest(128, 'z');
  ASSERT_TRUE(registry.add(public_app(longest)));
  ASSERT_TRUE(registry.add(public_app("A.b_c~d-9")));

  // A service that only uses client_credentials needs no redirect URI.
  ClientSpec backend = service("backend");
  backend.redirect_uris.clear();
  backend.grant_types = {"client_credentials", "client_credentials"};
  auto added = registry.add(backend);
  ASSERT_TRUE(added) << added.error();
  EXPECT_EQ(added->client.grant_types, std::vector<std::string>{"client_credentials"});

  ClientSpec scoped = public_app("scoped");
  scoped.scopes = {"openid", "profile", "openid", "sip:register"};
  scoped.redirect_uris.push_back("https://app.example.com/cb");  // listed twice, kept once
  ASSERT_TRUE(registry.add(scoped));
  auto rows =
      store_->query("SELECT redirect_uris, grant_types, scopes FROM authz_clients WHERE client_id = ?",
                    {std::string("scoped")});
  ASSERT_STORE_OK(rows);
  EXPECT_EQ(*rows->front().get<std::string>("redirect_uris"),
            R"(["com.example.softphone:/oauth2redirect","https://app.example.com/cb"])");
  EXPECT_EQ(*rows->front().get<std::string>("grant_types"), R"(["authorization_code","refresh_token"])");
  EXPECT_EQ(*rows->front().get<std::string>("scopes"), "openid profile sip:register");

  ClientRegistry fresh(*store_, clock_);
  ASSERT_TRUE(fresh.reload());
  auto c = fresh.find("scoped");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->scopes, (std::vector<std::string>{"openid", "profile", "sip:register"}));
  EXPECT_EQ(c->redirect_uris.size(), 2u);
}

TEST_P(ClientsTest, AnotherProcessSeesChangesOnReload) {
  ClientRegistry writer(*store_, clock_);
  auto second = reopen();
  ASSERT_STORE_OK(second);
  ClientRegistry reader(**second, clock_);
  ASSERT_TRUE(reader.reload());
  EXPECT_TRUE(reader.list().empty());

  const auto start =
      std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count();
  ASSERT_TRUE(writer.add(public_app("zeta")));
  clock_.advance(5s);
  auto billing = writer.add(service("alpha"));
  ASSERT_TRUE(billing);
  EXPECT_EQ(reader.find("zeta"), nullptr);  // memory only until reload

  ASSERT_TRUE(reader.reload());
  auto listed = reader.list();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].client_id, "alpha");
  EXPECT_TRUE(listed[0].confidential);
  EXPECT_EQ(listed[0].created_at, start + 5);
  EXPECT_EQ(listed[1].client_id, "zeta");
  EXPECT_EQ(listed[1].created_at, start);
  EXPECT_TRUE(ClientRegistry::secret_matches(*reader.find("alpha"), *billing->secret));

  // A client held by a request in flight stays usable while the registry moves on.
  auto held = reader.find("zeta");
  auto removed = writer.remove("zeta");
  ASSERT_TRUE(removed);
  EXPECT_TRUE(*removed);
  EXPECT_EQ(writer.find("zeta"), nullptr);
  ASSERT_TRUE(reader.reload());
  EXPECT_EQ(reader.find("zeta"), nullptr);
  EXPECT_EQ(held->client_id, "zeta");
  auto again = writer.remove("zeta");
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
}

TEST_P(ClientsTest, ARowAlteredByHandIsLeftOutNotTheWholeRegistry) {
  ClientRegistry registry(*store_, clock_);
  ASSERT_TRUE(registry.add(public_app("good")));
  ASSERT_TRUE(registry.add(public_app("bad")));
  ASSERT_STORE_OK(store_->exec("UPDATE authz_clients SET redirect_uris = ? WHERE client_id = ?",
                               {std::string("not json"), std::string("bad")}));
  ASSERT_TRUE(registry.reload());
  EXPECT_NE(registry.find("good"), nullptr);
  EXPECT_EQ(registry.find("bad"), nullptr);
}

INSTANTIATE_TEST_SUITE_P(Backends, ClientsTest,
                         ::testing::Values(store::Backend::sqlite, store::Backend::postgres),
                         store::testing::backend_label);

}  // namespace
}  // namespace ucedge::authz
