// The development PKI: made once, reused after, never replaced.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "net/tls/dev_pki.hpp"
#include "net/tls/openssl_util.hpp"
#include "net/tls/trust_store.hpp"
#include "tls_test_support.hpp"

namespace ucedge::net::tls {
namespace {

using testing::TempDir;
using testing::fingerprint_of;
using testing::read_file;

unsigned mode_of(const std::filesystem::path& file) {
  struct stat st {};
  ::stat(file.c_str(), &st);
  return st.st_mode & 0777;
}

detail::X509Ptr load(const std::filesystem::path& file) {
  auto certs = detail::certificates_from_pem(read_file(file));
  EXPECT_TRUE(certs.ok()) << file;
  return certs ? std::move(certs.value().front()) : nullptr;
}

TEST(DevPki, MakesCaServerAndClientOnFirstCall) {
  TempDir dir;
  auto pki = ensure_dev_pki(dir.path());
  ASSERT_TRUE(pki.ok()) << pki.error();
  EXPECT_TRUE(pki->generated);
  for (const auto* files : {&pki->ca, &pki->server, &pki->client}) {
    EXPECT_EQ(mode_of(files->private_key), 0600u) << files->private_key;
    EXPECT_EQ(mode_of(files->certificate), 0644u) << files->certificate;
  }
  EXPECT_EQ(pki->server.certificate, dir.path() / "tls" / "server.pem");

  auto ca = load(pki->ca.certificate);
  EXPECT_EQ(X509_check_ca(ca.get()), 1);
  int days = 0, seconds = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notAfter(ca.get())), 1);
  EXPECT_GE(days, 3649);

  auto server = load(pki->server.certificate);
  EXPECT_EQ(detail::subject_alt_names(server.get()),
            (std::vector<std::string>{"DNS:localhost", "IP:127.0.0.1", "IP:::1"}));
  EXPECT_EQ(detail::extended_key_usages(server.get()), std::vector<std::string>{"1.3.6.1.5.5.7.3.1"});
  EXPECT_EQ(X509_check_issued(ca.get(), server.get()), X509_V_OK);
  ASSERT_EQ(ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notAfter(server.get())), 1);
  EXPECT_EQ(days, 824);  // 825 days from notBefore, an hour ago
  int total_days = 0;
  ASSERT_EQ(ASN1_TIME_diff(&total_days, &seconds, X509_get0_notBefore(server.get()),
                           X509_get0_notAfter(server.get())), 1);
  EXPECT_EQ(total_days, 825);
  EXPECT_EQ(seconds, 0);

  auto client = load(pki->client.certificate);
  EXPECT_EQ(detail::name_entry(X509_get_subject_name(client.get()), NID_commonName), "ucedge-dev-client");
  EXPECT_TRUE(detail::subject_alt_names(client.get()).empty());
  EXPECT_EQ(detail::extended_key_usages(client.get()), std::vector<std::string>{"1.3.6.1.5.5.7.3.2"});
  EXPECT_EQ(X509_check_issued(ca.get(), client.get()), X509_V_OK);

  TrustStore trust(dir.path());
  ASSERT_TRUE(trust.contains(dev_ca_alias));
  EXPECT_EQ(fingerprint_of(read_file(trust.file_of(dev_ca_alias))), fingerprint_of(read_file(pki->ca.certificate)));
}

TEST(DevPki, ReusesWhatExists) {
  TempDir dir;
  auto first = ensure_dev_pki(dir.path());
  ASSERT_TRUE(first.ok()) << first.error();
  std::string ca = fingerprint_of(read_file(first->ca.certificate));
  std::string server = fingerprint_of(read_file(first->server.certificate));
  std::string client = fingerprint_of(read_file(first->client.certificate));

  auto second = ensure_dev_pki(dir.path());
  ASSERT_TRUE(second.ok()) << second.error();
  EXPECT_FALSE(second->generated);
  EXPECT_EQ(fingerprint_of(read_file(second->ca.certificate)), ca);
  EXPECT_EQ(fingerprint_of(read_file(second->server.certificate)), server);
  EXPECT_EQ(fingerprint_of(read_file(second->client.certificate)), client);
}

TEST(DevPki, RemakesAMissingLeafWithTheExistingCa) {
  TempDir dir;
  auto first = ensure_dev_pki(dir.path());
  ASSERT_TRUE(first.ok()) << first.error();
  std::string ca = fingerprint_of(read_file(first->ca.certificate));
  std::string server = fingerprint_of(read_file(first->server.certificate));
  std::filesystem::remove(first->server.certificate);
  std::filesystem::remove(first->server.private_key);

  auto second = ensure_dev_pki(dir.path());
  ASSERT_TRUE(second.ok()) << second.error();
  EXPECT_TRUE(second->generated);
  EXPECT_EQ(fingerprint_of(read_file(second->ca.certificate)), ca);
  EXPECT_NE(fingerprint_of(read_file(second->server.certificate)), server);
  auto ca_cert = load(second->ca.certificate);
  auto server_cert = load(second->server.certificate);
  EXPECT_EQ(X509_check_issued(ca_cert.get(), server_cert.get()), X509_V_OK);
}

TEST(DevPki, RefusesHalfPairsAndOrphanedLeaves) {
  TempDir dir;
  auto first = ensure_dev_pki(dir.path());
  ASSERT_TRUE(first.ok()) << first.error();
  std::filesystem::remove(first->client.private_key);
  auto half = ensure_dev_pki(dir.path());
  ASSERT_FALSE(half.ok());
  EXPECT_NE(half.error().find("dev-client.pem exists without"), std::string::npos) << half.error();

  std::filesystem::remove(first->client.certificate);
  std::filesystem::remove(first->ca.certificate);
  std::filesystem::remove(first->ca.private_key);
  auto orphan = ensure_dev_pki(dir.path());
  ASSERT_FALSE(orphan.ok());
  EXPECT_NE(orphan.error().find("dev-ca.pem is missing"), std::string::npos) << orphan.error();
}

}  // namespace
}  // namespace ucedge::net::tls
