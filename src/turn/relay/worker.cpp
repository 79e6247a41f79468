#include "turn/relay/worker.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <openssl/rand.h>

#include "core/log.hpp"
#include "turn/relay/stream_connection.hpp"

namespace ucedge::turn {

namespace {

constexpr std::int64_t kPermissionLifetime = 300;  // RFC 8656 §9
constexpr std::int64_t kChannelLifetime = 600;     // RFC 8656 §12
constexpr std::int64_t kStreamIdleWithoutAllocation = 60;
constexpr std::size_t kMaxStreamOutput = 1 << 20;  // relayed data beyond it is dropped, like UDP would
constexpr std::uint8_t kUdp = 17;
constexpr std::uint8_t kTcp = 6;
constexpr std::int64_t kTcpConnectTimeout = 30;  // RFC 6062 §5.2, §5.3
constexpr std::size_t kPipeHighWater = 256 * 1024;

// Attributes a TURN server understands in requests and indications.
constexpr std::array<std::uint16_t, 24> kKnownAttributes = {
    stun::attr::username,          stun::attr::message_integrity,     stun::attr::message_integrity_sha256,
    stun::attr::realm,             stun::attr::nonce,                 stun::attr::fingerprint,
    stun::attr::software,          stun::attr::lifetime,              stun::attr::requested_transport,
    stun::attr::dont_fragment,     stun::attr::even_port,             stun::attr::reservation_token,
    stun::attr::requested_address_family, stun::attr::additional_address_family, stun::attr::xor_peer_address,
    stun::attr::channel_number,    stun::attr::data,                  stun::attr::priority,
    stun::attr::use_candidate,     stun::attr::ice_controlled,        stun::attr::ice_controlling,
    stun::attr::password_algorithm, stun::attr::userhash,             stun::attr::connection_id,
};

std::string_view reason_of(int code) {
  switch (code) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 420: return "Unknown Attribute";
    case 431: return "Integrity Check Failure";
    case 437: return "Allocation Mismatch";
    case 438: return "Stale Nonce";
    case 440: return "Address Family not Supported";
    case 441: return "Wrong Credentials";
    case 442: return "Unsupported Transport Protocol";
    case 443: return "Peer Address Family Mismatch";
    case 446: return "Connection Already Exists";
    case 447: return "Connection Timeout or Failure";
    case 486: return "Allocation Quota Reached";
    case 500: return "Server Error";
    case 508: return "Insufficient Capacity";
  }
  return "Error";
}

int open_socket(const Endpoint& address, int type) {
  int fd = ::socket(address.storage.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (address.is_v6()) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (::bind(fd, address.sockaddr_ptr(), address.length) != 0) {
    int saved = errno;
    ::close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

Endpoint local_of(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  return Endpoint::from(reinterpret_cast<sockaddr*>(&ss), len);
}

std::int64_t clock_ms(clockid_t id) {
  timespec ts{};
  ::clock_gettime(id, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

// Channel numbers and lifetimes are read at most once per request; these
// helpers turn a missing or malformed attribute into nullopt.
template <class T, class F>
std::optional<T> decoded(const stun::Message& m, std::uint16_t type, F decode) {
  auto value = m.find(type);
  if (!value) return std::nullopt;
  auto r = decode(*value);
  if (!r) return std::nullopt;
  return *r;
}

}  // namespace

Worker::Worker(RelayShared& shared, int index)
    : shared_(shared), index_(index), slots_(static_cast<std::size_t>(kSlots) * kSlot) {
  epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  watch(wake_, EPOLLIN, &wake_handle_);
  out_.reserve(kSlots);
  for (int i = 0; i < kSlots; ++i) {
    rx_iovecs_[i].iov_base = slots_.data() + static_cast<std::size_t>(i) * kSlot + kHeadroom;
    rx_iovecs_[i].iov_len = kMaxDatagram;
    rx_headers_[i].msg_hdr.msg_name = &rx_addresses_[i];
    rx_headers_[i].msg_hdr.msg_iov = &rx_iovecs_[i];
    rx_headers_[i].msg_hdr.msg_iovlen = 1;
  }
  update_clock();
}

Worker::~Worker() {
  stop();
  for (auto& [id, a] : allocations_) {
    for (auto& relay : a->relays) {
      if (relay) shared_.ports.release(relay.local().port());
    }
    shared_.release(a->username);
    shared_.metrics.allocations->add(-1);
  }
  allocations_.clear();
  connections_.clear();
  for (auto& l : udp_listeners_) ::close(l->fd);
  for (auto& l : stream_listeners_) ::close(l->fd);
  if (wake_ >= 0) ::close(wake_);
  if (epoll_ >= 0) ::close(epoll_);
}

core::Result<Endpoint> Worker::listen_udp(const Endpoint& address) {
  int fd = open_socket(address, SOCK_DGRAM);
  if (fd < 0) return core::fail("cannot bind UDP " + address.to_string() + ": " + std::strerror(errno));
  int size = 4 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  auto listener = std::make_unique<UdpListener>();
  listener->fd = fd;
  listener->local = local_of(fd);
  listener->handle = Handle{Handle::Kind::udp_listener, listener.get(), 0};
  watch(fd, EPOLLIN, &listener->handle);
  Endpoint local = listener->local;
  udp_listeners_.push_back(std::move(listener));
  return local;
}

core::Result<Endpoint> Worker::listen_stream(const Endpoint& address, ClientTransport transport) {
  int fd = open_socket(address, SOCK_STREAM);
  if (fd < 0 || ::listen(fd, 1024) != 0) {
    std::string error = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return core::fail("cannot listen on TCP " + address.to_string() + ": " + error);
  }
  auto listener = std::make_unique<StreamListener>();
  listener->fd = fd;
  listener->local = local_of(fd);
  listener->transport = transport;
  listener->handle = Handle{Handle::Kind::tcp_listener, listener.get(), 0};
  watch(fd, EPOLLIN, &listener->handle);
  Endpoint local = listener->local;
  stream_listeners_.push_back(std::move(listener));
  return local;
}

void Worker::watch(int fd, std::uint32_t events, Handle* handle) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handle;
  ::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev);
}

void Worker::start() {
  thread_ = std::thread([this] { run(); });
}

void Worker::stop() {
  if (!thread_.joinable()) return;
  std::uint64_t one = 1;
  stopping_ = true;
  [[maybe_unused]] auto n = ::write(wake_, &one, sizeof one);
  thread_.join();
}

void Worker::update_clock() {
  const std::int64_t shift = shared_.clock_shift_ms.load(std::memory_order_relaxed);
  now_ms_ = clock_ms(CLOCK_MONOTONIC_COARSE) + shift;
  now_ = now_ms_ / 1000;
  unix_now_ = (clock_ms(CLOCK_REALTIME_COARSE) + shift) / 1000;
}

void Worker::run() {
  std::array<epoll_event, 256> events{};
  next_sweep_ms_ = now_ms_ + 1000;
  while (true) {
    int timeout = static_cast<int>(std::max<std::int64_t>(0, next_sweep_ms_ - now_ms_));
    int n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), timeout);
    update_clock();
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      auto* handle = static_cast<Handle*>(events[i].data.ptr);
      if (handle->kind == Handle::Kind::wake) {
        std::uint64_t value;
        [[maybe_unused]] auto r = ::read(wake_, &value, sizeof value);
        if (stopping_) return;
        continue;
      }
      dispatch(handle, events[i].events);
    }
    flush();
    publish_counters();
    dead_allocations_.clear();
    dead_connections_.clear();
    dead_connects_.clear();
    if (now_ms_ >= next_sweep_ms_) {
      sweep();
      next_sweep_ms_ = now_ms_ + 1000;
    }
  }
}

void Worker::dispatch(Handle* handle, std::uint32_t events) {
  switch (handle->kind) {
    case Handle::Kind::udp_listener: read_udp_listener(*static_cast<UdpListener*>(handle->owner)); break;
    case Handle::Kind::tcp_listener: accept_stream(*static_cast<StreamListener*>(handle->owner)); break;
    case Handle::Kind::stream: {
      auto* c = static_cast<StreamConnection*>(handle->owner);
      if (!c->dead) on_stream_event(*c, events);
      break;
    }
    case Handle::Kind::relay: {
      auto* a = static_cast<Allocation*>(handle->owner);
      if (!a->dead) read_relay(*a, handle->family_index);
      break;
    }
    case Handle::Kind::tcp_relay_listener: {
      auto* a = static_cast<Allocation*>(handle->owner);
      if (!a->dead) accept_peer(*a, handle->family_index);
      break;
    }
    case Handle::Kind::peer_connect: {
      auto* pending = static_cast<PendingConnect*>(handle->owner);
      if (pending->fd >= 0) connect_finished(*pending, false);
      break;
    }
    case Handle::Kind::pipe_peer: {
      auto* c = static_cast<StreamConnection*>(handle->owner);
      if (!c->dead) on_pipe_peer_event(*c, events);
      break;
    }
    case Handle::Kind::wake: break;
  }
}

void Worker::publish_counters() {
  auto& m = shared_.metrics;
  if (packets_to_peers_) {
    m.packets_to_peers->inc(packets_to_peers_);
    m.bytes_to_peers->inc(bytes_to_peers_);
    packets_to_peers_ = bytes_to_peers_ = 0;
  }
  if (packets_from_peers_) {
    m.packets_from_peers->inc(packets_from_peers_);
    m.bytes_from_peers->inc(bytes_from_peers_);
    packets_from_peers_ = bytes_from_peers_ = 0;
  }
  if (dropped_no_permission_) m.dropped_no_permission->inc(std::exchange(dropped_no_permission_, 0));
  if (dropped_bandwidth_) m.dropped_bandwidth->inc(std::exchange(dropped_bandwidth_, 0));
  if (dropped_no_allocation_) m.dropped_no_allocation->inc(std::exchange(dropped_no_allocation_, 0));
}

void Worker::sweep() {
  std::vector<Allocation*> expired;
  {
    std::lock_guard lock(registry_mutex_);
    for (auto& [id, a] : allocations_) {
      if (a->expires <= now_) {
        expired.push_back(a.get());
        continue;
      }
      std::erase_if(a->permissions, [this](const Permission& p) { return p.expires <= now_; });
      // A channel stays reserved for 5 minutes after it expires (RFC 8656 §12).
      std::erase_if(a->channels, [this](const Channel& c) { return c.expires + kPermissionLifetime <= now_; });
    }
  }
  for (Allocation* a : expired) destroy(*a);
  std::vector<StreamConnection*> idle;
  for (auto& [ptr, c] : connections_) {
    if (!c->allocation && !c->piped && c->last_activity + kStreamIdleWithoutAllocation <= now_) idle.push_back(ptr);
  }
  for (auto& [ptr, c] : connections_) {
    if (c->piped && c->allocation_alive && !c->allocation_alive->load()) idle.push_back(ptr);
  }
  for (auto* c : idle) close_stream(*c);
  std::vector<PendingConnect*> late;
  for (auto& [ptr, pending] : connects_) {
    if (pending->deadline <= now_) late.push_back(ptr);
  }
  for (auto* pending : late) connect_finished(*pending, true);
  if (index_ == 0) {
    shared_.ports.expire_reservations();
    shared_.tcp_connections.expire(now_);
  }
  dead_allocations_.clear();
  dead_connections_.clear();
  dead_connects_.clear();
}

// ---------------------------------------------------------------------------
// Data path

int Worker::take_slots() {
  if (next_slot_ + kBatch > kSlots) flush();
  for (int i = next_slot_; i < next_slot_ + kBatch; ++i) {
    rx_headers_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    rx_headers_[i].msg_hdr.msg_flags = 0;
  }
  return next_slot_;
}

void Worker::read_udp_listener(UdpListener& listener) {
  Origin origin;
  origin.transport = ClientTransport::udp;
  origin.listener = &listener;
  origin.local = listener.local;
  for (int round = 0; round < 8; ++round) {
    const int first = take_slots();
    int n = ::recvmmsg(listener.fd, rx_headers_.data() + first, kBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) return;
    next_slot_ += n;
    for (int i = first; i < first + n; ++i) {
      if (rx_headers_[i].msg_hdr.msg_flags & MSG_TRUNC) continue;
      origin.client = Endpoint::from(reinterpret_cast<sockaddr*>(&rx_addresses_[i]), rx_headers_[i].msg_hdr.msg_namelen);
      on_client_bytes(origin, static_cast<std::uint8_t*>(rx_iovecs_[i].iov_base), rx_headers_[i].msg_len);
    }
    if (n < kBatch) return;
  }
}

void Worker::on_client_bytes(const Origin& origin, std::uint8_t* data, std::size_t size) {
  if (size == 0) return;
  std::span<const std::uint8_t> bytes(data, size);
  if (stun::is_channel_data(data[0])) {
    Allocation* a = find_allocation(origin);
    if (!a) {
      ++dropped_no_allocation_;
      return;
    }
    channel_to_peer(*a, bytes);
    return;
  }
  if (!stun::looks_like_stun(bytes)) return;
  auto parsed = stun::parse(bytes);
  if (!parsed) return;
  const stun::Message& m = *parsed;
  if (stun::check_fingerprint(m) == stun::Check::invalid) return;
  switch (m.message_class()) {
    case stun::Class::request: on_request(origin, m); break;
    case stun::Class::indication:
      if (m.method() == stun::Method::send) {
        Allocation* a = find_allocation(origin);
        if (a) send_indication(*a, m);
        else ++dropped_no_allocation_;
      }
      break;
    default: break;  // responses are not for a server
  }
}

Allocation* Worker::find_allocation(const Origin& origin) {
  if (origin.connection) return origin.connection->allocation;
  auto it = by_client_.find(EndpointKey::of(origin.client));
  return it == by_client_.end() ? nullptr : it->second;
}

void Worker::channel_to_peer(Allocation& a, std::span<const std::uint8_t> bytes) {
  auto frame = stun::parse_channel_data(bytes);
  if (!frame) return;
  const Channel* channel = a.channel_by_number(frame->channel, now_);
  if (!channel || !a.permission_for(channel->peer, now_)) {
    ++dropped_no_permission_;
    a.dropped.add(1);
    return;
  }
  to_peer(a, channel->peer, frame->payload.data(), frame->payload.size());
}

void Worker::send_indication(Allocation& a, const stun::Message& m) {
  auto peer_value = m.find(stun::attr::xor_peer_address);
  auto data = m.find(stun::attr::data);
  if (!peer_value || !data) return;
  auto peer = stun::decode_xor_address(*peer_value, m.transaction_id());
  if (!peer) return;
  Endpoint endpoint = Endpoint::from(*peer);
  if (!a.permission_for(endpoint, now_)) {
    ++dropped_no_permission_;
    a.dropped.add(1);
    return;
  }
  to_peer(a, endpoint, data->data(), data->size());
}

void Worker::to_peer(Allocation& a, const Endpoint& peer, const std::uint8_t* data, std::size_t size) {
  const RelaySocket& relay = a.relays[a.relay_index_for(peer)];
  if (!relay) {
    a.dropped.add(1);
    return;
  }
  if (!a.to_peer_budget.take(size, now_ms_)) {
    ++dropped_bandwidth_;
    a.dropped.add(1);
    return;
  }
  a.packets_to_peers.add(1);
  a.bytes_to_peers.add(size);
  ++packets_to_peers_;
  bytes_to_peers_ += size;
  queue(relay.fd(), data, size, peer);
}

void Worker::read_relay(Allocation& a, int family_index) {
  const int fd = a.relays[family_index].fd();
  for (int round = 0; round < 8; ++round) {
    const int first = take_slots();
    int n = ::recvmmsg(fd, rx_headers_.data() + first, kBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) return;
    next_slot_ += n;
    for (int i = first; i < first + n; ++i) {
      if (rx_headers_[i].msg_hdr.msg_flags & MSG_TRUNC) {
        a.dropped.add(1);
        continue;
      }
      std::uint8_t* payload = static_cast<std::uint8_t*>(rx_iovecs_[i].iov_base);
      const std::size_t size = rx_headers_[i].msg_len;
      Endpoint peer =
          Endpoint::from(reinterpret_cast<sockaddr*>(&rx_addresses_[i]), rx_headers_[i].msg_hdr.msg_namelen);
      if (!a.permission_for(peer, now_)) {
        ++dropped_no_permission_;
        a.dropped.add(1);
        continue;
      }
      if (!a.from_peer_budget.take(size, now_ms_)) {
        ++dropped_bandwidth_;
        a.dropped.add(1);
        continue;
      }
      // The header goes in the headroom in front of the payload: no copy.
      std::uint8_t* frame;
      std::size_t frame_size;
      if (const Channel* channel = a.channel_by_peer(peer, now_)) {
        frame = payload - 4;
        stun::write_channel_data_header(frame, channel->number, static_cast<std::uint16_t>(size));
        frame_size = 4 + size;
        if (a.transport != ClientTransport::udp) {
          // Over TCP and TLS, ChannelData is padded to a multiple of 4 (§12.5).
          while (frame_size % 4) frame[frame_size++] = 0;
        }
      } else {
        // Data indication: header, XOR-PEER-ADDRESS, DATA (RFC 8656 §11.3).
        const std::size_t peer_attribute = peer.is_v6() ? 24 : 12;
        const std::size_t header = stun::kHeaderBytes + peer_attribute + 4;
        frame = payload - header;
        stun::TransactionId id;
        for (std::size_t k = 0; k < id.size(); k += 8) {
          std::uint64_t r = (static_cast<std::uint64_t>(now_ms_) << 20) ^ (a.id * 0x9E3779B97F4A7C15ULL) ^
                            (packets_from_peers_ + k) * 0xBF58476D1CE4E5B9ULL;
          std::memcpy(id.data() + k, &r, std::min<std::size_t>(8, id.size() - k));
        }
        stun::Builder b(std::span<std::uint8_t>(frame, header), stun::Method::data, stun::Class::indication, id);
        b.add_xor_address(stun::attr::xor_peer_address, peer.transport_address());
        // The DATA attribute's header; its value is the payload already in place.
        std::uint8_t* attribute = frame + stun::kHeaderBytes + peer_attribute;
        attribute[0] = 0x00;
        attribute[1] = 0x13;
        attribute[2] = static_cast<std::uint8_t>(size >> 8);
        attribute[3] = static_cast<std::uint8_t>(size);
        std::size_t padded = (size + 3) & ~std::size_t{3};
        for (std::size_t k = size; k < padded; ++k) payload[k] = 0;
        frame_size = header + padded;
        const std::size_t length = frame_size - stun::kHeaderBytes;
        frame[2] = static_cast<std::uint8_t>(length >> 8);
        frame[3] = static_cast<std::uint8_t>(length);
      }
      a.packets_from_peers.add(1);
      a.bytes_from_peers.add(size);
      ++packets_from_peers_;
      bytes_from_peers_ += size;
      if (a.transport == ClientTransport::udp) {
        queue(a.listener_fd, frame, frame_size, a.client);
      } else if (a.connection) {
        stream_write(*a.connection, {frame, frame_size}, false);
      }
    }
    if (n < kBatch) return;
  }
}

void Worker::queue(int fd, const std::uint8_t* data, std::size_t size, const Endpoint& destination) {
  if (out_.size() == tx_headers_.size()) flush();
  out_.push_back(Outgoing{fd, data, size, destination});
}

void Worker::flush() {
  std::size_t i = 0;
  while (i < out_.size()) {
    std::size_t run = 1;
    while (i + run < out_.size() && out_[i + run].fd == out_[i].fd) ++run;
    for (std::size_t k = 0; k < run; ++k) {
      Outgoing& o = out_[i + k];
      tx_iovecs_[k].iov_base = const_cast<std::uint8_t*>(o.data);
      tx_iovecs_[k].iov_len = o.size;
      tx_headers_[k].msg_hdr = msghdr{};
      tx_headers_[k].msg_hdr.msg_name = o.destination.sockaddr_ptr();
      tx_headers_[k].msg_hdr.msg_namelen = o.destination.length;
      tx_headers_[k].msg_hdr.msg_iov = &tx_iovecs_[k];
      tx_headers_[k].msg_hdr.msg_iovlen = 1;
    }
    std::size_t done = 0;
    while (done < run) {
      int sent = ::sendmmsg(out_[i].fd, tx_headers_.data() + done, static_cast<unsigned>(run - done), MSG_DONTWAIT);
      if (sent < 0) {
        if (errno == EINTR) continue;
        ++done;  // skip the datagram the kernel refused (unreachable peer, full buffer)
        continue;
      }
      done += static_cast<std::size_t>(sent);
    }
    i += run;
  }
  out_.clear();
  next_slot_ = 0;
}

// ---------------------------------------------------------------------------
// Control path

void Worker::reply(const Origin& origin, std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return;
  if (origin.connection) {
    stream_write(*origin.connection, bytes, true);
    return;
  }
  ::sendto(origin.listener->fd, bytes.data(), bytes.size(), MSG_DONTWAIT, origin.client.sockaddr_ptr(),
           origin.client.length);
}

namespace {

// Responses to an authenticated request carry the same kind of integrity
// (RFC 8489 §9.2.4) and, like every answer here, SOFTWARE and FINGERPRINT.
void seal(stun::Builder& b, const stun::Message& request, const AuthOutcome* auth, std::string_view software) {
  b.add_text(stun::attr::software, software);
  if (auth && auth->kind == AuthOutcome::Kind::accepted) {
    if (request.integrity_sha256_index()) b.add_integrity_sha256(auth->key);
    else b.add_integrity(auth->key);
  }
  b.add_fingerprint();
}

}  // namespace

void Worker::reply_error(const Origin& origin, const stun::Message& request, int code, std::string_view reason,
                         const AuthOutcome* auth) {
  shared_.metrics.error_answer(code);
  stun::Builder b(response_, request.method(), stun::Class::error, request.transaction_id());
  b.add_error(code, reason.empty() ? reason_of(code) : reason);
  if (code == 420) b.add_unknown_attributes(stun::unknown_required(request, kKnownAttributes).view());
  seal(b, request, auth, shared_.software);
  reply(origin, b.finish());
}

bool Worker::challenge_budget() {
  // Unauthenticated answers per second, shared out between threads: a flood
  // of spoofed requests gets a bounded number of answers and no state.
  const double rate = shared_.challenges_per_second_per_thread;
  if (now_ms_ > challenge_refill_ms_) {
    challenge_tokens_ = std::min(rate, challenge_tokens_ + rate * static_cast<double>(now_ms_ - challenge_refill_ms_) / 1000.0);
    challenge_refill_ms_ = now_ms_;
  }
  if (challenge_tokens_ < 1) return false;
  challenge_tokens_ -= 1;
  return true;
}

void Worker::reply_auth_error(const Origin& origin, const stun::Message& request, const AuthOutcome& auth) {
  shared_.metrics.auth_failure(auth.failure_label);
  if (!challenge_budget()) return;
  stun::Builder b(response_, request.method(), stun::Class::error, request.transaction_id());
  b.add_error(auth.error_code, auth.reason.empty() ? reason_of(auth.error_code) : auth.reason);
  if (auth.error_code == 401 || auth.error_code == 438 || auth.error_code == 431) {
    b.add_text(stun::attr::realm, shared_.authenticator.realm());
    b.add_text(stun::attr::nonce, shared_.authenticator.nonce_for(origin.client.transport_address()));
  }
  seal(b, request, nullptr, shared_.software);
  reply(origin, b.finish());
}

void Worker::on_request(const Origin& origin, const stun::Message& request) {
  if (request.method() == stun::Method::binding) {
    on_binding(origin, request);
    return;
  }
  switch (request.method()) {
    case stun::Method::allocate:
    case stun::Method::refresh:
    case stun::Method::create_permission:
    case stun::Method::channel_bind:
    case stun::Method::connect:
    case stun::Method::connection_bind: break;
    default:
      reply_error(origin, request, 400, "Unsupported method", nullptr);
      return;
  }
  const std::string source = origin.client.ip_string();
  const bool has_integrity = request.integrity_index() || request.integrity_sha256_index();
  if (has_integrity && shared_.auth_failures.retry_after(source) > 0) {
    shared_.metrics.auth_failure("rate_limited");
    return;  // guessing: silence costs the server nothing
  }
  AuthOutcome auth = shared_.authenticator.authenticate(request, origin.client.transport_address());
  if (auth.kind != AuthOutcome::Kind::accepted) {
    if (auth.kind == AuthOutcome::Kind::bad_credentials || auth.kind == AuthOutcome::Kind::integrity_failure) {
      shared_.auth_failures.failed(source);
    }
    reply_auth_error(origin, request, auth);
    return;
  }
  if (auto unknown = stun::unknown_required(request, kKnownAttributes); unknown.count > 0) {
    reply_error(origin, request, 420, {}, &auth);
    return;
  }
  if (request.method() == stun::Method::connection_bind) {
    on_connection_bind(origin, request, auth);
    return;
  }
  Allocation* a = find_allocation(origin);
  if (request.method() == stun::Method::allocate) {
    on_allocate(origin, request, auth);
    return;
  }
  if (request.method() == stun::Method::refresh) {
    on_refresh(origin, request, auth, a);
    return;
  }
  if (!a) {
    reply_error(origin, request, 437, {}, &auth);
    return;
  }
  // The allocation belongs to the credentials that made it (RFC 8656 §5).
  if (a->username != auth.username) {
    reply_error(origin, request, 441, {}, &auth);
    return;
  }
  if (request.method() == stun::Method::create_permission) on_create_permission(origin, request, auth, *a);
  else if (request.method() == stun::Method::connect) on_connect(origin, request, auth, *a);
  else on_channel_bind(origin, request, auth, *a);
}

void Worker::on_binding(const Origin& origin, const stun::Message& request) {
  shared_.metrics.binding_requests->inc();
  if (auto unknown = stun::unknown_required(request, kKnownAttributes); unknown.count > 0) {
    reply_error(origin, request, 420, {}, nullptr);
    return;
  }
  stun::Builder b(response_, stun::Method::binding, stun::Class::success, request.transaction_id());
  b.add_xor_address(stun::attr::xor_mapped_address, origin.client.transport_address());
  b.add_address(stun::attr::mapped_address, origin.client.transport_address());
  b.add_xor_address(stun::attr::response_origin, origin.local.transport_address());
  seal(b, request, nullptr, shared_.software);
  reply(origin, b.finish());
}

std::int64_t Worker::granted_lifetime(const stun::Message& request, bool zero_deletes) const {
  const std::int64_t low = shared_.config.default_lifetime.count();
  const std::int64_t high = shared_.config.max_lifetime.count();
  auto requested = decoded<std::uint32_t>(request, stun::attr::lifetime, stun::decode_u32);
  if (!requested) return low;
  if (*requested == 0 && zero_deletes) return 0;
  return std::clamp<std::int64_t>(*requested, low, high);
}

bool Worker::take_quota(const Origin& origin, const stun::Message& request, const AuthOutcome& auth) {
  switch (shared_.acquire(auth.username)) {
    case RelayShared::Quota::user: reply_error(origin, request, 486, {}, &auth); return false;
    case RelayShared::Quota::total: reply_error(origin, request, 508, "Server at capacity", &auth); return false;
    case RelayShared::Quota::ok: break;
  }
  return true;
}

void Worker::adopt(Allocation& a, const Origin& origin, const stun::Message& request, const AuthOutcome& auth,
                   std::int64_t lifetime) {
  a.id = shared_.next_allocation_id.fetch_add(1, std::memory_order_relaxed);
  a.username = auth.username;
  a.realm = shared_.authenticator.realm();
  a.transport = origin.transport;
  a.client = origin.client;
  a.listener_fd = origin.listener ? origin.listener->fd : -1;
  a.connection = origin.connection;
  a.allocate_transaction = request.transaction_id();
  a.expires = now_ + lifetime;
  a.created_unix = unix_now_;
  a.expires_unix = unix_now_ + lifetime;
  a.to_peer_budget.set_rate(shared_.config.max_bps);
  a.from_peer_budget.set_rate(shared_.config.max_bps);
}

stun::TransportAddress Worker::advertised(const Allocation& a, int family) const {
  const auto& external = family == 0 ? shared_.advertised_v4 : shared_.advertised_v6;
  stun::TransportAddress shown = (external ? *external : a.relays[family].local()).transport_address();
  shown.port = a.relays[family].local().port();
  return shown;
}

void Worker::on_allocate(const Origin& origin, const stun::Message& request, const AuthOutcome& auth) {
  if (Allocation* existing = find_allocation(origin)) {
    // A retransmitted Allocate gets the same answer; anything else on a
    // 5-tuple that has an allocation is a mismatch (RFC 8656 §7.2).
    if (existing->allocate_transaction == request.transaction_id() && !existing->allocate_response.empty()) {
      reply(origin, existing->allocate_response);
    } else {
      reply_error(origin, request, 437, {}, &auth);
    }
    return;
  }
  auto transport = decoded<std::uint8_t>(request, stun::attr::requested_transport, stun::decode_requested_transport);
  if (!transport) {
    reply_error(origin, request, 400, "REQUESTED-TRANSPORT missing", &auth);
    return;
  }
  if (*transport == kTcp) {
    open_tcp_allocation(origin, request, auth);
    return;
  }
  if (*transport != kUdp) {
    reply_error(origin, request, 442, {}, &auth);
    return;
  }
  const bool has_token = request.has(stun::attr::reservation_token);
  const bool has_even = request.has(stun::attr::even_port);
  const auto requested_family =
      request.find(stun::attr::requested_address_family)
          ? std::optional(stun::decode_address_family(*request.find(stun::attr::requested_address_family)))
          : std::nullopt;
  const auto additional_family =
      request.find(stun::attr::additional_address_family)
          ? std::optional(stun::decode_address_family(*request.find(stun::attr::additional_address_family)))
          : std::nullopt;
  if ((has_token && has_even) || (has_token && requested_family) || (requested_family && additional_family)) {
    reply_error(origin, request, 400, "conflicting attributes", &auth);
    return;
  }
  if ((requested_family && !*requested_family) || (additional_family && !*additional_family)) {
    reply_error(origin, request, 440, {}, &auth);
    return;
  }
  // ADDITIONAL-ADDRESS-FAMILY may only ask for IPv6 besides IPv4 (RFC 8656 §7.2).
  if (additional_family && additional_family->value() != stun::TransportAddress::Family::ipv6) {
    reply_error(origin, request, 400, "ADDITIONAL-ADDRESS-FAMILY must be IPv6", &auth);
    return;
  }
  bool want_v4 = true, want_v6 = false;
  if (requested_family && requested_family->value() == stun::TransportAddress::Family::ipv6) {
    want_v4 = false;
    want_v6 = true;
  }
  if (additional_family) want_v6 = true;
  if ((want_v4 && !shared_.relay_v4 && !additional_family) || (!want_v4 && want_v6 && !shared_.relay_v6)) {
    reply_error(origin, request, 440, {}, &auth);
    return;
  }
  bool even = false, reserve_next = false;
  if (has_even) {
    auto r = stun::decode_even_port(*request.find(stun::attr::even_port));
    if (!r) {
      reply_error(origin, request, 400, "malformed EVEN-PORT", &auth);
      return;
    }
    even = true;
    reserve_next = *r;
  }

  if (!take_quota(origin, request, auth)) return;

  auto a = std::make_unique<Allocation>();
  bool v6_failed = false;
  std::optional<std::uint64_t> token_out;
  if (has_token) {
    auto value = *request.find(stun::attr::reservation_token);
    std::uint64_t token = 0;
    if (value.size() == 8) std::memcpy(&token, value.data(), 8);
    auto reserved = shared_.ports.take_reservation(token);
    if (!reserved) {
      shared_.release(auth.username);
      reply_error(origin, request, 508, "unknown or expired RESERVATION-TOKEN", &auth);
      return;
    }
    a->relays[reserved->local().is_v6() ? 1 : 0] = std::move(*reserved);
  } else {
    if (want_v4 && shared_.relay_v4) {
      auto socket = shared_.ports.open(*shared_.relay_v4, even);
      if (socket && reserve_next) {
        auto next = shared_.ports.open_at(*shared_.relay_v4, static_cast<std::uint16_t>(socket->local().port() + 1));
        if (!next) {
          // Both ports of a pair or none: try until a free pair turns up.
          for (int attempt = 0; attempt < 64 && socket && !next; ++attempt) {
            shared_.ports.release(socket->local().port());
            socket = shared_.ports.open(*shared_.relay_v4, true);
            if (socket) {
              next = shared_.ports.open_at(*shared_.relay_v4, static_cast<std::uint16_t>(socket->local().port() + 1));
            }
          }
        }
        if (next) token_out = shared_.ports.reserve(std::move(*next));
        else if (socket) {
          shared_.ports.release(socket->local().port());
          socket.reset();
        }
      }
      if (socket) a->relays[0] = std::move(*socket);
    }
    if (want_v6 && shared_.relay_v6) {
      auto socket = shared_.ports.open(*shared_.relay_v6, even);
      if (socket) a->relays[1] = std::move(*socket);
      else v6_failed = true;
    } else if (want_v6) {
      v6_failed = true;
    }
  }
  const bool have_any = static_cast<bool>(a->relays[0]) || static_cast<bool>(a->relays[1]);
  if (!have_any || (want_v4 && !a->relays[0] && !additional_family)) {
    for (auto& relay : a->relays) {
      if (relay) shared_.ports.release(relay.local().port());
    }
    shared_.release(auth.username);
    reply_error(origin, request, 508, "no relay port free", &auth);
    return;
  }

  const std::int64_t lifetime = granted_lifetime(request, false);
  adopt(*a, origin, request, auth, lifetime);
  a->dont_fragment = request.has(stun::attr::dont_fragment);

  stun::Builder b(response_, stun::Method::allocate, stun::Class::success, request.transaction_id());
  for (int f = 0; f < 2; ++f) {
    if (!a->relays[f]) continue;
    b.add_xor_address(stun::attr::xor_relayed_address, advertised(*a, f));
    if (a->dont_fragment && f == 0) {
      int mode = IP_PMTUDISC_DO;
      ::setsockopt(a->relays[f].fd(), IPPROTO_IP, IP_MTU_DISCOVER, &mode, sizeof mode);
    }
    a->relay_handles[f] = Handle{Handle::Kind::relay, a.get(), f};
    watch(a->relays[f].fd(), EPOLLIN, &a->relay_handles[f]);
  }
  if (v6_failed && additional_family) {
    // The IPv4 half stands; the client learns why IPv6 did not (RFC 8656 §7.2).
    std::array<std::uint8_t, 4 + 32> value{};
    value[0] = 0x02;
    value[2] = 4;
    value[3] = 40;
    std::string_view reason = "Address Family not Supported";
    std::memcpy(value.data() + 4, reason.data(), std::min<std::size_t>(reason.size(), 32));
    std::size_t length = 4 + std::min<std::size_t>(reason.size(), 32);
    b.add(stun::attr::address_error_code, std::span<const std::uint8_t>(value.data(), length));
  }
  b.add_u32(stun::attr::lifetime, static_cast<std::uint32_t>(lifetime));
  if (token_out) {
    b.add(stun::attr::reservation_token,
          std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(&*token_out), 8));
  }
  b.add_xor_address(stun::attr::xor_mapped_address, origin.client.transport_address());
  seal(b, request, &auth, shared_.software);
  auto bytes = b.finish();
  a->allocate_response.assign(bytes.begin(), bytes.end());

  register_allocation(std::move(a), origin);
  reply(origin, bytes);
}

void Worker::register_allocation(std::unique_ptr<Allocation> a, const Origin& origin) {
  Allocation* raw = a.get();
  {
    std::lock_guard lock(registry_mutex_);
    allocations_.emplace(raw->id, std::move(a));
  }
  if (origin.connection) origin.connection->allocation = raw;
  else by_client_[EndpointKey::of(origin.client)] = raw;
  shared_.metrics.allocations->add(1);
  shared_.metrics.allocations_created->inc();
}

void Worker::on_refresh(const Origin& origin, const stun::Message& request, const AuthOutcome& auth, Allocation* a) {
  if (!a) {
    reply_error(origin, request, 437, {}, &auth);
    return;
  }
  if (a->username != auth.username) {
    reply_error(origin, request, 441, {}, &auth);
    return;
  }
  const std::int64_t lifetime = granted_lifetime(request, true);
  if (auto family = request.find(stun::attr::requested_address_family)) {
    auto f = stun::decode_address_family(*family);
    if (!f || !a->relays[*f == stun::TransportAddress::Family::ipv6 ? 1 : 0]) {
      reply_error(origin, request, 443, {}, &auth);
      return;
    }
  }
  stun::Builder b(response_, stun::Method::refresh, stun::Class::success, request.transaction_id());
  b.add_u32(stun::attr::lifetime, static_cast<std::uint32_t>(lifetime));
  seal(b, request, &auth, shared_.software);
  if (lifetime == 0) {
    destroy(*a);
  } else {
    std::lock_guard lock(registry_mutex_);
    a->expires = now_ + lifetime;
    a->expires_unix = unix_now_ + lifetime;
  }
  reply(origin, b.finish());
}

std::optional<Endpoint> Worker::acceptable_peer(const Origin& origin, const stun::Message& request,
                                                const AuthOutcome& auth, const Allocation& a,
                                                std::span<const std::uint8_t> value) {
  auto peer = stun::decode_xor_address(value, request.transaction_id());
  if (!peer) {
    reply_error(origin, request, 400, "malformed XOR-PEER-ADDRESS", &auth);
    return std::nullopt;
  }
  Endpoint endpoint = Endpoint::from(*peer);
  if (!a.relays[a.relay_index_for(endpoint)]) {
    reply_error(origin, request, 443, {}, &auth);
    return std::nullopt;
  }
  if (!shared_.policy.permits(*peer)) {
    shared_.metrics.peers_refused->inc();
    reply_error(origin, request, 403, "peer address not allowed", &auth);
    return std::nullopt;
  }
  return endpoint;
}

void Worker::permit(Allocation& a, const Endpoint& peer) {
  std::lock_guard lock(registry_mutex_);
  auto it = std::find_if(a.permissions.begin(), a.permissions.end(),
                         [&](const Permission& p) { return p.peer.same_ip(peer); });
  if (it != a.permissions.end()) it->expires = now_ + kPermissionLifetime;
  else a.permissions.push_back(Permission{peer, now_ + kPermissionLifetime});
}

void Worker::on_create_permission(const Origin& origin, const stun::Message& request, const AuthOutcome& auth,
                                  Allocation& a) {
  // Every XOR-PEER-ADDRESS is checked before any is installed (RFC 8656 §10.2).
  std::array<Endpoint, 16> peers;
  std::size_t count = 0;
  for (const auto& attribute : request.attributes()) {
    if (attribute.type != stun::attr::xor_peer_address) continue;
    if (request.integrity_index() && attribute.offset > request.attributes()[*request.integrity_index()].offset) break;
    auto endpoint =
        acceptable_peer(origin, request, auth, a, request.bytes().subspan(attribute.offset, attribute.length));
    if (!endpoint) return;
    if (count == peers.size()) {
      reply_error(origin, request, 400, "too many XOR-PEER-ADDRESS attributes", &auth);
      return;
    }
    peers[count++] = *endpoint;
  }
  if (count == 0) {
    reply_error(origin, request, 400, "XOR-PEER-ADDRESS missing", &auth);
    return;
  }
  for (std::size_t i = 0; i < count; ++i) permit(a, peers[i]);
  stun::Builder b(response_, stun::Method::create_permission, stun::Class::success, request.transaction_id());
  seal(b, request, &auth, shared_.software);
  reply(origin, b.finish());
}

void Worker::on_channel_bind(const Origin& origin, const stun::Message& request, const AuthOutcome& auth,
                             Allocation& a) {
  auto number = decoded<std::uint16_t>(request, stun::attr::channel_number, stun::decode_channel_number);
  auto peer_value = request.find(stun::attr::xor_peer_address);
  if (!number || *number < stun::kMinChannel || *number > stun::kMaxChannel || !peer_value) {
    reply_error(origin, request, 400, "CHANNEL-NUMBER or XOR-PEER-ADDRESS missing or invalid", &auth);
    return;
  }
  auto peer = acceptable_peer(origin, request, auth, a, *peer_value);
  if (!peer) return;
  const Endpoint& endpoint = *peer;
  // A channel is bound to one peer and a peer to one channel (§11.2).
  for (const auto& c : a.channels) {
    if ((c.number == *number) != c.peer.same(endpoint)) {
      reply_error(origin, request, 400, "channel or peer already bound otherwise", &auth);
      return;
    }
  }
  {
    std::lock_guard lock(registry_mutex_);
    auto it = std::find_if(a.channels.begin(), a.channels.end(), [&](const Channel& c) { return c.number == *number; });
    if (it != a.channels.end()) it->expires = now_ + kChannelLifetime;
    else a.channels.push_back(Channel{*number, endpoint, now_ + kChannelLifetime});
  }
  permit(a, endpoint);
  stun::Builder b(response_, stun::Method::channel_bind, stun::Class::success, request.transaction_id());
  seal(b, request, &auth, shared_.software);
  reply(origin, b.finish());
}

void Worker::destroy(Allocation& a) {
  if (a.dead) return;
  a.dead = true;
  a.alive->store(false);
  std::vector<PendingConnect*> orphans;
  for (auto& [ptr, pending] : connects_) {
    if (pending->allocation == &a) orphans.push_back(ptr);
  }
  for (auto* pending : orphans) {
    ::epoll_ctl(epoll_, EPOLL_CTL_DEL, pending->fd, nullptr);
    ::close(pending->fd);
    pending->fd = -1;
    auto it = connects_.find(pending);
    dead_connects_.push_back(std::move(it->second));
    connects_.erase(it);
  }
  for (auto& relay : a.relays) {
    if (!relay) continue;
    ::epoll_ctl(epoll_, EPOLL_CTL_DEL, relay.fd(), nullptr);
    shared_.ports.release(relay.local().port());
  }
  if (a.connection) a.connection->allocation = nullptr;
  else by_client_.erase(EndpointKey::of(a.client));
  shared_.release(a.username);
  shared_.metrics.allocations->add(-1);
  std::lock_guard lock(registry_mutex_);
  auto it = allocations_.find(a.id);
  if (it != allocations_.end()) {
    dead_allocations_.push_back(std::move(it->second));
    allocations_.erase(it);
  }
}

// ---------------------------------------------------------------------------
// Stream transports

void Worker::accept_stream(StreamListener& listener) {
  for (int i = 0; i < 64; ++i) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    int fd = ::accept4(listener.fd, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    if (shared_.stream_connections.load(std::memory_order_relaxed) >= shared_.max_stream_connections) {
      ::close(fd);
      shared_.metrics.stream_connections_refused->inc();
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto c = std::make_unique<StreamConnection>(fd, Endpoint::from(reinterpret_cast<sockaddr*>(&ss), len),
                                                listener.local, listener.transport);
    if (listener.transport == ClientTransport::tls) {
      SSL_CTX* context = nullptr;
      std::shared_ptr<void> owner = shared_.tls ? shared_.tls(&context) : nullptr;
      if (!context || !c->start_tls(context, std::move(owner))) continue;
    }
    c->last_activity = now_;
    watch(fd, EPOLLIN | EPOLLRDHUP, &c->handle);
    shared_.metrics.stream_connections->inc();
    shared_.stream_connections.fetch_add(1, std::memory_order_relaxed);
    StreamConnection* raw = c.get();
    connections_.emplace(raw, std::move(c));
  }
}

void Worker::on_stream_event(StreamConnection& c, std::uint32_t events) {
  c.last_activity = now_;
  if (events & EPOLLOUT) {
    if (c.write() == StreamConnection::Io::closed) {
      close_stream(c);
      return;
    }
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    auto r = c.read();
    // A bound RFC 6062 data connection carries bytes for its peer; any other
    // carries STUN and ChannelData frames.
    if (!c.input().empty()) {
      if (c.piped) pipe_to_peer(c);
      else stream_frames(c);
    }
    if (c.dead) return;
    if (r == StreamConnection::Io::closed) {
      close_stream(c);
      return;
    }
  }
  update_stream_interest(c);
  if (c.piped) update_pipe_interest(c);
}

void Worker::stream_frames(StreamConnection& c) {
  auto& in = c.input();
  std::size_t offset = 0;
  Origin origin;
  origin.transport = c.transport();
  origin.connection = &c;
  origin.client = c.client();
  origin.local = c.local();
  while (offset < in.size() && !c.dead) {
    auto size = stun::stream_frame_size(std::span<const std::uint8_t>(in.data() + offset, in.size() - offset));
    if (!size) {
      close_stream(c);  // neither STUN nor ChannelData: the stream cannot be resynchronised
      return;
    }
    if (*size == 0 || *size > in.size() - offset) break;
    std::uint8_t* frame = in.data() + offset;
    if (c.piped) break;
    if (stun::is_channel_data(frame[0])) {
      // The frame's padding is not part of the ChannelData message.
      std::size_t length = 4 + (static_cast<std::size_t>(frame[2]) << 8 | frame[3]);
      on_client_bytes(origin, frame, length);
    } else {
      on_client_bytes(origin, frame, *size);
    }
    offset += *size;
  }
  flush();  // queued datagrams point into the input buffer
  if (!c.dead) in.erase(in.begin(), in.begin() + static_cast<long>(offset));
  // Bytes after a ConnectionBind are the application's, for the peer.
  if (!c.dead && c.piped && !in.empty()) pipe_to_peer(c);
}

void Worker::stream_write(StreamConnection& c, std::span<const std::uint8_t> frame, bool control) {
  if (c.dead) return;
  auto& out = c.output();
  if (!control && out.size() + frame.size() > kMaxStreamOutput) {
    ++dropped_bandwidth_;
    return;
  }
  const bool was_empty = out.empty();
  out.insert(out.end(), frame.begin(), frame.end());
  if (was_empty && !c.handshaking()) {
    if (c.write() == StreamConnection::Io::closed) {
      close_stream(c);
      return;
    }
  }
  update_stream_interest(c);
}

void Worker::update_stream_interest(StreamConnection& c) {
  if (c.dead) return;
  const bool want = c.wants_write();
  // A piped connection stops reading while its peer cannot keep up.
  const bool read = !c.piped || c.to_peer.size() < kPipeHighWater;
  if (want == c.writing_registered && read == c.reading) return;
  epoll_event ev{};
  ev.events = (read ? EPOLLIN | EPOLLRDHUP : 0u) | (want ? EPOLLOUT : 0u);
  ev.data.ptr = &c.handle;
  ::epoll_ctl(epoll_, EPOLL_CTL_MOD, c.fd(), &ev);
  c.writing_registered = want;
  c.reading = read;
}

void Worker::close_stream(StreamConnection& c) {
  if (c.dead) return;
  c.dead = true;
  // Closing the control connection ends its allocation (RFC 8656 §3.1).
  if (c.allocation) destroy(*c.allocation);
  ::epoll_ctl(epoll_, EPOLL_CTL_DEL, c.fd(), nullptr);
  if (c.peer_fd >= 0) ::epoll_ctl(epoll_, EPOLL_CTL_DEL, c.peer_fd, nullptr);
  auto it = connections_.find(&c);
  if (it != connections_.end()) {
    dead_connections_.push_back(std::move(it->second));
    connections_.erase(it);
    shared_.stream_connections.fetch_sub(1, std::memory_order_relaxed);
  }
}

// ---------------------------------------------------------------------------
// RFC 6062: TCP allocations

namespace {

// A response to an authenticated request sent after the request is gone.
std::span<const std::uint8_t> sign(stun::Builder& b, const std::array<std::uint8_t, 16>& key, bool sha256,
                                   std::string_view software) {
  b.add_text(stun::attr::software, software);
  if (sha256) b.add_integrity_sha256(key);
  else b.add_integrity(key);
  b.add_fingerprint();
  return b.finish();
}

}  // namespace

void Worker::open_tcp_allocation(const Origin& origin, const stun::Message& request, const AuthOutcome& auth) {
  // §5.1: a TCP relay needs a TCP (or TLS) control connection, and none of
  // the UDP-only attributes.
  if (!origin.connection) {
    reply_error(origin, request, 400, "a TCP allocation needs a TCP or TLS connection", &auth);
    return;
  }
  if (request.has(stun::attr::even_port) || request.has(stun::attr::reservation_token) ||
      request.has(stun::attr::dont_fragment) || request.has(stun::attr::additional_address_family)) {
    reply_error(origin, request, 400, "attribute not allowed with a TCP allocation", &auth);
    return;
  }
  int family = 0;
  if (auto f = request.find(stun::attr::requested_address_family)) {
    auto decoded_family = stun::decode_address_family(*f);
    if (!decoded_family) {
      reply_error(origin, request, 440, {}, &auth);
      return;
    }
    family = *decoded_family == stun::TransportAddress::Family::ipv6 ? 1 : 0;
  }
  const auto& relay = family == 0 ? shared_.relay_v4 : shared_.relay_v6;
  if (!relay) {
    reply_error(origin, request, 440, {}, &auth);
    return;
  }
  if (!take_quota(origin, request, auth)) return;
  auto socket = shared_.ports.open_tcp(*relay);
  if (!socket) {
    shared_.release(auth.username);
    reply_error(origin, request, 508, "no relay port free", &auth);
    return;
  }
  const std::int64_t lifetime = granted_lifetime(request, false);
  auto a = std::make_unique<Allocation>();
  a->tcp = true;
  a->relays[family] = std::move(*socket);
  a->relay_handles[family] = Handle{Handle::Kind::tcp_relay_listener, a.get(), family};
  watch(a->relays[family].fd(), EPOLLIN, &a->relay_handles[family]);
  adopt(*a, origin, request, auth, lifetime);

  stun::Builder b(response_, stun::Method::allocate, stun::Class::success, request.transaction_id());
  b.add_xor_address(stun::attr::xor_relayed_address, advertised(*a, family));
  b.add_u32(stun::attr::lifetime, static_cast<std::uint32_t>(lifetime));
  b.add_xor_address(stun::attr::xor_mapped_address, origin.client.transport_address());
  seal(b, request, &auth, shared_.software);
  auto bytes = b.finish();
  a->allocate_response.assign(bytes.begin(), bytes.end());
  register_allocation(std::move(a), origin);
  reply(origin, bytes);
}

void Worker::on_connect(const Origin& origin, const stun::Message& request, const AuthOutcome& auth, Allocation& a) {
  auto peer_value = request.find(stun::attr::xor_peer_address);
  if (!a.tcp || !peer_value) {
    reply_error(origin, request, 400, a.tcp ? "XOR-PEER-ADDRESS missing" : "not a TCP allocation", &auth);
    return;
  }
  auto peer = acceptable_peer(origin, request, auth, a, *peer_value);
  if (!peer) return;
  const Endpoint& endpoint = *peer;
  std::erase_if(a.tcp_peers, [](const auto& p) { return !p.second->load(); });
  for (const auto& [known, open] : a.tcp_peers) {
    if (known.same(endpoint)) {
      reply_error(origin, request, 446, "Connection Already Exists", &auth);
      return;
    }
  }
  int fd = RelayPorts::connect_from(a.relays[a.relay_index_for(endpoint)].local(), endpoint);
  if (fd < 0) {
    reply_error(origin, request, 447, "Connection Timeout or Failure", &auth);
    return;
  }
  permit(a, endpoint);  // Connect installs the permission its peer needs (§5.2)
  auto pending = std::make_unique<PendingConnect>();
  pending->fd = fd;
  pending->peer = endpoint;
  pending->allocation = &a;
  pending->transaction = request.transaction_id();
  pending->key = auth.key;
  pending->sha256 = request.integrity_sha256_index().has_value();
  pending->deadline = now_ + kTcpConnectTimeout;
  pending->handle = Handle{Handle::Kind::peer_connect, pending.get(), 0};
  watch(fd, EPOLLOUT, &pending->handle);
  PendingConnect* raw = pending.get();
  connects_.emplace(raw, std::move(pending));
}

void Worker::connect_finished(PendingConnect& pending, bool timed_out) {
  ::epoll_ctl(epoll_, EPOLL_CTL_DEL, pending.fd, nullptr);
  int error = 0;
  socklen_t length = sizeof error;
  if (timed_out || ::getsockopt(pending.fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = ETIMEDOUT;
  Allocation& a = *pending.allocation;
  std::array<std::uint8_t, 512> buffer{};
  if (error == 0 && a.connection && !a.connection->dead) {
    auto open = std::make_shared<std::atomic<bool>>(true);
    a.tcp_peers.emplace_back(pending.peer, open);
    std::uint32_t id = shared_.tcp_connections.add(
        {pending.fd, pending.peer, a.username, a.alive, open, now_ + kTcpConnectTimeout});
    pending.fd = -1;
    stun::Builder b(buffer, stun::Method::connect, stun::Class::success, pending.transaction);
    b.add_u32(stun::attr::connection_id, id);
    stream_write(*a.connection, sign(b, pending.key, pending.sha256, shared_.software), true);
  } else {
    ::close(pending.fd);
    pending.fd = -1;
    if (a.connection && !a.connection->dead) {
      shared_.metrics.error_answer(447);
      stun::Builder b(buffer, stun::Method::connect, stun::Class::error, pending.transaction);
      b.add_error(447, "Connection Timeout or Failure");
      stream_write(*a.connection, sign(b, pending.key, pending.sha256, shared_.software), true);
    }
  }
  auto it = connects_.find(&pending);
  if (it != connects_.end()) {
    dead_connects_.push_back(std::move(it->second));
    connects_.erase(it);
  }
}

void Worker::accept_peer(Allocation& a, int family_index) {
  for (int i = 0; i < 16; ++i) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    int fd = ::accept4(a.relays[family_index].fd(), reinterpret_cast<sockaddr*>(&ss), &len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    Endpoint peer = Endpoint::from(reinterpret_cast<sockaddr*>(&ss), len);
    // §5.3: only peers with a permission may connect.
    if (!a.permission_for(peer, now_) || !a.connection || a.connection->dead) {
      ::close(fd);
      ++dropped_no_permission_;
      continue;
    }
    auto open = std::make_shared<std::atomic<bool>>(true);
    std::uint32_t id = shared_.tcp_connections.add({fd, peer, a.username, a.alive, open, now_ + kTcpConnectTimeout});
    std::array<std::uint8_t, 128> buffer{};
    stun::TransactionId transaction{};
    ::RAND_bytes(transaction.data(), static_cast<int>(transaction.size()));
    stun::Builder b(buffer, stun::Method::connection_attempt, stun::Class::indication, transaction);
    b.add_xor_address(stun::attr::xor_peer_address, peer.transport_address());
    b.add_u32(stun::attr::connection_id, id);
    b.add_fingerprint();
    stream_write(*a.connection, b.finish(), true);
  }
}

void Worker::on_connection_bind(const Origin& origin, const stun::Message& request, const AuthOutcome& auth) {
  auto id = decoded<std::uint32_t>(request, stun::attr::connection_id, stun::decode_u32);
  // §5.4: on a fresh TCP connection of its own, never the control connection.
  if (!origin.connection || origin.connection->allocation || origin.connection->piped || !id) {
    reply_error(origin, request, 400, "ConnectionBind needs CONNECTION-ID on a new data connection", &auth);
    return;
  }
  auto entry = shared_.tcp_connections.take(*id);
  if (!entry || !entry->allocation_alive->load()) {
    if (entry) ::close(entry->fd);
    reply_error(origin, request, 400, "unknown CONNECTION-ID", &auth);
    return;
  }
  if (entry->username != auth.username) {
    ::close(entry->fd);
    entry->open->store(false);
    reply_error(origin, request, 441, {}, &auth);
    return;
  }
  stun::Builder b(response_, stun::Method::connection_bind, stun::Class::success, request.transaction_id());
  seal(b, request, &auth, shared_.software);
  reply(origin, b.finish());
  StreamConnection& c = *origin.connection;
  c.piped = true;
  c.peer_fd = entry->fd;
  c.allocation_alive = entry->allocation_alive;
  c.open = entry->open;
  c.peer_events = EPOLLIN | EPOLLRDHUP;
  watch(c.peer_fd, c.peer_events, &c.peer_handle);
}

void Worker::pipe_to_peer(StreamConnection& c) {
  auto& in = c.input();
  packets_to_peers_ += 1;
  bytes_to_peers_ += in.size();
  c.to_peer.insert(c.to_peer.end(), in.begin(), in.end());
  in.clear();
  std::size_t sent = 0;
  while (sent < c.to_peer.size()) {
    auto n = ::send(c.peer_fd, c.to_peer.data() + sent, c.to_peer.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      close_stream(c);
      return;
    }
    sent += static_cast<std::size_t>(n);
  }
  c.to_peer.erase(c.to_peer.begin(), c.to_peer.begin() + static_cast<long>(sent));
  update_pipe_interest(c);
  update_stream_interest(c);
}

void Worker::on_pipe_peer_event(StreamConnection& c, std::uint32_t events) {
  if (events & EPOLLOUT) {
    pipe_to_peer(c);
    if (c.dead) return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    std::array<std::uint8_t, 16384> buffer;
    while (c.pending_output() < kPipeHighWater) {
      auto n = ::recv(c.peer_fd, buffer.data(), buffer.size(), 0);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        close_stream(c);  // the peer closed: so does the data connection (§5.5)
        return;
      }
      packets_from_peers_ += 1;
      bytes_from_peers_ += static_cast<std::size_t>(n);
      stream_write(c, {buffer.data(), static_cast<std::size_t>(n)}, true);
      if (c.dead) return;
    }
  }
  update_pipe_interest(c);
}

void Worker::update_pipe_interest(StreamConnection& c) {
  if (c.dead || c.peer_fd < 0) return;
  // Read from the peer only while the client keeps up; write when bytes wait.
  std::uint32_t want = (c.pending_output() < kPipeHighWater ? EPOLLIN | EPOLLRDHUP : 0u) |
                       (c.to_peer.empty() ? 0u : EPOLLOUT);
  if (want == c.peer_events) return;
  epoll_event ev{};
  ev.events = want;
  ev.data.ptr = &c.peer_handle;
  ::epoll_ctl(epoll_, EPOLL_CTL_MOD, c.peer_fd, &ev);
  c.peer_events = want;
}

// ---------------------------------------------------------------------------

void Worker::snapshot(std::vector<AllocationInfo>& out) const {
  std::lock_guard lock(registry_mutex_);
  const std::int64_t shift = shared_.clock_shift_ms.load(std::memory_order_relaxed);
  const std::int64_t steady = (clock_ms(CLOCK_MONOTONIC_COARSE) + shift) / 1000;
  const std::int64_t unix = (clock_ms(CLOCK_REALTIME_COARSE) + shift) / 1000;
  for (const auto& [id, a] : allocations_) {
    AllocationInfo info;
    info.id = std::to_string(a->id);
    info.username = a->username;
    info.realm = a->realm;
    info.client = a->client.to_string();
    info.transport = std::string(to_string(a->transport));
    for (int f = 0; f < 2; ++f) {
      if (!a->relays[f]) continue;
      if (!info.relayed.empty()) info.relayed += ",";
      info.relayed += Endpoint::from(advertised(*a, f)).to_string();
    }
    info.created_at = a->created_unix;
    info.expires_at = a->expires_unix;
    info.packets_to_peers = a->packets_to_peers.value();
    info.bytes_to_peers = a->bytes_to_peers.value();
    info.packets_from_peers = a->packets_from_peers.value();
    info.bytes_from_peers = a->bytes_from_peers.value();
    info.dropped = a->dropped.value();
    for (const auto& p : a->permissions) {
      if (p.expires <= steady) continue;
      PeerInfo peer;
      peer.address = p.peer.ip_string();
      peer.expires_at = unix + (p.expires - steady);
      for (const auto& c : a->channels) {
        if (c.peer.same_ip(p.peer) && c.expires > steady) {
          peer.address = c.peer.to_string();
          peer.channel = c.number;
        }
      }
      info.peers.push_back(std::move(peer));
    }
    out.push_back(std::move(info));
  }
}

}  // namespace ucedge::turn
