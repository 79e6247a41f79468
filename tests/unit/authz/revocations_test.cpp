// Revocations on both store backends: what a revoked family, token id or
// user covers, another node learning of it on reload, and the purge of rows
// no access token can need any more.
#include "authz/tokens/revocations.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include "backend_fixture.hpp"
#include "core/clock.hpp"

namespace ucedge::authz {
namespace {

using store::testing::BackendTest;
using namespace std::chrono_literals;

constexpr std::chrono::seconds kHorizon{3630};  // access-token lifetime + tolerance

std::int64_t unix_now(const core::Clock& clock) {
  return std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count();
}

AccessClaims claims(std::string user, std::string client, std::int64_t issued_at, std::string family = "",
                    std::string jti = "jti-1") {
  AccessClaims c;
  c.subject = std::move(user);
  c.client_id = std::move(client);
  c.family_id = std::move(family);
  c.token_id = std::move(jti);
  c.token_type = "user";
  c.issued_at = issued_at;
  c.expires_at = issued_at + 3600;
  return c;
}

class RevocationsTest : public BackendTest {
 protected:
  std::int64_t now() const { return unix_now(clock_); }

  std::int64_t rows() {
    auto r = store_->query("SELECT COUNT(*) FROM authz_revocations");
    EXPECT_TRUE(r);
    return r ? *r->front().get<std::int64_t>(0) : -1;
  }

  core::ManualClock clock_;
};

TEST_P(RevocationsTest, FamilyAndTokenIdCoverTheirAccessTokens) {
  Revocations revocations(*store_, kHorizon, clock_);
  const std::int64_t issued = now();
  clock_.advance(60s);
  ASSERT_STORE_OK(revocations.revoke_family(*store_, "family-a"));
  ASSERT_STORE_OK(revocations.revoke_token(*store_, "jti-revoked"));

  // Memory changes on reload, after the rows are committed.
  EXPECT_FALSE(revocations.revoked(claims("alice", "app", issued, "family-a")));
  ASSERT_STORE_OK(revocations.reload());

  EXPECT_TRUE(revocations.revoked(claims("alice", "app", issued, "family-a")));
  // A family is revoked for good, whenever its tokens were issued.
  EXPECT_TRUE(revocations.revoked(claims("alice", "app", now() + 5, "family-a")));
  EXPECT_FALSE(revocations.revoked(claims("alice", "app", issued, "family-b")));
  EXPECT_FALSE(revocations.revoked(claims("alice", "app", issued, "")));
  EXPECT_TRUE(revocations.revoked(claims("bob", "svc", issued, "", "jti-revoked")));
  EXPECT_FALSE(revocations.revoked(claims("bob", "svc", issued, "", "jti-other")));

  auto stored = store_->query("SELECT family_id, token_id, userid, clientid, revoked_at, expires_at "
                              "FROM authz_revocations ORDER BY id");
  ASSERT_STORE_OK(stored);
  ASSERT_EQ(stored->size(), 2u);
  EXPECT_EQ(*(*stored)[0].get<std::string>("family_id"), "family-a");
  EXPECT_FALSE(*(*stored)[0].get_optional<std::string>("token_id"));
  EXPECT_EQ(*(*stored)[0].get<std::int64_t>("revoked_at"), now());
  EXPECT_EQ(*(*stored)[0].get<std::int64_t>("expires_at"), now() + kHorizon.count());
  EXPECT_EQ(*(*stored)[1].get<std::string>("token_id"), "jti-revoked");
}

TEST_P(RevocationsTest, UserRevocationCoversTokensIssuedUntilThen) {
  Revocations revocations(*store_, kHorizon, clock_);
  const std::int64_t before = now();
  clock_.advance(30s);
  const std::int64_t revoked_at = now();
  ASSERT_STORE_OK(revocations.revoke_user(*store_, "alice", std::nullopt));
  ASSERT_STORE_OK(revocations.revoke_user(*store_, "bob", std::string_view("softphone")));
  ASSERT_STORE_OK(revocations.reload());

  EXPECT_TRUE(revocations.revoked(claims("alice", "softphone", before)));
  EXPECT_TRUE(revocations.revoked(claims("alice", "desktop", before)));
  EXPECT_TRUE(revocations.revoked(claims("alice", "desktop", revoked_at)));  // same second: before it
  EXPECT_FALSE(revocations.revoked(claims("alice", "desktop", revoked_at + 1)));  // signed in again
  EXPECT_TRUE(revocations.revoked(claims("bob", "softphone", before)));
  EXPECT_FALSE(revocations.revoked(claims("bob", "desktop", before)));  // another device of bob
  EXPECT_FALSE(revocations.revoked(claims("bob", "softphone", revoked_at + 1)));
  EXPECT_FALSE(revocations.revoked(claims("carol", "softphone", before)));

  // A client_credentials token whose subject happens to be a revoked user id.
  AccessClaims service = claims("alice", "alice", before);
  service.token_type = "client";
  EXPECT_FALSE(revocations.revoked(service));

  auto stored = store_->query("SELECT userid, clientid FROM authz_revocations ORDER BY id");
  ASSERT_STORE_OK(stored);
  ASSERT_EQ(stored->size(), 2u);
  EXPECT_FALSE(*(*stored)[0].get_optional<std::string>("clientid"));  // NULL: every client
  EXPECT_EQ(*(*stored)[1].get<std::string>("clientid"), "softphone");
}

TEST_P(RevocationsTest, RowsRecordedInARolledBackTransactionDoNotCount) {
  Revocations revocations(*store_, kHorizon, clock_);
  auto failed = store_->transaction([&](store::Transaction& txn) -> core::Result<void, store::StoreError> {
    if (auto r = revocations.revoke_family(txn, "family-a"); !r) return r;
    return core::fail(store::StoreError{store::StoreError::Kind::not_found, "changed my mind"});
  });
  EXPECT_FALSE(failed);
  ASSERT_STORE_OK(revocations.reload());
  EXPECT_FALSE(revocations.revoked(claims("alice", "app", now(), "family-a")));
  EXPECT_EQ(rows(), 0);

  ASSERT_STORE_OK(store_->transaction([&](store::Transaction& txn) {
    return revocations.revoke_family(txn, "family-a");
  }));
  ASSERT_STORE_OK(revocations.reload());
  EXPECT_TRUE(revocations.revoked(claims("alice", "app", now(), "family-a")));
}

// Another node (another Store on the same database) learns of a revocation
// when it reloads, and each reload picks up only what is new.
TEST_P(RevocationsTest, AnotherNodeSeesRevocationsOnReload) {
  auto other_store = reopen();
  ASSERT_STORE_OK(other_store);
  Revocations here(*store_, kHorizon, clock_);
  Revocations there(**other_store, kHorizon, clock_);
  ASSERT_STORE_OK(there.reload());
  const std::int64_t issued = now();

  ASSERT_STORE_OK(here.revoke_family(*store_, "family-a"));
  EXPECT_FALSE(there.revoked(claims("alice", "app", issued, "family-a")));
  ASSERT_STORE_OK(there.reload());
  EXPECT_TRUE(there.revoked(claims("alice", "app", issued, "family-a")));

  clock_.advance(10s);
  ASSERT_STORE_OK(here.revoke_user(*store_, "bob", std::nullopt));
  ASSERT_STORE_OK(here.revoke_token(*store_, "jti-9"));
  ASSERT_STORE_OK(there.reload());
  ASSERT_STORE_OK(there.reload());  // twice: nothing changes
  EXPECT_TRUE(there.revoked(claims("alice", "app", issued, "family-a")));
  EXPECT_TRUE(there.revoked(claims("bob", "app", issued)));
  EXPECT_TRUE(there.revoked(claims("carol", "app", issued, "", "jti-9")));
  EXPECT_FALSE(there.revoked(claims("carol", "app", issued, "", "jti-8")));
}

// On PostgreSQL a row can commit after a row with a higher id was already
// read; reload() still finds it.
TEST_P(RevocationsTest, ReloadFindsARowThatCommittedLateWithALowerId) {
  Revocations revocations(*store_, kHorizon, clock_);
  const std::int64_t t = now();
  ASSERT_STORE_OK(store_->exec(
      "INSERT INTO authz_revocations (id, family_id, revoked_at, expires_at) VALUES (100, 'family-late-b', ?, ?)",
      {t, t + kHorizon.count()}));
  ASSERT_STORE_OK(revocations.reload());
  ASSERT_STORE_OK(store_->exec(
      "INSERT INTO authz_revocations (id, family_id, revoked_at, expires_at) VALUES (50, 'family-late-a', ?, ?)",
      {t, t + kHorizon.count()}));
  ASSERT_STORE_OK(revocations.reload());
  EXPECT_TRUE(revocations.revoked(claims("alice", "app", t, "family-late-a")));
  EXPECT_TRUE(revocations.revoked(claims("alice", "app", t, "family-late-b")));
}

TEST_P(RevocationsTest, PurgeExpiredDeletesOldRowsInBatches) {
  Revocations revocations(*store_, kHorizon, clock_);
  for (int i = 0; i < 5; ++i) ASSERT_STORE_OK(revocations.revoke_family(*store_, "old-" + std::to_string(i)));
  ASSERT_STORE_OK(revocations.revoke_user(*store_, "alice", std::nullopt));
  ASSERT_STORE_OK(revocations.reload());
  const std::int64_t old_issued = now() - 10;
  EXPECT_TRUE(revocations.revoked(claims("alice", "app", old_issued, "old-3")));

  clock_.advance(kHorizon - 60s);
  ASSERT_STORE_OK(revocations.revoke_family(*store_, "fresh"));
  ASSERT_STORE_OK(revocations.reload());

  auto early = revocations.purge_expired(2);  // nothing is past expires_at yet
  ASSERT_STORE_OK(early);
  EXPECT_EQ(*early, 0);
  EXPECT_EQ(rows(), 7);

  clock_.advance(61s);
  auto purged = revocations.purge_expired(2);
  ASSERT_STORE_OK(purged);
  EXPECT_EQ(*purged, 6);
  EXPECT_EQ(rows(), 1);
  // Memory forgets them too; the tokens they covered have all expired.
  EXPECT_FALSE(revocations.revoked(claims("alice", "app", old_issued, "old-3")));
  EXPECT_FALSE(revocations.revoked(claims("alice", "app", old_issued)));
  EXPECT_TRUE(revocations.revoked(claims("bob", "app", now(), "fresh")));

  // Ids keep counting after the purge; a later revocation is seen.
  ASSERT_STORE_OK(revocations.revoke_family(*store_, "later"));
  ASSERT_STORE_OK(revocations.reload());
  EXPECT_TRUE(revocations.revoked(claims("bob", "app", now(), "later")));
}

INSTANTIATE_TEST_SUITE_P(Backends, RevocationsTest,
                         ::testing::Values(store::Backend::sqlite, store::Backend::postgres),
                         store::testing::backend_label);

}  // namespace
}  // namespace ucedge::authz
