// The TFTP server driven by real clients (tftp-hpa's `tftp`, curl's tftp://)
// and, where a client must misbehave on purpose (drop an ACK, repeat one,
// fetch 65537 blocks of 8 bytes), by a small UDP client written here.
#include "prov/tftp/tftp_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/io_pool.hpp"
#include "core/metrics.hpp"

extern char** environ;

using namespace ucedge;
using namespace ucedge::prov::tftp;
using namespace std::chrono_literals;
using namespace std::string_literals;
namespace fs = std::filesystem;

namespace {

// ---------------------------------------------------------------------------
// Running the real clients.

struct ToolRun {
  int status = -1;     // exit code, -1 when killed or not started
  std::string output;  // stdout and stderr
};

ToolRun run_tool(const std::vector<std::string>& argv, std::chrono::seconds limit = 60s) {
  ToolRun result;
  char out_path[] = "/tmp/ucedge-tftp-run-XXXXXX";
  int out = ::mkstemp(out_path);
  if (out < 0) return result;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out, 1);
  posix_spawn_file_actions_adddup2(&actions, out, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc == 0) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    int status = 0;
    for (;;) {
      pid_t w = ::waitpid(pid, &status, WNOHANG);
      if (w == pid) {
        result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        result.output = "[killed after " + std::to_string(limit.count()) + " s]\n";
        break;
      }
      std::this_thread::sleep_for(2ms);
    }
  } else {
    result.output = "cannot run " + argv[0] + ": " + std::strerror(rc);
  }
  ::close(out);
  std::ifstream in(out_path, std::ios::binary);
  result.output += std::string(std::istreambuf_iterator<char>(in), {});
  ::unlink(out_path);
  return result;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const fs::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::binary);
  out << s;
}

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(gen() & 0xff);
  return s;
}

// ---------------------------------------------------------------------------
// A handler with files in memory, one on disk, and an upload area.

class TestHandler final : public Handler {
 public:
  void add(const std::string& name, std::string content) {
    std::lock_guard lock(mutex_);
    memory_[name] = std::make_shared<const std::string>(std::move(content));
  }
  void add_path(const std::string& name, fs::path path) {
    std::lock_guard lock(mutex_);
    paths_[name] = std::move(path);
  }
  std::optional<std::string> upload(const std::string& name) {
    std::lock_guard lock(mutex_);
    auto it = uploads_.find(name);
    if (it == uploads_.end()) return std::nullopt;
    return it->second;
  }
  TransferRequest last_request() {
    std::lock_guard lock(mutex_);
    return last_;
  }

  core::Result<Content, Refusal> read(const TransferRequest& request) override {
    std::lock_guard lock(mutex_);
    last_ = request;
    if (request.file_name == "secret.cfg")
      return core::fail(Refusal{ErrorCode::access_violation, "Forbidden"});
    if (request.file_name == "throws.cfg") throw std::runtime_error("handler bug");
    if (auto it = memory_.find(request.file_name); it != memory_.end()) return Content{it->second};
    if (auto it = paths_.find(request.file_name); it != paths_.end()) return Content{it->second};
    return core::fail(Refusal{ErrorCode::file_not_found, "File not found"});
  }

  std::optional<Refusal> may_write(const TransferRequest& request) override {
    if (request.file_name.rfind("reports/", 0) != 0)
      return Refusal{ErrorCode::access_violation, "uploads go to reports/"};
    return std::nullopt;
  }

  core::Result<void, Refusal> write(const TransferRequest& request, std::string data) override {
    std::lock_guard lock(mutex_);
    if (uploads_.count(request.file_name))
      return core::fail(Refusal{ErrorCode::file_exists, "already uploaded"});
    uploads_[request.file_name] = std::move(data);
    return {};
  }

 private:
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const std::string>> memory_;
  std::map<std::string, fs::path> paths_;
  std::map<std::string, std::string> uploads_;
  TransferRequest last_;
};

// ---------------------------------------------------------------------------
// A bare UDP client for what the real ones will not do on purpose.

struct Datagram {
  std::string bytes;
  std::uint16_t from_port = 0;
  std::uint16_t opcode() const {
    return bytes.size() < 2 ? 0
                            : static_cast<std::uint16_t>((static_cast<std::uint8_t>(bytes[0]) << 8) |
                                                         static_cast<std::uint8_t>(bytes[1]));
  }
  std::uint16_t block() const {
    return bytes.size() < 4 ? 0
                            : static_cast<std::uint16_t>((static_cast<std::uint8_t>(bytes[2]) << 8) |
                                                         static_cast<std::uint8_t>(bytes[3]));
  }
  std::string payload() const { return bytes.size() < 4 ? "" : bytes.substr(4); }
};

class UdpClient {
 public:
  UdpClient() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  ~UdpClient() { ::close(fd_); }
  UdpClient(const UdpClient&) = delete;
  UdpClient& operator=(const UdpClient&) = delete;

  void send(std::uint16_t port, const std::string& bytes) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  void send(std::uint16_t port, const std::vector<std::uint8_t>& bytes) {
    send(port, std::string(bytes.begin(), bytes.end()));
  }

  std::optional<Datagram> receive(std::chrono::milliseconds limit = 5000ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(limit.count())) != 1) return std::nullopt;
    std::string buf(70000, '\0');
    sockaddr_in from{};
    socklen_t len = sizeof from;
    ssize_t n = ::recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) return std::nullopt;
    buf.resize(static_cast<std::size_t>(n));
    return Datagram{std::move(buf), ntohs(from.sin_port)};
  }

 private:
  int fd_ = -1;
};

std::string rrq(const std::string& name, std::vector<Option> options = {},
                const std::string& mode = "octet") {
  std::vector<std::uint8_t> out;
  write_request(out, Request{false, name, mode, std::move(options)});
  return std::string(out.begin(), out.end());
}

std::string ack(std::uint16_t block) {
  std::vector<std::uint8_t> out;
  write_ack(out, block);
  return std::string(out.begin(), out.end());
}

// ---------------------------------------------------------------------------

class TftpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ucedge-tftp-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    small_ =
        "<flat-profile>\n  <Profile_Rule "
        "ua=\"na\">tftp://127.0.0.1/$PSN.xml</Profile_Rule>\n</flat-profile>\n";
    handler_.add("small.cfg", small_);
    handler_.add("empty.cfg", "");
    exact_ = random_bytes(1024, 1);
    handler_.add("exact1024.bin", exact_);
    handler_.add("text.txt", "line one\nline two\r\nbare\rcarriage\n\nend");
    big_ = random_bytes(2'000'000, 2);
    write_file(dir_ / "firmware.bin", big_);
    handler_.add_path("firmware.bin", dir_ / "firmware.bin");
    handler_.add_path("gone.bin", dir_ / "no-such-file");
  }

  void TearDown() override {
    if (server_) server_->stop();
    pool_.stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  ServerConfig config() {
    ServerConfig c;
    c.host = "127.0.0.1";
    c.port = 0;
    c.timeout = 200ms;
    c.max_timeout = 800ms;
    return c;
  }

  void start(ServerConfig c) {
    server_ = std::make_unique<Server>(pool_, c, handler_, metrics_);
    auto port = server_->start();
    ASSERT_TRUE(port.ok()) << port.error();
    port_ = *port;
    ASSERT_NE(port_, 0);
    pool_.start();
  }
  void start() { start(config()); }

  std::string port() const { return std::to_string(port_); }
  std::string url(const std::string& name) const { return "tftp://127.0.0.1:" + port() + "/" + name; }

  // tftp-hpa: `tftp -v -m MODE 127.0.0.1 PORT -c get NAME LOCAL`.
  ToolRun tftp_get(const std::string& name, const fs::path& local, const std::string& mode = "binary") {
    return run_tool({"tftp", "-v", "-m", mode, "127.0.0.1", port(), "-c", "get", name, local.string()});
  }

  // The value of one series in the exposition text, or -1.
  double metric(const std::string& series) {
    std::istringstream in(metrics_.render());
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
    }
    return -1;
  }
  double transfers(const std::string& direction, const std::string& result) {
    return metric("ucedge_prov_tftp_transfers_total{direction=\"" + direction + "\",result=\"" + result +
                  "\"}");
  }
  // Counters are updated on the IO threads just after the client has its answer.
  void wait_for(const std::function<bool()>& condition) {
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!condition() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(2ms);
  }

  core::IoPool pool_{2};
  core::MetricsRegistry metrics_;
  TestHandler handler_;
  std::unique_ptr<Server> server_;
  std::uint16_t port_ = 0;
  fs::path dir_;
  std::string small_, big_, exact_;
};

// --- real clients ------------------------------------------------------------

TEST_F(TftpServerTest, TftpHpaFetchesASmallProfile) {
  start();
  auto r = tftp_get("small.cfg", dir_ / "out.cfg");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(read_file(dir_ / "out.cfg"), small_);
  wait_for([&] { return transfers("read", "ok") == 1; });
  EXPECT_EQ(transfers("read", "ok"), 1);
  EXPECT_EQ(metric("ucedge_prov_tftp_bytes_sent_total"), static_cast<double>(small_.size()));
  EXPECT_EQ(handler_.last_request().remote_address, "127.0.0.1");
  EXPECT_NE(handler_.last_request().remote_port, 0);
}

TEST_F(TftpServerTest, TftpHpaFetchesAnExactMultipleOfTheBlockSize) {
  // 1024 bytes: two full blocks, then an empty one ends the transfer (RFC 1350 §6).
  start();
  auto r = tftp_get("exact1024.bin", dir_ / "out.bin");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(read_file(dir_ / "out.bin").size(), 1024u);
  EXPECT_TRUE(read_file(dir_ / "out.bin") == exact_);
  // 1024 payload bytes went out, and the empty third block with them.
  EXPECT_EQ(metric("ucedge_prov_tftp_bytes_sent_total"), 1024);
}

TEST_F(TftpServerTest, TftpHpaFetchesAnEmptyFile) {
  start();
  auto r = tftp_get("empty.cfg", dir_ / "out.cfg");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(fs::exists(dir_ / "out.cfg"));
  EXPECT_EQ(fs::file_size(dir_ / "out.cfg"), 0u);
}

TEST_F(TftpServerTest, TftpHpaFetchesAFileFromDiskWithDefaultBlockSize) {
  start();  // 2 MB in 512-byte blocks: 3907 blocks
  auto r = tftp_get("firmware.bin", dir_ / "out.bin");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(read_file(dir_ / "out.bin") == big_);
}

TEST_F(TftpServerTest, TftpHpaNetasciiGetsTheTextBack) {
  // The server sends CR LF for LF and CR NUL for CR; tftp-hpa undoes both.
  start();
  auto r = tftp_get("text.txt", dir_ / "out.txt", "netascii");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(read_file(dir_ / "out.txt"), "line one\nline two\r\nbare\rcarriage\n\nend");
}

TEST_F(TftpServerTest, TftpHpaReportsFileNotFound) {
  start();
  auto r = tftp_get("missing.cfg", dir_ / "out.cfg");
  EXPECT_NE(r.output.find("Error code 1: File not found"), std::string::npos) << r.output;
  wait_for([&] { return transfers("read", "refused") == 1; });
  EXPECT_EQ(transfers("read", "refused"), 1);
}

TEST_F(TftpServerTest, CurlFetchesWithBlockSizeAndTsize) {
  start();
  for (const char* blksize : {"1024", "1428", "8192", "65464"}) {
    auto out = dir_ / ("out-" + std::string(blksize));
    auto r =
        run_tool({"curl", "-sS", "-v", "--tftp-blksize", blksize, url("firmware.bin"), "-o", out.string()});
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_TRUE(read_file(out) == big_) << "blksize " << blksize;
    // curl asks for tsize and the size of the file comes back in the OACK (RFC 2349 §3).
    EXPECT_NE(r.output.find("got option=(tsize) value=(2000000)"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("got option=(blksize) value=(" + std::string(blksize) + ")"), std::string::npos)
        << r.output;
  }
}

TEST_F(TftpServerTest, CurlSmallFileFromMemory) {
  start();
  auto r = run_tool({"curl", "-sS", url("small.cfg"), "-o", (dir_ / "out").string()});
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(read_file(dir_ / "out"), small_);
}

TEST_F(TftpServerTest, BlockSizeIsCappedByTheConfiguration) {
  auto c = config();
  c.max_block_size = 1428;
  start(c);
  auto r = run_tool(
      {"curl", "-sS", "-v", "--tftp-blksize", "8192", url("firmware.bin"), "-o", (dir_ / "out").string()});
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("got option=(blksize) value=(1428)"), std::string::npos) << r.output;
  EXPECT_TRUE(read_file(dir_ / "out") == big_);
}

TEST_F(TftpServerTest, CurlSeesTheRefusalCodes) {
  start();
  // curl's exit codes name the TFTP error code: 68 file not found, 69 access violation.
  EXPECT_EQ(run_tool({"curl", "-sS", url("missing.cfg"), "-o", (dir_ / "o1").string()}).status, 68);
  EXPECT_EQ(run_tool({"curl", "-sS", url("gone.bin"), "-o", (dir_ / "o2").string()}).status, 68);
  EXPECT_EQ(run_tool({"curl", "-sS", url("secret.cfg"), "-o", (dir_ / "o3").string()}).status, 69);
  wait_for([&] { return transfers("read", "refused") == 3; });
  EXPECT_EQ(transfers("read", "refused"), 3);
}

TEST_F(TftpServerTest, AThrowingHandlerIsAnErrorNotACrash) {
  start();
  UdpClient c;
  c.send(port_, rrq("throws.cfg"));
  auto d = c.receive();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->opcode(), 5);
  EXPECT_EQ(d->block(), 0);  // not defined
  auto r = run_tool({"curl", "-sS", url("small.cfg"), "-o", (dir_ / "out").string()});
  EXPECT_EQ(r.status, 0) << r.output;
}

TEST_F(TftpServerTest, CurlUploadsAReport) {
  start();
  std::string report = random_bytes(5000, 3);
  write_file(dir_ / "report.xml", report);
  auto r = run_tool({"curl", "-sS", "-T", (dir_ / "report.xml").string(), url("reports/001122334455.xml")});
  ASSERT_EQ(r.status, 0) << r.output;
  auto got = handler_.upload("reports/001122334455.xml");
  ASSERT_TRUE(got);
  EXPECT_TRUE(*got == report);
  wait_for([&] { return transfers("write", "ok") == 1; });
  EXPECT_EQ(transfers("write", "ok"), 1);
}

TEST_F(TftpServerTest, CurlUploadsWithALargerBlockAndAnExactMultiple) {
  start();
  std::string report = random_bytes(4096, 4);
  write_file(dir_ / "report.xml", report);
  auto r = run_tool(
      {"curl", "-sS", "--tftp-blksize", "1024", "-T", (dir_ / "report.xml").string(), url("reports/a.xml")});
  ASSERT_EQ(r.status, 0) << r.output;
  auto got = handler_.upload("reports/a.xml");
  ASSERT_TRUE(got);
  EXPECT_TRUE(*got == report);
}

TEST_F(TftpServerTest, TftpHpaUploads) {
  start();
  write_file(dir_ / "report.xml", "<flat-profile/>\n");
  auto r = run_tool({"tftp", "-v", "-m", "binary", "127.0.0.1", port(), "-c", "put",
                     (dir_ / "report.xml").string(), "reports/b.xml"});
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(handler_.upload("reports/b.xml"), "<flat-profile/>\n");
}

TEST_F(TftpServerTest, TftpHpaNetasciiUploadIsStoredAsLocalText) {
  // tftp-hpa sends LF as CR LF and CR as CR NUL; the server undoes both.
  start();
  const std::string text = "line one\nline two\r\nbare\rcarriage\n\nend\r";
  write_file(dir_ / "report.txt", text);
  auto r = run_tool({"tftp", "-v", "-m", "netascii", "127.0.0.1", port(), "-c", "put",
                     (dir_ / "report.txt").string(), "reports/t.txt"});
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(handler_.upload("reports/t.txt"), text);
}

TEST_F(TftpServerTest, UploadsRefusedBeforeAndAfterTheData) {
  start();
  write_file(dir_ / "report.xml", "data");
  // Outside the upload area: refused on arrival (access violation, curl 69).
  auto outside = run_tool({"curl", "-sS", "-T", (dir_ / "report.xml").string(), url("profiles/x.xml")});
  EXPECT_EQ(outside.status, 69) << outside.output;
  EXPECT_FALSE(handler_.upload("profiles/x.xml"));
  // Refused by the handler once complete: its code replaces the final ACK (file exists, curl 73).
  ASSERT_EQ(run_tool({"curl", "-sS", "-T", (dir_ / "report.xml").string(), url("reports/c.xml")}).status, 0);
  auto again = run_tool({"curl", "-sS", "-T", (dir_ / "report.xml").string(), url("reports/c.xml")});
  EXPECT_EQ(again.status, 73) << again.output;
  wait_for([&] { return transfers("write", "refused") == 2; });
  EXPECT_EQ(transfers("write", "refused"), 2);
}

TEST_F(TftpServerTest, UploadLargerThanTheLimitIsDiskFull) {
  auto c = config();
  c.max_upload_bytes = 3000;
  start(c);
  write_file(dir_ / "big.xml", random_bytes(10'000, 5));
  // With tsize the server refuses at once; without options it stops at the block that crosses the limit.
  auto with_tsize = run_tool({"curl", "-sS", "-T", (dir_ / "big.xml").string(), url("reports/big1.xml")});
  EXPECT_EQ(with_tsize.status, 70) << with_tsize.output;
  auto without = run_tool(
      {"curl", "-sS", "--tftp-no-options", "-T", (dir_ / "big.xml").string(), url("reports/big2.xml")});
  EXPECT_EQ(without.status, 70) << without.output;
  EXPECT_FALSE(handler_.upload("reports/big1.xml"));
  EXPECT_FALSE(handler_.upload("reports/big2.xml"));
}

// --- protocol details with a hand-driven client --------------------------------

TEST_F(TftpServerTest, LostAckMakesTheServerSendTheBlockAgain) {
  start();
  UdpClient c;
  c.send(port_, rrq("firmware.bin"));
  auto first = c.receive();
  ASSERT_TRUE(first);
  ASSERT_EQ(first->opcode(), 3);
  ASSERT_EQ(first->block(), 1);
  // Say nothing: DATA 1 comes again from the same TID after the timeout.
  auto again = c.receive();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->opcode(), 3);
  EXPECT_EQ(again->block(), 1);
  EXPECT_EQ(again->from_port, first->from_port);
  EXPECT_EQ(again->payload(), first->payload());
  c.send(first->from_port, ack(1));
  auto second = c.receive();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->block(), 2);
  EXPECT_EQ(second->payload(), big_.substr(512, 512));
}

TEST_F(TftpServerTest, DuplicateAckIsNotAnsweredTwice) {
  // RFC 1123 §4.2.3.1 (Sorcerer's Apprentice): a second ACK 1 must not send DATA 2 again.
  auto cfg = config();
  cfg.timeout = 1000ms;
  start(cfg);
  UdpClient c;
  c.send(port_, rrq("firmware.bin"));
  auto d1 = c.receive();
  ASSERT_TRUE(d1);
  c.send(d1->from_port, ack(1));
  c.send(d1->from_port, ack(1));
  auto start_time = std::chrono::steady_clock::now();
  auto d2 = c.receive();
  ASSERT_TRUE(d2);
  EXPECT_EQ(d2->block(), 2);
  auto d2_again = c.receive(3000ms);
  ASSERT_TRUE(d2_again);
  EXPECT_EQ(d2_again->block(), 2);
  // The second DATA 2 is the timer's retransmission, not an answer to the duplicate.
  EXPECT_GE(std::chrono::steady_clock::now() - start_time, 900ms);
}

TEST_F(TftpServerTest, GivesUpAfterTheRetries) {
  auto cfg = config();
  cfg.timeout = 50ms;
  cfg.max_timeout = 100ms;
  cfg.max_retries = 2;
  start(cfg);
  UdpClient c;
  c.send(port_, rrq("small.cfg"));
  int copies = 0;
  while (auto d = c.receive(1000ms)) {
    EXPECT_EQ(d->block(), 1);
    ++copies;
  }
  EXPECT_EQ(copies, 3);  // the first and two retransmissions
  wait_for([&] { return transfers("read", "timeout") == 1; });
  EXPECT_EQ(transfers("read", "timeout"), 1);
  EXPECT_EQ(metric("ucedge_prov_tftp_active_transfers"), 0);
}

TEST_F(TftpServerTest, BlockNumbersRollOver) {
  // 65536 × 8 + 3 bytes in 8-byte blocks: 65537 blocks, numbered 1..65535, 0, 1.
  start();
  std::string content = random_bytes(65536 * 8 + 3, 6);
  handler_.add("rollover.bin", content);
  UdpClient c;
  c.send(port_, rrq("rollover.bin", {{"blksize", "8"}}));
  auto oack = c.receive();
  ASSERT_TRUE(oack);
  ASSERT_EQ(oack->opcode(), 6);
  auto parsed = parse(std::vector<std::uint8_t>(oack->bytes.begin(), oack->bytes.end()));
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(std::get<OptionAck>(*parsed).options.at(0).value, "8");
  std::uint16_t server = oack->from_port;
  c.send(server, ack(0));
  std::string got;
  std::uint64_t blocks = 0;
  std::vector<std::uint16_t> numbers_seen_near_wrap;
  for (;;) {
    auto d = c.receive();
    ASSERT_TRUE(d) << "stalled after " << blocks << " blocks";
    ASSERT_EQ(d->opcode(), 3);
    if (d->block() != static_cast<std::uint16_t>(blocks + 1)) continue;  // a retransmission
    ++blocks;
    if (blocks >= 65534 && blocks <= 65538) numbers_seen_near_wrap.push_back(d->block());
    got += d->payload();
    c.send(server, ack(d->block()));
    if (d->payload().size() < 8) break;
  }
  EXPECT_EQ(blocks, 65537u);
  EXPECT_EQ(numbers_seen_near_wrap, (std::vector<std::uint16_t>{65534, 65535, 0, 1}));
  EXPECT_TRUE(got == content);
}

TEST_F(TftpServerTest, OptionsNegotiated) {
  start();
  UdpClient c;
  // blksize above the RFC 2348 maximum is lowered, timeout echoed, unknown option left out.
  c.send(port_,
         rrq("small.cfg", {{"blksize", "70000"}, {"timeout", "3"}, {"windowsize", "8"}, {"tsize", "0"}}));
  auto d = c.receive();
  ASSERT_TRUE(d);
  ASSERT_EQ(d->opcode(), 6);
  auto parsed = parse(std::vector<std::uint8_t>(d->bytes.begin(), d->bytes.end()));
  ASSERT_TRUE(parsed.ok());
  auto& options = std::get<OptionAck>(*parsed).options;
  ASSERT_EQ(options.size(), 3u);
  EXPECT_EQ(options[0].name, "blksize");
  EXPECT_EQ(options[0].value, "65464");
  EXPECT_EQ(options[1].name, "timeout");
  EXPECT_EQ(options[1].value, "3");
  EXPECT_EQ(options[2].name, "tsize");
  EXPECT_EQ(options[2].value, std::to_string(small_.size()));
  c.send(d->from_port, ack(0));
  auto data = c.receive();
  ASSERT_TRUE(data);
  EXPECT_EQ(data->block(), 1);
  EXPECT_EQ(data->payload(), small_);
  c.send(d->from_port, ack(1));
}

TEST_F(TftpServerTest, OnlyUnknownOrBadOptionsMeansNoOack) {
  start();
  UdpClient c;
  c.send(port_, rrq("small.cfg", {{"windowsize", "8"}, {"blksize", "4"}, {"timeout", "0"}}));
  auto d = c.receive();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->opcode(), 3);
  EXPECT_EQ(d->block(), 1);
  EXPECT_EQ(d->payload(), small_);
}

TEST_F(TftpServerTest, NetasciiTsizeIsTheConvertedSize) {
  start();
  UdpClient c;
  c.send(port_, rrq("text.txt", {{"tsize", "0"}}, "netascii"));
  auto d = c.receive();
  ASSERT_TRUE(d);
  ASSERT_EQ(d->opcode(), 6);
  auto parsed = parse(std::vector<std::uint8_t>(d->bytes.begin(), d->bytes.end()));
  ASSERT_TRUE(parsed.ok());
  std::string expected = "line one\r\nline two\r\0\r\nbare\r\0carriage\r\n\r\nend"s;
  EXPECT_EQ(std::get<OptionAck>(*parsed).options.at(0).value, std::to_string(expected.size()));
  c.send(d->from_port, ack(0));
  auto data = c.receive();
  ASSERT_TRUE(data);
  EXPECT_EQ(data->payload(), expected);
}

TEST_F(TftpServerTest, NetasciiPairSplitAcrossBlocks) {
  // With 8-byte blocks "abcdefg\n" becomes "abcdefg\r" + "\n...": the pair straddles two blocks.
  start();
  handler_.add("split.txt", "abcdefg\nxyz\r");
  UdpClient c;
  c.send(port_, rrq("split.txt", {{"blksize", "8"}}, "netascii"));
  auto oack = c.receive();
  ASSERT_TRUE(oack);
  c.send(oack->from_port, ack(0));
  std::string got;
  for (std::uint16_t block = 1;; ++block) {
    auto d = c.receive();
    ASSERT_TRUE(d);
    ASSERT_EQ(d->block(), block);
    got += d->payload();
    c.send(oack->from_port, ack(block));
    if (d->payload().size() < 8) break;
  }
  EXPECT_EQ(got, "abcdefg\r\nxyz\r\0"s);
}

TEST_F(TftpServerTest, NetasciiUploadDecodedAcrossBlocks) {
  // 8-byte blocks: "abcdefg\r" | "\nxy\r\0zz\r" | "\n": both CR LF pairs straddle a boundary.
  start();
  UdpClient c;
  std::vector<std::uint8_t> wrq;
  write_request(wrq, Request{true, "reports/n.txt", "netascii", {{"blksize", "8"}}});
  c.send(port_, wrq);
  auto oack = c.receive();
  ASSERT_TRUE(oack);
  ASSERT_EQ(oack->opcode(), 6);
  const std::vector<std::string> blocks = {"abcdefg\r", "\nxy\r\0zz\r"s, "\n"};
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    std::vector<std::uint8_t> data;
    write_data(data, static_cast<std::uint16_t>(i + 1), blocks[i]);
    c.send(oack->from_port, data);
    auto a = c.receive();
    ASSERT_TRUE(a);
    ASSERT_EQ(a->opcode(), 4);
    EXPECT_EQ(a->block(), i + 1);
  }
  EXPECT_EQ(handler_.upload("reports/n.txt"), "abcdefg\nxy\rzz\n");
}

TEST_F(TftpServerTest, UploadBlockSentAgainIsAcknowledgedAgain) {
  // A lost ACK during an upload, and a lost final ACK while the server dallies (RFC 1350 §6).
  start();
  UdpClient c;
  std::vector<std::uint8_t> wrq, data;
  write_request(wrq, Request{true, "reports/d.xml", "octet", {}});
  c.send(port_, wrq);
  auto ack0 = c.receive();
  ASSERT_TRUE(ack0);
  ASSERT_EQ(ack0->opcode(), 4);
  ASSERT_EQ(ack0->block(), 0);
  const std::uint16_t server = ack0->from_port;
  const std::string first(512, 'a'), last = "tail";
  for (int copy = 0; copy < 2; ++copy) {
    write_data(data, 1, first);
    c.send(server, data);
    auto a = c.receive();
    ASSERT_TRUE(a);
    EXPECT_EQ(a->block(), 1);
  }
  for (int copy = 0; copy < 2; ++copy) {
    write_data(data, 2, last);
    c.send(server, data);
    auto a = c.receive();
    ASSERT_TRUE(a);
    EXPECT_EQ(a->opcode(), 4);
    EXPECT_EQ(a->block(), 2);
  }
  EXPECT_EQ(handler_.upload("reports/d.xml"), first + last);
  wait_for([&] { return metric("ucedge_prov_tftp_active_transfers") == 0; });
  EXPECT_EQ(transfers("write", "ok"), 1);
}

TEST_F(TftpServerTest, TimeoutOptionSetsTheRetransmissionTimer) {
  // RFC 2349 §2: timeout=1 (second) instead of the configured 200 ms.
  start();
  UdpClient c;
  c.send(port_, rrq("small.cfg", {{"timeout", "1"}}));
  auto oack = c.receive();
  ASSERT_TRUE(oack);
  ASSERT_EQ(oack->opcode(), 6);
  const auto sent = std::chrono::steady_clock::now();
  auto again = c.receive(3000ms);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->opcode(), 6);
  EXPECT_GE(std::chrono::steady_clock::now() - sent, 900ms);
}

TEST_F(TftpServerTest, MailModeAndMalformedRequestsAreIllegal) {
  start();
  UdpClient c;
  c.send(port_, rrq("small.cfg", {}, "mail"));
  auto d = c.receive();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->opcode(), 5);
  EXPECT_EQ(d->block(), 4);
  c.send(port_, "\0\1small.cfg\0binary\0"s);
  d = c.receive();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->opcode(), 5);
  EXPECT_EQ(d->block(), 4);
  c.send(port_,
         "\0\1small.cfg\0octet\0blksize\0"
         "512\0blksize\0"
         "1024\0"s);
  d = c.receive();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->opcode(), 5);
  EXPECT_EQ(d->block(), 8);
  // A stray ACK on the well-known port: unknown transfer ID.
  c.send(port_, ack(3));
  d = c.receive();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->opcode(), 5);
  EXPECT_EQ(d->block(), 5);
  // An ERROR is never answered.
  c.send(port_, "\0\5\0\0bye\0"s);
  EXPECT_FALSE(c.receive(200ms));
  // The bad mode, the repeated option and the stray ACK; mail mode is a refusal.
  EXPECT_EQ(metric("ucedge_prov_tftp_bad_packets_total"), 3);
  EXPECT_EQ(transfers("read", "refused"), 1);
}

TEST_F(TftpServerTest, RepeatedRequestDoesNotStartASecondTransfer) {
  start();
  UdpClient c;
  c.send(port_, rrq("firmware.bin"));
  c.send(port_, rrq("firmware.bin"));
  auto d1 = c.receive();
  ASSERT_TRUE(d1);
  c.send(d1->from_port, ack(1));
  auto d2 = c.receive();
  ASSERT_TRUE(d2);
  EXPECT_EQ(d2->block(), 2);
  EXPECT_EQ(d2->from_port, d1->from_port);
  c.send(d1->from_port, "\0\5\0\0done\0"s);
}

TEST_F(TftpServerTest, PacketsFromAnotherTidDoNotDisturbATransfer) {
  start();
  UdpClient c, stranger;
  c.send(port_, rrq("firmware.bin"));
  auto d1 = c.receive();
  ASSERT_TRUE(d1);
  // The stranger's ACK is dropped by the kernel (the transfer socket is connected to `c`).
  stranger.send(d1->from_port, ack(1));
  stranger.send(d1->from_port, "\0\5\0\0go away\0"s);
  EXPECT_FALSE(stranger.receive(100ms));
  c.send(d1->from_port, ack(1));
  auto d2 = c.receive();
  ASSERT_TRUE(d2);
  EXPECT_EQ(d2->block(), 2);
}

TEST_F(TftpServerTest, TransferCapAnswersServerBusy) {
  auto cfg = config();
  cfg.max_transfers = 2;
  cfg.timeout = 2000ms;
  start(cfg);
  UdpClient a, b, third;
  a.send(port_, rrq("small.cfg"));
  b.send(port_, rrq("small.cfg"));
  auto a_data = a.receive();
  ASSERT_TRUE(a_data);
  ASSERT_TRUE(b.receive());
  third.send(port_, rrq("small.cfg"));
  auto busy = third.receive();
  ASSERT_TRUE(busy);
  EXPECT_EQ(busy->opcode(), 5);
  EXPECT_EQ(busy->block(), 0);
  EXPECT_NE(busy->bytes.find("server busy"), std::string::npos);
  EXPECT_EQ(metric("ucedge_prov_tftp_active_transfers"), 2);
  // Once one is done, the next client gets in.
  a.send(a_data->from_port, ack(1));
  wait_for([&] { return metric("ucedge_prov_tftp_active_transfers") == 1; });
  UdpClient fourth;
  fourth.send(port_, rrq("small.cfg"));
  auto d = fourth.receive();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->opcode(), 3);
  EXPECT_EQ(d->payload(), small_);
  wait_for([&] { return transfers("read", "refused") == 1; });
  EXPECT_EQ(transfers("read", "refused"), 1);
}

TEST_F(TftpServerTest, ManyConcurrentCurlClients) {
  start();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&, i] {
      auto out = dir_ / ("c" + std::to_string(i));
      auto r = run_tool({"curl", "-sS", url(i % 2 ? "small.cfg" : "firmware.bin"), "-o", out.string()});
      if (r.status == 0 && read_file(out) == (i % 2 ? small_ : big_)) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 16);
  wait_for([&] { return metric("ucedge_prov_tftp_active_transfers") == 0; });
  EXPECT_EQ(transfers("read", "ok"), 16);
}

TEST_F(TftpServerTest, StopClosesTheWellKnownSockets) {
  start();
  server_->stop();
  UdpClient c;
  c.send(port_, rrq("small.cfg"));
  EXPECT_FALSE(c.receive(300ms));
}

}  // namespace
