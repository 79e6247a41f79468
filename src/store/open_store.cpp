// open_store(): picks the backend, then brings the schema up to date.
#include "store/migrations.hpp"
#include "store/postgres/postgres_store.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store/store.hpp"

namespace ucedge::store {

core::Result<std::unique_ptr<Store>, StoreError> open_store(const StoreConfig& config,
                                                            const std::filesystem::path& data_dir) {
  auto opened = config.backend == Backend::postgres
                    ? postgres::PostgresStore::open(config.postgres_url, config.pool_size,
                                                    config.busy_timeout)
                    : sqlite::SqliteStore::open(data_dir / config.sqlite_path, config.pool_size,
                                                config.busy_timeout, config.commit_delay);
  if (!opened) return opened;
  if (auto migrated = apply_migrations(**opened, known_migrations()); !migrated) {
    return core::fail(migrated.error());
  }
  return opened;
}

}  // namespace ucedge::store
