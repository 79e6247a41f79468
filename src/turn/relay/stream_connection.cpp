#include "turn/relay/stream_connection.hpp"

#include <openssl/err.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>

namespace ucedge::turn {

namespace {
constexpr std::size_t kReadChunk = 16384;
// Enough for the largest frame (a 64 KiB STUN message) plus what follows it.
constexpr std::size_t kMaxInput = 65536 + 20 + kReadChunk;
}  // namespace

StreamConnection::StreamConnection(int fd, Endpoint client, Endpoint local, ClientTransport transport)
    : fd_(fd), client_(client), local_(local), transport_(transport) {}

StreamConnection::~StreamConnection() {
  if (ssl_) SSL_free(ssl_);
  if (fd_ >= 0) ::close(fd_);
  if (peer_fd >= 0) ::close(peer_fd);
  if (open) open->store(false);
}

bool StreamConnection::start_tls(SSL_CTX* context, std::shared_ptr<void> owner) {
  ssl_ = SSL_new(context);
  if (!ssl_) return false;
  context_owner_ = std::move(owner);
  SSL_set_fd(ssl_, fd_);
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_set_accept_state(ssl_);
  handshaking_ = true;
  return true;
}

StreamConnection::Io StreamConnection::handshake() {
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    handshaking_ = false;
    tls_wants_write_ = false;
    return Io::progress;
  }
  switch (SSL_get_error(ssl_, r)) {
    case SSL_ERROR_WANT_READ: tls_wants_write_ = false; return Io::blocked;
    case SSL_ERROR_WANT_WRITE: tls_wants_write_ = true; return Io::blocked;
    default: return Io::closed;
  }
}

StreamConnection::Io StreamConnection::read() {
  if (handshaking_) {
    Io h = handshake();
    if (h != Io::progress) return h;
  }
  // Read into the thread's scratch buffer and keep only what arrived: an idle
  // or slow connection costs what it sent, not a whole chunk.
  thread_local std::array<std::uint8_t, kReadChunk> scratch;
  bool progressed = false;
  while (in_.size() < kMaxInput) {
    long n;
    if (ssl_) {
      ERR_clear_error();
      n = SSL_read(ssl_, scratch.data(), static_cast<int>(scratch.size()));
      if (n <= 0) {
        int e = SSL_get_error(ssl_, static_cast<int>(n));
        if (e == SSL_ERROR_WANT_READ) return progressed ? Io::progress : Io::blocked;
        if (e == SSL_ERROR_WANT_WRITE) {
          tls_wants_write_ = true;
          return progressed ? Io::progress : Io::blocked;
        }
        return Io::closed;
      }
    } else {
      n = ::recv(fd_, scratch.data(), scratch.size(), 0);
      if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return progressed ? Io::progress : Io::blocked;
        if (n < 0 && errno == EINTR) continue;
        return Io::closed;
      }
    }
    in_.insert(in_.end(), scratch.data(), scratch.data() + n);
    progressed = true;
    if (static_cast<std::size_t>(n) < scratch.size() && !ssl_) break;
  }
  return Io::progress;
}

StreamConnection::Io StreamConnection::write() {
  if (handshaking_) {
    Io h = handshake();
    if (h != Io::progress) return h;
  }
  tls_wants_write_ = false;
  std::size_t sent = 0;
  while (sent < out_.size()) {
    long n;
    if (ssl_) {
      ERR_clear_error();
      n = SSL_write(ssl_, out_.data() + sent, static_cast<int>(out_.size() - sent));
      if (n <= 0) {
        int e = SSL_get_error(ssl_, static_cast<int>(n));
        if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) break;
        return Io::closed;
      }
    } else {
      n = ::send(fd_, out_.data() + sent, out_.size() - sent, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        if (errno == EINTR) continue;
        return Io::closed;
      }
    }
    sent += static_cast<std::size_t>(n);
  }
  out_.erase(out_.begin(), out_.begin() + static_cast<long>(sent));
  return out_.empty() ? Io::progress : Io::blocked;
}

}  // namespace ucedge::turn
