#include "authz/directory/clients.hpp"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/log.hpp"
#include "core/random_token.hpp"
#include "core/secure_compare.hpp"
#include "core/strings.hpp"

namespace ucedge::authz {

namespace {

constexpr std::size_t kMaxClientIdBytes = 128;
constexpr std::size_t kGeneratedIdBytes = 16;  // 22 base64url characters
constexpr std::size_t kSecretBytes = 32;       // 256 bits
constexpr std::size_t kMaxNameBytes = 200;
constexpr std::size_t kMaxRedirectUriBytes = 2048;
constexpr std::size_t kMaxScopeBytes = 128;
// A presented secret longer than this cannot be one of ours; it is not hashed.
constexpr std::size_t kMaxPresentedSecretBytes = 512;

constexpr std::string_view kAuthorizationCode = "authorization_code";
constexpr std::string_view kRefreshToken = "refresh_token";
constexpr std::string_view kClientCredentials = "client_credentials";

bool sodium_ready() {
  static const bool started = sodium_init() >= 0;
  return started;
}

std::int64_t unix_seconds(const core::Clock& clock) {
  return std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count();
}

std::string base64url(const std::uint8_t* bytes, std::size_t size) {
  std::string out(sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes, size, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::strlen(out.c_str()));
  return out;
}


std::string new_secret() {
  std::array<std::uint8_t, kSecretBytes> bytes{};
  randombytes_buf(bytes.data(), bytes.size());
  std::string secret = base64url(bytes.data(), bytes.size());
  sodium_memzero(bytes.data(), bytes.size());
  return secret;
}

bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// Leading with a letter or digit, so the id never reads as a command-line option.
std::string new_client_id() {
  for (;;) {
    std::array<std::uint8_t, kGeneratedIdBytes> bytes{};
    randombytes_buf(bytes.data(), bytes.size());
    std::string id = base64url(bytes.data(), bytes.size());
    if (is_alnum(id.front())) return id;
  }
}

// Unreserved characters (RFC 3986 §2.3): safe in a URL, a form and a log line.
core::Result<void> check_client_id(std::string_view id) {
  if (id.empty()) return core::fail(std::string("the client id is empty"));
  if (id.size() > kMaxClientIdBytes) {
    return core::fail("the client id is longer than " + std::to_string(kMaxClientIdBytes) + " characters");
  }
  for (char c : id) {
    if (!is_alnum(c) && c != '.' && c != '_' && c != '~' && c != '-') {
      return core::fail("the client id \"" + std::string(id) +
                        "\" may hold only letters, digits and . _ ~ -");
    }
  }
  return {};
}

core::Result<void> check_name(std::string_view name) {
  if (name.size() > kMaxNameBytes) {
    return core::fail("the client name is longer than " + std::to_string(kMaxNameBytes) + " bytes");
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) return core::fail(std::string("the client name holds a control character"));
  }
  return {};
}

// RFC 6749 §3.1.2: an absolute URI (RFC 3986 §4.3) without a fragment. http(s)
// needs a host; any other scheme is a native app's private-use scheme (RFC 8252
// §7.1). Schemes that run code in a browser are refused outright.
core::Result<void> check_redirect_uri(std::string_view uri) {
  const auto refuse = [&](std::string_view why) {
    return core::fail("redirect URI \"" + std::string(uri) + "\" " + std::string(why));
  };
  if (uri.empty()) return core::fail(std::string("a redirect URI is empty"));
  if (uri.size() > kMaxRedirectUriBytes) {
    return core::fail("a redirect URI is longer than " + std::to_string(kMaxRedirectUriBytes) + " bytes");
  }
  for (unsigned char c : uri) {
    if (c <= 0x20 || c >= 0x7f) return refuse("holds a space, a control or a non-ASCII character");
  }
  if (uri.find('#') != std::string_view::npos) return refuse("has a fragment (RFC 6749 §3.1.2)");
  const auto colon = uri.find(':');
  const auto is_scheme_char = [](char c) { return is_alnum(c) || c == '+' || c == '-' || c == '.'; };
  if (colon == std::string_view::npos || colon == 0 || !std::isalpha(static_cast<unsigned char>(uri[0])) ||
      !std::all_of(uri.begin(), uri.begin() + static_cast<std::ptrdiff_t>(colon), is_scheme_char)) {
    return refuse("is not absolute (no scheme)");
  }
  std::string scheme(uri.substr(0, colon));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (scheme == "javascript" || scheme == "data" || scheme == "vbscript") {
    return refuse("uses a scheme that runs code in the browser");
  }
  const std::string_view rest = uri.substr(colon + 1);
  if (scheme == "http" || scheme == "https") {
    if (!rest.starts_with("//")) return refuse("has no host");
    const std::string_view authority = rest.substr(2, rest.find_first_of("/?", 2) - 2);
    if (authority.find('@') != std::string_view::npos) return refuse("carries a user name");
    const bool bracketed = authority.starts_with('[');
    const auto host_end = bracketed ? authority.find(']') : authority.find(':');
    const std::string_view host =
        authority.substr(0, host_end == std::string_view::npos ? authority.size() : host_end);
    if (host.empty() || host == "[") return refuse("has no host");
  } else if (rest.empty()) {
    return refuse("has nothing after its scheme");
  }
  return {};
}

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
core::Result<void> check_scope(std::string_view scope) {
  if (scope.empty()) return core::fail(std::string("a scope is empty"));
  if (scope.size() > kMaxScopeBytes) {
    return core::fail("a scope is longer than " + std::to_string(kMaxScopeBytes) + " bytes");
  }
  for (unsigned char c : scope) {
    if (c < 0x21 || c > 0x7e || c == '"' || c == '\\') {
      return core::fail("the scope \"" + std::string(scope) +
                        "\" may hold only visible ASCII characters other than \" and \\ (RFC 6749 §3.3)");
    }
  }
  return {};
}

template <class T>
void append_unique(std::vector<std::string>& out, const T& item) {
  if (std::find(out.begin(), out.end(), item) == out.end()) out.emplace_back(item);
}

// RFC 8252 §7.3: a native app listening on a loopback IP literal gets whatever
// port the system gives it, so the port is left out when comparing. Returns
// the URI without its port, or nothing when it is not such a URI.
std::optional<std::string> without_loopback_port(std::string_view uri) {
  for (std::string_view prefix : {std::string_view("http://127.0.0.1"), std::string_view("http://[::1]")}) {
    if (!uri.starts_with(prefix)) continue;
    std::string_view rest = uri.substr(prefix.size());
    if (rest.starts_with(':')) {
      std::size_t digits = 1;
      while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
      if (digits == 1 || digits > 6) return std::nullopt;
      rest.remove_prefix(digits);
    }
    if (!rest.empty() && rest.front() != '/' && rest.front() != '?') return std::nullopt;
    return std::string(prefix) + std::string(rest);
  }
  return std::nullopt;
}

std::string store_message(std::string_view what, const store::StoreError& error) {
  return std::string(what) + ": " + error.to_string();
}

std::string json_array(const std::vector<std::string>& items) { return nlohmann::json(items).dump(); }

std::optional<std::vector<std::string>> parse_json_array(const std::string& text) {
  const auto parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_array()) return std::nullopt;
  std::vector<std::string> out;
  out.reserve(parsed.size());
  for (const auto& item : parsed) {
    if (!item.is_string()) return std::nullopt;
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::vector<std::string> split_scopes(std::string_view text) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto end = std::min(text.find(' ', i), text.size());
    if (end > i) out.emplace_back(text.substr(i, end - i));
    i = end + 1;
  }
  return out;
}

core::Result<Client, std::string> client_from(const store::Row& row) {
  Client c;
  auto id = row.get<std::string>("client_id");
  auto name = row.get<std::string>("name");
  auto confidential = row.get<bool>("confidential");
  auto digest = row.get<std::string>("secret_sha256");
  auto redirects = row.get<std::string>("redirect_uris");
  auto grants = row.get<std::string>("grant_types");
  auto scopes = row.get<std::string>("scopes");
  auto created = row.get<std::int64_t>("created_at");
  for (const store::StoreError* e :
       {id ? nullptr : &id.error(), name ? nullptr : &name.error(),
        confidential ? nullptr : &confidential.error(), digest ? nullptr : &digest.error(),
        redirects ? nullptr : &redirects.error(), grants ? nullptr : &grants.error(),
        scopes ? nullptr : &scopes.error(), created ? nullptr : &created.error()}) {
    if (e != nullptr) return core::fail(e->to_string());
  }
  auto redirect_list = parse_json_array(*redirects);
  if (!redirect_list) return core::fail(std::string("redirect_uris is not a JSON array of strings"));
  auto grant_list = parse_json_array(*grants);
  if (!grant_list) return core::fail(std::string("grant_types is not a JSON array of strings"));
  c.client_id = std::move(id).value();
  c.name = std::move(name).value();
  c.confidential = *confidential;
  c.secret_sha256 = std::move(digest).value();
  c.redirect_uris = std::move(*redirect_list);
  c.grant_types = std::move(*grant_list);
  c.scopes = split_scopes(*scopes);
  c.created_at = *created;
  return c;
}

}  // namespace

bool Client::allows_grant(std::string_view grant) const {
  return std::find(grant_types.begin(), grant_types.end(), grant) != grant_types.end();
}

bool Client::allows_redirect(std::string_view uri) const {
  // Simple string comparison (RFC 9700 §4.1.3), but for the port of a loopback URI.
  if (std::find(redirect_uris.begin(), redirect_uris.end(), uri) != redirect_uris.end()) return true;
  const auto presented = without_loopback_port(uri);
  if (!presented) return false;
  return std::any_of(redirect_uris.begin(), redirect_uris.end(), [&](const std::string& registered) {
    return without_loopback_port(registered) == presented;
  });
}

ClientRegistry::ClientRegistry(store::Store& store, const core::Clock& clock) : store_(store), clock_(clock) {
  sodium_ready();
}

core::Result<void> ClientRegistry::reload() {
  auto rows = store_.query(
      "SELECT client_id, name, confidential, secret_sha256, redirect_uris, grant_types, scopes, created_at "
      "FROM authz_clients");
  if (!rows) return core::fail(store_message("cannot read the clients", rows.error()));
  ClientMap fresh;
  fresh.reserve(rows->size());
  for (const store::Row& row : *rows) {
    auto client = client_from(row);
    if (!client) {
      const store::Value* id = row.find("client_id");
      const std::string* text = id != nullptr ? std::get_if<std::string>(id) : nullptr;
      core::logger("authz")->warn("client {} left out: {}", text != nullptr ? *text : "?", client.error());
      continue;
    }
    auto shared = std::make_shared<const Client>(std::move(client).value());
    fresh.emplace(shared->client_id, std::move(shared));
  }
  std::lock_guard lock(mutex_);
  clients_.swap(fresh);
  return {};
}

core::Result<NewClient> ClientRegistry::add(const ClientSpec& spec) {
  if (!spec.client_id.empty()) {
    if (auto ok = check_client_id(spec.client_id); !ok) return core::fail(ok.error());
  }
  if (auto ok = check_name(spec.name); !ok) return core::fail(ok.error());

  Client c;
  c.client_id = spec.client_id.empty() ? new_client_id() : spec.client_id;
  c.name = spec.name;
  c.confidential = spec.confidential;
  for (const auto& uri : spec.redirect_uris) {
    if (auto ok = check_redirect_uri(uri); !ok) return core::fail(ok.error());
    append_unique(c.redirect_uris, uri);
  }
  for (const auto& grant : spec.grant_types) {
    if (grant != kAuthorizationCode && grant != kRefreshToken && grant != kClientCredentials) {
      return core::fail("unknown grant type \"" + grant +
                        "\" (expected authorization_code, refresh_token or client_credentials)");
    }
    append_unique(c.grant_types, grant);
  }
  if (c.grant_types.empty()) {
    c.grant_types = {std::string(kAuthorizationCode), std::string(kRefreshToken)};
    if (c.confidential) c.grant_types.emplace_back(kClientCredentials);
  }
  for (const auto& scope : spec.scopes) {
    if (auto ok = check_scope(scope); !ok) return core::fail(ok.error());
    append_unique(c.scopes, scope);
  }
  if (!c.confidential && c.allows_grant(kClientCredentials)) {
    // RFC 6749 §4.4: only a client that can authenticate may use it.
    return core::fail(std::string("a public client cannot use client_credentials: it has no secret"));
  }
  if (c.allows_grant(kAuthorizationCode) && c.redirect_uris.empty()) {
    return core::fail(std::string("a client using authorization_code needs at least one redirect URI"));
  }

  std::optional<std::string> secret;
  if (c.confidential) {
    secret = new_secret();
    c.secret_sha256 = core::sha256_hex(*secret);
  }
  c.created_at = unix_seconds(clock_);

  auto inserted = store_.exec(
      "INSERT INTO authz_clients (client_id, name, confidential, secret_sha256, redirect_uris, grant_types, "
      "scopes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (client_id) DO NOTHING",
      {c.client_id, c.name, std::int64_t{c.confidential ? 1 : 0}, c.secret_sha256,
       json_array(c.redirect_uris), json_array(c.grant_types), core::join(c.scopes, " "), c.created_at});
  if (!inserted) return core::fail(store_message("cannot add the client", inserted.error()));
  if (*inserted == 0) return core::fail("the client id " + c.client_id + " is taken");

  auto shared = std::make_shared<const Client>(c);
  {
    std::lock_guard lock(mutex_);
    clients_.insert_or_assign(c.client_id, std::move(shared));
  }
  return NewClient{std::move(c), std::move(secret)};
}

core::Result<std::string> ClientRegistry::rotate_secret(std::string_view client_id) {
  const std::string id(client_id);
  std::string secret = new_secret();
  const std::string digest = core::sha256_hex(secret);
  auto updated = store_.exec(
      "UPDATE authz_clients SET secret_sha256 = ? WHERE client_id = ? AND confidential = 1", {digest, id});
  if (!updated) return core::fail(store_message("cannot store the new secret", updated.error()));
  if (*updated == 0) {
    auto rows = store_.query("SELECT confidential FROM authz_clients WHERE client_id = ?", {id});
    if (!rows) return core::fail(store_message("cannot read the client", rows.error()));
    if (rows->empty()) return core::fail("no client " + id);
    return core::fail("client " + id + " is public: it has no secret");
  }
  std::lock_guard lock(mutex_);
  if (auto it = clients_.find(client_id); it != clients_.end()) {
    auto changed = std::make_shared<Client>(*it->second);
    changed->secret_sha256 = digest;
    it->second = std::move(changed);
  }
  return secret;
}

core::Result<bool> ClientRegistry::remove(std::string_view client_id) {
  auto removed = store_.exec("DELETE FROM authz_clients WHERE client_id = ?", {std::string(client_id)});
  if (!removed) return core::fail(store_message("cannot remove the client", removed.error()));
  std::lock_guard lock(mutex_);
  if (auto it = clients_.find(client_id); it != clients_.end()) clients_.erase(it);
  return *removed > 0;
}

std::vector<Client> ClientRegistry::list() const {
  std::vector<Client> out;
  {
    std::lock_guard lock(mutex_);
    out.reserve(clients_.size());
    for (const auto& [id, client] : clients_) out.push_back(*client);
  }
  std::sort(out.begin(), out.end(),
            [](const Client& a, const Client& b) { return a.client_id < b.client_id; });
  return out;
}

std::shared_ptr<const Client> ClientRegistry::find(std::string_view client_id) const {
  std::lock_guard lock(mutex_);
  auto it = clients_.find(client_id);
  return it == clients_.end() ? nullptr : it->second;
}

bool ClientRegistry::secret_matches(const Client& client, std::string_view secret) {
  if (!client.confidential || client.secret_sha256.empty() || secret.empty() ||
      secret.size() > kMaxPresentedSecretBytes) {
    return false;
  }
  return core::secure_equal(core::sha256_hex(secret), client.secret_sha256);
}

}  // namespace ucedge::authz
