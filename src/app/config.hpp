#pragma once
// The whole configuration of one ucedge node: every module's table, parsed and
// validated together so `ucedge config check` reports every error at once.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "authz/config.hpp"
#include "core/config_table.hpp"
#include "core/log.hpp"
#include "core/result.hpp"
#include "net/http_server_config.hpp"
#include "net/tls/tls_config.hpp"
#include "prov/config.hpp"
#include "store/store_config.hpp"
#include "turn/config.hpp"

namespace ucedge::app {

struct Config {
  std::string source;                  // file it came from, or "(built-in defaults)"
  std::filesystem::path data_dir;      // [server] data_dir, made absolute
  int threads = 0;                     // [server] threads, 0 = one per core
  std::chrono::milliseconds shutdown_timeout{10'000};
  core::LogConfig log;                 // [log]
  net::HttpConfig http;                // [http]: listeners, limits, timeouts
  net::tls::TlsSettings tls;           // [tls]
  store::StoreConfig store;            // [store]
  prov::ProvConfig prov;               // [prov]
  turn::TurnConfig turn;               // [turn]
  authz::AuthzConfig authz;            // [authz]
};

// The text of etc/ucedge.toml, compiled into the binary: the embedded default.
std::string_view embedded_default_config();

// Parses `text` (named `file_name` in errors). Relative data_dir is resolved
// against the current directory.
core::Result<Config, core::ConfigErrors> parse_config(std::string_view text, std::string file_name);
// Loads a file, or the embedded default when `file` is empty.
core::Result<Config, core::ConfigErrors> load_config(const std::filesystem::path& file);

}  // namespace ucedge::app
