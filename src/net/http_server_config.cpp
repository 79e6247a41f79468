#include "net/http_server_config.hpp"

#include "core/config_table.hpp"
#include "net/listen_address.hpp"

namespace ucedge::net {

HttpConfig parse_http_config(core::ConfigTable& table) {
  using namespace std::chrono_literals;
  HttpConfig c;
  struct Listener {
    const char* key;
    const char* name;
    const char* fallback;
    bool tls;
  };
  const Listener listeners[] = {
      {"listen", "http", "127.0.0.1:8080", false},
      {"listen_tls", "https", "127.0.0.1:8443", true},
      {"listen_client_cert", "https_client_cert", "127.0.0.1:8444", true},
  };
  for (const auto& l : listeners) {
    std::string address = listen_address_key(table, l.key, l.fallback);
    if (address.empty() || !parse_listen_address(address)) continue;  // "" turns the listener off
    c.listeners.push_back({l.name, address, l.tls, l.tls ? "https" : ""});
  }
  c.max_header_bytes = static_cast<std::size_t>(table.integer("max_header_size", 16 * 1024, 1024, 1024 * 1024));
  c.max_body_bytes = static_cast<std::size_t>(table.integer("max_body_size", 1024 * 1024, 0, 1LL << 32));
  c.header_timeout = table.duration("header_timeout", c.header_timeout, 100ms, 10min);
  c.body_timeout = table.duration("body_timeout", c.body_timeout, 100ms, 1h);
  c.idle_timeout = table.duration("idle_timeout", c.idle_timeout, 100ms, 1h);
  c.max_requests_per_connection = static_cast<std::size_t>(
      table.integer("max_requests_per_connection", 10'000, 1, 1'000'000'000));
  c.max_connections = static_cast<std::size_t>(table.integer("max_connections", 10'000, 1, 1'000'000));
  c.access_log = table.boolean("access_log", c.access_log);
  c.worker_threads = static_cast<std::size_t>(table.integer("worker_threads", 0, 0, 1024));
  table.finish();
  return c;
}

}  // namespace ucedge::net
