#pragma once
// The authorization module as the daemon runs it: users, clients, keys,
// refresh tokens, revocations, the OAuth endpoints, the admin API and two
// background jobs: a once-a-second refresh of what the CLI or another node
// changed (clients, keys, revocations), and the daily purge.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "authz/config.hpp"
#include "authz/directory/clients.hpp"
#include "authz/directory/users.hpp"
#include "authz/jose/key_ring.hpp"
#include "authz/oauth/codes.hpp"
#include "authz/oauth/oauth_server.hpp"
#include "authz/tokens/purge.hpp"
#include "authz/tokens/refresh_tokens.hpp"
#include "authz/tokens/revocations.hpp"
#include "core/clock.hpp"
#include "core/metrics.hpp"
#include "core/result.hpp"
#include "core/secret_box.hpp"
#include "net/router.hpp"
#include "store/store.hpp"

namespace ucedge::authz {

// Settings the parts take, derived from [authz].
KeyRingSettings key_ring_settings(const AuthzConfig& config);
RotationSettings rotation_settings(const AuthzConfig& config);
PurgeSettings purge_settings(const AuthzConfig& config);
// How long after a revocation an access token issued before it may still be
// presented: its lifetime plus the clock tolerance.
std::chrono::seconds revocation_horizon(const AuthzConfig& config);

class AuthzService {
 public:
  AuthzService(const AuthzConfig& config, store::Store& store, const core::SecretBox& secrets,
               core::MetricsRegistry& metrics, const core::Clock& clock = core::RealClock::instance());
  ~AuthzService();
  AuthzService(const AuthzService&) = delete;
  AuthzService& operator=(const AuthzService&) = delete;

  // Loads keys (creating them on a new store), clients and revocations, and
  // registers the sample client when asked to.
  core::Result<void> open();
  void add_routes(net::Router& router, const std::function<net::Handler(net::Handler)>& admin);
  // Starts the refresher and the purge schedule. `node_id` names this node
  // in the cluster key view (/api/v1/authz/keys).
  void start(std::string node_id);
  void stop();

  KeyRing& keys() { return keys_; }
  ClientRegistry& clients() { return clients_; }
  OAuthServer& oauth() { return *oauth_; }

 private:
  void add_admin_routes(net::Router& router, const std::function<net::Handler(net::Handler)>& admin);
  void background();
  void refresh_once();
  void run_purge();
  void record_node_keys();
  // Re-reads what `what` names (a kSignalChannel payload) and tells the other nodes.
  void announce(std::string_view what);
  void on_signal(const std::string& what);

  const AuthzConfig& config_;
  store::Store& store_;
  core::MetricsRegistry& metrics_;
  std::string node_id_;  // set by start(), before the worker runs
  const core::Clock& clock_;

  KeyRing keys_;
  Revocations revocations_;
  RefreshTokenStore refresh_tokens_;
  UserDirectory users_;
  ClientRegistry clients_;
  AuthorizationCodes codes_;
  Purger purger_;
  std::unique_ptr<OAuthServer> oauth_;

  std::unique_ptr<store::Subscription> signals_;
  std::thread worker_;
  std::thread purge_thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool purge_requested_ = false;
  std::atomic<bool> stop_purge_{false};
  std::optional<PurgeReport> last_purge_;  // under mutex_
  bool purging_ = false;                   // under mutex_
  std::string last_purge_error_;           // under mutex_
};

}  // namespace ucedge::authz
