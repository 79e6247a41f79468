#include "store/store_config.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

namespace ucedge::store {
namespace {

struct Parsed {
  StoreConfig config;
  core::ConfigErrors errors;
};

Parsed parse(std::string_view text) {
  auto doc = core::ConfigDocument::parse(text, "test.toml");
  EXPECT_TRUE(doc) << doc.error().to_string();
  Parsed out;
  core::ConfigTable root = doc->root(out.errors);
  core::ConfigTable table = root.table("store");
  out.config = parse_store_config(table);
  return out;
}

// The secret's environment variable must not leak in from the developer's shell.
class StoreConfigTest : public ::testing::Test {
 protected:
  void SetUp() override { ::unsetenv("UCEDGE_STORE_POSTGRES_URL"); }
  void TearDown() override { ::unsetenv("UCEDGE_STORE_POSTGRES_URL"); }
};

TEST_F(StoreConfigTest, DefaultsWithoutTable) {
  const Parsed p = parse("");
  EXPECT_TRUE(p.errors.empty()) << p.errors.to_string();
  EXPECT_EQ(p.config.backend, Backend::sqlite);
  EXPECT_EQ(p.config.sqlite_path, "ucedge.db");
  EXPECT_EQ(p.config.postgres_url, "");
  EXPECT_EQ(p.config.pool_size, 4);
  EXPECT_EQ(p.config.busy_timeout, std::chrono::milliseconds(5000));
}

TEST_F(StoreConfigTest, ReadsEveryKey) {
  const Parsed p = parse(R"([store]
backend = "postgres"
sqlite_path = "other.db"
postgres_url = "postgresql://db.example/ucedge"
pool_size = 12
busy_timeout = "250ms"
)");
  EXPECT_TRUE(p.errors.empty()) << p.errors.to_string();
  EXPECT_EQ(p.config.backend, Backend::postgres);
  EXPECT_EQ(p.config.sqlite_path, "other.db");
  EXPECT_EQ(p.config.postgres_url, "postgresql://db.example/ucedge");
  EXPECT_EQ(p.config.pool_size, 12);
  EXPECT_EQ(p.config.busy_timeout, std::chrono::milliseconds(250));
}

TEST_F(StoreConfigTest, PostgresWithoutUrlIsAnErrorAtItsLine) {
  const Parsed p = parse("# a comment\n[store]\nbackend = \"postgres\"\n");
  ASSERT_EQ(p.errors.list().size(), 1u) << p.errors.to_string();
  const auto& e = p.errors.list()[0];
  EXPECT_EQ(e.file, "test.toml");
  EXPECT_EQ(e.line, 3);
  EXPECT_NE(e.message.find("postgres_url"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("UCEDGE_STORE_POSTGRES_URL"), std::string::npos) << e.message;
}

TEST_F(StoreConfigTest, UnknownKeyIsAnError) {
  const Parsed p = parse("[store]\nbackend = \"sqlite\"\nbakend = \"postgres\"\n");
  ASSERT_EQ(p.errors.list().size(), 1u) << p.errors.to_string();
  EXPECT_EQ(p.errors.list()[0].line, 3);
  EXPECT_NE(p.errors.list()[0].message.find("unknown key"), std::string::npos);
}

TEST_F(StoreConfigTest, BadValuesAreErrors) {
  EXPECT_FALSE(parse("[store]\nbackend = \"mysql\"\n").errors.empty());
  EXPECT_FALSE(parse("[store]\npool_size = 0\n").errors.empty());
  EXPECT_FALSE(parse("[store]\npool_size = 65\n").errors.empty());
  EXPECT_FALSE(parse("[store]\nbusy_timeout = \"5 seconds\"\n").errors.empty());
  EXPECT_FALSE(parse("[store]\nsqlite_path = \"\"\n").errors.empty());
  EXPECT_FALSE(parse("[store]\npool_size = \"4\"\n").errors.empty());
}

TEST_F(StoreConfigTest, EnvironmentWinsOverTheFile) {
  ::setenv("UCEDGE_STORE_POSTGRES_URL", "postgresql://from-env/ucedge", 1);
  const Parsed p = parse(R"([store]
backend = "postgres"
postgres_url = "postgresql://from-file/ucedge"
)");
  EXPECT_TRUE(p.errors.empty()) << p.errors.to_string();
  EXPECT_EQ(p.config.postgres_url, "postgresql://from-env/ucedge");
}

TEST_F(StoreConfigTest, EnvironmentAloneSatisfiesPostgres) {
  ::setenv("UCEDGE_STORE_POSTGRES_URL", "postgresql://from-env/ucedge", 1);
  const Parsed p = parse("[store]\nbackend = \"postgres\"\n");
  EXPECT_TRUE(p.errors.empty()) << p.errors.to_string();
  EXPECT_EQ(p.config.postgres_url, "postgresql://from-env/ucedge");
}

}  // namespace
}  // namespace ucedge::store
