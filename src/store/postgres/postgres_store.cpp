#include "store/postgres/postgres_store.hpp"

#include <pqxx/pqxx>

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

}  // namespace

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
