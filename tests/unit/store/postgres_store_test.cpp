// What only the PostgreSQL backend does: connecting, losing the server.
#include <thread>

#include "postgres_server.hpp"
#include "store/postgres/connection_pool.hpp"
#include "store/store.hpp"

namespace ucedge::store {
namespace {

using Kind = StoreError::Kind;

StoreConfig postgres_config(std::string url) {
  StoreConfig config;
  config.backend = Backend::postgres;
  config.postgres_url = std::move(url);
  config.pool_size = 2;
  return config;
}

TEST(PostgresUrl, ConnectTimeoutIsAddedWhenMissing) {
  using postgres::with_connect_timeout;
  EXPECT_EQ(with_connect_timeout("postgresql://h/db"), "postgresql://h/db?connect_timeout=10");
  EXPECT_EQ(with_connect_timeout("postgres://h/db?sslmode=require"),
            "postgres://h/db?sslmode=require&connect_timeout=10");
  EXPECT_EQ(with_connect_timeout("host=h dbname=db"), "host=h dbname=db connect_timeout=10");
  EXPECT_EQ(with_connect_timeout("postgresql://h/db?connect_timeout=3"),
            "postgresql://h/db?connect_timeout=3");
}

TEST(PostgresStore, UnreachableServerIsUnavailable) {
  // Port 1 on loopback: nothing listens, the connection is refused at once.
  auto opened = open_store(postgres_config("postgresql://postgres@127.0.0.1:1/ucedge"), "/tmp");
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().kind, Kind::unavailable);
  EXPECT_NE(opened.error().message.find("cannot connect to PostgreSQL"), std::string::npos)
      << opened.error().message;
}

TEST(PostgresStore, MalformedUrlIsUnavailable) {
  for (const char* url : {"this is not a url", "postgresql://[::1", "host=127.0.0.1 port=notaport"}) {
    auto opened = open_store(postgres_config(url), "/tmp");
    ASSERT_FALSE(opened) << url;
    EXPECT_EQ(opened.error().kind, Kind::unavailable) << url;
    EXPECT_FALSE(opened.error().message.empty());
  }
}

TEST(PostgresStore, MissingDatabaseIsUnavailable) {
  UCEDGE_POSTGRES_OR_SKIP(server);
  auto opened = open_store(postgres_config(server->url("no_such_database")), "/tmp");
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().kind, Kind::unavailable);
  EXPECT_NE(opened.error().message.find("no_such_database"), std::string::npos) << opened.error().message;
}

// Needs a server of its own, since it stops it.
TEST(PostgresStore, PingFailsClearlyWhileTheServerIsDownAndRecoversAfter) {
  UCEDGE_POSTGRES_OR_SKIP(shared);  // skips or fails alike when PostgreSQL cannot run
  auto started = test::PostgresServer::start();
  ASSERT_TRUE(started) << started.error();
  test::PostgresServer& server = **started;
  auto opened = open_store(postgres_config(server.url()), "/tmp");
  ASSERT_TRUE(opened) << opened.error().to_string();
  Store& store = **opened;
  ASSERT_TRUE(store.ping());

  auto stopped = server.stop();
  ASSERT_TRUE(stopped) << stopped.error();
  auto ping = store.ping();
  ASSERT_FALSE(ping);
  EXPECT_EQ(ping.error().kind, Kind::unavailable) << ping.error().to_string();
  EXPECT_FALSE(ping.error().message.empty());
  RecordProperty("ping_error", ping.error().to_string());
  auto query = store.query("SELECT 1");
  ASSERT_FALSE(query);
  EXPECT_EQ(query.error().kind, Kind::unavailable) << query.error().to_string();

  auto restarted = server.restart();
  ASSERT_TRUE(restarted) << restarted.error();
  // Broken connections were dropped; the next ones are new.
  auto back = store.ping();
  EXPECT_TRUE(back) << back.error().to_string();
  auto rows = store.query("SELECT COUNT(*) FROM schema_migrations");
  ASSERT_TRUE(rows) << rows.error().to_string();
}

TEST(PostgresStore, NumericResultsReadAsNumbers) {
  UCEDGE_POSTGRES_OR_SKIP(server);
  auto url = server->fresh_schema();
  ASSERT_TRUE(url) << url.error();
  auto opened = open_store(postgres_config(*url), "/tmp");
  ASSERT_TRUE(opened) << opened.error().to_string();
  // SUM of BIGINT is NUMERIC in PostgreSQL; AVG too. Both come back as numbers.
  auto rows = (*opened)->query("SELECT SUM(x) AS s, AVG(x) AS a, TRUE AS t FROM (VALUES (1::bigint), (2::bigint)) v(x)");
  ASSERT_TRUE(rows) << rows.error().to_string();
  EXPECT_EQ(*(*rows)[0].get<std::int64_t>("s"), 3);
  EXPECT_EQ(*(*rows)[0].get<double>("a"), 1.5);
  EXPECT_TRUE(*(*rows)[0].get<bool>("t"));
}

}  // namespace
}  // namespace ucedge::store
