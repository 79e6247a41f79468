#include "prov/syslog/syslog_listener.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <mutex>
#include <string_view>
#include <vector>

#include "core/log.hpp"
#include "core/log_budget.hpp"

namespace ucedge::prov {

namespace asio = boost::asio;
using udp = asio::ip::udp;
using error_code = boost::system::error_code;

namespace {

// The largest UDP payload fits; a datagram is never split across reads.
constexpr std::size_t kBufferBytes = 64 * 1024;

}  // namespace

// Shared with the pending receive, so a handler that runs after the listener
// is gone (the IO context outlives it) still finds its socket.
struct SyslogListenerState : std::enable_shared_from_this<SyslogListenerState> {
  SyslogListenerState(asio::io_context& io, SyslogListenerConfig c, SyslogListener::Sink s,
                      core::MetricsRegistry& metrics)
      : io(io), config(std::move(c)), sink(std::move(s)), socket(io), buffer(kBufferBytes) {
    constexpr const char* name = "ucedge_prov_syslog_messages_total";
    constexpr const char* help = "Device syslog datagrams received, by whether they parsed.";
    parsed = &metrics.counter(name, help, R"(result="parsed")");
    rejected = &metrics.counter(name, help, R"(result="rejected")");
  }

  void receive() {
    socket.async_receive_from(asio::buffer(buffer), remote,
                              [self = shared_from_this()](const error_code& ec, std::size_t n) {
                                self->received(ec, n);
                              });
  }

  void received(const error_code& ec, std::size_t n) {
    if (ec == asio::error::operation_aborted || !socket.is_open()) return;
    if (ec) {
      if (auto dropped = errors_budget.take()) {
        log->warn("syslog receive failed: {}{}", ec.message(),
                  *dropped ? fmt::format(" ({} more not logged)", *dropped) : std::string());
      }
    } else {
      deliver(std::string_view(buffer.data(), n));
    }
    receive();
  }

  void deliver(std::string_view datagram) {
    auto message = parse_syslog(datagram);
    if (!message) {
      rejected->inc();
      if (auto dropped = rejected_budget.take()) {
        log->warn("syslog datagram from {} refused: {}{}", remote.address().to_string(),
                  to_string(message.error()),
                  *dropped ? fmt::format(" ({} more not logged)", *dropped) : std::string());
      }
      return;
    }
    parsed->inc();
    // Held while the sink runs: once stop() has returned the sink is not called again.
    std::lock_guard lock(sink_mutex);
    if (stopped) return;
    try {
      sink(*message, remote.address().to_string());
    } catch (const std::exception& e) {
      log->error("syslog sink failed: {}", e.what());
    } catch (...) {
      log->error("syslog sink failed");
    }
  }

  void close() {
    error_code ignored;
    socket.close(ignored);
  }

  asio::io_context& io;
  SyslogListenerConfig config;
  SyslogListener::Sink sink;
  udp::socket socket;
  udp::endpoint remote;
  std::vector<char> buffer;
  core::Counter* parsed;
  core::Counter* rejected;
  std::shared_ptr<spdlog::logger> log = core::logger("prov");
  core::LogBudget rejected_budget{10, std::chrono::seconds(60)};
  core::LogBudget errors_budget{10, std::chrono::seconds(60)};
  // Recursive: a sink may stop the listener from inside the call.
  std::recursive_mutex sink_mutex;
  bool stopped = false;
  bool started = false;
};

struct SyslogListener::Impl {
  std::shared_ptr<SyslogListenerState> state;
};

SyslogListener::SyslogListener(asio::io_context& io, SyslogListenerConfig config, Sink sink,
                               core::MetricsRegistry& metrics)
    : impl_(std::make_unique<Impl>()) {
  impl_->state = std::make_shared<SyslogListenerState>(io, std::move(config), std::move(sink), metrics);
}

SyslogListener::~SyslogListener() { stop(); }

core::Result<std::uint16_t> SyslogListener::start() {
  auto& s = *impl_->state;
  {
    std::lock_guard lock(s.sink_mutex);
    if (s.started || s.stopped) return core::fail(std::string("syslog listener already started"));
  }
  error_code ec;
  auto address = asio::ip::make_address(s.config.host, ec);
  if (ec) return core::fail("syslog: \"" + s.config.host + "\" is not an IP address");
  udp::endpoint endpoint(address, s.config.port);
  const std::string where = endpoint.address().to_string() + ":" + std::to_string(s.config.port);
  if (s.socket.open(endpoint.protocol(), ec); ec) {
    return core::fail("syslog: cannot open a socket for " + where + ": " + ec.message());
  }
  if (s.socket.bind(endpoint, ec); ec) {
    s.close();
    return core::fail("syslog: cannot bind " + where + ": " + ec.message());
  }
  auto local = s.socket.local_endpoint(ec);
  if (ec) {
    s.close();
    return core::fail("syslog: " + ec.message());
  }
  s.started = true;
  s.receive();
  s.log->info("syslog listening on udp {}:{}", local.address().to_string(), local.port());
  return local.port();
}

void SyslogListener::stop() {
  auto state = impl_->state;
  {
    std::lock_guard lock(state->sink_mutex);
    if (state->stopped) return;
    state->stopped = true;
  }
  if (!state->started) return;
  // The socket belongs to the IO thread: close it there. The pending receive
  // then ends with operation_aborted, and the sink is not called meanwhile.
  if (state->io.get_executor().running_in_this_thread()) {
    state->close();
  } else {
    asio::post(state->io, [state] { state->close(); });
  }
}

}  // namespace ucedge::prov
