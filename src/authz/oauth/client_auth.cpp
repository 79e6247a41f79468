#include "authz/oauth/client_auth.hpp"

#include "authz/oauth/oauth_error.hpp"

namespace ucedge::authz {

namespace {

ClientAuthentication refuse(net::Response response) { return {nullptr, std::move(response)}; }

}  // namespace

ClientAuthenticator::ClientAuthenticator(const ClientRegistry& clients, core::FailureLimiter& failures)
    : clients_(clients), failures_(failures) {}

ClientAuthentication ClientAuthenticator::authenticate(const net::Request& request, const Form& form,
                                                       bool allow_public) {
  const std::string address_key = "client:" + request.remote_address;
  if (auto wait = failures_.retry_after(address_key); wait > 0) {
    auto response = oauth_error("invalid_client", "too many failed client authentications from this address", 429);
    response.set("Retry-After", std::to_string(wait));
    return refuse(std::move(response));
  }

  std::string client_id;
  std::optional<std::string> secret;
  const std::string_view authorization = request.header("Authorization");
  const bool basic = !authorization.empty();
  if (basic) {
    auto credentials = net::basic_credentials(authorization);
    if (!credentials) return refuse(oauth_error("invalid_client", "malformed Basic credentials", 401));
    auto id = net::percent_decode(credentials->first, true);
    auto password = net::percent_decode(credentials->second, true);
    if (!id || !password) return refuse(oauth_error("invalid_client", "malformed Basic credentials", 401));
    if (form.get("client_secret")) {
      return refuse(oauth_error("invalid_request", "use one client authentication method, not two"));
    }
    if (auto named = form.get("client_id"); named && *named != *id) {
      return refuse(oauth_error("invalid_request", "client_id differs from the authenticated client"));
    }
    client_id = std::move(*id);
    secret = std::move(*password);
  } else {
    auto id = form.get("client_id");
    if (!id) return refuse(oauth_error("invalid_client", "client authentication is required", 401));
    client_id = std::string(*id);
    if (auto posted = form.get("client_secret")) secret = std::string(*posted);
  }

  auto client = clients_.find(client_id);
  bool accepted = false;
  if (client) {
    if (client->confidential) {
      accepted = secret && ClientRegistry::secret_matches(*client, *secret);
    } else {
      // A public client has no secret to check: it proves nothing, so it is
      // only accepted where the endpoint allows that (PKCE protects the code).
      accepted = allow_public && !secret;
    }
  }
  if (!accepted) {
    failures_.failed(address_key);
    return refuse(oauth_error("invalid_client", "unknown client or wrong credentials", 401));
  }
  return {std::move(client), {}};
}

}  // namespace ucedge::authz
