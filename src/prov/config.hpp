#pragma once
// The [prov] table: the provisioning root, its transports (HTTP routes under
// url_prefix, TFTP, device syslog, the SIP source of resync NOTIFYs), the
// activation-code rules and the per-model encodings.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

namespace ucedge::core {
class ConfigTable;
}

namespace ucedge::prov {

// How a profile is wrapped for a model (seed 004, "Gestion des profils").
struct ModelSettings {
  bool gzip = false;
  bool encrypt = false;                 // AES-256-CBC, openssl enc format
  std::string key_derivation = "md5";   // md5 | sha256 | pbkdf2
};

struct ProvConfig {
  bool enabled = true;
  std::string root = "prov";            // relative to the data directory
  std::string url_prefix = "/prov";
  bool sample = true;                   // first start: a sample device and profiles
  std::size_t cache_entries = 20'000;   // rendered profiles kept in memory
  std::chrono::milliseconds lookup_cache{1000};  // how long "which file answers this name" is remembered
  std::size_t max_report_bytes = 1 << 20;
  std::size_t fetch_log_entries = 20;   // per device, newest first
  bool identify_by_user_agent = true;   // trust the MAC in the User-Agent on plain HTTP(S)
  int auth_failures_per_minute = 10;    // wrong device credentials per source address

  std::chrono::milliseconds activation_code_lifetime{7LL * 24 * 3600 * 1000};
  int activation_failures_per_minute = 10;  // per source address
  std::string activation_profile_rule = "$SCHEME://$SERV:$PORT/prov/$MA.xml";

  std::string tftp_listen = "127.0.0.1:6969";  // "" turns TFTP off
  std::chrono::milliseconds tftp_timeout{1000};
  int tftp_retries = 5;
  std::size_t tftp_max_transfers = 4096;

  std::string syslog_listen = "127.0.0.1:5514";  // "" turns it off

  std::string sip_listen = "127.0.0.1:5070";     // "" turns resync push off
  std::string sip_domain = "ucedge.invalid";
  std::chrono::milliseconds sip_timeout{4000};

  std::map<std::string, std::string> tags;       // [prov.tags]: DTAF %TAG% values
  std::map<std::string, ModelSettings> models;   // [prov.models."CP-7841-3PCC"]
};

ProvConfig parse_prov_config(core::ConfigTable& table);

}  // namespace ucedge::prov
