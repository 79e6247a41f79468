#include "core/digest.hpp"

#include <gtest/gtest.h>

using ucedge::core::digest_hex;

TEST(Digest, Blake2bInHex) {
  // RFC 7693 appendix A: BLAKE2b-512 of "abc".
  EXPECT_EQ(digest_hex("abc", 64),
            "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
            "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923");
  EXPECT_EQ(digest_hex("x").size(), 64u);
  EXPECT_EQ(digest_hex("x", 16).size(), 32u);
  EXPECT_NE(digest_hex("x"), digest_hex("y"));
}
