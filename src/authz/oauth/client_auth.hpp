#pragma once
// Who is calling the token, introspection and revocation endpoints
// (RFC 6749 §2.3): HTTP Basic (client_secret_basic, the id and secret
// form-encoded before base64, §2.3.1), client_id and client_secret in the
// body (client_secret_post), or a public client naming itself with client_id
// alone. Using two methods at once is refused. Failures are counted per
// address, and an address past its limit is refused until the minute ends.
#include <memory>
#include <string>

#include "authz/directory/clients.hpp"
#include "authz/oauth/form.hpp"
#include "core/failure_limiter.hpp"
#include "net/http.hpp"

namespace ucedge::authz {

struct ClientAuthentication {
  std::shared_ptr<const Client> client;  // set when authenticated
  net::Response refusal;                 // the answer otherwise
};

class ClientAuthenticator {
 public:
  ClientAuthenticator(const ClientRegistry& clients, core::FailureLimiter& failures);

  // `allow_public`: whether a public client may name itself without a secret.
  ClientAuthentication authenticate(const net::Request& request, const Form& form, bool allow_public);

 private:
  const ClientRegistry& clients_;
  core::FailureLimiter& failures_;
};

}  // namespace ucedge::authz
