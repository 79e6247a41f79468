#pragma once
// One relay thread: its own epoll loop, its own SO_REUSEPORT sockets on every
// STUN/TURN listener (the kernel hashes a client's 5-tuple to one of them, so
// a client always meets the same thread), and the allocations it created,
// whose relayed sockets it alone reads. Nothing on the data path takes a
// lock: datagrams are read and written in batches (recvmmsg/sendmmsg) from
// buffers allocated once.
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/result.hpp"
#include "turn/relay/allocation.hpp"
#include "turn/relay/relay_shared.hpp"
#include "turn/relay_view.hpp"

namespace ucedge::turn {

class StreamConnection;

class Worker {
 public:
  Worker(RelayShared& shared, int index);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Binds this thread's socket on a listener. Port 0 picks one; the caller
  // binds the other threads' sockets to the port the first one got.
  core::Result<Endpoint> listen_udp(const Endpoint& address);
  core::Result<Endpoint> listen_stream(const Endpoint& address, ClientTransport transport);

  void start();
  void stop();  // returns once the thread has ended

  void snapshot(std::vector<AllocationInfo>& out) const;

 private:
  struct UdpListener {
    int fd = -1;
    Endpoint local;
    Handle handle{};
  };
  struct StreamListener {
    int fd = -1;
    Endpoint local;
    ClientTransport transport = ClientTransport::tcp;
    Handle handle{};
  };
  // Where a request came from and how to answer it.
  struct Origin {
    ClientTransport transport = ClientTransport::udp;
    const UdpListener* listener = nullptr;
    StreamConnection* connection = nullptr;
    Endpoint client;
    Endpoint local;
  };
  // A datagram queued for sendmmsg.
  struct Outgoing {
    int fd = -1;
    const std::uint8_t* data = nullptr;
    std::size_t size = 0;
    Endpoint destination;
  };

  void run();
  void watch(int fd, std::uint32_t events, Handle* handle);  // adds fd to this thread's epoll
  void dispatch(Handle* handle, std::uint32_t events);
  void sweep();
  void update_clock();

  // Data path.
  void read_udp_listener(UdpListener& listener);
  void read_relay(Allocation& allocation, int family_index);
  void on_client_bytes(const Origin& origin, std::uint8_t* data, std::size_t size);
  void channel_to_peer(Allocation& allocation, std::span<const std::uint8_t> bytes);
  void send_indication(Allocation& allocation, const stun::Message& message);
  void to_peer(Allocation& allocation, const Endpoint& peer, const std::uint8_t* data, std::size_t size);
  void queue(int fd, const std::uint8_t* data, std::size_t size, const Endpoint& destination);
  void flush();

  // Control path (requests).
  void on_request(const Origin& origin, const stun::Message& request);
  void on_binding(const Origin& origin, const stun::Message& request);
  void on_allocate(const Origin& origin, const stun::Message& request, const AuthOutcome& auth);
  void on_refresh(const Origin& origin, const stun::Message& request, const AuthOutcome& auth, Allocation* a);
  void on_create_permission(const Origin& origin, const stun::Message& request, const AuthOutcome& auth,
                            Allocation& a);
  void on_channel_bind(const Origin& origin, const stun::Message& request, const AuthOutcome& auth, Allocation& a);
  // RFC 6062 TCP allocations.
  void open_tcp_allocation(const Origin& origin, const stun::Message& request, const AuthOutcome& auth);
  void on_connect(const Origin& origin, const stun::Message& request, const AuthOutcome& auth, Allocation& a);
  void connect_finished(PendingConnect& pending, bool timed_out);
  void accept_peer(Allocation& a, int family_index);
  void on_connection_bind(const Origin& origin, const stun::Message& request, const AuthOutcome& auth);
  void pipe_to_peer(StreamConnection& connection);
  void on_pipe_peer_event(StreamConnection& connection, std::uint32_t events);
  void update_pipe_interest(StreamConnection& connection);
  void register_allocation(std::unique_ptr<Allocation> allocation, const Origin& origin);
  // What every new allocation shares: the lifetime granted (§7.2; 0 only
  // when a Refresh deletes), the quota, the fields taken from its request,
  // and the relayed address clients are told.
  std::int64_t granted_lifetime(const stun::Message& request, bool zero_deletes) const;
  bool take_quota(const Origin& origin, const stun::Message& request, const AuthOutcome& auth);
  void adopt(Allocation& a, const Origin& origin, const stun::Message& request, const AuthOutcome& auth,
             std::int64_t lifetime);
  stun::TransportAddress advertised(const Allocation& a, int family) const;

  // The decoded XOR-PEER-ADDRESS `value` if the allocation has its family and
  // the policy allows it; otherwise answers 400, 443 or 403 and returns nullopt.
  std::optional<Endpoint> acceptable_peer(const Origin& origin, const stun::Message& request,
                                          const AuthOutcome& auth, const Allocation& a,
                                          std::span<const std::uint8_t> value);
  void permit(Allocation& a, const Endpoint& peer);  // installs or refreshes (300 s)
  Allocation* find_allocation(const Origin& origin);
  void destroy(Allocation& allocation);
  void reply(const Origin& origin, std::span<const std::uint8_t> bytes);
  void reply_error(const Origin& origin, const stun::Message& request, int code, std::string_view reason,
                   const AuthOutcome* auth);
  void reply_auth_error(const Origin& origin, const stun::Message& request, const AuthOutcome& auth);
  bool challenge_budget();

  // Stream transports.
  void accept_stream(StreamListener& listener);
  void on_stream_event(StreamConnection& connection, std::uint32_t events);
  void close_stream(StreamConnection& connection);
  void stream_frames(StreamConnection& connection);
  void stream_write(StreamConnection& connection, std::span<const std::uint8_t> frame, bool control);
  void update_stream_interest(StreamConnection& connection);

  RelayShared& shared_;
  const int index_;
  int epoll_ = -1;
  int wake_ = -1;
  Handle wake_handle_{Handle::Kind::wake, nullptr, 0};
  std::thread thread_;
  bool stopping_ = false;

  std::vector<std::unique_ptr<UdpListener>> udp_listeners_;
  std::vector<std::unique_ptr<StreamListener>> stream_listeners_;

  std::int64_t now_ = 0;      // steady seconds
  std::int64_t now_ms_ = 0;   // steady milliseconds
  std::int64_t unix_now_ = 0;
  std::int64_t next_sweep_ms_ = 0;
  double challenge_tokens_ = 0;
  std::int64_t challenge_refill_ms_ = 0;

  // The allocations of UDP clients by client address, and all allocations.
  std::unordered_map<EndpointKey, Allocation*, EndpointKeyHash> by_client_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Allocation>> allocations_;
  std::unordered_map<StreamConnection*, std::unique_ptr<StreamConnection>> connections_;
  std::vector<std::unique_ptr<Allocation>> dead_allocations_;
  std::vector<std::unique_ptr<StreamConnection>> dead_connections_;
  std::unordered_map<PendingConnect*, std::unique_ptr<PendingConnect>> connects_;
  std::vector<std::unique_ptr<PendingConnect>> dead_connects_;
  // Guards allocations_ and every allocation's permission and channel lists
  // against the admin snapshot; only this thread writes them.
  mutable std::mutex registry_mutex_;

  // Receive slots, used in turn by every socket a wake-up reads: what is
  // queued for sendmmsg points into them, so they are only reused after a
  // flush, and one flush can carry datagrams of many allocations.
  static constexpr int kBatch = 32;                 // datagrams per recvmmsg
  static constexpr int kSlots = 128;
  static constexpr std::size_t kHeadroom = 48;      // room for a Data indication header
  static constexpr std::size_t kMaxDatagram = 8192; // larger ones are dropped
  static constexpr std::size_t kSlot = kHeadroom + kMaxDatagram + 8;
  int take_slots();                                  // the first free slot, flushing when too few are left
  std::vector<std::uint8_t> slots_;
  int next_slot_ = 0;
  std::array<mmsghdr, kSlots> rx_headers_{};
  std::array<iovec, kSlots> rx_iovecs_{};
  std::array<sockaddr_storage, kSlots> rx_addresses_{};
  std::vector<Outgoing> out_;
  std::array<mmsghdr, kSlots> tx_headers_{};
  std::array<iovec, kSlots> tx_iovecs_{};
  std::array<std::uint8_t, 1500> response_{};

  // Metric deltas, added to the shared counters once per batch.
  std::uint64_t packets_to_peers_ = 0, bytes_to_peers_ = 0, packets_from_peers_ = 0, bytes_from_peers_ = 0;
  std::uint64_t dropped_no_permission_ = 0, dropped_bandwidth_ = 0, dropped_no_allocation_ = 0;
  void publish_counters();
};

}  // namespace ucedge::turn
