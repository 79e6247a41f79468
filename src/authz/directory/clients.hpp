#pragma once
// The client registry (table authz_clients). A confidential client gets a
// secret the server generates (256 random bits, base64url), shown once and
// stored only as its SHA-256 digest: a secret that strong needs no slow hash,
// which keeps client authentication cheap (hydra#168). A public client (an
// app on a phone) has no secret and must use PKCE.
//
// Every client is held in memory; reload() re-reads the table (the service
// calls it every second, so `ucedge authz client ...` reaches a running node).
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "store/store.hpp"

namespace ucedge::authz {

struct Client {
  std::string client_id;
  std::string name;
  bool confidential = false;
  std::string secret_sha256;               // hex; empty for a public client
  std::vector<std::string> redirect_uris;  // matched exactly (RFC 9700 §4.1.3)
  std::vector<std::string> grant_types;    // "authorization_code", "refresh_token", "client_credentials"
  std::vector<std::string> scopes;         // allowed scopes; empty allows any
  std::int64_t created_at = 0;

  bool allows_grant(std::string_view grant) const;
  bool allows_redirect(std::string_view uri) const;
};

struct ClientSpec {
  std::string client_id;  // "" = generate one
  std::string name;
  bool confidential = false;
  std::vector<std::string> redirect_uris;
  // Empty = the defaults: authorization_code + refresh_token, and
  // client_credentials for a confidential client.
  std::vector<std::string> grant_types;
  std::vector<std::string> scopes;
};

struct NewClient {
  Client client;
  std::optional<std::string> secret;  // the only time the secret is seen
};

class ClientRegistry {
 public:
  explicit ClientRegistry(store::Store& store, const core::Clock& clock = core::RealClock::instance());

  // Replaces the clients held in memory with the table's, all at once. A row
  // that cannot be read (altered by hand) is left out: that client cannot
  // sign in until it is fixed.
  core::Result<void> reload();

  // Refuses: a bad client id, an unknown grant type, a redirect URI that is
  // not absolute or carries a fragment (RFC 6749 §3.1.2), a public client
  // with client_credentials, a client using authorization_code without a
  // redirect URI, an id already taken.
  core::Result<NewClient> add(const ClientSpec& spec);
  // A new secret for a confidential client; the old one stops working.
  core::Result<std::string> rotate_secret(std::string_view client_id);
  core::Result<bool> remove(std::string_view client_id);
  std::vector<Client> list() const;  // as of the last reload() or change, by client id

  // From memory; no store round trip.
  std::shared_ptr<const Client> find(std::string_view client_id) const;
  // Constant-time comparison of SHA-256(secret) with the stored digest.
  static bool secret_matches(const Client& client, std::string_view secret);

 private:
  // Lets find() look a string_view up without building a std::string.
  struct IdHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view id) const { return std::hash<std::string_view>{}(id); }
  };
  using ClientMap = std::unordered_map<std::string, std::shared_ptr<const Client>, IdHash, std::equal_to<>>;

  store::Store& store_;
  const core::Clock& clock_;
  mutable std::mutex mutex_;
  ClientMap clients_;
};

}  // namespace ucedge::authz
