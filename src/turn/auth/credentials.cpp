#include "turn/auth/credentials.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include <charconv>
#include <cstring>
#include <span>

#include "turn/codec/stun.hpp"

namespace ucedge::turn {

namespace {

constexpr std::string_view kGenerationKey = "turn.credentials.generation";
constexpr std::size_t kMaxNameBytes = 255;
constexpr std::size_t kMinSecretBytes = 16;

bool sodium_ready() {
  static const bool started = sodium_init() >= 0;
  return started;
}

std::int64_t unix_seconds(const core::Clock& clock) {
  return std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count();
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
  std::string hex(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), bytes.data(), bytes.size());
  hex.pop_back();
  return hex;
}

template <std::size_t N>
bool from_hex(std::string_view hex, std::array<std::uint8_t, N>& out) {
  std::size_t written = 0;
  const char* end = nullptr;
  return hex.size() == 2 * N &&
         sodium_hex2bin(out.data(), N, hex.data(), hex.size(), nullptr, &written, &end) == 0 &&
         written == N && end == hex.data() + hex.size();
}

// Every change moves the generation, in the same transaction, so other
// processes sharing the database notice (refresh()).
core::Result<void, store::StoreError> bump_generation(store::Transaction& txn) {
  std::array<std::uint8_t, 12> bytes{};
  randombytes_buf(bytes.data(), bytes.size());
  auto r = txn.exec(
      "INSERT INTO node_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = "
      "excluded.value",
      {std::string(kGenerationKey), to_hex(bytes)});
  if (!r) return core::fail(r.error());
  return {};
}

core::Result<void> validate_name(std::string_view value, const char* what) {
  if (value.empty()) return core::fail(std::string(what) + " is empty");
  if (value.size() > kMaxNameBytes) {
    return core::fail(std::string(what) + " is longer than " + std::to_string(kMaxNameBytes) + " bytes");
  }
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f) return core::fail(std::string(what) + " holds a control character");
  }
  return {};
}

// "realm\nuser": neither may hold a control character, so the key is unambiguous.
std::string user_map_key(std::string_view username, std::string_view realm) {
  std::string key;
  key.reserve(realm.size() + 1 + username.size());
  key.append(realm).append(1, '\n').append(username);
  return key;
}

struct LoadedUser {
  std::string username, realm, sealed_md5;
};

}  // namespace

core::Result<void> validate_user_name(std::string_view username) {
  return validate_name(username, "the username");
}
core::Result<void> validate_realm(std::string_view realm) { return validate_name(realm, "the realm"); }

std::string rest_api_password(std::string_view secret, std::string_view username) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_length = 0;
  HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(username.data()), username.size(), mac, &mac_length);
  // Standard base64 with padding, as the TURN REST API draft and coturn use.
  unsigned char encoded[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
  const int n = EVP_EncodeBlock(encoded, mac, static_cast<int>(mac_length));
  return std::string(reinterpret_cast<const char*>(encoded), static_cast<std::size_t>(n));
}

CredentialStore::CredentialStore(store::Store& store, const core::SecretBox& secrets,
                                 const core::Clock& clock)
    : store_(store), box_(secrets), clock_(clock) {
  sodium_ready();
}

core::Result<std::string> CredentialStore::stored_generation() const {
  auto rows = store_.query("SELECT value FROM node_meta WHERE key = ?", {std::string(kGenerationKey)});
  if (!rows) return core::fail("cannot read the TURN credentials generation: " + rows.error().message);
  if (rows->empty()) return std::string();
  auto v = rows->front().get<std::string>(0);
  if (!v) return core::fail(v.error().message);
  return std::move(v).value();
}

core::Result<void> CredentialStore::load() {
  std::lock_guard load_lock(load_mutex_);
  std::string generation;
  std::vector<LoadedUser> users;
  std::vector<std::string> sealed_secrets;
  // One transaction: the generation and the rows it stands for are read together.
  auto read = store_.transaction([&](store::Transaction& txn) -> core::Result<void, store::StoreError> {
    users.clear();
    sealed_secrets.clear();
    auto g = txn.query("SELECT value FROM node_meta WHERE key = ?", {std::string(kGenerationKey)});
    if (!g) return core::fail(g.error());
    if (!g->empty()) {
      auto v = g->front().get<std::string>(0);
      if (!v) return core::fail(v.error());
      generation = std::move(v).value();
    }
    auto rows = txn.query("SELECT username, realm, key_md5 FROM turn_users");
    if (!rows) return core::fail(rows.error());
    for (const auto& row : *rows) {
      auto username = row.get<std::string>(0);
      auto realm = row.get<std::string>(1);
      auto key = row.get<std::string>(2);
      if (!username) return core::fail(username.error());
      if (!realm) return core::fail(realm.error());
      if (!key) return core::fail(key.error());
      users.push_back({std::move(username).value(), std::move(realm).value(), std::move(key).value()});
    }
    auto secrets = txn.query("SELECT secret FROM turn_secrets ORDER BY id");
    if (!secrets) return core::fail(secrets.error());
    for (const auto& row : *secrets) {
      auto sealed = row.get<std::string>(0);
      if (!sealed) return core::fail(sealed.error());
      sealed_secrets.push_back(std::move(sealed).value());
    }
    return {};
  });
  if (!read) return core::fail("cannot read TURN credentials: " + read.error().message);

  decltype(user_keys_) keys;
  for (const auto& u : users) {
    auto hex = box_.unseal(u.sealed_md5);
    LongTermKey key{};
    if (!hex || !from_hex(*hex, key)) {
      return core::fail("cannot unseal the key of TURN user " + u.username + " (realm " + u.realm +
                        "): is this the master key it was sealed with?");
    }
    sodium_memzero(hex->data(), hex->size());
    keys.emplace(user_map_key(u.username, u.realm), key);
  }
  std::vector<std::string> secrets;
  for (const auto& sealed : sealed_secrets) {
    auto secret = box_.unseal(sealed);
    if (!secret)
      return core::fail("cannot unseal a TURN shared secret: is this the master key it was sealed with?");
    secrets.push_back(std::move(secret).value());
  }

  std::unique_lock lock(mutex_);
  user_keys_ = std::move(keys);
  shared_secrets_ = std::move(secrets);
  generation_ = std::move(generation);
  return {};
}

core::Result<void> CredentialStore::refresh() {
  auto generation = stored_generation();
  if (!generation) return core::fail(generation.error());
  {
    std::shared_lock lock(mutex_);
    if (generation_ && *generation_ == *generation) return {};
  }
  return load();
}

core::Result<void> CredentialStore::add_user(std::string_view username, std::string_view realm,
                                             std::string_view password) {
  if (auto v = validate_user_name(username); !v) return v;
  if (auto v = validate_realm(realm); !v) return v;
  if (password.empty()) return core::fail(std::string("the password is empty"));
  auto md5 = stun::long_term_key_md5(username, realm, password);
  auto sha256 = stun::long_term_key_sha256(username, realm, password);
  const std::string sealed_md5 = box_.seal(to_hex(md5));
  const std::string sealed_sha256 = box_.seal(to_hex(sha256));
  sodium_memzero(md5.data(), md5.size());
  sodium_memzero(sha256.data(), sha256.size());
  const std::int64_t now = unix_seconds(clock_);
  auto written = store_.transaction([&](store::Transaction& txn) -> core::Result<void, store::StoreError> {
    auto r = txn.exec(
        "INSERT INTO turn_users (username, realm, key_md5, key_sha256, created_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (username, realm) DO UPDATE SET key_md5 = excluded.key_md5, key_sha256 = "
        "excluded.key_sha256",
        {std::string(username), std::string(realm), sealed_md5, sealed_sha256, now});
    if (!r) return core::fail(r.error());
    return bump_generation(txn);
  });
  if (!written)
    return core::fail("cannot store TURN user " + std::string(username) + ": " + written.error().message);
  return load();
}

core::Result<bool> CredentialStore::remove_user(std::string_view username, std::string_view realm) {
  std::int64_t removed = 0;
  auto written = store_.transaction([&](store::Transaction& txn) -> core::Result<void, store::StoreError> {
    auto r = txn.exec("DELETE FROM turn_users WHERE username = ? AND realm = ?",
                      {std::string(username), std::string(realm)});
    if (!r) return core::fail(r.error());
    removed = *r;
    if (removed == 0) return {};
    return bump_generation(txn);
  });
  if (!written)
    return core::fail("cannot remove TURN user " + std::string(username) + ": " + written.error().message);
  if (removed == 0) return false;
  if (auto loaded = load(); !loaded) return core::fail(loaded.error());
  return true;
}

core::Result<std::vector<TurnUser>> CredentialStore::users() const {
  auto rows = store_.query("SELECT username, realm, created_at FROM turn_users ORDER BY realm, username");
  if (!rows) return core::fail("cannot read TURN users: " + rows.error().message);
  std::vector<TurnUser> out;
  for (const auto& row : *rows) {
    auto username = row.get<std::string>(0);
    auto realm = row.get<std::string>(1);
    auto created = row.get<std::int64_t>(2);
    if (!username || !realm || !created) return core::fail(std::string("cannot read a TURN user row"));
    out.push_back({std::move(username).value(), std::move(realm).value(), *created});
  }
  return out;
}

core::Result<SharedSecretInfo> CredentialStore::add_secret(std::string_view secret) {
  if (secret.size() < kMinSecretBytes) {
    return core::fail("a shared secret needs at least " + std::to_string(kMinSecretBytes) +
                      " bytes: a short one can be guessed offline from a single request");
  }
  SharedSecretInfo info;
  // Keyed under the master key: a fingerprint says nothing about a weak secret to
  // whoever reads the table.
  info.fingerprint = box_.keyed_hash(secret).substr(0, 8);
  info.created_at = unix_seconds(clock_);
  const std::string sealed = box_.seal(secret);
  auto written = store_.transaction([&](store::Transaction& txn) -> core::Result<void, store::StoreError> {
    auto rows =
        txn.query("INSERT INTO turn_secrets (secret, fingerprint, created_at) VALUES (?, ?, ?) RETURNING id",
                  {sealed, info.fingerprint, info.created_at});
    if (!rows) return core::fail(rows.error());
    if (rows->empty())
      return core::fail(store::StoreError{store::StoreError::Kind::internal, "no id returned"});
    auto id = rows->front().get<std::int64_t>(0);
    if (!id) return core::fail(id.error());
    info.id = *id;
    return bump_generation(txn);
  });
  if (!written) return core::fail("cannot store the shared secret: " + written.error().message);
  if (auto loaded = load(); !loaded) return core::fail(loaded.error());
  return info;
}

core::Result<bool> CredentialStore::remove_secret(std::int64_t id) {
  std::int64_t removed = 0;
  auto written = store_.transaction([&](store::Transaction& txn) -> core::Result<void, store::StoreError> {
    auto r = txn.exec("DELETE FROM turn_secrets WHERE id = ?", {id});
    if (!r) return core::fail(r.error());
    removed = *r;
    if (removed == 0) return {};
    return bump_generation(txn);
  });
  if (!written)
    return core::fail("cannot remove shared secret " + std::to_string(id) + ": " + written.error().message);
  if (removed == 0) return false;
  if (auto loaded = load(); !loaded) return core::fail(loaded.error());
  return true;
}

core::Result<std::vector<SharedSecretInfo>> CredentialStore::secrets() const {
  auto rows = store_.query("SELECT id, fingerprint, created_at FROM turn_secrets ORDER BY id");
  if (!rows) return core::fail("cannot read TURN shared secrets: " + rows.error().message);
  std::vector<SharedSecretInfo> out;
  for (const auto& row : *rows) {
    auto id = row.get<std::int64_t>(0);
    auto fingerprint = row.get<std::string>(1);
    auto created = row.get<std::int64_t>(2);
    if (!id || !fingerprint || !created)
      return core::fail(std::string("cannot read a TURN shared secret row"));
    out.push_back({*id, *created, std::move(fingerprint).value()});
  }
  return out;
}

core::Result<RestCredentials> CredentialStore::issue_rest_credentials(
    std::string_view user, std::chrono::seconds ttl, std::optional<std::int64_t> secret_id) const {
  if (ttl.count() <= 0) return core::fail(std::string("the lifetime of REST credentials must be positive"));
  auto rows =
      secret_id
          ? store_.query("SELECT id, secret FROM turn_secrets WHERE id = ?", {*secret_id})
          : store_.query("SELECT id, secret FROM turn_secrets ORDER BY created_at DESC, id DESC LIMIT 1");
  if (!rows) return core::fail("cannot read TURN shared secrets: " + rows.error().message);
  if (rows->empty()) {
    return core::fail(secret_id ? "no shared secret " + std::to_string(*secret_id)
                                : std::string("no shared secret: add one with `ucedge turn secret add`"));
  }
  auto id = rows->front().get<std::int64_t>(0);
  auto sealed = rows->front().get<std::string>(1);
  if (!id || !sealed) return core::fail(std::string("cannot read a TURN shared secret row"));
  auto secret = box_.unseal(*sealed);
  if (!secret)
    return core::fail("cannot unseal shared secret " + std::to_string(*id) + ": " + secret.error());

  RestCredentials out;
  out.expires_at = unix_seconds(clock_) + ttl.count();
  out.username = std::to_string(out.expires_at);
  if (!user.empty()) out.username.append(1, ':').append(user);
  if (auto valid = validate_user_name(out.username); !valid) return core::fail(valid.error());
  out.password = rest_api_password(*secret, out.username);
  out.secret_id = *id;
  return out;
}

std::optional<LongTermKey> CredentialStore::user_key(std::string_view username,
                                                     std::string_view realm) const {
  if (username.size() > kMaxNameBytes || realm.size() > kMaxNameBytes) return std::nullopt;
  // Built on the stack: this runs for every authenticated request.
  char buffer[2 * kMaxNameBytes + 1];
  std::memcpy(buffer, realm.data(), realm.size());
  buffer[realm.size()] = '\n';
  std::memcpy(buffer + realm.size() + 1, username.data(), username.size());
  const std::string_view key(buffer, realm.size() + 1 + username.size());
  std::shared_lock lock(mutex_);
  auto it = user_keys_.find(key);
  if (it == user_keys_.end()) return std::nullopt;
  return it->second;
}

core::Result<std::vector<LongTermKey>, CredentialStore::RestError> CredentialStore::rest_keys(
    std::string_view username, std::string_view realm, std::int64_t now) const {
  // "EXPIRY" or "EXPIRY:user", EXPIRY in unix seconds (the TURN REST API draft).
  const std::string_view expiry_text = username.substr(0, username.find(':'));
  std::int64_t expiry = 0;
  auto [end, ec] = std::from_chars(expiry_text.data(), expiry_text.data() + expiry_text.size(), expiry);
  const bool digits_only =
      !expiry_text.empty() && expiry_text.find_first_not_of("0123456789") == std::string_view::npos;
  if (!digits_only || ec != std::errc() || end != expiry_text.data() + expiry_text.size()) {
    return core::fail(RestError::not_rest_username);
  }
  std::shared_lock lock(mutex_);
  if (shared_secrets_.empty()) return core::fail(RestError::no_secrets);
  if (expiry <= now) return core::fail(RestError::expired);
  std::vector<LongTermKey> keys;
  keys.reserve(shared_secrets_.size());
  for (const auto& secret : shared_secrets_) {
    keys.push_back(stun::long_term_key_md5(username, realm, rest_api_password(secret, username)));
  }
  return keys;
}

}  // namespace ucedge::turn
