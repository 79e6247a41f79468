#pragma once
// Runs a test once per backend: SQLite in a fresh directory, PostgreSQL in a
// fresh schema of the test server this process shares.
#include <gtest/gtest.h>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "postgres_server.hpp"
#include "store/store.hpp"

namespace ucedge::store::testing {

inline std::string backend_label(const ::testing::TestParamInfo<Backend>& info) {
  return std::string(backend_name(info.param));
}

class BackendTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ucedge-backend-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    data_dir_ = tmpl;
    fresh_config(config_);
    if (HasFatalFailure() || IsSkipped()) return;
    auto opened = open_store(config_, data_dir_);
    ASSERT_TRUE(opened) << opened.error().to_string();
    store_ = std::move(opened).value();
  }

  void TearDown() override {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(data_dir_, ec);
  }

  // Settings for a database nobody has used yet: a new SQLite file, or a new
  // PostgreSQL schema. Skips the test when there is no PostgreSQL.
  void fresh_config(StoreConfig& config) {
    config = StoreConfig{};
    config.backend = GetParam();
    config.sqlite_path = "test-" + std::to_string(++databases_) + ".db";
    if (config.backend == Backend::postgres) {
      UCEDGE_POSTGRES_OR_SKIP(server);
      auto url = server->fresh_schema();
      ASSERT_TRUE(url) << url.error();
      config.postgres_url = *url;
    }
  }

  core::Result<std::unique_ptr<Store>, StoreError> reopen() { return open_store(config_, data_dir_); }

  std::filesystem::path data_dir_;
  StoreConfig config_;
  std::unique_ptr<Store> store_;
  int databases_ = 0;
};

}  // namespace ucedge::store::testing

// Fails the test with the StoreError when `result` is not ok.
#define ASSERT_STORE_OK(result)                                              \
  do {                                                                       \
    const auto& ucedge_result_ = (result);                                   \
    ASSERT_TRUE(ucedge_result_.ok()) << ucedge_result_.error().to_string();  \
  } while (0)
