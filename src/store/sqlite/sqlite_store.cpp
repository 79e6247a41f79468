#include "store/sqlite/sqlite_store.hpp"

#include <sqlite3.h>

#include <algorithm>

namespace ucedge::store::sqlite {

namespace {

// Transactions committed together at most; bounds how long a leader works
// for others before its own caller gets the answer.
constexpr std::size_t kBatchLimit = 64;

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

// One transaction waiting for, or running on, the writer. A write() caller's
// lives on its stack and the caller sleeps until `done`; a later one's is on
// the heap, owned by the queue, and ends with its callback.
struct SqliteStore::QueuedWrite {
  explicit QueuedWrite(const TransactionBody& b) : body(&b) {}
  QueuedWrite(TransactionBody b, TransactionDone d)
      : owned_body(std::move(b)), body(&owned_body), on_done(std::move(d)) {}
  TransactionBody owned_body;
  const TransactionBody* body;
  TransactionDone on_done;  // set for transaction_later(), whose bodies may run twice
  core::Result<void, StoreError> outcome;
  std::chrono::steady_clock::time_point queued_at = std::chrono::steady_clock::now();
  std::condition_variable wake;
  bool taken = false;  // in a batch that is running: it must wait for the outcome
  bool done = false;
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
                         std::chrono::milliseconds busy_timeout, std::chrono::milliseconds commit_delay)
    : busy_timeout_(busy_timeout),
      commit_delay_(commit_delay),
      writer_(std::move(writer)),
      idle_readers_(std::move(readers)) {
  writer_thread_ = std::thread([this] { write_batches(); });
}

SqliteStore::~SqliteStore() {
  {
    std::lock_guard lock(writer_mutex_);
    stopping_ = true;  // what is queued is still written
  }
  work_queued_.notify_one();
  writer_thread_.join();
}

core::Result<std::unique_ptr<Store>, StoreError> SqliteStore::open(
    const std::filesystem::path& file, int readers, std::chrono::milliseconds busy_timeout,
    std::chrono::milliseconds commit_delay) {
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
      new SqliteStore(std::move(*writer), std::move(pool), busy_timeout, commit_delay));
}

core::Result<std::vector<Row>, StoreError> SqliteStore::query_on_writer(std::string_view sql,
                                                                        const Params& params) {
  std::vector<Row> rows;
  auto done = write([&](Transaction& txn) -> core::Result<void, StoreError> {
    auto got = txn.query(sql, params);
    if (!got) return core::fail(got.error());
    rows = std::move(got).value();
    return {};
  });
  if (!done) return core::fail(done.error());
  return rows;
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
  std::int64_t changed = 0;
  auto done = write([&](Transaction& txn) -> core::Result<void, StoreError> {
    auto n = txn.exec(sql, params);
    if (!n) return core::fail(n.error());
    changed = *n;
    return {};
  });
  if (!done) return core::fail(done.error());
  return changed;
}

core::Result<void, StoreError> SqliteStore::run_transaction(const TransactionBody& body) { return write(body); }

void SqliteStore::run_transaction_later(TransactionBody body, TransactionDone done) {
  auto queued = std::make_unique<QueuedWrite>(std::move(body), std::move(done));
  {
    std::lock_guard lock(writer_mutex_);
    queued_.push_back(queued.release());
  }
  work_queued_.notify_one();
}

core::Result<void, StoreError> SqliteStore::write(const TransactionBody& body) {
  if (std::this_thread::get_id() == writer_thread_.get_id()) {
    return core::fail(StoreError{StoreError::Kind::invalid,
                                 "a write from the writer thread (a transaction_later() callback) would wait for "
                                 "itself; hand the work to another thread"});
  }
  QueuedWrite mine(body);
  std::unique_lock lock(writer_mutex_);
  queued_.push_back(&mine);
  work_queued_.notify_one();
  const auto give_up = std::chrono::steady_clock::now() + busy_timeout_;
  while (!mine.done) {
    if (mine.taken) {
      mine.wake.wait(lock);
    } else if (mine.wake.wait_until(lock, give_up) == std::cv_status::timeout && !mine.done && !mine.taken) {
      std::erase(queued_, &mine);
      return core::fail(busy("the SQLite writer", busy_timeout_));
    }
  }
  return std::move(mine.outcome);
}

void SqliteStore::write_batches() {
  std::vector<QueuedWrite*> batch;
  std::vector<QueuedWrite*> finished_later;
  for (;;) {
    std::unique_lock lock(writer_mutex_);
    work_queued_.wait(lock, [&] { return stopping_ || !queued_.empty(); });
    if (queued_.empty()) return;  // stopping, and nothing left to write
    gather_companions(lock);
    if (queued_.empty()) continue;  // every write() in it gave up (busy_timeout) while the writer slept
    batch.clear();
    while (!queued_.empty() && batch.size() < kBatchLimit) {
      batch.push_back(queued_.front());
      queued_.pop_front();
      batch.back()->taken = true;
    }
    lock.unlock();
    const bool committed = commit_together(batch);
    lock.lock();
    counts_.transactions += batch.size();
    last_batch_size_ = batch.size();
    if (committed) ++counts_.commits;
    finished_later.clear();
    for (QueuedWrite* write : batch) {
      if (write->on_done) {
        finished_later.push_back(write);
      } else {
        write->done = true;
        write->wake.notify_one();
      }
    }
    lock.unlock();
    for (QueuedWrite* write : finished_later) {
      std::unique_ptr<QueuedWrite> owned(write);
      try {
        owned->on_done(std::move(owned->outcome));
      } catch (...) {
        // A callback that throws must not stop the writer; it has its outcome.
      }
    }
  }
}

void SqliteStore::gather_companions(std::unique_lock<std::mutex>& lock) {
  // Only transaction_later() writes wait: their callers hold no thread
  // meanwhile, while a write() caller's thread would be held. And only once
  // writes come in groups (the last batch carried more than one): a lone
  // write has nobody to share its commit with. Then each commit with its
  // fsync costs far more than one more write's statements, so waiting a
  // little trades a bounded latency for fewer commits.
  if (commit_delay_.count() == 0 || last_batch_size_ < 2 || stopping_ || queued_.size() >= kBatchLimit ||
      !queued_.front()->on_done) {
    return;
  }
  const auto until = queued_.front()->queued_at + commit_delay_;
  // In steps of half the delay: a step that brings no new write means the
  // writers are all waiting for this commit (a few clients, each waiting for
  // its answer), and waiting on would only slow them down. (Quarter steps
  // ended the wait too early under the refresh bench: its writes come in
  // bursts as the answers of the last commit go out.) Sleeping, not waiting on
  // work_queued_, so the writes arriving meanwhile find no waiter to wake
  // and save a system call each.
  const auto step = std::chrono::duration_cast<std::chrono::microseconds>(commit_delay_) / 2;
  for (std::size_t seen = queued_.size(); !stopping_ && queued_.size() < kBatchLimit;) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= until) return;
    lock.unlock();
    std::this_thread::sleep_until(std::min<std::chrono::steady_clock::time_point>(until, now + step));
    lock.lock();
    if (queued_.size() <= seen) return;
    seen = queued_.size();
  }
}

bool SqliteStore::commit_together(const std::vector<QueuedWrite*>& batch) {
  SqliteConnection& db = *writer_;
  auto fail_all = [&](const StoreError& error) {
    for (QueuedWrite* write : batch) write->outcome = core::fail(error);
    return false;
  };
  auto run = [&](std::string_view sql) -> core::Result<void, StoreError> {
    auto stmt = db.prepare(sql);
    if (!stmt) return core::fail(stmt.error());
    auto done = db.exec(*stmt, {});
    if (!done) return core::fail(done.error());
    return {};
  };

  // IMMEDIATE takes SQLite's write lock now, so another process using the
  // file makes us wait here (busy_timeout) rather than fail half way through.
  if (auto begun = run("BEGIN IMMEDIATE"); !begun) return fail_all(begun.error());

  // Bodies that may run twice (transaction_later) first run without
  // savepoints, which cost a quarter of a refresh's store work: when all
  // succeed, that is the batch. When one fails, everything is rolled back
  // and the batch runs again below, each body in its own savepoint.
  const bool may_run_twice = std::all_of(batch.begin(), batch.end(), [](QueuedWrite* w) { return bool(w->on_done); });
  if (batch.size() > 1 && may_run_twice) {
    bool all_ok = true;
    for (QueuedWrite* write : batch) {
      SqliteTransaction txn(db);
      write->outcome = run_body(*write->body, txn);
      if (!write->outcome || !db.in_transaction()) {
        all_ok = false;
        break;
      }
    }
    if (all_ok) {
      if (auto committed = run("COMMIT"); !committed) {
        (void)run("ROLLBACK");
        return fail_all(committed.error());
      }
      return true;
    }
    if (db.in_transaction()) (void)run("ROLLBACK");
    if (auto begun = run("BEGIN IMMEDIATE"); !begun) return fail_all(begun.error());
  }

  // Each body in its own savepoint: one that fails is undone alone, and the
  // others commit as if each had had its own transaction, in queue order.
  const bool alone = batch.size() == 1;
  bool any_ok = false;
  for (QueuedWrite* write : batch) {
    if (!alone) {
      if (auto saved = run("SAVEPOINT queued_write"); !saved) {
        (void)run("ROLLBACK");
        return fail_all(saved.error());
      }
    }
    SqliteTransaction txn(db);
    write->outcome = run_body(*write->body, txn);
    if (!db.in_transaction()) {
      // Some errors (a full disk, an I/O error) make SQLite roll back the
      // whole transaction: nothing of this batch will be committed.
      return fail_all(write->outcome ? StoreError{StoreError::Kind::unavailable,
                                                  "SQLite rolled the transaction back"}
                                     : write->outcome.error());
    }
    if (alone) {
      any_ok = write->outcome.ok();
      break;
    }
    if (write->outcome) {
      any_ok = true;
    } else if (auto undone = run("ROLLBACK TO queued_write"); !undone) {
      (void)run("ROLLBACK");
      return fail_all(undone.error());
    }
    if (auto released = run("RELEASE queued_write"); !released) {
      (void)run("ROLLBACK");
      return fail_all(released.error());
    }
  }

  if (!any_ok) {
    (void)run("ROLLBACK");
    return false;
  }
  if (auto committed = run("COMMIT"); !committed) {
    (void)run("ROLLBACK");
    for (QueuedWrite* write : batch) {
      if (write->outcome) write->outcome = core::fail(committed.error());
    }
    return false;
  }
  return true;
}

SqliteStore::WriterCounts SqliteStore::writer_counts() const {
  std::lock_guard lock(writer_mutex_);
  WriterCounts counts = counts_;
  counts.waiting = queued_.size();
  return counts;
}

core::Result<void, StoreError> SqliteStore::run_ping() {
  auto rows = query("SELECT 1");
  if (!rows) return core::fail(rows.error());
  return {};
}

}  // namespace ucedge::store::sqlite
