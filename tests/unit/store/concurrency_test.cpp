// Many threads on one Store, on both backends.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <future>
#include <thread>

#include "backend_fixture.hpp"
#include "held_writer.hpp"

namespace ucedge::store {
namespace {

using testing::BackendTest;
using Kind = StoreError::Kind;

class ConcurrencyTest : public BackendTest {};

TEST_P(ConcurrencyTest, ConcurrentWritersLoseNothing) {
  ASSERT_STORE_OK(store_->exec("CREATE TABLE events (id BIGINT PRIMARY KEY, writer BIGINT NOT NULL)"));
  ASSERT_STORE_OK(store_->exec("CREATE TABLE counter (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)"));
  ASSERT_STORE_OK(store_->exec("INSERT INTO counter (id, n) VALUES (1, 0)"));

  constexpr int kWriters = 8;
  constexpr int kEach = 40;
  std::atomic<int> failures{0};
  std::atomic<bool> writing{true};
  std::string first_failure;
  std::mutex failure_mutex;
  auto record = [&](const StoreError& e) {
    std::lock_guard lock(failure_mutex);
    if (failures++ == 0) first_failure = e.to_string();
  };

  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kEach; ++i) {
        const std::int64_t id = std::int64_t{w} * 1000 + i;
        if (i % 2 == 0) {
          auto n = store_->exec("INSERT INTO events (id, writer) VALUES (?, ?)", {id, std::int64_t{w}});
          if (!n) record(n.error());
        } else {
          auto done = store_->transaction([&](Transaction& txn) -> core::Result<void, StoreError> {
            auto n = txn.exec("INSERT INTO events (id, writer) VALUES (?, ?)", {id, std::int64_t{w}});
            if (!n) return core::fail(n.error());
            auto c = txn.exec("UPDATE counter SET n = n + 1 WHERE id = 1");
            if (!c) return core::fail(c.error());
            return {};
          });
          if (!done) record(done.error());
        }
      }
    });
  }
  // Readers run alongside and must never fail.
  std::thread reader([&] {
    while (writing) {
      auto rows = store_->query("SELECT COUNT(*) FROM events");
      if (!rows) record(rows.error());
    }
  });
  for (auto& t : threads) t.join();
  writing = false;
  reader.join();

  EXPECT_EQ(failures.load(), 0) << first_failure;
  auto events = store_->query("SELECT COUNT(*) FROM events");
  ASSERT_STORE_OK(events);
  EXPECT_EQ(*(*events)[0].get<std::int64_t>(0), kWriters * kEach);
  auto counter = store_->query("SELECT n FROM counter WHERE id = 1");
  ASSERT_STORE_OK(counter);
  EXPECT_EQ(*(*counter)[0].get<std::int64_t>(0), kWriters * kEach / 2);
}

// transaction_later(): every callback comes, once, with its own outcome, and
// what succeeded is there afterwards. On SQLite the callbacks come from the
// writer thread; on PostgreSQL before the call returns.
TEST_P(ConcurrencyTest, TransactionLaterCallsBackOnceWithEachOutcome) {
  ASSERT_STORE_OK(store_->exec("CREATE TABLE t (id BIGINT PRIMARY KEY)"));
  constexpr int kWrites = 40;
  std::mutex mutex;
  std::condition_variable all_done;
  std::vector<int> calls(kWrites, 0);
  std::vector<core::Result<void, StoreError>> outcomes(kWrites);
  int finished = 0;
  for (int i = 0; i < kWrites; ++i) {
    store_->transaction_later(
        [i](Transaction& txn) -> core::Result<void, StoreError> {
          auto n = txn.exec("INSERT INTO t (id) VALUES (?)", {std::int64_t{i}});
          if (!n) return core::fail(n.error());
          if (i % 3 == 0) return core::fail(StoreError{Kind::not_found, "every third gives up"});
          return {};
        },
        [&, i](core::Result<void, StoreError> outcome) {
          std::lock_guard lock(mutex);
          ++calls[static_cast<std::size_t>(i)];
          outcomes[static_cast<std::size_t>(i)] = std::move(outcome);
          if (++finished == kWrites) all_done.notify_all();
        });
  }
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(all_done.wait_for(lock, std::chrono::seconds(10), [&] { return finished == kWrites; }));
  }
  for (int i = 0; i < kWrites; ++i) {
    const auto at = static_cast<std::size_t>(i);
    EXPECT_EQ(calls[at], 1) << i;
    if (i % 3 == 0) {
      ASSERT_FALSE(outcomes[at]) << i;
      EXPECT_EQ(outcomes[at].error().kind, Kind::not_found);
    } else {
      EXPECT_TRUE(outcomes[at]) << i << ": " << outcomes[at].error().to_string();
    }
  }
  auto count = store_->query("SELECT COUNT(*) FROM t");
  ASSERT_STORE_OK(count);
  EXPECT_EQ(*(*count)[0].get<std::int64_t>(0), kWrites - (kWrites + 2) / 3);
}

// A body may not use its own Store directly, whichever thread runs it: it is
// refused rather than left waiting for itself.
TEST_P(ConcurrencyTest, ABodyUsingItsOwnStoreIsRefusedNotDeadlocked) {
  ASSERT_STORE_OK(store_->exec("CREATE TABLE t (id BIGINT PRIMARY KEY)"));
  std::promise<core::Result<std::int64_t, StoreError>> inner;
  std::promise<core::Result<void, StoreError>> outer;
  store_->transaction_later(
      [&](Transaction&) -> core::Result<void, StoreError> {
        inner.set_value(store_->exec("INSERT INTO t (id) VALUES (1)"));
        return {};
      },
      [&](core::Result<void, StoreError> outcome) { outer.set_value(std::move(outcome)); });
  auto inner_result = inner.get_future();
  ASSERT_EQ(inner_result.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  auto refused = inner_result.get();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, Kind::invalid);
  auto outer_result = outer.get_future();
  ASSERT_EQ(outer_result.wait_for(std::chrono::seconds(10)), std::future_status::ready);
}

TEST_P(ConcurrencyTest, WaitingLongerThanBusyTimeoutIsKindBusy) {
  StoreConfig config;
  fresh_config(config);
  if (HasFatalFailure() || IsSkipped()) return;
  config.pool_size = 1;
  config.busy_timeout = std::chrono::milliseconds(100);
  auto opened = open_store(config, data_dir_);
  ASSERT_STORE_OK(opened);
  Store& store = **opened;
  ASSERT_STORE_OK(store.exec("CREATE TABLE t (id BIGINT PRIMARY KEY)"));

  // One thread holds a transaction open until told to finish.
  testing::HeldWriter held(store, [](Transaction& txn) -> core::Result<void, StoreError> {
    if (auto n = txn.exec("INSERT INTO t (id) VALUES (1)"); !n) return core::fail(n.error());
    return {};
  });
  auto blocked = store.exec("INSERT INTO t (id) VALUES (2)");
  const auto& held_outcome = held.release();
  EXPECT_TRUE(held_outcome) << held_outcome.error().to_string();

  ASSERT_FALSE(blocked);
  EXPECT_EQ(blocked.error().kind, Kind::busy) << blocked.error().to_string();
  // Once the transaction is over the Store works again.
  ASSERT_STORE_OK(store.exec("INSERT INTO t (id) VALUES (3)"));
}

TEST_P(ConcurrencyTest, TwoNodesOpeningTogetherApplyEachMigrationOnce) {
  StoreConfig config;
  fresh_config(config);
  if (HasFatalFailure() || IsSkipped()) return;
  std::promise<void> go;
  std::shared_future<void> start = go.get_future().share();
  auto open_node = [&] {
    start.wait();
    return open_store(config, data_dir_);
  };
  auto first = std::async(std::launch::async, open_node);
  auto second = std::async(std::launch::async, open_node);
  go.set_value();
  auto a = first.get();
  auto b = second.get();
  ASSERT_STORE_OK(a);
  ASSERT_STORE_OK(b);
  auto rows = (*a)->query("SELECT version, COUNT(*) FROM schema_migrations GROUP BY version");
  ASSERT_STORE_OK(rows);
  for (const Row& row : *rows) EXPECT_EQ(*row.get<std::int64_t>(1), 1);
  EXPECT_EQ(*(*a)->schema_version(), *(*b)->schema_version());
}

INSTANTIATE_TEST_SUITE_P(Backends, ConcurrencyTest,
                         ::testing::Values(Backend::sqlite, Backend::postgres), testing::backend_label);

}  // namespace
}  // namespace ucedge::store
