// ucedge-test-postgres start|stop STATE_FILE: the PostgreSQL server one ctest
// run shares (the "postgres" fixture of tests/CMakeLists.txt). `start` leaves
// a server running and names it in STATE_FILE, first stopping one a broken
// earlier run left there; `stop` stops it and deletes it.
#include <cstdio>
#include <string>

#include "postgres_server.hpp"

int main(int argc, char** argv) {
  if (argc != 3 || (std::string(argv[1]) != "start" && std::string(argv[1]) != "stop")) {
    std::fprintf(stderr, "usage: %s start|stop STATE_FILE\n", argv[0]);
    return 2;
  }
  const std::string state = argv[2];
  ucedge::test::PostgresServer::stop_detached(state);
  if (std::string(argv[1]) == "stop") return 0;
  auto server = ucedge::test::PostgresServer::start();
  if (!server) {
    // Each test then starts its own server, or reports why it cannot.
    std::fprintf(stderr, "no shared PostgreSQL for this run: %s\n", server.error().c_str());
    return 0;
  }
  if (auto detached = (*server)->detach(state); !detached) {
    std::fprintf(stderr, "%s\n", detached.error().c_str());
    return 1;
  }
  std::printf("PostgreSQL for this test run on port %d\n", (*server)->port());
  return 0;
}
