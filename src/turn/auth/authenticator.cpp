#include "turn/auth/authenticator.hpp"

namespace ucedge::turn {

namespace {

constexpr std::string_view kUnauthorized = "Unauthorized";

AuthOutcome answer(AuthOutcome::Kind kind, int code, std::string_view reason, std::string_view label) {
  AuthOutcome out;
  out.kind = kind;
  out.error_code = code;
  out.reason = reason;
  out.failure_label = label;
  return out;
}

AuthOutcome unauthorized(std::string_view label) {
  return answer(AuthOutcome::Kind::bad_credentials, 401, kUnauthorized, label);
}

}  // namespace

Authenticator::Authenticator(AuthSettings settings, const CredentialStore& credentials,
                             const NonceIssuer& nonces, const core::Clock& clock)
    : settings_(std::move(settings)), credentials_(credentials), nonces_(nonces), clock_(clock) {}

// RFC 8489 §9.2.4, in its order: credentials present at all, then the
// attributes they need, the nonce, the user, and last the integrity.
AuthOutcome Authenticator::authenticate(const stun::Message& request,
                                        const stun::TransportAddress& client) const {
  if (!request.integrity_index() && !request.integrity_sha256_index()) {
    return answer(AuthOutcome::Kind::challenge, 401, kUnauthorized, "no_credentials");
  }
  const auto username_attr = request.find(stun::attr::username);
  const auto realm_attr = request.find(stun::attr::realm);
  const auto nonce_attr = request.find(stun::attr::nonce);
  if (!username_attr || !realm_attr || !nonce_attr) {
    return answer(AuthOutcome::Kind::bad_request, 400, "Bad Request", "bad_request");
  }
  const std::string_view username = stun::as_text(*username_attr);
  const std::string_view realm = stun::as_text(*realm_attr);

  // A nonce that is not ours (another node's key, a restart with a new key)
  // is answered like an expired one, so the client retries with the fresh
  // nonce at once instead of giving up on a 401.
  switch (nonces_.check(stun::as_text(*nonce_attr), client)) {
    case NonceIssuer::Verdict::valid: break;
    case NonceIssuer::Verdict::stale:
      return answer(AuthOutcome::Kind::stale_nonce, 438, "Stale Nonce", "stale_nonce");
    case NonceIssuer::Verdict::invalid:
      return answer(AuthOutcome::Kind::stale_nonce, 438, "Stale Nonce", "bad_nonce");
  }
  if (realm != settings_.realm) return unauthorized("wrong_realm");

  bool key_found = false;
  auto accept = [&](const LongTermKey& key) -> bool {
    key_found = true;
    return stun::check_integrity(request, key) == stun::Check::valid;
  };
  AuthOutcome accepted = answer(AuthOutcome::Kind::accepted, 0, {}, {});
  // A long-term user first, then the REST API secrets (a user may well be
  // called "1700000000:alice").
  if (settings_.long_term_users) {
    if (auto key = credentials_.user_key(username, realm); key && accept(*key)) {
      accepted.username = std::string(username);
      accepted.key = *key;
      return accepted;
    }
  }
  bool expired = false;
  if (settings_.shared_secrets) {
    const std::int64_t now =
        std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count();
    auto keys = credentials_.rest_keys(username, realm, now);
    if (keys) {
      for (const auto& key : *keys) {
        if (accept(key)) {
          accepted.username = std::string(username);
          accepted.key = key;
          return accepted;
        }
      }
    } else {
      expired = keys.error() == CredentialStore::RestError::expired;
    }
  }
  if (!key_found) return unauthorized(expired ? "expired" : "unknown_user");
  if (settings_.integrity_failure_431) {
    return answer(AuthOutcome::Kind::integrity_failure, 431, "Integrity Check Failure", "bad_integrity");
  }
  return unauthorized("bad_integrity");
}

}  // namespace ucedge::turn
