// Real TLS handshakes against the contexts TlsContexts builds: protocol
// versions, cipher suites and every client-certificate rule, each refusal
// happening inside the handshake.
#include <gtest/gtest.h>

#include <memory>

#include "net/tls/tls_contexts.hpp"
#include "net/tls/trust_store.hpp"
#include "tls_test_support.hpp"

namespace ucedge::net::tls {
namespace {

using testing::ClientOptions;
using testing::HandshakeResult;
using testing::TempDir;
using testing::fingerprint_of;
using testing::make_ca;
using testing::make_client;
using testing::parse_tls;

constexpr int tls_versions[] = {TLS1_2_VERSION, TLS1_3_VERSION};

std::string version_name(int version) { return version == TLS1_3_VERSION ? "TLS 1.3" : "TLS 1.2"; }

class Handshake : public ::testing::Test {
 protected:
  void SetUp() override {
    client_ca_ = make_ca("Client Root");
    stranger_ca_ = make_ca("Stranger Root");
    auto added = TrustStore(dir_.path()).add_pem("clients", client_ca_.certificate_pem, false);
    ASSERT_TRUE(added.ok()) << added.error();
  }

  // Contexts for "https" and "mtls" (both of transport "https") from a [tls] text.
  std::shared_ptr<TlsContexts> contexts(std::string_view toml) {
    auto parsed = parse_tls(toml);
    EXPECT_TRUE(parsed.errors.empty()) << parsed.errors.to_string();
    auto created = TlsContexts::create(parsed.settings, dir_.path(),
                                       {{"https", "https"}, {"mtls", "https"}});
    EXPECT_TRUE(created.ok()) << created.error();
    return created ? *created : nullptr;
  }

  HandshakeResult connect(const std::shared_ptr<TlsContexts>& tls, std::string_view interface,
                          ClientOptions options = {}) {
    auto context = tls->context(interface);
    EXPECT_NE(context, nullptr) << interface;
    return testing::handshake(context->native_handle(), options);
  }

  static ClientOptions with_certificate(const IssuedCertificate& certificate, int max_version) {
    ClientOptions options;
    options.certificate = &certificate;
    options.max_version = max_version;
    return options;
  }

  TempDir dir_;
  IssuedCertificate client_ca_;
  IssuedCertificate stranger_ca_;
};

constexpr std::string_view mutual_tls = R"(
[tls.interface.mtls]
client_auth = "required"
trust_anchors = ["clients"]
)";

TEST_F(Handshake, RefusesTls11) {
  auto tls = contexts("");
  ClientOptions old;
  old.min_version = TLS1_1_VERSION;
  old.max_version = TLS1_1_VERSION;
  old.security_level_zero = true;
  old.cipher_list = "DEFAULT:@SECLEVEL=0";
  HandshakeResult result = connect(tls, "https", old);
  EXPECT_FALSE(result.ok());
  EXPECT_NE(result.server_error.find("unsupported protocol"), std::string::npos) << result.server_error;
}

TEST_F(Handshake, RefusesTls10And11WhenOnlyMaxVersionIsSet) {
  // No level sets min_version: the floor is OpenSSL's, set from the default "1.2".
  auto tls = contexts("[tls]\nmax_version = \"1.2\"\n");
  ClientOptions old;
  old.min_version = TLS1_VERSION;
  old.max_version = TLS1_1_VERSION;
  old.security_level_zero = true;
  old.cipher_list = "DEFAULT:@SECLEVEL=0";
  EXPECT_FALSE(connect(tls, "https", old).ok());
}

TEST_F(Handshake, AcceptsTls12AndTls13) {
  auto tls = contexts("");
  ClientOptions tls12;
  tls12.max_version = TLS1_2_VERSION;
  HandshakeResult result12 = connect(tls, "https", tls12);
  ASSERT_TRUE(result12.ok()) << result12.client_error << " / " << result12.server_error;
  EXPECT_EQ(result12.version, "TLSv1.2");
  EXPECT_TRUE(find_cipher_suite(result12.cipher)->in_default_set) << result12.cipher;

  HandshakeResult result13 = connect(tls, "https");
  ASSERT_TRUE(result13.ok()) << result13.client_error << " / " << result13.server_error;
  EXPECT_EQ(result13.version, "TLSv1.3");
  // The development certificate is what the server presents.
  EXPECT_EQ(result13.server_certificate_fingerprint,
            fingerprint_of(testing::read_file(dir_.path() / "tls" / "server.pem")));
}

TEST_F(Handshake, Tls13OnlyPolicyRefusesTls12Client) {
  auto tls = contexts("[tls.transport.https]\nmin_version = \"1.3\"\n");
  ClientOptions tls12;
  tls12.max_version = TLS1_2_VERSION;
  EXPECT_FALSE(connect(tls, "https", tls12).ok());
  EXPECT_TRUE(connect(tls, "mtls").ok());
}

TEST_F(Handshake, RefusesTls12CipherOutsideThePolicy) {
  auto tls = contexts(R"([tls]
cipher_suites = ["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384"]
)");
  ClientOptions outside;
  outside.max_version = TLS1_2_VERSION;
  outside.cipher_list = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305";
  HandshakeResult refused = connect(tls, "https", outside);
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.server_error.find("no shared cipher"), std::string::npos) << refused.server_error;

  ClientOptions inside = outside;
  inside.cipher_list += ":ECDHE-ECDSA-AES256-GCM-SHA384";
  HandshakeResult accepted = connect(tls, "https", inside);
  ASSERT_TRUE(accepted.ok()) << accepted.server_error;
  EXPECT_EQ(accepted.cipher, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384");
}

TEST_F(Handshake, RefusesTls13CipherOutsideThePolicy) {
  auto tls = contexts(R"([tls.interface.https]
cipher_suites = ["TLS_AES_256_GCM_SHA384"]
)");
  ClientOptions outside;
  outside.min_version = TLS1_3_VERSION;
  outside.ciphersuites = "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256";
  EXPECT_FALSE(connect(tls, "https", outside).ok());
  // The other interface keeps the default suites.
  EXPECT_TRUE(connect(tls, "mtls", outside).ok());
  outside.ciphersuites += ":TLS_AES_256_GCM_SHA384";
  HandshakeResult accepted = connect(tls, "https", outside);
  ASSERT_TRUE(accepted.ok()) << accepted.server_error;
  EXPECT_EQ(accepted.cipher, "TLS_AES_256_GCM_SHA384");
}

TEST_F(Handshake, ServerPreferenceDecidesTheSuite) {
  auto tls = contexts(R"([tls]
cipher_suites = ["TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]
)");
  ClientOptions client;
  client.max_version = TLS1_2_VERSION;
  client.cipher_list = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305";
  HandshakeResult result = connect(tls, "https", client);
  ASSERT_TRUE(result.ok()) << result.server_error;
  EXPECT_EQ(result.cipher, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256");
}

TEST_F(Handshake, AcceptsClientOfTrustedCaAndReportsItsIdentity) {
  auto tls = contexts(mutual_tls);
  auto client = make_client(client_ca_, {{"C", "US"},
                                         {"ST", "Texas"},
                                         {"L", "Richardson"},
                                         {"O", "Acme"},
                                         {"OU", "Phones"},
                                         {"CN", "bwcticlient.webex.com"},
                                         {"serialNumber", "SN-0042"}});
  for (int version : tls_versions) {
    SCOPED_TRACE(version_name(version));
    HandshakeResult result = connect(tls, "mtls", with_certificate(client, version));
    ASSERT_TRUE(result.ok()) << result.client_error << " / " << result.server_error;
    ASSERT_TRUE(result.identity.has_value());
    const ClientIdentity& id = *result.identity;
    EXPECT_EQ(id.common_name, "bwcticlient.webex.com");
    EXPECT_EQ(id.organizational_unit, "Phones");
    EXPECT_EQ(id.organization, "Acme");
    EXPECT_EQ(id.locality, "Richardson");
    EXPECT_EQ(id.state, "Texas");
    EXPECT_EQ(id.country, "US");
    EXPECT_EQ(id.serial_number, "SN-0042");
    EXPECT_FALSE(id.certificate_serial.empty());
    EXPECT_EQ(id.certificate_serial.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_EQ(id.issuer, "CN=Client Root,O=ucedge tests");
    EXPECT_EQ(id.subject,
              "serialNumber=SN-0042,CN=bwcticlient.webex.com,OU=Phones,O=Acme,L=Richardson,ST=Texas,C=US");
    EXPECT_EQ(id.fingerprint_sha256, fingerprint_of(client.certificate_pem));
    EXPECT_TRUE(id.subject_alt_names.empty());
  }
}

TEST_F(Handshake, RefusesClientOfUnknownCa) {
  auto tls = contexts(mutual_tls);
  auto stranger = make_client(stranger_ca_, {{"CN", "bwcticlient.webex.com"}});
  for (int version : tls_versions) {
    SCOPED_TRACE(version_name(version));
    HandshakeResult result = connect(tls, "mtls", with_certificate(stranger, version));
    EXPECT_FALSE(result.ok());
    EXPECT_NE(result.server_error.find("certificate verify failed"), std::string::npos) << result.server_error;
    EXPECT_EQ(result.server_verify_result, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
  }
}

TEST_F(Handshake, TrustsOnlyTheNamedAliases) {
  auto added = TrustStore(dir_.path()).add_pem("strangers", stranger_ca_.certificate_pem, false);
  ASSERT_TRUE(added.ok()) << added.error();
  auto tls = contexts(mutual_tls);
  auto stranger = make_client(stranger_ca_, {{"CN", "x"}});
  EXPECT_FALSE(connect(tls, "mtls", with_certificate(stranger, TLS1_3_VERSION)).ok());
  // With no alias named, every alias of the store is trusted.
  auto everyone = contexts("[tls.interface.mtls]\nclient_auth = \"required\"\n");
  EXPECT_TRUE(connect(everyone, "mtls", with_certificate(stranger, TLS1_3_VERSION)).ok());
}

TEST_F(Handshake, RequiredClientAuthRefusesClientWithoutCertificate) {
  auto tls = contexts(mutual_tls);
  for (int version : tls_versions) {
    SCOPED_TRACE(version_name(version));
    ClientOptions bare;
    bare.max_version = version;
    HandshakeResult result = connect(tls, "mtls", bare);
    EXPECT_FALSE(result.ok());
    EXPECT_NE(result.server_error.find("peer did not return a certificate"), std::string::npos)
        << result.server_error;
  }
  // The interface without client auth is unaffected.
  EXPECT_TRUE(connect(tls, "https").ok());
}

TEST_F(Handshake, OptionalClientAuthAcceptsBothWays) {
  auto tls = contexts("[tls.interface.mtls]\nclient_auth = \"optional\"\ntrust_anchors = [\"clients\"]\n");
  HandshakeResult bare = connect(tls, "mtls");
  ASSERT_TRUE(bare.ok()) << bare.server_error;
  EXPECT_FALSE(bare.identity.has_value());

  auto client = make_client(client_ca_, {{"CN", "phone-1"}});
  HandshakeResult with_cert = connect(tls, "mtls", with_certificate(client, TLS1_3_VERSION));
  ASSERT_TRUE(with_cert.ok()) << with_cert.server_error;
  ASSERT_TRUE(with_cert.identity.has_value());
  EXPECT_EQ(with_cert.identity->common_name, "phone-1");

  // Optional does not mean anything goes: a presented certificate must verify.
  auto stranger = make_client(stranger_ca_, {{"CN", "phone-2"}});
  EXPECT_FALSE(connect(tls, "mtls", with_certificate(stranger, TLS1_3_VERSION)).ok());
}

TEST_F(Handshake, ClientAuthOffReportsNoIdentity) {
  auto tls = contexts("");
  auto client = make_client(client_ca_, {{"CN", "phone-1"}});
  HandshakeResult result = connect(tls, "https", with_certificate(client, TLS1_3_VERSION));
  ASSERT_TRUE(result.ok()) << result.server_error;
  EXPECT_FALSE(result.identity.has_value());
}

TEST_F(Handshake, RefusesCommonNameOutsideClientIdentities) {
  auto tls = contexts(std::string(mutual_tls) + "client_identities = [\"bwcticlient.webex.com\"]\n");
  auto allowed = make_client(client_ca_, {{"CN", "BWCTIClient.webex.com"}});
  auto intruder = make_client(client_ca_, {{"CN", "intruder.example.com"}});
  auto two_names = make_client(client_ca_, {{"CN", "bwcticlient.webex.com"}, {"CN", "intruder.example.com"}});
  for (int version : tls_versions) {
    SCOPED_TRACE(version_name(version));
    HandshakeResult ok = connect(tls, "mtls", with_certificate(allowed, version));
    EXPECT_TRUE(ok.ok()) << ok.server_error;

    HandshakeResult refused = connect(tls, "mtls", with_certificate(intruder, version));
    EXPECT_FALSE(refused.ok());
    EXPECT_EQ(refused.server_verify_result, X509_V_ERR_APPLICATION_VERIFICATION);
    EXPECT_NE(refused.server_error.find("certificate verify failed"), std::string::npos);

    EXPECT_FALSE(connect(tls, "mtls", with_certificate(two_names, version)).ok());
  }
}

TEST_F(Handshake, RefusesClientWithoutRequiredEku) {
  auto tls = contexts(std::string(mutual_tls) +
                      "required_eku = [\"1.3.6.1.4.1.6431.1.1.8.2.1.3\", \"clientAuth\"]\n");
  auto proxy = make_client(client_ca_, {{"CN", "bridge.example.com"}},
                           {"clientAuth", "1.3.6.1.4.1.6431.1.1.8.2.1.3"});
  auto plain = make_client(client_ca_, {{"CN", "bridge.example.com"}}, {"clientAuth"});
  auto no_eku = make_client(client_ca_, {{"CN", "bridge.example.com"}}, {});
  for (int version : tls_versions) {
    SCOPED_TRACE(version_name(version));
    HandshakeResult ok = connect(tls, "mtls", with_certificate(proxy, version));
    EXPECT_TRUE(ok.ok()) << ok.server_error;

    HandshakeResult refused = connect(tls, "mtls", with_certificate(plain, version));
    EXPECT_FALSE(refused.ok());
    EXPECT_EQ(refused.server_verify_result, X509_V_ERR_APPLICATION_VERIFICATION);

    EXPECT_FALSE(connect(tls, "mtls", with_certificate(no_eku, version)).ok());
  }
}

TEST_F(Handshake, OpenSslRefusesClientCertificateWithoutClientAuthEku) {
  // Even without required_eku: an EKU list lacking clientAuth fails the
  // purpose check OpenSSL makes on the server side.
  auto tls = contexts(mutual_tls);
  auto server_only = make_client(client_ca_, {{"CN", "x"}}, {"serverAuth"});
  HandshakeResult refused = connect(tls, "mtls", with_certificate(server_only, TLS1_3_VERSION));
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(refused.server_verify_result, X509_V_ERR_INVALID_PURPOSE);
}

TEST_F(Handshake, RefusesSanClientCertificateWhenAsked) {
  auto refusing = contexts(std::string(mutual_tls) + "refuse_san_client_certs = true\n");
  auto with_san = make_client(client_ca_, {{"CN", "bwcticlient.webex.com"}}, {"clientAuth"},
                              {"bwcticlient.webex.com"});
  auto without_san = make_client(client_ca_, {{"CN", "bwcticlient.webex.com"}});
  for (int version : tls_versions) {
    SCOPED_TRACE(version_name(version));
    HandshakeResult refused = connect(refusing, "mtls", with_certificate(with_san, version));
    EXPECT_FALSE(refused.ok());
    EXPECT_EQ(refused.server_verify_result, X509_V_ERR_APPLICATION_VERIFICATION);
    EXPECT_TRUE(connect(refusing, "mtls", with_certificate(without_san, version)).ok());
  }
  auto accepting = contexts(mutual_tls);
  HandshakeResult accepted = connect(accepting, "mtls", with_certificate(with_san, TLS1_3_VERSION));
  ASSERT_TRUE(accepted.ok()) << accepted.server_error;
  EXPECT_EQ(accepted.identity->subject_alt_names, std::vector<std::string>{"DNS:bwcticlient.webex.com"});
}

TEST_F(Handshake, DevelopmentClientWorksOutOfTheBox) {
  // Default trust (every alias) includes the development CA made on first start.
  auto tls = contexts("[tls.interface.mtls]\nclient_auth = \"required\"\n");
  IssuedCertificate dev_client{testing::read_file(dir_.path() / "tls" / "dev-client.pem"),
                               testing::read_file(dir_.path() / "tls" / "dev-client.key")};
  HandshakeResult result = connect(tls, "mtls", with_certificate(dev_client, TLS1_3_VERSION));
  ASSERT_TRUE(result.ok()) << result.server_error;
  EXPECT_EQ(result.identity->common_name, "ucedge-dev-client");
}

}  // namespace
}  // namespace ucedge::net::tls
