// Refresh tokens on both store backends: issuing, rotation, the grace answer
// for concurrent refreshes, reuse detection, expiry, revocation by user and
// client, listing, and real threads racing on one token.
#include "authz/tokens/refresh_tokens.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <atomic>
#include <latch>
#include <mutex>
#include <set>
#include <thread>

#include "authz/tokens/revocations.hpp"
#include "backend_fixture.hpp"
#include "core/clock.hpp"

namespace ucedge::authz {
namespace {

using store::testing::BackendTest;
using namespace std::chrono_literals;
using Outcome = Exchange::Outcome;

constexpr std::int64_t kDay = 86400;

std::int64_t unix_now(const core::Clock& clock) {
  return std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count();
}

// What an access token minted for `record` at `issued_at` carries.
AccessClaims access_for(const RefreshRecord& record, std::int64_t issued_at) {
  AccessClaims claims;
  claims.subject = record.userid;
  claims.client_id = record.clientid;
  claims.family_id = record.family_id;
  claims.token_id = "jti-" + record.index;
  claims.token_type = "user";
  claims.issued_at = issued_at;
  claims.expires_at = issued_at + 3600;
  return claims;
}

class RefreshTokens : public BackendTest {
 protected:
  std::int64_t now() const { return unix_now(clock_); }

  void SetUp() override {
    BackendTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    revocations_ = std::make_unique<Revocations>(*store_, 3630s, clock_);
    tokens_ = std::make_unique<RefreshTokenStore>(*store_, RotationSettings{}, revocations_.get(), clock_);
  }
  void TearDown() override {
    tokens_.reset();
    revocations_.reset();
    BackendTest::TearDown();
  }

  RefreshRecord issue(RefreshTokenStore& tokens, const std::string& user = "alice",
                      const std::string& client = "softphone") {
    auto issued = tokens.issue(user, client, "openid sip", now() + 60 * kDay);
    EXPECT_TRUE(issued) << (issued ? "" : issued.error().to_string());
    return issued ? *issued : RefreshRecord{};
  }
  RefreshRecord issue(const std::string& user = "alice", const std::string& client = "softphone") {
    return issue(*tokens_, user, client);
  }

  RefreshRecord stored(const std::string& index) {
    auto found = tokens_->find(index);
    EXPECT_TRUE(found) << (found ? "" : found.error().to_string());
    EXPECT_TRUE(found && found->has_value()) << "no row for " << index;
    return found && found->has_value() ? **found : RefreshRecord{};
  }

  Exchange exchange(RefreshTokenStore& tokens, const std::string& index, const std::string& client = "softphone") {
    auto done = tokens.exchange(index, client);
    EXPECT_TRUE(done) << (done ? "" : done.error().to_string());
    return done ? *done : Exchange{};
  }
  Exchange exchange(const std::string& index, const std::string& client = "softphone") {
    return exchange(*tokens_, index, client);
  }

  std::int64_t count(const RefreshFilter& filter) {
    auto n = tokens_->count(filter);
    EXPECT_TRUE(n) << (n ? "" : n.error().to_string());
    return n ? *n : -1;
  }
  std::int64_t count_family(const std::string& family, std::optional<RefreshState> state = std::nullopt) {
    auto rows = tokens_->list(RefreshFilter{.limit = 1000});
    EXPECT_TRUE(rows);
    if (!rows) return -1;
    std::int64_t n = 0;
    for (const auto& r : *rows) n += r.family_id == family && (!state || r.state == *state) ? 1 : 0;
    return n;
  }

  core::ManualClock clock_;
  std::unique_ptr<Revocations> revocations_;
  std::unique_ptr<RefreshTokenStore> tokens_;
};

TEST_P(RefreshTokens, IssueStartsAFamilyOfOne) {
  const RefreshRecord token = issue();
  EXPECT_EQ(token.index.size(), 36u);
  EXPECT_EQ(token.pkid.size(), 36u);
  EXPECT_NE(token.index, token.pkid);
  EXPECT_EQ(token.index[14], '7');  // version 7 UUID: time-ordered, so purges delete neighbouring rows
  EXPECT_EQ(token.family_id, token.index);
  const RefreshRecord later = (clock_.advance(std::chrono::milliseconds(2)), issue());
  EXPECT_LT(token.pkid, later.pkid);
  EXPECT_LT(token.index, later.index);

  const RefreshRecord row = stored(token.index);
  EXPECT_EQ(row.pkid, token.pkid);
  EXPECT_EQ(row.userid, "alice");
  EXPECT_EQ(row.clientid, "softphone");
  EXPECT_EQ(row.scope, "openid sip");
  EXPECT_EQ(row.validity, now() + 60 * kDay);
  EXPECT_EQ(row.issued_at, now());
  EXPECT_EQ(row.state, RefreshState::active);
  EXPECT_FALSE(row.rotated_at);
  EXPECT_FALSE(row.child_index);
  EXPECT_EQ(row.grace_uses, 0);

  EXPECT_NE(issue().index, token.index);
  auto missing = tokens_->find("00000000-0000-4000-8000-000000000000");
  ASSERT_STORE_OK(missing);
  EXPECT_FALSE(missing->has_value());
}

TEST_P(RefreshTokens, ExchangeRotatesToAChildOfTheSameFamily) {
  const RefreshRecord parent = issue();
  clock_.advance(3600s);
  const Exchange done = exchange(parent.index);
  ASSERT_EQ(done.outcome, Outcome::rotated) << to_string(done.outcome);
  const RefreshRecord& child = done.token;
  EXPECT_NE(child.index, parent.index);
  EXPECT_NE(child.pkid, parent.pkid);
  EXPECT_EQ(child.family_id, parent.family_id);
  EXPECT_EQ(child.validity, parent.validity);  // absolute expiry from the sign-in
  EXPECT_EQ(child.scope, parent.scope);
  EXPECT_EQ(child.userid, "alice");
  EXPECT_EQ(child.clientid, "softphone");
  EXPECT_EQ(child.issued_at, now());
  EXPECT_EQ(child.state, RefreshState::active);

  const RefreshRecord old = stored(parent.index);
  EXPECT_EQ(old.state, RefreshState::rotated);
  EXPECT_EQ(old.child_index, child.index);
  EXPECT_EQ(old.rotated_at, now());
  EXPECT_EQ(stored(child.index).state, RefreshState::active);
  EXPECT_EQ(count_family(parent.family_id), 2);
}

TEST_P(RefreshTokens, RepeatWithinGraceWindowGetsTheSameChild) {
  const RefreshRecord parent = issue();
  const Exchange first = exchange(parent.index);
  ASSERT_EQ(first.outcome, Outcome::rotated);

  clock_.advance(3s);
  const Exchange again = exchange(parent.index);
  ASSERT_EQ(again.outcome, Outcome::grace_repeat) << to_string(again.outcome);
  EXPECT_EQ(again.token.index, first.token.index);
  EXPECT_EQ(again.token.pkid, first.token.pkid);
  EXPECT_EQ(again.token.validity, first.token.validity);
  EXPECT_EQ(stored(parent.index).grace_uses, 1);

  clock_.advance(7s);  // exactly grace_period after the rotation: still inside
  const Exchange third = exchange(parent.index);
  ASSERT_EQ(third.outcome, Outcome::grace_repeat) << to_string(third.outcome);
  EXPECT_EQ(third.token.index, first.token.index);
  EXPECT_EQ(stored(parent.index).grace_uses, 2);

  // The grace answer created nothing and revoked nothing.
  EXPECT_EQ(count_family(parent.family_id), 2);
  EXPECT_EQ(stored(first.token.index).state, RefreshState::active);
  EXPECT_FALSE(revocations_->revoked(access_for(parent, now())));
}

TEST_P(RefreshTokens, TooManyRepeatsRevokeTheWholeFamily) {
  RefreshTokenStore tokens(*store_, RotationSettings{.rotate = true, .grace_period = 10s, .grace_reuses = 2},
                           revocations_.get(), clock_);
  const RefreshRecord parent = issue(tokens);
  const RefreshRecord other_family = issue(tokens);
  const std::int64_t access_issued = now();
  const Exchange first = exchange(tokens, parent.index);
  ASSERT_EQ(first.outcome, Outcome::rotated);
  const Exchange grandchild = exchange(tokens, first.token.index);
  ASSERT_EQ(grandchild.outcome, Outcome::rotated);
  EXPECT_EQ(exchange(tokens, first.token.index).outcome, Outcome::grace_repeat);
  EXPECT_EQ(exchange(tokens, first.token.index).outcome, Outcome::grace_repeat);

  const Exchange reuse = exchange(tokens, first.token.index);
  EXPECT_EQ(reuse.outcome, Outcome::reuse_detected) << to_string(reuse.outcome);
  EXPECT_TRUE(reuse.token.index.empty());

  EXPECT_EQ(count_family(parent.family_id), 3);
  EXPECT_EQ(count_family(parent.family_id, RefreshState::revoked), 3);
  EXPECT_EQ(stored(other_family.index).state, RefreshState::active);
  // The newest token of the family is refused now too, and so are the
  // family's access tokens, at once on this node.
  EXPECT_EQ(exchange(tokens, grandchild.token.index).outcome, Outcome::revoked);
  EXPECT_EQ(exchange(tokens, parent.index).outcome, Outcome::revoked);
  EXPECT_TRUE(revocations_->revoked(access_for(grandchild.token, now())));
  EXPECT_TRUE(revocations_->revoked(access_for(parent, access_issued)));
  EXPECT_FALSE(revocations_->revoked(access_for(other_family, access_issued)));
}

TEST_P(RefreshTokens, RepeatAfterGracePeriodIsReuse) {
  const RefreshRecord parent = issue();
  const Exchange first = exchange(parent.index);
  ASSERT_EQ(first.outcome, Outcome::rotated);
  clock_.advance(11s);
  EXPECT_EQ(exchange(parent.index).outcome, Outcome::reuse_detected);
  EXPECT_EQ(stored(first.token.index).state, RefreshState::revoked);
  EXPECT_EQ(stored(parent.index).state, RefreshState::revoked);
  EXPECT_EQ(exchange(first.token.index).outcome, Outcome::revoked);
  EXPECT_TRUE(revocations_->revoked(access_for(first.token, now())));
}

TEST_P(RefreshTokens, ChildStillWorksAfterItsParentsGraceAnswer) {
  const RefreshRecord parent = issue();
  const Exchange first = exchange(parent.index);
  ASSERT_EQ(first.outcome, Outcome::rotated);
  ASSERT_EQ(exchange(parent.index).outcome, Outcome::grace_repeat);

  clock_.advance(2s);
  const Exchange next = exchange(first.token.index);
  ASSERT_EQ(next.outcome, Outcome::rotated) << to_string(next.outcome);
  EXPECT_NE(next.token.index, first.token.index);
  EXPECT_EQ(next.token.family_id, parent.family_id);

  // The child has moved on: the parent again, even inside its window, is reuse.
  const Exchange late = exchange(parent.index);
  EXPECT_EQ(late.outcome, Outcome::reuse_detected) << to_string(late.outcome);
  EXPECT_EQ(stored(next.token.index).state, RefreshState::revoked);
}

TEST_P(RefreshTokens, GraceCanBeTurnedOff) {
  RefreshTokenStore tokens(*store_, RotationSettings{.rotate = true, .grace_period = 0s, .grace_reuses = 5},
                           revocations_.get(), clock_);
  const RefreshRecord parent = issue(tokens);
  ASSERT_EQ(exchange(tokens, parent.index).outcome, Outcome::rotated);
  EXPECT_EQ(exchange(tokens, parent.index).outcome, Outcome::reuse_detected);

  RefreshTokenStore no_repeats(*store_, RotationSettings{.rotate = true, .grace_period = 10s, .grace_reuses = 0},
                               revocations_.get(), clock_);
  const RefreshRecord second = issue(no_repeats);
  ASSERT_EQ(exchange(no_repeats, second.index).outcome, Outcome::rotated);
  EXPECT_EQ(exchange(no_repeats, second.index).outcome, Outcome::reuse_detected);
}

TEST_P(RefreshTokens, RotationOffHandsBackTheSameToken) {
  RefreshTokenStore tokens(*store_, RotationSettings{.rotate = false}, revocations_.get(), clock_);
  const RefreshRecord token = issue(tokens);
  for (int i = 0; i < 3; ++i) {
    clock_.advance(1h);
    const Exchange done = exchange(tokens, token.index);
    ASSERT_EQ(done.outcome, Outcome::unchanged) << to_string(done.outcome);
    EXPECT_EQ(done.token.index, token.index);
    EXPECT_EQ(done.token.pkid, token.pkid);
    EXPECT_EQ(done.token.validity, token.validity);
  }
  EXPECT_EQ(stored(token.index).state, RefreshState::active);
  EXPECT_EQ(count(RefreshFilter{}), 1);
}

// Digests: a token signed ahead is only exchanged for the exact text issued,
// and the comparison comes before anything changes.
TEST_P(RefreshTokens, AKeptDigestMustMatchBeforeAnythingChanges) {
  const std::int64_t validity = now() + 60 * kDay;
  auto issued = tokens_->issue("alice", "softphone", "openid", validity, MintedToken{"idx-1", validity, "digest-1"});
  ASSERT_TRUE(issued) << issued.error().to_string();
  EXPECT_EQ(issued->index, "idx-1");
  EXPECT_EQ(stored("idx-1").token_digest, "digest-1");

  auto forged = tokens_->exchange("idx-1", "softphone", Presented{"digest-X", false});
  ASSERT_TRUE(forged);
  EXPECT_EQ(forged->outcome, Outcome::unknown);
  EXPECT_EQ(stored("idx-1").state, RefreshState::active);

  auto child = MintedToken{"idx-2", validity, "digest-2"};
  auto real = tokens_->exchange("idx-1", "softphone", Presented{"digest-1", false}, child);
  ASSERT_TRUE(real);
  ASSERT_EQ(real->outcome, Outcome::rotated) << to_string(real->outcome);
  EXPECT_EQ(real->token.index, "idx-2");
  EXPECT_EQ(stored("idx-2").token_digest, "digest-2");

  // The rotated parent with the wrong text: refused, and no reuse detection
  // that would revoke the family.
  clock_.advance(1h);
  auto replayed = tokens_->exchange("idx-1", "softphone", Presented{"digest-X", false});
  ASSERT_TRUE(replayed);
  EXPECT_EQ(replayed->outcome, Outcome::unknown);
  EXPECT_EQ(stored("idx-2").state, RefreshState::active);
  // With the right text it is reuse, as before.
  auto reused = tokens_->exchange("idx-1", "softphone", Presented{"digest-1", false});
  ASSERT_TRUE(reused);
  EXPECT_EQ(reused->outcome, Outcome::reuse_detected);
  EXPECT_EQ(stored("idx-2").state, RefreshState::revoked);
}

TEST_P(RefreshTokens, ARowWithoutDigestNeedsTheSignatureChecked) {
  const RefreshRecord token = issue();
  EXPECT_FALSE(token.token_digest);
  auto unchecked = tokens_->exchange(token.index, "softphone", Presented{"digest-1", false});
  ASSERT_TRUE(unchecked);
  EXPECT_EQ(unchecked->outcome, Outcome::unverified);
  EXPECT_EQ(stored(token.index).state, RefreshState::active);
  auto checked = tokens_->exchange(token.index, "softphone", Presented{"digest-1", true});
  ASSERT_TRUE(checked);
  EXPECT_EQ(checked->outcome, Outcome::rotated) << to_string(checked->outcome);
}

TEST_P(RefreshTokens, AChildSignedWithAnotherValidityIsNotUsed) {
  const RefreshRecord token = issue();
  auto done = tokens_->exchange(token.index, "softphone", {}, MintedToken{"idx-9", token.validity + 1, "digest-9"});
  ASSERT_TRUE(done);
  ASSERT_EQ(done->outcome, Outcome::rotated);
  EXPECT_NE(done->token.index, "idx-9");
  EXPECT_FALSE(done->token.token_digest);
  EXPECT_EQ(done->token.validity, token.validity);
}

TEST_P(RefreshTokens, RotationOffKeepsTheDigestOfAnOlderTokenOnceChecked) {
  RefreshTokenStore tokens(*store_, RotationSettings{.rotate = false}, revocations_.get(), clock_);
  const RefreshRecord token = issue(tokens);
  auto first = tokens.exchange(token.index, "softphone", Presented{"digest-1", true});
  ASSERT_TRUE(first);
  EXPECT_EQ(first->outcome, Outcome::unchanged);
  EXPECT_EQ(stored(token.index).token_digest, "digest-1");
  auto next = tokens.exchange(token.index, "softphone", Presented{"digest-1", false});
  ASSERT_TRUE(next);
  EXPECT_EQ(next->outcome, Outcome::unchanged);
}

TEST_P(RefreshTokens, ExpiredTokenIsRefusedAndLeftAlone) {
  auto issued = tokens_->issue("alice", "softphone", "", now() + 100);
  ASSERT_STORE_OK(issued);
  clock_.advance(100s);
  EXPECT_EQ(exchange(issued->index).outcome, Outcome::rotated);  // validity == now is still valid

  auto second = tokens_->issue("alice", "softphone", "", now() + 100);
  ASSERT_STORE_OK(second);
  clock_.advance(101s);
  const Exchange done = exchange(second->index);
  EXPECT_EQ(done.outcome, Outcome::expired) << to_string(done.outcome);
  EXPECT_EQ(stored(second->index).state, RefreshState::active);
  EXPECT_EQ(count_family(second->family_id), 1);
}

TEST_P(RefreshTokens, AnotherClientOrAnUnknownIndexIsRefused) {
  const RefreshRecord token = issue();
  const Exchange stolen = exchange(token.index, "other-app");
  EXPECT_EQ(stolen.outcome, Outcome::wrong_client) << to_string(stolen.outcome);
  EXPECT_TRUE(stolen.token.index.empty());
  EXPECT_EQ(stored(token.index).state, RefreshState::active);
  EXPECT_EQ(exchange(token.index).outcome, Outcome::rotated);

  EXPECT_EQ(exchange("00000000-0000-4000-8000-000000000000").outcome, Outcome::unknown);
  EXPECT_EQ(exchange("").outcome, Outcome::unknown);
}

TEST_P(RefreshTokens, RevokeFamilyRefusesEveryTokenOfIt) {
  const RefreshRecord parent = issue();
  const Exchange first = exchange(parent.index);
  ASSERT_EQ(first.outcome, Outcome::rotated);
  auto revoked = tokens_->revoke_family(parent.family_id);
  ASSERT_STORE_OK(revoked);
  EXPECT_EQ(*revoked, 2);
  EXPECT_EQ(exchange(first.token.index).outcome, Outcome::revoked);
  EXPECT_EQ(exchange(parent.index).outcome, Outcome::revoked);  // not a grace answer any more
  EXPECT_TRUE(revocations_->revoked(access_for(first.token, now())));
  auto again = tokens_->revoke_family(parent.family_id);
  ASSERT_STORE_OK(again);
  EXPECT_EQ(*again, 0);
}

TEST_P(RefreshTokens, RevokeUserChangesOnlyTheRightRows) {
  const RefreshRecord alice_phone = issue("alice", "softphone");
  const RefreshRecord alice_phone2 = issue("alice", "softphone");
  const RefreshRecord alice_desk = issue("alice", "desktop");
  const RefreshRecord bob_phone = issue("bob", "softphone");
  const std::int64_t access_issued = now();
  clock_.advance(5s);

  auto on_phone = tokens_->revoke_user("alice", std::string_view("softphone"));
  ASSERT_STORE_OK(on_phone);
  EXPECT_EQ(*on_phone, 2);
  EXPECT_EQ(stored(alice_phone.index).state, RefreshState::revoked);
  EXPECT_EQ(stored(alice_phone2.index).state, RefreshState::revoked);
  EXPECT_EQ(stored(alice_desk.index).state, RefreshState::active);
  EXPECT_EQ(stored(bob_phone.index).state, RefreshState::active);
  EXPECT_TRUE(revocations_->revoked(access_for(alice_phone, access_issued)));
  EXPECT_FALSE(revocations_->revoked(access_for(alice_desk, access_issued)));
  EXPECT_FALSE(revocations_->revoked(access_for(bob_phone, access_issued)));

  auto everywhere = tokens_->revoke_user("alice", std::nullopt);
  ASSERT_STORE_OK(everywhere);
  EXPECT_EQ(*everywhere, 1);  // the desktop one; the phone ones were revoked already
  EXPECT_EQ(stored(alice_desk.index).state, RefreshState::revoked);
  EXPECT_EQ(stored(bob_phone.index).state, RefreshState::active);
  EXPECT_TRUE(revocations_->revoked(access_for(alice_desk, access_issued)));
  EXPECT_FALSE(revocations_->revoked(access_for(bob_phone, access_issued)));
  EXPECT_EQ(exchange(bob_phone.index).outcome, Outcome::rotated);

  // Signing in again afterwards works.
  clock_.advance(5s);
  const RefreshRecord fresh = issue("alice", "softphone");
  EXPECT_EQ(exchange(fresh.index).outcome, Outcome::rotated);
  EXPECT_FALSE(revocations_->revoked(access_for(fresh, now())));

  auto nobody = tokens_->revoke_user("carol", std::nullopt);
  ASSERT_STORE_OK(nobody);
  EXPECT_EQ(*nobody, 0);
}

TEST_P(RefreshTokens, ListAndCountFilter) {
  const RefreshRecord a1 = issue("alice", "softphone");
  clock_.advance(1s);
  const RefreshRecord a2 = issue("alice", "desktop");
  clock_.advance(1s);
  const RefreshRecord b1 = issue("bob", "softphone");
  clock_.advance(1s);
  ASSERT_EQ(exchange(a1.index).outcome, Outcome::rotated);  // a1 rotated, a child active

  EXPECT_EQ(count({}), 4);
  EXPECT_EQ(count({.userid = "alice"}), 3);
  EXPECT_EQ(count({.clientid = "softphone"}), 3);
  EXPECT_EQ(count({.userid = "alice", .clientid = "softphone"}), 2);
  EXPECT_EQ(count({.state = RefreshState::active}), 3);
  EXPECT_EQ(count({.state = RefreshState::rotated}), 1);
  EXPECT_EQ(count({.userid = "alice", .state = RefreshState::revoked}), 0);
  EXPECT_EQ(count({.userid = "nobody"}), 0);

  auto all = tokens_->list({});
  ASSERT_STORE_OK(all);
  ASSERT_EQ(all->size(), 4u);
  EXPECT_EQ((*all)[0].index, a1.index);  // oldest first
  EXPECT_EQ((*all)[0].state, RefreshState::rotated);
  EXPECT_EQ((*all)[1].index, a2.index);
  EXPECT_EQ((*all)[2].index, b1.index);
  EXPECT_EQ((*all)[3].family_id, a1.family_id);

  auto bob = tokens_->list({.userid = "bob"});
  ASSERT_STORE_OK(bob);
  ASSERT_EQ(bob->size(), 1u);
  EXPECT_EQ((*bob)[0].pkid, b1.pkid);
  EXPECT_EQ((*bob)[0].validity, b1.validity);

  auto page = tokens_->list({.limit = 2, .offset = 1});
  ASSERT_STORE_OK(page);
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].index, a2.index);
  EXPECT_EQ((*page)[1].index, b1.index);

  auto rotated = tokens_->list({.userid = "alice", .clientid = "softphone", .state = RefreshState::rotated});
  ASSERT_STORE_OK(rotated);
  ASSERT_EQ(rotated->size(), 1u);
  EXPECT_EQ((*rotated)[0].index, a1.index);
  EXPECT_TRUE((*rotated)[0].child_index.has_value());
}

// Eight threads on two Store objects (two nodes sharing the database)
// refresh one token at the same moment: exactly one rotates it, every other
// one gets the grace answer with the same child, and the family lives on.
TEST_P(RefreshTokens, ConcurrentRefreshesOfOneTokenAgree) {
  constexpr int kThreads = 8;
  auto second_node = reopen();
  ASSERT_STORE_OK(second_node);
  Revocations other_revocations(**second_node, 3630s, clock_);
  const RotationSettings settings{.rotate = true, .grace_period = 10s, .grace_reuses = kThreads};
  RefreshTokenStore node_a(*store_, settings, revocations_.get(), clock_);
  RefreshTokenStore node_b(**second_node, settings, &other_revocations, clock_);

  for (int round = 0; round < 3; ++round) {
    const RefreshRecord token = issue(node_a);
    std::vector<core::Result<Exchange, store::StoreError>> results(
        kThreads, core::fail(store::StoreError{store::StoreError::Kind::internal, "not run"}));
    std::latch start(kThreads);
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        start.arrive_and_wait();
        results[i] = (i % 2 == 0 ? node_a : node_b).exchange(token.index, "softphone");
      });
    }
    for (auto& t : threads) t.join();

    int rotated = 0, repeated = 0;
    std::set<std::string> children;
    for (const auto& r : results) {
      ASSERT_STORE_OK(r);
      if (r->outcome == Outcome::rotated) ++rotated;
      if (r->outcome == Outcome::grace_repeat) ++repeated;
      children.insert(r->token.index);
    }
    EXPECT_EQ(rotated, 1) << "round " << round;
    EXPECT_EQ(repeated, kThreads - 1) << "round " << round;
    ASSERT_EQ(children.size(), 1u) << "every caller must hold the same child";
    const std::string child = *children.begin();
    EXPECT_EQ(stored(token.index).child_index, child);
    EXPECT_EQ(stored(token.index).grace_uses, kThreads - 1);
    EXPECT_EQ(count_family(token.family_id), 2);

    const Exchange next = exchange(node_b, child);
    EXPECT_EQ(next.outcome, Outcome::rotated) << to_string(next.outcome);
    EXPECT_EQ(count_family(token.family_id, RefreshState::revoked), 0);
  }
}

// An administrator revokes a user while the user's devices refresh: every
// call succeeds (on PostgreSQL the two may lock rows in opposite orders; the
// loser of such a deadlock is run again), and once the revocation is through
// nothing of the user's is active.
TEST_P(RefreshTokens, RevokeUserWhileItsFamiliesRefresh) {
  constexpr int kDevices = 4;
  constexpr int kRefreshes = 15;
  std::vector<std::string> newest;
  for (int i = 0; i < kDevices; ++i) newest.push_back(issue("alice", "device-" + std::to_string(i)).index);

  std::atomic<int> errors{0};
  std::string first_error;
  std::mutex error_mutex;
  auto record = [&](const store::StoreError& e) {
    ++errors;
    std::lock_guard lock(error_mutex);
    if (first_error.empty()) first_error = e.to_string();
  };
  std::latch start(kDevices + 1);
  std::vector<std::thread> threads;
  for (int i = 0; i < kDevices; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      for (int n = 0; n < kRefreshes; ++n) {
        auto done = tokens_->exchange(newest[i], "device-" + std::to_string(i));
        if (!done) {
          record(done.error());
        } else if (done->outcome == Outcome::rotated) {
          newest[i] = done->token.index;
        } else {
          break;  // revoked
        }
      }
    });
  }
  threads.emplace_back([&] {
    start.arrive_and_wait();
    for (int n = 0; n < 5; ++n) {
      if (auto r = tokens_->revoke_user("alice", std::nullopt); !r) record(r.error());
    }
  });
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0) << first_error;

  auto last = tokens_->revoke_user("alice", std::nullopt);
  ASSERT_STORE_OK(last);
  EXPECT_EQ(count({.userid = "alice", .state = RefreshState::active}), 0);
  for (int i = 0; i < kDevices; ++i) {
    EXPECT_EQ(exchange(newest[i], "device-" + std::to_string(i)).outcome, Outcome::revoked);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, RefreshTokens,
                         ::testing::Values(store::Backend::sqlite, store::Backend::postgres),
                         store::testing::backend_label);

TEST(RefreshTokenNames, AsStored) {
  EXPECT_EQ(to_string(RefreshState::active), "active");
  EXPECT_EQ(to_string(RefreshState::rotated), "rotated");
  EXPECT_EQ(to_string(RefreshState::revoked), "revoked");
  EXPECT_EQ(to_string(Outcome::grace_repeat), "grace_repeat");
  EXPECT_EQ(to_string(Outcome::reuse_detected), "reuse_detected");
  EXPECT_EQ(to_string(Outcome::wrong_client), "wrong_client");
}

}  // namespace
}  // namespace ucedge::authz
