#include "app/config.hpp"

#include <fstream>
#include <sstream>
#include <system_error>

namespace ucedge::app {

core::Result<Config, core::ConfigErrors> parse_config(std::string_view text, std::string file_name) {
  auto document = core::ConfigDocument::parse(text, std::move(file_name));
  if (!document) return core::fail(document.error());
  using namespace std::chrono_literals;

  core::ConfigErrors errors;
  core::ConfigTable root = document->root(errors);
  Config c;
  c.source = document->file();

  core::ConfigTable server = root.table("server");
  std::filesystem::path data_dir = server.string("data_dir", "var");
  if (data_dir.empty()) server.error("data_dir", "must not be empty");
  std::error_code ec;
  c.data_dir = std::filesystem::absolute(data_dir, ec).lexically_normal();
  c.threads = static_cast<int>(server.integer("threads", 0, 0, 1024));
  c.shutdown_timeout = server.duration("shutdown_timeout", c.shutdown_timeout, 0ms, 10min);
  server.finish();

  core::ConfigTable log = root.table("log");
  c.log = core::parse_log_config(log);
  core::ConfigTable http = root.table("http");
  c.http = net::parse_http_config(http);
  core::ConfigTable store = root.table("store");
  c.store = store::parse_store_config(store);
  core::ConfigTable tls = root.table("tls");
  c.tls = net::tls::parse_tls_settings(tls);
  core::ConfigTable prov = root.table("prov");
  c.prov = prov::parse_prov_config(prov);
  core::ConfigTable turn = root.table("turn");
  c.turn = turn::parse_turn_config(turn);
  core::ConfigTable authz = root.table("authz");
  c.authz = authz::parse_authz_config(authz);

  root.finish();
  if (!errors.empty()) return core::fail(std::move(errors));
  return c;
}

core::Result<Config, core::ConfigErrors> load_config(const std::filesystem::path& file) {
  if (file.empty()) return parse_config(embedded_default_config(), "(built-in defaults)");
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    core::ConfigErrors errors;
    errors.add({file.string(), 0, 0, "cannot open the file"});
    return core::fail(std::move(errors));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), file.string());
}

}  // namespace ucedge::app
