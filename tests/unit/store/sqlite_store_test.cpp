// What only the SQLite backend does: its file, WAL, synchronous=FULL, group commit.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <future>
#include <stdexcept>
#include <thread>

#include "held_writer.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store/store.hpp"

namespace ucedge::store {
namespace {

using Kind = StoreError::Kind;

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ucedge-sqlite-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  // A store with an empty table t (id).
  void open_with_table() {
    auto opened = open_store(StoreConfig{}, dir_);
    ASSERT_TRUE(opened) << opened.error().to_string();
    store_ = std::move(opened).value();
    sqlite_ = dynamic_cast<sqlite::SqliteStore*>(store_.get());
    ASSERT_NE(sqlite_, nullptr);
    ASSERT_TRUE(store_->exec("CREATE TABLE t (id BIGINT PRIMARY KEY)"));
  }

  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
  sqlite::SqliteStore* sqlite_ = nullptr;
};

TEST_F(SqliteStoreTest, FileLivesUnderTheDataDirectory) {
  StoreConfig config;
  config.sqlite_path = "sub/node.db";
  auto opened = open_store(config, dir_);
  ASSERT_TRUE(opened) << opened.error().to_string();
  EXPECT_TRUE(std::filesystem::exists(dir_ / "sub" / "node.db"));
  EXPECT_EQ((*opened)->backend_name(), "sqlite");
}

TEST_F(SqliteStoreTest, UsesWalFullSyncAndForeignKeys) {
  auto opened = open_store(StoreConfig{}, dir_);
  ASSERT_TRUE(opened) << opened.error().to_string();
  Store& store = **opened;
  auto mode = store.query("PRAGMA journal_mode");
  ASSERT_TRUE(mode) << mode.error().to_string();
  EXPECT_EQ(*(*mode)[0].get<std::string>(0), "wal");
  auto sync = store.query("PRAGMA synchronous");
  ASSERT_TRUE(sync) << sync.error().to_string();
  EXPECT_EQ(*(*sync)[0].get<std::int64_t>(0), 2);  // FULL
  auto keys = store.query("PRAGMA foreign_keys");
  ASSERT_TRUE(keys) << keys.error().to_string();
  EXPECT_EQ(*(*keys)[0].get<std::int64_t>(0), 1);
  // And on the writer connection (a transaction runs there).
  ASSERT_TRUE(store.transaction([](Transaction& txn) -> core::Result<void, StoreError> {
    auto s = txn.query("PRAGMA synchronous");
    if (!s) return core::fail(s.error());
    EXPECT_EQ(*(*s)[0].get<std::int64_t>(0), 2);
    return {};
  }));
}

// Transactions that queue while the writer is busy are committed together,
// with one fsync, yet each succeeds or fails as if it had been alone.
TEST_F(SqliteStoreTest, QueuedTransactionsCommitTogetherYetFailAlone) {
  open_with_table();
  if (HasFatalFailure()) return;
  Store& store = *store_;
  sqlite::SqliteStore* sqlite = sqlite_;
  auto insert = [](Transaction& txn, std::int64_t id) { return txn.exec("INSERT INTO t (id) VALUES (?)", {id}); };

  // The writer is held by one transaction until the others have queued.
  testing::HeldWriter held(store, [&](Transaction& txn) -> core::Result<void, StoreError> {
    if (auto n = insert(txn, 0); !n) return core::fail(n.error());
    return {};
  });
  const auto before = sqlite->writer_counts();

  std::vector<std::future<core::Result<void, StoreError>>> outcomes;
  auto queue = [&](TransactionBody body) {
    outcomes.push_back(std::async(std::launch::async, [&store, body] { return store.transaction(body); }));
  };
  auto exec = [&](std::string sql) {
    outcomes.push_back(std::async(std::launch::async, [&store, sql]() -> core::Result<void, StoreError> {
      auto n = store.exec(sql);
      if (!n) return core::fail(n.error());
      if (*n != 1) return core::fail(StoreError{Kind::internal, "changed " + std::to_string(*n) + " rows"});
      return {};
    }));
  };
  queue([&](Transaction& txn) -> core::Result<void, StoreError> {  // 0: commits
    if (auto n = insert(txn, 1); !n) return core::fail(n.error());
    return {};
  });
  queue([&](Transaction& txn) -> core::Result<void, StoreError> {  // 1: gives up
    (void)insert(txn, 2);
    return core::fail(StoreError{Kind::not_found, "changed my mind"});
  });
  exec("INSERT INTO t (id) VALUES (0)");                          // 2: duplicate of the holder's row
  queue([&](Transaction& txn) -> core::Result<void, StoreError> {  // 3: throws
    (void)insert(txn, 4);
    throw std::runtime_error("boom");
  });
  exec("INSERT INTO t (id) VALUES (5)");                          // 4: commits
  queue([&](Transaction& txn) -> core::Result<void, StoreError> {  // 5: ignores a failed statement
    (void)insert(txn, 6);
    (void)txn.exec("INSERT INTO no_such_table VALUES (1)");
    return {};
  });
  queue([&](Transaction& txn) -> core::Result<void, StoreError> {  // 6: commits
    if (auto n = insert(txn, 7); !n) return core::fail(n.error());
    return {};
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(4);
  while (sqlite->writer_counts().waiting < outcomes.size() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(sqlite->writer_counts().waiting, outcomes.size());
  const auto& held_outcome = held.release();
  EXPECT_TRUE(held_outcome) << held_outcome.error().to_string();

  std::vector<core::Result<void, StoreError>> got;
  for (auto& f : outcomes) got.push_back(f.get());
  EXPECT_TRUE(got[0]) << got[0].error().to_string();
  ASSERT_FALSE(got[1]);
  EXPECT_EQ(got[1].error().kind, Kind::not_found);
  ASSERT_FALSE(got[2]);
  EXPECT_EQ(got[2].error().kind, Kind::constraint);
  ASSERT_FALSE(got[3]);
  EXPECT_EQ(got[3].error().kind, Kind::internal);
  EXPECT_TRUE(got[4]) << got[4].error().to_string();
  ASSERT_FALSE(got[5]);
  EXPECT_EQ(got[5].error().kind, Kind::invalid);
  EXPECT_TRUE(got[6]) << got[6].error().to_string();

  auto ids = store.query("SELECT id FROM t ORDER BY id");
  ASSERT_TRUE(ids) << ids.error().to_string();
  std::vector<std::int64_t> present;
  for (const Row& row : *ids) present.push_back(*row.get<std::int64_t>(0));
  EXPECT_EQ(present, (std::vector<std::int64_t>{0, 1, 5, 7}));

  // The holder's commit, then one for all seven.
  const auto after = sqlite->writer_counts();
  EXPECT_EQ(after.transactions - before.transactions, 8U);
  EXPECT_EQ(after.commits - before.commits, 2U);
}

// Later writes queued together run first without savepoints; one failing
// makes the batch run again with them, and the outcome is the same as if
// each had been alone.
TEST_F(SqliteStoreTest, ALaterBatchWithAFailureIsRunAgainBodyByBody) {
  open_with_table();
  if (HasFatalFailure()) return;
  Store& store = *store_;
  sqlite::SqliteStore* sqlite = sqlite_;
  testing::HeldWriter held(store, [](Transaction&) -> core::Result<void, StoreError> { return {}; });
  constexpr int kWrites = 6;
  std::mutex mutex;
  std::condition_variable all_done;
  std::vector<std::optional<core::Result<void, StoreError>>> outcomes(kWrites);
  std::vector<int> runs(kWrites, 0);
  for (int i = 0; i < kWrites; ++i) {
    store.transaction_later(
        [&, i](Transaction& txn) -> core::Result<void, StoreError> {
          ++runs[static_cast<std::size_t>(i)];
          auto n = txn.exec("INSERT INTO t (id) VALUES (?)", {std::int64_t{i}});
          if (!n) return core::fail(n.error());
          if (i == 3) return core::fail(StoreError{Kind::not_found, "the fourth gives up"});
          return {};
        },
        [&, i](core::Result<void, StoreError> outcome) {
          std::lock_guard lock(mutex);
          outcomes[static_cast<std::size_t>(i)] = std::move(outcome);
          all_done.notify_all();
        });
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(4);
  while (sqlite->writer_counts().waiting < kWrites && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(sqlite->writer_counts().waiting, static_cast<std::size_t>(kWrites));
  held.release();
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(all_done.wait_for(lock, std::chrono::seconds(5), [&] {
      return std::all_of(outcomes.begin(), outcomes.end(), [](const auto& o) { return o.has_value(); });
    }));
  }
  for (int i = 0; i < kWrites; ++i) {
    const auto at = static_cast<std::size_t>(i);
    EXPECT_EQ(outcomes[at]->ok(), i != 3) << i;
    EXPECT_EQ(runs[at], i <= 3 ? 2 : 1) << i;  // the ones up to the failure ran twice
  }
  auto ids = store.query("SELECT id FROM t ORDER BY id");
  ASSERT_TRUE(ids) << ids.error().to_string();
  std::vector<std::int64_t> present;
  for (const Row& row : *ids) present.push_back(*row.get<std::int64_t>(0));
  EXPECT_EQ(present, (std::vector<std::int64_t>{0, 1, 2, 4, 5}));
}

// A batch where every transaction fails commits nothing and leaves the
// writer usable.
TEST_F(SqliteStoreTest, ABatchOfFailuresCommitsNothing) {
  open_with_table();
  if (HasFatalFailure()) return;
  Store& store = *store_;
  sqlite::SqliteStore* sqlite = sqlite_;
  const auto before = sqlite->writer_counts();
  std::vector<std::thread> threads;
  std::atomic<int> failed{0};
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      auto done = store.transaction([&](Transaction& txn) -> core::Result<void, StoreError> {
        (void)txn.exec("INSERT INTO t (id) VALUES (?)", {std::int64_t{i}});
        return core::fail(StoreError{Kind::not_found, "no"});
      });
      if (!done) ++failed;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 6);
  EXPECT_EQ(sqlite->writer_counts().commits, before.commits);
  auto count = store.query("SELECT COUNT(*) FROM t");
  ASSERT_TRUE(count) << count.error().to_string();
  EXPECT_EQ(*(*count)[0].get<std::int64_t>(0), 0);
  ASSERT_TRUE(store.exec("INSERT INTO t (id) VALUES (9)"));
}

// Closing the store writes what was queued with transaction_later() first,
// and calls every callback.
TEST_F(SqliteStoreTest, ClosingWritesWhatWasQueuedLater) {
  std::atomic<int> succeeded{0};
  {
    auto opened = open_store(StoreConfig{}, dir_);
    ASSERT_TRUE(opened) << opened.error().to_string();
    Store& store = **opened;
    ASSERT_TRUE(store.exec("CREATE TABLE t (id BIGINT PRIMARY KEY)"));
    for (int i = 0; i < 200; ++i) {
      store.transaction_later(
          [i](Transaction& txn) -> core::Result<void, StoreError> {
            auto n = txn.exec("INSERT INTO t (id) VALUES (?)", {std::int64_t{i}});
            if (!n) return core::fail(n.error());
            return {};
          },
          [&](core::Result<void, StoreError> outcome) {
            if (outcome) ++succeeded;
          });
    }
  }  // closed here, with writes still queued
  EXPECT_EQ(succeeded.load(), 200);
  auto reopened = open_store(StoreConfig{}, dir_);
  ASSERT_TRUE(reopened) << reopened.error().to_string();
  auto count = (*reopened)->query("SELECT COUNT(*) FROM t");
  ASSERT_TRUE(count) << count.error().to_string();
  EXPECT_EQ(*(*count)[0].get<std::int64_t>(0), 200);
}

// A transaction_later() callback runs on the writer thread: a write from it
// would wait for itself, so it is refused at once.
TEST_F(SqliteStoreTest, AWriteFromALaterCallbackIsRefusedAtOnce) {
  auto opened = open_store(StoreConfig{}, dir_);
  ASSERT_TRUE(opened) << opened.error().to_string();
  Store& store = **opened;
  ASSERT_TRUE(store.exec("CREATE TABLE t (id BIGINT PRIMARY KEY)"));
  std::promise<core::Result<std::int64_t, StoreError>> from_callback;
  store.transaction_later([](Transaction&) -> core::Result<void, StoreError> { return {}; },
                          [&](core::Result<void, StoreError>) {
                            from_callback.set_value(store.exec("INSERT INTO t (id) VALUES (1)"));
                          });
  auto result = from_callback.get_future();
  ASSERT_EQ(result.wait_for(std::chrono::seconds(2)), std::future_status::ready);
  auto refused = result.get();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, Kind::invalid);
}

// commit_delay: once writes come in groups, a transaction_later() write
// waits for others to share its commit, for as long as more keep arriving
// and at most commit_delay; a lone write, and a write() caller, never wait.
TEST_F(SqliteStoreTest, UnderLoadLaterWritesWaitForCompanions) {
  using namespace std::chrono_literals;
  constexpr auto kDelay = 1200ms;  // waits in steps of half: 600 ms
  StoreConfig config;
  config.commit_delay = kDelay;
  auto opened = open_store(config, dir_);
  ASSERT_TRUE(opened) << opened.error().to_string();
  Store& store = **opened;
  auto* sqlite = dynamic_cast<sqlite::SqliteStore*>(&store);
  ASSERT_NE(sqlite, nullptr);
  auto timed_insert = [&](std::int64_t id) {
    const auto start = std::chrono::steady_clock::now();
    auto n = store.exec("INSERT INTO t (id) VALUES (?)", {id});
    EXPECT_TRUE(n) << n.error().to_string();
    return std::chrono::steady_clock::now() - start;
  };
  ASSERT_TRUE(store.exec("CREATE TABLE t (id BIGINT PRIMARY KEY)"));
  EXPECT_LT(timed_insert(1), 150ms) << "a lone write on an idle store must not wait";

  std::mutex mutex;
  std::condition_variable done_changed;
  int done = 0, failed = 0;
  std::chrono::steady_clock::time_point last_done;
  auto later_insert = [&](std::int64_t id) {
    store.transaction_later(
        [id](Transaction& txn) -> core::Result<void, StoreError> {
          auto n = txn.exec("INSERT INTO t (id) VALUES (?)", {id});
          if (!n) return core::fail(n.error());
          return {};
        },
        [&](core::Result<void, StoreError> outcome) {
          std::lock_guard lock(mutex);
          ++done;
          if (!outcome) ++failed;
          last_done = std::chrono::steady_clock::now();
          done_changed.notify_all();
        });
  };
  auto wait_for_done = [&](int count) {
    std::unique_lock lock(mutex);
    return done_changed.wait_for(lock, 10s, [&] { return done >= count; });
  };
  // Two writes queued behind a busy writer make a batch of two: load.
  auto make_a_group = [&](std::int64_t first_id, int done_before) {
    {
      testing::HeldWriter held(store, [](Transaction&) -> core::Result<void, StoreError> { return {}; });
      later_insert(first_id);
      later_insert(first_id + 1);
      while (sqlite->writer_counts().waiting < 2) std::this_thread::sleep_for(1ms);
    }
    ASSERT_TRUE(wait_for_done(done_before + 2));
  };
  make_a_group(10, 0);
  if (HasFatalFailure()) return;

  // Five writes arriving 60 ms apart share one commit, made after the last.
  auto before = sqlite->writer_counts();
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) {
    later_insert(20 + i);
    std::this_thread::sleep_for(60ms);
  }
  ASSERT_TRUE(wait_for_done(7));
  EXPECT_GE(last_done - start, 240ms);
  EXPECT_LT(last_done - start, kDelay + 5s);
  auto after = sqlite->writer_counts();
  EXPECT_EQ(after.transactions - before.transactions, 5u);
  EXPECT_EQ(after.commits - before.commits, 1u);

  // A write() caller is not held while writes come in groups.
  EXPECT_LT(timed_insert(30), 150ms);
  make_a_group(40, 7);
  if (HasFatalFailure()) return;
  EXPECT_LT(timed_insert(31), 150ms);

  // Writes that stop coming (clients waiting for their answers) end the
  // wait after one step, not after the whole delay.
  make_a_group(50, 9);
  if (HasFatalFailure()) return;
  start = std::chrono::steady_clock::now();
  later_insert(60);
  ASSERT_TRUE(wait_for_done(12));
  EXPECT_LT(last_done - start, kDelay - 300ms);
  EXPECT_EQ(failed, 0);

  auto count = store.query("SELECT COUNT(*) FROM t");
  ASSERT_TRUE(count) << count.error().to_string();
  EXPECT_EQ(*(*count)[0].get<std::int64_t>(0), 15);
}

TEST_F(SqliteStoreTest, UnopenableFileIsUnavailable) {
  // The data "directory" is a regular file, so nothing can be created in it.
  const auto file = dir_ / "plain-file";
  std::ofstream(file) << "x";
  auto opened = open_store(StoreConfig{}, file);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().kind, Kind::unavailable) << opened.error().to_string();
}

TEST_F(SqliteStoreTest, NotADatabaseIsUnavailable) {
  std::ofstream(dir_ / "ucedge.db") << std::string(4096, 'x');
  auto opened = open_store(StoreConfig{}, dir_);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().kind, Kind::unavailable) << opened.error().to_string();
}

}  // namespace
}  // namespace ucedge::store
