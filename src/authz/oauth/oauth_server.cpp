#include "authz/oauth/oauth_server.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>

#include "authz/oauth/oauth_error.hpp"
#include "authz/oauth/oauth_internal.hpp"

namespace ucedge::authz {

namespace {

constexpr std::string_view kMetricTokens = "ucedge_authz_tokens_issued_total";
constexpr std::string_view kMetricRefused = "ucedge_authz_token_errors_total";

// The Host header when it can only be a host with an optional port.
bool plausible_host(std::string_view host) {
  if (host.empty() || host.size() > 255) return false;
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
           c == ':' || c == '[' || c == ']';
  });
}

}  // namespace

OAuthServer::Metrics::Metrics(core::MetricsRegistry& r) : registry(r) {
  const std::string tokens_help = "Access tokens issued, by grant type.";
  code_grants = &r.counter(std::string(kMetricTokens), tokens_help, "grant=\"authorization_code\"");
  refresh_grants = &r.counter(std::string(kMetricTokens), tokens_help, "grant=\"refresh_token\"");
  client_credentials_grants = &r.counter(std::string(kMetricTokens), tokens_help, "grant=\"client_credentials\"");
  const std::string logins_help = "Sign-in attempts on the login page, by result.";
  logins_ok = &r.counter("ucedge_authz_logins_total", logins_help, "result=\"ok\"");
  logins_failed = &r.counter("ucedge_authz_logins_total", logins_help, "result=\"failed\"");
  logins_limited = &r.counter("ucedge_authz_logins_total", logins_help, "result=\"rate_limited\"");
  const std::string introspection_help = "Introspection answers, by whether the token was active.";
  introspections_active = &r.counter("ucedge_authz_introspections_total", introspection_help, "active=\"true\"");
  introspections_inactive = &r.counter("ucedge_authz_introspections_total", introspection_help, "active=\"false\"");
  revocations = &r.counter("ucedge_authz_revocation_requests_total", "Requests to the revocation endpoint.");
  using Outcome = Exchange::Outcome;
  for (auto outcome : {Outcome::rotated, Outcome::unchanged, Outcome::grace_repeat, Outcome::reuse_detected,
                       Outcome::revoked, Outcome::expired, Outcome::unknown, Outcome::wrong_client}) {
    exchanges[static_cast<std::size_t>(outcome)] =
        &r.counter("ucedge_authz_refresh_exchanges_total", "Refresh tokens presented, by what became of them.",
                   "outcome=\"" + std::string(to_string(outcome)) + "\"");
  }
}

core::Counter& OAuthServer::Metrics::refused(std::string_view error) {
  return registry.counter(std::string(kMetricRefused), "Token endpoint error answers, by OAuth error code.",
                          "error=\"" + core::escape_label(error) + "\"");
}

bool is_form_post(const net::Request& request) {
  std::string_view type = request.header("Content-Type");
  type = type.substr(0, type.find(';'));
  while (type.ends_with(' ')) type.remove_suffix(1);
  return net::iequals(type, "application/x-www-form-urlencoded");
}

std::vector<std::string> split_scope(std::string_view scope) {
  std::vector<std::string> parts;
  std::size_t at = 0;
  while (at < scope.size()) {
    auto end = scope.find(' ', at);
    if (end == std::string_view::npos) end = scope.size();
    if (end > at) parts.emplace_back(scope.substr(at, end - at));
    at = end + 1;
  }
  return parts;
}

std::string join_scope(const std::vector<std::string>& scopes) { return core::join(scopes, " "); }

std::optional<std::string> granted_scope(const Client& client, std::optional<std::string_view> requested) {
  if (!requested) return join_scope(client.scopes);
  std::vector<std::string> wanted = split_scope(*requested);
  std::vector<std::string> unique;
  for (auto& s : wanted) {
    // RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
    for (unsigned char c : s) {
      if (c < 0x21 || c == 0x22 || c == 0x5c || c > 0x7e) return std::nullopt;
    }
    if (!client.scopes.empty() && std::find(client.scopes.begin(), client.scopes.end(), s) == client.scopes.end()) {
      return std::nullopt;
    }
    if (std::find(unique.begin(), unique.end(), s) == unique.end()) unique.push_back(std::move(s));
  }
  return join_scope(unique);
}

bool scope_within(std::string_view requested, std::string_view granted) {
  auto have = split_scope(granted);
  for (const auto& s : split_scope(requested)) {
    if (std::find(have.begin(), have.end(), s) == have.end()) return false;
  }
  return true;
}

OAuthServer::OAuthServer(OAuthParts parts)
    : parts_(parts),
      metrics_(std::make_unique<Metrics>(parts.metrics)),
      login_failures_by_user_(parts.config.login_failures_per_user, parts.clock),
      login_failures_by_address_(parts.config.login_failures_per_address, parts.clock),
      client_failures_(parts.config.login_failures_per_address, parts.clock),
      client_auth_(parts.clients, client_failures_) {}

OAuthServer::~OAuthServer() = default;

std::int64_t OAuthServer::now() const {
  return std::chrono::duration_cast<std::chrono::seconds>(parts_.clock.now().time_since_epoch()).count();
}

void OAuthServer::announce_revocation() {
  (void)parts_.revocations.reload();
  (void)parts_.store.signal(kSignalChannel, kRevocationsChanged);
}

void OAuthServer::add_routes(net::Router& router) {
  auto bind = [this](net::Response (OAuthServer::*handler)(net::Request&)) {
    return [this, handler](net::Request& request) { return (this->*handler)(request); };
  };
  // Sign-ins (Argon2id) and revocations (store commits) run on workers;
  // token_deferred() decides per grant; the rest answer from memory.
  using net::Runs;
  router.get("/oauth2/authorize", bind(&OAuthServer::authorize), Runs::on_worker);
  router.post("/oauth2/authorize", bind(&OAuthServer::authorize), Runs::on_worker);
  router.add_deferred(net::Method::post, "/oauth2/token",
                      [this](net::Request& request, net::Reply reply) { token_deferred(request, std::move(reply)); });
  router.post("/oauth2/introspect", bind(&OAuthServer::introspect));
  router.post("/oauth2/revoke", bind(&OAuthServer::revoke), Runs::on_worker);
  router.get("/oauth2/jwks", bind(&OAuthServer::jwks));
  router.get("/.well-known/oauth-authorization-server", bind(&OAuthServer::metadata));
  if (parts_.config.sample_client) router.get(std::string(kSampleCallbackPath), bind(&OAuthServer::sample_callback));
}

std::string OAuthServer::issuer_url(const net::Request& request) const {
  if (!parts_.config.issuer.empty()) return parts_.config.issuer;
  std::string_view host = request.header("Host");
  if (!plausible_host(host)) host = "localhost";
  return std::string(request.secure ? "https://" : "http://") + std::string(host);
}

net::Response OAuthServer::metadata(net::Request& request) {
  const std::string issuer = issuer_url(request);
  nlohmann::json m = {
      {"issuer", issuer},
      {"authorization_endpoint", issuer + "/oauth2/authorize"},
      {"token_endpoint", issuer + "/oauth2/token"},
      {"revocation_endpoint", issuer + "/oauth2/revoke"},
      {"introspection_endpoint", issuer + "/oauth2/introspect"},
      {"jwks_uri", issuer + "/oauth2/jwks"},
      {"response_types_supported", {"code"}},
      {"response_modes_supported", {"query"}},
      {"grant_types_supported", {"authorization_code", "refresh_token", "client_credentials"}},
      {"code_challenge_methods_supported", {"S256"}},
      {"token_endpoint_auth_methods_supported", {"client_secret_basic", "client_secret_post", "none"}},
      {"revocation_endpoint_auth_methods_supported", {"client_secret_basic", "client_secret_post", "none"}},
      {"introspection_endpoint_auth_methods_supported", {"client_secret_basic", "client_secret_post"}},
      {"authorization_response_iss_parameter_supported", true},
  };
  auto response = net::Response::json(200, m.dump());
  response.set("Cache-Control", "public, max-age=300");
  return response;
}

net::Response OAuthServer::jwks(net::Request&) {
  auto response = net::Response::json(200, parts_.keys.jwks().dump());
  response.set("Content-Type", "application/jwk-set+json");
  response.set("Cache-Control", "public, max-age=" + std::to_string(parts_.config.jwks_max_age.count()));
  return response;
}

}  // namespace ucedge::authz
