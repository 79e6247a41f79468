#include "prov/resync/resync_push.hpp"

#include <curl/curl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>

#include "core/log.hpp"
#include "core/strings.hpp"
#include "prov/codec/sip_response.hpp"

namespace ucedge::prov {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using Steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

// RFC 3261 §17.1.2.2: Timer E starts at T1 and doubles up to T2 for a non-INVITE request over UDP.
constexpr Steady::duration kT1 = 500ms;
constexpr Steady::duration kT2 = 4s;
constexpr std::size_t kMaxSipMessage = 64 * 1024;
// What we keep of a phone's answer to /CGI/Execute: enough for a CiscoIPPhoneResponse.
constexpr std::size_t kMaxCgiAnswer = 64 * 1024;

bool is_alnum(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// token (RFC 3261 §25.1); event types are tokens too (RFC 6665 §8.4).
bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return is_alnum(c) || std::string_view("-.!%*_+`'~").find(c) != std::string_view::npos;
  });
}

std::string_view strip_brackets(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') return host.substr(1, host.size() - 2);
  return host;
}

// A host name, an IPv4 address or an IPv6 address (bracketed or not): nothing that could end a header.
bool valid_host(std::string_view host) {
  std::string_view bare = strip_brackets(host);
  if (bare.empty() || bare.size() > 253) return false;
  if (bare.find(':') != std::string_view::npos) {
    return std::all_of(bare.begin(), bare.end(), [](char c) {
      return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
             c == '.';
    });
  }
  return std::all_of(bare.begin(), bare.end(),
                     [](char c) { return is_alnum(c) || c == '-' || c == '.' || c == '_'; });
}

// host in a SIP URI: an IPv6 address goes in brackets (RFC 3261 §25.1 IPv6reference).
std::string uri_host(std::string_view host) {
  std::string_view bare = strip_brackets(host);
  if (bare.find(':') != std::string_view::npos) return "[" + std::string(bare) + "]";
  return std::string(bare);
}

std::string uri_host(const asio::ip::address& a) { return uri_host(a.to_string()); }

void append_hex_escape(std::string& out, unsigned char c) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out += '%';
  out += kHex[c >> 4];
  out += kHex[c & 15];
}

// user = 1*( unreserved / escaped / user-unreserved ) (RFC 3261 §25.1)
std::string escape_user(std::string_view user) {
  std::string out;
  for (char c : user) {
    if (is_alnum(c) || std::string_view("-_.!~*'()&=+$,;?/").find(c) != std::string_view::npos) {
      out += c;
    } else {
      append_hex_escape(out, static_cast<unsigned char>(c));
    }
  }
  return out;
}

// application/x-www-form-urlencoded (WHATWG URL §5.2): space becomes '+', the
// rest outside alphanumerics and "*-._" is percent-encoded.
std::string form_encode(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 2);
  for (char c : text) {
    if (is_alnum(c) || c == '*' || c == '-' || c == '.' || c == '_')
      out += c;
    else if (c == ' ')
      out += '+';
    else
      append_hex_escape(out, static_cast<unsigned char>(c));
  }
  return out;
}

std::string xml_escape_attribute(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      // Attribute-value normalisation would turn these into spaces (XML 1.0 §3.3.3).
      case '\t':
        out += "&#9;";
        break;
      case '\n':
        out += "&#10;";
        break;
      case '\r':
        out += "&#13;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// The model becomes part of an element name ("CP-8841-3PCC" + "Execute"): letters, digits, '-', '_', '.'.
bool valid_model(std::string_view model) {
  return !model.empty() &&
         ((is_alnum(model.front()) && !(model.front() >= '0' && model.front() <= '9')) ||
          model.front() == '_') &&
         std::all_of(model.begin(), model.end(),
                     [](char c) { return is_alnum(c) || c == '-' || c == '_' || c == '.'; });
}

// The object of seed 004 ("Mise à disposition au moyen de Cisco XML"). Without a model it is the
// classic CiscoIPPhoneExecute of the Cisco XML services.
std::string execute_object(std::string_view model, std::string_view profile_rule) {
  std::string root = std::string(model.empty() ? "CiscoIPPhone" : model) + "Execute";
  return "<" + root + "><ExecuteItem URL=\"Resync:" + xml_escape_attribute(profile_rule) + "\"/></" + root +
         ">";
}

// Value of attribute `name` in the first <element ...> of `xml`, if any.
std::optional<std::string> xml_attribute(std::string_view xml, std::string_view element,
                                         std::string_view name) {
  std::size_t start = xml.find("<" + std::string(element));
  if (start == std::string_view::npos) return std::nullopt;
  std::size_t end = xml.find('>', start);
  std::string_view tag = xml.substr(start, end == std::string_view::npos ? xml.npos : end - start);
  std::size_t pos = 0;
  while ((pos = tag.find(name, pos)) != std::string_view::npos) {
    std::size_t after = pos + name.size();
    bool boundary = pos > 0 && (tag[pos - 1] == ' ' || tag[pos - 1] == '\t' || tag[pos - 1] == '\n');
    while (after < tag.size() && tag[after] == ' ') ++after;
    if (boundary && after + 1 < tag.size() && tag[after] == '=') {
      ++after;
      while (after < tag.size() && tag[after] == ' ') ++after;
      if (after < tag.size() && (tag[after] == '"' || tag[after] == '\'')) {
        std::size_t close = tag.find(tag[after], after + 1);
        if (close != std::string_view::npos) return std::string(tag.substr(after + 1, close - after - 1));
      }
    }
    pos = after;
  }
  return std::nullopt;
}

// Cisco phones answer a pushed object with HTTP 200 even when they refuse it: a
// <CiscoIPPhoneError Number="N"/>, or a ResponseItem whose Status is not 0.
std::optional<std::string> cisco_refusal(std::string_view answer) {
  if (auto number = xml_attribute(answer, "CiscoIPPhoneError", "Number")) {
    std::string text = "CiscoIPPhoneError " + *number;
    if (*number == "1")
      text += " (error parsing the Execute object)";
    else if (*number == "2")
      text += " (error framing the response)";
    else if (*number == "3")
      text += " (internal file error)";
    else if (*number == "4")
      text += " (authentication error)";
    return text;
  }
  if (auto status = xml_attribute(answer, "ResponseItem", "Status"); status && *status != "0") {
    std::string text = "ResponseItem Status " + *status;
    if (auto data = xml_attribute(answer, "ResponseItem", "Data"); data && !data->empty())
      text += ": " + *data;
    return text;
  }
  return std::nullopt;
}

std::string timeout_text(std::chrono::milliseconds t) {
  return "timeout after " + std::to_string(t.count()) + " ms";
}

struct NotifyFields {
  std::string_view transport;  // "UDP" or "TCP"
  std::string request_uri;
  std::string via_sent_by;  // host:port
  std::string branch;
  std::string domain;
  std::string from_tag;
  std::string to_uri;
  std::string call_id;
  std::string contact;
  std::string event;
};

// An out-of-dialog NOTIFY as provisioning servers send to phones (RFC 6665 §4.2.2
// headers; RFC 3261 §8.1.1 request basics). There is no subscription behind it,
// hence "terminated", which is what Asterisk and BroadWorks send with check-sync.
std::string build_notify(const NotifyFields& f) {
  std::string m;
  m.reserve(512);
  m += "NOTIFY " + f.request_uri + " SIP/2.0\r\n";
  m += "Via: SIP/2.0/" + std::string(f.transport) + " " + f.via_sent_by;
  if (f.transport == "UDP") m += ";rport";  // RFC 3581: answer to the source port, through NAT
  m += ";branch=" + f.branch + "\r\n";
  m += "Max-Forwards: 70\r\n";
  m += "From: <sip:provisioning@" + f.domain + ">;tag=" + f.from_tag + "\r\n";
  m += "To: <" + f.to_uri + ">\r\n";
  m += "Call-ID: " + f.call_id + "\r\n";
  m += "CSeq: 1 NOTIFY\r\n";
  m += "Contact: " + f.contact + "\r\n";
  m += "Event: " + f.event + "\r\n";
  m += "Subscription-State: terminated\r\n";
  m += "User-Agent: ucedge\r\n";
  m += "Content-Length: 0\r\n\r\n";
  return m;
}

struct JobState {
  PushJob job;                              // guarded by Pusher::mu
  std::size_t done = 0;                     // guarded by Pusher::mu
  std::vector<PushTarget> targets;          // immutable, read by the io thread
  std::vector<Steady::time_point> started;  // io thread
  std::size_t next = 0;                     // io thread
  std::size_t active = 0;                   // io thread
  bool pumping = false;                     // io thread
};

}  // namespace

std::string_view to_string(PushMethod m) {
  switch (m) {
    case PushMethod::sip_udp:
      return "sip_udp";
    case PushMethod::sip_tcp:
      return "sip_tcp";
    case PushMethod::cgi:
      return "cgi";
  }
  return "unknown";
}

std::optional<PushMethod> push_method_from_string(std::string_view text) {
  for (std::string_view s : {"sip_udp", "sip-udp", "sip", "udp"}) {
    if (core::iequals(text, s)) return PushMethod::sip_udp;
  }
  for (std::string_view s : {"sip_tcp", "sip-tcp", "tcp"}) {
    if (core::iequals(text, s)) return PushMethod::sip_tcp;
  }
  if (core::iequals(text, "cgi") || core::iequals(text, "xml")) return PushMethod::cgi;
  return std::nullopt;
}

std::string_view to_string(PushState s) {
  switch (s) {
    case PushState::pending:
      return "pending";
    case PushState::running:
      return "running";
    case PushState::delivered:
      return "delivered";
    case PushState::failed:
      return "failed";
  }
  return "unknown";
}

namespace {

class Operation;
class UdpNotify;
class CgiRequest;

// A descriptor libcurl asked us to watch; never owned (curl closes it).
struct CurlWatch {
  explicit CurlWatch(asio::io_context& io) : descriptor(io) {}
  ~CurlWatch() {
    if (descriptor.is_open()) descriptor.release();
  }
  asio::posix::stream_descriptor descriptor;
  curl_socket_t fd = CURL_SOCKET_BAD;
  int want = 0;  // CURL_POLL_IN / OUT / INOUT
  bool reading = false;
  bool writing = false;
  bool alive = true;
};

}  // namespace

// Everything behind ResyncPusher; a plain class so the operations below can name it.
struct Pusher {
  explicit Pusher(ResyncPushConfig c);
  ~Pusher();
  Pusher(const Pusher&) = delete;
  Pusher& operator=(const Pusher&) = delete;

  core::Result<std::uint16_t> start();
  void stop();
  std::string submit(std::vector<PushTarget> targets);
  std::optional<PushJob> snapshot(const std::string& id) const;
  std::optional<PushJob> wait(const std::string& id, std::chrono::milliseconds wait) const;

  std::string random_hex(std::size_t bytes);

  // io thread
  void pump(const std::shared_ptr<JobState>& job);
  void launch(const std::shared_ptr<JobState>& job, std::size_t index);
  void complete(const std::shared_ptr<JobState>& job, std::size_t index, PushState state, int status,
                std::string detail);
  void receive();
  void shutdown_io();
  asio::ip::address via_address_toward(const udp::endpoint& peer);
  std::string contact() const;

  // libcurl's multi interface driven by the io_context (curl_multi_socket_action).
  static int on_curl_socket(CURL* easy, curl_socket_t fd, int what, void* user, void* socket_user);
  static int on_curl_timer(CURLM* multi, long timeout_ms, void* user);
  static int on_curl_close(void* user, curl_socket_t fd);
  void curl_watch(curl_socket_t fd, int what);
  void curl_unwatch(curl_socket_t fd);
  void curl_arm(const std::shared_ptr<CurlWatch>& w);
  void curl_action(curl_socket_t fd, int events);
  void curl_check_done();

  void fail_unfinished_locked(const std::string& detail);
  void prune_locked();

  const ResyncPushConfig config;
  std::shared_ptr<spdlog::logger> log = core::logger("prov");

  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread thread;

  // io thread from start() on.
  udp::socket sip_socket{io};
  udp::endpoint udp_local;
  std::array<char, kMaxSipMessage> rx{};
  udp::endpoint rx_peer;
  std::unordered_map<std::string, std::weak_ptr<UdpNotify>> udp_transactions;  // by Via branch
  std::unordered_map<Operation*, std::shared_ptr<Operation>> operations;
  bool stopping_io = false;

  CURLM* multi = nullptr;
  asio::steady_timer curl_timer{io};
  std::unordered_map<curl_socket_t, std::shared_ptr<CurlWatch>> curl_watches;
  std::unordered_map<CURL*, CgiRequest*> curl_requests;

  mutable std::mutex mu;
  mutable std::condition_variable cv;
  std::unordered_map<std::string, std::shared_ptr<JobState>> jobs;
  std::deque<std::string> finished_order;  // oldest first
  bool started = false;
  bool stopped = false;

  std::mutex rng_mu;
  std::mt19937_64 rng{std::random_device{}()};
};

namespace {

std::optional<std::string> check_sip_target(const PushTarget& t) {
  if (!valid_host(t.host)) return "invalid host \"" + t.host + "\"";
  if (!t.event.empty() && !is_token(t.event)) return "invalid event \"" + t.event + "\"";
  return std::nullopt;
}

// One device of a job being pushed; lives in Pusher::operations until it finishes.
class Operation : public std::enable_shared_from_this<Operation> {
 public:
  Operation(Pusher& impl, std::shared_ptr<JobState> job, std::size_t index)
      : impl_(impl), job_(std::move(job)), index_(index) {}
  virtual ~Operation() = default;
  virtual void start() = 0;
  void cancel() { finish(PushState::failed, 0, "stopped"); }

 protected:
  const PushTarget& target() const { return job_->targets[index_]; }
  bool finished() const { return finished_; }

  void finish(PushState state, int status, std::string detail) {
    if (finished_) return;
    finished_ = true;
    auto self = shared_from_this();
    release();
    impl_.operations.erase(this);
    impl_.complete(job_, index_, state, status, std::move(detail));
  }
  virtual void release() = 0;

  // The start both SIP transports share: refuse a bad target, or start the
  // clock the phone has to answer in. False when the push already failed.
  bool begin_sip() {
    if (auto bad = check_sip_target(target())) {
      finish(PushState::failed, 0, *bad);
      return false;
    }
    deadline_.expires_after(impl_.config.timeout);
    deadline_.async_wait([self = shared_from_this(), this](boost::system::error_code ec) {
      if (!ec) finish(PushState::failed, 0, timeout_text(impl_.config.timeout));
    });
    return true;
  }

  Pusher& impl_;
  std::shared_ptr<JobState> job_;
  std::size_t index_;
  asio::steady_timer deadline_{impl_.io};

 private:
  bool finished_ = false;
};


std::uint16_t sip_port(const PushTarget& t) { return t.port == 0 ? 5060 : t.port; }  // RFC 3261 §19.1.2

std::string request_uri(const PushTarget& t, bool tcp) {
  std::string uri = "sip:";
  if (!t.user.empty()) uri += escape_user(t.user) + "@";
  uri += uri_host(t.host) + ":" + std::to_string(sip_port(t));
  if (tcp) uri += ";transport=tcp";
  return uri;
}

std::string to_uri(const PushTarget& t) {
  return "sip:" + (t.user.empty() ? std::string() : escape_user(t.user) + "@") + uri_host(t.host);
}

// SIP NOTIFY over UDP from the shared source socket: a non-INVITE client transaction (RFC 3261 §17.1.2).
class UdpNotify final : public Operation {
 public:
  using Operation::Operation;

  void start() override {
    if (!begin_sip()) return;
    std::string host(strip_brackets(target().host));
    boost::system::error_code ec;
    asio::ip::address address = asio::ip::make_address(host, ec);
    if (!ec) return send_first(udp::endpoint(address, sip_port(target())));
    resolver_.async_resolve(
        host, std::to_string(sip_port(target())),
        [self = shared(), this, host](boost::system::error_code ec, udp::resolver::results_type r) {
          if (finished()) return;
          if (ec) return finish(PushState::failed, 0, "cannot resolve " + host + ": " + ec.message());
          for (const auto& entry : r) {
            if (entry.endpoint().address().is_v4() == impl_.udp_local.address().is_v4()) {
              return send_first(entry.endpoint());
            }
          }
          finish(PushState::failed, 0, "no address of " + host + " in the family of sip_host");
        });
  }

  void on_response(const SipResponse& r) {
    if (finished() || r.call_id != call_id_ || !core::iequals(r.cseq_method, "NOTIFY")) return;
    if (r.status < 200) {
      proceeding_ = true;  // §17.1.2.2: keep retransmitting, now every T2
      return;
    }
    std::string detail = std::to_string(r.status) + (r.reason.empty() ? "" : " " + r.reason);
    finish(r.status < 300 ? PushState::delivered : PushState::failed, r.status, std::move(detail));
  }

 private:
  std::shared_ptr<UdpNotify> shared() { return std::static_pointer_cast<UdpNotify>(shared_from_this()); }

  void send_first(const udp::endpoint& peer) {
    if (peer.address().is_v4() != impl_.udp_local.address().is_v4()) {
      return finish(PushState::failed, 0, "address family of " + target().host + " differs from sip_host");
    }
    peer_ = peer;
    asio::ip::address via = impl_.via_address_toward(peer);
    branch_ = "z9hG4bK" + impl_.random_hex(12);  // RFC 3261 §8.1.1.7 magic cookie
    call_id_ = impl_.random_hex(16) + "@" + via.to_string();
    NotifyFields f;
    f.transport = "UDP";
    f.request_uri = request_uri(target(), false);
    f.via_sent_by = uri_host(via) + ":" + std::to_string(impl_.udp_local.port());
    f.branch = branch_;
    f.domain = impl_.config.sip_domain;
    f.from_tag = impl_.random_hex(8);
    f.to_uri = to_uri(target());
    f.call_id = call_id_;
    f.contact = "<sip:provisioning@" + f.via_sent_by + ">";
    f.event = target().event.empty() ? "resync" : target().event;
    request_ = build_notify(f);
    impl_.udp_transactions[branch_] = shared();
    send();
    arm_retransmit();
  }

  void send() {
    impl_.sip_socket.async_send_to(
        asio::buffer(request_), peer_, [self = shared(), this](boost::system::error_code ec, std::size_t) {
          if (ec && !finished() && ec != asio::error::operation_aborted) {
            finish(PushState::failed, 0, "cannot send to " + target().host + ": " + ec.message());
          }
        });
  }

  void arm_retransmit() {
    retransmit_.expires_after(interval_);
    retransmit_.async_wait([self = shared(), this](boost::system::error_code ec) {
      if (ec || finished()) return;
      send();
      interval_ = proceeding_ ? kT2 : std::min(interval_ * 2, kT2);
      arm_retransmit();
    });
  }

  void release() override {
    resolver_.cancel();
    retransmit_.cancel();
    deadline_.cancel();
    if (!branch_.empty()) impl_.udp_transactions.erase(branch_);
  }

  udp::resolver resolver_{impl_.io};
  asio::steady_timer retransmit_{impl_.io};
  udp::endpoint peer_;
  std::string request_;
  std::string branch_;
  std::string call_id_;
  Steady::duration interval_ = kT1;
  bool proceeding_ = false;
};

// SIP NOTIFY over its own TCP connection; the answer comes back on it (RFC 3261 §18.2.2).
class TcpNotify final : public Operation {
 public:
  using Operation::Operation;

  void start() override {
    if (!begin_sip()) return;
    std::string host(strip_brackets(target().host));
    boost::system::error_code ec;
    asio::ip::address address = asio::ip::make_address(host, ec);
    if (!ec) return connect({tcp::endpoint(address, sip_port(target()))});
    resolver_.async_resolve(
        host, std::to_string(sip_port(target())),
        [self = shared(), this, host](boost::system::error_code ec, tcp::resolver::results_type r) {
          if (finished()) return;
          if (ec) return finish(PushState::failed, 0, "cannot resolve " + host + ": " + ec.message());
          std::vector<tcp::endpoint> endpoints;
          for (const auto& entry : r) endpoints.push_back(entry.endpoint());
          connect(std::move(endpoints));
        });
  }

 private:
  std::shared_ptr<TcpNotify> shared() { return std::static_pointer_cast<TcpNotify>(shared_from_this()); }

  void connect(std::vector<tcp::endpoint> endpoints) {
    endpoints_ = std::move(endpoints);
    asio::async_connect(
        socket_, endpoints_, [self = shared(), this](boost::system::error_code ec, const tcp::endpoint&) {
          if (finished()) return;
          if (ec == asio::error::connection_refused)
            return finish(PushState::failed, 0, "connection refused");
          if (ec)
            return finish(PushState::failed, 0, "cannot connect to " + target().host + ": " + ec.message());
          send();
        });
  }

  void send() {
    boost::system::error_code ec;
    tcp::endpoint local = socket_.local_endpoint(ec);
    if (ec) return finish(PushState::failed, 0, "connection lost: " + ec.message());
    branch_ = "z9hG4bK" + impl_.random_hex(12);
    call_id_ = impl_.random_hex(16) + "@" + local.address().to_string();
    NotifyFields f;
    f.transport = "TCP";
    f.request_uri = request_uri(target(), true);
    f.via_sent_by = uri_host(local.address()) + ":" + std::to_string(local.port());
    f.branch = branch_;
    f.domain = impl_.config.sip_domain;
    f.from_tag = impl_.random_hex(8);
    f.to_uri = to_uri(target());
    f.call_id = call_id_;
    f.contact = impl_.contact();
    f.event = target().event.empty() ? "resync" : target().event;
    request_ = build_notify(f);
    asio::async_write(socket_, asio::buffer(request_),
                      [self = shared(), this](boost::system::error_code ec, std::size_t) {
                        if (finished()) return;
                        if (ec) return finish(PushState::failed, 0, "cannot send: " + ec.message());
                        read();
                      });
  }

  void read() {
    socket_.async_read_some(
        asio::buffer(buffer_), [self = shared(), this](boost::system::error_code ec, std::size_t n) {
          if (finished()) return;
          if (ec == asio::error::eof || ec == asio::error::connection_reset) {
            return finish(PushState::failed, 0, "connection closed before a final response");
          }
          if (ec) return finish(PushState::failed, 0, "read error: " + ec.message());
          received_.append(buffer_.data(), n);
          if (process()) read();
        });
  }

  // Handles every whole message received so far; false once finished.
  bool process() {
    while (true) {
      // Keep-alive CRLFs (RFC 5626 §4.4.1) may precede a message.
      std::size_t skip = received_.find_first_not_of("\r\n");
      received_.erase(0, skip == std::string::npos ? received_.size() : skip);
      auto length = sip_stream_message_length(received_);
      if (!length) {
        finish(PushState::failed, 0, "bad answer: " + std::string(to_string(length.error())));
        return false;
      }
      if (*length == 0) return true;
      auto response = parse_sip_response(std::string_view(received_).substr(0, *length));
      received_.erase(0, *length);
      if (!response) {
        if (response.error() == SipParseError::not_a_response)
          continue;  // a request from the phone: not ours
        finish(PushState::failed, 0, "bad answer: " + std::string(to_string(response.error())));
        return false;
      }
      const SipResponse& r = *response;
      if (r.call_id != call_id_ || (!r.via_branch.empty() && r.via_branch != branch_)) continue;
      if (r.status < 200) continue;
      std::string detail = std::to_string(r.status) + (r.reason.empty() ? "" : " " + r.reason);
      finish(r.status < 300 ? PushState::delivered : PushState::failed, r.status, std::move(detail));
      return false;
    }
  }

  void release() override {
    resolver_.cancel();
    deadline_.cancel();
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  tcp::resolver resolver_{impl_.io};
  tcp::socket socket_{impl_.io};
  std::vector<tcp::endpoint> endpoints_;
  std::string request_;
  std::string branch_;
  std::string call_id_;
  std::string received_;
  std::array<char, 4096> buffer_{};
};

// HTTP POST of the Execute object to the phone's /CGI/Execute, as Cisco XML services push to phones.
class CgiRequest final : public Operation {
 public:
  using Operation::Operation;

  ~CgiRequest() override {
    if (easy_ != nullptr) curl_easy_cleanup(easy_);
    if (headers_ != nullptr) curl_slist_free_all(headers_);
  }

  void start() override {
    const PushTarget& t = target();
    if (!t.model.empty() && !valid_model(t.model))
      return finish(PushState::failed, 0, "invalid model \"" + t.model + "\"");
    if (t.profile_rule.empty()) return finish(PushState::failed, 0, "no profile rule to resync from");
    std::string base = t.host;
    while (!base.empty() && base.back() == '/') base.pop_back();
    if (base.empty() || base.find_first_of(" \t\r\n") != std::string::npos) {
      return finish(PushState::failed, 0, "invalid host \"" + t.host + "\"");
    }
    if (base.find("://") == std::string::npos) base = "http://" + base;
    url_ = base + "/CGI/Execute";
    body_ = "XML=" + form_encode(execute_object(t.model, t.profile_rule));

    easy_ = curl_easy_init();
    if (easy_ == nullptr) return finish(PushState::failed, 0, "cannot create an HTTP request");
    headers_ = curl_slist_append(headers_, "Content-Type: application/x-www-form-urlencoded");
    headers_ = curl_slist_append(headers_, "Expect:");  // small body: no 100-continue round trip
    long timeout_ms = static_cast<long>(impl_.config.timeout.count());
    curl_easy_setopt(easy_, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE, static_cast<long>(body_.size()));
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, body_.c_str());
    curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(easy_, CURLOPT_USERAGENT, "ucedge");
    curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy_, CURLOPT_FORBID_REUSE, 1L);  // one request per phone
    curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, error_.data());
    curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &CgiRequest::on_body);
    curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, &CgiRequest::on_header);
    curl_easy_setopt(easy_, CURLOPT_HEADERDATA, this);
    curl_easy_setopt(easy_, CURLOPT_CLOSESOCKETFUNCTION, &Pusher::on_curl_close);
    curl_easy_setopt(easy_, CURLOPT_CLOSESOCKETDATA, &impl_);
    if (!t.cgi_user.empty()) {
      curl_easy_setopt(easy_, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
      curl_easy_setopt(easy_, CURLOPT_USERNAME, t.cgi_user.c_str());
      curl_easy_setopt(easy_, CURLOPT_PASSWORD, t.cgi_password.c_str());
    }
    impl_.curl_requests[easy_] = this;
    if (curl_multi_add_handle(impl_.multi, easy_) != CURLM_OK) {
      impl_.curl_requests.erase(easy_);
      return finish(PushState::failed, 0, "cannot start the HTTP request");
    }
    added_ = true;
  }

  void on_done(CURLcode rc) {
    if (rc == CURLE_OPERATION_TIMEDOUT)
      return finish(PushState::failed, 0, timeout_text(impl_.config.timeout));
    if (rc != CURLE_OK) {
      return finish(PushState::failed, 0,
                    error_[0] != '\0' ? std::string(error_.data()) : curl_easy_strerror(rc));
    }
    long code = 0;
    curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &code);
    std::string detail = status_text_.empty() ? std::to_string(code) : status_text_;
    if (code < 200 || code >= 300)
      return finish(PushState::failed, static_cast<int>(code), std::move(detail));
    if (auto refusal = cisco_refusal(answer_))
      return finish(PushState::failed, static_cast<int>(code), *refusal);
    finish(PushState::delivered, static_cast<int>(code), std::move(detail));
  }

 private:
  static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
    auto* self = static_cast<CgiRequest*>(user);
    std::size_t n = size * count;
    std::size_t room = kMaxCgiAnswer - std::min(kMaxCgiAnswer, self->answer_.size());
    self->answer_.append(data, std::min(n, room));
    return n;
  }

  // Keeps "401 Unauthorized" from the status line of the last response.
  static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
    auto* self = static_cast<CgiRequest*>(user);
    std::size_t n = size * count;
    std::string_view line(data, n);
    if (line.size() > 5 && line.substr(0, 5) == "HTTP/") {
      std::size_t sp = line.find(' ');
      std::string_view rest = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
      while (!rest.empty() && (rest.back() == '\r' || rest.back() == '\n' || rest.back() == ' '))
        rest.remove_suffix(1);
      self->status_text_.assign(rest.substr(0, 200));
    }
    return n;
  }

  void release() override {
    if (!added_) return;
    added_ = false;
    impl_.curl_requests.erase(easy_);
    curl_multi_remove_handle(impl_.multi, easy_);
  }

  CURL* easy_ = nullptr;
  curl_slist* headers_ = nullptr;
  bool added_ = false;
  std::string url_;
  std::string body_;
  std::string answer_;
  std::string status_text_;
  std::array<char, CURL_ERROR_SIZE> error_{};
};

}  // namespace

Pusher::Pusher(ResyncPushConfig c) : config(std::move(c)) {
  static std::once_flag curl_once;
  std::call_once(curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  multi = curl_multi_init();
  if (multi == nullptr) throw std::runtime_error("resync push: cannot initialise libcurl");
  curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &Pusher::on_curl_socket);
  curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &Pusher::on_curl_timer);
  curl_multi_setopt(multi, CURLMOPT_TIMERDATA, this);
}

Pusher::~Pusher() {
  stop();
  // Every transfer was removed by shutdown_io(); this closes what curl still caches.
  curl_multi_cleanup(multi);
  curl_watches.clear();
}

core::Result<std::uint16_t> Pusher::start() {
  {
    std::lock_guard lock(mu);
    if (stopped) return core::fail(std::string("resync push: already stopped"));
    if (started) return udp_local.port();
  }
  if (config.sip_domain.empty() || !valid_host(config.sip_domain)) {
    return core::fail("resync push: invalid sip domain \"" + config.sip_domain + "\"");
  }
  boost::system::error_code ec;
  asio::ip::address address = asio::ip::make_address(std::string(strip_brackets(config.sip_host)), ec);
  if (ec) return core::fail("resync push: sip host \"" + config.sip_host + "\" is not an IP address");
  udp::endpoint endpoint(address, config.sip_port);
  sip_socket.open(endpoint.protocol(), ec);
  if (!ec) sip_socket.bind(endpoint, ec);
  if (ec) {
    sip_socket.close(ec);
    return core::fail("resync push: cannot bind UDP " + uri_host(address) + ":" +
                      std::to_string(config.sip_port) + ": " + ec.message());
  }
  udp_local = sip_socket.local_endpoint(ec);
  if (ec) return core::fail("resync push: " + ec.message());

  receive();
  work.emplace(io.get_executor());
  {
    std::lock_guard lock(mu);
    started = true;
  }
  thread = std::thread([this] {
    while (true) {
      try {
        io.run();
        return;
      } catch (const std::exception& e) {
        log->error("resync push: {}", e.what());
      }
    }
  });
  log->info("resync push: SIP NOTIFYs leave from {}:{}", uri_host(udp_local.address()), udp_local.port());
  return udp_local.port();
}

void Pusher::stop() {
  {
    std::lock_guard lock(mu);
    if (stopped) return;
    stopped = true;
  }
  if (thread.joinable()) {
    asio::post(io, [this] { shutdown_io(); });
    thread.join();
  }
  {
    std::lock_guard lock(mu);
    fail_unfinished_locked("stopped");
  }
  cv.notify_all();
}

// Ends every transfer in flight; io.run() then returns once their handlers have run.
void Pusher::shutdown_io() {
  stopping_io = true;
  boost::system::error_code ignored;
  sip_socket.close(ignored);
  std::vector<std::shared_ptr<Operation>> in_flight;
  for (auto& [ptr, op] : operations) in_flight.push_back(op);
  for (auto& op : in_flight) op->cancel();
  curl_timer.cancel();
  for (auto& [fd, w] : curl_watches) {
    w->alive = false;
    if (w->descriptor.is_open()) w->descriptor.release();
  }
  curl_watches.clear();
  work.reset();
}

std::string Pusher::random_hex(std::size_t bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  std::lock_guard lock(rng_mu);
  while (out.size() < bytes * 2) {
    std::uint64_t v = rng();
    for (int i = 0; i < 16 && out.size() < bytes * 2; ++i, v >>= 4) out += kHex[v & 15];
  }
  return out;
}

std::string Pusher::submit(std::vector<PushTarget> targets) {
  auto state = std::make_shared<JobState>();
  state->job.created = core::RealClock::instance().now();
  state->job.results.reserve(targets.size());
  for (const auto& t : targets) {
    PushResult r;
    r.target = t;
    state->job.results.push_back(std::move(r));
  }
  state->targets = std::move(targets);
  state->started.resize(state->targets.size());

  bool run = false;
  {
    std::lock_guard lock(mu);
    do {
      state->job.id = random_hex(8);
    } while (jobs.count(state->job.id) != 0);
    jobs.emplace(state->job.id, state);
    if (stopped) {
      fail_unfinished_locked("resync push is stopped");
    } else if (state->targets.empty()) {
      state->job.finished = true;
      finished_order.push_back(state->job.id);
      prune_locked();
    } else {
      run = true;
    }
  }
  cv.notify_all();
  if (run) asio::post(io, [this, state] { pump(state); });
  return state->job.id;
}

std::optional<PushJob> Pusher::snapshot(const std::string& id) const {
  std::lock_guard lock(mu);
  auto it = jobs.find(id);
  if (it == jobs.end()) return std::nullopt;
  return it->second->job;
}

std::optional<PushJob> Pusher::wait(const std::string& id, std::chrono::milliseconds wait) const {
  std::unique_lock lock(mu);
  wait = std::min(wait, std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::hours(24 * 365)));
  cv.wait_for(lock, wait, [&] {
    auto it = jobs.find(id);
    return it == jobs.end() || it->second->job.finished;
  });
  auto it = jobs.find(id);
  if (it == jobs.end()) return std::nullopt;
  return it->second->job;
}

void Pusher::pump(const std::shared_ptr<JobState>& job) {
  // A target that fails at once completes inside launch() and calls pump() again: the outer loop goes on.
  if (job->pumping || stopping_io) return;
  job->pumping = true;
  const std::size_t limit = std::max<std::size_t>(1, config.parallel);
  while (job->active < limit && job->next < job->targets.size() && !stopping_io) {
    std::size_t index = job->next++;
    ++job->active;
    job->started[index] = Steady::now();
    {
      std::lock_guard lock(mu);
      job->job.results[index].state = PushState::running;
    }
    launch(job, index);
  }
  job->pumping = false;
}

void Pusher::launch(const std::shared_ptr<JobState>& job, std::size_t index) {
  std::shared_ptr<Operation> op;
  switch (job->targets[index].method) {
    case PushMethod::sip_udp:
      op = std::make_shared<UdpNotify>(*this, job, index);
      break;
    case PushMethod::sip_tcp:
      op = std::make_shared<TcpNotify>(*this, job, index);
      break;
    case PushMethod::cgi:
      op = std::make_shared<CgiRequest>(*this, job, index);
      break;
  }
  operations.emplace(op.get(), op);
  op->start();
}

void Pusher::complete(const std::shared_ptr<JobState>& job, std::size_t index, PushState state, int status,
                      std::string detail) {
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - job->started[index]);
  bool all_done = false;
  std::size_t delivered = 0;
  {
    std::lock_guard lock(mu);
    PushResult& r = job->job.results[index];
    r.state = state;
    r.status = status;
    r.detail = std::move(detail);
    r.elapsed = elapsed;
    all_done = ++job->done == job->job.results.size();
    if (all_done) {
      job->job.finished = true;
      for (const auto& each : job->job.results) delivered += each.state == PushState::delivered ? 1 : 0;
      finished_order.push_back(job->job.id);
      prune_locked();
    }
  }
  if (all_done) {
    cv.notify_all();
    log->info("resync push job {}: {} of {} devices reached", job->job.id, delivered, job->targets.size());
  }
  --job->active;
  pump(job);
}

void Pusher::fail_unfinished_locked(const std::string& detail) {
  for (auto& [id, job] : jobs) {
    if (job->job.finished) continue;
    for (auto& r : job->job.results) {
      if (r.state == PushState::pending || r.state == PushState::running) {
        r.state = PushState::failed;
        r.detail = detail;
      }
    }
    job->done = job->job.results.size();
    job->job.finished = true;
    finished_order.push_back(id);
  }
  prune_locked();
}

void Pusher::prune_locked() {
  const std::size_t keep = std::max<std::size_t>(1, config.max_jobs_kept);
  while (finished_order.size() > keep) {
    jobs.erase(finished_order.front());
    finished_order.pop_front();
  }
}

void Pusher::receive() {
  sip_socket.async_receive_from(
      asio::buffer(rx), rx_peer, [this](boost::system::error_code ec, std::size_t n) {
        if (ec == asio::error::operation_aborted || !sip_socket.is_open()) return;
        // An ICMP error reported late or an oversized datagram does not stop the socket; anything else does.
        if (ec && ec != asio::error::connection_refused && ec != asio::error::connection_reset &&
            ec != asio::error::message_size && ec != asio::error::host_unreachable &&
            ec != asio::error::network_unreachable) {
          log->error("resync push: SIP socket stopped receiving: {}", ec.message());
          return;
        }
        if (!ec) {
          auto response = parse_sip_response(std::string_view(rx.data(), n));
          // Answers are matched by the branch we chose (RFC 3261 §17.1.3); anything else is dropped.
          if (response && !response->via_branch.empty()) {
            auto it = udp_transactions.find(response->via_branch);
            if (it != udp_transactions.end()) {
              if (auto transaction = it->second.lock()) transaction->on_response(*response);
            }
          }
        }
        receive();
      });
}

asio::ip::address Pusher::via_address_toward(const udp::endpoint& peer) {
  if (!udp_local.address().is_unspecified()) return udp_local.address();
  // Bound to any address: the one the kernel routes toward this phone is the one it can answer to.
  boost::system::error_code ec;
  udp::socket probe(io);
  probe.open(peer.protocol(), ec);
  if (!ec) probe.connect(peer, ec);
  if (!ec) {
    auto local = probe.local_endpoint(ec);
    if (!ec) return local.address();
  }
  return peer.address().is_v4() ? asio::ip::address(asio::ip::address_v4::loopback())
                                : asio::ip::address(asio::ip::address_v6::loopback());
}

std::string Pusher::contact() const {
  return "<sip:provisioning@" + uri_host(udp_local.address()) + ":" + std::to_string(udp_local.port()) + ">";
}

int Pusher::on_curl_socket(CURL*, curl_socket_t fd, int what, void* user, void*) {
  auto* self = static_cast<Pusher*>(user);
  if (what == CURL_POLL_REMOVE)
    self->curl_unwatch(fd);
  else
    self->curl_watch(fd, what);
  return 0;
}

int Pusher::on_curl_timer(CURLM*, long timeout_ms, void* user) {
  auto* self = static_cast<Pusher*>(user);
  if (timeout_ms < 0 || self->stopping_io) {
    self->curl_timer.cancel();
    return 0;
  }
  // curl_multi_socket_action must not be called from inside this callback: go through the loop.
  self->curl_timer.expires_after(std::chrono::milliseconds(timeout_ms));
  self->curl_timer.async_wait([self](boost::system::error_code ec) {
    if (!ec) self->curl_action(CURL_SOCKET_TIMEOUT, 0);
  });
  return 0;
}

// curl closes its sockets itself; the descriptor must leave the reactor first.
int Pusher::on_curl_close(void* user, curl_socket_t fd) {
  static_cast<Pusher*>(user)->curl_unwatch(fd);
  return ::close(fd);
}

void Pusher::curl_watch(curl_socket_t fd, int what) {
  if (stopping_io) return;
  auto it = curl_watches.find(fd);
  if (it == curl_watches.end()) {
    auto w = std::make_shared<CurlWatch>(io);
    w->fd = fd;
    boost::system::error_code ec;
    w->descriptor.assign(fd, ec);
    if (ec) {
      log->warn("resync push: cannot watch an HTTP socket: {}", ec.message());
      return;  // the transfer ends on its timeout
    }
    it = curl_watches.emplace(fd, std::move(w)).first;
  }
  it->second->want = what;
  curl_arm(it->second);
}

void Pusher::curl_unwatch(curl_socket_t fd) {
  auto it = curl_watches.find(fd);
  if (it == curl_watches.end()) return;
  it->second->alive = false;
  if (it->second->descriptor.is_open()) it->second->descriptor.release();  // cancels its waits
  curl_watches.erase(it);
}

void Pusher::curl_arm(const std::shared_ptr<CurlWatch>& w) {
  if ((w->want & CURL_POLL_IN) && !w->reading) {
    w->reading = true;
    w->descriptor.async_wait(asio::posix::descriptor_base::wait_read,
                             [this, w](boost::system::error_code ec) {
                               w->reading = false;
                               if (ec || !w->alive) return;
                               curl_action(w->fd, CURL_CSELECT_IN);
                               if (w->alive) curl_arm(w);
                             });
  }
  if ((w->want & CURL_POLL_OUT) && !w->writing) {
    w->writing = true;
    w->descriptor.async_wait(asio::posix::descriptor_base::wait_write,
                             [this, w](boost::system::error_code ec) {
                               w->writing = false;
                               if (ec || !w->alive) return;
                               curl_action(w->fd, CURL_CSELECT_OUT);
                               if (w->alive) curl_arm(w);
                             });
  }
}

void Pusher::curl_action(curl_socket_t fd, int events) {
  if (stopping_io) return;
  int running = 0;
  curl_multi_socket_action(multi, fd, events, &running);
  curl_check_done();
}

void Pusher::curl_check_done() {
  int left = 0;
  while (CURLMsg* message = curl_multi_info_read(multi, &left)) {
    if (message->msg != CURLMSG_DONE) continue;
    // The message dies with the handle's removal: copy what we need first.
    CURL* easy = message->easy_handle;
    CURLcode rc = message->data.result;
    auto it = curl_requests.find(easy);
    if (it == curl_requests.end()) {
      curl_multi_remove_handle(multi, easy);
      continue;
    }
    it->second->on_done(rc);
  }
}

struct ResyncPusher::Impl : Pusher {
  using Pusher::Pusher;
};

ResyncPusher::ResyncPusher(ResyncPushConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}

ResyncPusher::~ResyncPusher() = default;

core::Result<std::uint16_t> ResyncPusher::start() { return impl_->start(); }

void ResyncPusher::stop() { impl_->stop(); }

std::string ResyncPusher::submit(std::vector<PushTarget> targets) {
  return impl_->submit(std::move(targets));
}

std::optional<PushJob> ResyncPusher::job(const std::string& id) const { return impl_->snapshot(id); }

std::optional<PushJob> ResyncPusher::wait(const std::string& id, std::chrono::milliseconds wait) const {
  return impl_->wait(id, wait);
}

}  // namespace ucedge::prov
