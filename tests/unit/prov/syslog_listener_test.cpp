// The syslog listener on an ephemeral port, fed by util-linux `logger`.
#include "prov/syslog/syslog_listener.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

using namespace ucedge;
using namespace std::chrono_literals;

namespace {

struct Received {
  prov::SyslogMessage message;
  std::string remote;
};

class SyslogListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    listener_ = std::make_unique<prov::SyslogListener>(
        io_, prov::SyslogListenerConfig{"127.0.0.1", 0},
        [this](const prov::SyslogMessage& m, const std::string& remote) {
          std::lock_guard lock(mutex_);
          received_.push_back({m, remote});
          cv_.notify_all();
        },
        metrics_);
    auto port = listener_->start();
    ASSERT_TRUE(port.ok()) << port.error();
    port_ = *port;
    ASSERT_NE(port_, 0);
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    listener_.reset();
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  // Waits for the n-th message; the listener answers at once, 5 s is a failure.
  bool wait_for(std::size_t n) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, 5s, [&] { return received_.size() >= n; });
  }

  void send_raw(const std::string& datagram) {
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::sendto(fd, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::close(fd);
  }

  int logger(const std::string& options, const std::string& message) {
    std::string command =
        "logger " + options + " -d -n 127.0.0.1 -P " + std::to_string(port_) + " -- '" + message + "'";
    return std::system(command.c_str());
  }

  std::string metric(const std::string& result) {
    std::string text = metrics_.render();
    std::string key = "ucedge_prov_syslog_messages_total{result=\"" + result + "\"} ";
    std::size_t at = text.find(key);
    if (at == std::string::npos) return "missing";
    return text.substr(at + key.size(), text.find('\n', at) - at - key.size());
  }

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{io_.get_executor()};
  core::MetricsRegistry metrics_;
  std::unique_ptr<prov::SyslogListener> listener_;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Received> received_;
};

TEST_F(SyslogListenerTest, ResyncRequestFromLoggerReachesTheSink) {
  ASSERT_EQ(logger("--rfc3164 -t phone -p local0.info",
                   "CP-78xx-3PCC 00:0e:08:ab:cd:ef -- Requesting resync tftp://192.168.1.200/basic.txt"),
            0);
  ASSERT_TRUE(wait_for(1));
  std::lock_guard lock(mutex_);
  const auto& r = received_[0];
  EXPECT_EQ(r.remote, "127.0.0.1");
  EXPECT_EQ(r.message.format, prov::SyslogMessage::Format::rfc3164);
  EXPECT_EQ(r.message.app_name, "phone");
  auto event = prov::recognize_resync(r.message.text);
  ASSERT_TRUE(event);
  EXPECT_EQ(event->kind, prov::ResyncEvent::Kind::request);
  EXPECT_EQ(event->product, "CP-78xx-3PCC");
  EXPECT_EQ(event->mac, "000e08abcdef");
  EXPECT_EQ(event->url, "tftp://192.168.1.200/basic.txt");
}

TEST_F(SyslogListenerTest, SeveralMessagesInOrderAndCounted) {
  ASSERT_EQ(logger("--rfc5424 -t phone", "CP-88xx-3PCC 00:0e:08:ab:cd:ef -- Successful resync tftp://h/basic.txt"), 0);
  ASSERT_EQ(logger("--rfc3164 -t phone", "CP-7841-3PCC 00:0e:08:ab:cd:ef Resync failed: file not found"), 0);
  ASSERT_TRUE(wait_for(2));
  // Refused: a bad PRI. Then one more good one, so we know the bad one was seen.
  send_raw("<999>nonsense");
  send_raw("<134>CP-7841-3PCC 000e08abcdef -- Requesting resync http://h/x.cfg");
  ASSERT_TRUE(wait_for(3));
  {
    std::lock_guard lock(mutex_);
    ASSERT_EQ(received_.size(), 3u);
    auto success = prov::recognize_resync(received_[0].message.text);
    ASSERT_TRUE(success);
    EXPECT_EQ(success->kind, prov::ResyncEvent::Kind::success);
    auto failure = prov::recognize_resync(received_[1].message.text);
    ASSERT_TRUE(failure);
    EXPECT_EQ(failure->error, "file not found");
    EXPECT_EQ(received_[2].message.format, prov::SyslogMessage::Format::bare);
  }
  EXPECT_EQ(metric("parsed"), "3");
  EXPECT_EQ(metric("rejected"), "1");
}

TEST_F(SyslogListenerTest, LargestDatagramArrivesWhole) {
  std::string text(65000, 'x');
  send_raw("<13>" + text);
  ASSERT_TRUE(wait_for(1));
  std::lock_guard lock(mutex_);
  EXPECT_EQ(received_[0].message.text, text);
}

TEST_F(SyslogListenerTest, NothingReachesTheSinkAfterStop) {
  send_raw("<13>before");
  ASSERT_TRUE(wait_for(1));
  listener_->stop();
  send_raw("<13>after");
  // Whatever the IO thread had queued has run once a later no-op has.
  std::promise<void> flushed;
  boost::asio::post(io_, [&] { flushed.set_value(); });
  ASSERT_EQ(flushed.get_future().wait_for(5s), std::future_status::ready);
  std::lock_guard lock(mutex_);
  EXPECT_EQ(received_.size(), 1u);
}

TEST(SyslogListenerStart, BadAddressAndPortInUse) {
  boost::asio::io_context io;
  core::MetricsRegistry metrics;
  auto sink = [](const prov::SyslogMessage&, const std::string&) {};
  prov::SyslogListener bad(io, {"not-an-address", 0}, sink, metrics);
  auto r = bad.start();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("not-an-address"), std::string::npos) << r.error();

  prov::SyslogListener first(io, {"127.0.0.1", 0}, sink, metrics);
  auto port = first.start();
  ASSERT_TRUE(port.ok()) << port.error();
  prov::SyslogListener second(io, {"127.0.0.1", *port}, sink, metrics);
  auto taken = second.start();
  ASSERT_FALSE(taken.ok());
  EXPECT_NE(taken.error().find("cannot bind"), std::string::npos) << taken.error();
  EXPECT_FALSE(first.start().ok());
}

}  // namespace
