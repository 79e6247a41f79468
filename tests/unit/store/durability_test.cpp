// A commit reported as done survives its writer dying without closing.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "backend_fixture.hpp"

namespace ucedge::store {
namespace {

using testing::BackendTest;

class DurabilityTest : public BackendTest {};

enum class Ending { killed, exited };

// In the child: open a Store, commit one row, say "committed", then die the
// given way. Only async-safe exits: no destructors, no atexit, no gtest.
[[noreturn]] void write_and_die(const StoreConfig& config, const std::filesystem::path& data_dir,
                                std::int64_t id, int report_fd, Ending ending) {
  auto opened = open_store(config, data_dir);
  if (!opened) _exit(2);
  auto done = (*opened)->transaction([&](Transaction& txn) -> core::Result<void, StoreError> {
    auto n = txn.exec("INSERT INTO durable (id, note) VALUES (?, ?)", {id, std::string("committed")});
    if (!n) return core::fail(n.error());
    return {};
  });
  if (!done) _exit(3);
  const char line[] = "committed\n";
  if (::write(report_fd, line, sizeof line - 1) != static_cast<ssize_t>(sizeof line - 1)) _exit(4);
  if (ending == Ending::exited) _exit(0);
  for (;;) ::pause();  // the parent SIGKILLs us
}

std::string read_line(int fd, int timeout_ms) {
  std::string out;
  pollfd p{fd, POLLIN, 0};
  char c = 0;
  while (out.find('\n') == std::string::npos && ::poll(&p, 1, timeout_ms) > 0 && ::read(fd, &c, 1) == 1) {
    out += c;
  }
  return out;
}

TEST_P(DurabilityTest, CommittedRowSurvivesTheWriterDying) {
  ASSERT_STORE_OK(store_->exec("CREATE TABLE durable (id BIGINT PRIMARY KEY, note TEXT NOT NULL)"));
  // No connection of ours may cross the fork.
  store_.reset();

  std::int64_t id = 0;
  for (Ending ending : {Ending::killed, Ending::exited}) {
    ++id;
    SCOPED_TRACE(ending == Ending::killed ? "SIGKILL" : "_exit");
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0) << std::strerror(errno);
    if (child == 0) {
      ::close(fds[0]);
      write_and_die(config_, data_dir_, id, fds[1], ending);
    }
    ::close(fds[1]);
    const std::string said = read_line(fds[0], 60'000);
    ::close(fds[0]);
    if (ending == Ending::killed) ::kill(child, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_EQ(said, "committed\n") << "child status " << status;
    if (ending == Ending::killed) {
      EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
    } else {
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    }

    // A new Store, so new connections: the row must be there.
    auto reopened = reopen();
    ASSERT_STORE_OK(reopened);
    auto rows = (*reopened)->query("SELECT note FROM durable WHERE id = ?", {id});
    ASSERT_STORE_OK(rows);
    ASSERT_EQ(rows->size(), 1u);
    EXPECT_EQ(*(*rows)[0].get<std::string>(0), "committed");
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, DurabilityTest,
                         ::testing::Values(Backend::sqlite, Backend::postgres), testing::backend_label);

}  // namespace
}  // namespace ucedge::store
