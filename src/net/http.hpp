#pragma once
// What handlers see of HTTP: plain structs with no Boost.Beast in them, so that
// Beast stays inside http_server.cpp and modules compile quickly.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/strings.hpp"
#include "net/client_identity.hpp"

namespace ucedge::net {

using core::iequals;

enum class Method { get, head, post, put, patch, delete_, options, other };

std::string_view to_string(Method m);
Method method_from_string(std::string_view text);

struct Header {
  std::string name;
  std::string value;
};

struct PathParam {
  std::string name;
  std::string value;
};

struct Request {
  Method method = Method::get;
  std::string method_text;  // as sent, for Method::other
  std::string target;       // path and query as sent
  std::string path;         // path as sent, without the query (segments decoded by the router)
  std::string query;        // raw query string, without '?'
  unsigned version = 11;    // 10 or 11
  std::vector<Header> headers;
  std::string body;

  std::string listener;        // name of the listener that accepted it ("http", "https", ...)
  bool secure = false;         // arrived over TLS
  std::string remote_address;  // peer IP, text form
  std::uint16_t remote_port = 0;
  // Set when the TLS policy verified a client certificate.
  std::optional<ClientIdentity> client;
  // Filled by the router from "{name}" segments of the matched route.
  std::vector<PathParam> params;

  // Value of the first header named `name` (case-insensitive), or "".
  std::string_view header(std::string_view name) const;
  // Value of path parameter `name`, or "".
  std::string_view param(std::string_view name) const;
  // Percent-decoded value of query parameter `name`, if present.
  std::optional<std::string> query_param(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::vector<Header> headers;
  std::string body;
  // When set, the body is streamed from this file instead of `body`.
  std::optional<std::filesystem::path> file;

  Response& set(std::string name, std::string value);

  static Response text(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
  static Response json(int status, std::string json_text);
  // RFC 9457 problem details: {"type","title","status","detail"}.
  static Response problem(int status, std::string_view title, std::string_view detail = {});
};

using Handler = std::function<Response(Request&)>;

// How a deferred handler answers: once, from any thread, possibly after it
// returned (a store commit it waits for without blocking). Copies share one
// answer; the first one given is sent. When the last copy goes without an
// answer, the client gets a 500.
class Reply {
 public:
  // What the server does with an answer; implemented by its connection.
  class Target {
   public:
    virtual ~Target() = default;
    virtual void send(Response response) = 0;
    virtual void compute_on_connection(std::function<Response()> work) = 0;
    virtual void compute_on_worker(std::function<Response()> work) = 0;
  };

  explicit Reply(std::shared_ptr<Target> target) : target_(std::move(target)) {}

  void send(Response response) const { target_->send(std::move(response)); }
  // Computes the answer on the connection's event-loop thread: for work that
  // uses the CPU but never waits (signing), handed on from a store thread.
  void compute_on_connection(std::function<Response()> work) const {
    target_->compute_on_connection(std::move(work));
  }
  // Computes the answer on a worker thread: for work that may wait or take long.
  void compute_on_worker(std::function<Response()> work) const { target_->compute_on_worker(std::move(work)); }

 private:
  std::shared_ptr<Target> target_;
};

// A handler that answers through its Reply. The Request stays valid until
// the answer is sent; work handed to another thread should copy what it needs.
using DeferredHandler = std::function<void(Request&, Reply)>;

std::string_view reason_phrase(int status);
// The user and password of an "Authorization: Basic base64(user:password)"
// header (RFC 7617), decoded as UTF-8 bytes; nullopt when malformed.
std::optional<std::pair<std::string, std::string>> basic_credentials(std::string_view authorization);
// Percent-decoding; nullopt on a malformed escape. '+' is kept unless `plus_is_space`.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space = false);

}  // namespace ucedge::net
