// The trust store: add, list, remove, and what it refuses.
#include <gtest/gtest.h>

#include "net/tls/trust_store.hpp"
#include "tls_test_support.hpp"

namespace ucedge::net::tls {
namespace {

using testing::TempDir;
using testing::fingerprint_of;
using testing::make_ca;
using testing::make_client;
using testing::write_file;

TEST(TrustStore, AddsListsAndRemoves) {
  TempDir dir;
  TrustStore store(dir.path());
  auto root = make_ca("Internal Private Root");
  auto issuing = make_ca("Internal Private TLS SubCA");
  write_file(dir.path() / "upload" / "root2023.txt", "Bag Attributes\n" + root.certificate_pem);
  write_file(dir.path() / "upload" / "issuing2023.txt", issuing.certificate_pem);

  auto added = store.add("webexclientroot2023", dir.path() / "upload" / "root2023.txt", false);
  ASSERT_TRUE(added.ok()) << added.error();
  EXPECT_EQ(added->subject, "CN=Internal Private Root,O=ucedge tests");
  EXPECT_TRUE(added->self_signed);
  ASSERT_TRUE(store.add("webexclientissuing2023", dir.path() / "upload" / "issuing2023.txt", false).ok());
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "tls" / "trust" / "webexclientroot2023.pem"));

  auto listed = store.list();
  ASSERT_TRUE(listed.ok()) << listed.error();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].alias, "webexclientissuing2023");
  EXPECT_EQ((*listed)[1].alias, "webexclientroot2023");
  EXPECT_EQ((*listed)[1].fingerprint_sha256, fingerprint_of(root.certificate_pem));
  EXPECT_EQ((*listed)[1].fingerprint_sha256.size(), 64u);
  EXPECT_EQ((*listed)[1].not_after.size(), 20u);  // 2025-01-31T12:00:00Z
  EXPECT_TRUE((*listed)[1].problem.empty());

  ASSERT_TRUE(store.remove("webexclientroot2023").ok());
  EXPECT_FALSE(store.contains("webexclientroot2023"));
  EXPECT_EQ(store.list()->size(), 1u);
  auto again = store.remove("webexclientroot2023");
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().find("no trust anchor"), std::string::npos);
}

TEST(TrustStore, ListOfAnEmptyStoreIsEmpty) {
  TempDir dir;
  auto listed = TrustStore(dir.path()).list();
  ASSERT_TRUE(listed.ok()) << listed.error();
  EXPECT_TRUE(listed->empty());
}

TEST(TrustStore, RefusesBadAliases) {
  TempDir dir;
  TrustStore store(dir.path());
  auto ca = make_ca("Root");
  for (const char* alias : {"", "..", ".", "a/b", "../escape", "with space", "ünïcode",
                            "a1234567890123456789012345678901234567890123456789012345678901234"}) {
    auto added = store.add_pem(alias, ca.certificate_pem, false);
    EXPECT_FALSE(added.ok()) << alias;
  }
  EXPECT_TRUE(store.add_pem("a.b_c-D9", ca.certificate_pem, false).ok());
  EXPECT_TRUE(valid_trust_alias(std::string(64, 'x')));
  EXPECT_FALSE(valid_trust_alias(std::string(65, 'x')));
}

TEST(TrustStore, RefusesLeafCertificatesAndGarbage) {
  TempDir dir;
  TrustStore store(dir.path());
  auto ca = make_ca("Root");
  auto leaf = make_client(ca, {{"CN", "bwcticlient.webex.com"}});
  auto refused = store.add_pem("leaf", leaf.certificate_pem, false);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().find("not a CA certificate"), std::string::npos) << refused.error();

  EXPECT_FALSE(store.add_pem("garbage", "hello", false).ok());
  EXPECT_FALSE(store.add_pem("key", ca.private_key_pem, false).ok());
  auto missing = store.add("missing", dir.path() / "nope.pem", false);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("no such file"), std::string::npos);
  EXPECT_TRUE(store.list()->empty());
}

TEST(TrustStore, RefusesAChainInOneFile) {
  TempDir dir;
  auto root = make_ca("Root");
  auto issuing = make_ca("Issuing");
  auto refused = TrustStore(dir.path()).add_pem("combined", root.certificate_pem + issuing.certificate_pem, false);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().find("holds 2 certificates"), std::string::npos) << refused.error();
}

TEST(TrustStore, ReplacesOnlyWhenAsked) {
  TempDir dir;
  TrustStore store(dir.path());
  auto first = make_ca("First");
  auto second = make_ca("Second");
  ASSERT_TRUE(store.add_pem("anchor", first.certificate_pem, false).ok());
  auto refused = store.add_pem("anchor", second.certificate_pem, false);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().find("exists already"), std::string::npos);
  EXPECT_EQ(store.list()->front().fingerprint_sha256, fingerprint_of(first.certificate_pem));

  ASSERT_TRUE(store.add_pem("anchor", second.certificate_pem, true).ok());
  EXPECT_EQ(store.list()->front().fingerprint_sha256, fingerprint_of(second.certificate_pem));
  // No temporary file is left behind.
  int files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(store.folder())) ++files;
  EXPECT_EQ(files, 1);
}

TEST(TrustStore, ListsABrokenFileWithItsProblem) {
  TempDir dir;
  TrustStore store(dir.path());
  write_file(store.file_of("broken"), "not a certificate");
  auto listed = store.list();
  ASSERT_TRUE(listed.ok()) << listed.error();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().alias, "broken");
  EXPECT_FALSE(listed->front().problem.empty());
}

}  // namespace
}  // namespace ucedge::net::tls
