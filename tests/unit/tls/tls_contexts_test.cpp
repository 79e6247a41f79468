// TlsContexts: what create() reports, and reload() on SIGHUP.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "net/tls/tls_contexts.hpp"
#include "net/tls/trust_store.hpp"
#include "tls_test_support.hpp"

namespace ucedge::net::tls {
namespace {

using testing::TempDir;
using testing::fingerprint_of;
using testing::make_ca;
using testing::make_server;
using testing::parse_tls;
using testing::write_file;

TlsSettings settings_of(std::string_view toml) {
  auto parsed = parse_tls(toml);
  EXPECT_TRUE(parsed.errors.empty()) << parsed.errors.to_string();
  return parsed.settings;
}

TEST(TlsContexts, ReportsEveryProblemOncePerLine) {
  TempDir dir;
  auto ca = make_ca("Server CA");
  auto a = make_server(ca, "a.example.com");
  auto b = make_server(ca, "b.example.com");
  write_file(dir.path() / "a.pem", a.certificate_pem);
  write_file(dir.path() / "b.key", b.private_key_pem);
  auto created = TlsContexts::create(settings_of(R"(
[tls.interface.missing]
certificate = "nowhere.pem"
private_key = "nowhere.key"
[tls.interface.mismatched]
certificate = "a.pem"
private_key = "b.key"
[tls.interface.untrusting]
client_auth = "required"
trust_anchors = ["no-such-alias"]
)"),
                                     dir.path(),
                                     {{"missing", "https"}, {"mismatched", "https"}, {"untrusting", "https"}});
  ASSERT_FALSE(created.ok());
  const std::string& error = created.error();
  std::string nowhere = (dir.path() / "nowhere.pem").string();
  EXPECT_NE(error.find("tls interface \"missing\": " + nowhere + ": no such file"), std::string::npos) << error;
  EXPECT_NE(error.find("tls interface \"missing\": " + (dir.path() / "nowhere.key").string() + ": no such file"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("tls interface \"mismatched\": " + (dir.path() / "b.key").string() + " is not the key of"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("tls interface \"untrusting\": unknown trust alias \"no-such-alias\""), std::string::npos)
      << error;
  EXPECT_EQ(std::count(error.begin(), error.end(), '\n'), 3) << error;
}

TEST(TlsContexts, RefusesClientAuthWithAnEmptyTrustStore) {
  TempDir dir;
  TlsSettings settings = settings_of(R"(
[tls]
certificate = "a.pem"
private_key = "a.key"
[tls.interface.mtls]
client_auth = "required"
)");
  auto ca = make_ca("Server CA");
  auto a = make_server(ca, "a.example.com");
  write_file(dir.path() / "a.pem", a.certificate_pem);
  write_file(dir.path() / "a.key", a.private_key_pem);
  auto created = TlsContexts::create(settings, dir.path(), {{"mtls", "https"}});
  ASSERT_FALSE(created.ok());
  EXPECT_NE(created.error().find("the trust store is empty"), std::string::npos) << created.error();
  // No certificate was left to the development PKI, so none was made.
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "tls" / "dev-ca.pem"));
}

TEST(TlsContexts, RefusesAPolicyWithoutUsableSuites) {
  TempDir dir;
  auto created = TlsContexts::create(settings_of(R"(
[tls]
min_version = "1.3"
cipher_suites = ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]
)"),
                                     dir.path(), {{"https", "https"}});
  ASSERT_FALSE(created.ok());
  EXPECT_NE(created.error().find("no cipher suite of the policy works with TLS 1.3 to 1.3"), std::string::npos)
      << created.error();
}

TEST(TlsContexts, RefusesDuplicateInterfaces) {
  TempDir dir;
  auto created = TlsContexts::create({}, dir.path(), {{"https", "https"}, {"https", "https"}});
  ASSERT_FALSE(created.ok());
  EXPECT_NE(created.error().find("given twice"), std::string::npos);
}

TEST(TlsContexts, ExposesResolvedPoliciesAndNoContextForUnknownInterfaces) {
  TempDir dir;
  auto created = TlsContexts::create(settings_of("[tls.transport.https]\nmax_version = \"1.2\"\n"), dir.path(),
                                     {{"https", "https"}});
  ASSERT_TRUE(created.ok()) << created.error();
  EXPECT_EQ((*created)->policy("https").max_version, "1.2");
  EXPECT_EQ((*created)->context("nope"), nullptr);
  EXPECT_NE((*created)->context("https"), nullptr);
}

TEST(TlsContexts, ReloadPicksUpANewCertificateWhileOldContextsStayUsable) {
  TempDir dir;
  auto ca = make_ca("Server CA");
  auto first = make_server(ca, "first.example.com");
  auto second = make_server(ca, "second.example.com");
  write_file(dir.path() / "tls" / "https.pem", first.certificate_pem);
  write_file(dir.path() / "tls" / "https.key", first.private_key_pem);

  auto created = TlsContexts::create(settings_of(R"(
[tls.transport.https]
certificate = "tls/https.pem"
private_key = "tls/https.key"
)"),
                                     dir.path(), {{"https", "https"}});
  ASSERT_TRUE(created.ok()) << created.error();
  std::shared_ptr<TlsContexts> tls = *created;
  // A connection accepted before the reload holds this context.
  auto before = tls->context("https");
  ASSERT_EQ(testing::handshake(before->native_handle(), {}).server_certificate_fingerprint,
            fingerprint_of(first.certificate_pem));

  write_file(dir.path() / "tls" / "https.pem", second.certificate_pem);
  write_file(dir.path() / "tls" / "https.key", second.private_key_pem);
  auto reloaded = tls->reload();
  ASSERT_TRUE(reloaded.ok()) << reloaded.error();

  auto after = tls->context("https");
  EXPECT_NE(after, before);
  EXPECT_EQ(testing::handshake(after->native_handle(), {}).server_certificate_fingerprint,
            fingerprint_of(second.certificate_pem));
  // The old context still completes handshakes, with the old certificate.
  auto old = testing::handshake(before->native_handle(), {});
  ASSERT_TRUE(old.ok()) << old.server_error;
  EXPECT_EQ(old.server_certificate_fingerprint, fingerprint_of(first.certificate_pem));
}

TEST(TlsContexts, FailedReloadKeepsTheCurrentContexts) {
  TempDir dir;
  auto ca = make_ca("Server CA");
  auto first = make_server(ca, "first.example.com");
  auto other = make_server(ca, "other.example.com");
  write_file(dir.path() / "https.pem", first.certificate_pem);
  write_file(dir.path() / "https.key", first.private_key_pem);
  auto created = TlsContexts::create(
      settings_of("[tls]\ncertificate = \"https.pem\"\nprivate_key = \"https.key\"\n"), dir.path(),
      {{"https", "https"}});
  ASSERT_TRUE(created.ok()) << created.error();
  auto before = (*created)->context("https");

  // Half-way through a certificate rotation: the new key, the old certificate.
  write_file(dir.path() / "https.key", other.private_key_pem);
  auto reloaded = (*created)->reload();
  ASSERT_FALSE(reloaded.ok());
  EXPECT_NE(reloaded.error().find("is not the key of"), std::string::npos) << reloaded.error();
  EXPECT_EQ((*created)->context("https"), before);
  EXPECT_TRUE(testing::handshake(before->native_handle(), {}).ok());
}

TEST(TlsContexts, ReloadPicksUpNewTrustAnchors) {
  TempDir dir;
  auto old_ca = make_ca("Old Client CA");
  auto new_ca = make_ca("New Client CA");
  TrustStore store(dir.path());
  ASSERT_TRUE(store.add_pem("clients", old_ca.certificate_pem, false).ok());
  auto created = TlsContexts::create(
      settings_of("[tls]\nclient_auth = \"required\"\ntrust_anchors = [\"clients\"]\n"), dir.path(),
      {{"mtls", "https"}});
  ASSERT_TRUE(created.ok()) << created.error();
  auto client = testing::make_client(new_ca, {{"CN", "phone"}});
  testing::ClientOptions options;
  options.certificate = &client;
  EXPECT_FALSE(testing::handshake((*created)->context("mtls")->native_handle(), options).ok());

  ASSERT_TRUE(store.add_pem("clients", new_ca.certificate_pem, true).ok());
  ASSERT_TRUE((*created)->reload().ok());
  auto result = testing::handshake((*created)->context("mtls")->native_handle(), options);
  EXPECT_TRUE(result.ok()) << result.server_error;
}

TEST(TlsContexts, ContextIsSafeToReadDuringReloads) {
  TempDir dir;
  auto created = TlsContexts::create({}, dir.path(), {{"https", "https"}});
  ASSERT_TRUE(created.ok()) << created.error();
  std::shared_ptr<TlsContexts> tls = *created;
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    while (!stop) ASSERT_NE(tls->context("https"), nullptr);
  });
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(tls->reload().ok());
  stop = true;
  reader.join();
}

}  // namespace
}  // namespace ucedge::net::tls
