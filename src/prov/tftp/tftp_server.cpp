#include "prov/tftp/tftp_server.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <shared_mutex>
#include <unordered_map>
#include <vector>

#include "core/log.hpp"
#include "core/log_budget.hpp"

namespace ucedge::prov::tftp {

namespace asio = boost::asio;
using udp = asio::ip::udp;
using error_code = boost::system::error_code;
using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

constexpr std::uint16_t kDefaultBlockSize = 512;  // RFC 1350 §2
constexpr std::uint16_t kMinBlockSize = 8;        // RFC 2348
constexpr std::uint16_t kMaxBlockSize = 65464;    // RFC 2348
constexpr std::size_t kDatagramMax = 65536;
// What a transfer that only sends DATA expects back: ACKs, or an ERROR whose
// message may be long; a longer ERROR is recognised by its opcode alone.
constexpr std::size_t kAckBufferSize = 1024;
// Datagrams read from a well-known socket per wake-up before the others get a turn.
constexpr int kRequestBatch = 64;

enum class Direction { read = 0, write = 1 };
enum class Outcome { ok = 0, refused = 1, timeout = 2, error = 3 };

constexpr std::string_view direction_name(Direction d) { return d == Direction::read ? "read" : "write"; }
constexpr std::string_view outcome_name(Outcome o) {
  switch (o) {
    case Outcome::ok: return "ok";
    case Outcome::refused: return "refused";
    case Outcome::timeout: return "timeout";
    case Outcome::error: return "error";
  }
  return "error";
}

// A client's transfer ID (RFC 1350 §4): its address and port. IPv4 is kept
// in its v4-mapped IPv6 form so one key type serves both families.
struct PeerKey {
  std::array<unsigned char, 16> address{};
  std::uint16_t port = 0;
  bool operator==(const PeerKey&) const = default;
};

struct PeerKeyHash {
  std::size_t operator()(const PeerKey& k) const {
    std::uint64_t h = 1469598103934665603ULL;  // FNV-1a
    for (unsigned char b : k.address) h = (h ^ b) * 1099511628211ULL;
    h = (h ^ (k.port & 0xff)) * 1099511628211ULL;
    h = (h ^ (k.port >> 8)) * 1099511628211ULL;
    return static_cast<std::size_t>(h);
  }
};

PeerKey key_of(const udp::endpoint& e) {
  PeerKey k;
  const auto a = e.address();
  k.address =
      a.is_v4() ? asio::ip::make_address_v6(asio::ip::v4_mapped, a.to_v4()).to_bytes() : a.to_v6().to_bytes();
  k.port = e.port();
  return k;
}

bool parse_number(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

// pread until `n` bytes or the end of the file; -1 on an error.
ssize_t read_at(int fd, std::uint8_t* out, std::size_t n, std::uint64_t offset) {
  std::size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, out + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) break;
    done += static_cast<std::size_t>(r);
  }
  return static_cast<ssize_t>(done);
}

// RFC 1350 §1 / RFC 764: netascii ends lines with CR LF, and a bare CR is sent as CR NUL.
std::uint64_t netascii_size(std::string_view s) {
  std::uint64_t n = s.size();
  for (char c : s) n += (c == '\n' || c == '\r');
  return n;
}

struct Metrics {
  std::array<std::array<core::Counter*, 4>, 2> transfers{};
  core::Gauge* active = nullptr;
  core::Counter* bytes_sent = nullptr;
  core::Counter* bad_packets = nullptr;

  explicit Metrics(core::MetricsRegistry& r) {
    for (auto d : {Direction::read, Direction::write}) {
      for (auto o : {Outcome::ok, Outcome::refused, Outcome::timeout, Outcome::error}) {
        transfers[static_cast<int>(d)][static_cast<int>(o)] =
            &r.counter("ucedge_prov_tftp_transfers_total", "TFTP transfers by direction and result.",
                       fmt::format(R"(direction="{}",result="{}")", direction_name(d), outcome_name(o)));
      }
    }
    active = &r.gauge("ucedge_prov_tftp_active_transfers", "TFTP transfers in progress.");
    bytes_sent = &r.counter("ucedge_prov_tftp_bytes_sent_total",
                            "Payload bytes of TFTP DATA packets sent, retransmissions included.");
    bad_packets = &r.counter("ucedge_prov_tftp_bad_packets_total",
                             "Datagrams on the well-known TFTP port that were not a valid request.");
  }

  void count(Direction d, Outcome o) { transfers[static_cast<int>(d)][static_cast<int>(o)]->inc(); }
};

// Options of a request the server takes up, RFC 2347 §3: only the ones it
// understands and accepts are echoed in the OACK.
struct Negotiation {
  std::uint16_t block_size = kDefaultBlockSize;
  milliseconds timeout{};              // base of the retransmission timer
  std::optional<std::uint64_t> tsize;  // WRQ: the size the client announced
  std::vector<Option> accepted;
};

// What an RRQ sends: a slice of a string in memory, or a file read block by block.
struct Source {
  std::shared_ptr<const std::string> memory;
  int fd = -1;
  std::uint64_t size = 0;
  bool netascii = false;
};

}  // namespace

class Transfer;

// Everything the threads share; never touches an io_context.
struct Shared {
  ServerConfig config;
  Handler* handler;
  Metrics metrics;
  asio::ip::address address;
  std::shared_ptr<spdlog::logger> log = core::logger("prov.tftp");
  core::LogBudget budget{20, std::chrono::seconds(10)};
  std::atomic<std::size_t> active{0};
  // Handler calls hold it shared; stop() takes it exclusively to set
  // `stopped`, after which the handler is never called again.
  std::shared_mutex gate;
  bool stopped = false;

  Shared(ServerConfig c, Handler& h, core::MetricsRegistry& m)
      : config(std::move(c)), handler(&h), metrics(m) {
    config.max_block_size = std::clamp(config.max_block_size, kMinBlockSize, kMaxBlockSize);
    if (config.timeout <= milliseconds(0)) config.timeout = milliseconds(1000);
    config.max_timeout = std::max(config.max_timeout, config.timeout);
  }

  // A log line traffic can trigger: only when the level is on, and within the budget.
  template <class... Args>
  void note(spdlog::level::level_enum level, fmt::format_string<Args...> format, Args&&... args) {
    if (!log->should_log(level)) return;
    auto dropped = budget.take();
    if (!dropped) return;
    std::string line = fmt::format(format, std::forward<Args>(args)...);
    if (*dropped) line += fmt::format(" ({} more not logged)", *dropped);
    log->log(level, "{}", line);
  }
};

// One io_context's part of the server: its well-known socket and the
// transfers started from it, touched only from that context's thread.
struct Lane : std::enable_shared_from_this<Lane> {
  Lane(asio::io_context& c, std::shared_ptr<Shared> s)
      : ctx(c), shared(std::move(s)), socket(c), in(kDatagramMax) {}

  asio::io_context& ctx;
  std::shared_ptr<Shared> shared;
  udp::socket socket;
  std::vector<std::uint8_t> in;
  std::vector<std::uint8_t> out;
  udp::endpoint peer;
  // Transfers by client TID: a retransmitted request must not start a second
  // transfer. SO_REUSEPORT hashes on the 4-tuple, so a client always reaches
  // the same lane and this map needs no lock.
  std::unordered_map<PeerKey, Transfer*, PeerKeyHash> transfers;
  bool closed = false;

  void wait();
  void drain();
  void on_datagram(std::size_t n);
  void on_request(Request& request);
  void send_error(const udp::endpoint& to, ErrorCode code, std::string_view message);
  void close_all();
};

// One transfer on its own ephemeral socket (its TID, RFC 1350 §4). The socket
// is connect()ed to the client, so the kernel drops datagrams from any other
// TID instead of this code answering them with ERROR 5. It holds one slot of
// Shared::active from its creation to finish().
class Transfer final : public std::enable_shared_from_this<Transfer> {
 public:
  Transfer(std::shared_ptr<Lane> lane, udp::socket socket, PeerKey key, Direction direction,
           TransferRequest request, Negotiation n)
      : lane_(std::move(lane)),
        shared_(*lane_->shared),
        socket_(std::move(socket)),
        timer_(lane_->ctx),
        key_(key),
        direction_(direction),
        request_(std::move(request)),
        block_size_(n.block_size),
        base_timeout_(n.timeout),
        timeout_(n.timeout),
        max_timeout_(std::max(shared_.config.max_timeout, n.timeout)) {}

  ~Transfer() {
    if (source_.fd >= 0) ::close(source_.fd);
  }

  void start_read(Source source, const std::vector<Option>& accepted) {
    source_ = std::move(source);
    rx_.resize(kAckBufferSize);
    if (source_.fd >= 0 || source_.netascii) packet_.resize(block_size_);
    if (source_.netascii && source_.fd >= 0) staging_.resize(block_size_);
    receive();
    if (!accepted.empty()) {
      // RFC 2347 §3: the OACK stands for block 0; the client answers ACK 0.
      write_oack(ctl_, accepted);
      send_ctl();
    } else {
      block_ = 1;
      if (produce()) send_data();
    }
  }

  void start_write(const std::vector<Option>& accepted, std::optional<std::uint64_t> tsize, bool netascii) {
    source_.netascii = netascii;
    rx_.resize(4 + static_cast<std::size_t>(block_size_) + 1);  // one byte more shows an oversized block
    if (tsize)
      upload_.reserve(
          static_cast<std::size_t>(std::min<std::uint64_t>(*tsize, shared_.config.max_upload_bytes)));
    receive();
    block_ = 1;  // the next DATA expected
    // RFC 2347 §3: for a WRQ the OACK takes the place of ACK 0.
    if (!accepted.empty()) {
      write_oack(ctl_, accepted);
    } else {
      write_ack(ctl_, 0);
    }
    send_ctl();
  }

  // Whether `request`, from this transfer's client TID, is this transfer's own
  // request sent again because our first answer has not arrived yet.
  bool is_repeat_of(const Request& request) const {
    return !progressed_ && request.write == (direction_ == Direction::write) &&
           request.file_name == request_.file_name;
  }

  // Handles what already waits in the socket. A client that just finished
  // (its final ACK queued here) may reuse its port for the next request, and
  // that request can be read first.
  void catch_up() {
    for (int i = 0; i < 4 && !finished_; ++i) {
      error_code ec;
      std::size_t n = socket_.receive(asio::buffer(rx_), 0, ec);
      if (ec) return;
      on_packet(n);
    }
  }

  // `why` says, in the debug log, what ended a transfer that did not succeed.
  void finish(Outcome outcome, std::string_view why = {}) {
    if (finished_) return;
    finished_ = true;
    if (!counted_) count(outcome, why);
    auto it = lane_->transfers.find(key_);
    if (it != lane_->transfers.end() && it->second == this) lane_->transfers.erase(it);
    shared_.active.fetch_sub(1, std::memory_order_relaxed);
    shared_.metrics.active->add(-1);
    error_code ec;
    timer_.cancel();
    socket_.close(ec);
  }

 private:
  void count(Outcome outcome, std::string_view why = {}) {
    counted_ = true;
    shared_.metrics.count(direction_, outcome);
    if (outcome != Outcome::ok) {
      shared_.note(spdlog::level::debug, "{} {} from {}:{}: {} ({})",
                   direction_ == Direction::read ? "RRQ" : "WRQ", request_.file_name, request_.remote_address,
                   request_.remote_port, outcome_name(outcome), why);
    }
  }

  void receive() {
    socket_.async_receive(asio::buffer(rx_), [self = shared_from_this()](error_code ec, std::size_t n) {
      self->on_receive(ec, n);
    });
  }

  void on_receive(error_code ec, std::size_t n) {
    if (finished_ || ec == asio::error::operation_aborted) return;
    if (ec) {
      // ICMP port unreachable on the connected socket: the client is gone.
      finish(Outcome::error, ec == asio::error::connection_refused ? "client port closed" : "receive failed");
      return;
    }
    on_packet(n);
    if (!finished_) receive();
  }

  void on_packet(std::size_t n) {
    if (n >= 2 && rx_[0] == 0 && rx_[1] == static_cast<std::uint8_t>(Opcode::error)) {
      // The client gave up (RFC 1350 §7); nothing is sent back to an ERROR.
      finish(Outcome::error, "client sent ERROR");
      return;
    }
    auto packet = parse(std::span<const std::uint8_t>(rx_.data(), n));
    if (!packet) return;
    if (direction_ == Direction::read) {
      if (auto* ack = std::get_if<Ack>(&*packet)) on_ack(ack->block);
    } else {
      if (auto* data = std::get_if<Data>(&*packet)) on_data(*data);
    }
  }

  // RFC 1123 §4.2.3.1: only the ACK of the block in flight moves the transfer
  // on; a duplicate ACK is ignored, never answered with a retransmission
  // (Sorcerer's Apprentice). Block numbers wrap after 65535.
  void on_ack(std::uint16_t block) {
    if (block != static_cast<std::uint16_t>(block_)) return;
    progressed_ = true;
    if (block_ > 0 && last_block_sent_) {
      finish(Outcome::ok);
      return;
    }
    ++block_;
    reset_backoff();
    if (produce()) send_data();
  }

  void on_data(const Data& data) {
    const auto expected = static_cast<std::uint16_t>(block_);
    if (dallying_) {
      // Our final ACK was lost and the client sent its last block again.
      if (data.block == expected) send_ctl();
      return;
    }
    if (data.block != expected) {
      // The previous block again: our ACK of it was lost.
      if (block_ > 1 && data.block == static_cast<std::uint16_t>(block_ - 1)) send_ctl();
      return;
    }
    progressed_ = true;
    if (data.payload.size() > block_size_) {
      fail_with(ErrorCode::illegal_operation, "block larger than the negotiated block size", Outcome::error);
      return;
    }
    if (upload_.size() + data.payload.size() > shared_.config.max_upload_bytes) {
      fail_with(ErrorCode::disk_full, "upload too large", Outcome::refused);
      return;
    }
    if (source_.netascii) {
      append_netascii(data.payload);
    } else {
      upload_.append(data.payload);
    }
    reset_backoff();
    if (data.payload.size() == block_size_) {
      write_ack(ctl_, expected);
      ++block_;
      send_ctl();
      return;
    }
    // The last block (RFC 1350 §6): the handler decides before the final ACK.
    if (pending_ >= 0) upload_.push_back('\r');  // a CR that ended the upload
    pending_ = -1;
    std::optional<Refusal> refusal;
    {
      std::shared_lock gate(shared_.gate);
      if (shared_.stopped) {
        finish(Outcome::error, "server stopping");
        return;
      }
      try {
        auto r = shared_.handler->write(request_, std::move(upload_));
        if (!r) refusal = r.error();
      } catch (const std::exception& e) {
        shared_.note(spdlog::level::err, "TFTP write handler failed for {}: {}", request_.file_name,
                     e.what());
        refusal = Refusal{ErrorCode::not_defined, "internal error"};
      }
    }
    upload_ = std::string();
    if (refusal) {
      fail_with(refusal->code, refusal->message, Outcome::refused);
      return;
    }
    write_ack(ctl_, expected);
    send_ctl();
    if (finished_) return;
    count(Outcome::ok);
    // RFC 1350 §6: dally a while so a lost final ACK can be sent again.
    dallying_ = true;
    arm(SteadyClock::now() + base_timeout_);
  }

  // A netascii upload back to local text: CR LF → LF, CR NUL → CR. A CR at
  // the end of a block waits (pending_) for the byte that follows it.
  void append_netascii(std::string_view in) {
    for (char c : in) {
      if (pending_ >= 0) {
        pending_ = -1;
        if (c == '\n') {
          upload_.push_back('\n');
          continue;
        }
        upload_.push_back('\r');
        if (c == '\0') continue;
      }
      if (c == '\r') {
        pending_ = '\r';
      } else {
        upload_.push_back(c);
      }
    }
  }

  void fail_with(ErrorCode code, std::string_view message, Outcome outcome) {
    write_error(ctl_, code, message);
    error_code ec;
    socket_.send(asio::buffer(ctl_), 0, ec);
    finish(outcome, message);
  }

  // Fills payload_ with block `block_`; false when the transfer had to end.
  bool produce() {
    const std::uint64_t offset = (block_ - 1) * block_size_;
    if (source_.netascii) {
      std::size_t n = 0;
      if (!fill_netascii(n)) return false;
      payload_ = std::string_view(reinterpret_cast<const char*>(packet_.data()), n);
    } else if (source_.fd >= 0) {
      ssize_t n = read_at(source_.fd, packet_.data(), block_size_, offset);
      if (n < 0) {
        shared_.note(spdlog::level::warn, "reading {} failed: {}", request_.file_name, std::strerror(errno));
        fail_with(ErrorCode::not_defined, "read error", Outcome::error);
        return false;
      }
      payload_ = std::string_view(reinterpret_cast<const char*>(packet_.data()), static_cast<std::size_t>(n));
    } else {
      // Zero copy: the block is a view of the shared string, sent after its header.
      const std::string_view s(*source_.memory);
      const auto start = static_cast<std::size_t>(std::min<std::uint64_t>(offset, s.size()));
      payload_ = s.substr(start, block_size_);
    }
    // RFC 1350 §6: a block shorter than the block size (possibly empty) is the last.
    last_block_sent_ = payload_.size() < block_size_;
    return true;
  }

  // The next block of the netascii form of the source, converted on the fly:
  // LF → CR LF, CR → CR NUL. A pair split by the block boundary leaves its
  // second byte pending for the next block.
  bool fill_netascii(std::size_t& n) {
    const std::size_t cap = block_size_;
    if (pending_ >= 0 && n < cap) {
      packet_[n++] = static_cast<std::uint8_t>(pending_);
      pending_ = -1;
    }
    while (n < cap && source_offset_ < source_.size) {
      const std::uint8_t* chunk;
      std::size_t available;
      if (source_.memory) {
        chunk = reinterpret_cast<const std::uint8_t*>(source_.memory->data()) + source_offset_;
        available = static_cast<std::size_t>(source_.size - source_offset_);
      } else {
        ssize_t r = read_at(source_.fd, staging_.data(), staging_.size(), source_offset_);
        if (r < 0) {
          fail_with(ErrorCode::not_defined, "read error", Outcome::error);
          return false;
        }
        if (r == 0) break;  // the file shrank
        chunk = staging_.data();
        available = static_cast<std::size_t>(r);
      }
      std::size_t used = 0;
      while (used < available && n < cap) {
        const std::uint8_t c = chunk[used++];
        if (c == '\n' || c == '\r') {
          packet_[n++] = '\r';
          const std::uint8_t second = c == '\n' ? '\n' : '\0';
          if (n < cap) {
            packet_[n++] = second;
          } else {
            pending_ = second;
          }
        } else {
          packet_[n++] = c;
        }
      }
      source_offset_ += used;
    }
    return true;
  }

  void send_data() {
    header_[0] = 0;
    header_[1] = static_cast<std::uint8_t>(Opcode::data);
    header_[2] = static_cast<std::uint8_t>((block_ >> 8) & 0xff);
    header_[3] = static_cast<std::uint8_t>(block_ & 0xff);
    last_is_data_ = true;
    transmit();
  }

  void send_ctl() {
    last_is_data_ = false;
    transmit();
  }

  void transmit() {
    error_code ec;
    if (last_is_data_) {
      const std::array<asio::const_buffer, 2> buffers{asio::buffer(header_), asio::buffer(payload_)};
      socket_.send(buffers, 0, ec);
      if (!ec) shared_.metrics.bytes_sent->inc(payload_.size());
    } else {
      socket_.send(asio::buffer(ctl_), 0, ec);
    }
    // A full socket buffer loses the datagram like the network would: the timer sends it again.
    if (ec && ec != asio::error::would_block && ec != asio::error::no_buffer_space) {
      finish(Outcome::error, ec == asio::error::connection_refused ? "client port closed" : "send failed");
      return;
    }
    if (!dallying_) arm(SteadyClock::now() + timeout_);
  }

  void reset_backoff() {
    retries_ = 0;
    timeout_ = base_timeout_;
  }

  // One timer per transfer, re-armed lazily: progress only moves deadline_,
  // and the timer, when it fires early, waits again for the rest. Only a
  // deadline earlier than the armed one (after a backoff) re-arms at once.
  void arm(SteadyClock::time_point deadline) {
    deadline_ = deadline;
    if (timer_pending_ && timer_.expiry() <= deadline) return;
    timer_.expires_at(deadline);
    timer_pending_ = true;
    timer_.async_wait([self = shared_from_this()](error_code ec) { self->on_timer(ec); });
  }

  void on_timer(error_code ec) {
    if (finished_ || ec == asio::error::operation_aborted) return;
    const auto now = SteadyClock::now();
    if (timer_.expiry() > now) return;  // an older wait; a newer one is pending
    timer_pending_ = false;
    if (now < deadline_) {
      arm(deadline_);
      return;
    }
    if (dallying_) {
      finish(Outcome::ok);
      return;
    }
    if (retries_ >= shared_.config.max_retries) {
      finish(Outcome::timeout, "no answer");
      return;
    }
    ++retries_;
    timeout_ = std::min(timeout_ * 2, max_timeout_);
    transmit();
  }

  std::shared_ptr<Lane> lane_;
  Shared& shared_;
  udp::socket socket_;
  asio::steady_timer timer_;
  PeerKey key_;
  Direction direction_;
  TransferRequest request_;
  std::uint16_t block_size_;
  milliseconds base_timeout_, timeout_, max_timeout_;
  int retries_ = 0;

  // RRQ: the block in flight (0 while the OACK waits for ACK 0). WRQ: the
  // next block expected. 64 bits: the wire number is this modulo 65536.
  std::uint64_t block_ = 0;
  bool last_block_sent_ = false;
  Source source_;
  std::uint64_t source_offset_ = 0;  // netascii: source bytes converted so far
  int pending_ = -1;                 // netascii: the half of a pair in the next block
  std::string upload_;

  std::vector<std::uint8_t> rx_;
  std::vector<std::uint8_t> packet_;   // a block read from a file or converted
  std::vector<std::uint8_t> staging_;  // netascii from a file: the raw bytes
  std::vector<std::uint8_t> ctl_;      // the last OACK, ACK or ERROR
  std::array<std::uint8_t, 4> header_{};
  std::string_view payload_;
  bool last_is_data_ = false;

  SteadyClock::time_point deadline_{};
  bool timer_pending_ = false;
  bool progressed_ = false;
  bool dallying_ = false;
  bool counted_ = false;
  bool finished_ = false;
};

void Lane::wait() {
  socket.async_wait(udp::socket::wait_read, [self = shared_from_this()](error_code ec) {
    if (self->closed || ec == asio::error::operation_aborted) return;
    self->drain();
    if (!self->closed) self->wait();
  });
}

void Lane::drain() {
  for (int i = 0; i < kRequestBatch && !closed; ++i) {
    error_code ec;
    std::size_t n = socket.receive_from(asio::buffer(in), peer, 0, ec);
    if (ec == asio::error::would_block) return;
    if (ec) {
      shared->note(spdlog::level::warn, "TFTP receive failed: {}", ec.message());
      return;
    }
    on_datagram(n);
  }
}

void Lane::send_error(const udp::endpoint& to, ErrorCode code, std::string_view message) {
  write_error(out, code, message);
  error_code ec;
  socket.send_to(asio::buffer(out), to, 0, ec);
}

void Lane::on_datagram(std::size_t n) {
  auto packet = parse(std::span<const std::uint8_t>(in.data(), n));
  if (!packet) {
    shared->metrics.bad_packets->inc();
    shared->note(spdlog::level::debug, "malformed TFTP request from {}: {}", peer.address().to_string(),
                 to_string(packet.error()));
    // Never answer an ERROR, or two peers could trade them forever.
    if (n >= 2 && in[0] == 0 && in[1] == static_cast<std::uint8_t>(Opcode::error)) return;
    send_error(
        peer,
        packet.error() == ParseError::bad_option ? ErrorCode::option_refused : ErrorCode::illegal_operation,
        to_string(packet.error()));
    return;
  }
  if (auto* request = std::get_if<Request>(&*packet)) {
    on_request(*request);
    return;
  }
  if (std::holds_alternative<Error>(*packet)) return;
  // DATA, ACK or OACK belong to a transfer's own port, not to this one.
  shared->metrics.bad_packets->inc();
  send_error(peer, ErrorCode::unknown_transfer_id, "no transfer on this port");
}

void Lane::on_request(Request& request) {
  const Direction direction = request.write ? Direction::write : Direction::read;
  const PeerKey key = key_of(peer);
  if (auto it = transfers.find(key); it != transfers.end()) {
    Transfer* old = it->second;
    // The client sent its request again before our first answer reached it;
    // that transfer's own timer repeats the answer.
    if (old->is_repeat_of(request)) return;
    // Otherwise the client started over from the same port: the old transfer
    // is over, perhaps with its final ACK still unread.
    old->catch_up();
    old->finish(Outcome::error, "client started over");
  }
  auto& metrics = shared->metrics;
  auto refuse = [&](ErrorCode code, std::string_view message, Outcome outcome = Outcome::refused) {
    send_error(peer, code, message);
    metrics.count(direction, outcome);
    shared->note(spdlog::level::debug, "{} {} from {}:{} refused: {}", request.write ? "WRQ" : "RRQ",
                 request.file_name, peer.address().to_string(), peer.port(), message);
  };
  // RFC 1350 §5 lists mail mode; it is obsolete and no phone uses it.
  if (request.mode == "mail") return refuse(ErrorCode::illegal_operation, "mail mode is not supported");

  if (shared->active.fetch_add(1, std::memory_order_relaxed) >= shared->config.max_transfers) {
    shared->active.fetch_sub(1, std::memory_order_relaxed);
    return refuse(ErrorCode::not_defined, "server busy");
  }
  // The slot is released by every early return below, and by finish() once a transfer owns it.
  bool slot_owned = true;
  struct SlotGuard {
    Shared& s;
    bool& owned;
    ~SlotGuard() {
      if (owned) s.active.fetch_sub(1, std::memory_order_relaxed);
    }
  } slot{*shared, slot_owned};

  TransferRequest tr{request.file_name, peer.address().to_string(), peer.port()};
  Source source;
  source.netascii = request.mode == "netascii";
  std::optional<Refusal> refusal;
  {
    std::shared_lock gate(shared->gate);
    if (shared->stopped) return;
    try {
      if (direction == Direction::read) {
        auto content = shared->handler->read(tr);
        if (!content) {
          refusal = content.error();
        } else if (auto* memory = std::get_if<std::shared_ptr<const std::string>>(&content->source)) {
          static const auto empty = std::make_shared<const std::string>();
          source.memory = *memory ? std::move(*memory) : empty;
          source.size = source.memory->size();
        } else {
          const auto& path = std::get<std::filesystem::path>(content->source);
          source.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
          struct stat st {};
          if (source.fd >= 0 && (::fstat(source.fd, &st) != 0 || !S_ISREG(st.st_mode))) {
            ::close(source.fd);
            source.fd = -1;
            errno = ENOENT;
          }
          if (source.fd < 0) {
            refusal = errno == EACCES ? Refusal{ErrorCode::access_violation, "access denied"}
                                      : Refusal{ErrorCode::file_not_found, "file not found"};
          } else {
            source.size = static_cast<std::uint64_t>(st.st_size);
          }
        }
      } else {
        refusal = shared->handler->may_write(tr);
      }
    } catch (const std::exception& e) {
      shared->note(spdlog::level::err, "TFTP handler failed for {}: {}", request.file_name, e.what());
      refusal = Refusal{ErrorCode::not_defined, "internal error"};
    }
  }
  auto close_source = [&] {
    if (source.fd >= 0) ::close(source.fd);
    source.fd = -1;
  };
  if (refusal) return refuse(refusal->code, refusal->message);

  // RFC 2347 §3: options the server does not know, or whose value it cannot
  // take, are left out of the OACK; the transfer goes on without them.
  Negotiation n;
  n.timeout = shared->config.timeout;
  for (const auto& option : request.options) {
    std::uint64_t v = 0;
    if (!parse_number(option.value, v)) continue;
    if (option.name == "blksize") {  // RFC 2348
      if (v < kMinBlockSize) continue;
      n.block_size = static_cast<std::uint16_t>(std::min<std::uint64_t>(v, shared->config.max_block_size));
      n.accepted.push_back(Option{option.name, std::to_string(n.block_size)});
    } else if (option.name == "timeout") {  // RFC 2349 §2: 1..255 seconds
      if (v < 1 || v > 255) continue;
      n.timeout = std::chrono::seconds(v);
      n.accepted.push_back(Option{option.name, option.value});
    } else if (option.name == "tsize") {  // RFC 2349 §3
      if (direction == Direction::read) {
        // The netascii size of a file is unknown without reading it all: leave it out.
        if (source.netascii && !source.memory) continue;
        std::uint64_t size = source.netascii ? netascii_size(*source.memory) : source.size;
        n.accepted.push_back(Option{option.name, std::to_string(size)});
      } else {
        if (v > shared->config.max_upload_bytes) {
          close_source();
          return refuse(ErrorCode::disk_full, "upload too large");
        }
        n.tsize = v;
        n.accepted.push_back(Option{option.name, option.value});
      }
    }
  }

  // The transfer's own TID: a new socket on this thread, bound to the address
  // the server listens on and connected to the client's.
  udp::socket socket(ctx);
  error_code ec;
  socket.open(peer.protocol(), ec);
  if (!ec) socket.bind(udp::endpoint(shared->address, 0), ec);
  if (!ec) socket.connect(peer, ec);
  if (!ec) socket.non_blocking(true, ec);
  if (ec) {
    close_source();
    shared->note(spdlog::level::warn, "cannot open a TFTP transfer socket: {}", ec.message());
    return refuse(ErrorCode::not_defined, "server error", Outcome::error);
  }
  auto transfer =
      std::make_shared<Transfer>(shared_from_this(), std::move(socket), key, direction, std::move(tr), n);
  slot_owned = false;
  metrics.active->add(1);
  transfers[key] = transfer.get();
  if (direction == Direction::read) {
    transfer->start_read(std::move(source), n.accepted);
  } else {
    transfer->start_write(n.accepted, n.tsize, source.netascii);
  }
}

void Lane::close_all() {
  closed = true;
  error_code ec;
  socket.close(ec);
  std::vector<Transfer*> open;
  open.reserve(transfers.size());
  for (auto& [key, t] : transfers) open.push_back(t);
  for (auto* t : open) t->finish(Outcome::error, "server stopped");
}

struct Server::Impl {
  core::IoPool& pool;
  std::shared_ptr<Shared> shared;
  std::vector<std::shared_ptr<Lane>> lanes;
  bool started = false;
};

Server::Server(core::IoPool& pool, ServerConfig config, Handler& handler, core::MetricsRegistry& metrics)
    : impl_(std::make_unique<Impl>(
          Impl{pool, std::make_shared<Shared>(std::move(config), handler, metrics), {}})) {}

Server::~Server() { stop(); }

core::Result<std::uint16_t> Server::start() {
  if (impl_->started) return core::fail(std::string("TFTP server already started"));
  auto& shared = *impl_->shared;
  error_code ec;
  shared.address = asio::ip::make_address(shared.config.host, ec);
  if (ec) return core::fail("bad TFTP listen address: " + shared.config.host);
  std::uint16_t port = shared.config.port;
  std::vector<std::shared_ptr<Lane>> lanes;
  for (std::size_t i = 0; i < impl_->pool.size(); ++i) {
    auto lane = std::make_shared<Lane>(impl_->pool.context(i), impl_->shared);
    udp::endpoint endpoint(shared.address, port);
    auto& s = lane->socket;
    s.open(endpoint.protocol(), ec);
    // One socket per thread on the same port: the kernel spreads clients over them.
    if (!ec) s.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) s.set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true), ec);
    if (!ec) s.bind(endpoint, ec);
    if (!ec) s.non_blocking(true, ec);
    if (ec) {
      for (auto& l : lanes) l->socket.close(ec);
      return core::fail("cannot listen for TFTP on " + shared.config.host + ":" + std::to_string(port) +
                        ": " + ec.message());
    }
    // A burst of requests from a fleet rebooting at once waits here, not on the floor.
    error_code ignored;
    s.set_option(asio::socket_base::receive_buffer_size(1 << 20), ignored);
    port = s.local_endpoint().port();  // the port 0 asked for, now fixed for the other sockets
    lanes.push_back(std::move(lane));
  }
  impl_->lanes = std::move(lanes);
  impl_->started = true;
  for (auto& lane : impl_->lanes) asio::post(lane->ctx, [lane] { lane->wait(); });
  shared.log->info("TFTP listening on {}:{}", shared.config.host, port);
  return port;
}

void Server::stop() {
  {
    std::unique_lock gate(impl_->shared->gate);
    impl_->shared->stopped = true;
  }
  for (auto& lane : impl_->lanes) {
    // A stopped context runs nothing: close here. Otherwise on the lane's own thread.
    if (lane->ctx.stopped()) {
      lane->close_all();
    } else {
      asio::post(lane->ctx, [lane] { lane->close_all(); });
    }
  }
  impl_->lanes.clear();
}

}  // namespace ucedge::prov::tftp
