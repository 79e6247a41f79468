// The key ring on both store backends: the issuer id and first keys, several
// nodes on one database, the rotation schedule of signing keys (published
// ahead, kept after) and encryption keys (at once, kept after), sealed
// material, and what operators are shown.
#include "authz/jose/key_ring.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <thread>

#include "backend_fixture.hpp"
#include "core/clock.hpp"
#include "core/random_token.hpp"

namespace ucedge::authz {
namespace {

using store::testing::BackendTest;
using namespace std::chrono_literals;

core::SecretBox box_with(std::uint8_t seed) {
  core::SecretBox::Key key{};
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(i * 7 + seed);
  return core::SecretBox(key);
}

std::int64_t unix_now(const core::Clock& clock) {
  return std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count();
}

std::set<std::string> jwks_kids(const nlohmann::json& jwks) {
  std::set<std::string> kids;
  for (const auto& key : jwks.at("keys")) kids.insert(key.at("kid").get<std::string>());
  return kids;
}

template <class Key>
std::set<std::string> kids_of(const std::vector<std::shared_ptr<const Key>>& keys) {
  std::set<std::string> kids;
  for (const auto& key : keys) kids.insert(key->kid());
  return kids;
}

std::optional<KeyInfo> find_info(const std::vector<KeyInfo>& infos, const std::string& kid) {
  for (const auto& info : infos) {
    if (info.kid == kid) return info;
  }
  return std::nullopt;
}

class KeyRingTest : public BackendTest {
 protected:
  std::unique_ptr<KeyRing> open_ring() {
    auto ring = std::make_unique<KeyRing>(*store_, box_, settings_, clock_);
    auto opened = ring->open();
    EXPECT_TRUE(opened) << opened.error();
    return ring;
  }

  std::int64_t rows(std::string_view where = "") {
    auto result = store_->query("SELECT COUNT(*) FROM authz_keys " + std::string(where));
    EXPECT_TRUE(result) << result.error().to_string();
    return result ? *result->front().get<std::int64_t>(0) : -1;
  }

  AccessClaims access_claims(const KeyRing& ring) {
    AccessClaims claims;
    claims.issuer = ring.issuer_id();
    claims.subject = "alice";
    claims.client_id = "softphone";
    claims.token_id = core::random_uuid();
    claims.token_type = "user";
    claims.issued_at = unix_now(clock_);
    claims.expires_at = claims.issued_at + settings_.access_token_lifetime.count();
    return claims;
  }

  RefreshClaims refresh_claims(const KeyRing& ring) {
    RefreshClaims claims;
    claims.issuer = ring.issuer_id();
    claims.token_id = core::random_uuid();
    claims.client_id = "softphone";
    claims.expires_at = unix_now(clock_) + 60 * 86400;
    return claims;
  }

  void advance_and_reload(std::chrono::seconds by, std::initializer_list<KeyRing*> rings) {
    clock_.advance(by);
    for (KeyRing* ring : rings) {
      auto reloaded = ring->reload();
      ASSERT_TRUE(reloaded) << reloaded.error();
    }
  }

  core::SecretBox box_ = box_with(3);
  core::ManualClock clock_;
  KeyRingSettings settings_{std::chrono::seconds(3600), std::chrono::seconds(300), std::chrono::seconds(30)};
};

TEST_P(KeyRingTest, FirstOpenCreatesTheIssuerIdAndOneKeyOfEachUse) {
  auto ring = open_ring();
  EXPECT_TRUE(std::regex_match(ring->issuer_id(),
                               std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
      << ring->issuer_id();
  auto meta = store_->query("SELECT value FROM node_meta WHERE key = 'authz_issuer_id'");
  ASSERT_STORE_OK(meta);
  ASSERT_EQ(meta->size(), 1u);
  EXPECT_EQ(*meta->front().get<std::string>(0), ring->issuer_id());

  auto keys = ring->keys();
  ASSERT_TRUE(keys && keys->signing && keys->encryption);
  EXPECT_EQ(keys->signing->kid(), ring->issuer_id() + ":" + keys->signing->hash());
  EXPECT_EQ(keys->encryption->kid(), ring->issuer_id() + ":" + keys->encryption->hash());
  EXPECT_NE(keys->signing->hash(), keys->encryption->hash());
  EXPECT_EQ(kids_of(keys->verifying), std::set<std::string>{keys->signing->kid()});
  EXPECT_EQ(kids_of(keys->decrypting), std::set<std::string>{keys->encryption->kid()});
  EXPECT_EQ(rows("WHERE key_use = 'signing'"), 1);
  EXPECT_EQ(rows("WHERE key_use = 'encryption'"), 1);

  // Both work at once: there was no key set anyone could have cached.
  auto token = mint_access_token(*keys, access_claims(*ring));
  ASSERT_TRUE(token) << token.error();
  EXPECT_TRUE(read_access_token(*keys, *token));
  auto infos = ring->describe();
  ASSERT_EQ(infos.size(), 2u);
  for (const auto& info : infos) {
    EXPECT_EQ(info.state, "current");
    EXPECT_EQ(info.created_at, unix_now(clock_));
    EXPECT_EQ(info.active_at, unix_now(clock_));
    EXPECT_FALSE(info.retired_at);
  }
  EXPECT_EQ(nlohmann::json(jwks_kids(ring->jwks())), nlohmann::json({keys->signing->kid()}));
}

TEST_P(KeyRingTest, AnotherNodeOnTheSameStoreLoadsTheSameKeys) {
  auto first = open_ring();
  auto second = open_ring();
  EXPECT_EQ(second->issuer_id(), first->issuer_id());
  EXPECT_EQ(second->keys()->signing->kid(), first->keys()->signing->kid());
  EXPECT_EQ(second->keys()->encryption->kid(), first->keys()->encryption->kid());
  EXPECT_EQ(rows(), 2);

  // A token one node minted, the other reads; refresh tokens are the same bytes.
  auto token = mint_access_token(*first->keys(), access_claims(*first));
  ASSERT_TRUE(token);
  EXPECT_TRUE(read_access_token(*second->keys(), *token));
  RefreshClaims refresh = refresh_claims(*first);
  EXPECT_EQ(*mint_refresh_token(*first->keys(), refresh), *mint_refresh_token(*second->keys(), refresh));
}

TEST_P(KeyRingTest, NodesStartingTogetherAgree) {
  KeyRing a(*store_, box_, settings_, clock_);
  KeyRing b(*store_, box_, settings_, clock_);
  core::Result<void> opened_a, opened_b;
  std::thread ta([&] { opened_a = a.open(); });
  std::thread tb([&] { opened_b = b.open(); });
  ta.join();
  tb.join();
  ASSERT_TRUE(opened_a) << opened_a.error();
  ASSERT_TRUE(opened_b) << opened_b.error();
  EXPECT_EQ(a.issuer_id(), b.issuer_id());
  ASSERT_TRUE(a.reload());
  ASSERT_TRUE(b.reload());
  EXPECT_EQ(a.keys()->signing->kid(), b.keys()->signing->kid());
  EXPECT_EQ(a.keys()->encryption->kid(), b.keys()->encryption->kid());
  // Whatever one signed during the race, the other still accepts.
  EXPECT_EQ(kids_of(a.keys()->verifying), kids_of(b.keys()->verifying));
  EXPECT_EQ(kids_of(a.keys()->decrypting), kids_of(b.keys()->decrypting));
}

TEST_P(KeyRingTest, EqualStartsAreBrokenByKidAndTheLoserIsRetired) {
  // As after two nodes created an encryption key in the same second.
  auto ring = open_ring();
  EncryptionKey extra = EncryptionKey::generate(ring->issuer_id());
  const std::int64_t now = unix_now(clock_);
  ASSERT_STORE_OK(store_->exec(
      "INSERT INTO authz_keys (kid, key_use, material, created_at, active_at) VALUES (?, 'encryption', ?, ?, ?)",
      {extra.kid(), box_.seal(extra.raw()), now, now}));
  const std::string original = ring->keys()->encryption->kid();
  const std::string winner = std::max(original, extra.kid());
  const std::string loser = std::min(original, extra.kid());

  auto other = open_ring();
  ASSERT_TRUE(ring->reload());
  EXPECT_EQ(ring->keys()->encryption->kid(), winner);
  EXPECT_EQ(other->keys()->encryption->kid(), winner);
  EXPECT_EQ(kids_of(ring->keys()->decrypting), (std::set<std::string>{original, extra.kid()}));
  // The loser is written down as retired, so its window closes like any other.
  auto retired = store_->query("SELECT retired_at FROM authz_keys WHERE kid = ?", {loser});
  ASSERT_STORE_OK(retired);
  EXPECT_EQ(*retired->front().get<std::int64_t>(0), now);
  EXPECT_EQ(find_info(ring->describe(), loser)->state, "previous");
  advance_and_reload(settings_.access_token_lifetime + settings_.clock_tolerance, {ring.get()});
  EXPECT_EQ(kids_of(ring->keys()->decrypting), std::set<std::string>{winner});
}

TEST_P(KeyRingTest, NewSigningKeyIsPublishedAheadAndTheOldOneKeptAfter) {
  auto ring = open_ring();
  auto other_node = open_ring();
  const std::string old_kid = ring->keys()->signing->kid();
  const std::int64_t start = unix_now(clock_);
  auto before = mint_access_token(*ring->keys(), access_claims(*ring));
  auto refresh_before = mint_refresh_token(*ring->keys(), refresh_claims(*ring));
  ASSERT_TRUE(before && refresh_before);

  auto info = ring->regenerate(KeyUse::signing);
  ASSERT_TRUE(info) << info.error();
  const std::string new_kid = info->kid;
  EXPECT_NE(new_kid, old_kid);
  EXPECT_EQ(info->use, KeyUse::signing);
  EXPECT_EQ(info->state, "next");
  EXPECT_EQ(info->created_at, start);
  EXPECT_EQ(info->active_at, start + 300);
  // Published at once, used for signing only after publish_ahead.
  EXPECT_EQ(jwks_kids(ring->jwks()), (std::set<std::string>{old_kid, new_kid}));
  EXPECT_EQ(ring->keys()->signing->kid(), old_kid);
  EXPECT_EQ(kids_of(ring->keys()->verifying), (std::set<std::string>{old_kid, new_kid}));
  auto old_info = find_info(ring->describe(), old_kid);
  ASSERT_TRUE(old_info);
  EXPECT_EQ(old_info->state, "current");
  EXPECT_EQ(old_info->retired_at, start + 300);
  // The other node sees the same once it reloads.
  EXPECT_EQ(jwks_kids(other_node->jwks()), std::set<std::string>{old_kid});
  ASSERT_TRUE(other_node->reload());
  EXPECT_EQ(jwks_kids(other_node->jwks()), (std::set<std::string>{old_kid, new_kid}));
  EXPECT_EQ(other_node->keys()->signing->kid(), old_kid);

  advance_and_reload(299s, {ring.get(), other_node.get()});
  EXPECT_EQ(ring->keys()->signing->kid(), old_kid);
  EXPECT_EQ(other_node->keys()->signing->kid(), old_kid);
  advance_and_reload(1s, {ring.get(), other_node.get()});
  EXPECT_EQ(ring->keys()->signing->kid(), new_kid);
  EXPECT_EQ(other_node->keys()->signing->kid(), new_kid);
  EXPECT_EQ(find_info(ring->describe(), old_kid)->state, "previous");
  EXPECT_EQ(find_info(ring->describe(), new_kid)->state, "current");

  // The old key stays published and accepted for one access-token lifetime
  // plus the clock tolerance after the switch.
  auto after = mint_access_token(*ring->keys(), access_claims(*ring));
  ASSERT_TRUE(after);
  advance_and_reload(3600s + 29s, {ring.get(), other_node.get()});
  EXPECT_EQ(jwks_kids(ring->jwks()), (std::set<std::string>{old_kid, new_kid}));
  EXPECT_TRUE(read_access_token(*ring->keys(), *before));
  EXPECT_TRUE(read_access_token(*other_node->keys(), *before));
  EXPECT_TRUE(read_refresh_token(*ring->keys(), *refresh_before));
  advance_and_reload(1s, {ring.get(), other_node.get()});
  EXPECT_EQ(jwks_kids(ring->jwks()), std::set<std::string>{new_kid});
  EXPECT_EQ(jwks_kids(other_node->jwks()), std::set<std::string>{new_kid});
  EXPECT_EQ(kids_of(ring->keys()->verifying), std::set<std::string>{new_kid});
  EXPECT_FALSE(find_info(ring->describe(), old_kid));
  EXPECT_EQ(rows("WHERE key_use = 'signing'"), 1) << "reload() deletes keys past their window";
  EXPECT_EQ(read_access_token(*ring->keys(), *before).error(), TokenError::unknown_key);
  EXPECT_EQ(read_refresh_token(*ring->keys(), *refresh_before).error(), TokenError::unknown_key);
  EXPECT_TRUE(read_access_token(*ring->keys(), *after));
}

TEST_P(KeyRingTest, NewEncryptionKeyWorksAtOnceAndTheOldOneDecryptsForALifetime) {
  auto ring = open_ring();
  const std::string old_kid = ring->keys()->encryption->kid();
  const std::string signing_kid = ring->keys()->signing->kid();
  auto before = mint_access_token(*ring->keys(), access_claims(*ring));
  ASSERT_TRUE(before);

  auto info = ring->regenerate(KeyUse::encryption);
  ASSERT_TRUE(info) << info.error();
  EXPECT_EQ(info->state, "current");
  EXPECT_EQ(info->active_at, unix_now(clock_));
  EXPECT_EQ(ring->keys()->encryption->kid(), info->kid);
  EXPECT_EQ(ring->keys()->signing->kid(), signing_kid) << "the signing key is untouched";
  EXPECT_EQ(kids_of(ring->keys()->decrypting), (std::set<std::string>{old_kid, info->kid}));
  EXPECT_EQ(find_info(ring->describe(), old_kid)->state, "previous");
  // Encryption keys are never published.
  EXPECT_EQ(jwks_kids(ring->jwks()), std::set<std::string>{signing_kid});

  auto after = mint_access_token(*ring->keys(), access_claims(*ring));
  ASSERT_TRUE(after);
  advance_and_reload(3600s + 29s, {ring.get()});
  EXPECT_TRUE(read_access_token(*ring->keys(), *before));
  advance_and_reload(1s, {ring.get()});
  EXPECT_EQ(kids_of(ring->keys()->decrypting), std::set<std::string>{info->kid});
  EXPECT_EQ(read_access_token(*ring->keys(), *before).error(), TokenError::unknown_key);
  EXPECT_TRUE(read_access_token(*ring->keys(), *after));
  EXPECT_EQ(rows(), 2);
}

TEST_P(KeyRingTest, RegeneratingTwiceBeforeTheFirstSwitch) {
  auto ring = open_ring();
  const std::string first = ring->keys()->signing->kid();
  auto second = ring->regenerate(KeyUse::signing);
  ASSERT_TRUE(second);
  advance_and_reload(100s, {ring.get()});
  auto third = ring->regenerate(KeyUse::signing);
  ASSERT_TRUE(third);
  EXPECT_EQ(jwks_kids(ring->jwks()), (std::set<std::string>{first, second->kid, third->kid}));
  advance_and_reload(200s, {ring.get()});
  EXPECT_EQ(ring->keys()->signing->kid(), second->kid);
  advance_and_reload(100s, {ring.get()});
  EXPECT_EQ(ring->keys()->signing->kid(), third->kid);
  advance_and_reload(3630s, {ring.get()});
  EXPECT_EQ(jwks_kids(ring->jwks()), std::set<std::string>{third->kid});
}

TEST_P(KeyRingTest, PrivateMaterialIsSealedWithTheMasterKey) {
  auto ring = open_ring();
  auto keys = ring->keys();
  auto stored = store_->query("SELECT kid, key_use, material FROM authz_keys");
  ASSERT_STORE_OK(stored);
  ASSERT_EQ(stored->size(), 2u);
  const std::string pem = keys->signing->private_pem();
  std::string pem_body = pem.substr(pem.find('\n') + 1, 64);
  const std::string& raw = keys->encryption->raw();
  for (const auto& row : *stored) {
    std::string material = *row.get<std::string>("material");
    EXPECT_TRUE(material.starts_with("v1:")) << "SecretBox's sealed form";
    EXPECT_EQ(material.find("PRIVATE KEY"), std::string::npos);
    EXPECT_EQ(material.find(pem_body), std::string::npos);
    EXPECT_EQ(material.find(raw), std::string::npos);
    EXPECT_EQ(material.find(core::base64url_encode(raw)), std::string::npos);
    EXPECT_EQ(material.find(keys->encryption->hash()), std::string::npos);
    auto opened = box_.unseal(material);
    ASSERT_TRUE(opened) << opened.error();
    if (*row.get<std::string>("key_use") == "signing") {
      EXPECT_EQ(*opened, pem);
    } else {
      EXPECT_EQ(*opened, raw);
    }
  }

  // A node with another master key cannot use the keys, and says why.
  auto wrong_box = box_with(99);
  KeyRing stranger(*store_, wrong_box, settings_, clock_);
  auto opened = stranger.open();
  ASSERT_FALSE(opened);
  EXPECT_NE(opened.error().find("master key"), std::string::npos) << opened.error();
}

TEST_P(KeyRingTest, OperatorsSeeHashesAndStatesNeverKeys) {
  auto ring = open_ring();
  ASSERT_TRUE(ring->regenerate(KeyUse::signing));
  auto infos = ring->describe();
  ASSERT_EQ(infos.size(), 3u);
  auto keys = ring->keys();
  std::set<std::string> states;
  for (const auto& info : infos) {
    EXPECT_TRUE(std::regex_match(info.hash, std::regex("[0-9a-f]{64}")));
    EXPECT_EQ(info.kid, ring->issuer_id() + ":" + info.hash);
    states.insert(std::string(to_string(info.use)) + "/" + info.state);
  }
  EXPECT_EQ(states, (std::set<std::string>{"signing/current", "signing/next", "encryption/current"}));
  EXPECT_EQ(infos.front().use, KeyUse::signing);
  EXPECT_EQ(infos.back().use, KeyUse::encryption);

  // JWKS: public parts only. The export for resource servers adds the
  // encryption key's secret, and still no private RSA member.
  nlohmann::json jwks = ring->jwks();
  const std::string text = jwks.dump();
  EXPECT_EQ(text.find(core::base64url_encode(keys->encryption->raw())), std::string::npos);
  for (const auto& key : jwks["keys"]) {
    EXPECT_FALSE(key.contains("d"));
    EXPECT_EQ(key["kty"], "RSA");
  }
  nlohmann::json exported = ring->export_for_resource_servers();
  int oct = 0;
  for (const auto& key : exported["keys"]) {
    EXPECT_FALSE(key.contains("d"));
    if (key["kty"] == "oct") {
      ++oct;
      EXPECT_EQ(key["kid"], keys->encryption->kid());
      EXPECT_EQ(key["k"], core::base64url_encode(keys->encryption->raw()));
    }
  }
  EXPECT_EQ(oct, 1);
  EXPECT_EQ(to_string(KeyUse::signing), "signing");
  EXPECT_EQ(to_string(KeyUse::encryption), "encryption");
}

TEST_P(KeyRingTest, ReloadKeepsTheKeySetWhenNothingChanged) {
  auto ring = open_ring();
  auto before = ring->keys();
  ASSERT_TRUE(ring->reload());
  EXPECT_EQ(ring->keys(), before) << "readers holding the set are not disturbed every second";
  EXPECT_EQ(ring->keys()->signing, before->signing) << "keys are not parsed again";
}

TEST_P(KeyRingTest, ReloadRefusesRowsThatDoNotMatchTheirKid) {
  auto ring = open_ring();
  EncryptionKey other = EncryptionKey::generate(ring->issuer_id());
  ASSERT_STORE_OK(store_->exec(
      "INSERT INTO authz_keys (kid, key_use, material, created_at, active_at) VALUES (?, 'encryption', ?, ?, ?)",
      {ring->issuer_id() + ":" + std::string(64, 'a'), box_.seal(other.raw()), unix_now(clock_),
       unix_now(clock_)}));
  auto before = ring->keys();
  auto reloaded = ring->reload();
  ASSERT_FALSE(reloaded);
  EXPECT_EQ(ring->keys(), before) << "a failed reload keeps the keys it had";
}

INSTANTIATE_TEST_SUITE_P(Backends, KeyRingTest,
                         ::testing::Values(store::Backend::sqlite, store::Backend::postgres),
                         store::testing::backend_label);

}  // namespace
}  // namespace ucedge::authz
