#pragma once
// The SQLite backend: one writer connection behind a mutex, a few readers.
#include <chrono>
#include <condition_variable>
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

 protected:
  core::Result<std::vector<Row>, StoreError> run_query(std::string_view sql,
                                                       const Params& params) override;
  core::Result<std::int64_t, StoreError> run_exec(std::string_view sql, const Params& params) override;
  core::Result<void, StoreError> run_transaction(const TransactionBody& body) override;
  core::Result<void, StoreError> run_ping() override;

 private:
  class WriterLock;
  class ReaderLease;

  SqliteStore(std::unique_ptr<SqliteConnection> writer,
              std::vector<std::unique_ptr<SqliteConnection>> readers,
              std::chrono::milliseconds busy_timeout);

  core::Result<std::vector<Row>, StoreError> query_on_writer(std::string_view sql,
                                                             const Params& params);

  std::chrono::milliseconds busy_timeout_;

  // The writer is claimed through a flag rather than a std::timed_mutex:
  // ThreadSanitizer does not see timed_mutex's pthread_mutex_clocklock.
  std::mutex writer_mutex_;
  std::condition_variable writer_released_;
  bool writer_taken_ = false;
  std::unique_ptr<SqliteConnection> writer_;

  std::mutex readers_mutex_;
  std::condition_variable reader_returned_;
  std::vector<std::unique_ptr<SqliteConnection>> idle_readers_;
};

}  // namespace ucedge::store::sqlite
