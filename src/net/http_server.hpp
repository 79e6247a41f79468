#pragma once
// The HTTP/1.1 server on Boost.Beast: plain and TLS listeners, one acceptor
// per listener and io_context (SO_REUSEPORT), a session per connection with
// limits on header size, body size and the time each phase may take.
// Beast itself stays inside http_server.cpp.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "net/http_server_config.hpp"

namespace ucedge::core {
class IoPool;
class MetricsRegistry;
}  // namespace ucedge::core

namespace ucedge::net {

namespace tls {
class TlsContexts;
}
class Router;

struct BoundListener {
  std::string name;
  std::string host;
  std::uint16_t port = 0;
  bool tls = false;
};

// Threads running the handlers routed Runs::on_worker: `worker_threads`, or
// kWorkerThreadsPerCore per core when it is 0. More threads than cores, so
// that while some wait on a commit the others keep every core busy.
inline constexpr std::size_t kWorkerThreadsPerCore = 16;
std::size_t worker_thread_count(const HttpConfig& config);

class HttpServer {
 public:
  // `tls` may be null when no listener uses TLS.
  HttpServer(core::IoPool& pool, HttpConfig config, const Router& router,
             std::shared_ptr<tls::TlsContexts> tls, core::MetricsRegistry& metrics);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds every listener and starts accepting; an error names the address.
  core::Result<std::vector<BoundListener>> start();
  // Stops accepting, closes idle connections, lets requests in flight finish
  // and answer (with "Connection: close"), and returns once every connection
  // is closed or `grace` has passed, closing what is left.
  void shutdown(std::chrono::milliseconds grace);
  std::size_t open_connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ucedge::net
