// TURN credentials on both store backends: long-term users with sealed keys,
// REST API shared secrets, and changes seen by another process.
#include "turn/auth/credentials.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <chrono>

#include "backend_fixture.hpp"
#include "core/clock.hpp"
#include "core/secret_box.hpp"
#include "turn/codec/stun.hpp"

namespace ucedge::turn {
namespace {

using store::testing::BackendTest;
using namespace std::chrono_literals;

core::SecretBox test_box() {
  core::SecretBox::Key key{};
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(i * 5 + 3);
  return core::SecretBox(key);
}

std::string hex(std::span<const std::uint8_t> bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes.data(), bytes.size());
  out.pop_back();
  return out;
}

std::int64_t unix_now(const core::Clock& clock) {
  return std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count();
}

const std::string kSecretA = "first-shared-secret-0123456789";
const std::string kSecretB = "second-shared-secret-abcdefghij";

class CredentialsTest : public BackendTest {
 protected:
  core::SecretBox box_ = test_box();
  core::ManualClock clock_;
};

TEST(CredentialsRestPassword, IsBase64OfHmacSha1) {
  // Worked out independently: base64(HMAC-SHA1(key, message)) with Python's hmac module.
  EXPECT_EQ(rest_api_password("north-secret-for-tests", "1700000000:alice"), "Asr87Ftag930Ef0VC2qLUkBSD2U=");
  EXPECT_EQ(rest_api_password("x", ""), "tXrRjkX3GsBp0VYY9spUftdbsuk=");
}

TEST(CredentialsValidation, NamesAndRealms) {
  EXPECT_TRUE(validate_user_name("alice"));
  EXPECT_TRUE(validate_user_name("1700000000:alice@example.com"));
  EXPECT_TRUE(validate_user_name(std::string(255, 'a')));
  EXPECT_FALSE(validate_user_name(std::string(256, 'a')));
  EXPECT_FALSE(validate_user_name(""));
  EXPECT_FALSE(validate_user_name("al\nice"));
  EXPECT_FALSE(validate_user_name(std::string("a\0b", 3)));
  EXPECT_FALSE(validate_user_name("tab\there"));
  EXPECT_FALSE(validate_user_name("del\x7f"));
  EXPECT_TRUE(validate_realm("example.com"));
  EXPECT_FALSE(validate_realm(""));
}

TEST_P(CredentialsTest, UsersAreAddedListedAndRemoved) {
  CredentialStore creds(*store_, box_, clock_);
  ASSERT_TRUE(creds.load());
  ASSERT_TRUE(creds.add_user("alice", "example.com", "wonderland"));
  clock_.advance(10s);
  ASSERT_TRUE(creds.add_user("bob", "example.com", "builder"));
  ASSERT_TRUE(creds.add_user("alice", "other.org", "elsewhere"));

  auto key = creds.user_key("alice", "example.com");
  ASSERT_TRUE(key);
  EXPECT_EQ(*key, stun::long_term_key_md5("alice", "example.com", "wonderland"));
  EXPECT_EQ(*creds.user_key("alice", "other.org"),
            stun::long_term_key_md5("alice", "other.org", "elsewhere"));
  EXPECT_FALSE(creds.user_key("alice", "example.org"));
  EXPECT_FALSE(creds.user_key("carol", "example.com"));
  EXPECT_FALSE(creds.user_key(std::string(300, 'a'), "example.com"));

  auto users = creds.users();
  ASSERT_TRUE(users) << users.error();
  ASSERT_EQ(users->size(), 3u);
  EXPECT_EQ((*users)[0].username, "alice");
  EXPECT_EQ((*users)[0].realm, "example.com");
  EXPECT_EQ((*users)[0].created_at, unix_now(clock_) - 10);
  EXPECT_EQ((*users)[1].username, "bob");
  EXPECT_EQ((*users)[1].created_at, unix_now(clock_));
  EXPECT_EQ((*users)[2].realm, "other.org");

  // Adding again changes the password.
  ASSERT_TRUE(creds.add_user("alice", "example.com", "looking-glass"));
  EXPECT_EQ(*creds.user_key("alice", "example.com"),
            stun::long_term_key_md5("alice", "example.com", "looking-glass"));
  EXPECT_EQ(creds.users()->size(), 3u);

  EXPECT_TRUE(*creds.remove_user("alice", "example.com"));
  EXPECT_FALSE(*creds.remove_user("alice", "example.com"));
  EXPECT_FALSE(creds.user_key("alice", "example.com"));
  EXPECT_TRUE(creds.user_key("alice", "other.org"));
  EXPECT_EQ(creds.users()->size(), 2u);
}

TEST_P(CredentialsTest, BadUsersAreRefusedWithTheReason) {
  CredentialStore creds(*store_, box_, clock_);
  ASSERT_TRUE(creds.load());
  EXPECT_EQ(creds.add_user("", "example.com", "pw").error(), "the username is empty");
  EXPECT_EQ(creds.add_user("alice", "", "pw").error(), "the realm is empty");
  EXPECT_EQ(creds.add_user("alice", "example.com", "").error(), "the password is empty");
  EXPECT_EQ(creds.add_user("al\rice", "example.com", "pw").error(), "the username holds a control character");
  EXPECT_EQ(creds.add_user(std::string(256, 'u'), "example.com", "pw").error(),
            "the username is longer than 255 bytes");
  EXPECT_TRUE(creds.users()->empty());
}

TEST_P(CredentialsTest, KeysAndSecretsAreSealedAtRest) {
  CredentialStore creds(*store_, box_, clock_);
  ASSERT_TRUE(creds.load());
  ASSERT_TRUE(creds.add_user("alice", "example.com", "wonderland"));
  auto secret = creds.add_secret(kSecretA);
  ASSERT_TRUE(secret) << secret.error();

  const std::string md5_hex = hex(stun::long_term_key_md5("alice", "example.com", "wonderland"));
  const std::string sha256_hex = hex(stun::long_term_key_sha256("alice", "example.com", "wonderland"));
  auto rows = store_->query("SELECT username, realm, key_md5, key_sha256 FROM turn_users");
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  const auto stored_md5 = *rows->front().get<std::string>(2);
  const auto stored_sha256 = *rows->front().get<std::string>(3);
  for (const auto& column : {stored_md5, stored_sha256}) {
    EXPECT_EQ(column.find(md5_hex), std::string::npos);
    EXPECT_EQ(column.find(sha256_hex), std::string::npos);
    EXPECT_EQ(column.find("wonderland"), std::string::npos);
    EXPECT_TRUE(column.starts_with("v1:")) << column;
  }
  // What is sealed is the key, and only the master key opens it.
  EXPECT_EQ(*box_.unseal(stored_md5), md5_hex);
  EXPECT_EQ(*box_.unseal(stored_sha256), sha256_hex);

  auto secret_rows = store_->query("SELECT id, secret, fingerprint FROM turn_secrets");
  ASSERT_TRUE(secret_rows);
  ASSERT_EQ(secret_rows->size(), 1u);
  const auto stored_secret = *secret_rows->front().get<std::string>(1);
  EXPECT_EQ(stored_secret.find(kSecretA), std::string::npos);
  EXPECT_EQ(*box_.unseal(stored_secret), kSecretA);
  EXPECT_EQ(*secret_rows->front().get<std::string>(2), secret->fingerprint);

  // Another master key cannot load them.
  core::SecretBox::Key other_key{};
  core::SecretBox other_box(other_key);
  CredentialStore wrong(*store_, other_box, clock_);
  auto loaded = wrong.load();
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().find("master key"), std::string::npos) << loaded.error();
}

TEST_P(CredentialsTest, SecretsAreAddedListedAndRemoved) {
  CredentialStore creds(*store_, box_, clock_);
  ASSERT_TRUE(creds.load());
  auto a = creds.add_secret(kSecretA);
  ASSERT_TRUE(a) << a.error();
  clock_.advance(5s);
  auto b = creds.add_secret(kSecretB);
  ASSERT_TRUE(b) << b.error();
  EXPECT_NE(a->id, b->id);
  EXPECT_EQ(a->fingerprint.size(), 8u);
  EXPECT_EQ(a->fingerprint.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a->fingerprint, b->fingerprint);
  EXPECT_EQ(b->created_at, unix_now(clock_));

  auto list = creds.secrets();
  ASSERT_TRUE(list) << list.error();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, a->id);
  EXPECT_EQ((*list)[0].fingerprint, a->fingerprint);
  EXPECT_EQ((*list)[0].created_at, unix_now(clock_) - 5);
  EXPECT_EQ((*list)[1].id, b->id);

  EXPECT_TRUE(*creds.remove_secret(a->id));
  EXPECT_FALSE(*creds.remove_secret(a->id));
  ASSERT_EQ(creds.secrets()->size(), 1u);
  EXPECT_EQ(creds.secrets()->front().fingerprint, b->fingerprint);

  auto short_secret = creds.add_secret("too-short");
  ASSERT_FALSE(short_secret);
  EXPECT_NE(short_secret.error().find("at least 16 bytes"), std::string::npos);
}

TEST_P(CredentialsTest, RestKeysOnePerSecret) {
  CredentialStore creds(*store_, box_, clock_);
  ASSERT_TRUE(creds.load());
  const std::int64_t now = unix_now(clock_);
  const std::string name = std::to_string(now + 3600) + ":alice";
  EXPECT_EQ(creds.rest_keys(name, "example.com", now).error(), CredentialStore::RestError::no_secrets);

  ASSERT_TRUE(creds.add_secret(kSecretA));
  ASSERT_TRUE(creds.add_secret(kSecretB));
  auto keys = creds.rest_keys(name, "example.com", now);
  ASSERT_TRUE(keys);
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0], stun::long_term_key_md5(name, "example.com", rest_api_password(kSecretA, name)));
  EXPECT_EQ((*keys)[1], stun::long_term_key_md5(name, "example.com", rest_api_password(kSecretB, name)));

  // The bare expiry is a REST username too.
  const std::string bare = std::to_string(now + 60);
  ASSERT_TRUE(creds.rest_keys(bare, "example.com", now));
  EXPECT_EQ(creds.rest_keys(bare, "example.com", now)->front(),
            stun::long_term_key_md5(bare, "example.com", rest_api_password(kSecretA, bare)));
}

TEST_P(CredentialsTest, IssuedRestCredentialsAreAccepted) {
  CredentialStore creds(*store_, box_, clock_);
  ASSERT_TRUE(creds.load());
  auto none = creds.issue_rest_credentials("alice", 1h);
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().find("ucedge turn secret add"), std::string::npos);

  auto a = creds.add_secret(kSecretA);
  auto b = creds.add_secret(kSecretB);
  ASSERT_TRUE(a && b);
  const std::int64_t now = unix_now(clock_);
  auto issued = creds.issue_rest_credentials("alice", 24h);
  ASSERT_TRUE(issued) << issued.error();
  EXPECT_EQ(issued->username, std::to_string(now + 86400) + ":alice");
  EXPECT_EQ(issued->expires_at, now + 86400);
  EXPECT_EQ(issued->secret_id, b->id);  // the newest
  EXPECT_EQ(issued->password, rest_api_password(kSecretB, issued->username));
  auto keys = creds.rest_keys(issued->username, "example.com", now);
  ASSERT_TRUE(keys);
  EXPECT_EQ((*keys)[1], stun::long_term_key_md5(issued->username, "example.com", issued->password));

  auto older = creds.issue_rest_credentials("alice", 1h, a->id);
  ASSERT_TRUE(older);
  EXPECT_EQ(older->secret_id, a->id);
  EXPECT_EQ(older->password, rest_api_password(kSecretA, older->username));

  auto bare = creds.issue_rest_credentials("", 1h);
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->username, std::to_string(now + 3600));

  EXPECT_EQ(creds.issue_rest_credentials("alice", 1h, 999).error(), "no shared secret 999");
  EXPECT_FALSE(creds.issue_rest_credentials("alice", 0s));
  EXPECT_FALSE(creds.issue_rest_credentials("al\nice", 1h));
  EXPECT_FALSE(creds.issue_rest_credentials(std::string(250, 'a'), 1h));  // with the expiry, over 255 bytes
}

TEST_P(CredentialsTest, RestNamesMustBeUnexpiredAndWellFormed) {
  CredentialStore creds(*store_, box_, clock_);
  ASSERT_TRUE(creds.load());
  ASSERT_TRUE(creds.add_secret(kSecretA));
  const std::int64_t now = unix_now(clock_);
  EXPECT_EQ(creds.rest_keys(std::to_string(now) + ":alice", "r", now).error(),
            CredentialStore::RestError::expired);
  EXPECT_EQ(creds.rest_keys(std::to_string(now - 1) + ":alice", "r", now).error(),
            CredentialStore::RestError::expired);
  EXPECT_EQ(creds.rest_keys("0:alice", "r", now).error(), CredentialStore::RestError::expired);
  EXPECT_TRUE(creds.rest_keys(std::to_string(now + 1) + ":alice", "r", now));
  for (const char* name : {"alice", "", ":alice", "alice:1700000000", "17000000x0:alice", "-1700000000:alice",
                           "+1700000000:alice", " 1700000000:alice", "99999999999999999999999:alice"}) {
    EXPECT_EQ(creds.rest_keys(name, "r", now).error(), CredentialStore::RestError::not_rest_username) << name;
  }
}

TEST_P(CredentialsTest, RefreshSeesAnotherInstancesChanges) {
  CredentialStore mine(*store_, box_, clock_);
  CredentialStore theirs(*store_, box_, clock_);  // as the CLI would, in another process
  ASSERT_TRUE(mine.load());
  ASSERT_TRUE(theirs.load());

  ASSERT_TRUE(theirs.add_user("alice", "example.com", "wonderland"));
  EXPECT_FALSE(mine.user_key("alice", "example.com"));
  ASSERT_TRUE(mine.refresh());
  EXPECT_TRUE(mine.user_key("alice", "example.com"));

  const std::int64_t now = unix_now(clock_);
  const std::string name = std::to_string(now + 60) + ":bob";
  auto secret = theirs.add_secret(kSecretA);
  ASSERT_TRUE(secret);
  EXPECT_EQ(mine.rest_keys(name, "example.com", now).error(), CredentialStore::RestError::no_secrets);
  ASSERT_TRUE(mine.refresh());
  EXPECT_EQ(mine.rest_keys(name, "example.com", now)->size(), 1u);

  ASSERT_TRUE(*theirs.remove_user("alice", "example.com"));
  ASSERT_TRUE(*theirs.remove_secret(secret->id));
  ASSERT_TRUE(mine.refresh());
  EXPECT_FALSE(mine.user_key("alice", "example.com"));
  EXPECT_EQ(mine.rest_keys(name, "example.com", now).error(), CredentialStore::RestError::no_secrets);

  // A store written by a changed password is seen as well.
  ASSERT_TRUE(theirs.add_user("carol", "example.com", "one"));
  ASSERT_TRUE(mine.refresh());
  ASSERT_TRUE(theirs.add_user("carol", "example.com", "two"));
  ASSERT_TRUE(mine.refresh());
  EXPECT_EQ(*mine.user_key("carol", "example.com"), stun::long_term_key_md5("carol", "example.com", "two"));
}

TEST_P(CredentialsTest, RemovingNothingLeavesTheGenerationAlone) {
  CredentialStore creds(*store_, box_, clock_);
  ASSERT_TRUE(creds.load());
  ASSERT_TRUE(creds.add_user("alice", "example.com", "wonderland"));
  auto generation = [&] {
    auto rows = store_->query("SELECT value FROM node_meta WHERE key = 'turn.credentials.generation'");
    EXPECT_TRUE(rows);
    return rows->empty() ? std::string() : *rows->front().get<std::string>(0);
  };
  const auto before = generation();
  EXPECT_FALSE(before.empty());
  EXPECT_FALSE(*creds.remove_user("nobody", "example.com"));
  EXPECT_FALSE(*creds.remove_secret(12345));
  EXPECT_EQ(generation(), before);
  ASSERT_TRUE(creds.add_user("bob", "example.com", "builder"));
  EXPECT_NE(generation(), before);
}

INSTANTIATE_TEST_SUITE_P(Backends, CredentialsTest,
                         ::testing::Values(store::Backend::sqlite, store::Backend::postgres),
                         store::testing::backend_label);

}  // namespace
}  // namespace ucedge::turn
