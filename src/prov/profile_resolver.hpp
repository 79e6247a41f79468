#pragma once
// What a phone receives when it asks for a file, whatever the transport:
//   1. the requested name is checked (request_path.hpp);
//   2. the device is identified: by its verified client certificate (MAC or
//      serial in the subject), else by a MAC in the file name, else by the
//      MAC in the User-Agent, else (TFTP) by the address it was last seen at;
//      a certificate or User-Agent naming one device and a file name naming
//      another is refused;
//   3. a device with HTTP credentials must present them (and so cannot use
//      TFTP);
//   4. the file is looked up in the customer's directory, then the root: the
//      device's assigned template for that name, the file itself (served as
//      is), NAME.tmpl, then the name with the device's identifiers replaced
//      by their macros ("000e08abcdef.xml" → "$MA.xml", "spa508G.cfg" →
//      "spa$PSN.cfg"), with or without ".tmpl";
//   5. a template is macro-expanded and its %TAG%s filled, then gzipped and
//      encrypted as the device or its model asks. The whole result is cached
//      until the template, the device or a request value it uses changes.
// A template that cannot be rendered is a 500 with the reason logged; a
// half-rendered profile is never served.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/failure_limiter.hpp"
#include "core/metrics.hpp"
#include "net/client_identity.hpp"
#include "prov/codec/dtaf_tags.hpp"
#include "prov/codec/macro.hpp"
#include "prov/config.hpp"
#include "prov/device_directory.hpp"
#include "prov/root_watcher.hpp"

namespace ucedge::prov {

enum class Transport { tftp, http, https, https_client_cert };

std::string_view to_string(Transport t);

struct FetchRequest {
  Transport transport = Transport::http;
  std::string_view path;            // below the URL prefix, percent-decoded; TFTP: as sent
  std::string_view remote_address;  // the phone's IP
  std::string_view user_agent;      // "" for TFTP
  const net::ClientIdentity* certificate = nullptr;  // verified by the TLS policy
  std::string_view authorization;   // the Authorization header, "" if none
  // Request values for $SCHEME, $SERV, $SERVIP, $PORT.
  std::string_view scheme;
  std::string_view server_host;
  std::string_view server_ip;
  std::string_view server_port;
};

struct FetchResult {
  int status = 200;                 // 200, 401, 403, 404, 429, 500 (HTTP meaning, TFTP maps them)
  std::string reason;               // why, for a refusal: logged and told to the client
  std::int64_t retry_after = 0;     // 429: seconds until this address may try again
  std::shared_ptr<const std::string> body;      // a rendered profile
  std::optional<std::filesystem::path> file;    // a static file, streamed
  std::uint64_t size = 0;
  std::string etag;                 // quoted
  std::string content_type;
  DevicePtr device;                 // identified device, if any
  std::string source;               // the file or template that answered, relative to the root
};

// Identification alone (steps 1–3), also used for Report_Rule uploads.
struct Identification {
  int status = 200;
  std::string reason;
  std::int64_t retry_after = 0;
  std::string path;  // checked
  DevicePtr device;
};

class ProfileResolver {
 public:
  // With an active `watcher`, remembered lookups hold until something under
  // the root changes and a fetch costs no stat(); without one, each is kept
  // for config.lookup_cache and the answering file is checked every time.
  ProfileResolver(const ProvConfig& config, std::filesystem::path root, const DeviceDirectory& devices,
                  core::MetricsRegistry& metrics, const RootWatcher* watcher = nullptr);

  FetchResult fetch(const FetchRequest& request);
  Identification identify(const FetchRequest& request);

  // Renders `file` for `device` as it would be served over HTTPS to a phone at
  // 127.0.0.1 (`ucedge prov render`, the admin API's preview).
  FetchResult preview(const Device& device, std::string_view file);

  // Called by the syslog listener and by fetches: the address a device was
  // last seen at, for identifying TFTP requests.
  void remember_address(std::string_view address, std::string_view mac);

  const std::filesystem::path& root() const { return root_; }

 private:
  struct CompiledTemplate;
  struct Found;

  FetchResult resolve(const FetchRequest& request, DevicePtr forced_device);
  std::optional<Found> find_file(const Device* device, std::string_view path);
  std::optional<Found> look_up(const Device* device, std::string_view path);
  FetchResult render(const FetchRequest& request, const Device* device, const Found& found);
  bool credentials_ok(const Device& device, std::string_view authorization);

  const ProvConfig& config_;
  const std::filesystem::path root_;
  const DeviceDirectory& devices_;
  const RootWatcher* watcher_;
  TagValues config_tags_;

  std::mutex templates_mutex_;
  std::unordered_map<std::string, std::shared_ptr<const CompiledTemplate>> templates_;

  struct CachedRender {
    std::shared_ptr<const CompiledTemplate> compiled;  // what it was rendered from
    std::shared_ptr<const std::string> body;
    std::string etag;
  };
  std::mutex renders_mutex_;
  std::unordered_map<std::string, CachedRender> renders_;

  // Which file answered a name for a device: remembered for
  // config.lookup_cache so a request costs one stat(), not one per candidate.
  struct Lookup;
  std::mutex lookups_mutex_;
  std::unordered_map<std::string, std::shared_ptr<const Lookup>> lookups_;

  core::FailureLimiter credential_failures_;
  // Whole answers to HTTP(S) fetches, by everything a fetch depends on
  // (transport, Host, the phone's address, User-Agent, certificate, path):
  // valid while neither the devices nor the root changed, so a phone asking
  // again costs one look-up. Only with an active watcher.
  struct Answer;
  std::mutex answers_mutex_;
  std::unordered_map<std::string, std::shared_ptr<const Answer>> answers_;

  std::mutex credentials_mutex_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> verified_credentials_;

  std::shared_mutex addresses_mutex_;
  std::unordered_map<std::string, std::string> mac_by_address_;

  core::Counter& renders_total_;
  core::Counter& render_failures_;
  core::Counter& cache_hits_;
};

}  // namespace ucedge::prov
