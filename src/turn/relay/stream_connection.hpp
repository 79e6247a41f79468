#pragma once
// A client's TCP or TLS connection to the STUN/TURN port (RFC 8656 §3.1):
// non-blocking reads and writes, the TLS handshake, and the buffers between
// them. Framing is the worker's job.
#include <openssl/ssl.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "turn/relay/allocation.hpp"
#include "turn/relay/endpoint.hpp"

namespace ucedge::turn {

class StreamConnection {
 public:
  enum class Io { progress, blocked, closed };

  StreamConnection(int fd, Endpoint client, Endpoint local, ClientTransport transport);
  ~StreamConnection();
  StreamConnection(const StreamConnection&) = delete;
  StreamConnection& operator=(const StreamConnection&) = delete;

  // Starts TLS on the connection (server side).
  bool start_tls(SSL_CTX* context, std::shared_ptr<void> context_owner);

  // Reads what is available into the input buffer. closed: peer closed or error.
  Io read();
  // Writes as much of the output buffer as the socket takes.
  Io write();
  bool handshaking() const { return handshaking_; }
  // TLS wants to write before it can read (or the other way round).
  bool wants_write() const { return !out_.empty() || tls_wants_write_; }

  std::vector<std::uint8_t>& input() { return in_; }
  std::vector<std::uint8_t>& output() { return out_; }
  std::size_t pending_output() const { return out_.size(); }

  int fd() const { return fd_; }
  const Endpoint& client() const { return client_; }
  const Endpoint& local() const { return local_; }
  ClientTransport transport() const { return transport_; }

  Handle handle{Handle::Kind::stream, this, 0};
  Allocation* allocation = nullptr;
  std::int64_t last_activity = 0;  // steady seconds
  bool writing_registered = false;
  bool reading = true;  // false while the peer side of a pipe is backed up
  bool dead = false;

  // RFC 6062 data connection: after ConnectionBind, bytes pass unframed
  // between this connection and a TCP peer.
  bool piped = false;
  int peer_fd = -1;
  Handle peer_handle{Handle::Kind::pipe_peer, this, 0};
  std::vector<std::uint8_t> to_peer;
  std::uint32_t peer_events = 0;  // what the peer socket is registered for
  std::shared_ptr<std::atomic<bool>> allocation_alive;
  std::shared_ptr<std::atomic<bool>> open;

 private:
  Io handshake();

  int fd_;
  Endpoint client_;
  Endpoint local_;
  ClientTransport transport_;
  SSL* ssl_ = nullptr;
  std::shared_ptr<void> context_owner_;
  bool handshaking_ = false;
  bool tls_wants_write_ = false;
  std::vector<std::uint8_t> in_;
  std::vector<std::uint8_t> out_;
};

}  // namespace ucedge::turn
