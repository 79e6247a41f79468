// What only the SQLite backend does: its file, WAL, synchronous=FULL.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

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
