#pragma once
// The OAuth 2.0 endpoints: authorize (code grant with PKCE, the sign-in
// page), token (authorization_code, refresh_token, client_credentials),
// revocation (RFC 7009), introspection (RFC 7662), metadata (RFC 8414) and
// the JWKS. Handlers are synchronous and run on the HTTP threads.
#include <cstdint>
#include <memory>
#include <variant>
#include <string>
#include <string_view>

#include "authz/config.hpp"
#include "authz/directory/clients.hpp"
#include "authz/directory/users.hpp"
#include "authz/jose/key_ring.hpp"
#include "authz/oauth/client_auth.hpp"
#include "authz/oauth/codes.hpp"
#include "authz/oauth/form.hpp"
#include "authz/oauth/verified_tokens.hpp"
#include "authz/signals.hpp"
#include "authz/tokens/refresh_tokens.hpp"
#include "authz/tokens/revocations.hpp"
#include "core/clock.hpp"
#include "core/failure_limiter.hpp"
#include "core/metrics.hpp"
#include "net/router.hpp"

namespace ucedge::authz {

struct OAuthParts {
  const AuthzConfig& config;
  store::Store& store;
  KeyRing& keys;
  RefreshTokenStore& refresh_tokens;
  Revocations& revocations;
  UserDirectory& users;
  ClientRegistry& clients;
  AuthorizationCodes& codes;
  core::MetricsRegistry& metrics;
  const core::Clock& clock;
};

inline constexpr std::string_view kSampleClientId = "ucedge-sample";
inline constexpr std::string_view kSampleCallbackPath = "/oauth2/sample/callback";

class OAuthServer {
 public:
  explicit OAuthServer(OAuthParts parts);
  ~OAuthServer();

  void add_routes(net::Router& router);

  // What the endpoints answer; public for tests.
  net::Response authorize(net::Request& request);
  net::Response token(net::Request& request);
  // token() as the server runs it: a refresh on a store that commits in the
  // background does not hold a thread while its commit is on the way.
  void token_deferred(net::Request& request, net::Reply reply);
  net::Response introspect(net::Request& request);
  net::Response revoke(net::Request& request);
  net::Response metadata(net::Request& request);
  net::Response jwks(net::Request& request);
  net::Response sample_callback(net::Request& request);

  // The issuer URL for a request: [authz] issuer, or the request's own origin.
  std::string issuer_url(const net::Request& request) const;

 private:
  struct Metrics;
  struct AuthorizeRequest;

  // /authorize
  net::Response show_login(const net::Request& request, const AuthorizeRequest& authorize, int status,
                           std::string_view error, std::string_view login);
  net::Response sign_in(const net::Request& request, const AuthorizeRequest& authorize, std::string_view login,
                        std::string_view password);

  // /token: the client authenticated and the grant allowed, or the refusal.
  struct TokenRequest {
    std::shared_ptr<const Client> client;
    Form form;
    std::string grant;
  };
  std::variant<net::Response, TokenRequest> accept_token_request(net::Request& request);
  net::Response grant(const TokenRequest& request);
  // one per grant
  net::Response code_grant(const Client& client, const Form& form);
  net::Response refresh_grant(const Client& client, const Form& form);
  // The refresh grant in steps around the exchange: the presented token as
  // far as it can be checked before (or the refusal); for a token the store
  // keeps no digest of, its signature and the exchange again; the answer to
  // the exchange.
  struct PresentedRefresh {
    std::string text;
    RefreshClaims claims;  // read without the signature check: the exchange proves them
    Presented proof;
    std::optional<MintedToken> child;  // signed ahead, when rotation is on
    std::string child_text;
  };
  std::variant<net::Response, PresentedRefresh> presented_refresh_token(const Client& client, const Form& form);
  net::Response refresh_checking_signature(const Client& client, const Form& form, PresentedRefresh& presented);
  net::Response refreshed(const Client& client, const Form& form, const PresentedRefresh& presented,
                          const core::Result<Exchange, store::StoreError>& exchange);
  net::Response client_credentials_grant(const Client& client, const Form& form);
  // The JSON answer with a new access token (and the refresh token, if any).
  // `refresh_text` is the refresh token when it was signed already.
  net::Response issue(const Client& client, std::string_view subject, std::string_view token_type,
                      std::string_view scope, std::string_view family_id, const RefreshRecord* refresh,
                      std::optional<std::string> refresh_text = std::nullopt);
  // Signs a refresh token ahead of its row: its text and what the row keeps.
  core::Result<std::pair<std::string, MintedToken>> sign_refresh_ahead(const KeySet& keys, std::string_view client_id,
                                                                        std::int64_t validity);

  std::int64_t now() const;
  // Applies a revocation just recorded here and tells the other nodes.
  void announce_revocation();

  OAuthParts parts_;
  std::unique_ptr<Metrics> metrics_;
  core::FailureLimiter login_failures_by_user_;
  core::FailureLimiter login_failures_by_address_;
  core::FailureLimiter client_failures_;
  ClientAuthenticator client_auth_;
  VerifiedTokens verified_;
};

}  // namespace ucedge::authz
