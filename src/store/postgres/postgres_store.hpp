#pragma once
// The PostgreSQL backend (libpqxx): a small pool of connections shared by
// every thread; several ucedge nodes may use one database.
#include <chrono>
#include <memory>
#include <string>

#include "store/postgres/connection_pool.hpp"
#include "store/store.hpp"

namespace ucedge::store::postgres {

class PostgresStore final : public Store {
 public:
  // Connects once before returning, so a wrong URL or a missing server is
  // reported at start-up (Kind::unavailable).
  static core::Result<std::unique_ptr<Store>, StoreError> open(const std::string& url, int pool_size,
                                                               std::chrono::milliseconds busy_timeout);

  Backend backend() const override { return Backend::postgres; }
  // LISTEN on a connection of its own, on a thread of its own; reconnects
  // after a failure (signals sent meanwhile are missed: callers also poll).
  std::unique_ptr<Subscription> subscribe(std::string channel, SignalHandler handler) override;

 protected:
  core::Result<std::vector<Row>, StoreError> run_query(std::string_view sql,
                                                       const Params& params) override;
  core::Result<std::int64_t, StoreError> run_exec(std::string_view sql, const Params& params) override;
  core::Result<void, StoreError> run_transaction(const TransactionBody& body) override;
  core::Result<void, StoreError> run_ping() override;
  // NOTIFY, through pg_notify() so the channel needs no quoting.
  core::Result<void, StoreError> run_signal(std::string_view channel, std::string_view payload) override;

 private:
  PostgresStore(const std::string& url, int pool_size, std::chrono::milliseconds busy_timeout)
      : url_(with_connect_timeout(url)), pool_(url, pool_size, busy_timeout) {}

  const std::string url_;
  ConnectionPool pool_;
};

}  // namespace ucedge::store::postgres
