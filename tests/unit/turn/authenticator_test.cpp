// The long-term credential mechanism (RFC 8489 §9.2.4) as the server runs it:
// which answer each request gets, for store users and REST API names.
#include "turn/auth/authenticator.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <vector>

#include "backend_fixture.hpp"
#include "core/clock.hpp"
#include "core/secret_box.hpp"
#include "turn/codec/stun.hpp"

namespace ucedge::turn {
namespace {

using namespace std::chrono_literals;
using Kind = AuthOutcome::Kind;
using store::testing::BackendTest;

constexpr const char* kRealm = "example.com";
const std::string kSecretA = "first-shared-secret-0123456789";
const std::string kSecretB = "second-shared-secret-abcdefghij";

core::SecretBox test_box() {
  core::SecretBox::Key key{};
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(i + 11);
  return core::SecretBox(key);
}

stun::TransportAddress addr(const char* ip, std::uint16_t port) {
  stun::TransportAddress a;
  a.port = port;
  EXPECT_EQ(::inet_pton(AF_INET, ip, a.ip.data()), 1);
  return a;
}

// What a client puts in an Allocate: any attribute may be left out.
struct RequestSpec {
  std::optional<std::string> username, realm, nonce;
  std::optional<LongTermKey> key;  // MESSAGE-INTEGRITY
  bool sha256 = false;             // MESSAGE-INTEGRITY-SHA256 instead
};

// A parsed request; owns the bytes the Message views.
struct Request {
  std::vector<std::uint8_t> bytes = std::vector<std::uint8_t>(1500);
  std::optional<stun::Message> message;
};

std::unique_ptr<Request> build(const RequestSpec& spec) {
  auto r = std::make_unique<Request>();
  stun::TransactionId id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::uint8_t>(0xa0 + i);
  stun::Builder b(r->bytes, stun::Method::allocate, stun::Class::request, id);
  b.add_requested_transport(17);
  if (spec.username) b.add_text(stun::attr::username, *spec.username);
  if (spec.realm) b.add_text(stun::attr::realm, *spec.realm);
  if (spec.nonce) b.add_text(stun::attr::nonce, *spec.nonce);
  if (spec.key && !spec.sha256) b.add_integrity(*spec.key);
  if (spec.key && spec.sha256) b.add_integrity_sha256(*spec.key);
  b.add_fingerprint();
  EXPECT_TRUE(b.ok());
  auto parsed = stun::parse(b.finish());
  EXPECT_TRUE(parsed);
  if (parsed) r->message = *parsed;
  return r;
}

class AuthenticatorTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    creds_ = std::make_unique<CredentialStore>(*store_, box_, clock_);
    ASSERT_TRUE(creds_->load());
    ASSERT_TRUE(creds_->add_user("alice", kRealm, "wonderland"));
    settings_.realm = kRealm;
  }

  AuthOutcome run(const RequestSpec& spec, const stun::TransportAddress& from) {
    Authenticator auth(settings_, *creds_, nonces_, clock_);
    auto request = build(spec);
    if (!request->message) return {};
    return auth.authenticate(*request->message, from);
  }
  AuthOutcome run(const RequestSpec& spec) { return run(spec, client_); }

  // A request with every attribute right for `username` and `password`.
  RequestSpec signed_as(const std::string& username, const std::string& password) {
    RequestSpec s;
    s.username = username;
    s.realm = kRealm;
    s.nonce = nonces_.issue(client_);
    s.key = stun::long_term_key_md5(username, kRealm, password);
    return s;
  }
  std::string rest_name(std::chrono::seconds from_now, const std::string& user = "bob") {
    auto expiry =
        std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch() + from_now);
    return std::to_string(expiry.count()) + ":" + user;
  }

  core::SecretBox box_ = test_box();
  core::ManualClock clock_;
  NonceIssuer nonces_{std::vector<std::uint8_t>(32, 7), 600s, clock_};
  std::unique_ptr<CredentialStore> creds_;
  AuthSettings settings_;
  stun::TransportAddress client_ = addr("198.51.100.20", 40000);
};

void expect(const AuthOutcome& out, Kind kind, int code, std::string_view label) {
  EXPECT_EQ(out.kind, kind);
  EXPECT_EQ(out.error_code, code);
  EXPECT_EQ(out.failure_label, label);
}

TEST_P(AuthenticatorTest, LongTermUserIsAccepted) {
  auto out = run(signed_as("alice", "wonderland"));
  EXPECT_EQ(out.kind, Kind::accepted) << out.failure_label;
  EXPECT_EQ(out.username, "alice");
  EXPECT_EQ(out.key, stun::long_term_key_md5("alice", kRealm, "wonderland"));
  EXPECT_TRUE(out.failure_label.empty());
}

TEST_P(AuthenticatorTest, MessageIntegritySha256AloneIsAccepted) {
  auto spec = signed_as("alice", "wonderland");
  spec.sha256 = true;
  auto out = run(spec);
  EXPECT_EQ(out.kind, Kind::accepted) << out.failure_label;
  spec.key = stun::long_term_key_md5("alice", kRealm, "wrong");
  expect(run(spec), Kind::bad_credentials, 401, "bad_integrity");
}

TEST_P(AuthenticatorTest, NoIntegrityIsAChallenge) {
  RequestSpec bare;
  auto out = run(bare);
  expect(out, Kind::challenge, 401, "no_credentials");
  EXPECT_EQ(out.reason, "Unauthorized");
  // Even with a username and nonce: without MESSAGE-INTEGRITY nothing is proven.
  auto unsigned_spec = signed_as("alice", "wonderland");
  unsigned_spec.key.reset();
  expect(run(unsigned_spec), Kind::challenge, 401, "no_credentials");

  Authenticator auth(settings_, *creds_, nonces_, clock_);
  EXPECT_EQ(auth.realm(), kRealm);
  EXPECT_EQ(nonces_.check(auth.nonce_for(client_), client_), NonceIssuer::Verdict::valid);
}

TEST_P(AuthenticatorTest, MissingAttributesBesideIntegrityAreABadRequest) {
  for (int missing = 0; missing < 3; ++missing) {
    auto spec = signed_as("alice", "wonderland");
    if (missing == 0) spec.username.reset();
    if (missing == 1) spec.realm.reset();
    if (missing == 2) spec.nonce.reset();
    auto out = run(spec);
    expect(out, Kind::bad_request, 400, "bad_request");
    EXPECT_EQ(out.reason, "Bad Request");
  }
}

TEST_P(AuthenticatorTest, AnExpiredNonceIsStale) {
  auto spec = signed_as("alice", "wonderland");
  clock_.advance(600s);
  auto out = run(spec);
  expect(out, Kind::stale_nonce, 438, "stale_nonce");
  EXPECT_EQ(out.reason, "Stale Nonce");
  // The fresh nonce works.
  spec.nonce = nonces_.issue(client_);
  EXPECT_EQ(run(spec).kind, Kind::accepted);
}

TEST_P(AuthenticatorTest, ANonceThatIsNotOursIsAnsweredAsStale) {
  auto spec = signed_as("alice", "wonderland");
  spec.nonce = "not-a-nonce-of-ours";
  expect(run(spec), Kind::stale_nonce, 438, "bad_nonce");
  // Given to another address.
  spec.nonce = nonces_.issue(addr("198.51.100.21", 40000));
  expect(run(spec), Kind::stale_nonce, 438, "bad_nonce");
  // Issued under another key (another node, an earlier run).
  NonceIssuer other(std::vector<std::uint8_t>(32, 8), 600s, clock_);
  spec.nonce = other.issue(client_);
  expect(run(spec), Kind::stale_nonce, 438, "bad_nonce");
  // The same client from another port (TCP retry) is fine.
  spec.nonce = nonces_.issue(client_);
  EXPECT_EQ(run(spec, addr("198.51.100.20", 40001)).kind, Kind::accepted);
}

TEST_P(AuthenticatorTest, AnotherRealmIsUnauthorized) {
  ASSERT_TRUE(creds_->add_user("alice", "other.org", "wonderland"));
  auto spec = signed_as("alice", "wonderland");
  spec.realm = "other.org";
  spec.key = stun::long_term_key_md5("alice", "other.org", "wonderland");
  expect(run(spec), Kind::bad_credentials, 401, "wrong_realm");
}

TEST_P(AuthenticatorTest, UnknownUserIsUnauthorized) {
  auto out = run(signed_as("mallory", "whatever"));
  expect(out, Kind::bad_credentials, 401, "unknown_user");
  EXPECT_EQ(out.reason, "Unauthorized");
  EXPECT_TRUE(out.username.empty());
}

TEST_P(AuthenticatorTest, AWrongPasswordIsUnauthorizedOr431WhenAsked) {
  auto out = run(signed_as("alice", "not-wonderland"));
  expect(out, Kind::bad_credentials, 401, "bad_integrity");
  EXPECT_EQ(out.reason, "Unauthorized");
  settings_.integrity_failure_431 = true;
  out = run(signed_as("alice", "not-wonderland"));
  expect(out, Kind::integrity_failure, 431, "bad_integrity");
  EXPECT_EQ(out.reason, "Integrity Check Failure");
  // An unknown user is still a 401: there was no key to check against.
  expect(run(signed_as("mallory", "x")), Kind::bad_credentials, 401, "unknown_user");
}

TEST_P(AuthenticatorTest, RestNamesWorkWithEverySecret) {
  ASSERT_TRUE(creds_->add_secret(kSecretA));
  ASSERT_TRUE(creds_->add_secret(kSecretB));
  const auto name = rest_name(1h);
  for (const auto& secret : {kSecretA, kSecretB}) {
    auto out = run(signed_as(name, rest_api_password(secret, name)));
    EXPECT_EQ(out.kind, Kind::accepted) << out.failure_label;
    EXPECT_EQ(out.username, name);
    EXPECT_EQ(out.key, stun::long_term_key_md5(name, kRealm, rest_api_password(secret, name)));
  }
  expect(run(signed_as(name, rest_api_password("a-secret-we-never-had", name))), Kind::bad_credentials, 401,
         "bad_integrity");
  // A password for another name does not carry over.
  expect(run(signed_as(name, rest_api_password(kSecretA, rest_name(1h, "carol")))), Kind::bad_credentials,
         401, "bad_integrity");
}

TEST_P(AuthenticatorTest, AnExpiredRestNameIsUnauthorized) {
  ASSERT_TRUE(creds_->add_secret(kSecretA));
  const auto name = rest_name(60s);
  auto spec = signed_as(name, rest_api_password(kSecretA, name));
  EXPECT_EQ(run(spec).kind, Kind::accepted);
  clock_.advance(60s);  // the nonce still has 540 s; the name has none
  expect(run(spec), Kind::bad_credentials, 401, "expired");
}

TEST_P(AuthenticatorTest, ASecretRemovedElsewhereStopsWorkingAfterRefresh) {
  auto secret = creds_->add_secret(kSecretA);
  ASSERT_TRUE(secret);
  const auto name = rest_name(1h);
  auto spec = signed_as(name, rest_api_password(kSecretA, name));
  EXPECT_EQ(run(spec).kind, Kind::accepted);
  CredentialStore cli(*store_, box_, clock_);
  ASSERT_TRUE(cli.load());
  ASSERT_TRUE(*cli.remove_secret(secret->id));
  EXPECT_EQ(run(spec).kind, Kind::accepted);  // not refreshed yet
  ASSERT_TRUE(creds_->refresh());
  expect(run(spec), Kind::bad_credentials, 401, "unknown_user");
}

TEST_P(AuthenticatorTest, EachMechanismCanBeTurnedOff) {
  ASSERT_TRUE(creds_->add_secret(kSecretA));
  const auto name = rest_name(1h);
  settings_.long_term_users = false;
  expect(run(signed_as("alice", "wonderland")), Kind::bad_credentials, 401, "unknown_user");
  EXPECT_EQ(run(signed_as(name, rest_api_password(kSecretA, name))).kind, Kind::accepted);
  settings_.long_term_users = true;
  settings_.shared_secrets = false;
  EXPECT_EQ(run(signed_as("alice", "wonderland")).kind, Kind::accepted);
  expect(run(signed_as(name, rest_api_password(kSecretA, name))), Kind::bad_credentials, 401, "unknown_user");
}

TEST_P(AuthenticatorTest, AStoreUserIsTriedBeforeTheSecrets) {
  // A long-term user whose name looks like a REST name: both passwords work,
  // the user's own first.
  ASSERT_TRUE(creds_->add_secret(kSecretA));
  const auto name = rest_name(1h, "dave");
  ASSERT_TRUE(creds_->add_user(name, kRealm, "daves-own-password"));
  auto own = run(signed_as(name, "daves-own-password"));
  EXPECT_EQ(own.kind, Kind::accepted);
  EXPECT_EQ(own.key, stun::long_term_key_md5(name, kRealm, "daves-own-password"));
  auto rest = run(signed_as(name, rest_api_password(kSecretA, name)));
  EXPECT_EQ(rest.kind, Kind::accepted);
  EXPECT_EQ(rest.key, stun::long_term_key_md5(name, kRealm, rest_api_password(kSecretA, name)));
  expect(run(signed_as(name, "neither")), Kind::bad_credentials, 401, "bad_integrity");
  // Expired as a REST name, still a user: the user's key decides.
  clock_.advance(2h);
  auto spec = signed_as(name, "daves-own-password");
  EXPECT_EQ(run(spec).kind, Kind::accepted);
  expect(run(signed_as(name, rest_api_password(kSecretA, name))), Kind::bad_credentials, 401,
         "bad_integrity");
}

INSTANTIATE_TEST_SUITE_P(Sqlite, AuthenticatorTest, ::testing::Values(store::Backend::sqlite),
                         store::testing::backend_label);

}  // namespace
}  // namespace ucedge::turn
