#pragma once
// The [http] table: where the HTTP(S) listeners bind and the limits every
// connection lives under.
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace ucedge::core {
class ConfigTable;
}

namespace ucedge::net {

struct ListenerConfig {
  std::string name;       // "http", "https", "https_client_cert": also the TLS interface name
  std::string address;    // "host:port" or "[v6]:port"; port 0 = any free port
  bool tls = false;
  std::string transport;  // TLS transport level name ("https")
};

struct HttpConfig {
  std::vector<ListenerConfig> listeners;
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds body_timeout{30'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::size_t max_requests_per_connection = 10'000;
  std::size_t max_connections = 10'000;
  bool access_log = true;
  std::size_t worker_threads = 0;  // 0 = kWorkerThreadsPerCore per core (http_server.hpp)
};

HttpConfig parse_http_config(core::ConfigTable& table);

}  // namespace ucedge::net
