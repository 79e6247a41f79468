#pragma once
// The TLS policy of every TLS listener, as configured and as resolved.
//
// A policy is written at up to three levels, from the most general to the
// most specific: the system ([tls]), a transport ([tls.transport.<name>],
// e.g. "https") and an interface ([tls.interface.<name>], e.g.
// "https_client_cert"). Each field left unset at a level is inherited from
// the level above; the most specific level that sets a field wins.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config_table.hpp"
#include "net/tls/cipher_suites.hpp"

namespace ucedge::net::tls {

enum class ClientAuth { off, optional, required };

std::string_view to_string(ClientAuth mode);

// The EKU a bridging proxy's client certificate carries for the CTI
// interface (seed 003), next to TLS client authentication.
inline constexpr std::string_view cti_bridging_proxy_eku = "1.3.6.1.4.1.6431.1.1.8.2.1.3";

// One level of the policy; unset fields inherit from the level above.
struct TlsLevel {
  std::optional<std::string> min_version, max_version;       // "1.2" | "1.3"
  std::optional<std::vector<std::string>> cipher_suites;    // IANA names, preference order
  std::optional<std::string> certificate, private_key;      // PEM files; relative to data_dir
  std::optional<std::vector<std::string>> trust_anchors;    // trust store aliases; empty = every alias
  std::optional<ClientAuth> client_auth;
  std::optional<std::vector<std::string>> client_identities;  // allowed client CNs; empty = any
  std::optional<std::vector<std::string>> required_eku;       // dotted OIDs or "clientAuth"
  std::optional<bool> refuse_san_client_certs;
};

struct TlsSettings {
  TlsLevel system;
  std::map<std::string, TlsLevel> transports;
  std::map<std::string, TlsLevel> interfaces;
};

// Reads [tls] (the system level) and its sub-tables [tls.transport.<name>]
// and [tls.interface.<name>]. Problems are recorded on the table, with the
// file and line of the key; finish() is called on every table read.
TlsSettings parse_tls_settings(core::ConfigTable& tls_table);

// A fully resolved policy: every field has a value.
struct TlsPolicy {
  std::string min_version = "1.2";
  std::string max_version = "1.3";
  std::vector<std::string> cipher_suites = default_cipher_suites();
  std::string certificate;  // "" = the generated development certificate
  std::string private_key;  // "" = the generated development key
  std::vector<std::string> trust_anchors;  // empty = every alias of the trust store
  ClientAuth client_auth = ClientAuth::off;
  std::vector<std::string> client_identities;  // empty = any CN
  std::vector<std::string> required_eku;       // every one must be in the client certificate
  bool refuse_san_client_certs = false;
};

// system -> transport -> interface, the most specific level winning per field.
TlsPolicy resolve_policy(const TlsSettings& settings, std::string_view transport,
                         std::string_view interface);

}  // namespace ucedge::net::tls
