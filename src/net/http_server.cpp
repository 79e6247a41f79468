#include "net/http_server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <ctime>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "core/io_pool.hpp"
#include "core/log.hpp"
#include "core/log_budget.hpp"
#include "core/metrics.hpp"
#include "net/listen_address.hpp"
#include "net/router.hpp"
#include "net/tls/tls_contexts.hpp"

namespace ucedge::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

// RFC 9110 §6.6.1: an origin server with a clock sends Date. Formatting it
// once a second per thread keeps it off the per-request cost.
std::string_view http_date() {
  thread_local std::time_t cached_second = 0;
  thread_local char buf[40];
  thread_local std::size_t len = 0;
  std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    len = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cached_second = now;
  }
  return {buf, len};
}

// Per-listener metrics, resolved once so a request touches only atomics.
class ListenerMetrics {
 public:
  ListenerMetrics(core::MetricsRegistry& registry, const std::string& listener)
      : registry_(registry), label_("listener=\"" + core::escape_label(listener) + "\"") {
    open_ = &registry.gauge("ucedge_http_open_connections", "Connections open now.", label_);
    accepted_ = &registry.counter("ucedge_http_connections_total", "Connections accepted.", label_);
    refused_ = &registry.counter("ucedge_http_connections_refused_total",
                                 "Connections closed at once because max_connections was reached.", label_);
    handshake_failures_ = &registry.counter("ucedge_tls_handshake_failures_total",
                                            "TLS handshakes that failed or were refused by the policy.", label_);
    latency_ = &registry.histogram("ucedge_http_request_duration_seconds",
                                   "Time from a complete request to its handler's response.", label_);
    for (auto& c : by_status_) c.store(nullptr, std::memory_order_relaxed);
  }

  // A handled request: its status and how long the handler took.
  void request(int status, double seconds) {
    latency_->observe(seconds);
    count(status);
  }

  // A request refused before it reached a handler has a status but no
  // handling time to observe.
  void count(int status) {
    if (status < 100 || status > 599) status = 500;
    core::Counter* c = by_status_[status].load(std::memory_order_acquire);
    if (c == nullptr) {
      c = &registry_.counter("ucedge_http_requests_total", "Requests answered, by status code.",
                             label_ + ",code=\"" + std::to_string(status) + "\"");
      by_status_[status].store(c, std::memory_order_release);
    }
    c->inc();
  }

  core::Gauge* open_;
  core::Counter* accepted_;
  core::Counter* refused_;
  core::Counter* handshake_failures_;

 private:
  core::MetricsRegistry& registry_;
  std::string label_;
  core::Histogram* latency_;
  std::array<std::atomic<core::Counter*>, 600> by_status_;
};

}  // namespace

class SessionBase;

struct ServerState {
  HttpConfig config;
  const Router& router;
  std::shared_ptr<tls::TlsContexts> tls;
  core::MetricsRegistry& registry;
  core::IoPool& pool;
  // Runs the handlers routed Runs::on_worker; made by start().
  std::unique_ptr<asio::thread_pool> workers;
  std::shared_ptr<spdlog::logger> log = core::logger("http");
  std::shared_ptr<spdlog::logger> access_log = core::logger("access");
  std::atomic<std::size_t> open{0};
  std::atomic<bool> draining{false};
  core::LogBudget accept_errors_budget{10, std::chrono::seconds(10)};
  // Sessions by io_context, each set touched only from its context's thread.
  std::vector<std::unordered_set<SessionBase*>> sessions;
  // Owned here, not by the server object: sessions destroyed with the io
  // contexts after the server is gone still update their gauges.
  std::vector<std::unique_ptr<ListenerMetrics>> listener_metrics;

  ServerState(HttpConfig c, const Router& r, std::shared_ptr<tls::TlsContexts> t,
              core::MetricsRegistry& m, core::IoPool& p)
      : config(std::move(c)), router(r), tls(std::move(t)), registry(m), pool(p), sessions(p.size()) {}
};

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Called on the session's own thread when the server drains or gives up.
  virtual void drain() = 0;
  virtual void force_close() = 0;
};

template <bool Tls>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<Tls>> {
  using Stream = std::conditional_t<Tls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

 public:
  Session(tcp::socket socket, std::shared_ptr<ServerState> state, std::size_t context_index,
          ListenerMetrics& metrics, const ListenerConfig& listener,
          std::shared_ptr<asio::ssl::context> tls_context)
      : state_(std::move(state)),
        context_index_(context_index),
        metrics_(metrics),
        listener_(listener),
        tls_context_(std::move(tls_context)),
        stream_(make_stream(std::move(socket))) {
    error_code ec;
    auto remote = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    if (!ec) {
      remote_address_ = remote.address().to_string();
      remote_port_ = remote.port();
    }
    beast::get_lowest_layer(stream_).socket().set_option(tcp::no_delay(true), ec);
    state_->sessions[context_index_].insert(this);
    metrics_.open_->add(1);
  }

  ~Session() override {
    state_->sessions[context_index_].erase(this);
    metrics_.open_->add(-1);
    state_->open.fetch_sub(1, std::memory_order_relaxed);
  }

  void start() {
    if constexpr (Tls) {
      beast::get_lowest_layer(stream_).expires_after(state_->config.header_timeout);
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](error_code ec) { self->on_handshake(ec); });
    } else {
      wait_for_request();
    }
  }

  void drain() override {
    draining_ = true;
    if (phase_ == Phase::idle) force_close();
  }

  void force_close() override {
    error_code ec;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(stream_).socket().close(ec);
  }

 private:
  enum class Phase { handshake, idle, reading, handling, writing };

  Stream make_stream(tcp::socket socket) {
    if constexpr (Tls) return Stream(std::move(socket), *tls_context_);
    else return Stream(std::move(socket));
  }

  void on_handshake(error_code ec) {
    if (ec) {
      metrics_.handshake_failures_->inc();
      state_->log->debug("TLS handshake from {} on {} failed: {}", remote_address_, listener_.name, ec.message());
      return;
    }
    client_ = tls::verified_client_identity(stream_.native_handle());
    wait_for_request();
  }

  // Keep-alive idle time ends with the first byte of the next request; from
  // there the whole header must arrive within header_timeout.
  void wait_for_request() {
    if (draining_ || state_->draining.load(std::memory_order_relaxed)) return close();
    phase_ = Phase::idle;
    new_parser();
    if (buffer_.size() > 0) return parse_buffered();  // pipelined request already here
    beast::get_lowest_layer(stream_).expires_after(state_->config.idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = this->shared_from_this()](error_code ec, std::size_t n) {
                              self->buffer_.commit(n);
                              if (ec) return self->close_quietly();
                              self->parse_buffered();
                            });
  }

  void new_parser() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(state_->config.max_header_bytes));
    parser_->body_limit(state_->config.max_body_bytes);
    parser_->eager(true);
  }

  // Most requests arrive whole in one read: parse what is buffered right
  // here and go to the handler without another trip through the event loop.
  // Whatever is missing is read asynchronously, under the phase's timeout.
  void parse_buffered() {
    phase_ = Phase::reading;  // from the first byte on, a drain lets the request finish
    while (buffer_.size() > 0 && !parser_->is_done()) {
      error_code ec;
      std::size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == bhttp::error::need_more) break;
      if (ec) return on_read_error(ec);
      if (used == 0) break;
    }
    if (parser_->is_done()) return handle();
    if (parser_->is_header_done()) return on_header({});
    beast::get_lowest_layer(stream_).expires_after(state_->config.header_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = this->shared_from_this()](error_code ec, std::size_t) {
                               self->on_header(ec);
                             });
  }

  void on_header(error_code ec) {
    if (ec) return on_read_error(ec);
    auto& req = parser_->get();
    if (beast::iequals(req[bhttp::field::expect], "100-continue") && !parser_->is_done()) {
      // Tell the client to send the body now rather than after its own delay.
      auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, req.version());
      bhttp::async_write(stream_, *cont, [self = this->shared_from_this(), cont](error_code ec, std::size_t) {
        if (ec) return self->close_quietly();
        self->read_body();
      });
      return;
    }
    read_body();
  }

  void read_body() {
    beast::get_lowest_layer(stream_).expires_after(state_->config.body_timeout);
    bhttp::async_read(stream_, buffer_, *parser_, [self = this->shared_from_this()](error_code ec, std::size_t) {
      if (ec) return self->on_read_error(ec);
      self->handle();
    });
  }

  void on_read_error(error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset || ec == asio::error::eof) {
      return close_quietly();
    }
    if (ec == asio::ssl::error::stream_truncated) return close_quietly();
    int status = 400;
    std::string detail = "the request could not be parsed: " + ec.message();
    if (ec == bhttp::error::header_limit) {
      status = 431;
      detail = "the request header is larger than " + std::to_string(state_->config.max_header_bytes) + " bytes";
    } else if (ec == bhttp::error::body_limit) {
      status = 413;
      detail = "the request body is larger than " + std::to_string(state_->config.max_body_bytes) + " bytes";
    }
    Response r = Response::problem(status, reason_phrase(status), detail);
    metrics_.count(status);
    send(std::move(r), 11, false, false, "-", "-", std::chrono::steady_clock::now());
  }

  void handle() {
    phase_ = Phase::handling;
    auto started = std::chrono::steady_clock::now();
    auto message = parser_->release();
    ++requests_;

    Request req;
    req.method_text = std::string(message.method_string());
    req.method = method_from_string(req.method_text);
    req.target = std::string(message.target());
    auto q = req.target.find('?');
    req.path = req.target.substr(0, q);
    if (q != std::string::npos) req.query = req.target.substr(q + 1);
    req.version = message.version();
    req.headers.reserve(8);
    for (const auto& field : message) {
      req.headers.push_back({std::string(field.name_string()), std::string(field.value())});
    }
    req.body = std::move(message.body());
    req.listener = listener_.name;
    req.secure = Tls;
    req.remote_address = remote_address_;
    req.remote_port = remote_port_;
    req.client = client_;

    const bool wants_keep_alive = message.keep_alive();
    if (req.target.empty() || req.target.front() != '/') {
      return answer(req, Response::problem(400, "Bad Request", "only origin-form request targets are served"),
                    wants_keep_alive, started);
    }
    RouteMatch route = state_->router.match(req.method, req.path);
    const bool found = route.outcome == RouteOutcome::found;
    const bool on_worker = found && route.runs == Runs::on_worker && state_->workers;
    if (!found || (route.deferred == nullptr && !on_worker)) {
      Response res = respond(std::move(route), req);
      return answer(req, std::move(res), wants_keep_alive, started);
    }
    // Answered through a Reply: by a deferred handler, or by a worker; the
    // request stays here until the answer is written.
    deferred_request_ = std::move(req);
    auto reply = std::make_shared<SessionReply>(this->shared_from_this(), wants_keep_alive, started);
    if (route.deferred == nullptr) {
      return reply->compute_on_worker([self = this->shared_from_this(), route = std::move(route)]() mutable {
        return self->respond(std::move(route), *self->deferred_request_);
      });
    }
    deferred_request_->params = std::move(route.params);
    try {
      (*route.deferred)(*deferred_request_, Reply(reply));
    } catch (...) {
      log_failure("handler for " + deferred_request_->method_text + " " + deferred_request_->path);
      reply->send(Response::problem(500, "Internal Server Error"));
    }
  }

  // Logs the exception being handled; call it inside a catch block.
  void log_failure(const std::string& what) const {
    try {
      throw;
    } catch (const std::exception& e) {
      state_->log->error("{} failed: {}", what, e.what());
    } catch (...) {
      state_->log->error("{} failed with a non-standard exception", what);
    }
  }

  // A deferred handler's way back to this connection. Answers are written on
  // the connection's thread; the first one wins; none at all is a 500.
  class SessionReply final : public Reply::Target, public std::enable_shared_from_this<SessionReply> {
   public:
    SessionReply(std::shared_ptr<Session> session, bool wants_keep_alive, std::chrono::steady_clock::time_point started)
        : session_(std::move(session)), wants_keep_alive_(wants_keep_alive), started_(started) {}
    ~SessionReply() override {
      if (!answered_.load()) deliver(Response::problem(500, "Internal Server Error"));
    }

    void send(Response response) override {
      if (!answered_.exchange(true)) deliver(std::move(response));
    }
    void compute_on_connection(std::function<Response()> work) override {
      asio::post(session_->stream_.get_executor(), [self = this->shared_from_this(), work = std::move(work)] {
        self->send(self->computed(work));
      });
    }
    void compute_on_worker(std::function<Response()> work) override {
      if (!session_->state_->workers) return compute_on_connection(std::move(work));
      asio::post(*session_->state_->workers, [self = this->shared_from_this(), work = std::move(work)] {
        self->send(self->computed(work));
      });
    }

   private:
    Response computed(const std::function<Response()>& work) const {
      try {
        return work();
      } catch (...) {
        session_->log_failure("deferred answer");
      }
      return Response::problem(500, "Internal Server Error");
    }
    void deliver(Response response) {
      auto& stream = session_->stream_;
      asio::dispatch(stream.get_executor(), [session = session_, response = std::move(response),
                                             keep = wants_keep_alive_, started = started_]() mutable {
        session->answer(*session->deferred_request_, std::move(response), keep, started);
      });
    }

    std::shared_ptr<Session> session_;
    bool wants_keep_alive_;
    std::chrono::steady_clock::time_point started_;
    std::atomic<bool> answered_{false};
  };

  // The handler's answer; a handler that throws gets a 500.
  Response respond(RouteMatch route, Request& req) const {
    try {
      return Router::respond(std::move(route), req);
    } catch (...) {
      log_failure("handler for " + req.method_text + " " + req.path);
    }
    return Response::problem(500, "Internal Server Error");
  }

  void answer(const Request& req, Response res, bool wants_keep_alive, std::chrono::steady_clock::time_point started) {
    bool keep_alive = wants_keep_alive && requests_ < state_->config.max_requests_per_connection && !draining_ &&
                      !state_->draining.load(std::memory_order_relaxed);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    metrics_.request(res.status, seconds);
    send(std::move(res), req.version, keep_alive, req.method == Method::head, req.method_text, req.target, started);
  }

  template <class Body>
  void fill(bhttp::response<Body>& msg, Response& res, bool keep_alive) {
    msg.result(static_cast<unsigned>(res.status));
    msg.set(bhttp::field::server, "ucedge");
    msg.set(bhttp::field::date, http_date());
    for (auto& h : res.headers) msg.set(h.name, h.value);
    msg.keep_alive(keep_alive);
  }

  void send(Response res, unsigned version, bool keep_alive, bool head_only, std::string_view method,
            std::string_view target, std::chrono::steady_clock::time_point started) {
    phase_ = Phase::writing;
    keep_alive_ = keep_alive;
    std::size_t bytes = 0;
    bool sent_file = false;
    if (res.file) {
      bhttp::file_body::value_type file;
      error_code ec;
      file.open(res.file->c_str(), beast::file_mode::scan, ec);
      if (ec) {
        res = Response::problem(404, "Not Found");
      } else {
        bytes = file.size();
        auto& msg = file_response_.emplace(bhttp::status::ok, version);
        fill(msg, res, keep_alive);
        msg.content_length(bytes);
        if (!head_only) msg.body() = std::move(file);
        sent_file = true;
      }
    }
    if (!sent_file) {
      bytes = res.body.size();
      auto& msg = string_response_.emplace(bhttp::status::ok, version);
      fill(msg, res, keep_alive);
      if (res.status == 204 || res.status == 304 || res.status < 200) {
        // No body and no Content-Length for these (RFC 9110 §8.6).
      } else {
        msg.content_length(bytes);
        if (!head_only) msg.body() = std::move(res.body);
      }
    }
    if (state_->config.access_log) {
      double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
      state_->access_log->info("{} {} \"{} {}\" {} {} {:.3f}ms{}", listener_.name, remote_address_, method, target,
                               res.status, bytes, ms, client_ ? " cn=" + client_->common_name : "");
    }
    beast::get_lowest_layer(stream_).expires_after(state_->config.body_timeout);
    auto on_written = [self = this->shared_from_this()](error_code ec, std::size_t) {
      self->string_response_.reset();
      self->file_response_.reset();
      if (ec) return self->close_quietly();
      if (!self->keep_alive_) return self->close();
      self->wait_for_request();
    };
    if (sent_file) bhttp::async_write(stream_, *file_response_, std::move(on_written));
    else bhttp::async_write(stream_, *string_response_, std::move(on_written));
  }

  void close() {
    if constexpr (Tls) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
      stream_.async_shutdown([self = this->shared_from_this()](error_code) { self->close_quietly(); });
    } else {
      error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      close_quietly();
    }
  }

  void close_quietly() {
    error_code ec;
    beast::get_lowest_layer(stream_).socket().close(ec);
  }

  std::shared_ptr<ServerState> state_;
  std::size_t context_index_;
  ListenerMetrics& metrics_;
  const ListenerConfig& listener_;
  std::shared_ptr<asio::ssl::context> tls_context_;  // outlives stream_
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  // The response being written; a member so it lives until the write ends.
  std::optional<bhttp::response<bhttp::string_body>> string_response_;
  std::optional<bhttp::response<bhttp::file_body>> file_response_;
  std::optional<ClientIdentity> client_;
  // The request a deferred handler is answering; valid until its answer is written.
  std::optional<Request> deferred_request_;
  std::string remote_address_;
  std::uint16_t remote_port_ = 0;
  std::size_t requests_ = 0;
  bool keep_alive_ = true;
  bool draining_ = false;
  Phase phase_ = Phase::handshake;
};

struct HttpServer::Impl {
  struct Acceptor {
    tcp::acceptor acceptor;
    std::size_t context_index;
    const ListenerConfig* listener;
    ListenerMetrics* metrics;
  };

  std::shared_ptr<ServerState> state;
  std::vector<std::unique_ptr<Acceptor>> acceptors;

  void accept(Acceptor& a) {
    a.acceptor.async_accept([this, &a](error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !a.acceptor.is_open()) return;
      if (ec) {
        // Out of file descriptors and similar: pause, keep accepting, and
        // keep the log readable while it lasts.
        if (auto dropped = state->accept_errors_budget.take()) {
          state->log->warn("accept on {} failed: {}{}", a.listener->name, ec.message(),
                           *dropped ? fmt::format(" ({} more not logged)", *dropped) : std::string());
        }
        auto timer = std::make_shared<asio::steady_timer>(a.acceptor.get_executor(), std::chrono::milliseconds(50));
        timer->async_wait([this, &a, timer](error_code) { accept(a); });
        return;
      }
      a.metrics->accepted_->inc();
      if (state->open.fetch_add(1, std::memory_order_relaxed) >= state->config.max_connections) {
        state->open.fetch_sub(1, std::memory_order_relaxed);
        a.metrics->refused_->inc();
        error_code ignored;
        socket.close(ignored);
      } else if (a.listener->tls) {
        auto ctx = state->tls->context(a.listener->name);
        std::make_shared<Session<true>>(std::move(socket), state, a.context_index, *a.metrics, *a.listener,
                                        std::move(ctx))
            ->start();
      } else {
        std::make_shared<Session<false>>(std::move(socket), state, a.context_index, *a.metrics, *a.listener,
                                         nullptr)
            ->start();
      }
      accept(a);
    });
  }
};

HttpServer::HttpServer(core::IoPool& pool, HttpConfig config, const Router& router,
                       std::shared_ptr<tls::TlsContexts> tls, core::MetricsRegistry& metrics)
    : impl_(std::make_unique<Impl>()) {
  impl_->state = std::make_shared<ServerState>(std::move(config), router, std::move(tls), metrics, pool);
}

HttpServer::~HttpServer() = default;

std::size_t HttpServer::open_connections() const { return impl_->state->open.load(); }

core::Result<std::vector<BoundListener>> HttpServer::start() {
  auto& state = *impl_->state;
  std::vector<BoundListener> bound;
  for (const auto& listener : state.config.listeners) {
    if (listener.tls && (!state.tls || !state.tls->context(listener.name))) {
      return core::fail("listener " + listener.name + " needs TLS but has no TLS context");
    }
    auto parsed = parse_listen_address(listener.address);
    if (!parsed) return core::fail("bad listen address for " + listener.name + ": " + listener.address);
    error_code ec;
    auto address = asio::ip::make_address(parsed->host, ec);
    if (ec) return core::fail("bad listen address for " + listener.name + ": " + listener.address);
    auto& metrics = *state.listener_metrics.emplace_back(std::make_unique<ListenerMetrics>(state.registry, listener.name));
    std::uint16_t port = parsed->port;
    for (std::size_t i = 0; i < state.pool.size(); ++i) {
      tcp::acceptor acceptor(state.pool.context(i));
      tcp::endpoint endpoint(address, port);
      acceptor.open(endpoint.protocol(), ec);
      if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
      // One acceptor per thread on the same port: the kernel spreads connections.
      if (!ec) acceptor.set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true), ec);
      if (!ec) acceptor.bind(endpoint, ec);
      if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
      if (ec) {
        return core::fail("cannot listen on " + listener.address + " (" + listener.name + "): " + ec.message());
      }
      port = acceptor.local_endpoint().port();  // the port 0 asked for, now fixed for the other acceptors
      impl_->acceptors.push_back(std::make_unique<Impl::Acceptor>(Impl::Acceptor{std::move(acceptor), i, &listener, &metrics}));
    }
    bound.push_back({listener.name, parsed->host, port, listener.tls});
  }
  state.workers = std::make_unique<asio::thread_pool>(worker_thread_count(state.config));
  for (auto& a : impl_->acceptors) {
    asio::post(a->acceptor.get_executor(), [this, acc = a.get()] { impl_->accept(*acc); });
  }
  return bound;
}

void HttpServer::shutdown(std::chrono::milliseconds grace) {
  auto state = impl_->state;
  state->draining = true;
  for (auto& a : impl_->acceptors) {
    asio::post(a->acceptor.get_executor(), [acc = a.get()] {
      error_code ec;
      acc->acceptor.close(ec);
    });
  }
  auto for_each_session = [&](auto action) {
    for (std::size_t i = 0; i < state->pool.size(); ++i) {
      asio::post(state->pool.context(i), [state, i, action] {
        // Copy first: an action may end a session and change the set.
        std::vector<SessionBase*> sessions(state->sessions[i].begin(), state->sessions[i].end());
        for (auto* s : sessions) {
          if (state->sessions[i].count(s) != 0) action(*s);
        }
      });
    }
  };
  for_each_session([](SessionBase& s) { s.drain(); });
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (state->open.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (state->open.load() > 0) {
    state->log->warn("{} connection(s) still open after {} ms; closing them", state->open.load(), grace.count());
    for_each_session([](SessionBase& s) { s.force_close(); });
    auto hard_deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
    while (state->open.load() > 0 && std::chrono::steady_clock::now() < hard_deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  // Handlers still running on workers finish; their answers go nowhere.
  if (state->workers) state->workers->join();
}

std::size_t worker_thread_count(const HttpConfig& config) {
  if (config.worker_threads > 0) return config.worker_threads;
  return kWorkerThreadsPerCore * std::max(1U, std::thread::hardware_concurrency());
}

}  // namespace ucedge::net
