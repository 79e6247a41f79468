#pragma once
// Internal to ucedge_tls: the client-certificate rules of a policy, enforced
// inside the TLS handshake by OpenSSL's verify callback at depth 0, so a
// refused client gets a TLS alert and never reaches HTTP.
#include <openssl/ssl.h>

#include <string>
#include <vector>

#include "core/result.hpp"
#include "net/client_identity.hpp"
#include "net/tls/tls_config.hpp"

namespace ucedge::net::tls {

struct ClientCertificateRules {
  std::string interface;                    // for log lines
  std::vector<std::string> allowed_common_names;  // empty = any
  std::vector<std::string> required_eku_oids;     // dotted
  bool refuse_subject_alt_names = false;
};

// Why `certificate` breaks `rules`, or "" when it keeps them.
std::string rule_violation(const ClientCertificateRules& rules, X509* certificate);

// Sets the verify mode of `ctx` from policy.client_auth and, unless it is
// off, attaches the rules (owned by the SSL_CTX from then on) and the callback.
core::Result<void, std::string> install_client_verification(SSL_CTX* ctx, const TlsPolicy& policy,
                                                            const std::string& interface);

ClientIdentity identity_of(X509* certificate);

}  // namespace ucedge::net::tls
