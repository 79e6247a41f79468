// /oauth2/token (RFC 6749 §3.2): the authorization_code (§4.1.3, with PKCE,
// RFC 7636 §4.6), refresh_token (§6) and client_credentials (§4.4) grants.

#include "authz/jose/tokens.hpp"
#include "authz/oauth/oauth_error.hpp"
#include "authz/oauth/oauth_internal.hpp"
#include "core/json_writer.hpp"
#include "core/random_token.hpp"

namespace ucedge::authz {

std::variant<net::Response, OAuthServer::TokenRequest> OAuthServer::accept_token_request(net::Request& request) {
  auto refused = [this](std::string_view error, std::string_view description, int status = 400) {
    metrics_->refused(error).inc();
    return oauth_error(error, description, status);
  };
  if (!is_form_post(request)) return refused("invalid_request", "send the parameters as application/x-www-form-urlencoded");
  auto form = parse_form(request.body);
  if (!form) return refused("invalid_request", form.error().describe());

  auto grant = form->get("grant_type");
  if (!grant) return refused("invalid_request", "grant_type is missing");
  const bool public_allowed = *grant != "client_credentials";
  auto authenticated = client_auth_.authenticate(request, *form, public_allowed);
  if (!authenticated.client) {
    metrics_->refused("invalid_client").inc();
    return std::move(authenticated.refusal);
  }
  if (*grant != "authorization_code" && *grant != "refresh_token" && *grant != "client_credentials") {
    return refused("unsupported_grant_type", "supported: authorization_code, refresh_token, client_credentials");
  }
  if (!authenticated.client->allows_grant(*grant)) {
    return refused("unauthorized_client", "this client may not use grant_type=" + std::string(*grant));
  }
  std::string grant_type(*grant);
  return TokenRequest{std::move(authenticated.client), std::move(form).value(), std::move(grant_type)};
}

net::Response OAuthServer::grant(const TokenRequest& request) {
  if (request.grant == "authorization_code") return code_grant(*request.client, request.form);
  if (request.grant == "refresh_token") return refresh_grant(*request.client, request.form);
  return client_credentials_grant(*request.client, request.form);
}

net::Response OAuthServer::token(net::Request& request) {
  auto accepted = accept_token_request(request);
  if (auto* refusal = std::get_if<net::Response>(&accepted)) return std::move(*refusal);
  return grant(std::get<TokenRequest>(accepted));
}

void OAuthServer::token_deferred(net::Request& request, net::Reply reply) {
  auto accepted = accept_token_request(request);
  if (auto* refusal = std::get_if<net::Response>(&accepted)) return reply.send(std::move(*refusal));
  auto& accepted_request = std::get<TokenRequest>(accepted);

  // Signing only: answered here, on the event loop.
  if (accepted_request.grant == "client_credentials") return reply.send(grant(accepted_request));

  if (accepted_request.grant == "refresh_token" && parts_.refresh_tokens.exchanges_in_background()) {
    auto checked = presented_refresh_token(*accepted_request.client, accepted_request.form);
    if (auto* refusal = std::get_if<net::Response>(&checked)) return reply.send(std::move(*refusal));
    auto presented = std::get<PresentedRefresh>(std::move(checked));
    const std::string client_id = accepted_request.client->client_id;
    std::string token_id = presented.claims.token_id;
    Presented proof = presented.proof;
    std::optional<MintedToken> child = presented.child;
    // The commit comes back on the store's writer thread; the answer is
    // signed on this connection's event loop.
    parts_.refresh_tokens.exchange_later(
        std::move(token_id), client_id, std::move(proof), std::move(child),
        [this, reply, accepted_request = std::move(accepted_request),
         presented = std::move(presented)](auto exchange) mutable {
          if (exchange && exchange->outcome == Exchange::Outcome::unverified) {
            // A token from before digests were kept: its signature is
            // checked and it is exchanged again, on a worker (that waits).
            return reply.compute_on_worker([this, accepted_request, presented]() mutable {
              return refresh_checking_signature(*accepted_request.client, accepted_request.form, presented);
            });
          }
          reply.compute_on_connection([this, accepted_request, presented, exchange = std::move(exchange)] {
            return refreshed(*accepted_request.client, accepted_request.form, presented, exchange);
          });
        });
    return;
  }
  // The rest waits on store commits: a worker thread answers.
  reply.compute_on_worker([this, accepted_request = std::move(accepted_request)] { return grant(accepted_request); });
}

net::Response OAuthServer::code_grant(const Client& client, const Form& form) {
  auto refused = [this](std::string_view error, std::string_view description) {
    metrics_->refused(error).inc();
    return oauth_error(error, description);
  };
  auto code = form.get("code");
  if (!code) return refused("invalid_request", "code is missing");
  auto redemption = parts_.codes.redeem(*code);
  if (!redemption) return oauth_error("temporarily_unavailable", "the store did not answer", 503);
  switch (redemption->outcome) {
    case Redemption::Outcome::redeemed:
      break;
    case Redemption::Outcome::already_used:
      // RFC 6749 §4.1.2: a code used twice may have been stolen.
      if (redemption->family_id) {
        (void)parts_.refresh_tokens.revoke_family(*redemption->family_id);
        announce_revocation();
      }
      return refused("invalid_grant", "the authorization code was already used");
    case Redemption::Outcome::expired:
      return refused("invalid_grant", "the authorization code has expired");
    case Redemption::Outcome::unknown:
      return refused("invalid_grant", "the authorization code is not valid");
  }
  const CodeGrant& granted = redemption->grant;
  if (granted.client_id != client.client_id) {
    return refused("invalid_grant", "the authorization code was issued to another client");
  }
  // §4.1.3: redirect_uri is required, and must match, when the authorization
  // request included it.
  if (!granted.redirect_uri.empty() && form.get_or("redirect_uri") != granted.redirect_uri) {
    return refused("invalid_grant", "redirect_uri does not match the authorization request");
  }
  if (!granted.code_challenge.empty()) {
    auto verifier = form.get("code_verifier");
    if (!verifier) return refused("invalid_request", "code_verifier is missing");
    if (!pkce_s256_matches(*verifier, granted.code_challenge)) {
      return refused("invalid_grant", "code_verifier does not match the code_challenge");
    }
  } else if (form.get("code_verifier")) {
    return refused("invalid_grant", "code_verifier sent for a code issued without code_challenge");
  }

  std::optional<RefreshRecord> family;
  std::optional<std::string> refresh_text;
  if (client.allows_grant("refresh_token")) {
    const std::int64_t validity = now() + std::int64_t{parts_.config.refresh_token_lifetime_days} * 86'400;
    auto keys = parts_.keys.keys();
    auto signed_ahead = sign_refresh_ahead(*keys, client.client_id, validity);
    if (!signed_ahead) return oauth_error("server_error", "cannot sign the refresh token", 500);
    auto issued = parts_.refresh_tokens.issue(granted.userid, client.client_id, granted.scope, validity,
                                              signed_ahead->second);
    if (!issued) return oauth_error("temporarily_unavailable", "the store did not answer", 503);
    family = std::move(issued).value();
    if (family->index == signed_ahead->second.index) refresh_text = std::move(signed_ahead->first);
    (void)parts_.codes.link_family(*code, family->family_id);
  }
  metrics_->code_grants->inc();
  return issue(client, granted.userid, "user", granted.scope, family ? family->family_id : std::string(),
               family ? &*family : nullptr, std::move(refresh_text));
}

net::Response OAuthServer::refresh_grant(const Client& client, const Form& form) {
  auto checked = presented_refresh_token(client, form);
  if (auto* refusal = std::get_if<net::Response>(&checked)) return std::move(*refusal);
  auto& presented = std::get<PresentedRefresh>(checked);
  auto exchange = parts_.refresh_tokens.exchange(presented.claims.token_id, client.client_id, presented.proof,
                                                 presented.child);
  if (exchange && exchange->outcome == Exchange::Outcome::unverified) {
    return refresh_checking_signature(client, form, presented);
  }
  return refreshed(client, form, presented, exchange);
}

core::Result<std::pair<std::string, MintedToken>> OAuthServer::sign_refresh_ahead(const KeySet& keys,
                                                                                   std::string_view client_id,
                                                                                   std::int64_t validity) {
  RefreshClaims claims;
  claims.issuer = parts_.keys.issuer_id();
  claims.token_id = core::time_ordered_uuid(parts_.clock.now());
  claims.client_id = std::string(client_id);
  claims.expires_at = validity;
  auto text = mint_refresh_token(keys, claims);
  if (!text) return core::fail(text.error());
  MintedToken minted{claims.token_id, validity, core::sha256_hex(*text)};
  return std::pair<std::string, MintedToken>(std::move(text).value(), std::move(minted));
}

// Checks what can be checked before the exchange. The signature is not among
// it: the store keeps the digest of every token it issued, and a presented
// token matching it is the token issued, byte for byte (the exchange
// compares them before it changes anything). Saves an RSA verification on
// every refresh; tokens from before digests were kept get one (`unverified`).
std::variant<net::Response, OAuthServer::PresentedRefresh> OAuthServer::presented_refresh_token(const Client& client,
                                                                                               const Form& form) {
  auto refused = [this](std::string_view error, std::string_view description) {
    metrics_->refused(error).inc();
    return oauth_error(error, description);
  };
  auto text = form.get("refresh_token");
  if (!text) return refused("invalid_request", "refresh_token is missing");
  auto claims = peek_refresh_token(*text);
  if (!claims) return refused("invalid_grant", "the refresh token is not valid");
  if (claims->issuer != parts_.keys.issuer_id()) return refused("invalid_grant", "the refresh token is not ours");
  if (claims->client_id != client.client_id) {
    return refused("invalid_grant", "the refresh token was issued to another client");
  }
  if (claims->expires_at + parts_.config.clock_tolerance.count() < now()) {
    return refused("invalid_grant", "the refresh token has expired");
  }
  PresentedRefresh presented;
  presented.text = std::string(*text);
  presented.claims = std::move(claims).value();
  presented.proof.digest = core::sha256_hex(presented.text);
  presented.proof.signature_checked = false;
  // The child is signed now, before the exchange, so the row written with it
  // keeps its digest. A grace answer or a refusal leaves that signature
  // unused; both are rare next to a rotation.
  if (parts_.config.rotate_refresh_tokens) {
    auto keys = parts_.keys.keys();
    auto child = sign_refresh_ahead(*keys, client.client_id, presented.claims.expires_at);
    if (!child) return oauth_error("server_error", "cannot sign the refresh token", 500);
    presented.child_text = std::move(child->first);
    presented.child = std::move(child->second);
  }
  return presented;
}

net::Response OAuthServer::refresh_checking_signature(const Client& client, const Form& form,
                                                      PresentedRefresh& presented) {
  auto keys = parts_.keys.keys();
  if (!read_refresh_token(*keys, presented.text)) {
    metrics_->refused("invalid_grant").inc();
    return oauth_error("invalid_grant", "the refresh token is not valid");
  }
  presented.proof.signature_checked = true;
  return refreshed(client, form, presented,
                   parts_.refresh_tokens.exchange(presented.claims.token_id, client.client_id, presented.proof,
                                                  presented.child));
}

net::Response OAuthServer::refreshed(const Client& client, const Form& form, const PresentedRefresh& presented,
                                     const core::Result<Exchange, store::StoreError>& exchange) {
  auto refused = [this](std::string_view error, std::string_view description) {
    metrics_->refused(error).inc();
    return oauth_error(error, description);
  };
  if (!exchange) return oauth_error("temporarily_unavailable", "the store did not answer", 503);
  metrics_->exchanged(exchange->outcome).inc();
  switch (exchange->outcome) {
    case Exchange::Outcome::rotated:
    case Exchange::Outcome::unchanged:
    case Exchange::Outcome::grace_repeat:
      break;
    case Exchange::Outcome::reuse_detected:
      announce_revocation();
      return refused("invalid_grant", "the refresh token was already used; its sign-in has been revoked");
    case Exchange::Outcome::revoked:
      return refused("invalid_grant", "the refresh token has been revoked");
    case Exchange::Outcome::expired:
      return refused("invalid_grant", "the refresh token has expired");
    case Exchange::Outcome::unknown:
    case Exchange::Outcome::unverified:
      return refused("invalid_grant", "the refresh token is not valid");
    case Exchange::Outcome::wrong_client:
      return refused("invalid_grant", "the refresh token was issued to another client");
  }
  const RefreshRecord& next = exchange->token;
  std::string scope = next.scope;
  if (auto narrower = form.get("scope")) {
    if (!scope_within(*narrower, next.scope)) {
      return refused("invalid_scope", "a refresh may narrow the scope, never widen it");
    }
    scope = join_scope(split_scope(*narrower));
  }
  metrics_->refresh_grants->inc();
  std::optional<std::string> refresh_text;
  if (presented.child && next.index == presented.child->index) refresh_text = presented.child_text;
  return issue(client, next.userid, "user", scope, next.family_id, &next, std::move(refresh_text));
}

net::Response OAuthServer::client_credentials_grant(const Client& client, const Form& form) {
  auto scope = granted_scope(client, form.get("scope"));
  if (!scope) {
    metrics_->refused("invalid_scope").inc();
    return oauth_error("invalid_scope", "the requested scope is not allowed for this client");
  }
  metrics_->client_credentials_grants->inc();
  return issue(client, client.client_id, "client", *scope, {}, nullptr);
}

net::Response OAuthServer::issue(const Client& client, std::string_view subject, std::string_view token_type,
                                 std::string_view scope, std::string_view family_id, const RefreshRecord* refresh,
                                 std::optional<std::string> refresh_text) {
  auto keys = parts_.keys.keys();
  const std::int64_t issued_at = now();
  AccessClaims access;
  access.issuer = parts_.keys.issuer_id();
  access.subject = std::string(subject);
  access.client_id = client.client_id;
  access.scope = std::string(scope);
  access.token_id = core::random_uuid();
  access.family_id = std::string(family_id);
  access.token_type = std::string(token_type);
  access.issued_at = issued_at;
  access.expires_at = issued_at + parts_.config.access_token_lifetime.count();
  auto access_token = mint_access_token(*keys, access);
  if (!access_token) return oauth_error("server_error", "cannot sign the access token", 500);

  core::JsonObjectWriter body(access_token->size() + 640);
  body.text("access_token", *access_token)
      .text("token_type", "Bearer")
      .number("expires_in", parts_.config.access_token_lifetime.count());
  if (!scope.empty()) body.text("scope", scope);
  if (refresh && refresh_text) {
    body.text("refresh_token", *refresh_text);
  } else if (refresh) {
    RefreshClaims claims;
    claims.issuer = parts_.keys.issuer_id();
    claims.token_id = refresh->index;
    claims.client_id = refresh->clientid;
    claims.expires_at = refresh->validity;
    auto refresh_token = mint_refresh_token(*keys, claims);
    if (!refresh_token) return oauth_error("server_error", "cannot sign the refresh token", 500);
    body.text("refresh_token", *refresh_token);
  }
  auto json = std::move(body).finish();
  if (!json) return oauth_error("server_error", "cannot write the token answer", 500);
  return no_store_json(200, std::move(*json));
}

}  // namespace ucedge::authz
