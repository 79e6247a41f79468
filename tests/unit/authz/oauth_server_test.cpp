// The OAuth endpoints end to end inside one process, on the manual clock:
// codes, access tokens and refresh tokens expire when their time comes (and
// not before, within the clock tolerance), the rotation grace window and its
// bound, key rotation seen by tokens in flight.
#include "authz/oauth/oauth_server.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>

#include "authz/oauth/oauth_internal.hpp"
#include "authz/service.hpp"
#include "net/router.hpp"
#include "core/random_token.hpp"
#include "store/store.hpp"

namespace ucedge::authz {
namespace {

using namespace std::chrono_literals;

const std::string kVerifier = std::string(50, 'v');
const std::string kRedirect = "https://app.example/cb";

core::SecretBox test_box() {
  core::SecretBox::Key key{};
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(i * 7 + 1);
  return core::SecretBox(key);
}

std::string basic(std::string_view user, std::string_view password) {
  std::string pair = std::string(user) + ":" + std::string(password);
  std::string out;
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::size_t i = 0;
  for (; i + 2 < pair.size(); i += 3) {
    unsigned n = (static_cast<unsigned char>(pair[i]) << 16) | (static_cast<unsigned char>(pair[i + 1]) << 8) |
                 static_cast<unsigned char>(pair[i + 2]);
    for (int s : {18, 12, 6, 0}) out += kAlphabet[(n >> s) & 63];
  }
  if (i + 1 == pair.size()) {
    unsigned n = static_cast<unsigned char>(pair[i]) << 16;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == pair.size()) {
    unsigned n = (static_cast<unsigned char>(pair[i]) << 16) | (static_cast<unsigned char>(pair[i + 1]) << 8);
    for (int s : {18, 12, 6}) out += kAlphabet[(n >> s) & 63];
    out += "=";
  }
  return "Basic " + out;
}

class OAuthServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ucedge-oauth-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    store::StoreConfig sc;
    sc.sqlite_path = "authz.db";
    auto opened = store::open_store(sc, dir_);
    ASSERT_TRUE(opened) << opened.error().message;
    store_ = std::move(opened).value();
    config_.sample_client = false;
    config_.rotation_grace_period = 10s;
    config_.rotation_grace_reuses = 3;
    service_ = std::make_unique<AuthzService>(config_, *store_, box_, metrics_, clock_);
    ASSERT_TRUE(service_->open());

    UserDirectory users(*store_, clock_);
    ASSERT_TRUE(users.add("alice", std::nullopt, "alice-password"));
    ClientSpec app;
    app.client_id = "app";
    app.redirect_uris = {kRedirect};
    ASSERT_TRUE(service_->clients().add(app));
    ClientSpec rs;
    rs.client_id = "rs";
    rs.confidential = true;
    rs.grant_types = {"client_credentials"};
    auto added = service_->clients().add(rs);
    ASSERT_TRUE(added);
    rs_secret_ = *added->secret;
    ASSERT_TRUE(service_->clients().reload());
  }

  void TearDown() override {
    service_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  net::Response token(net::Request request) { return service_->oauth().token(request); }

  net::Request form_post(std::string path, std::string body, std::string authorization = {}) {
    net::Request r;
    r.method = net::Method::post;
    r.path = r.target = std::move(path);
    r.body = std::move(body);
    r.remote_address = "192.0.2.10";
    r.headers.push_back({"Content-Type", "application/x-www-form-urlencoded"});
    r.headers.push_back({"Host", "auth.test"});
    if (!authorization.empty()) r.headers.push_back({"Authorization", std::move(authorization)});
    return r;
  }

  // Signs alice in with HTTP Basic and returns the code.
  std::string code() {
    net::Request r;
    r.method = net::Method::get;
    r.path = "/oauth2/authorize";
    r.query = "response_type=code&client_id=app&redirect_uri=" + form_encode(kRedirect) +
              "&code_challenge=" + core::base64url_encode(core::sha256(kVerifier)) + "&code_challenge_method=S256";
    r.remote_address = "192.0.2.10";
    r.headers.push_back({"Authorization", basic("alice", "alice-password")});
    auto response = service_->oauth().authorize(r);
    EXPECT_EQ(response.status, 303) << response.body;
    for (const auto& h : response.headers) {
      if (h.name == "Location") {
        auto at = h.value.find("code=");
        return h.value.substr(at + 5, h.value.find('&', at) - at - 5);
      }
    }
    return {};
  }

  net::Response exchange_code(const std::string& c) {
    auto r = form_post("/oauth2/token", "grant_type=authorization_code&client_id=app&code=" + c +
                                            "&redirect_uri=" + form_encode(kRedirect) + "&code_verifier=" + kVerifier);
    return service_->oauth().token(r);
  }

  net::Response refresh(const std::string& token) {
    auto r = form_post("/oauth2/token", "grant_type=refresh_token&client_id=app&refresh_token=" + token);
    return service_->oauth().token(r);
  }

  // The same request the way the HTTP server runs it: the deferred handler,
  // whose exchange commits on the store's writer thread.
  net::Response refresh_deferred(const std::string& token) {
    if (!routed_) {
      routed_ = std::make_unique<net::Router>();
      service_->oauth().add_routes(*routed_);
    }
    auto r = form_post("/oauth2/token", "grant_type=refresh_token&client_id=app&refresh_token=" + token);
    return routed_->dispatch(r);
  }

  // The token with one character of its signature changed.
  static std::string tampered(std::string token) {
    char& c = token[token.size() - 10];
    c = c == 'A' ? 'B' : 'A';
    return token;
  }

  bool active(const std::string& token) {
    auto r = form_post("/oauth2/introspect", "token=" + token, basic("rs", rs_secret_));
    auto response = service_->oauth().introspect(r);
    EXPECT_EQ(response.status, 200) << response.body;
    return nlohmann::json::parse(response.body)["active"].get<bool>();
  }

  static nlohmann::json body(const net::Response& r) { return nlohmann::json::parse(r.body); }

  std::filesystem::path dir_;
  core::ManualClock clock_;
  core::SecretBox box_ = test_box();
  core::MetricsRegistry metrics_;
  AuthzConfig config_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<AuthzService> service_;
  std::unique_ptr<net::Router> routed_;
  std::string rs_secret_;
};

// The presented token is proven by the digest the store keeps of it: a
// token with a changed signature is refused, and refusing it changes
// nothing (no reuse detection, no revoked sign-in).
TEST_F(OAuthServerTest, AChangedSignatureIsRefusedWithoutRevokingTheSignIn) {
  auto tokens = body(exchange_code(code()));
  const std::string original = tokens["refresh_token"];
  EXPECT_EQ(refresh(tampered(original)).status, 400);
  EXPECT_EQ(refresh_deferred(tampered(original)).status, 400);
  auto first = refresh(original);
  ASSERT_EQ(first.status, 200) << first.body;
  const std::string child = body(first)["refresh_token"];
  clock_.advance(config_.rotation_grace_period + 1s);
  // The rotated-out original, changed: not reuse; the child goes on.
  EXPECT_EQ(refresh(tampered(original)).status, 400);
  auto next = refresh(child);
  ASSERT_EQ(next.status, 200) << next.body;
  EXPECT_TRUE(active(body(next)["access_token"]));
}

TEST_F(OAuthServerTest, TheServerPathRotatesGivesGraceAnswersAndDetectsReuse) {
  auto tokens = body(exchange_code(code()));
  const std::string original = tokens["refresh_token"];
  auto first = refresh_deferred(original);
  ASSERT_EQ(first.status, 200) << first.body;
  const std::string child = body(first)["refresh_token"];
  EXPECT_NE(child, original);
  EXPECT_TRUE(active(body(first)["access_token"]));
  auto repeat = refresh_deferred(original);
  ASSERT_EQ(repeat.status, 200) << repeat.body;
  EXPECT_EQ(body(repeat)["refresh_token"], child);  // the grace answer: same text, signed again alike
  auto next = refresh_deferred(child);
  ASSERT_EQ(next.status, 200) << next.body;
  clock_.advance(config_.rotation_grace_period + 1s);
  auto reused = refresh_deferred(original);
  EXPECT_EQ(reused.status, 400);
  EXPECT_EQ(refresh_deferred(body(next)["refresh_token"]).status, 400);  // the family is revoked
}

// Tokens issued before the store kept digests still work: their signature
// is checked instead, on both paths.
TEST_F(OAuthServerTest, TokensFromBeforeDigestsAreCheckedBySignature) {
  for (bool deferred : {false, true}) {
    auto tokens = body(exchange_code(code()));
    const std::string original = tokens["refresh_token"];
    ASSERT_TRUE(store_->exec("UPDATE authz_refresh_tokens SET token_digest = NULL"));
    auto send = [&](const std::string& t) { return deferred ? refresh_deferred(t) : refresh(t); };
    EXPECT_EQ(send(tampered(original)).status, 400) << deferred;
    auto ok = send(original);
    ASSERT_EQ(ok.status, 200) << deferred << ": " << ok.body;
    EXPECT_EQ(send(body(ok)["refresh_token"]).status, 200) << deferred;
  }
}

TEST_F(OAuthServerTest, CodeExpiresAfterItsLifetime) {
  std::string fresh = code();
  std::string stale = code();
  clock_.advance(config_.code_lifetime - 1s);
  EXPECT_EQ(exchange_code(fresh).status, 200);
  clock_.advance(2s);
  auto late = exchange_code(stale);
  EXPECT_EQ(late.status, 400);
  EXPECT_EQ(body(late)["error"], "invalid_grant");
  EXPECT_NE(body(late)["error_description"].get<std::string>().find("expired"), std::string::npos);
}

TEST_F(OAuthServerTest, AccessTokenExpiresAfterLifetimePlusTolerance) {
  auto tokens = body(exchange_code(code()));
  const std::string access = tokens["access_token"];
  EXPECT_TRUE(active(access));
  clock_.advance(config_.access_token_lifetime + config_.clock_tolerance);
  EXPECT_TRUE(active(access));  // still inside the tolerance
  clock_.advance(1s);
  EXPECT_FALSE(active(access));
}

TEST_F(OAuthServerTest, RefreshTokenExpiresAfterItsDaysCountedFromSignIn) {
  auto tokens = body(exchange_code(code()));
  clock_.advance(std::chrono::hours(24 * 59));
  auto refreshed = refresh(tokens["refresh_token"]);
  ASSERT_EQ(refreshed.status, 200) << refreshed.body;
  // Rotation does not extend the sign-in: the child expires with the family.
  clock_.advance(std::chrono::hours(24) + config_.clock_tolerance + 1s);
  auto late = refresh(body(refreshed)["refresh_token"]);
  EXPECT_EQ(late.status, 400);
  EXPECT_EQ(body(late)["error"], "invalid_grant");
}

TEST_F(OAuthServerTest, GraceWindowGivesTheSameAnswerThenReuseRevokes) {
  auto tokens = body(exchange_code(code()));
  const std::string original = tokens["refresh_token"];
  auto first = refresh(original);
  ASSERT_EQ(first.status, 200);
  const std::string child = body(first)["refresh_token"];
  clock_.advance(config_.rotation_grace_period - 1s);
  auto repeat = refresh(original);
  ASSERT_EQ(repeat.status, 200) << repeat.body;
  EXPECT_EQ(body(repeat)["refresh_token"], child);
  clock_.advance(2s);
  auto late = refresh(original);
  EXPECT_EQ(late.status, 400);
  EXPECT_EQ(refresh(child).status, 400);  // the whole family is revoked
  EXPECT_FALSE(active(body(first)["access_token"]));
}

TEST_F(OAuthServerTest, GraceAnswersAreBoundedInNumber) {
  auto tokens = body(exchange_code(code()));
  const std::string original = tokens["refresh_token"];
  ASSERT_EQ(refresh(original).status, 200);
  for (int i = 0; i < config_.rotation_grace_reuses; ++i) EXPECT_EQ(refresh(original).status, 200) << i;
  EXPECT_EQ(refresh(original).status, 400);
}

TEST_F(OAuthServerTest, SigningKeyRotationKeepsTokensInFlightValid) {
  auto before = body(exchange_code(code()));
  auto old_kid = service_->keys().keys()->signing->kid();
  auto next = service_->keys().regenerate(KeyUse::signing);
  ASSERT_TRUE(next);
  ASSERT_TRUE(service_->keys().reload());
  EXPECT_EQ(service_->keys().keys()->signing->kid(), old_kid);  // published, not signing yet
  clock_.advance(config_.jwks_max_age + 1s);
  ASSERT_TRUE(service_->keys().reload());
  EXPECT_EQ(service_->keys().keys()->signing->kid(), next->kid);
  EXPECT_TRUE(active(before["access_token"]));
  auto refreshed = refresh(before["refresh_token"]);
  ASSERT_EQ(refreshed.status, 200) << refreshed.body;
  EXPECT_TRUE(active(body(refreshed)["access_token"]));
}

TEST_F(OAuthServerTest, ClientCredentialsNeedTheSecret) {
  auto ok = token(form_post("/oauth2/token", "grant_type=client_credentials", basic("rs", rs_secret_)));
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_FALSE(body(ok).contains("refresh_token"));
  auto wrong = token(form_post("/oauth2/token", "grant_type=client_credentials", basic("rs", "nope")));
  EXPECT_EQ(wrong.status, 401);
  auto both = token(
      form_post("/oauth2/token", "grant_type=client_credentials&client_secret=" + rs_secret_, basic("rs", rs_secret_)));
  EXPECT_EQ(both.status, 400);
  EXPECT_EQ(body(both)["error"], "invalid_request");
  auto repeated = token(
      form_post("/oauth2/token", "grant_type=client_credentials&grant_type=client_credentials", basic("rs", rs_secret_)));
  EXPECT_EQ(repeated.status, 400);
}

TEST(OAuthHelpers, RedirectMatchingIsExactExceptLoopbackPorts) {
  Client c;
  c.redirect_uris = {"https://app.example/cb", "http://127.0.0.1/native/cb", "http://[::1]/cb"};
  EXPECT_TRUE(c.allows_redirect("https://app.example/cb"));
  EXPECT_FALSE(c.allows_redirect("https://app.example/cb/"));
  EXPECT_FALSE(c.allows_redirect("https://app.example/cb?x=1"));
  EXPECT_FALSE(c.allows_redirect("https://app.example:8443/cb"));
  EXPECT_TRUE(c.allows_redirect("http://127.0.0.1:53124/native/cb"));
  EXPECT_TRUE(c.allows_redirect("http://[::1]:8080/cb"));
  EXPECT_FALSE(c.allows_redirect("http://127.0.0.1:53124/other"));
  EXPECT_FALSE(c.allows_redirect("http://127.0.0.1.evil.example:80/native/cb"));
  EXPECT_FALSE(c.allows_redirect("http://user@127.0.0.1:1/native/cb"));
  EXPECT_FALSE(c.allows_redirect("https://127.0.0.1:1/native/cb"));
}

TEST(OAuthHelpers, ScopesStayWithinWhatWasGranted) {
  Client c;
  c.scopes = {"calls", "voicemail"};
  EXPECT_EQ(granted_scope(c, std::nullopt), "calls voicemail");
  EXPECT_EQ(granted_scope(c, "voicemail calls voicemail"), "voicemail calls");
  EXPECT_EQ(granted_scope(c, "admin"), std::nullopt);
  EXPECT_EQ(granted_scope(c, "ca\"lls"), std::nullopt);
  Client any;
  EXPECT_EQ(granted_scope(any, "whatever"), "whatever");
  EXPECT_TRUE(scope_within("calls", "calls voicemail"));
  EXPECT_FALSE(scope_within("calls admin", "calls voicemail"));
}

TEST(OAuthHelpers, PkceS256) {
  // RFC 7636 Appendix B.
  EXPECT_TRUE(pkce_s256_matches("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
                                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
  EXPECT_FALSE(pkce_s256_matches("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj",
                                 "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
  EXPECT_FALSE(pkce_s256_matches("short", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
  EXPECT_TRUE(valid_s256_challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
  EXPECT_FALSE(valid_s256_challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c="));
}

}  // namespace
}  // namespace ucedge::authz
