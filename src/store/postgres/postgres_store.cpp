#include "store/postgres/postgres_store.hpp"

#include <pqxx/pqxx>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "store/postgres/postgres_errors.hpp"
#include "store/postgres/postgres_values.hpp"

namespace ucedge::store::postgres {

namespace {

pqxx::result run(pqxx::transaction_base& txn, std::string_view sql, const Params& params) {
  const EncodedParams encoded = encode(sql, params);
  const std::vector<const char*> values = encoded.pointers();
  return txn.exec_params(encoded.sql, pqxx::prepare::make_dynamic_params(values));
}

// Runs `work` and turns what libpqxx throws into a StoreError, marking the
// lease when the connection is gone.
template <class T, class Work>
core::Result<T, StoreError> guarded(ConnectionPool::Lease* lease, Work&& work) {
  try {
    return work();
  } catch (...) {
    MappedError mapped = current_exception_error();
    if (mapped.connection_lost && lease != nullptr) lease->lost();
    return core::fail(std::move(mapped.error));
  }
}

core::Result<std::vector<Row>, StoreError> rows_of(pqxx::transaction_base& txn, std::string_view sql,
                                                   const Params& params) {
  return decode(run(txn, sql, params));
}

std::int64_t affected(pqxx::transaction_base& txn, std::string_view sql, const Params& params) {
  return static_cast<std::int64_t>(run(txn, sql, params).affected_rows());
}

class PostgresTransaction final : public Transaction {
 public:
  PostgresTransaction(pqxx::work& work, ConnectionPool::Lease& lease) : work_(work), lease_(lease) {}

 protected:
  core::Result<std::vector<Row>, StoreError> run_query(std::string_view sql,
                                                       const Params& params) override {
    return guarded<std::vector<Row>>(&lease_, [&] { return rows_of(work_, sql, params); });
  }
  core::Result<std::int64_t, StoreError> run_exec(std::string_view sql,
                                                  const Params& params) override {
    return guarded<std::int64_t>(&lease_, [&] { return affected(work_, sql, params); });
  }
  core::Result<void, StoreError> run_script(std::string_view sql) override {
    return guarded<void>(&lease_, [&]() -> core::Result<void, StoreError> {
      work_.exec(std::string(sql));
      return {};
    });
  }

 private:
  pqxx::work& work_;
  ConnectionPool::Lease& lease_;
};

class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& connection, const std::string& channel, const SignalHandler& handler)
      : pqxx::notification_receiver(connection, channel), handler_(handler) {}
  void operator()(const std::string& payload, int) override { handler_(payload); }

 private:
  const SignalHandler& handler_;
};

class PostgresSubscription final : public Subscription {
 public:
  PostgresSubscription(std::string url, std::string channel, SignalHandler handler)
      : url_(std::move(url)), channel_(std::move(channel)), handler_(std::move(handler)),
        thread_([this] { listen(); }) {
    // Signals sent once subscribe() returned must be heard: wait (a little)
    // for the first LISTEN.
    std::unique_lock lock(mutex_);
    first_attempt_.wait_for(lock, std::chrono::seconds(5), [this] { return attempted_; });
  }
  ~PostgresSubscription() override {
    stopping_ = true;
    thread_.join();
  }

 private:
  void listen() {
    while (!stopping_) {
      try {
        pqxx::connection connection(url_);
        Receiver receiver(connection, channel_, handler_);
        connection.get_notifs();  // sends the LISTEN now
        tried();
        while (!stopping_) connection.await_notification(0, 200'000);
      } catch (...) {
        tried();
        // The server went away or refused us: try again shortly. Signals
        // sent meanwhile are lost; the caller's poll catches up.
        for (int i = 0; i < 10 && !stopping_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  }

  void tried() {
    std::lock_guard lock(mutex_);
    attempted_ = true;
    first_attempt_.notify_all();
  }

  const std::string url_;
  const std::string channel_;
  const SignalHandler handler_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable first_attempt_;
  bool attempted_ = false;
  std::thread thread_;  // last: starts once the rest is ready
};

}  // namespace

std::unique_ptr<Subscription> PostgresStore::subscribe(std::string channel, SignalHandler handler) {
  return std::make_unique<PostgresSubscription>(url_, std::move(channel), std::move(handler));
}

core::Result<void, StoreError> PostgresStore::run_signal(std::string_view channel, std::string_view payload) {
  auto rows = run_query("SELECT pg_notify(?, ?)", {std::string(channel), std::string(payload)});
  if (!rows) return core::fail(rows.error());
  return {};
}

core::Result<std::unique_ptr<Store>, StoreError> PostgresStore::open(
    const std::string& url, int pool_size, std::chrono::milliseconds busy_timeout) {
  std::unique_ptr<PostgresStore> store(new PostgresStore(url, pool_size, busy_timeout));
  if (auto first = store->pool_.acquire(); !first) return core::fail(first.error());
  return std::unique_ptr<Store>(std::move(store));
}

core::Result<std::vector<Row>, StoreError> PostgresStore::run_query(std::string_view sql,
                                                                    const Params& params) {
  auto lease = pool_.acquire();
  if (!lease) return core::fail(lease.error());
  return guarded<std::vector<Row>>(&*lease, [&] {
    pqxx::nontransaction autocommit(lease->connection());
    return rows_of(autocommit, sql, params);
  });
}

core::Result<std::int64_t, StoreError> PostgresStore::run_exec(std::string_view sql,
                                                               const Params& params) {
  auto lease = pool_.acquire();
  if (!lease) return core::fail(lease.error());
  return guarded<std::int64_t>(&*lease, [&] {
    pqxx::nontransaction autocommit(lease->connection());
    return affected(autocommit, sql, params);
  });
}

core::Result<void, StoreError> PostgresStore::run_transaction(const TransactionBody& body) {
  auto lease = pool_.acquire();
  if (!lease) return core::fail(lease.error());
  return guarded<void>(&*lease, [&]() -> core::Result<void, StoreError> {
    pqxx::work work(lease->connection());
    PostgresTransaction txn(work, *lease);
    auto outcome = run_body(body, txn);
    if (!outcome) {
      work.abort();
      return outcome;
    }
    work.commit();
    return {};
  });
}

core::Result<void, StoreError> PostgresStore::run_ping() {
  for (int attempt = 0;; ++attempt) {
    auto lease = pool_.acquire();
    if (!lease) return core::fail(lease.error());
    auto pinged = guarded<void>(&*lease, [&]() -> core::Result<void, StoreError> {
      pqxx::nontransaction autocommit(lease->connection());
      autocommit.exec("SELECT 1");
      return {};
    });
    // An idle connection may have died with a server that restarted or left;
    // one more try on a new connection tells which (and says it plainly).
    if (pinged || attempt > 0 || !lease->is_lost()) return pinged;
  }
}

}  // namespace ucedge::store::postgres
