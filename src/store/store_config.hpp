#pragma once
// The [store] table: which database backs this node and how to reach it.
#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/config_table.hpp"

namespace ucedge::store {

enum class Backend { sqlite, postgres };

std::string_view backend_name(Backend backend);

struct StoreConfig {
  Backend backend = Backend::sqlite;
  std::filesystem::path sqlite_path = "ucedge.db";  // relative to data_dir
  std::string postgres_url;                         // libpq URL or key=value string
  int pool_size = 4;  // SQLite reader connections, or PostgreSQL connections
  // How long to wait for the SQLite write lock or a free PostgreSQL connection.
  std::chrono::milliseconds busy_timeout{5000};
  // SQLite under load: how long a write may wait for others to share its
  // commit (and its fsync). 0 commits as soon as the writer is free.
  std::chrono::milliseconds commit_delay{2};
};

// Reads the [store] table and reports unknown keys (table.finish()).
// postgres_url is a secret: the environment variable UCEDGE_STORE_POSTGRES_URL
// wins over the file.
StoreConfig parse_store_config(core::ConfigTable& table);

}  // namespace ucedge::store
