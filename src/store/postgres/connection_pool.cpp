#include "store/postgres/connection_pool.hpp"

#include <pqxx/connection>

#include "store/postgres/postgres_errors.hpp"


namespace ucedge::store::postgres {

namespace {

constexpr std::string_view kConnectTimeoutSeconds = "10";

}  // namespace

std::string with_connect_timeout(const std::string& url) {
  if (url.find("connect_timeout") != std::string::npos) return url;
  const bool uri = url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
  if (uri) {
    return url + (url.find('?') == std::string::npos ? "?" : "&") + "connect_timeout=" +
           std::string(kConnectTimeoutSeconds);
  }
  return url + (url.empty() ? "" : " ") + "connect_timeout=" + std::string(kConnectTimeoutSeconds);
}

ConnectionPool::Lease::Lease(Lease&& other) noexcept
    : pool_(other.pool_), connection_(std::move(other.connection_)), lost_(other.lost_) {
  other.pool_ = nullptr;
}

ConnectionPool::Lease::~Lease() {
  if (pool_ != nullptr && connection_) pool_->give_back(std::move(connection_), lost_);
}

ConnectionPool::ConnectionPool(std::string url, int size, std::chrono::milliseconds wait)
    : url_(with_connect_timeout(url)), wait_(wait), unopened_(size) {}

ConnectionPool::~ConnectionPool() = default;

core::Result<ConnectionPool::Lease, StoreError> ConnectionPool::acquire() {
  {
    std::unique_lock lock(mutex_);
    const bool ready = returned_.wait_for(lock, wait_, [&] { return !idle_.empty() || unopened_ > 0; });
    if (!ready) {
      return core::fail(StoreError{StoreError::Kind::busy,
                                   "no PostgreSQL connection was free within " +
                                       std::to_string(wait_.count()) + "ms"});
    }
    if (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      return Lease(*this, std::move(connection));
    }
    --unopened_;
  }
  // Connecting takes a round trip or more; other threads need not wait for it.
  try {
    auto connection = std::make_unique<pqxx::connection>(url_);
    connection->set_client_encoding("UTF8");
    return Lease(*this, std::move(connection));
  } catch (const std::exception& e) {
    return connect_failed(e.what());
  } catch (...) {
    return connect_failed("unknown error");
  }
}

core::Result<ConnectionPool::Lease, StoreError> ConnectionPool::connect_failed(std::string why) {
  {
    std::lock_guard lock(mutex_);
    ++unopened_;
  }
  returned_.notify_one();
  // A bad URL, a refused connection, a wrong password: all mean no database.
  return core::fail(
      StoreError{StoreError::Kind::unavailable, "cannot connect to PostgreSQL: " + one_line(why)});
}

void ConnectionPool::give_back(std::unique_ptr<pqxx::connection> connection, bool lost) {
  std::vector<std::unique_ptr<pqxx::connection>> closing;
  {
    std::lock_guard lock(mutex_);
    if (lost || !connection->is_open()) {
      closing.push_back(std::move(connection));
      // After a restart or failover every idle connection is just as dead.
      for (auto& idle : idle_) closing.push_back(std::move(idle));
      idle_.clear();
      unopened_ += static_cast<int>(closing.size());
    } else {
      idle_.push_back(std::move(connection));
    }
  }
  returned_.notify_all();
  // Closed outside the lock: closing may wait on the network.
  closing.clear();
}

}  // namespace ucedge::store::postgres
