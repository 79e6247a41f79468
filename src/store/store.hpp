#pragma once
// store::Store — the one way ucedge persists anything.
//
// SQL is written once, with `?` placeholders, in the SQL both SQLite and
// PostgreSQL understand (INSERT ... ON CONFLICT, not INSERT OR REPLACE). The
// PostgreSQL backend rewrites `?` to `$1..$n`. Every call returns a Result;
// no exception leaves this API. A Store is safe to use from many threads.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "store/store_config.hpp"
#include "store/store_error.hpp"
#include "store/value.hpp"

namespace ucedge::store {

// Something SQL runs on: the Store itself (each statement commits on its own)
// or a Transaction.
class Queryable {
 public:
  virtual ~Queryable() = default;

  // One statement that returns rows (SELECT, or INSERT/UPDATE ... RETURNING).
  core::Result<std::vector<Row>, StoreError> query(std::string_view sql, const Params& params = {});
  // One statement; returns the number of rows it inserted, updated or
  // deleted (0 for DDL). Use query() for SELECT.
  core::Result<std::int64_t, StoreError> exec(std::string_view sql, const Params& params = {});

 protected:
  virtual core::Result<std::vector<Row>, StoreError> run_query(std::string_view sql,
                                                               const Params& params) = 0;
  virtual core::Result<std::int64_t, StoreError> run_exec(std::string_view sql,
                                                          const Params& params) = 0;
  // Refuses a call before it reaches the backend (see store.cpp).
  virtual std::optional<StoreError> refuse(std::string_view sql, const Params& params) const;
  // Hears about every statement that failed.
  virtual void failed(const StoreError&) {}
};

// The statements of one transaction; only valid inside Store::transaction().
//
// A statement that fails dooms the transaction on both backends (PostgreSQL's
// rule): later statements are refused and nothing is committed. To insert or
// update depending on what is there, write INSERT ... ON CONFLICT instead of
// catching the constraint error.
class Transaction : public Queryable {
 public:
  // Several `;`-separated statements without parameters (migrations).
  core::Result<void, StoreError> exec_script(std::string_view sql);

  // The first error a statement of this transaction returned, if any.
  const std::optional<StoreError>& failure() const { return failure_; }

 protected:
  virtual core::Result<void, StoreError> run_script(std::string_view sql) = 0;
  std::optional<StoreError> refuse(std::string_view sql, const Params& params) const override;
  void failed(const StoreError& error) override;

 private:
  friend class Store;

  bool open_ = true;
  std::optional<StoreError> failure_;
};

using TransactionBody = std::function<core::Result<void, StoreError>(Transaction&)>;
using TransactionDone = std::function<void(core::Result<void, StoreError>)>;

// Ends a subscribe() when destroyed; no call is running or made after that.
class Subscription {
 public:
  virtual ~Subscription() = default;
};

using SignalHandler = std::function<void(const std::string& payload)>;

class Store : public Queryable {
 public:
  // Runs `body` in one transaction: commits only when it returns ok and none
  // of its statements failed; otherwise rolls back and returns the error. A
  // body that throws is rolled back and reported as Kind::internal. Using the
  // Store itself (not the Transaction) inside the body is refused.
  core::Result<void, StoreError> transaction(const TransactionBody& body);

  // transaction() without waiting, where the backend writes in the
  // background (writes_in_background(): SQLite's writer thread): queues the
  // body, returns at once, and calls `done` with the outcome once it is
  // committed or failed, on the writer thread, so `done` should only hand
  // the work on. Elsewhere (PostgreSQL) it is transaction() and then `done`,
  // on this thread. The body may run more than once (SQLite runs a batch
  // again, one savepoint per body, when one of its bodies failed): each run
  // must start from scratch, as a retried transaction would.
  void transaction_later(TransactionBody body, TransactionDone done);
  virtual bool writes_in_background() const { return false; }

  // Cheap round trip to the database (/readyz).
  core::Result<void, StoreError> ping();

  // The highest migration applied to the database.
  core::Result<std::int64_t, StoreError> schema_version();

  // Tells whoever listens on `channel` that something changed (a revocation,
  // a new key), so they re-read it now instead of at their next poll. On
  // PostgreSQL this is NOTIFY and reaches every node using the database; on
  // SQLite it reaches the subscribers of this Store only. A hint, not a
  // message queue: a node that missed one (a dropped connection) catches up
  // at its next poll.
  core::Result<void, StoreError> signal(std::string_view channel, std::string_view payload = {});
  // Calls `handler` on a thread of the store's each time `channel` is
  // signalled, until the Subscription is destroyed.
  virtual std::unique_ptr<Subscription> subscribe(std::string channel, SignalHandler handler);

  virtual Backend backend() const = 0;
  std::string_view backend_name() const { return store::backend_name(backend()); }

 protected:
  Store();

  // Begins a transaction, calls run_body(body, txn) and commits or rolls back.
  virtual core::Result<void, StoreError> run_transaction(const TransactionBody& body) = 0;
  virtual void run_transaction_later(TransactionBody body, TransactionDone done);
  virtual core::Result<void, StoreError> run_ping() = 0;
  // PostgreSQL sends NOTIFY; the default calls this process's subscribers.
  virtual core::Result<void, StoreError> run_signal(std::string_view channel, std::string_view payload);
  std::optional<StoreError> refuse(std::string_view sql, const Params& params) const override;

  // Calls the body and decides whether its transaction may commit. The body
  // may not use this Store directly, whichever thread runs it.
  core::Result<void, StoreError> run_body(const TransactionBody& body, Transaction& txn) const;

 private:
  class LocalSubscription;
  struct LocalSubscribers;
  std::shared_ptr<LocalSubscribers> local_;
};

// Opens the configured database (sqlite_path is taken relative to data_dir)
// and applies every migration it has not seen yet. A database whose schema is
// newer than this binary knows is refused.
core::Result<std::unique_ptr<Store>, StoreError> open_store(const StoreConfig& config,
                                                            const std::filesystem::path& data_dir);

}  // namespace ucedge::store
