#pragma once
// Receives device syslog over UDP and hands each parsed message to a sink.
// Syslog from phones is a trickle, so one socket on one IO context is enough.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/metrics.hpp"
#include "core/result.hpp"
#include "prov/codec/syslog_message.hpp"

namespace boost::asio {
class io_context;
}

namespace ucedge::prov {

struct SyslogListenerConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 5514;  // 0: ephemeral (tests)
};

class SyslogListener {
 public:
  // Called on the listener's IO thread for every datagram that parses.
  using Sink = std::function<void(const SyslogMessage& message, const std::string& remote_address)>;

  SyslogListener(boost::asio::io_context& io, SyslogListenerConfig config, Sink sink,
                 core::MetricsRegistry& metrics);
  ~SyslogListener();
  SyslogListener(const SyslogListener&) = delete;
  SyslogListener& operator=(const SyslogListener&) = delete;

  core::Result<std::uint16_t> start();  // the bound port
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ucedge::prov
