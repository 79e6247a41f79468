#pragma once
// What the endpoint files of OAuthServer share; not part of the module's API.
#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "authz/directory/clients.hpp"
#include "authz/oauth/oauth_server.hpp"
#include "core/metrics.hpp"

namespace ucedge::authz {

struct OAuthServer::Metrics {
  explicit Metrics(core::MetricsRegistry& registry);
  core::Counter& refused(std::string_view error);
  core::Counter& exchanged(Exchange::Outcome outcome) { return *exchanges[static_cast<std::size_t>(outcome)]; }

  core::MetricsRegistry& registry;
  core::Counter* code_grants;
  core::Counter* refresh_grants;
  core::Counter* client_credentials_grants;
  core::Counter* logins_ok;
  core::Counter* logins_failed;
  core::Counter* logins_limited;
  core::Counter* introspections_active;
  core::Counter* introspections_inactive;
  core::Counter* revocations;
  std::array<core::Counter*, 8> exchanges;  // by Exchange::Outcome
};

// The body is application/x-www-form-urlencoded (parameters may follow).
bool is_form_post(const net::Request& request);

// Splits a space-separated scope; empty parts are dropped.
std::vector<std::string> split_scope(std::string_view scope);
std::string join_scope(const std::vector<std::string>& scopes);
// The scope a client gets for `requested`: its allowed scopes when nothing
// was requested; nullopt when it asks for one it may not have.
std::optional<std::string> granted_scope(const Client& client, std::optional<std::string_view> requested);
// `requested` within `granted` (a refresh may narrow, never widen; RFC 6749 §6).
bool scope_within(std::string_view requested, std::string_view granted);

}  // namespace ucedge::authz
