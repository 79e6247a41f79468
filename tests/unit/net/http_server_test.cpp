// The server with handlers no production route has: one that throws, one that
// takes its time (to be in flight during a drain). Clients are plain sockets.
#include "net/http_server.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <thread>

#include "core/io_pool.hpp"
#include "core/metrics.hpp"
#include "net/router.hpp"

using namespace ucedge;
using namespace std::chrono_literals;

namespace {

int connect_to(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

// Sends `request` and reads until the server closes (or 5 s pass).
std::string round_trip(std::uint16_t port, const std::string& request) {
  int fd = connect_to(port);
  if (fd < 0) return "connect failed";
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return out;
}

// A server on an ephemeral loopback port, without access log, and the pool
// running. `port` is 0 when it did not start (the test is marked failed).
struct LoopbackServer {
  std::unique_ptr<net::HttpServer> server;
  std::uint16_t port = 0;
};

LoopbackServer start_on_loopback(core::IoPool& pool, net::Router& router, core::MetricsRegistry& metrics,
                                 net::HttpConfig config = {}) {
  config.listeners = {{"http", "127.0.0.1:0", false, ""}};
  config.access_log = false;
  LoopbackServer started{std::make_unique<net::HttpServer>(pool, config, router, nullptr, metrics)};
  auto bound = started.server->start();
  if (!bound.ok()) {
    ADD_FAILURE() << bound.error();
    return started;
  }
  started.port = bound->at(0).port;
  pool.start();
  return started;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void start(net::HttpConfig config = {}) {
    router_.get("/ok", [](net::Request&) { return net::Response::text(200, "fine"); });
    router_.get("/throw", [](net::Request&) -> net::Response { throw std::runtime_error("boom"); });
    router_.get("/throw-int", [](net::Request&) -> net::Response { throw 42; });
    router_.get("/slow", [](net::Request&) {
      std::this_thread::sleep_for(400ms);
      return net::Response::text(200, "slow but done");
    });
    auto started = start_on_loopback(pool_, router_, metrics_, config);
    server_ = std::move(started.server);
    port_ = started.port;
    ASSERT_NE(port_, 0);
  }

  void TearDown() override {
    if (server_) server_->shutdown(1s);
    pool_.stop();
  }

  core::IoPool pool_{2};
  core::MetricsRegistry metrics_;
  net::Router router_;
  std::unique_ptr<net::HttpServer> server_;
  std::uint16_t port_ = 0;
};

}  // namespace

TEST_F(HttpServerTest, AThrowingHandlerIsAnswered500AndTheServerGoesOn) {
  start();
  for (const char* path : {"/throw", "/throw-int"}) {
    std::string out = round_trip(port_, std::string("GET ") + path + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(out.rfind("HTTP/1.1 500 Internal Server Error\r\n", 0), 0u) << out;
    EXPECT_NE(out.find("application/problem+json"), std::string::npos);
  }
  std::string ok = round_trip(port_, "GET /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_NE(ok.find("\r\n\r\nfine"), std::string::npos) << ok;
}

TEST_F(HttpServerTest, DrainLetsARequestInFlightFinishWithConnectionClose) {
  start();
  auto in_flight = std::async(std::launch::async, [this] {
    return round_trip(port_, "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");  // keep-alive asked for
  });
  std::this_thread::sleep_for(100ms);  // the handler is running now
  auto started = std::chrono::steady_clock::now();
  server_->shutdown(5s);
  auto took = std::chrono::steady_clock::now() - started;
  std::string out = in_flight.get();
  EXPECT_EQ(out.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << out;
  EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("slow but done"), std::string::npos);
  EXPECT_LT(took, 2s);
  EXPECT_EQ(server_->open_connections(), 0u);
  EXPECT_EQ(connect_to(port_), -1);  // no longer accepting
  server_.reset();
}

TEST_F(HttpServerTest, ConnectionsOverTheLimitAreClosedAtOnce) {
  net::HttpConfig config;
  config.max_connections = 2;
  start(config);
  int a = connect_to(port_);
  int b = connect_to(port_);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(server_->open_connections(), 2u);
  std::string refused = round_trip(port_, "GET /ok HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_EQ(refused, "");  // closed without an answer
  ::close(a);
  std::this_thread::sleep_for(100ms);
  std::string ok = round_trip(port_, "GET /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(ok.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << ok;
  ::close(b);
  EXPECT_NE(metrics_.render().find("ucedge_http_connections_refused_total{listener=\"http\"} 1"), std::string::npos);
}

TEST_F(HttpServerTest, PortInUseIsAClearStartError) {
  start();
  core::IoPool other_pool(1);
  net::HttpConfig config;
  config.listeners = {{"http", "127.0.0.1:" + std::to_string(port_), false, ""}};
  // SO_REUSEPORT would let a second server share the port if both set it, so
  // bind a plain socket that does not, and try that port.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::listen(fd, 1);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  config.listeners[0].address = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  net::HttpServer second(other_pool, config, router_, nullptr, metrics_);
  auto bound = second.start();
  ASSERT_FALSE(bound.ok());
  EXPECT_NE(bound.error().find("cannot listen on 127.0.0.1:"), std::string::npos) << bound.error();
  ::close(fd);
}

// Handlers routed to workers: a slow one holds up neither its event loop
// (here the only one) nor the other slow ones.
TEST(HttpServerWorkers, ASlowWorkerHandlerHoldsUpNeitherTheEventLoopNorTheOthers) {
  core::IoPool pool(1);
  core::MetricsRegistry metrics;
  net::Router router;
  router.get("/ok", [](net::Request&) { return net::Response::text(200, "fine"); });
  router.get(
      "/slow",
      [](net::Request&) {
        std::this_thread::sleep_for(600ms);
        return net::Response::text(200, "slow but done");
      },
      net::Runs::on_worker);
  router.get(
      "/throw", [](net::Request&) -> net::Response { throw std::runtime_error("boom"); }, net::Runs::on_worker);
  net::HttpConfig config;
  config.worker_threads = 4;
  auto started = start_on_loopback(pool, router, metrics, config);
  const std::uint16_t port = started.port;
  ASSERT_NE(port, 0);

  const auto began = std::chrono::steady_clock::now();
  std::vector<std::future<std::string>> slow;
  for (int i = 0; i < 3; ++i) {
    slow.push_back(std::async(std::launch::async, [port] {
      return round_trip(port, "GET /slow HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    }));
  }
  std::this_thread::sleep_for(100ms);  // the slow handlers are running
  const auto asked = std::chrono::steady_clock::now();
  std::string ok = round_trip(port, "GET /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_LT(std::chrono::steady_clock::now() - asked, 300ms);
  EXPECT_NE(ok.find("\r\n\r\nfine"), std::string::npos) << ok;
  for (auto& f : slow) {
    std::string out = f.get();
    EXPECT_EQ(out.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << out;
    EXPECT_NE(out.find("slow but done"), std::string::npos) << out;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - began, 1500ms);  // side by side, not 3 x 600 ms

  std::string thrown = round_trip(port, "GET /throw HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(thrown.rfind("HTTP/1.1 500 Internal Server Error\r\n", 0), 0u) << thrown;

  // A drain lets a worker's request in flight finish, with Connection: close.
  auto in_flight = std::async(std::launch::async, [port] {
    return round_trip(port, "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
  });
  std::this_thread::sleep_for(100ms);
  started.server->shutdown(5s);
  std::string out = in_flight.get();
  EXPECT_EQ(out.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << out;
  EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos) << out;
  pool.stop();
}

TEST(HttpServerWorkers, ZeroMeansSixteenPerCore) {
  net::HttpConfig config;
  EXPECT_EQ(net::worker_thread_count(config), net::kWorkerThreadsPerCore * std::max(1U, std::thread::hardware_concurrency()));
  config.worker_threads = 3;
  EXPECT_EQ(net::worker_thread_count(config), 3U);
}

// Deferred handlers answer through a Reply: later and from another thread,
// at once, computed on the connection's loop or on a worker; a Reply dropped
// unanswered is a 500. The event loop (the only one) stays free meanwhile.
TEST(HttpServerDeferred, AnswersComeFromAnyThreadAndNoneIsA500) {
  core::IoPool pool(1);
  core::MetricsRegistry metrics;
  net::Router router;
  std::vector<std::thread> answerers;
  std::mutex answerers_mutex;
  router.get("/ok", [](net::Request&) { return net::Response::text(200, "fine"); });
  router.add_deferred(net::Method::get, "/later", [&](net::Request& request, net::Reply reply) {
    std::lock_guard lock(answerers_mutex);
    answerers.emplace_back([reply, path = request.path] {
      std::this_thread::sleep_for(400ms);
      reply.compute_on_connection([path] { return net::Response::text(200, "later " + path); });
    });
  });
  router.add_deferred(net::Method::get, "/now", [](net::Request&, net::Reply reply) {
    reply.send(net::Response::text(200, "now"));
    reply.send(net::Response::text(500, "a second answer is ignored"));
  });
  router.add_deferred(net::Method::get, "/worker", [](net::Request&, net::Reply reply) {
    reply.compute_on_worker([] { return net::Response::text(200, "from a worker"); });
  });
  router.add_deferred(net::Method::get, "/dropped", [](net::Request&, net::Reply) {});
  router.add_deferred(net::Method::get, "/throws", [](net::Request&, net::Reply) { throw 42; });
  net::HttpConfig config;
  config.worker_threads = 2;
  auto started = start_on_loopback(pool, router, metrics, config);
  const std::uint16_t port = started.port;
  ASSERT_NE(port, 0);

  auto get = [port](const std::string& path) {
    return round_trip(port, "GET " + path + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  };
  auto later = std::async(std::launch::async, [&] { return get("/later"); });
  std::this_thread::sleep_for(100ms);
  const auto asked = std::chrono::steady_clock::now();
  EXPECT_NE(get("/ok").find("\r\n\r\nfine"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - asked, 300ms);  // not held up by /later
  const std::string later_out = later.get();
  EXPECT_EQ(later_out.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << later_out;
  EXPECT_NE(later_out.find("later /later"), std::string::npos) << later_out;

  std::string now = get("/now");
  EXPECT_EQ(now.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << now;
  EXPECT_NE(now.find("\r\n\r\nnow"), std::string::npos) << now;
  EXPECT_NE(get("/worker").find("from a worker"), std::string::npos);
  std::string dropped = get("/dropped");
  EXPECT_EQ(dropped.rfind("HTTP/1.1 500 Internal Server Error\r\n", 0), 0u) << dropped;
  std::string thrown = get("/throws");
  EXPECT_EQ(thrown.rfind("HTTP/1.1 500 Internal Server Error\r\n", 0), 0u) << thrown;

  // Keep-alive goes on after a deferred answer.
  std::string two = round_trip(port, "GET /now HTTP/1.1\r\nHost: t\r\n\r\nGET /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_NE(two.find("\r\n\r\nnow"), std::string::npos) << two;
  EXPECT_NE(two.find("\r\n\r\nfine"), std::string::npos) << two;

  started.server->shutdown(2s);
  pool.stop();
  for (auto& t : answerers) t.join();
}
