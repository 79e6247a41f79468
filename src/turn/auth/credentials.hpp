#pragma once
// Where TURN keys come from: long-term users kept in the store (the key
// MD5(user:realm:password) sealed at rest, never the password), and the
// shared secrets of the TURN REST API convention (username "expiry:user",
// password base64(HMAC-SHA1(secret, username))), several at once for rotation.
// Both are held in memory and re-read when another process changed them.
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/secret_box.hpp"
#include "store/store.hpp"

namespace ucedge::turn {

using LongTermKey = std::array<std::uint8_t, 16>;

struct TurnUser {
  std::string username;
  std::string realm;
  std::int64_t created_at = 0;  // unix seconds
};

struct SharedSecretInfo {
  std::int64_t id = 0;
  std::int64_t created_at = 0;
  std::string fingerprint;  // first 8 hex digits of a digest, to tell secrets apart
};

struct RestCredentials {
  std::string username;  // "EXPIRY:user"
  std::string password;  // base64(HMAC-SHA1(secret, username))
  std::int64_t expires_at = 0;
  std::int64_t secret_id = 0;
};

class CredentialStore {
 public:
  CredentialStore(store::Store& store, const core::SecretBox& secrets,
                  const core::Clock& clock = core::RealClock::instance());

  // Reads users and secrets from the store into memory.
  core::Result<void> load();
  // Re-reads when the turn generation in node_meta moved (CLI or another
  // node changed something). Cheap when nothing changed; call about once a second.
  core::Result<void> refresh();

  // Adds the user, or gives an existing one a new password.
  core::Result<void> add_user(std::string_view username, std::string_view realm, std::string_view password);
  core::Result<bool> remove_user(std::string_view username, std::string_view realm);
  core::Result<std::vector<TurnUser>> users() const;

  // A secret of at least 16 bytes; the answer's fingerprint tells it apart later.
  core::Result<SharedSecretInfo> add_secret(std::string_view secret);
  core::Result<bool> remove_secret(std::int64_t id);
  core::Result<std::vector<SharedSecretInfo>> secrets() const;

  // TURN REST API credentials for `user` (may be empty: the username is then
  // just the expiry), valid for `ttl` from now, under the secret `secret_id`
  // or, without one, the newest secret. For `ucedge turn credentials` and
  // applications that hand credentials to their clients.
  core::Result<RestCredentials> issue_rest_credentials(std::string_view user, std::chrono::seconds ttl,
                                                       std::optional<std::int64_t> secret_id = {}) const;

  // Hot path, in memory: the long-term key of a user.
  std::optional<LongTermKey> user_key(std::string_view username, std::string_view realm) const;

  enum class RestError { not_rest_username, expired, no_secrets };
  // The candidate keys (one per shared secret) of a REST API username whose
  // expiry (unix seconds, before the first ':') is after `now`.
  core::Result<std::vector<LongTermKey>, RestError> rest_keys(std::string_view username, std::string_view realm,
                                                              std::int64_t now) const;

 private:
  // Lets user_key() look "realm\nuser" up from a stack buffer.
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  core::Result<std::string> stored_generation() const;

  store::Store& store_;
  const core::SecretBox& box_;
  const core::Clock& clock_;
  std::mutex load_mutex_;  // one load() at a time, so an older snapshot never replaces a newer one
  mutable std::shared_mutex mutex_;
  // "realm\nuser" → key
  std::unordered_map<std::string, LongTermKey, KeyHash, std::equal_to<>> user_keys_;
  std::vector<std::string> shared_secrets_;
  std::optional<std::string> generation_;  // node_meta "turn.credentials.generation" when last loaded
};

// Usernames and realms: 1..255 bytes, no control characters. Passwords: not empty.
core::Result<void> validate_user_name(std::string_view username);
core::Result<void> validate_realm(std::string_view realm);

// The TURN REST API password for `username` under `secret`:
// base64(HMAC-SHA1(secret, username)).
std::string rest_api_password(std::string_view secret, std::string_view username);

}  // namespace ucedge::turn
