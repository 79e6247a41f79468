// /oauth2/introspect (RFC 7662) and /oauth2/revoke (RFC 7009).

#include "authz/jose/tokens.hpp"
#include "authz/oauth/oauth_error.hpp"
#include "authz/oauth/oauth_internal.hpp"
#include "core/json_writer.hpp"

namespace ucedge::authz {

namespace {

const std::string kInactive = R"({"active":false})";

}  // namespace

net::Response OAuthServer::introspect(net::Request& request) {
  if (!is_form_post(request)) return oauth_error("invalid_request", "send the parameters as application/x-www-form-urlencoded");
  auto form = parse_form(request.body);
  if (!form) return oauth_error("invalid_request", form.error().describe());
  // Only confidential clients (resource servers) may ask (RFC 7662 §2.1).
  auto caller = client_auth_.authenticate(request, *form, false);
  if (!caller.client) return std::move(caller.refusal);
  auto token = form->get("token");
  if (!token) return oauth_error("invalid_request", "token is missing");

  const std::int64_t current = now();
  const std::int64_t tolerance = parts_.config.clock_tolerance.count();
  auto keys = parts_.keys.keys();
  auto inactive = [this] {
    metrics_->introspections_inactive->inc();
    return no_store_json(200, kInactive);
  };
  auto active = [this](core::JsonObjectWriter&& answer) {
    auto json = std::move(answer).finish();
    if (!json) return oauth_error("server_error", "cannot write the introspection answer", 500);
    metrics_->introspections_active->inc();
    return no_store_json(200, std::move(*json));
  };

  // The hint only decides which kind is tried first (§2.1).
  const bool refresh_first = form->get_or("token_type_hint") == "refresh_token";
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool as_refresh = (attempt == 0) == refresh_first;
    if (!as_refresh) {
      auto claims = verified_.read(keys, *token);
      if (!claims) continue;
      if (claims->issuer != parts_.keys.issuer_id() || claims->expires_at + tolerance < current ||
          claims->issued_at > current + tolerance || parts_.revocations.revoked(*claims)) {
        return inactive();
      }
      core::JsonObjectWriter answer(320);
      answer.boolean("active", true)
          .text("token_type", "Bearer")
          .text("client_id", claims->client_id)
          .text("sub", claims->subject)
          .number("exp", claims->expires_at)
          .number("iat", claims->issued_at)
          .text("iss", claims->issuer)
          .text("jti", claims->token_id);
      if (!claims->scope.empty()) answer.text("scope", claims->scope);
      if (claims->token_type == "user") answer.text("username", claims->subject);
      return active(std::move(answer));
    }
    auto claims = read_refresh_token(*keys, *token);
    if (!claims) continue;
    if (claims->issuer != parts_.keys.issuer_id() || claims->expires_at + tolerance < current) return inactive();
    auto record = parts_.refresh_tokens.find(claims->token_id);
    if (!record) return oauth_error("temporarily_unavailable", "the store did not answer", 503);
    if (!record->has_value() || (*record)->state != RefreshState::active) return inactive();
    const RefreshRecord& r = **record;
    core::JsonObjectWriter answer(320);
    answer.boolean("active", true)
        .text("token_type", "refresh_token")
        .text("client_id", r.clientid)
        .text("sub", r.userid)
        .text("username", r.userid)
        .number("exp", r.validity)
        .number("iat", r.issued_at)
        .text("iss", claims->issuer);
    if (!r.scope.empty()) answer.text("scope", r.scope);
    return active(std::move(answer));
  }
  return inactive();
}

net::Response OAuthServer::revoke(net::Request& request) {
  if (!is_form_post(request)) return oauth_error("invalid_request", "send the parameters as application/x-www-form-urlencoded");
  auto form = parse_form(request.body);
  if (!form) return oauth_error("invalid_request", form.error().describe());
  auto caller = client_auth_.authenticate(request, *form, true);
  if (!caller.client) return std::move(caller.refusal);
  auto token = form->get("token");
  if (!token) return oauth_error("invalid_request", "token is missing");
  metrics_->revocations->inc();

  // §2.2: an invalid token, or one of another client, gets the same 200 as a
  // revoked one, so the answer tells nothing about tokens.
  auto done = [] {
    net::Response response;
    response.status = 200;
    response.set("Cache-Control", "no-store");
    return response;
  };
  auto keys = parts_.keys.keys();
  if (auto refresh = read_refresh_token(*keys, *token);
      refresh && refresh->client_id == caller.client->client_id && refresh->issuer == parts_.keys.issuer_id()) {
    auto record = parts_.refresh_tokens.find(refresh->token_id);
    if (!record) return oauth_error("temporarily_unavailable", "the store did not answer", 503);
    if (record->has_value()) {
      // Revoking a refresh token ends its whole sign-in, access tokens included.
      if (!parts_.refresh_tokens.revoke_family((*record)->family_id)) {
        return oauth_error("temporarily_unavailable", "the store did not answer", 503);
      }
      announce_revocation();
    }
    return done();
  }
  if (auto access = read_access_token(*keys, *token);
      access && access->client_id == caller.client->client_id && access->issuer == parts_.keys.issuer_id()) {
    if (!parts_.revocations.revoke_token(parts_.store, access->token_id)) {
      return oauth_error("temporarily_unavailable", "the store did not answer", 503);
    }
    announce_revocation();
  }
  return done();
}

}  // namespace ucedge::authz
