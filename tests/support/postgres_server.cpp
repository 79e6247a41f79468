#include "postgres_server.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <pqxx/pqxx>
#include <sstream>
#include <vector>

extern char** environ;

namespace ucedge::test {

namespace {

namespace fs = std::filesystem;

// Debian's PostgreSQL 15; UCEDGE_POSTGRES_BIN points elsewhere.
fs::path bin_dir() {
  const char* dir = std::getenv("UCEDGE_POSTGRES_BIN");
  return dir != nullptr && *dir != '\0' ? fs::path(dir) : fs::path("/usr/lib/postgresql/15/bin");
}

bool running_as_root() { return ::geteuid() == 0; }

// initdb and postgres refuse to run as root; there they run as `postgres`.
std::vector<std::string> as_server_user(std::vector<std::string> argv) {
  if (!running_as_root()) return argv;
  std::vector<std::string> out{"/usr/sbin/runuser", "-u", "postgres", "--"};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

std::string tail_of(const fs::path& file, std::size_t bytes = 2000) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  return s.size() > bytes ? "..." + s.substr(s.size() - bytes) : s;
}

// Runs argv (no shell) with stdout and stderr appended to `log`; waits.
core::Result<void, std::string> run(const std::vector<std::string>& argv, const fs::path& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return core::fail("cannot run " + argv[0] + ": " + std::strerror(rc));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  std::string command;
  for (const auto& a : argv) command += (command.empty() ? "" : " ") + a;
  return core::fail(command + " failed (status " + std::to_string(status) + "):\n" + tail_of(log));
}

// A port nobody listens on right now. Another process may take it before the
// server binds it; launch() retries with another port then.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

}  // namespace

bool postgres_required() {
  const char* ci = std::getenv("CI");
  const char* require = std::getenv("UCEDGE_REQUIRE_POSTGRES");
  return (ci != nullptr && std::string_view(ci) == "true") ||
         (require != nullptr && std::string_view(require) == "1");
}

core::Result<std::unique_ptr<PostgresServer>, std::string> PostgresServer::start() {
  for (const char* tool : {"initdb", "pg_ctl", "postgres"}) {
    if (!fs::exists(bin_dir() / tool)) {
      return core::fail("PostgreSQL 15 is not installed (" + (bin_dir() / tool).string() +
                        " is missing; install the Debian package postgresql-15 or set UCEDGE_POSTGRES_BIN)");
    }
  }
  const passwd* server_user = nullptr;
  if (running_as_root()) {
    server_user = ::getpwnam("postgres");
    if (server_user == nullptr) {
      return core::fail(std::string("running as root, but there is no `postgres` user to run initdb as"));
    }
  }

  char tmpl[] = "/tmp/ucedge-pg-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return core::fail(std::string("mkdtemp: ") + std::strerror(errno));
  std::unique_ptr<PostgresServer> server(new PostgresServer(tmpl, 0));
  if (server_user != nullptr &&
      ::chown(tmpl, server_user->pw_uid, server_user->pw_gid) != 0) {
    return core::fail(std::string("chown ") + tmpl + ": " + std::strerror(errno));
  }
  // Cleans up even if this process dies before the destructor runs.
  server->start_watchdog();

  const fs::path dir = server->dir_;
  auto made = run(as_server_user({(bin_dir() / "initdb").string(), "-D", (dir / "data").string(),
                                  "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale",
                                  "--no-sync"}),
                  dir / "initdb.log");
  if (!made) return core::fail(made.error());

  std::ofstream conf(dir / "data" / "postgresql.conf", std::ios::app);
  conf << "\n# ucedge tests\n"
       << "listen_addresses = '127.0.0.1'\n"
       << "unix_socket_directories = '" << dir.string() << "'\n"
       << "fsync = on\n"
       << "synchronous_commit = on\n"
       << "max_connections = 200\n";
  conf.close();
  if (!conf) return core::fail("cannot write " + (dir / "data" / "postgresql.conf").string());

  std::string why;
  for (int attempt = 0; attempt < 5 && !server->running_; ++attempt) {
    server->port_ = free_port();
    auto launched = server->launch();
    if (!launched) why = launched.error();
  }
  if (!server->running_) return core::fail(why);
  if (auto made = server->execute("postgres", "CREATE DATABASE " + std::string(kTestDatabase)); !made) {
    return core::fail(made.error());
  }
  return server;
}

core::Result<void, std::string> PostgresServer::launch() {
  const fs::path dir = dir_;
  auto started = run(as_server_user({(bin_dir() / "pg_ctl").string(), "-D", (dir / "data").string(),
                                     "-l", (dir / "server.log").string(), "-w", "-t", "60", "-o",
                                     "-p " + std::to_string(port_), "start"}),
                     dir / "pg_ctl.log");
  if (!started) return core::fail(started.error() + "\nserver log:\n" + tail_of(dir / "server.log"));
  running_ = true;
  return {};
}

core::Result<void, std::string> PostgresServer::stop() { return stop("fast"); }

core::Result<void, std::string> PostgresServer::stop(std::string_view mode) {
  if (!running_) return {};
  const fs::path dir = dir_;
  auto stopped = run(as_server_user({(bin_dir() / "pg_ctl").string(), "-D", (dir / "data").string(),
                                     "-m", std::string(mode), "-w", "-t", "60", "stop"}),
                     dir / "pg_ctl.log");
  if (!stopped) return stopped;
  running_ = false;
  return {};
}

core::Result<void, std::string> PostgresServer::restart() {
  if (running_) return {};
  return launch();
}

void PostgresServer::start_watchdog() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return;
  // A shell in its own session: it waits for the pipe to close (our exit,
  // however it happens), then stops the server and deletes the directory.
  const std::string pg_ctl = (bin_dir() / "pg_ctl").string();
  const std::string stop = running_as_root() ? "/usr/sbin/runuser -u postgres -- " + pg_ctl : pg_ctl;
  const std::string script = "cat >/dev/null; if [ -f '" + dir_ + "/data/postmaster.pid' ]; then " +
                             stop + " -D '" + dir_ + "/data' -m immediate stop >/dev/null 2>&1; fi; rm -rf '" +
                             dir_ + "'";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[0], 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
  const char* argv[] = {"/bin/sh", "-c", script.c_str(), nullptr};
  pid_t pid = -1;
  if (posix_spawn(&pid, "/bin/sh", &actions, &attr, const_cast<char**>(argv), environ) == 0) {
    watchdog_pid_ = pid;
    watchdog_pipe_ = fds[1];
  } else {
    ::close(fds[1]);
  }
  ::close(fds[0]);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
}

PostgresServer::~PostgresServer() {
  if (attached_) return;
  // Its data is about to be deleted: no shutdown checkpoint needed.
  (void)stop("immediate");
  std::error_code ec;
  fs::remove_all(dir_, ec);
  if (watchdog_pipe_ >= 0) {
    ::close(watchdog_pipe_);
    int status = 0;
    ::waitpid(watchdog_pid_, &status, 0);
  }
}

std::string PostgresServer::url(std::string_view database) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + std::string(database);
}

core::Result<void, std::string> PostgresServer::execute(std::string_view database,
                                                        const std::string& sql) {
  try {
    pqxx::connection connection(url(database));
    pqxx::nontransaction work(connection);
    work.exec(sql);
  } catch (const std::exception& e) {
    return core::fail(sql + ": " + e.what());
  }
  return {};
}

core::Result<std::string, std::string> PostgresServer::create_database() {
  // Named after the process too: several test processes share an attached server.
  const std::string name = "ucedge_db" + std::to_string(::getpid()) + "_" + std::to_string(++databases_);
  if (auto made = execute("postgres", "CREATE DATABASE " + name); !made) return core::fail(made.error());
  return url(name);
}

core::Result<std::string, std::string> PostgresServer::fresh_schema() {
  const std::string name = "t" + std::to_string(::getpid()) + "_" + std::to_string(++schemas_);
  if (auto made = execute(kTestDatabase, "CREATE SCHEMA " + name); !made) return core::fail(made.error());
  // libpq passes `options` to the server as if on its command line.
  return url() + "?options=-csearch_path%3D" + name;
}

core::Result<void, std::string> PostgresServer::detach(const std::string& state_file) {
  if (!running_) return core::fail(std::string("the server is not running"));
  std::ofstream out(state_file, std::ios::trunc);
  out << port_ << " " << dir_ << "\n";
  out.close();
  if (!out) return core::fail("cannot write " + state_file);
  // The watchdog would stop the server when this process ends: end it first.
  if (watchdog_pid_ > 0) {
    ::kill(watchdog_pid_, SIGKILL);
    int status = 0;
    ::waitpid(watchdog_pid_, &status, 0);
    ::close(watchdog_pipe_);
    watchdog_pid_ = watchdog_pipe_ = -1;
  }
  attached_ = true;
  return {};
}

std::unique_ptr<PostgresServer> PostgresServer::attach(const std::string& state_file) {
  std::ifstream in(state_file);
  int port = 0;
  std::string dir;
  if (!(in >> port >> dir)) return nullptr;
  std::unique_ptr<PostgresServer> server(new PostgresServer(dir, port));
  server->attached_ = true;
  if (!server->execute(kTestDatabase, "SELECT 1")) return nullptr;  // a stale file: start a server instead
  return server;
}

void PostgresServer::stop_detached(const std::string& state_file) {
  std::ifstream in(state_file);
  int port = 0;
  std::string dir;
  if (in >> port >> dir) {
    std::unique_ptr<PostgresServer> server(new PostgresServer(dir, port));
    server->running_ = true;  // the destructor stops it and deletes its directory
  }
  std::error_code ec;
  fs::remove(state_file, ec);
}

namespace {

struct Shared {
  std::once_flag once;
  std::unique_ptr<PostgresServer> server;
  std::string failure;
};

Shared& shared() {
  static Shared s;
  return s;
}

}  // namespace

PostgresServer* shared_postgres() {
  Shared& s = shared();
  std::call_once(s.once, [&s] {
#ifdef UCEDGE_TEST_POSTGRES_STATE
    // Under ctest, the server the "postgres" fixture started for the run.
    if (auto attached = PostgresServer::attach(UCEDGE_TEST_POSTGRES_STATE)) {
      s.server = std::move(attached);
      return;
    }
#endif
    auto started = PostgresServer::start();
    if (started) {
      s.server = std::move(started).value();
    } else {
      s.failure = started.error();
    }
  });
  return s.server.get();
}

const std::string& shared_postgres_failure() {
  shared_postgres();
  return shared().failure;
}

}  // namespace ucedge::test
