#include "authz/config.hpp"

#include <cstdio>
#include <regex>

#include "core/config_table.hpp"

namespace ucedge::authz {

namespace {

bool is_http_url(std::string_view url) {
  return (url.starts_with("https://") || url.starts_with("http://")) &&
         url.find_first_of("?# \t") == std::string_view::npos;
}

std::string url_key(core::ConfigTable& table, std::string_view key, std::string fallback) {
  std::string url = table.string(key, std::move(fallback));
  if (!url.empty() && !is_http_url(url)) table.error(key, "expected an http:// or https:// URL, or \"\"");
  return url;
}

std::string color_key(core::ConfigTable& table, std::string_view key, std::string fallback) {
  static const std::regex hex_color("#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})");
  std::string color = table.string(key, std::move(fallback));
  if (!std::regex_match(color, hex_color)) table.error(key, "expected a colour written #rgb or #rrggbb");
  return color;
}

LoginBranding parse_login(core::ConfigTable& table) {
  LoginBranding b;
  b.title = table.string("title", b.title);
  b.product = table.string("product", b.product);
  b.logo_url = url_key(table, "logo_url", b.logo_url);
  b.primary_color = color_key(table, "primary_color", b.primary_color);
  b.background_color = color_key(table, "background_color", b.background_color);
  b.support_url = url_key(table, "support_url", b.support_url);
  b.support_text = table.string("support_text", b.support_text);
  b.language = table.string("language", b.language);
  b.intro = table.string("intro", b.intro);
  b.login_label = table.string("login_label", b.login_label);
  b.password_label = table.string("password_label", b.password_label);
  b.submit_label = table.string("submit_label", b.submit_label);
  static const std::regex language_tag("[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*");
  if (!std::regex_match(b.language, language_tag)) table.error("language", "expected a language tag such as \"en\" or \"it-IT\"");
  table.finish();
  return b;
}

}  // namespace

AuthzConfig parse_authz_config(core::ConfigTable& table) {
  using namespace std::chrono_literals;
  using std::chrono::duration_cast;
  using std::chrono::seconds;
  AuthzConfig c;
  c.enabled = table.boolean("enabled", c.enabled);
  c.issuer = url_key(table, "issuer", c.issuer);
  if (c.issuer.ends_with('/')) table.error("issuer", "write the issuer without a trailing '/'");

  c.access_token_lifetime =
      duration_cast<seconds>(table.duration("access_token_lifetime", c.access_token_lifetime, 60s, 24h));
  c.refresh_token_lifetime_days =
      static_cast<int>(table.integer("refresh_token_lifetime_days", c.refresh_token_lifetime_days, 1, 90));
  c.code_lifetime = duration_cast<seconds>(table.duration("code_lifetime", c.code_lifetime, 10s, 10min));
  c.clock_tolerance = duration_cast<seconds>(table.duration("clock_tolerance", c.clock_tolerance, 0s, 5min));

  c.rotate_refresh_tokens = table.boolean("rotate_refresh_tokens", c.rotate_refresh_tokens);
  c.rotation_grace_period =
      duration_cast<seconds>(table.duration("rotation_grace_period", c.rotation_grace_period, 0s, 5min));
  c.rotation_grace_reuses =
      static_cast<int>(table.integer("rotation_grace_reuses", c.rotation_grace_reuses, 0, 100));
  c.jwks_max_age = duration_cast<seconds>(table.duration("jwks_max_age", c.jwks_max_age, 0s, 24h));

  std::string purge_at = table.string("purge_at", "02:00");
  unsigned hour = 0, minute = 0;
  char tail = 0;
  if (purge_at.size() != 5 || std::sscanf(purge_at.c_str(), "%2u:%2u%c", &hour, &minute, &tail) != 2 ||
      hour > 23 || minute > 59) {
    table.error("purge_at", "expected a time of day \"HH:MM\", like \"02:00\"");
  } else {
    c.purge_hour = static_cast<int>(hour);
    c.purge_minute = static_cast<int>(minute);
  }
  c.purge_batch = static_cast<int>(table.integer("purge_batch", c.purge_batch, 10, 100'000));
  c.purge_pause = table.duration("purge_pause", c.purge_pause, 0ms, 10s);

  c.login_failures_per_user =
      static_cast<int>(table.integer("login_failures_per_user", c.login_failures_per_user, 1, 1'000'000));
  c.login_failures_per_address =
      static_cast<int>(table.integer("login_failures_per_address", c.login_failures_per_address, 1, 1'000'000));
  c.sample_client = table.boolean("sample_client", c.sample_client);

  core::ConfigTable login = table.table("login");
  c.login = parse_login(login);
  table.finish();
  return c;
}

}  // namespace ucedge::authz
