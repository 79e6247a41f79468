#include "authz/jose/key_ring.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <tuple>

#include "core/log.hpp"
#include "core/random_token.hpp"

namespace ucedge::authz {

namespace {

constexpr std::string_view kIssuerKey = "authz_issuer_id";

std::int64_t unix_now(const core::Clock& clock) {
  return std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count();
}

std::optional<KeyUse> parse_use(std::string_view text) {
  if (text == "signing") return KeyUse::signing;
  if (text == "encryption") return KeyUse::encryption;
  return std::nullopt;
}

std::string store_message(std::string_view what, const store::StoreError& error) {
  return std::string(what) + ": " + error.to_string();
}

// One row of authz_keys as read.
struct Row {
  std::string kid;
  KeyUse use = KeyUse::signing;
  std::string material;
  std::int64_t created_at = 0;
  std::int64_t active_at = 0;
  std::optional<std::int64_t> retired_at;
};

core::Result<std::vector<Row>> read_rows(store::Store& store) {
  auto rows = store.query(
      "SELECT kid, key_use, material, created_at, active_at, retired_at FROM authz_keys ORDER BY kid");
  if (!rows) return core::fail(store_message("cannot read the authz keys", rows.error()));
  std::vector<Row> out;
  out.reserve(rows->size());
  for (const store::Row& row : *rows) {
    auto kid = row.get<std::string>(0);
    auto use = row.get<std::string>(1);
    auto material = row.get<std::string>(2);
    auto created = row.get<std::int64_t>(3);
    auto active = row.get<std::int64_t>(4);
    auto retired = row.get_optional<std::int64_t>(5);
    if (!kid || !use || !material || !created || !active || !retired) {
      return core::fail(std::string("a row of authz_keys has a column of the wrong type"));
    }
    auto parsed = parse_use(*use);
    if (!parsed) return core::fail("the authz key " + *kid + " has the unknown use \"" + *use + "\"");
    out.push_back(Row{std::move(kid).value(), *parsed, std::move(material).value(), *created, *active, *retired});
  }
  return out;
}

}  // namespace

std::string_view to_string(KeyUse use) { return use == KeyUse::signing ? "signing" : "encryption"; }

struct KeyRing::StoredKey {
  KeyInfo info;
  std::shared_ptr<const SigningKey> signing;        // for KeyUse::signing
  std::shared_ptr<const EncryptionKey> encryption;  // for KeyUse::encryption
};

KeyRing::KeyRing(store::Store& store, const core::SecretBox& secrets, KeyRingSettings settings,
                 const core::Clock& clock)
    : store_(store), secrets_(secrets), settings_(settings), clock_(clock) {}

core::Result<void> KeyRing::open() {
  // Two nodes starting together on one database both insert; the first write
  // wins and both read that one back.
  auto inserted = store_.exec("INSERT INTO node_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                              {std::string(kIssuerKey), core::random_uuid()});
  if (!inserted) return core::fail(store_message("cannot store the authz issuer id", inserted.error()));
  auto rows = store_.query("SELECT value FROM node_meta WHERE key = ?", {std::string(kIssuerKey)});
  if (!rows) return core::fail(store_message("cannot read the authz issuer id", rows.error()));
  if (rows->empty()) return core::fail(std::string("the authz issuer id vanished from node_meta"));
  auto issuer = rows->front().get<std::string>(0);
  if (!issuer || issuer->empty()) return core::fail(std::string("the authz issuer id in node_meta is empty"));
  issuer_id_ = std::move(issuer).value();

  std::lock_guard lock(mutex_);
  auto existing = read_rows(store_);
  if (!existing) return core::fail(existing.error());
  for (KeyUse use : {KeyUse::signing, KeyUse::encryption}) {
    bool present = std::any_of(existing->begin(), existing->end(), [&](const Row& row) { return row.use == use; });
    if (present) continue;
    // A first key works at once: there is no cached key set to wait for.
    // Should another node create one at the same moment, reload() keeps the
    // later one and retires the other, so both agree.
    const std::int64_t now = unix_now(clock_);
    std::string kid, material;
    if (use == KeyUse::signing) {
      auto key = SigningKey::generate(issuer_id_);
      if (!key) return core::fail("cannot create the signing key: " + key.error());
      kid = key->kid();
      material = secrets_.seal(key->private_pem());
    } else {
      EncryptionKey key = EncryptionKey::generate(issuer_id_);
      kid = key.kid();
      material = secrets_.seal(key.raw());
    }
    auto insert = store_.exec(
        "INSERT INTO authz_keys (kid, key_use, material, created_at, active_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (kid) DO NOTHING",
        {kid, std::string(to_string(use)), std::move(material), now, now});
    if (!insert) return core::fail(store_message("cannot store the new authz key", insert.error()));
    core::logger("authz")->info("created the first {} key, hash {}", to_string(use),
                                kid.substr(issuer_id_.size() + 1));
  }
  return load_locked();
}

core::Result<void> KeyRing::reload() {
  std::lock_guard lock(mutex_);
  return load_locked();
}

core::Result<void> KeyRing::load_locked() {
  auto rows = read_rows(store_);
  if (!rows) return core::fail(rows.error());
  const std::int64_t now = unix_now(clock_);
  const std::int64_t window = (settings_.access_token_lifetime + settings_.clock_tolerance).count();

  std::vector<std::shared_ptr<StoredKey>> loaded;
  std::vector<std::string> expired;
  for (Row& row : *rows) {
    if (row.retired_at && *row.retired_at + window <= now) {
      expired.push_back(row.kid);
      continue;
    }
    // Keys already loaded are reused: reload() runs every second and must not
    // unseal and parse every key each time.
    std::shared_ptr<StoredKey> known;
    for (const auto& key : stored_) {
      if (key->info.kid == row.kid && key->info.use == row.use) known = key;
    }
    auto key = std::make_shared<StoredKey>();
    if (known) {
      key->signing = known->signing;
      key->encryption = known->encryption;
      key->info.hash = known->info.hash;
    } else {
      auto secret = secrets_.unseal(row.material);
      if (!secret) {
        return core::fail("cannot unseal the authz key " + row.kid +
                          " (is the master key the one the other nodes use?): " + secret.error());
      }
      if (row.use == KeyUse::signing) {
        auto signing = SigningKey::from_pem(issuer_id_, *secret);
        if (!signing) return core::fail("the authz key " + row.kid + " cannot be read: " + signing.error());
        key->info.hash = signing->hash();
        key->signing = std::make_shared<const SigningKey>(std::move(signing).value());
      } else {
        auto encryption = EncryptionKey::from_bytes(issuer_id_, *secret);
        if (!encryption) return core::fail("the authz key " + row.kid + " cannot be read: " + encryption.error());
        key->info.hash = encryption->hash();
        key->encryption = std::make_shared<const EncryptionKey>(std::move(encryption).value());
      }
      const std::string& kid = key->signing ? key->signing->kid() : key->encryption->kid();
      if (kid != row.kid) {
        return core::fail("the authz key " + row.kid + " holds the key " + kid +
                          " (another issuer id, or an altered row)");
      }
    }
    key->info.kid = row.kid;
    key->info.use = row.use;
    key->info.created_at = row.created_at;
    key->info.active_at = row.active_at;
    key->info.retired_at = row.retired_at;
    loaded.push_back(std::move(key));
  }

  // Which key works now, derived from the table and the clock alone so that
  // every node picks the same one: the latest active_at that has come and not
  // been retired, ties broken by kid.
  auto later = [](const StoredKey* a, const StoredKey* b) {
    return std::tie(a->info.active_at, a->info.kid) > std::tie(b->info.active_at, b->info.kid);
  };
  std::vector<std::pair<std::string, std::int64_t>> to_retire;
  auto newset = std::make_shared<KeySet>();
  for (KeyUse use : {KeyUse::signing, KeyUse::encryption}) {
    StoredKey* current = nullptr;
    StoredKey* any_active = nullptr;
    StoredKey* earliest_next = nullptr;
    for (const auto& key : loaded) {
      if (key->info.use != use) continue;
      StoredKey* k = key.get();
      if (k->info.active_at <= now) {
        if (!k->info.retired_at || *k->info.retired_at > now) {
          if (current == nullptr || later(k, current)) current = k;
        }
        if (any_active == nullptr || later(k, any_active)) any_active = k;
      } else if (earliest_next == nullptr || later(earliest_next, k)) {
        earliest_next = k;
      }
    }
    // Fallbacks for odd tables (every active key retired, or a first key whose
    // active_at is a few seconds ahead of this node's clock): still one choice
    // every node makes alike.
    if (current == nullptr) current = any_active != nullptr ? any_active : earliest_next;
    if (current == nullptr) return core::fail("the store holds no authz " + std::string(to_string(use)) + " key");

    for (const auto& key : loaded) {
      if (key->info.use != use) continue;
      KeyInfo& info = key->info;
      if (key.get() == current) {
        info.state = "current";
      } else if (info.active_at > now) {
        info.state = "next";
      } else {
        info.state = "previous";
        // A key superseded without being retired (two nodes created one at
        // once): it is retired as of the current key's start.
        if (!info.retired_at) {
          info.retired_at = std::max(current->info.active_at, info.active_at);
          to_retire.emplace_back(info.kid, *info.retired_at);
        }
      }
    }
    if (use == KeyUse::signing) {
      newset->signing = current->signing;
      newset->verifying.push_back(current->signing);
      for (const auto& key : loaded) {
        if (key->info.use == use && key.get() != current) newset->verifying.push_back(key->signing);
      }
    } else {
      newset->encryption = current->encryption;
      newset->decrypting.push_back(current->encryption);
      for (const auto& key : loaded) {
        if (key->info.use == use && key.get() != current) newset->decrypting.push_back(key->encryption);
      }
    }
  }

  // Writes only when there is something to change, so the reload every
  // second stays a read. Another node doing the same write is harmless.
  auto log = core::logger("authz");
  for (const auto& [kid, at] : to_retire) {
    auto r = store_.exec("UPDATE authz_keys SET retired_at = ? WHERE kid = ? AND retired_at IS NULL", {at, kid});
    if (!r) log->warn("cannot mark the authz key {} retired: {}", kid, r.error().to_string());
  }
  const std::int64_t cutoff = now - window;
  for (const auto& kid : expired) {
    auto r = store_.exec("DELETE FROM authz_keys WHERE kid = ? AND retired_at IS NOT NULL AND retired_at <= ?",
                         {kid, cutoff});
    if (!r) {
      log->warn("cannot delete the expired authz key {}: {}", kid, r.error().to_string());
    } else if (*r > 0) {
      log->info("deleted the authz key {}: its tokens have all expired", kid);
    }
  }

  // Signing keys first, each use newest first: the order describe() and jwks() show.
  std::sort(loaded.begin(), loaded.end(), [](const auto& a, const auto& b) {
    return std::tie(a->info.use, b->info.active_at, a->info.kid) < std::tie(b->info.use, a->info.active_at, b->info.kid);
  });
  stored_ = std::move(loaded);
  auto old = std::atomic_load(&keys_);
  const bool same = old && old->signing == newset->signing && old->encryption == newset->encryption &&
                    old->verifying == newset->verifying && old->decrypting == newset->decrypting;
  if (!same) std::atomic_store(&keys_, std::shared_ptr<const KeySet>(std::move(newset)));
  return {};
}

core::Result<KeyInfo> KeyRing::regenerate(KeyUse use) {
  if (issuer_id_.empty()) return core::fail(std::string("the key ring is not open"));
  // The slow part (an RSA key takes a while) runs before the lock is taken.
  std::string kid, hash, material;
  if (use == KeyUse::signing) {
    auto key = SigningKey::generate(issuer_id_);
    if (!key) return core::fail("cannot create a signing key: " + key.error());
    kid = key->kid();
    hash = key->hash();
    material = secrets_.seal(key->private_pem());
  } else {
    EncryptionKey key = EncryptionKey::generate(issuer_id_);
    kid = key.kid();
    hash = key.hash();
    material = secrets_.seal(key.raw());
  }

  std::lock_guard lock(mutex_);
  const std::int64_t now = unix_now(clock_);
  // A signing key is published first and signs only once every cached key set
  // has expired; an encryption key is never published, so it works at once.
  const std::int64_t active_at = use == KeyUse::signing ? now + settings_.publish_ahead.count() : now;
  auto written = store_.transaction([&](store::Transaction& txn) -> core::Result<void, store::StoreError> {
    auto retire = txn.exec("UPDATE authz_keys SET retired_at = ? WHERE key_use = ? AND retired_at IS NULL",
                           {active_at, std::string(to_string(use))});
    if (!retire) return core::fail(retire.error());
    auto insert = txn.exec(
        "INSERT INTO authz_keys (kid, key_use, material, created_at, active_at) VALUES (?, ?, ?, ?, ?)",
        {kid, std::string(to_string(use)), material, now, active_at});
    if (!insert) return core::fail(insert.error());
    return {};
  });
  if (!written) return core::fail(store_message("cannot store the new authz key", written.error()));
  core::logger("authz")->info("new {} key, hash {}, in use from {}", to_string(use), hash, active_at);

  auto loaded = load_locked();
  if (!loaded) return core::fail(loaded.error());
  for (const auto& key : stored_) {
    if (key->info.kid == kid) return key->info;
  }
  return core::fail(std::string("the new authz key vanished from the store"));
}

std::vector<KeyInfo> KeyRing::describe() const {
  std::lock_guard lock(mutex_);
  std::vector<KeyInfo> out;
  out.reserve(stored_.size());
  for (const auto& key : stored_) out.push_back(key->info);
  return out;
}

nlohmann::json KeyRing::jwks() const {
  auto keys = nlohmann::json::array();
  std::vector<std::shared_ptr<const SigningKey>> signing;
  {
    std::lock_guard lock(mutex_);
    for (const auto& key : stored_) {
      if (key->signing) signing.push_back(key->signing);
    }
  }
  for (const auto& key : signing) keys.push_back(key->public_jwk());
  return nlohmann::json{{"keys", std::move(keys)}};
}

nlohmann::json KeyRing::export_for_resource_servers() const {
  nlohmann::json out = jwks();
  std::lock_guard lock(mutex_);
  for (const auto& key : stored_) {
    if (key->encryption) out["keys"].push_back(key->encryption->private_jwk());
  }
  return out;
}

}  // namespace ucedge::authz
