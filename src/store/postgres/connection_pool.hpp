#pragma once
// A fixed number of PostgreSQL connections, opened when first needed and
// replaced when they break.
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "store/store_error.hpp"

#include <pqxx/connection>

namespace ucedge::store::postgres {

class ConnectionPool {
 public:
  // One connection, borrowed; returned to the pool when the lease ends.
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&&) = delete;
    ~Lease();

    pqxx::connection& connection() { return *connection_; }
    // The connection is broken: close it instead of returning it. The idle
    // ones went through the same server, so they are dropped as well.
    void lost() { lost_ = true; }
    bool is_lost() const { return lost_; }

   private:
    friend class ConnectionPool;
    Lease(ConnectionPool& pool, std::unique_ptr<pqxx::connection> connection)
        : pool_(&pool), connection_(std::move(connection)) {}

    ConnectionPool* pool_;
    std::unique_ptr<pqxx::connection> connection_;
    bool lost_ = false;
  };

  ConnectionPool(std::string url, int size, std::chrono::milliseconds wait);
  ~ConnectionPool();

  // An idle connection, or a new one while fewer than `size` exist; waits up
  // to `wait` for one to come back (Kind::busy), Kind::unavailable when the
  // server cannot be reached.
  core::Result<Lease, StoreError> acquire();

 private:
  void give_back(std::unique_ptr<pqxx::connection> connection, bool lost);
  core::Result<Lease, StoreError> connect_failed(std::string why);

  const std::string url_;
  const std::chrono::milliseconds wait_;

  std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
  int unopened_;  // slots with no connection yet
};

// Adds connect_timeout to a libpq URL or key=value string that has none, so an
// unreachable server is an error after seconds instead of a hang.
std::string with_connect_timeout(const std::string& url);

}  // namespace ucedge::store::postgres
