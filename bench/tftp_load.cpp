// ucedge-tftp-load: a TFTP download storm, as a fleet of phones rebooting at
// once makes one. N fetches of one file by C clients at a time; each fetch is
// a new UDP socket (a new client TID, as a phone's is), an RRQ, an ACK per
// DATA, lock-step (RFC 1350), with the received size checked against the one
// given. Lost packets are retransmitted after a timeout. Prints one JSON line:
// files/s, failures, retransmissions and latency percentiles.
//
//   ucedge-tftp-load --port 6969 --file profile.cfg --size 2048 [--total 10000]
//                    [--concurrency 64] [--threads 1] [--blksize 0] [--timeout-ms 1000]
//                    [--retries 5] [--host 127.0.0.1] [--label NAME]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string file;
  long long size = -1;
  long long total = 10000;
  int concurrency = 64;
  int threads = 1;
  int blksize = 0;  // 0: no options, plain RFC 1350 with 512-byte blocks
  int timeout_ms = 1000;
  int retries = 5;
  std::string label;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "ucedge-tftp-load: %s\n", why);
  std::fprintf(
      stderr,
      "usage: ucedge-tftp-load --port P --file NAME --size BYTES [--total N] [--concurrency C]\n"
      "       [--threads T] [--blksize B] [--timeout-ms MS] [--retries R] [--host ADDR] [--label NAME]\n");
  std::exit(2);
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage("missing value");
      return argv[++i];
    };
    if (a == "--host") {
      o.host = value();
    } else if (a == "--port") {
      o.port = std::atoi(value());
    } else if (a == "--file") {
      o.file = value();
    } else if (a == "--size") {
      o.size = std::atoll(value());
    } else if (a == "--total") {
      o.total = std::atoll(value());
    } else if (a == "--concurrency") {
      o.concurrency = std::atoi(value());
    } else if (a == "--threads") {
      o.threads = std::atoi(value());
    } else if (a == "--blksize") {
      o.blksize = std::atoi(value());
    } else if (a == "--timeout-ms") {
      o.timeout_ms = std::atoi(value());
    } else if (a == "--retries") {
      o.retries = std::atoi(value());
    } else if (a == "--label") {
      o.label = value();
    } else {
      usage("unknown argument");
    }
  }
  if (o.port <= 0 || o.port > 65535) usage("--port is required");
  if (o.file.empty()) usage("--file is required");
  if (o.size < 0) usage("--size is required");
  if (o.total < 1 || o.concurrency < 1 || o.threads < 1)
    usage("--total, --concurrency, --threads must be >= 1");
  if (o.blksize != 0 && (o.blksize < 8 || o.blksize > 65464)) usage("--blksize must be 8..65464");
  o.threads = std::min(o.threads, o.concurrency);
  return o;
}

std::uint16_t get16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }

// Totals of one thread, summed at the end.
struct Tally {
  long long ok = 0;
  long long failures = 0;
  long long retransmits = 0;
  long long bytes = 0;
  std::vector<std::uint32_t> latency_us;
};

// One simulated phone fetching the file again and again.
struct Client {
  int fd = -1;
  std::uint16_t server_port = 0;  // the transfer's TID, known from the first answer
  std::uint64_t next_block = 1;
  long long received = 0;
  int block_size = 512;
  int retries = 0;
  Clock::time_point started, deadline;
  std::uint8_t last[4] = {0, 0, 0, 0};  // the last ACK sent
  bool acked_anything = false;
};

class Worker {
 public:
  Worker(const Options& o, sockaddr_in server, std::atomic<long long>& remaining)
      : o_(o), server_(server), remaining_(remaining) {
    // RFC 1350 §5: | 01 | file | 0 | "octet" | 0 | and RFC 2348's blksize when asked.
    std::string r("\0\1", 2);
    r += o.file;
    r.push_back('\0');
    r += "octet";
    r.push_back('\0');
    if (o.blksize != 0) {
      r += "blksize";
      r.push_back('\0');
      r += std::to_string(o.blksize);
      r.push_back('\0');
    }
    rrq_.assign(r.begin(), r.end());
    buf_.resize(70000);
  }

  void run(int clients) {
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    clients_.resize(static_cast<std::size_t>(clients));
    for (std::size_t i = 0; i < clients_.size(); ++i) begin(i);
    std::vector<epoll_event> events(clients_.size() + 1);
    while (active_ > 0) {
      int n = epoll_wait(epfd_, events.data(), static_cast<int>(events.size()), 5);
      for (int e = 0; e < n; ++e) on_readable(events[static_cast<std::size_t>(e)].data.u32);
      check_timeouts();
    }
    ::close(epfd_);
  }

  Tally tally;

 private:
  bool take_one() {
    long long left = remaining_.fetch_sub(1, std::memory_order_relaxed);
    if (left > 0) return true;
    remaining_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }

  // A fresh socket (a new TID) and an RRQ, or nothing when all fetches are out.
  void begin(std::size_t i) {
    Client& c = clients_[i];
    if (!take_one()) return;
    c = Client{};
    c.fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
      std::perror("socket");
      std::exit(1);
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<std::uint32_t>(i);
    epoll_ctl(epfd_, EPOLL_CTL_ADD, c.fd, &ev);
    c.started = Clock::now();
    ++active_;
    send_rrq(c);
  }

  void send_rrq(Client& c) {
    ::sendto(c.fd, rrq_.data(), rrq_.size(), 0, reinterpret_cast<const sockaddr*>(&server_), sizeof server_);
    c.deadline = Clock::now() + std::chrono::milliseconds(o_.timeout_ms);
  }

  void send_ack(Client& c, std::uint16_t block) {
    c.last[0] = 0;
    c.last[1] = 4;
    c.last[2] = static_cast<std::uint8_t>(block >> 8);
    c.last[3] = static_cast<std::uint8_t>(block & 0xff);
    c.acked_anything = true;
    resend(c);
  }

  void resend(Client& c) {
    if (!c.acked_anything) {
      send_rrq(c);
      return;
    }
    sockaddr_in to = server_;
    to.sin_port = htons(c.server_port);
    ::sendto(c.fd, c.last, 4, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
    c.deadline = Clock::now() + std::chrono::milliseconds(o_.timeout_ms);
  }

  void end(std::size_t i, bool ok) {
    Client& c = clients_[i];
    if (ok) {
      ++tally.ok;
      tally.bytes += c.received;
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - c.started).count();
      tally.latency_us.push_back(static_cast<std::uint32_t>(std::min<long long>(us, UINT32_MAX)));
    } else {
      ++tally.failures;
    }
    ::close(c.fd);  // also leaves the epoll set
    c.fd = -1;
    --active_;
    begin(i);
  }

  void on_readable(std::uint32_t index) {
    const std::size_t i = index;
    for (;;) {
      Client& c = clients_[i];
      if (c.fd < 0) return;
      sockaddr_in from{};
      socklen_t len = sizeof from;
      ssize_t n = ::recvfrom(c.fd, buf_.data(), buf_.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        end(i, false);
        return;
      }
      if (n < 4) continue;
      const std::uint16_t port = ntohs(from.sin_port);
      if (c.server_port == 0) c.server_port = port;
      if (port != c.server_port) continue;  // another TID: not ours (RFC 1350 §4)
      const std::uint16_t opcode = get16(buf_.data());
      const std::uint16_t block = get16(buf_.data() + 2);
      if (opcode == 5) {
        end(i, false);
        return;
      }
      if (opcode == 6) {  // OACK: take the block size, answer ACK 0
        c.block_size = 512;
        std::string_view body(reinterpret_cast<const char*>(buf_.data() + 2),
                              static_cast<std::size_t>(n) - 2);
        auto pos = body.find("blksize");
        if (pos != std::string_view::npos && pos + 8 < body.size())
          c.block_size = std::atoi(body.data() + pos + 8);
        if (c.next_block == 1) send_ack(c, 0);
        continue;
      }
      if (opcode != 3) continue;
      if (block == static_cast<std::uint16_t>(c.next_block)) {
        const long long payload = n - 4;
        c.received += payload;
        c.retries = 0;
        send_ack(c, block);
        ++c.next_block;
        if (payload < c.block_size) {
          end(i, c.received == o_.size);
          return;
        }
      } else if (block == static_cast<std::uint16_t>(c.next_block - 1)) {
        resend(c);  // our ACK was lost: the server sent the block again
      }
    }
  }

  void check_timeouts() {
    const auto now = Clock::now();
    for (std::size_t i = 0; i < clients_.size(); ++i) {
      Client& c = clients_[i];
      if (c.fd < 0 || now < c.deadline) continue;
      if (++c.retries > o_.retries) {
        end(i, false);
        continue;
      }
      ++tally.retransmits;
      resend(c);
    }
  }

  const Options& o_;
  sockaddr_in server_;
  std::atomic<long long>& remaining_;
  std::vector<Client> clients_;
  std::vector<std::uint8_t> rrq_;
  std::vector<std::uint8_t> buf_;
  int epfd_ = -1;
  int active_ = 0;
};

double percentile(const std::vector<std::uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  std::size_t i = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)] / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_args(argc, argv);
  sockaddr_in server{};
  server.sin_family = AF_INET;
  server.sin_port = htons(static_cast<std::uint16_t>(o.port));
  if (inet_pton(AF_INET, o.host.c_str(), &server.sin_addr) != 1) usage("--host must be an IPv4 address");

  std::atomic<long long> remaining{o.total};
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<std::thread> threads;
  const auto t0 = Clock::now();
  for (int t = 0; t < o.threads; ++t) {
    int share = o.concurrency / o.threads + (t < o.concurrency % o.threads ? 1 : 0);
    workers.push_back(std::make_unique<Worker>(o, server, remaining));
    threads.emplace_back([w = workers.back().get(), share] { w->run(share); });
  }
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();

  Tally all;
  for (auto& w : workers) {
    all.ok += w->tally.ok;
    all.failures += w->tally.failures;
    all.retransmits += w->tally.retransmits;
    all.bytes += w->tally.bytes;
    all.latency_us.insert(all.latency_us.end(), w->tally.latency_us.begin(), w->tally.latency_us.end());
  }
  std::sort(all.latency_us.begin(), all.latency_us.end());
  std::printf(
      "{\"label\":\"%s\",\"file\":\"%s\",\"size\":%lld,\"total\":%lld,\"concurrency\":%d,\"threads\":%d,"
      "\"ok\":%lld,\"failures\":%lld,\"retransmits\":%lld,\"seconds\":%.3f,\"files_per_s\":%.1f,"
      "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f}\n",
      o.label.c_str(), o.file.c_str(), o.size, o.total, o.concurrency, o.threads, all.ok, all.failures,
      all.retransmits, seconds, static_cast<double>(all.ok) / seconds, percentile(all.latency_us, 0.50),
      percentile(all.latency_us, 0.99), all.latency_us.empty() ? 0.0 : all.latency_us.back() / 1000.0);
  return all.failures == 0 ? 0 : 1;
}
