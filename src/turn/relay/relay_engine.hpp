#pragma once
// The relay threads and the listeners they share: binds every thread's socket
// on each configured STUN/TURN listener and exposes the live allocations.
#include <memory>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "turn/relay/relay_shared.hpp"
#include "turn/relay_view.hpp"

namespace ucedge::turn {

class Worker;

struct BoundListener {
  std::string name;      // "turn_udp", "turn_tcp", "turn_tls"
  std::string host;
  std::uint16_t port = 0;
  std::string protocol;  // "udp", "tcp", "tls"
};

class RelayEngine : public RelayView {
 public:
  RelayEngine(RelayShared& shared, int threads);
  ~RelayEngine() override;

  core::Result<std::vector<BoundListener>> start();
  void stop();

  std::vector<AllocationInfo> allocations() const override;

 private:
  RelayShared& shared_;
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace ucedge::turn
