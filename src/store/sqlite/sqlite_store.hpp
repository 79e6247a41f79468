#pragma once
// The SQLite backend: one writer thread with the writer connection, which
// commits the transactions queued meanwhile together (group commit), and a
// few reader connections.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "store/sqlite/sqlite_connection.hpp"
#include "store/store.hpp"

namespace ucedge::store::sqlite {

class SqliteStore final : public Store {
 public:
  static core::Result<std::unique_ptr<Store>, StoreError> open(const std::filesystem::path& file,
                                                               int readers,
                                                               std::chrono::milliseconds busy_timeout,
                                                               std::chrono::milliseconds commit_delay = {});
  ~SqliteStore() override;

  Backend backend() const override { return Backend::sqlite; }
  bool writes_in_background() const override { return true; }

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
  void run_transaction_later(TransactionBody body, TransactionDone done) override;
  core::Result<void, StoreError> run_ping() override;

 private:
  class ReaderLease;
  struct QueuedWrite;

  SqliteStore(std::unique_ptr<SqliteConnection> writer,
              std::vector<std::unique_ptr<SqliteConnection>> readers,
              std::chrono::milliseconds busy_timeout, std::chrono::milliseconds commit_delay);

  core::Result<std::vector<Row>, StoreError> query_on_writer(std::string_view sql,
                                                             const Params& params);
  // Queues `body` for the writer and returns once its batch has committed
  // (or it failed, or was not taken within busy_timeout).
  core::Result<void, StoreError> write(const TransactionBody& body);
  // The writer thread: takes what is queued, commits it, tells the callers.
  void write_batches();
  // Under load, lets queued transaction_later() writes wait for companions,
  // up to commit_delay_ after the oldest and while more keep arriving, so
  // that one commit carries them all. Called and returns with `lock` held.
  void gather_companions(std::unique_lock<std::mutex>& lock);
  // Runs the bodies in one SQLite transaction, each in its own savepoint,
  // and sets every write's outcome. True when it committed.
  bool commit_together(const std::vector<QueuedWrite*>& batch);

  std::chrono::milliseconds busy_timeout_;
  std::chrono::milliseconds commit_delay_;
  // Transactions waiting for the writer thread, which takes all of them (up
  // to a limit) as one batch each time it finishes the previous one. Callers
  // of write() sleep on their own condition variable until theirs is done;
  // run_transaction_later() callers are told through their callback.
  mutable std::mutex writer_mutex_;
  std::condition_variable work_queued_;
  std::deque<QueuedWrite*> queued_;
  bool stopping_ = false;
  WriterCounts counts_;
  std::size_t last_batch_size_ = 0;
  std::unique_ptr<SqliteConnection> writer_;
  std::thread writer_thread_;
  std::mutex readers_mutex_;
  std::condition_variable reader_returned_;
  std::vector<std::unique_ptr<SqliteConnection>> idle_readers_;
};

}  // namespace ucedge::store::sqlite
