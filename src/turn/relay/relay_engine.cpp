#include "turn/relay/relay_engine.hpp"

#include <arpa/inet.h>

#include "net/listen_address.hpp"
#include "turn/relay/worker.hpp"

namespace ucedge::turn {

namespace {

core::Result<Endpoint> endpoint_of(const std::string& text) {
  auto parsed = net::parse_listen_address(text);
  if (!parsed) return core::fail("bad listen address " + text);
  std::string host = parsed->host == "localhost" ? "127.0.0.1" : parsed->host;
  stun::TransportAddress a;
  a.port = parsed->port;
  if (::inet_pton(AF_INET, host.c_str(), a.ip.data()) == 1) {
    a.family = stun::TransportAddress::Family::ipv4;
  } else if (::inet_pton(AF_INET6, host.c_str(), a.ip.data()) == 1) {
    a.family = stun::TransportAddress::Family::ipv6;
  } else {
    return core::fail("bad listen address " + text);
  }
  return Endpoint::from(a);
}

}  // namespace

RelayEngine::RelayEngine(RelayShared& shared, int threads) : shared_(shared) {
  if (threads < 1) threads = 1;
  shared_.challenges_per_second_per_thread = 20'000.0 / threads;
  for (int i = 0; i < threads; ++i) workers_.push_back(std::make_unique<Worker>(shared_, i));
}

RelayEngine::~RelayEngine() { stop(); }

core::Result<std::vector<BoundListener>> RelayEngine::start() {
  std::vector<BoundListener> bound;
  struct Wanted {
    const std::vector<std::string>* addresses;
    const char* name;
    const char* protocol;
    bool datagram;
    ClientTransport transport;
  };
  const Wanted wanted[] = {
      {&shared_.config.listen_udp, "turn_udp", "udp", true, ClientTransport::udp},
      {&shared_.config.listen_tcp, "turn_tcp", "tcp", false, ClientTransport::tcp},
      {&shared_.config.listen_tls, "turn_tls", "tls", false, ClientTransport::tls},
  };
  for (const auto& w : wanted) {
    for (std::size_t i = 0; i < w.addresses->size(); ++i) {
      auto address = endpoint_of((*w.addresses)[i]);
      if (!address) return core::fail("turn: " + address.error());
      // The first thread may pick the port (port 0); the others join it.
      Endpoint target = *address;
      for (auto& worker : workers_) {
        auto local = w.datagram ? worker->listen_udp(target) : worker->listen_stream(target, w.transport);
        if (!local) return core::fail("turn: " + local.error());
        target = *local;
      }
      // "turn_udp", then "turn_udp_2", ... for further addresses.
      std::string name = i == 0 ? w.name : std::string(w.name) + "_" + std::to_string(i + 1);
      bound.push_back({std::move(name), target.ip_string(), target.port(), w.protocol});
    }
  }
  for (auto& worker : workers_) worker->start();
  return bound;
}

void RelayEngine::stop() {
  for (auto& worker : workers_) worker->stop();
}

std::vector<AllocationInfo> RelayEngine::allocations() const {
  std::vector<AllocationInfo> out;
  for (const auto& worker : workers_) worker->snapshot(out);
  return out;
}

}  // namespace ucedge::turn
