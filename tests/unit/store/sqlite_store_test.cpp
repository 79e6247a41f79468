// What only the SQLite backend does: its file, WAL, synchronous=FULL, group commit.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <atomic>
#include <future>
#include <stdexcept>
#include <thread>

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
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::filesystem::path dir_;
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
  auto opened = open_store(StoreConfig{}, dir_);
  ASSERT_TRUE(opened) << opened.error().to_string();
  Store& store = **opened;
  auto* sqlite = dynamic_cast<sqlite::SqliteStore*>(&store);
  ASSERT_NE(sqlite, nullptr);
  ASSERT_TRUE(store.exec("CREATE TABLE t (id BIGINT PRIMARY KEY)"));
  auto insert = [](Transaction& txn, std::int64_t id) { return txn.exec("INSERT INTO t (id) VALUES (?)", {id}); };

  // The writer is held by one transaction until the others have queued.
  std::promise<void> inside;
  std::promise<void> finish;
  std::thread holder([&] {
    auto done = store.transaction([&](Transaction& txn) -> core::Result<void, StoreError> {
      auto n = insert(txn, 0);
      inside.set_value();
      finish.get_future().wait();
      if (!n) return core::fail(n.error());
      return {};
    });
    EXPECT_TRUE(done) << done.error().to_string();
  });
  inside.get_future().wait();
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
  finish.set_value();
  holder.join();

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

// A batch where every transaction fails commits nothing and leaves the
// writer usable.
TEST_F(SqliteStoreTest, ABatchOfFailuresCommitsNothing) {
  auto opened = open_store(StoreConfig{}, dir_);
  ASSERT_TRUE(opened) << opened.error().to_string();
  Store& store = **opened;
  auto* sqlite = dynamic_cast<sqlite::SqliteStore*>(&store);
  ASSERT_NE(sqlite, nullptr);
  ASSERT_TRUE(store.exec("CREATE TABLE t (id BIGINT PRIMARY KEY)"));
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
