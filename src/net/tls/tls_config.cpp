#include "net/tls/tls_config.hpp"

#include <algorithm>
#include <cctype>

#include "net/tls/trust_store.hpp"

namespace ucedge::net::tls {

namespace {

constexpr std::string_view client_auth_eku_name = "clientAuth";

std::optional<std::string> read_version(core::ConfigTable& table, std::string_view key) {
  auto text = table.optional_string(key);
  if (!text) return std::nullopt;
  std::string_view version = *text;
  if (version.starts_with("TLSv")) version.remove_prefix(4);
  if (version == "1.2" || version == "1.3") return std::string(version);
  if (version == "1" || version == "1.0" || version == "1.1" || version.starts_with("SSL")) {
    table.error(key, "\"" + *text + "\" is below TLS 1.2, which ucedge never offers");
  } else {
    table.error(key, "\"" + *text + "\" is not a TLS version: write \"1.2\" or \"1.3\"");
  }
  return std::nullopt;
}

std::optional<std::vector<std::string>> read_cipher_suites(core::ConfigTable& table,
                                                           std::string_view key) {
  auto names = table.optional_strings(key);
  if (!names) return std::nullopt;
  if (names->empty()) {
    table.error(key, "names no cipher suite; leave it out to inherit the level above");
    return std::nullopt;
  }
  bool all_known = true;
  std::vector<std::string> unique;
  for (const auto& name : *names) {
    if (find_cipher_suite(name) == nullptr) {
      all_known = false;
      if (auto iana = iana_name_of_openssl_name(name)) {
        table.error(key, "\"" + name + "\" is OpenSSL's name for a suite; write its IANA name \"" +
                             *iana + "\"");
      } else {
        table.error(key, "unknown cipher suite \"" + name +
                             "\" (`ucedge tls ciphers` lists the IANA names accepted)");
      }
      continue;
    }
    if (std::find(unique.begin(), unique.end(), name) == unique.end()) unique.push_back(name);
  }
  if (!all_known) return std::nullopt;
  return unique;
}

// A dotted OID as X.690 allows it: at least two arcs, no leading zeros, the
// first arc 0..2 and, under 0 and 1, the second below 40.
bool well_formed_oid(std::string_view text) {
  std::vector<std::string_view> arcs;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = text.find('.', start);
    arcs.push_back(text.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (arcs.size() < 2) return false;
  for (auto arc : arcs) {
    if (arc.empty() || arc.size() > 18) return false;
    if (!std::all_of(arc.begin(), arc.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
    if (arc.size() > 1 && arc[0] == '0') return false;
  }
  if (arcs[0].size() != 1 || arcs[0][0] > '2') return false;
  if (arcs[0][0] < '2' && std::stoull(std::string(arcs[1])) >= 40) return false;
  return true;
}

std::optional<std::vector<std::string>> read_ekus(core::ConfigTable& table, std::string_view key) {
  auto ekus = table.optional_strings(key);
  if (!ekus) return std::nullopt;
  bool all_valid = true;
  for (const auto& eku : *ekus) {
    if (eku == client_auth_eku_name || well_formed_oid(eku)) continue;
    all_valid = false;
    table.error(key, "\"" + eku + "\" is not a dotted OID (such as \"" +
                         std::string(cti_bridging_proxy_eku) + "\") nor \"clientAuth\"");
  }
  if (!all_valid) return std::nullopt;
  return ekus;
}

std::optional<std::vector<std::string>> read_aliases(core::ConfigTable& table,
                                                     std::string_view key) {
  auto aliases = table.optional_strings(key);
  if (!aliases) return std::nullopt;
  bool all_valid = true;
  for (const auto& alias : *aliases) {
    if (valid_trust_alias(alias)) continue;
    all_valid = false;
    table.error(key, "\"" + alias + "\" is not a trust alias ([A-Za-z0-9._-], 1 to 64 characters)");
  }
  if (!all_valid) return std::nullopt;
  return aliases;
}

std::optional<std::vector<std::string>> read_identities(core::ConfigTable& table,
                                                        std::string_view key) {
  auto names = table.optional_strings(key);
  if (!names) return std::nullopt;
  if (std::any_of(names->begin(), names->end(), [](const std::string& n) { return n.empty(); })) {
    table.error(key, "holds an empty name; a certificate CN is never empty");
    return std::nullopt;
  }
  return names;
}

std::optional<std::string> read_path(core::ConfigTable& table, std::string_view key) {
  auto path = table.optional_string(key);
  if (path && path->empty()) {
    table.error(key, "is empty; leave it out to use the level above or the development certificate");
    return std::nullopt;
  }
  return path;
}

std::optional<ClientAuth> read_client_auth(core::ConfigTable& table, std::string_view key) {
  auto mode = table.optional_choice(key, {"off", "optional", "required"});
  if (!mode) return std::nullopt;
  if (*mode == "required") return ClientAuth::required;
  if (*mode == "optional") return ClientAuth::optional;
  return ClientAuth::off;
}

// The keys every level may hold. Reads them all, so finish() only reports
// the keys nobody knows.
TlsLevel read_level(core::ConfigTable& table) {
  TlsLevel level;
  level.min_version = read_version(table, "min_version");
  level.max_version = read_version(table, "max_version");
  if (level.min_version && level.max_version && *level.min_version > *level.max_version) {
    table.error("min_version", "is above max_version \"" + *level.max_version + "\"");
  }
  level.cipher_suites = read_cipher_suites(table, "cipher_suites");
  level.certificate = read_path(table, "certificate");
  level.private_key = read_path(table, "private_key");
  // A certificate and its key are one thing: inheriting one of them from
  // another level would pair a key with the wrong certificate.
  if (table.has("certificate") != table.has("private_key")) {
    std::string_view set = table.has("certificate") ? "certificate" : "private_key";
    std::string_view missing = table.has("certificate") ? "private_key" : "certificate";
    table.error(set, "is set without " + std::string(missing) + "; set both at the same level");
  }
  level.trust_anchors = read_aliases(table, "trust_anchors");
  level.client_auth = read_client_auth(table, "client_auth");
  level.client_identities = read_identities(table, "client_identities");
  level.required_eku = read_ekus(table, "required_eku");
  level.refuse_san_client_certs = table.optional_boolean("refuse_san_client_certs");
  return level;
}

std::map<std::string, TlsLevel> read_named_levels(core::ConfigTable& parent, std::string_view key) {
  std::map<std::string, TlsLevel> out;
  core::ConfigTable group = parent.table(key);
  for (const auto& name : group.keys()) {
    core::ConfigTable table = group.table(name);
    out.emplace(name, read_level(table));
    table.finish();
  }
  group.finish();
  return out;
}

void apply(TlsPolicy& policy, const TlsLevel& level) {
  if (level.min_version) policy.min_version = *level.min_version;
  if (level.max_version) policy.max_version = *level.max_version;
  if (level.cipher_suites) policy.cipher_suites = *level.cipher_suites;
  if (level.certificate) policy.certificate = *level.certificate;
  if (level.private_key) policy.private_key = *level.private_key;
  if (level.trust_anchors) policy.trust_anchors = *level.trust_anchors;
  if (level.client_auth) policy.client_auth = *level.client_auth;
  if (level.client_identities) policy.client_identities = *level.client_identities;
  if (level.required_eku) policy.required_eku = *level.required_eku;
  if (level.refuse_san_client_certs) policy.refuse_san_client_certs = *level.refuse_san_client_certs;
}

}  // namespace

std::string_view to_string(ClientAuth mode) {
  switch (mode) {
    case ClientAuth::off: return "off";
    case ClientAuth::optional: return "optional";
    case ClientAuth::required: return "required";
  }
  return "off";
}

TlsSettings parse_tls_settings(core::ConfigTable& tls_table) {
  TlsSettings settings;
  settings.system = read_level(tls_table);
  settings.transports = read_named_levels(tls_table, "transport");
  settings.interfaces = read_named_levels(tls_table, "interface");
  tls_table.finish();
  return settings;
}

TlsPolicy resolve_policy(const TlsSettings& settings, std::string_view transport,
                         std::string_view interface) {
  TlsPolicy policy;
  apply(policy, settings.system);
  if (auto it = settings.transports.find(std::string(transport)); it != settings.transports.end()) {
    apply(policy, it->second);
  }
  if (auto it = settings.interfaces.find(std::string(interface)); it != settings.interfaces.end()) {
    apply(policy, it->second);
  }
  return policy;
}

}  // namespace ucedge::net::tls
