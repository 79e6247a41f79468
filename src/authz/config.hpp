#pragma once
// The [authz] table: token lifetimes, refresh-token rotation, key rotation,
// the daily purge, sign-in limits and the login page's branding.
#include <chrono>
#include <string>

#include "authz/oauth/login_page.hpp"

namespace ucedge::core {
class ConfigTable;
}

namespace ucedge::authz {

struct AuthzConfig {
  bool enabled = true;
  // The "issuer" of RFC 8414 metadata, an http(s) URL without query or
  // fragment; "" = the URL of the listener the request came in on.
  std::string issuer;

  std::chrono::seconds access_token_lifetime{3600};
  int refresh_token_lifetime_days = 60;  // seed 001: 1 to 90, default 60
  std::chrono::seconds code_lifetime{60};
  std::chrono::seconds clock_tolerance{30};  // leeway on exp/iat/nbf

  bool rotate_refresh_tokens = true;
  std::chrono::seconds rotation_grace_period{10};
  int rotation_grace_reuses = 5;

  std::chrono::seconds jwks_max_age{300};  // JWKS Cache-Control; a new signing key waits this long

  int purge_hour = 2;  // purge_at = "HH:MM", local time
  int purge_minute = 0;
  int purge_batch = 1000;
  std::chrono::milliseconds purge_pause{20};

  int login_failures_per_user = 5;      // per minute
  int login_failures_per_address = 20;  // per minute; also client authentication
  bool sample_client = true;            // creates the public client "ucedge-sample" on first start

  LoginBranding login;                  // [authz.login]
};

AuthzConfig parse_authz_config(core::ConfigTable& table);

}  // namespace ucedge::authz
