#pragma once
// Resync push (seed 004): asks phones to fetch their profiles now, either with
// a SIP NOTIFY carrying "Event: resync" (UDP or TCP, from the configured SIP
// source port; the phone must have Resync_From_SIP on) or by posting the XML
// object <{model}Execute><ExecuteItem URL="Resync:{profile rule}"/></...> to
// the phone's http://PHONE/CGI/Execute. A push to many phones is a job that
// runs in the background; its per-device results are read back by id.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace ucedge::prov {

struct ResyncPushConfig {
  std::string sip_host = "127.0.0.1";      // NOTIFYs leave from here
  std::uint16_t sip_port = 5070;           // 0: ephemeral (tests)
  std::string sip_domain = "ucedge.invalid";  // From: <sip:provisioning@DOMAIN>
  std::chrono::milliseconds timeout{4000}; // per device, for an answer
  std::size_t max_jobs_kept = 256;         // finished jobs kept for reading
  std::size_t parallel = 64;               // devices pushed at once within a job
};

enum class PushMethod { sip_udp, sip_tcp, cgi };

std::string_view to_string(PushMethod m);
std::optional<PushMethod> push_method_from_string(std::string_view text);

struct PushTarget {
  std::string device;       // the device's MAC ($MA), to report results by
  PushMethod method = PushMethod::sip_udp;
  // SIP: host and port of the phone's SIP UA, user part for the request URI
  // (the phone's line user, may be empty). CGI: base URL "http://host[:port]".
  std::string host;
  std::uint16_t port = 5060;
  std::string user;
  std::string event = "resync";  // SIP Event header: "resync" or "report"
  // CGI only: the model for the root element, the rule to resync from, and
  // the phone's admin credentials (empty: none).
  std::string model;
  std::string profile_rule;
  std::string cgi_user;
  std::string cgi_password;
};

enum class PushState { pending, running, delivered, failed };

std::string_view to_string(PushState s);

struct PushResult {
  PushTarget target;
  PushState state = PushState::pending;
  int status = 0;        // SIP or HTTP status the phone answered, 0 if none
  std::string detail;    // "200 OK", "timeout after 4000 ms", "connection refused", ...
  std::chrono::milliseconds elapsed{0};
};

struct PushJob {
  std::string id;
  std::chrono::system_clock::time_point created;
  bool finished = false;
  std::vector<PushResult> results;  // in the order of the targets
};

class ResyncPusher {
 public:
  // Owns one thread with its own io_context for the SIP socket, the TCP
  // connections and the CGI requests.
  explicit ResyncPusher(ResyncPushConfig config);
  ~ResyncPusher();
  ResyncPusher(const ResyncPusher&) = delete;
  ResyncPusher& operator=(const ResyncPusher&) = delete;

  // Binds the SIP UDP source socket; returns its port.
  core::Result<std::uint16_t> start();
  void stop();

  // Starts a job and returns its id at once.
  std::string submit(std::vector<PushTarget> targets);
  // A snapshot of the job, nullopt for an unknown (or forgotten) id.
  std::optional<PushJob> job(const std::string& id) const;
  // Blocks until the job finishes or `wait` passes; returns the snapshot.
  std::optional<PushJob> wait(const std::string& id, std::chrono::milliseconds wait) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ucedge::prov
