// Reading [tls] and its levels, and resolving a policy from them.
#include <gtest/gtest.h>

#include "net/tls/tls_config.hpp"
#include "tls_test_support.hpp"

namespace ucedge::net::tls {
namespace {

using testing::parse_tls;

// The first error mentioning `needle`, as "file:line:column: message".
std::string error_with(const core::ConfigErrors& errors, std::string_view needle) {
  for (const auto& e : errors.list()) {
    if (e.message.find(needle) != std::string::npos) return e.to_string();
  }
  return "(no error mentions \"" + std::string(needle) + "\"; errors:\n" + errors.to_string() + ")";
}

TEST(TlsConfig, EmptyConfigResolvesToSafeDefaults) {
  auto parsed = parse_tls("");
  ASSERT_TRUE(parsed.errors.empty()) << parsed.errors.to_string();
  TlsPolicy policy = resolve_policy(parsed.settings, "https", "https");
  EXPECT_EQ(policy.min_version, "1.2");
  EXPECT_EQ(policy.max_version, "1.3");
  EXPECT_EQ(policy.cipher_suites, default_cipher_suites());
  EXPECT_EQ(policy.client_auth, ClientAuth::off);
  EXPECT_TRUE(policy.certificate.empty());
  EXPECT_TRUE(policy.trust_anchors.empty());
  EXPECT_FALSE(policy.refuse_san_client_certs);
}

TEST(TlsConfig, MostSpecificLevelWinsPerField) {
  auto parsed = parse_tls(R"(
[tls]
min_version = "1.2"
cipher_suites = ["TLS_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]
client_identities = ["system.example.com"]
refuse_san_client_certs = false

[tls.transport.https]
min_version = "1.3"
cipher_suites = ["TLS_AES_256_GCM_SHA384"]
client_auth = "optional"

[tls.interface.cti]
client_auth = "required"
client_identities = ["bwcticlient.webex.com"]
required_eku = ["1.3.6.1.4.1.6431.1.1.8.2.1.3", "clientAuth"]
refuse_san_client_certs = true
trust_anchors = ["webexclientroot2023", "webexclientissuing2023"]
)");
  ASSERT_TRUE(parsed.errors.empty()) << parsed.errors.to_string();

  // Interface level over transport over system, field by field.
  TlsPolicy cti = resolve_policy(parsed.settings, "https", "cti");
  EXPECT_EQ(cti.min_version, "1.3");                                   // transport
  EXPECT_EQ(cti.max_version, "1.3");                                   // default
  EXPECT_EQ(cti.cipher_suites, std::vector<std::string>{"TLS_AES_256_GCM_SHA384"});  // transport
  EXPECT_EQ(cti.client_auth, ClientAuth::required);                    // interface
  EXPECT_EQ(cti.client_identities, std::vector<std::string>{"bwcticlient.webex.com"});
  EXPECT_EQ(cti.required_eku, (std::vector<std::string>{"1.3.6.1.4.1.6431.1.1.8.2.1.3", "clientAuth"}));
  EXPECT_TRUE(cti.refuse_san_client_certs);
  EXPECT_EQ(cti.trust_anchors.size(), 2u);

  // Another interface of the same transport sees the transport level.
  TlsPolicy https = resolve_policy(parsed.settings, "https", "https");
  EXPECT_EQ(https.min_version, "1.3");
  EXPECT_EQ(https.client_auth, ClientAuth::optional);
  EXPECT_EQ(https.client_identities, std::vector<std::string>{"system.example.com"});
  EXPECT_FALSE(https.refuse_san_client_certs);

  // Another transport sees only the system level.
  TlsPolicy turns = resolve_policy(parsed.settings, "turns", "turns");
  EXPECT_EQ(turns.min_version, "1.2");
  EXPECT_EQ(turns.cipher_suites.size(), 2u);
  EXPECT_EQ(turns.client_auth, ClientAuth::off);

  // An interface level applies even when its transport has no table.
  TlsPolicy cti_elsewhere = resolve_policy(parsed.settings, "other", "cti");
  EXPECT_EQ(cti_elsewhere.min_version, "1.2");
  EXPECT_EQ(cti_elsewhere.client_auth, ClientAuth::required);
}

TEST(TlsConfig, AcceptsTlsvSpelling) {
  auto parsed = parse_tls("[tls]\nmin_version = \"TLSv1.2\"\nmax_version = \"TLSv1.3\"\n");
  ASSERT_TRUE(parsed.errors.empty()) << parsed.errors.to_string();
  EXPECT_EQ(parsed.settings.system.min_version, "1.2");
  EXPECT_EQ(parsed.settings.system.max_version, "1.3");
}

TEST(TlsConfig, RefusesTls11WithItsLine) {
  auto parsed = parse_tls("[tls]\n\n[tls.interface.cti]\nmin_version = \"1.1\"\n");
  EXPECT_EQ(error_with(parsed.errors, "below TLS 1.2"),
            "test.toml:4:15: 'tls.interface.cti.min_version': \"1.1\" is below TLS 1.2, which ucedge never offers");
}

TEST(TlsConfig, RefusesSsl3AndNonsenseVersions) {
  auto parsed = parse_tls("[tls]\nmin_version = \"SSLv3\"\nmax_version = \"2.0\"\n");
  EXPECT_NE(error_with(parsed.errors, "below TLS 1.2").find("test.toml:2:"), std::string::npos);
  EXPECT_NE(error_with(parsed.errors, "not a TLS version").find("test.toml:3:"), std::string::npos);
}

TEST(TlsConfig, RefusesMinAboveMax) {
  auto parsed = parse_tls("[tls]\nmin_version = \"1.3\"\nmax_version = \"1.2\"\n");
  EXPECT_NE(error_with(parsed.errors, "above max_version").find("test.toml:2:"), std::string::npos);
}

TEST(TlsConfig, RefusesUnknownCipherWithItsLine) {
  auto parsed = parse_tls(R"([tls]
cipher_suites = [
  "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
]
[tls.transport.https]
cipher_suites = ["TLS_ECDHE_RSA_WITH_SNAKE_OIL_SHA256"]
)");
  EXPECT_EQ(error_with(parsed.errors, "SNAKE_OIL"),
            "test.toml:6:17: 'tls.transport.https.cipher_suites': unknown cipher suite "
            "\"TLS_ECDHE_RSA_WITH_SNAKE_OIL_SHA256\" (`ucedge tls ciphers` lists the IANA names accepted)");
  EXPECT_EQ(parsed.errors.list().size(), 1u) << parsed.errors.to_string();
}

TEST(TlsConfig, SuggestsTheIanaNameForAnOpenSslName) {
  auto parsed = parse_tls("[tls]\ncipher_suites = [\"ECDHE-ECDSA-CHACHA20-POLY1305\"]\n");
  EXPECT_NE(error_with(parsed.errors, "OpenSSL's name")
                .find("\"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256\""),
            std::string::npos);
}

TEST(TlsConfig, RefusesAnonymousAndEmptySuiteLists) {
  auto anonymous = parse_tls("[tls]\ncipher_suites = [\"TLS_DH_anon_WITH_AES_128_GCM_SHA256\"]\n");
  EXPECT_NE(error_with(anonymous.errors, "unknown cipher suite"), "");
  EXPECT_FALSE(anonymous.errors.empty());
  auto empty = parse_tls("[tls]\ncipher_suites = []\n");
  EXPECT_NE(error_with(empty.errors, "names no cipher suite").find("test.toml:2:"), std::string::npos);
}

TEST(TlsConfig, RefusesMalformedOidWithItsLine) {
  auto parsed = parse_tls(R"([tls]

[tls.interface.cti]
client_auth = "required"
required_eku = ["1.3.6.1.4.1.6431.1.1.8.2.1.3", "1.3.6..1"]
)");
  EXPECT_EQ(error_with(parsed.errors, "1.3.6..1"),
            "test.toml:5:16: 'tls.interface.cti.required_eku': \"1.3.6..1\" is not a dotted OID "
            "(such as \"1.3.6.1.4.1.6431.1.1.8.2.1.3\") nor \"clientAuth\"");
  for (const char* bad : {"\"3.1\"", "\"1.40\"", "\"1.02\"", "\"1\"", "\"serverAuthx\""}) {
    auto one = parse_tls(std::string("[tls]\nrequired_eku = [") + bad + "]\n");
    EXPECT_FALSE(one.errors.empty()) << bad;
  }
  auto good = parse_tls("[tls]\nrequired_eku = [\"2.5.29.37.0\", \"1.39.1\", \"clientAuth\"]\n");
  EXPECT_TRUE(good.errors.empty()) << good.errors.to_string();
}

TEST(TlsConfig, RefusesUnknownKeysAtEveryLevel) {
  auto parsed = parse_tls(R"([tls]
min_versoin = "1.2"
[tls.transport.https]
ciphers = ["TLS_AES_128_GCM_SHA256"]
[tls.interface.cti]
client_identity = ["bwcticlient.webex.com"]
)");
  EXPECT_EQ(error_with(parsed.errors, "min_versoin"), "test.toml:2:1: 'tls.min_versoin': unknown key");
  EXPECT_EQ(error_with(parsed.errors, "ciphers"), "test.toml:4:1: 'tls.transport.https.ciphers': unknown key");
  EXPECT_EQ(error_with(parsed.errors, "client_identity"),
            "test.toml:6:1: 'tls.interface.cti.client_identity': unknown key");
  EXPECT_EQ(parsed.errors.list().size(), 3u) << parsed.errors.to_string();
}

TEST(TlsConfig, RefusesBadValuesOfOtherKeys) {
  auto parsed = parse_tls(R"([tls]
client_auth = "sometimes"
trust_anchors = ["../etc/passwd"]
client_identities = [""]
refuse_san_client_certs = "yes"
certificate = "server.pem"
)");
  EXPECT_NE(error_with(parsed.errors, "sometimes").find(":2:"), std::string::npos);
  EXPECT_NE(error_with(parsed.errors, "not a trust alias").find(":3:"), std::string::npos);
  EXPECT_NE(error_with(parsed.errors, "empty name").find(":4:"), std::string::npos);
  EXPECT_NE(error_with(parsed.errors, "true or false").find(":5:"), std::string::npos);
  EXPECT_NE(error_with(parsed.errors, "without private_key").find(":6:"), std::string::npos);
}

TEST(TlsConfig, ReadsCertificatePairs) {
  auto parsed = parse_tls(R"([tls]
certificate = "/etc/ucedge/server.pem"
private_key = "/etc/ucedge/server.key"
[tls.interface.cti]
certificate = "tls/cti.pem"
private_key = "tls/cti.key"
)");
  ASSERT_TRUE(parsed.errors.empty()) << parsed.errors.to_string();
  TlsPolicy cti = resolve_policy(parsed.settings, "https", "cti");
  EXPECT_EQ(cti.certificate, "tls/cti.pem");
  EXPECT_EQ(cti.private_key, "tls/cti.key");
  TlsPolicy other = resolve_policy(parsed.settings, "https", "https");
  EXPECT_EQ(other.certificate, "/etc/ucedge/server.pem");
}

}  // namespace
}  // namespace ucedge::net::tls
