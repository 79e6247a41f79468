#include "core/password.hpp"

#include <gtest/gtest.h>

#include <set>

#include "core/secure_compare.hpp"

namespace ucedge::core {
namespace {

TEST(Password, HashVerifies) {
  const std::string hash = hash_password("correct horse battery staple");
  EXPECT_TRUE(verify_password(hash, "correct horse battery staple"));
}

TEST(Password, WrongPasswordFails) {
  const std::string hash = hash_password("secret");
  EXPECT_FALSE(verify_password(hash, "Secret"));
  EXPECT_FALSE(verify_password(hash, ""));
  EXPECT_FALSE(verify_password(hash, "secret "));
}

TEST(Password, HashIsArgon2id) {
  const std::string hash = hash_password("secret");
  EXPECT_EQ(hash.rfind("$argon2id$", 0), 0u) << hash;
  EXPECT_EQ(hash.find("secret"), std::string::npos);
}

TEST(Password, SamePasswordHashesDifferently) {
  EXPECT_NE(hash_password("same"), hash_password("same"));
}

TEST(Password, GarbageHashNeverVerifies) {
  EXPECT_FALSE(verify_password("", ""));
  EXPECT_FALSE(verify_password("not a hash", "not a hash"));
  EXPECT_FALSE(verify_password(std::string("$argon2id$\0", 11), ""));
  EXPECT_FALSE(verify_password(std::string(1000, 'x'), "x"));
}

TEST(Password, EmptyAndBinaryPasswordsWork) {
  const std::string odd("a\0b\xff", 4);
  EXPECT_TRUE(verify_password(hash_password(odd), odd));
  EXPECT_FALSE(verify_password(hash_password(odd), "a"));
  EXPECT_TRUE(verify_password(hash_password(""), ""));
}

TEST(Password, RandomPasswordsUseAnUnambiguousAlphabet) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const std::string p = random_password();
    EXPECT_EQ(p.size(), 20u);
    EXPECT_EQ(p.find_first_of("0O1lI"), std::string::npos) << p;
    for (char c : p) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << p;
    seen.insert(p);
  }
  EXPECT_EQ(seen.size(), 200u);
  EXPECT_EQ(random_password(7).size(), 7u);
  EXPECT_EQ(random_password(0), "");
}

TEST(SecureEqual, ComparesWholeValues) {
  EXPECT_TRUE(secure_equal("", ""));
  EXPECT_TRUE(secure_equal("token-123", "token-123"));
  EXPECT_FALSE(secure_equal("token-123", "token-124"));
  EXPECT_FALSE(secure_equal("token-123", "token-12"));
  EXPECT_FALSE(secure_equal("", "x"));
  EXPECT_TRUE(secure_equal(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_FALSE(secure_equal(std::string("a\0b", 3), std::string("a\0c", 3)));
}

}  // namespace
}  // namespace ucedge::core
