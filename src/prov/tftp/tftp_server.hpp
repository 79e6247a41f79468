#pragma once
// The TFTP server (RFC 1350, options RFC 2347/2348/2349). A request arrives on
// the well-known socket (one per IO thread, SO_REUSEPORT); each transfer then
// runs on its own ephemeral socket (its transfer ID) on that thread: lock-step
// DATA/ACK, retransmission with exponential backoff, a cap on concurrent
// transfers. What is served and where uploads go is the handler's business.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "core/io_pool.hpp"
#include "core/metrics.hpp"
#include "core/result.hpp"
#include "prov/codec/tftp_packet.hpp"

namespace ucedge::prov::tftp {

struct ServerConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6969;                 // 0: ephemeral (tests)
  std::size_t max_transfers = 4096;          // concurrent, across threads
  std::chrono::milliseconds timeout{1000};   // first retransmission; doubles each time
  std::chrono::milliseconds max_timeout{8000};
  int max_retries = 5;                       // retransmissions of one packet before giving up
  std::uint16_t max_block_size = 65464;      // RFC 2348 upper bound
  std::size_t max_upload_bytes = 1 << 20;    // WRQ larger than this: disk full
};

struct TransferRequest {
  std::string file_name;       // as sent
  std::string remote_address;  // client IP, text form
  std::uint16_t remote_port = 0;
};

// What a read serves: bytes already in memory (a rendered profile), or a file
// streamed block by block (a firmware image).
struct Content {
  std::variant<std::shared_ptr<const std::string>, std::filesystem::path> source;
};

struct Refusal {
  ErrorCode code = ErrorCode::file_not_found;
  std::string message;
};

// Called on the IO thread that owns the transfer; must not block for long.
class Handler {
 public:
  virtual ~Handler() = default;
  virtual core::Result<Content, Refusal> read(const TransferRequest& request) = 0;
  // Called when a WRQ arrives, before anything is acknowledged: a refusal here
  // is sent at once, so a client never uploads data that would be thrown away.
  virtual std::optional<Refusal> may_write(const TransferRequest&) { return std::nullopt; }
  // A completed WRQ upload; only called once every block has arrived.
  virtual core::Result<void, Refusal> write(const TransferRequest& request, std::string data) = 0;
};

class Server {
 public:
  Server(core::IoPool& pool, ServerConfig config, Handler& handler, core::MetricsRegistry& metrics);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the well-known sockets; returns the port (the bound one when 0 was asked).
  core::Result<std::uint16_t> start();
  // Closes every socket; transfers in flight are abandoned.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ucedge::prov::tftp
