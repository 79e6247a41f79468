#pragma once
// A throwaway PostgreSQL on 127.0.0.1 for tests: Debian's PostgreSQL 15 (or
// the binaries in $UCEDGE_POSTGRES_BIN), its own data directory in /tmp, a
// free port, fsync on; deleted again when the object goes away or, if the
// test process dies first, by a small watchdog process.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace ucedge::test {

class PostgresServer {
 public:
  // initdb + start; the error says why it could not (no binaries, no
  // `postgres` user when running as root, a start-up failure with its log).
  static core::Result<std::unique_ptr<PostgresServer>, std::string> start();
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  int port() const { return port_; }
  // libpq URL of `database` on this server; by default the test database
  // created at start.
  std::string url(std::string_view database = kTestDatabase) const;
  // A new, empty database; its URL. Slow-ish (CREATE DATABASE copies a
  // template and syncs it): most tests want fresh_schema().
  core::Result<std::string, std::string> create_database();
  // A new, empty schema in the test database and a URL whose search_path is
  // that schema: a fresh database, as far as the Store can tell, in
  // milliseconds.
  core::Result<std::string, std::string> fresh_schema();

  static constexpr std::string_view kTestDatabase = "ucedge_test";

  // Stops the server, keeping its data, and starts it again on the same port.
  core::Result<void, std::string> stop();
  core::Result<void, std::string> restart();

  // Leaves the server running after this object (and its process) is gone,
  // for other processes to attach() to; "PORT DIR" goes to `state_file`.
  // ctest starts one so for a whole run (tests/CMakeLists.txt, fixture
  // "postgres"), which spares every test process a server of its own.
  core::Result<void, std::string> detach(const std::string& state_file);
  // The server a detached one left in `state_file`, if it answers. This object
  // never stops it.
  static std::unique_ptr<PostgresServer> attach(const std::string& state_file);
  // Stops the server named in `state_file` and deletes it and the file.
  static void stop_detached(const std::string& state_file);

 private:
  PostgresServer(std::string dir, int port) : dir_(std::move(dir)), port_(port) {}
  core::Result<void, std::string> launch();
  core::Result<void, std::string> stop(std::string_view mode);
  core::Result<void, std::string> execute(std::string_view database, const std::string& sql);
  void start_watchdog();

  std::string dir_;  // holds data/, the socket and the logs
  int port_;
  bool running_ = false;
  int watchdog_pipe_ = -1;  // closing it tells the watchdog to clean up
  int watchdog_pid_ = -1;
  int databases_ = 0;
  int schemas_ = 0;
  bool attached_ = false;  // another process owns the server
};

// The server every test of this process shares, started on first use; null
// when it could not start (shared_postgres_failure() says why).
PostgresServer* shared_postgres();
const std::string& shared_postgres_failure();

// CI=true or UCEDGE_REQUIRE_POSTGRES=1: a PostgreSQL that cannot start is a
// test failure there, never a skip.
bool postgres_required();

}  // namespace ucedge::test

// Declares `server` (PostgresServer*) or, without PostgreSQL, skips the test
// (fails it where postgres_required()). Usable in a test body or in SetUp().
#define UCEDGE_POSTGRES_OR_SKIP(server)                                                  \
  ::ucedge::test::PostgresServer* server = ::ucedge::test::shared_postgres();            \
  if (server == nullptr) {                                                               \
    if (::ucedge::test::postgres_required()) {                                           \
      FAIL() << "PostgreSQL is required here (CI=true or UCEDGE_REQUIRE_POSTGRES=1) but " \
             << ::ucedge::test::shared_postgres_failure();                               \
    } else {                                                                             \
      GTEST_SKIP() << "no PostgreSQL: " << ::ucedge::test::shared_postgres_failure();    \
    }                                                                                    \
  }
