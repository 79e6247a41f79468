#pragma once
// The SQLite backend: one writer connection that commits queued transactions
// together (group commit), and a few readers.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <vector>

#include "store/sqlite/sqlite_connection.hpp"
#include "store/store.hpp"

namespace ucedge::store::sqlite {

class SqliteStore final : public Store {
 public:
  static core::Result<std::unique_ptr<Store>, StoreError> open(const std::filesystem::path& file,
                                                               int readers,
                                                               std::chrono::milliseconds busy_timeout);

  Backend backend() const override { return Backend::sqlite; }

  // Transactions handed to the writer and the commits that carried them,
  // since opening; their ratio is the mean group-commit batch.
  struct WriterCounts {
    std::uint64_t transactions = 0;
    std::uint64_t commits = 0;
    std::size_t waiting = 0;  // queued now, not yet in a batch
  };
  WriterCounts writer_counts() const;

 protected:
  core::Result<std::vector<Row>, StoreError> run_query(std::string_view sql,
                                                       const Params& params) override;
  core::Result<std::int64_t, StoreError> run_exec(std::string_view sql, const Params& params) override;
  core::Result<void, StoreError> run_transaction(const TransactionBody& body) override;
  core::Result<void, StoreError> run_ping() override;

 private:
  class ReaderLease;
  struct QueuedWrite;

  SqliteStore(std::unique_ptr<SqliteConnection> writer,
              std::vector<std::unique_ptr<SqliteConnection>> readers,
              std::chrono::milliseconds busy_timeout);

  core::Result<std::vector<Row>, StoreError> query_on_writer(std::string_view sql,
                                                             const Params& params);
  // Queues `body` for the writer and returns once its batch has committed
  // (or it failed, or the writer stayed busy for busy_timeout).
  core::Result<void, StoreError> write(const TransactionBody& body);
  // Runs the bodies in one SQLite transaction, each in its own savepoint,
  // and sets every write's outcome. True when it committed.
  bool commit_together(const std::vector<QueuedWrite*>& batch);

  std::chrono::milliseconds busy_timeout_;
  // Transactions waiting for the writer. The thread that finds it idle leads:
  // it takes what is queued (its own write first), commits the batch with one
  // fsync, and hands the lead to the next waiter, if any. Waiters sleep on
  // their own condition variable and are woken when done or when they lead.
  mutable std::mutex writer_mutex_;
  std::deque<QueuedWrite*> queued_;
  bool writer_busy_ = false;
  WriterCounts counts_;
  std::unique_ptr<SqliteConnection> writer_;
  std::mutex readers_mutex_;
  std::condition_variable reader_returned_;
  std::vector<std::unique_ptr<SqliteConnection>> idle_readers_;
};

}  // namespace ucedge::store::sqlite
