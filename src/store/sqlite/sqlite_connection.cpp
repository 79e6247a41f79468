#include "store/sqlite/sqlite_connection.hpp"

#include <sqlite3.h>

#include <cctype>
#include <thread>

namespace ucedge::store::sqlite {

namespace {

// Enough for every distinct statement a module uses; beyond it the cache
// starts over rather than grow without bound on generated SQL.
constexpr std::size_t kStatementCacheLimit = 256;

// Resets a statement however its execution ends, so the cache can reuse it.
class ResetOnExit {
 public:
  explicit ResetOnExit(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~ResetOnExit() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

// True when nothing but blanks, semicolons and comments follows `tail`.
bool only_comments_after(sqlite3* db, std::string_view sql, const char* tail) {
  if (tail == nullptr) return true;
  const auto offset = static_cast<std::size_t>(tail - sql.data());
  std::string_view rest = sql.substr(offset);
  while (!rest.empty() && (rest.front() == ';' || std::isspace(static_cast<unsigned char>(rest.front())) != 0)) {
    rest.remove_prefix(1);
  }
  if (rest.empty()) return true;
  // Let SQLite judge the rest: comments alone prepare to no statement.
  sqlite3_stmt* next = nullptr;
  const int rc = sqlite3_prepare_v2(db, rest.data(), static_cast<int>(rest.size()), &next, nullptr);
  sqlite3_finalize(next);
  return rc == SQLITE_OK && next == nullptr;
}

Value column_value(sqlite3_stmt* stmt, int i) {
  switch (sqlite3_column_type(stmt, i)) {
    case SQLITE_INTEGER: return std::int64_t{sqlite3_column_int64(stmt, i)};
    case SQLITE_FLOAT: return sqlite3_column_double(stmt, i);
    case SQLITE_TEXT: {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
      return std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt, i)));
    }
    case SQLITE_BLOB: {
      const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt, i));
      const auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt, i));
      return Blob{data == nullptr ? std::vector<std::uint8_t>{}
                                  : std::vector<std::uint8_t>(data, data + size)};
    }
    default: return std::monostate{};
  }
}

}  // namespace

StoreError::Kind error_kind(int code) {
  switch (code & 0xff) {
    case SQLITE_CONSTRAINT: return StoreError::Kind::constraint;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return StoreError::Kind::busy;
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH: return StoreError::Kind::unavailable;
    case SQLITE_ERROR:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG: return StoreError::Kind::invalid;
    default: return StoreError::Kind::internal;
  }
}

StoreError SqliteConnection::error(int code, std::string_view doing) const {
  std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(code);
  return {error_kind(code), std::string(doing) + ": " + message};
}

core::Result<std::unique_ptr<SqliteConnection>, StoreError> SqliteConnection::open(
    const std::filesystem::path& file, std::chrono::milliseconds busy_timeout, bool writer) {
  sqlite3* db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (writer ? SQLITE_OPEN_CREATE : 0);
  const int rc = sqlite3_open_v2(file.c_str(), &db, flags, nullptr);
  std::unique_ptr<SqliteConnection> connection(new SqliteConnection(db));
  if (rc != SQLITE_OK) {
    StoreError e = connection->error(rc, "opening " + file.string());
    e.kind = StoreError::Kind::unavailable;
    return core::fail(std::move(e));
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, static_cast<int>(busy_timeout.count()));

  // journal_mode is kept in the file, so the writer sets it once for everyone.
  // synchronous=FULL makes every commit reach the disk before it returns.
  std::string pragmas = "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;";
  if (writer) {
    auto mode = connection->prepare("PRAGMA journal_mode=WAL");
    if (!mode) return core::fail(mode.error());
    // Switching to WAL needs an exclusive lock and does not wait through the
    // busy handler, so two processes creating the file together retry here.
    const auto give_up = std::chrono::steady_clock::now() + busy_timeout;
    auto rows = connection->query(*mode, {});
    while (!rows && rows.error().kind == StoreError::Kind::busy &&
           std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      rows = connection->query(*mode, {});
    }
    if (!rows) return core::fail(rows.error());
    std::string name;
    if (!rows->empty()) {
      if (auto got = (*rows)[0].get<std::string>(0)) name = *got;
    }
    if (name != "wal") {
      return core::fail(StoreError{StoreError::Kind::unavailable,
                                   file.string() + " cannot use write-ahead logging (journal mode " +
                                       name + ")"});
    }
  } else {
    // Readers must never write; statements that do go to the writer.
    pragmas += " PRAGMA query_only=ON;";
  }
  if (auto set = connection->exec_script(pragmas); !set) return core::fail(set.error());
  return connection;
}

SqliteConnection::~SqliteConnection() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

core::Result<sqlite3_stmt*, StoreError> SqliteConnection::prepare(std::string_view sql) {
  const std::string key(sql);
  if (auto it = statements_.find(key); it != statements_.end()) return it->second;

  sqlite3_stmt* stmt = nullptr;
  const char* tail = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
  if (rc != SQLITE_OK) return core::fail(error(rc, "preparing \"" + key + "\""));
  if (stmt == nullptr) {
    return core::fail(StoreError{StoreError::Kind::invalid, "no statement in \"" + key + "\""});
  }
  if (!only_comments_after(db_, sql, tail)) {
    sqlite3_finalize(stmt);
    return core::fail(StoreError{StoreError::Kind::invalid,
                                 "one statement at a time (exec_script runs several): \"" + key + "\""});
  }
  if (statements_.size() >= kStatementCacheLimit) {
    for (auto& [cached_sql, cached] : statements_) sqlite3_finalize(cached);
    statements_.clear();
  }
  statements_.emplace(key, stmt);
  return stmt;
}

bool SqliteConnection::is_read_only(sqlite3_stmt* stmt) { return sqlite3_stmt_readonly(stmt) != 0; }

bool SqliteConnection::in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

core::Result<void, StoreError> SqliteConnection::bind(sqlite3_stmt* stmt, const Params& params) {
  const int wanted = sqlite3_bind_parameter_count(stmt);
  if (wanted != static_cast<int>(params.size())) {
    return core::fail(StoreError{StoreError::Kind::invalid,
                                 "the statement takes " + std::to_string(wanted) +
                                     " parameters (use ? placeholders only), " +
                                     std::to_string(params.size()) + " given"});
  }
  for (int i = 0; i < wanted; ++i) {
    const Value& v = params[static_cast<std::size_t>(i)];
    int rc = SQLITE_OK;
    if (const auto* n = std::get_if<std::int64_t>(&v)) {
      rc = sqlite3_bind_int64(stmt, i + 1, *n);
    } else if (const auto* d = std::get_if<double>(&v)) {
      rc = sqlite3_bind_double(stmt, i + 1, *d);
    } else if (const auto* s = std::get_if<std::string>(&v)) {
      rc = sqlite3_bind_text64(stmt, i + 1, s->data(), s->size(), SQLITE_STATIC, SQLITE_UTF8);
    } else if (const auto* b = std::get_if<Blob>(&v)) {
      // A null pointer would bind NULL, so an empty blob gets a zero-length one.
      rc = b->bytes.empty() ? sqlite3_bind_zeroblob(stmt, i + 1, 0)
                            : sqlite3_bind_blob64(stmt, i + 1, b->bytes.data(), b->bytes.size(),
                                                  SQLITE_STATIC);
    } else {
      rc = sqlite3_bind_null(stmt, i + 1);
    }
    if (rc != SQLITE_OK) return core::fail(error(rc, "binding parameter " + std::to_string(i + 1)));
  }
  return {};
}

core::Result<std::vector<Row>, StoreError> SqliteConnection::query(sqlite3_stmt* stmt,
                                                                   const Params& params) {
  ResetOnExit reset(stmt);
  if (auto bound = bind(stmt, params); !bound) return core::fail(bound.error());

  const int width = sqlite3_column_count(stmt);
  auto columns = std::make_shared<std::vector<std::string>>();
  columns->reserve(static_cast<std::size_t>(width));
  for (int i = 0; i < width; ++i) columns->emplace_back(sqlite3_column_name(stmt, i));

  std::vector<Row> rows;
  for (;;) {
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return core::fail(error(rc, sqlite3_sql(stmt)));
    std::vector<Value> values;
    values.reserve(static_cast<std::size_t>(width));
    for (int i = 0; i < width; ++i) values.push_back(column_value(stmt, i));
    rows.emplace_back(columns, std::move(values));
  }
  return rows;
}

core::Result<std::int64_t, StoreError> SqliteConnection::exec(sqlite3_stmt* stmt,
                                                              const Params& params) {
  ResetOnExit reset(stmt);
  if (auto bound = bind(stmt, params); !bound) return core::fail(bound.error());
  // sqlite3_changes() keeps the count of the last INSERT/UPDATE/DELETE, so a
  // statement that changed nothing must not report it.
  const auto before = sqlite3_total_changes64(db_);
  int rc = SQLITE_ROW;
  while (rc == SQLITE_ROW) rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE) return core::fail(error(rc, sqlite3_sql(stmt)));
  return sqlite3_total_changes64(db_) == before ? std::int64_t{0}
                                                : std::int64_t{sqlite3_changes64(db_)};
}

core::Result<void, StoreError> SqliteConnection::exec_script(std::string_view sql) {
  const std::string text(sql);
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string why = message != nullptr ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    return core::fail(StoreError{error_kind(rc), why});
  }
  return {};
}

}  // namespace ucedge::store::sqlite
