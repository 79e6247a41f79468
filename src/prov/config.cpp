#include "prov/config.hpp"

#include "core/config_table.hpp"
#include "net/listen_address.hpp"

namespace ucedge::prov {

namespace {

using net::listen_address_key;

}  // namespace

ProvConfig parse_prov_config(core::ConfigTable& table) {
  using namespace std::chrono_literals;
  ProvConfig c;
  c.enabled = table.boolean("enabled", c.enabled);
  c.root = table.string("root", c.root);
  if (c.root.empty()) table.error("root", "must not be empty");
  c.url_prefix = table.string("url_prefix", c.url_prefix);
  if (c.url_prefix.size() < 2 || c.url_prefix.front() != '/' || c.url_prefix.back() == '/') {
    table.error("url_prefix", "must start with '/' and not end with one, like \"/prov\"");
  }
  c.sample = table.boolean("sample", c.sample);
  c.cache_entries = static_cast<std::size_t>(table.integer("cache_entries", 20'000, 0, 10'000'000));
  c.lookup_cache = table.duration("lookup_cache", c.lookup_cache, 0ms, 60s);
  c.max_report_bytes = static_cast<std::size_t>(table.integer("max_report_bytes", 1 << 20, 1024, 64 << 20));
  c.fetch_log_entries = static_cast<std::size_t>(table.integer("fetch_log_entries", 20, 0, 1000));
  c.identify_by_user_agent = table.boolean("identify_by_user_agent", c.identify_by_user_agent);
  c.auth_failures_per_minute =
      static_cast<int>(table.integer("auth_failures_per_minute", c.auth_failures_per_minute, 1, 10'000));

  c.activation_code_lifetime = table.duration("activation_code_lifetime", c.activation_code_lifetime, 1min,
                                              std::chrono::milliseconds(365LL * 24 * 3600 * 1000));
  c.activation_failures_per_minute =
      static_cast<int>(table.integer("activation_failures_per_minute", c.activation_failures_per_minute, 1, 10'000));
  c.activation_profile_rule = table.string("activation_profile_rule", c.activation_profile_rule);

  core::ConfigTable tftp = table.table("tftp");
  c.tftp_listen = listen_address_key(tftp, "listen", c.tftp_listen);
  c.tftp_timeout = tftp.duration("timeout", c.tftp_timeout, 100ms, 255s);
  c.tftp_retries = static_cast<int>(tftp.integer("retries", c.tftp_retries, 0, 20));
  c.tftp_max_transfers = static_cast<std::size_t>(tftp.integer("max_transfers", 4096, 1, 1'000'000));
  tftp.finish();

  core::ConfigTable syslog = table.table("syslog");
  c.syslog_listen = listen_address_key(syslog, "listen", c.syslog_listen);
  syslog.finish();

  core::ConfigTable sip = table.table("sip");
  c.sip_listen = listen_address_key(sip, "listen", c.sip_listen);
  c.sip_domain = sip.string("domain", c.sip_domain);
  c.sip_timeout = sip.duration("timeout", c.sip_timeout, 100ms, 60s);
  sip.finish();

  core::ConfigTable tags = table.table("tags");
  for (const auto& key : tags.keys()) c.tags[key] = tags.string(key, "");
  tags.finish();

  core::ConfigTable models = table.table("models");
  for (const auto& model : models.keys()) {
    core::ConfigTable m = models.table(model);
    ModelSettings s;
    s.gzip = m.boolean("gzip", s.gzip);
    s.encrypt = m.boolean("encrypt", s.encrypt);
    s.key_derivation = m.choice("key_derivation", s.key_derivation, {"md5", "sha256", "pbkdf2"});
    m.finish();
    c.models[model] = s;
  }
  models.finish();

  table.finish();
  return c;
}

}  // namespace ucedge::prov
