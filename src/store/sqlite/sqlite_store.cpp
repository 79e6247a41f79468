#include "store/sqlite/sqlite_store.hpp"

#include <sqlite3.h>

namespace ucedge::store::sqlite {

namespace {

StoreError busy(std::string_view what, std::chrono::milliseconds waited) {
  return {StoreError::Kind::busy,
          std::string(what) + " was not free within " + std::to_string(waited.count()) + "ms"};
}

// Statements of one SQLite transaction, all on the writer connection.
class SqliteTransaction final : public Transaction {
 public:
  explicit SqliteTransaction(SqliteConnection& connection) : connection_(connection) {}

 protected:
  core::Result<std::vector<Row>, StoreError> run_query(std::string_view sql,
                                                       const Params& params) override {
    auto stmt = connection_.prepare(sql);
    if (!stmt) return core::fail(stmt.error());
    return connection_.query(*stmt, params);
  }
  core::Result<std::int64_t, StoreError> run_exec(std::string_view sql,
                                                  const Params& params) override {
    auto stmt = connection_.prepare(sql);
    if (!stmt) return core::fail(stmt.error());
    return connection_.exec(*stmt, params);
  }
  core::Result<void, StoreError> run_script(std::string_view sql) override {
    return connection_.exec_script(sql);
  }

 private:
  SqliteConnection& connection_;
};

}  // namespace

// Holds the writer connection for one statement or one transaction.
class SqliteStore::WriterLock {
 public:
  explicit WriterLock(SqliteStore& store) : store_(store) {
    std::unique_lock lock(store_.writer_mutex_);
    held_ = store_.writer_released_.wait_for(lock, store_.busy_timeout_,
                                             [&] { return !store_.writer_taken_; });
    if (held_) store_.writer_taken_ = true;
  }
  ~WriterLock() {
    if (!held_) return;
    {
      std::lock_guard lock(store_.writer_mutex_);
      store_.writer_taken_ = false;
    }
    store_.writer_released_.notify_one();
  }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

  bool held() const { return held_; }
  SqliteConnection& connection() { return *store_.writer_; }

 private:
  SqliteStore& store_;
  bool held_ = false;
};

// Borrows an idle reader connection and gives it back on destruction.
class SqliteStore::ReaderLease {
 public:
  explicit ReaderLease(SqliteStore& store) : store_(store) {
    std::unique_lock lock(store_.readers_mutex_);
    if (store_.reader_returned_.wait_for(lock, store_.busy_timeout_,
                                         [&] { return !store_.idle_readers_.empty(); })) {
      connection_ = std::move(store_.idle_readers_.back());
      store_.idle_readers_.pop_back();
    }
  }
  ~ReaderLease() {
    if (!connection_) return;
    {
      std::lock_guard lock(store_.readers_mutex_);
      store_.idle_readers_.push_back(std::move(connection_));
    }
    store_.reader_returned_.notify_one();
  }
  ReaderLease(const ReaderLease&) = delete;
  ReaderLease& operator=(const ReaderLease&) = delete;

  SqliteConnection* connection() { return connection_.get(); }

 private:
  SqliteStore& store_;
  std::unique_ptr<SqliteConnection> connection_;
};

SqliteStore::SqliteStore(std::unique_ptr<SqliteConnection> writer,
                         std::vector<std::unique_ptr<SqliteConnection>> readers,
                         std::chrono::milliseconds busy_timeout)
    : busy_timeout_(busy_timeout), writer_(std::move(writer)), idle_readers_(std::move(readers)) {}

core::Result<std::unique_ptr<Store>, StoreError> SqliteStore::open(
    const std::filesystem::path& file, int readers, std::chrono::milliseconds busy_timeout) {
  std::error_code ec;
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path(), ec);
  if (ec) {
    return core::fail(StoreError{StoreError::Kind::unavailable,
                                 "cannot create " + file.parent_path().string() + ": " + ec.message()});
  }
  auto writer = SqliteConnection::open(file, busy_timeout, true);
  if (!writer) return core::fail(writer.error());
  std::vector<std::unique_ptr<SqliteConnection>> pool;
  for (int i = 0; i < readers; ++i) {
    auto reader = SqliteConnection::open(file, busy_timeout, false);
    if (!reader) return core::fail(reader.error());
    pool.push_back(std::move(*reader));
  }
  return std::unique_ptr<Store>(
      new SqliteStore(std::move(*writer), std::move(pool), busy_timeout));
}

core::Result<std::vector<Row>, StoreError> SqliteStore::query_on_writer(std::string_view sql,
                                                                        const Params& params) {
  WriterLock writer(*this);
  if (!writer.held()) return core::fail(busy("the SQLite writer", busy_timeout_));
  auto stmt = writer.connection().prepare(sql);
  if (!stmt) return core::fail(stmt.error());
  return writer.connection().query(*stmt, params);
}

core::Result<std::vector<Row>, StoreError> SqliteStore::run_query(std::string_view sql,
                                                                  const Params& params) {
  {
    ReaderLease reader(*this);
    if (reader.connection() == nullptr) {
      return core::fail(busy("an SQLite reader connection", busy_timeout_));
    }
    auto stmt = reader.connection()->prepare(sql);
    if (!stmt) return core::fail(stmt.error());
    if (SqliteConnection::is_read_only(*stmt)) return reader.connection()->query(*stmt, params);
  }
  // INSERT ... RETURNING and the like write, so they run on the writer.
  return query_on_writer(sql, params);
}

core::Result<std::int64_t, StoreError> SqliteStore::run_exec(std::string_view sql,
                                                             const Params& params) {
  WriterLock writer(*this);
  if (!writer.held()) return core::fail(busy("the SQLite writer", busy_timeout_));
  auto stmt = writer.connection().prepare(sql);
  if (!stmt) return core::fail(stmt.error());
  return writer.connection().exec(*stmt, params);
}

core::Result<void, StoreError> SqliteStore::run_transaction(const TransactionBody& body) {
  WriterLock writer(*this);
  if (!writer.held()) return core::fail(busy("the SQLite writer", busy_timeout_));
  SqliteConnection& db = writer.connection();

  // IMMEDIATE takes the write lock now, so a second process waits here
  // (busy_timeout) rather than failing half way through.
  if (auto begun = db.exec_script("BEGIN IMMEDIATE"); !begun) return begun;
  SqliteTransaction txn(db);
  auto outcome = run_body(body, txn);
  if (!outcome) {
    (void)db.exec_script("ROLLBACK");
    return outcome;
  }
  if (auto committed = db.exec_script("COMMIT"); !committed) {
    (void)db.exec_script("ROLLBACK");
    return committed;
  }
  return {};
}

core::Result<void, StoreError> SqliteStore::run_ping() {
  auto rows = query("SELECT 1");
  if (!rows) return core::fail(rows.error());
  return {};
}

}  // namespace ucedge::store::sqlite
