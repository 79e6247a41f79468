// The cache of verified access tokens answers like read_access_token, and
// forgets everything when the key set changes.
#include "authz/oauth/verified_tokens.hpp"

#include <gtest/gtest.h>

namespace ucedge::authz {
namespace {

const std::string kIssuer = "8d0d5324-f4f0-4b0b-811e-4a59fdb6b722";

std::shared_ptr<const KeySet> key_set() {
  auto keys = std::make_shared<KeySet>();
  keys->signing = std::make_shared<SigningKey>(SigningKey::generate(kIssuer).value());
  keys->encryption = std::make_shared<EncryptionKey>(EncryptionKey::generate(kIssuer));
  keys->verifying = {keys->signing};
  keys->decrypting = {keys->encryption};
  return keys;
}

AccessClaims claims(std::string subject) {
  AccessClaims c;
  c.issuer = kIssuer;
  c.subject = std::move(subject);
  c.client_id = "app";
  c.scope = "calls";
  c.token_id = "jti-" + c.subject;
  c.token_type = "user";
  c.issued_at = 100;
  c.expires_at = 200;
  return c;
}

TEST(VerifiedTokens, AnswersAsReadingDoesAgainAndAgain) {
  VerifiedTokens cache;
  auto keys = key_set();
  const std::string token = mint_access_token(*keys, claims("alice")).value();
  for (int i = 0; i < 3; ++i) {
    auto read = cache.read(keys, token);
    ASSERT_TRUE(read);
    EXPECT_EQ(read->subject, "alice");
    EXPECT_EQ(read->token_id, "jti-alice");
  }
  std::string forged = token;
  forged[forged.size() - 5] = forged[forged.size() - 5] == 'A' ? 'B' : 'A';
  auto refused = cache.read(keys, forged);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), TokenError::bad_signature);
}

TEST(VerifiedTokens, ANewKeySetForgetsWhatTheOldOneVerified) {
  VerifiedTokens cache;
  auto old_keys = key_set();
  const std::string token = mint_access_token(*old_keys, claims("bob")).value();
  ASSERT_TRUE(cache.read(old_keys, token));
  // The signing key was retired: the token must be read again, and fail.
  auto new_keys = key_set();
  auto read = cache.read(new_keys, token);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error(), TokenError::unknown_key);
}

TEST(VerifiedTokens, StaysBoundedWhenFilled) {
  VerifiedTokens cache(2);
  auto keys = key_set();
  std::vector<std::string> tokens;
  for (int i = 0; i < 200; ++i) tokens.push_back(mint_access_token(*keys, claims("u" + std::to_string(i))).value());
  for (const auto& t : tokens) {
    ASSERT_TRUE(cache.read(keys, t));
    EXPECT_LE(cache.size(), VerifiedTokens::kShards * 2);
  }
  for (std::size_t i = 0; i < tokens.size(); ++i) EXPECT_EQ(cache.read(keys, tokens[i])->subject, "u" + std::to_string(i));
}

}  // namespace
}  // namespace ucedge::authz
