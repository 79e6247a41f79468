#include "turn/service.hpp"

#include <arpa/inet.h>
#include <spdlog/spdlog.h>

#include "core/log.hpp"
#include "net/listen_address.hpp"
#include "turn/admin/admin_routes.hpp"
#include "turn/admin/probe.hpp"
#include "turn/admin/turn_servers.hpp"

namespace ucedge::turn {

namespace {

std::optional<stun::TransportAddress> address_of(const std::string& ip, std::uint16_t port = 0) {
  stun::TransportAddress a;
  a.port = port;
  std::string host = ip == "localhost" ? "127.0.0.1" : ip;
  if (::inet_pton(AF_INET, host.c_str(), a.ip.data()) == 1) return a;
  a.family = stun::TransportAddress::Family::ipv6;
  if (::inet_pton(AF_INET6, host.c_str(), a.ip.data()) == 1) return a;
  return std::nullopt;
}

void add_listen(std::vector<stun::TransportAddress>& out, const std::string& text) {
  if (text.empty()) return;
  auto parsed = net::parse_listen_address(text);
  if (!parsed) return;
  if (auto a = address_of(parsed->host, parsed->port)) out.push_back(*a);
}

void add_listen(std::vector<stun::TransportAddress>& out, const std::vector<std::string>& list) {
  for (const auto& text : list) add_listen(out, text);
}

}  // namespace

TurnService::TurnService(const TurnConfig& config, int threads, store::Store& store, const core::SecretBox& secrets,
                         core::MetricsRegistry& metrics, std::vector<std::string> other_addresses)
    : config_(config),
      threads_(config.threads > 0 ? config.threads : std::max(1, threads)),
      store_(store),
      secrets_(secrets),
      metrics_(metrics),
      other_addresses_(std::move(other_addresses)),
      credentials_(store, secrets) {}

TurnService::~TurnService() { stop(); }

core::Result<void> TurnService::open() {
  if (auto loaded = credentials_.load(); !loaded) return core::fail("TURN credentials: " + loaded.error());
  // Nonces stay valid across a restart and on every node sharing the master key.
  const std::string nonce_key = secrets_.keyed_hash("turn nonce key");
  nonces_ = std::make_unique<NonceIssuer>(
      std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(nonce_key.data()), nonce_key.size()),
      config_.nonce_lifetime);
  AuthSettings settings;
  settings.realm = config_.realm;
  settings.integrity_failure_431 = config_.integrity_failure_431;
  settings.long_term_users = config_.long_term_credentials;
  settings.shared_secrets = config_.shared_secrets;
  authenticator_ = std::make_unique<Authenticator>(settings, credentials_, *nonces_);

  OwnAddresses own;
  add_listen(own.listen, config_.listen_udp);
  add_listen(own.listen, config_.listen_tcp);
  add_listen(own.listen, config_.listen_tls);
  for (const auto& other : other_addresses_) add_listen(own.listen, other);
  for (const auto* ip : {&config_.relay_address, &config_.relay_address_v6, &config_.external_address,
                         &config_.external_address_v6}) {
    if (auto a = ip->empty() ? std::nullopt : address_of(*ip)) own.relayed.push_back(*a);
  }
  own.relay_port_min = config_.relay_port_min;
  own.relay_port_max = config_.relay_port_max;
  auto policy = AddressPolicy::create(config_.allow_peers, config_.deny_peers, std::move(own));
  if (!policy) return core::fail("turn: " + policy.error());
  policy_.emplace(std::move(policy).value());

  shared_ = std::make_unique<RelayShared>(config_, *authenticator_, *policy_, metrics_);
  engine_ = std::make_unique<RelayEngine>(*shared_, threads_);
  registry_ = std::make_unique<TurnServerRegistry>(store_, secrets_);
  probe_ = std::make_unique<TurnProbe>();
  return {};
}

void TurnService::add_routes(net::Router& router, const std::function<net::Handler(net::Handler)>& admin) {
  if (!registry_) return;
  add_turn_admin_routes(router, admin, *registry_, *probe_, engine_.get());
}

core::Result<std::vector<BoundListener>> TurnService::start(TlsContextSource tls) {
  shared_->tls = std::move(tls);
  auto bound = engine_->start();
  if (!bound) return bound;
  refresher_ = std::thread([this] {
    auto log = core::logger("turn");
    std::unique_lock lock(refresher_mutex_);
    while (!refresher_wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; })) {
      lock.unlock();
      if (auto refreshed = credentials_.refresh(); !refreshed) {
        log->warn("cannot re-read TURN credentials, the previous ones stay in use: {}", refreshed.error());
      }
      lock.lock();
    }
  });
  return bound;
}

void TurnService::stop() {
  {
    std::lock_guard lock(refresher_mutex_);
    stopping_ = true;
  }
  refresher_wake_.notify_all();
  if (refresher_.joinable()) refresher_.join();
  if (engine_) engine_->stop();
}

}  // namespace ucedge::turn
