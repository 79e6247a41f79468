// The IANA -> OpenSSL catalogue read from the linked OpenSSL.
#include <gtest/gtest.h>

#include "net/tls/cipher_suites.hpp"

namespace ucedge::net::tls {
namespace {

TEST(CipherSuites, MapsIanaNamesToOpenSslNames) {
  struct Expected {
    const char* iana;
    const char* openssl;
    bool tls13;
  };
  for (const Expected& e : {
           Expected{"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305", false},
           Expected{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256", false},
           Expected{"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "ECDHE-RSA-AES128-SHA256", false},
           Expected{"TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "DHE-RSA-AES128-GCM-SHA256", false},
           Expected{"TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256", false},
           Expected{"TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256", true},
           Expected{"TLS_CHACHA20_POLY1305_SHA256", "TLS_CHACHA20_POLY1305_SHA256", true},
       }) {
    const CipherSuite* suite = find_cipher_suite(e.iana);
    ASSERT_NE(suite, nullptr) << e.iana;
    EXPECT_EQ(suite->openssl_name, e.openssl) << e.iana;
    EXPECT_EQ(suite->tls13, e.tls13) << e.iana;
  }
}

TEST(CipherSuites, LeavesOutSuitesWithoutAuthenticationOrEncryption) {
  EXPECT_EQ(find_cipher_suite("TLS_ECDH_anon_WITH_AES_128_CBC_SHA"), nullptr);
  EXPECT_EQ(find_cipher_suite("TLS_RSA_WITH_NULL_SHA256"), nullptr);
  EXPECT_EQ(find_cipher_suite("TLS_PSK_WITH_AES_128_GCM_SHA256"), nullptr);
  EXPECT_EQ(find_cipher_suite("ECDHE-RSA-AES128-GCM-SHA256"), nullptr);  // OpenSSL's name
}

TEST(CipherSuites, DefaultSetIsKnownAeadWithForwardSecrecy) {
  int tls13 = 0;
  for (const auto& name : default_cipher_suites()) {
    const CipherSuite* suite = find_cipher_suite(name);
    ASSERT_NE(suite, nullptr) << name;
    EXPECT_TRUE(suite->in_default_set) << name;
    if (suite->tls13) {
      ++tls13;
    } else {
      EXPECT_TRUE(name.starts_with("TLS_ECDHE_")) << name;
      EXPECT_TRUE(name.find("_GCM_") != std::string::npos || name.find("CHACHA20_POLY1305") != std::string::npos)
          << name;
    }
  }
  EXPECT_EQ(tls13, 3);
}

TEST(CipherSuites, SuggestsIanaNameForOpenSslName) {
  EXPECT_EQ(iana_name_of_openssl_name("ECDHE-ECDSA-AES256-GCM-SHA384"),
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");
  EXPECT_EQ(iana_name_of_openssl_name("NOT-A-SUITE"), std::nullopt);
}

}  // namespace
}  // namespace ucedge::net::tls
