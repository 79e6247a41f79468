#pragma once
// Numbered schema migrations, the same list for both backends.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "store/store.hpp"

namespace ucedge::store {

struct Migration {
  std::int64_t version;   // 1, 2, 3, ... never reused, never edited once released
  std::string_view name;  // what it does, for schema_migrations and logs
  std::string_view sql;   // portable SQL; see dialect_sql() for the few words that differ
};

// Every migration this binary knows, in version order.
std::span<const Migration> known_migrations();

// Turns portable migration SQL into the backend's SQL. The words that differ:
//   {blob}  BLOB / BYTEA
//   {id}    an auto-numbered BIGINT primary key
std::string dialect_sql(std::string_view portable, Backend backend);

// Applies the migrations in `list` that the database has not seen, each in
// its own transaction. On PostgreSQL an advisory lock keeps two nodes starting
// together from applying one twice. Returns the schema version afterwards; a
// database newer than the last migration of `list` is refused.
core::Result<std::int64_t, StoreError> apply_migrations(Store& store,
                                                        std::span<const Migration> list);

}  // namespace ucedge::store
