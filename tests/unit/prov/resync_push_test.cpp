// Resync push against real peers: sipp (sip-tester) plays the phone's SIP UA,
// Python's http.server plays the phone's /CGI/Execute.
#include "prov/resync/resync_push.hpp"

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

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace ucedge::prov {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kSipp = "/usr/bin/sipp";
constexpr const char* kPython = "/usr/bin/python3";

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "ucedge-resync-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const fs::path& p, std::string_view text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

// A process we started; killed and reaped if still running when dropped.
class Child {
 public:
  // `pass_fd`, if set, becomes the child's descriptor 3.
  static std::unique_ptr<Child> spawn(const std::vector<std::string>& argv, const fs::path& log,
                                      int pass_fd = -1) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    int high = -1;
    if (pass_fd >= 0) {
      high = ::fcntl(pass_fd, F_DUPFD_CLOEXEC, 10);  // dup2 onto 3 then clears close-on-exec
      posix_spawn_file_actions_adddup2(&actions, high, 3);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (high >= 0) ::close(high);
    if (rc != 0) return nullptr;
    return std::unique_ptr<Child>(new Child(pid));
  }

  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      reap(0);
    }
  }

  // nullopt while it runs; its exit code (128 + signal when killed) once it has ended.
  std::optional<int> poll() { return reap(WNOHANG); }
  pid_t pid() const { return pid_; }
  int wait() { return *reap(0); }

 private:
  explicit Child(pid_t pid) : pid_(pid) {}

  std::optional<int> reap(int flags) {
    if (pid_ <= 0) return code_;
    int status = 0;
    pid_t r;
    while ((r = ::waitpid(pid_, &status, flags)) < 0 && errno == EINTR) {
    }
    if (r == 0) return std::nullopt;
    pid_ = -1;
    code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return code_;
  }

  pid_t pid_;
  int code_ = -1;
};

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  return a;
}

std::uint16_t local_port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

// A socket bound to 127.0.0.1 on an ephemeral port; closed when dropped.
class Socket {
 public:
  explicit Socket(int type) : fd_(::socket(AF_INET, type | SOCK_CLOEXEC, 0)) {
    sockaddr_in a = loopback(0);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      throw std::runtime_error("bind failed");
  }
  ~Socket() { ::close(fd_); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }
  std::uint16_t port() const { return local_port(fd_); }

  // Datagrams already queued, without waiting.
  std::vector<std::string> drain() const {
    std::vector<std::string> out;
    std::string buf(65536, '\0');
    while (true) {
      ssize_t n = ::recv(fd_, buf.data(), buf.size(), MSG_DONTWAIT);
      if (n < 0) break;
      out.emplace_back(buf.data(), static_cast<std::size_t>(n));
    }
    return out;
  }

 private:
  int fd_;
};

// A port free right now; sipp needs a number up front, so a collision means another try.
std::uint16_t free_port(int type) { return Socket(type).port(); }

// Whether process `pid` has a socket bound (UDP) or listening (TCP) on 127.0.0.1:port:
// the kernel's socket table gives the socket's inode, the process's fd table says whose it is.
bool bound_on_loopback(pid_t pid, std::uint16_t port, bool tcp) {
  std::ifstream table(tcp ? "/proc/net/tcp" : "/proc/net/udp");
  char wanted[32];
  std::snprintf(wanted, sizeof wanted, "0100007F:%04X", port);
  std::vector<std::string> inodes;
  std::string line;
  std::getline(table, line);  // heading
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
    fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >> inode;
    if (local == wanted && state == (tcp ? "0A" : "07")) inodes.push_back("socket:[" + inode + "]");
  }
  if (inodes.empty()) return false;
  std::error_code ec;
  for (const auto& fd : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    std::error_code link_ec;
    std::string target = fs::read_symlink(fd.path(), link_ec).string();
    if (std::find(inodes.begin(), inodes.end(), target) != inodes.end()) return true;
  }
  return false;
}

// The phone's SIP UA: sipp running a UAS scenario that expects one NOTIFY whose
// Event header is `event` (the call fails otherwise) and sends `answers` back.
class SippPhone {
 public:
  SippPhone(const fs::path& dir, std::string_view event, const std::vector<std::string>& answers, bool tcp)
      : messages_(dir / "sipp_messages.log"), log_(dir / "sipp.log") {
    std::string scenario =
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\" ?>\n"
        "<scenario name=\"phone answering a resync NOTIFY\">\n"
        "  <recv request=\"NOTIFY\">\n"
        "    <action>\n"
        "      <ereg regexp=\"^ *" +
        std::string(event) +
        " *$\" search_in=\"hdr\" header=\"Event:\" check_it=\"true\""
        " assign_to=\"event\"/>\n"
        "    </action>\n"
        "  </recv>\n";
    for (const auto& status : answers) {
      scenario +=
          "  <send>\n    <![CDATA[\n"
          "SIP/2.0 " +
          status +
          "\n"
          "[last_Via:]\n[last_From:]\n[last_To:];tag=[pid]SIPpTag01[call_number]\n[last_Call-ID:]\n[last_"
          "CSeq:]\n"
          "X-Event-Seen: [$event]\n"
          "Content-Length: 0\n\n"
          "    ]]>\n  </send>\n";
    }
    scenario += "</scenario>\n";
    const fs::path file = dir / "phone_uas.xml";
    write_file(file, scenario);

    for (int attempt = 0; attempt < 8 && !child_; ++attempt) {
      std::uint16_t port = free_port(tcp ? SOCK_STREAM : SOCK_DGRAM);
      auto child = Child::spawn({kSipp, "-sf", file.string(), "-i", "127.0.0.1", "-p", std::to_string(port),
                                 "-t", tcp ? "t1" : "u1", "-m", "1", "-nostdin", "-timeout", "30s",
                                 "-timeout_error", "-trace_msg", "-message_file", messages_.string()},
                                log_);
      if (!child) break;
      // Starting a process and waiting for its socket: nothing to hook on but the socket table.
      for (int i = 0; i < 1000; ++i) {
        if (bound_on_loopback(child->pid(), port, tcp)) {
          port_ = port;
          child_ = std::move(child);
          break;
        }
        if (child->poll()) break;  // port taken meanwhile: try another
        std::this_thread::sleep_for(5ms);
      }
    }
  }

  bool running() const { return child_ != nullptr; }
  std::uint16_t port() const { return port_; }
  // sipp's exit code: 0 when its one call went through the scenario.
  int finish() { return child_->wait(); }
  std::string messages() const { return read_file(messages_); }
  std::string log() const { return read_file(log_); }

 private:
  fs::path messages_;
  fs::path log_;
  std::unique_ptr<Child> child_;
  std::uint16_t port_ = 0;
};

ResyncPushConfig test_config(std::chrono::milliseconds timeout = 10s) {
  ResyncPushConfig c;
  c.sip_host = "127.0.0.1";
  c.sip_port = 0;
  c.sip_domain = "test.invalid";
  c.timeout = timeout;
  return c;
}

PushTarget sip_target(PushMethod method, std::uint16_t port, std::string user = "",
                      std::string event = "resync") {
  PushTarget t;
  t.device = "00562b043615";
  t.method = method;
  t.host = "127.0.0.1";
  t.port = port;
  t.user = std::move(user);
  t.event = std::move(event);
  return t;
}

PushJob run(ResyncPusher& pusher, std::vector<PushTarget> targets, std::chrono::milliseconds limit = 20s) {
  std::string id = pusher.submit(std::move(targets));
  auto job = pusher.wait(id, limit);
  EXPECT_TRUE(job.has_value());
  if (!job) return {};
  EXPECT_TRUE(job->finished) << "job still running after " << limit.count() << " ms";
  return *job;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class ResyncPushSip : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kSipp, X_OK) != 0) GTEST_SKIP() << "sipp not installed (apt-get install sip-tester)";
  }
  TempDir dir_;
};

TEST_F(ResyncPushSip, UdpNotifyReachesThePhoneAndIsAnswered) {
  // The phone says 100 Trying first: a provisional answer only keeps the transaction waiting.
  SippPhone phone(dir_.path(), "resync", {"100 Trying", "200 OK"}, false);
  ASSERT_TRUE(phone.running()) << phone.log();
  ResyncPusher pusher(test_config());
  auto port = pusher.start();
  ASSERT_TRUE(port.ok()) << port.error();
  ASSERT_NE(*port, 0);

  PushJob job = run(pusher, {sip_target(PushMethod::sip_udp, phone.port(), "1001")});
  ASSERT_EQ(job.results.size(), 1u);
  const PushResult& r = job.results[0];
  EXPECT_EQ(r.state, PushState::delivered) << r.detail;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.detail, "200 OK");
  EXPECT_EQ(r.target.device, "00562b043615");
  EXPECT_EQ(phone.finish(), 0) << phone.log();

  // What the phone received.
  const std::string m = phone.messages();
  const std::string p = std::to_string(phone.port());
  EXPECT_TRUE(contains(m, "NOTIFY sip:1001@127.0.0.1:" + p + " SIP/2.0\r\n")) << m;
  EXPECT_TRUE(
      contains(m, "\r\nVia: SIP/2.0/UDP 127.0.0.1:" + std::to_string(*port) + ";rport;branch=z9hG4bK"))
      << m;
  EXPECT_TRUE(contains(m, "\r\nMax-Forwards: 70\r\n")) << m;
  EXPECT_TRUE(contains(m, "\r\nFrom: <sip:provisioning@test.invalid>;tag=")) << m;
  EXPECT_TRUE(contains(m, "\r\nTo: <sip:1001@127.0.0.1>\r\n")) << m;
  EXPECT_TRUE(contains(m, "\r\nCall-ID: ")) << m;
  EXPECT_TRUE(contains(m, "\r\nCSeq: 1 NOTIFY\r\n")) << m;
  EXPECT_TRUE(contains(m, "\r\nContact: <sip:provisioning@127.0.0.1:" + std::to_string(*port) + ">\r\n"))
      << m;
  EXPECT_TRUE(contains(m, "\r\nEvent: resync\r\n")) << m;
  EXPECT_TRUE(contains(m, "\r\nSubscription-State: terminated\r\n")) << m;
  EXPECT_TRUE(contains(m, "\r\nContent-Length: 0\r\n\r\n")) << m;
  EXPECT_TRUE(contains(m, "X-Event-Seen:  resync")) << m;
}

TEST_F(ResyncPushSip, ReportEventOverTcp) {
  SippPhone phone(dir_.path(), "report", {"200 OK"}, true);
  ASSERT_TRUE(phone.running()) << phone.log();
  ResyncPusher pusher(test_config());
  ASSERT_TRUE(pusher.start().ok());

  PushJob job = run(pusher, {sip_target(PushMethod::sip_tcp, phone.port(), "", "report")});
  ASSERT_EQ(job.results.size(), 1u);
  EXPECT_EQ(job.results[0].state, PushState::delivered) << job.results[0].detail;
  EXPECT_EQ(job.results[0].status, 200);
  EXPECT_EQ(phone.finish(), 0) << phone.log();

  const std::string m = phone.messages();
  EXPECT_TRUE(
      contains(m, "NOTIFY sip:127.0.0.1:" + std::to_string(phone.port()) + ";transport=tcp SIP/2.0\r\n"))
      << m;
  EXPECT_TRUE(contains(m, "\r\nVia: SIP/2.0/TCP 127.0.0.1:")) << m;
  EXPECT_TRUE(contains(m, "\r\nTo: <sip:127.0.0.1>\r\n")) << m;
  EXPECT_TRUE(contains(m, "\r\nEvent: report\r\n")) << m;
}

TEST_F(ResyncPushSip, BusyPhoneOverUdpFails) {
  SippPhone phone(dir_.path(), "resync", {"486 Busy Here"}, false);
  ASSERT_TRUE(phone.running()) << phone.log();
  ResyncPusher pusher(test_config());
  ASSERT_TRUE(pusher.start().ok());

  PushJob job = run(pusher, {sip_target(PushMethod::sip_udp, phone.port(), "1001")});
  ASSERT_EQ(job.results.size(), 1u);
  EXPECT_EQ(job.results[0].state, PushState::failed);
  EXPECT_EQ(job.results[0].status, 486);
  EXPECT_EQ(job.results[0].detail, "486 Busy Here");
  EXPECT_EQ(phone.finish(), 0) << phone.log();
}

TEST_F(ResyncPushSip, RefusalOverTcpFails) {
  SippPhone phone(dir_.path(), "resync", {"481 Call/Transaction Does Not Exist"}, true);
  ASSERT_TRUE(phone.running()) << phone.log();
  ResyncPusher pusher(test_config());
  ASSERT_TRUE(pusher.start().ok());

  PushJob job = run(pusher, {sip_target(PushMethod::sip_tcp, phone.port())});
  ASSERT_EQ(job.results.size(), 1u);
  EXPECT_EQ(job.results[0].state, PushState::failed);
  EXPECT_EQ(job.results[0].status, 481);
  EXPECT_EQ(job.results[0].detail, "481 Call/Transaction Does Not Exist");
  EXPECT_EQ(phone.finish(), 0) << phone.log();
}

TEST(ResyncPush, SilentPhoneTimesOutAfterRetransmissions) {
  Socket silent(SOCK_DGRAM);                     // receives, never answers
  std::uint16_t nobody = free_port(SOCK_DGRAM);  // nothing bound at all
  ResyncPusher pusher(test_config(700ms));
  ASSERT_TRUE(pusher.start().ok());

  PushJob job =
      run(pusher, {sip_target(PushMethod::sip_udp, silent.port()), sip_target(PushMethod::sip_udp, nobody)});
  ASSERT_EQ(job.results.size(), 2u);
  for (const auto& r : job.results) {
    EXPECT_EQ(r.state, PushState::failed);
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.detail, "timeout after 700 ms");
    EXPECT_GE(r.elapsed, 700ms);
    EXPECT_LT(r.elapsed, 5s);
  }
  // RFC 3261 §17.1.2.2: sent at 0, again after T1 = 500 ms, next one due at 1.5 s.
  auto copies = silent.drain();
  ASSERT_GE(copies.size(), 2u);
  EXPECT_LE(copies.size(), 3u);
  for (const auto& c : copies) EXPECT_EQ(c, copies[0]) << "a retransmission must be the same request";
  EXPECT_TRUE(contains(copies[0], "\r\nEvent: resync\r\n"));
}

TEST(ResyncPush, SourceBoundToAnyAddressNamesTheRoutedOneInVia) {
  Socket silent(SOCK_DGRAM);
  ResyncPushConfig c = test_config(100ms);
  c.sip_host = "0.0.0.0";
  ResyncPusher pusher(c);
  auto port = pusher.start();
  ASSERT_TRUE(port.ok()) << port.error();
  PushJob job = run(pusher, {sip_target(PushMethod::sip_udp, silent.port(), "1001")});
  auto copies = silent.drain();
  ASSERT_FALSE(copies.empty());
  EXPECT_TRUE(contains(copies[0],
                       "\r\nVia: SIP/2.0/UDP 127.0.0.1:" + std::to_string(*port) + ";rport;branch=z9hG4bK"))
      << copies[0];
}

TEST(ResyncPush, Ipv6PhoneGetsBracketedUris) {
  int fd = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    if (fd >= 0) ::close(fd);
    GTEST_SKIP() << "no IPv6 loopback here";
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const std::uint16_t phone_port = ntohs(a.sin6_port);

  ResyncPushConfig c = test_config(100ms);
  c.sip_host = "::1";
  ResyncPusher pusher(c);
  auto port = pusher.start();
  ASSERT_TRUE(port.ok()) << port.error();
  PushTarget t = sip_target(PushMethod::sip_udp, phone_port, "1001");
  t.host = "[::1]";
  PushJob job = run(pusher, {t});
  std::string buf(65536, '\0');
  ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
  ::close(fd);
  ASSERT_GT(n, 0);
  buf.resize(static_cast<std::size_t>(n));
  EXPECT_TRUE(contains(buf, "NOTIFY sip:1001@[::1]:" + std::to_string(phone_port) + " SIP/2.0\r\n")) << buf;
  EXPECT_TRUE(contains(buf, "\r\nVia: SIP/2.0/UDP [::1]:" + std::to_string(*port) + ";rport;branch=z9hG4bK"))
      << buf;
  EXPECT_TRUE(contains(buf, "\r\nTo: <sip:1001@[::1]>\r\n")) << buf;
  EXPECT_EQ(job.results[0].detail, "timeout after 100 ms");
}

TEST(ResyncPush, TcpConnectionRefused) {
  Socket closed(SOCK_STREAM);  // bound, not listening: the kernel answers RST
  ResyncPusher pusher(test_config(5s));
  ASSERT_TRUE(pusher.start().ok());
  PushJob job = run(pusher, {sip_target(PushMethod::sip_tcp, closed.port())});
  ASSERT_EQ(job.results.size(), 1u);
  EXPECT_EQ(job.results[0].state, PushState::failed);
  EXPECT_EQ(job.results[0].detail, "connection refused");
  EXPECT_LT(job.results[0].elapsed, 5s);
}

TEST(ResyncPush, UnusableTargetsFailAtOnce) {
  ResyncPusher pusher(test_config(5s));
  ASSERT_TRUE(pusher.start().ok());
  PushTarget header_injection = sip_target(PushMethod::sip_udp, 5060);
  header_injection.host = "10.0.0.1\r\nEvent: reboot";
  PushTarget bad_event = sip_target(PushMethod::sip_tcp, 5060, "", "resync\r\nX: y");
  PushTarget bad_model;
  bad_model.method = PushMethod::cgi;
  bad_model.host = "http://127.0.0.1:1";
  bad_model.model = "CP 8841>";
  bad_model.profile_rule = "http://prov/x.cfg";
  PushJob job = run(pusher, {header_injection, bad_event, bad_model});
  ASSERT_EQ(job.results.size(), 3u);
  EXPECT_EQ(job.results[0].state, PushState::failed);
  EXPECT_TRUE(contains(job.results[0].detail, "invalid host")) << job.results[0].detail;
  EXPECT_TRUE(contains(job.results[1].detail, "invalid event")) << job.results[1].detail;
  EXPECT_TRUE(contains(job.results[2].detail, "invalid model")) << job.results[2].detail;
}

TEST(ResyncPush, StartBindsTheConfiguredSource) {
  Socket taken(SOCK_DGRAM);
  ResyncPushConfig c = test_config();
  c.sip_port = taken.port();
  ResyncPusher busy(c);
  EXPECT_FALSE(busy.start().ok());

  c.sip_port = 0;
  c.sip_host = "not-an-address";
  ResyncPusher bad(c);
  EXPECT_FALSE(bad.start().ok());

  ResyncPusher twice(test_config());
  auto a = twice.start();
  auto b = twice.start();
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*a, *b);
}

TEST(ResyncPushJobs, ResultsKeepTheOrderOfTheTargets) {
  Socket refused_a(SOCK_STREAM), refused_b(SOCK_STREAM);
  ResyncPusher pusher(test_config(5s));
  ASSERT_TRUE(pusher.start().ok());
  PushTarget bad = sip_target(PushMethod::sip_udp, 5060);
  bad.host = "bad host";
  std::vector<PushTarget> targets = {sip_target(PushMethod::sip_tcp, refused_a.port()), bad,
                                     sip_target(PushMethod::sip_tcp, refused_b.port())};
  targets[0].device = "000000000001";
  targets[1].device = "000000000002";
  targets[2].device = "000000000003";
  PushJob job = run(pusher, targets);
  ASSERT_EQ(job.results.size(), 3u);
  EXPECT_FALSE(job.id.empty());
  EXPECT_EQ(job.results[0].target.device, "000000000001");
  EXPECT_EQ(job.results[1].target.device, "000000000002");
  EXPECT_EQ(job.results[2].target.device, "000000000003");
  EXPECT_EQ(job.results[0].detail, "connection refused");
  EXPECT_TRUE(contains(job.results[1].detail, "invalid host"));
  EXPECT_EQ(job.results[2].detail, "connection refused");
}

TEST(ResyncPushJobs, ParallelLimitHoldsTheRestPending) {
  Socket first(SOCK_DGRAM), second(SOCK_DGRAM);
  ResyncPushConfig c = test_config(30s);
  c.parallel = 1;
  ResyncPusher pusher(c);
  ASSERT_TRUE(pusher.start().ok());
  std::string id = pusher.submit(
      {sip_target(PushMethod::sip_udp, first.port()), sip_target(PushMethod::sip_udp, second.port())});

  // Wait for the first NOTIFY to arrive: the first device is then running.
  pollfd pfd{first.fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&pfd, 1, 5000), 1);
  auto job = pusher.job(id);
  ASSERT_TRUE(job.has_value());
  EXPECT_FALSE(job->finished);
  EXPECT_EQ(job->results[0].state, PushState::running);
  EXPECT_EQ(job->results[1].state, PushState::pending);
  EXPECT_TRUE(second.drain().empty());

  // Stopping ends what runs and what waits.
  pusher.stop();
  job = pusher.job(id);
  ASSERT_TRUE(job.has_value());
  EXPECT_TRUE(job->finished);
  for (const auto& r : job->results) {
    EXPECT_EQ(r.state, PushState::failed);
    EXPECT_EQ(r.detail, "stopped");
  }
  // A job submitted after stop() fails at once.
  auto late = pusher.wait(pusher.submit({sip_target(PushMethod::sip_udp, first.port())}), 0ms);
  ASSERT_TRUE(late.has_value());
  EXPECT_TRUE(late->finished);
  EXPECT_EQ(late->results[0].state, PushState::failed);
}

TEST(ResyncPushJobs, OldFinishedJobsAreForgotten) {
  ResyncPushConfig c = test_config();
  c.max_jobs_kept = 2;
  ResyncPusher pusher(c);
  ASSERT_TRUE(pusher.start().ok());
  PushTarget bad = sip_target(PushMethod::sip_udp, 5060);
  bad.host = "bad host";
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(pusher.submit({bad}));
    ASSERT_TRUE(pusher.wait(ids.back(), 5s)->finished);
  }
  EXPECT_FALSE(pusher.job(ids[0]).has_value());
  EXPECT_TRUE(pusher.job(ids[1]).has_value());
  EXPECT_TRUE(pusher.job(ids[2]).has_value());
  EXPECT_NE(ids[1], ids[2]);
  EXPECT_FALSE(pusher.job("no-such-job").has_value());
  EXPECT_FALSE(pusher.wait("no-such-job", 10ms).has_value());
}

TEST(ResyncPushJobs, EmptyJobIsFinishedAtOnce) {
  ResyncPusher pusher(test_config());
  auto job = pusher.job(pusher.submit({}));
  ASSERT_TRUE(job.has_value());
  EXPECT_TRUE(job->finished);
  EXPECT_TRUE(job->results.empty());
  EXPECT_LE(job->created, std::chrono::system_clock::now());
}

TEST(ResyncPushJobs, Names) {
  EXPECT_EQ(to_string(PushMethod::sip_udp), "sip_udp");
  EXPECT_EQ(to_string(PushMethod::sip_tcp), "sip_tcp");
  EXPECT_EQ(to_string(PushMethod::cgi), "cgi");
  for (auto m : {PushMethod::sip_udp, PushMethod::sip_tcp, PushMethod::cgi}) {
    EXPECT_EQ(push_method_from_string(to_string(m)), m);
  }
  EXPECT_EQ(push_method_from_string("SIP"), PushMethod::sip_udp);
  EXPECT_EQ(push_method_from_string("tcp"), PushMethod::sip_tcp);
  EXPECT_EQ(push_method_from_string("xml"), PushMethod::cgi);
  EXPECT_FALSE(push_method_from_string("telnet").has_value());
  EXPECT_EQ(to_string(PushState::pending), "pending");
  EXPECT_EQ(to_string(PushState::running), "running");
  EXPECT_EQ(to_string(PushState::delivered), "delivered");
  EXPECT_EQ(to_string(PushState::failed), "failed");
}

// The phone's web server: Python's http.server on a socket the test already listens on,
// recording what it got and answering `status` with `body`.
constexpr const char* kCgiServer = R"PY(
import os, socket, sys, urllib.parse, http.server
import xml.etree.ElementTree as ET
status, body, record = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3]

class Phone(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode("ascii")
        form = urllib.parse.parse_qs(raw, keep_blank_values=True, strict_parsing=True)
        xml = form["XML"][0] if list(form) == ["XML"] and len(form["XML"]) == 1 else "NO SINGLE XML FIELD"
        try:
            root = ET.fromstring(xml)
            parsed = [root.tag, root.find("ExecuteItem").get("URL")]
        except Exception as e:
            parsed = ["PARSE ERROR", str(e)]
        lines = [self.command, self.path, self.headers.get("Content-Type", ""),
                 self.headers.get("Authorization", ""), parsed[0], parsed[1], raw, xml]
        with open(record + ".tmp", "w") as f:
            f.write("\n".join(lines))
        os.rename(record + ".tmp", record)
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass

server = http.server.HTTPServer(("127.0.0.1", 0), Phone, bind_and_activate=False)
server.socket.close()
server.socket = socket.socket(fileno=3)
server.serve_forever()
)PY";

struct CgiRecord {
  std::string method, path, content_type, authorization, root, url, raw, xml;
};

class ResyncPushCgi : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kPython, X_OK) != 0) GTEST_SKIP() << "python3 not installed";
    write_file(dir_.path() / "phone.py", kCgiServer);
  }

  // Starts the phone's web server; returns its base URL.
  std::string start_phone(int status, const std::string& body) {
    listener_ = std::make_unique<Socket>(SOCK_STREAM);
    EXPECT_EQ(::listen(listener_->fd(), 16), 0);
    server_ = Child::spawn({kPython, (dir_.path() / "phone.py").string(), std::to_string(status), body,
                            (dir_.path() / "record").string()},
                           dir_.path() / "phone.log", listener_->fd());
    EXPECT_NE(server_, nullptr);
    return "http://127.0.0.1:" + std::to_string(listener_->port());
  }

  std::optional<CgiRecord> record() const {
    fs::path file = dir_.path() / "record";
    if (!fs::exists(file)) return std::nullopt;
    std::istringstream in(read_file(file));
    CgiRecord r;
    std::getline(in, r.method);
    std::getline(in, r.path);
    std::getline(in, r.content_type);
    std::getline(in, r.authorization);
    std::getline(in, r.root);
    std::getline(in, r.url);
    std::getline(in, r.raw);
    std::getline(in, r.xml);
    return r;
  }

  std::string server_log() const { return read_file(dir_.path() / "phone.log"); }

  static PushTarget cgi_target(std::string base, std::string model, std::string rule) {
    PushTarget t;
    t.device = "00562b043615";
    t.method = PushMethod::cgi;
    t.host = std::move(base);
    t.model = std::move(model);
    t.profile_rule = std::move(rule);
    return t;
  }

  TempDir dir_;
  std::unique_ptr<Socket> listener_;
  std::unique_ptr<Child> server_;
};

TEST_F(ResyncPushCgi, PostsTheExecuteObjectWithBasicAuth) {
  std::string base = start_phone(200,
                                 "<CiscoIPPhoneResponse><ResponseItem Status=\"0\" Data=\"Success\" "
                                 "URL=\"Resync\"/></CiscoIPPhoneResponse>");
  ResyncPusher pusher(test_config());
  ASSERT_TRUE(pusher.start().ok());

  // A rule with everything that needs escaping: quotes, spaces, '&', '<', '>', '$'.
  const std::string rule = "[--key \"my secret\"] http://prov.example.com/cfg/$PN_$MA.xml?a=1&b=<2>";
  PushTarget t = cgi_target(base + "/", "CP-8841-3PCC", rule);
  t.cgi_user = "admin";
  t.cgi_password = "p@ss w0rd";
  PushJob job = run(pusher, {t});
  ASSERT_EQ(job.results.size(), 1u);
  EXPECT_EQ(job.results[0].state, PushState::delivered) << job.results[0].detail << "\n" << server_log();
  EXPECT_EQ(job.results[0].status, 200);
  EXPECT_EQ(job.results[0].detail, "200 OK");

  auto r = record();
  ASSERT_TRUE(r.has_value()) << server_log();
  EXPECT_EQ(r->method, "POST");
  EXPECT_EQ(r->path, "/CGI/Execute");
  EXPECT_EQ(r->content_type, "application/x-www-form-urlencoded");
  EXPECT_EQ(r->authorization, "Basic YWRtaW46cEBzcyB3MHJk");  // base64("admin:p@ss w0rd")
  // Python's XML parser reads the object back: root element from the model, the rule intact.
  EXPECT_EQ(r->root, "CP-8841-3PCCExecute");
  EXPECT_EQ(r->url, "Resync:" + rule);
  EXPECT_EQ(r->xml,
            "<CP-8841-3PCCExecute><ExecuteItem URL=\"Resync:[--key &quot;my secret&quot;] "
            "http://prov.example.com/cfg/$PN_$MA.xml?a=1&amp;b=&lt;2&gt;\"/></CP-8841-3PCCExecute>");
  EXPECT_EQ(
      r->raw.rfind("XML=%3CCP-8841-3PCCExecute%3E%3CExecuteItem+URL%3D%22Resync%3A%5B--key+%26quot%3B", 0),
      0u)
      << r->raw;
}

TEST_F(ResyncPushCgi, WithoutModelTheObjectIsCiscoIPPhoneExecute) {
  std::string base = start_phone(200, "");
  ResyncPusher pusher(test_config());
  ASSERT_TRUE(pusher.start().ok());
  PushJob job = run(pusher, {cgi_target(base.substr(7), "", "tftp://192.168.1.200/basic.txt")});  // no scheme
  ASSERT_EQ(job.results.size(), 1u);
  EXPECT_EQ(job.results[0].state, PushState::delivered) << job.results[0].detail;
  auto r = record();
  ASSERT_TRUE(r.has_value()) << server_log();
  EXPECT_EQ(r->root, "CiscoIPPhoneExecute");
  EXPECT_EQ(r->url, "Resync:tftp://192.168.1.200/basic.txt");
  EXPECT_EQ(r->authorization, "");  // no credentials configured, none sent
}

TEST_F(ResyncPushCgi, UnauthorizedFails) {
  std::string base = start_phone(401, "");
  ResyncPusher pusher(test_config());
  ASSERT_TRUE(pusher.start().ok());
  PushJob job = run(pusher, {cgi_target(base, "CP-7841-3PCC", "http://prov/$MA.cfg")});
  ASSERT_EQ(job.results.size(), 1u);
  EXPECT_EQ(job.results[0].state, PushState::failed);
  EXPECT_EQ(job.results[0].status, 401);
  EXPECT_EQ(job.results[0].detail, "401 Unauthorized");
}

TEST_F(ResyncPushCgi, PhoneRefusalInsideA200Fails) {
  std::string base = start_phone(200, "<CiscoIPPhoneError Number=\"4\" />");
  ResyncPusher pusher(test_config());
  ASSERT_TRUE(pusher.start().ok());
  PushJob job = run(pusher, {cgi_target(base, "CP-7841-3PCC", "http://prov/$MA.cfg")});
  ASSERT_EQ(job.results.size(), 1u);
  EXPECT_EQ(job.results[0].state, PushState::failed);
  EXPECT_EQ(job.results[0].status, 200);
  EXPECT_EQ(job.results[0].detail, "CiscoIPPhoneError 4 (authentication error)");
}

TEST_F(ResyncPushCgi, ConnectionRefusedAndNoAnswer) {
  Socket refused(SOCK_STREAM);  // bound, not listening
  Socket mute(SOCK_STREAM);     // accepts (the kernel does), never answers
  ASSERT_EQ(::listen(mute.fd(), 4), 0);
  ResyncPusher pusher(test_config(500ms));
  ASSERT_TRUE(pusher.start().ok());
  PushJob job =
      run(pusher, {cgi_target("http://127.0.0.1:" + std::to_string(refused.port()), "CP-8851-3PCC", "x"),
                   cgi_target("http://127.0.0.1:" + std::to_string(mute.port()), "CP-8851-3PCC", "x")});
  ASSERT_EQ(job.results.size(), 2u);
  EXPECT_EQ(job.results[0].state, PushState::failed);
  EXPECT_EQ(job.results[0].status, 0);
  EXPECT_TRUE(contains(job.results[0].detail, "onnect")) << job.results[0].detail;  // curl's own words
  EXPECT_EQ(job.results[1].state, PushState::failed);
  EXPECT_EQ(job.results[1].detail, "timeout after 500 ms");
}

TEST_F(ResyncPushCgi, ManyPhonesInOneJob) {
  std::string base = start_phone(200, "");
  ResyncPushConfig c = test_config();
  c.parallel = 3;
  ResyncPusher pusher(c);
  ASSERT_TRUE(pusher.start().ok());
  std::vector<PushTarget> targets;
  for (int i = 0; i < 10; ++i) {
    targets.push_back(cgi_target(base, "CP-8841-3PCC", "http://prov/" + std::to_string(i) + ".cfg"));
    targets.back().device = "00000000000" + std::to_string(i);
  }
  PushJob job = run(pusher, targets);
  ASSERT_EQ(job.results.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(job.results[i].state, PushState::delivered) << i << ": " << job.results[i].detail;
    EXPECT_EQ(job.results[i].target.device, "00000000000" + std::to_string(i));
  }
}

}  // namespace
}  // namespace ucedge::prov
