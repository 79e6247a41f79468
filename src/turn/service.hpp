#pragma once
// The STUN/TURN module as the daemon runs it: credentials (long-term users and
// REST API secrets from the store), nonces, the peer address policy, the relay
// threads, and the admin API (turnServers registry with its probe, live
// allocations).
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/metrics.hpp"
#include "core/result.hpp"
#include "core/secret_box.hpp"
#include "net/router.hpp"
#include "store/store.hpp"
#include "turn/address_policy.hpp"
#include "turn/auth/authenticator.hpp"
#include "turn/auth/credentials.hpp"
#include "turn/auth/nonce.hpp"
#include "turn/config.hpp"
#include "turn/relay/relay_engine.hpp"
#include "turn/relay/relay_shared.hpp"

namespace ucedge::turn {

class TurnServerRegistry;
class TurnProbe;

class TurnService {
 public:
  // `other_addresses`: the daemon's other listeners ("host:port"), which the
  // relay must not reach either.
  TurnService(const TurnConfig& config, int threads, store::Store& store, const core::SecretBox& secrets,
              core::MetricsRegistry& metrics, std::vector<std::string> other_addresses);
  ~TurnService();
  TurnService(const TurnService&) = delete;
  TurnService& operator=(const TurnService&) = delete;

  // Loads credentials and builds the peer policy.
  core::Result<void> open();
  void add_routes(net::Router& router, const std::function<net::Handler(net::Handler)>& admin);
  core::Result<std::vector<BoundListener>> start(TlsContextSource tls);
  void stop();

 private:
  const TurnConfig& config_;
  const int threads_;
  store::Store& store_;
  const core::SecretBox& secrets_;
  core::MetricsRegistry& metrics_;
  const std::vector<std::string> other_addresses_;

  CredentialStore credentials_;
  std::unique_ptr<NonceIssuer> nonces_;
  std::unique_ptr<Authenticator> authenticator_;
  std::optional<AddressPolicy> policy_;
  std::unique_ptr<RelayShared> shared_;
  std::unique_ptr<RelayEngine> engine_;
  std::unique_ptr<TurnServerRegistry> registry_;
  std::unique_ptr<TurnProbe> probe_;

  // Picks up users and secrets changed by the CLI or another node.
  std::thread refresher_;
  std::mutex refresher_mutex_;
  std::condition_variable refresher_wake_;
  bool stopping_ = false;
};

}  // namespace ucedge::turn
