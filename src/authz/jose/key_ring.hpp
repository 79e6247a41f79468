#pragma once
// The issuer id and the signing and encryption keys of this authorization
// service, kept in the store (table authz_keys, private parts sealed with the
// master key) so every node of a cluster signs and encrypts alike.
//
// Rotation never breaks a client holding a cached key set (dex#2759,
// hydra#2535):
// - a new signing key is published in JWKS at once but signs only from
//   `created + publish_ahead` (publish_ahead = the JWKS Cache-Control max-age);
//   the key it replaces keeps signing until then, and stays published and
//   accepted until `access_token_lifetime + clock_tolerance` after that;
// - a new encryption key encrypts at once; the one it replaces keeps
//   decrypting for `access_token_lifetime + clock_tolerance`.
// Every node derives the same schedule from the stored times, so nodes need
// not coordinate beyond reading the table. Keys past their window are deleted
// by reload().
//
// The issuer id is a UUID kept in node_meta ("authz_issuer_id").
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "authz/jose/tokens.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/secret_box.hpp"
#include "store/store.hpp"

namespace ucedge::authz {

struct KeyRingSettings {
  std::chrono::seconds access_token_lifetime{3600};
  std::chrono::seconds publish_ahead{300};
  std::chrono::seconds clock_tolerance{30};
};

enum class KeyUse { signing, encryption };
std::string_view to_string(KeyUse use);  // "signing", "encryption"

struct KeyInfo {
  std::string kid;
  KeyUse use = KeyUse::signing;
  std::string hash;                 // sha256 hex: all an operator ever sees of a key
  std::int64_t created_at = 0;      // published (signing) from here, Unix seconds
  std::int64_t active_at = 0;       // signs / encrypts new tokens from here
  std::optional<std::int64_t> retired_at;  // replaced at; accepted until retired_at + lifetime + tolerance
  std::string state;                // "next", "current", "previous"
};

class KeyRing {
 public:
  KeyRing(store::Store& store, const core::SecretBox& secrets, KeyRingSettings settings,
          const core::Clock& clock = core::RealClock::instance());

  // Loads the issuer id and keys, creating them on a store that has none.
  // Safe when several nodes start at once on one database.
  core::Result<void> open();
  // Re-reads the table and recomputes which key signs now; drops keys past
  // their window. Called every second by the service and after each change.
  core::Result<void> reload();

  const std::string& issuer_id() const { return issuer_id_; }
  // The keys as of the last reload(); never null after open(). A snapshot:
  // reload() swaps in a new KeySet and never changes one a reader holds.
  // Its verifying keys are every published signing key, the next one
  // included (a node whose clock runs a little ahead may sign with it).
  std::shared_ptr<const KeySet> keys() const { return std::atomic_load(&keys_); }

  core::Result<KeyInfo> regenerate(KeyUse use);
  std::vector<KeyInfo> describe() const;

  // {"keys":[...]}: every signing key published now (next, current, previous).
  nlohmann::json jwks() const;
  // {"keys":[...]}: the public signing keys and the encryption keys with their
  // secret (kty oct), for a resource server that verifies and decrypts
  // offline. Only the CLI prints it.
  nlohmann::json export_for_resource_servers() const;

 private:
  struct StoredKey;
  core::Result<void> load_locked();

  store::Store& store_;
  const core::SecretBox& secrets_;
  const KeyRingSettings settings_;
  const core::Clock& clock_;

  std::string issuer_id_;
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<StoredKey>> stored_;  // under mutex_
  std::shared_ptr<const KeySet> keys_;              // atomic_load/atomic_store
};

}  // namespace ucedge::authz
