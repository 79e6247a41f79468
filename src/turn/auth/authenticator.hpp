#pragma once
// The long-term credential mechanism (RFC 8489 §9.2.4) as a TURN server runs
// it on every request but Binding: which answer a request gets before the
// server acts on it.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "turn/auth/credentials.hpp"
#include "turn/auth/nonce.hpp"
#include "turn/codec/stun.hpp"

namespace ucedge::turn {

struct AuthSettings {
  std::string realm = "ucedge";
  // Answer an integrity failure with 431 "Integrity Check Failure", as an
  // Expressway does, instead of RFC 8489's 401.
  bool integrity_failure_431 = false;
  bool long_term_users = true;   // users from the store
  bool shared_secrets = true;    // TURN REST API usernames
};

struct AuthOutcome {
  enum class Kind {
    accepted,           // key and username are set
    challenge,          // 401 with REALM and a fresh NONCE (no credentials sent)
    bad_credentials,    // 401 with REALM and NONCE (unknown user, expired REST name, bad MI)
    integrity_failure,  // 431 (compat) — only when integrity_failure_431 is on, else bad_credentials
    stale_nonce,        // 438 with REALM and a fresh NONCE
    bad_request,        // 400: USERNAME/REALM/NONCE missing while MI is present
  };
  Kind kind = Kind::challenge;
  int error_code = 401;
  std::string_view reason;          // for the error answer
  std::string_view failure_label;   // for metrics: "no_credentials", "unknown_user", "bad_integrity",
                                    // "expired", "stale_nonce", "bad_request"
  std::string username;             // as sent (accepted only)
  LongTermKey key{};                // accepted only
};

class Authenticator {
 public:
  Authenticator(AuthSettings settings, const CredentialStore& credentials, const NonceIssuer& nonces,
                const core::Clock& clock = core::RealClock::instance());

  AuthOutcome authenticate(const stun::Message& request, const stun::TransportAddress& client) const;

  // For the error answers: the realm and a fresh nonce to send.
  const std::string& realm() const { return settings_.realm; }
  std::string nonce_for(const stun::TransportAddress& client) const { return nonces_.issue(client); }

 private:
  AuthSettings settings_;
  const CredentialStore& credentials_;
  const NonceIssuer& nonces_;
  const core::Clock& clock_;
};

}  // namespace ucedge::turn
