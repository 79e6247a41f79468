#include "store/store_config.hpp"

namespace ucedge::store {

std::string_view backend_name(Backend backend) {
  return backend == Backend::postgres ? "postgres" : "sqlite";
}

StoreConfig parse_store_config(core::ConfigTable& table) {
  StoreConfig config;
  const std::string backend = table.choice("backend", "sqlite", {"sqlite", "postgres"});
  config.backend = backend == "postgres" ? Backend::postgres : Backend::sqlite;

  const std::string sqlite_path = table.string("sqlite_path", config.sqlite_path.string());
  if (sqlite_path.empty()) {
    table.error("sqlite_path", "must not be empty");
  } else {
    config.sqlite_path = sqlite_path;
  }

  config.postgres_url = table.secret("postgres_url", "");
  config.pool_size = static_cast<int>(table.integer("pool_size", config.pool_size, 1, 64));
  config.busy_timeout = table.duration("busy_timeout", config.busy_timeout,
                                       std::chrono::milliseconds(0), std::chrono::minutes(10));
  config.commit_delay = table.duration("commit_delay", config.commit_delay, std::chrono::milliseconds(0),
                                       std::chrono::milliseconds(100));

  if (config.backend == Backend::postgres && config.postgres_url.empty()) {
    table.error("backend", "backend = \"postgres\" needs postgres_url (or the environment variable " +
                               table.secret_env_name("postgres_url") + ")");
  }
  table.finish();
  return config;
}

}  // namespace ucedge::store
