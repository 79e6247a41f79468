// Applies migrations (declared in migrations.hpp).
#include <chrono>

#include "store/migrations.hpp"

namespace ucedge::store {

namespace {

// pg_advisory_xact_lock key shared by every ucedge node: "ucedge" + 'm'.
constexpr std::int64_t kMigrationLockKey = 0x756365646765'6dLL;

core::Result<void, StoreError> lock_for_migrations(Transaction& txn, Backend backend) {
  // SQLite needs nothing: its transactions begin IMMEDIATE, which already
  // admits one writer at a time across processes.
  if (backend != Backend::postgres) return {};
  auto locked = txn.exec("SELECT pg_advisory_xact_lock(?)", {kMigrationLockKey});
  if (!locked) return core::fail(locked.error());
  return {};
}

core::Result<std::int64_t, StoreError> applied_version(Queryable& db) {
  auto rows = db.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  if (!rows) return core::fail(rows.error());
  return (*rows)[0].get<std::int64_t>(0);
}

std::int64_t unix_seconds() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

StoreError with_context(StoreError e, std::string_view context) {
  e.message = std::string(context) + ": " + e.message;
  return e;
}

}  // namespace

core::Result<std::int64_t, StoreError> apply_migrations(Store& store,
                                                        std::span<const Migration> list) {
  const Backend backend = store.backend();
  const std::int64_t latest_known = list.empty() ? 0 : list.back().version;

  auto created = store.transaction([&](Transaction& txn) -> core::Result<void, StoreError> {
    if (auto locked = lock_for_migrations(txn, backend); !locked) return locked;
    auto made = txn.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)");
    if (!made) return core::fail(made.error());
    return {};
  });
  if (!created) return core::fail(with_context(created.error(), "creating schema_migrations"));

  auto current = applied_version(store);
  if (!current) return core::fail(with_context(current.error(), "reading the schema version"));
  if (*current > latest_known) {
    return core::fail(StoreError{
        StoreError::Kind::invalid,
        "the database schema is at version " + std::to_string(*current) +
            ", newer than this ucedge knows (" + std::to_string(latest_known) +
            "); run a newer ucedge or point this one at another database"});
  }

  for (const Migration& m : list) {
    if (m.version <= *current) continue;
    auto applied = store.transaction([&](Transaction& txn) -> core::Result<void, StoreError> {
      if (auto locked = lock_for_migrations(txn, backend); !locked) return locked;
      // Another node may have applied it while we waited for the lock.
      auto seen = txn.query("SELECT 1 FROM schema_migrations WHERE version = ?", {m.version});
      if (!seen) return core::fail(seen.error());
      if (!seen->empty()) return {};
      if (auto ran = txn.exec_script(dialect_sql(m.sql, backend)); !ran) return ran;
      auto recorded =
          txn.exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                   {m.version, std::string(m.name), unix_seconds()});
      if (!recorded) return core::fail(recorded.error());
      return {};
    });
    if (!applied) {
      return core::fail(with_context(applied.error(), "migration " + std::to_string(m.version) +
                                                          " (" + std::string(m.name) + ")"));
    }
  }
  return applied_version(store);
}

}  // namespace ucedge::store
