#pragma once
// One SQLite connection with its prepared-statement cache. Not thread-safe:
// SqliteStore hands each connection to one thread at a time.
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.hpp"
#include "store/store_error.hpp"
#include "store/value.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace ucedge::store::sqlite {

class SqliteConnection {
 public:
  // The writer creates the file and switches it to WAL; readers come after.
  static core::Result<std::unique_ptr<SqliteConnection>, StoreError> open(
      const std::filesystem::path& file, std::chrono::milliseconds busy_timeout, bool writer);
  ~SqliteConnection();
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  // A prepared statement from the cache (owned by the connection).
  core::Result<sqlite3_stmt*, StoreError> prepare(std::string_view sql);
  static bool is_read_only(sqlite3_stmt* stmt);
  // True between BEGIN and COMMIT/ROLLBACK (SQLite may end it on its own
  // after some errors).
  bool in_transaction() const;

  core::Result<std::vector<Row>, StoreError> query(sqlite3_stmt* stmt, const Params& params);
  core::Result<std::int64_t, StoreError> exec(sqlite3_stmt* stmt, const Params& params);
  // Statements without parameters, separated by ';'.
  core::Result<void, StoreError> exec_script(std::string_view sql);

 private:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  core::Result<void, StoreError> bind(sqlite3_stmt* stmt, const Params& params);
  StoreError error(int code, std::string_view doing) const;

  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

// Maps an SQLite result code to the kind of StoreError it is.
StoreError::Kind error_kind(int code);

}  // namespace ucedge::store::sqlite
