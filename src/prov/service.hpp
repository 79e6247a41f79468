#pragma once
// The provisioning module as the daemon runs it: the device directory, the
// profile resolver behind every transport, the phone-facing and admin HTTP
// routes, the TFTP server, the syslog listener and resync push.
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/io_pool.hpp"
#include "core/metrics.hpp"
#include "core/result.hpp"
#include "core/secret_box.hpp"
#include "net/router.hpp"
#include "prov/activation.hpp"
#include "prov/config.hpp"
#include "prov/device_directory.hpp"
#include "prov/device_status.hpp"
#include "prov/profile_resolver.hpp"
#include "prov/reports.hpp"
#include "prov/root_watcher.hpp"

namespace ucedge::prov {

namespace tftp {
class Server;
struct TransferRequest;
}
class SyslogListener;
class ResyncPusher;
class TftpBridge;

struct BoundService {
  std::string name;  // "tftp", "syslog", "sip"
  std::string host;
  std::uint16_t port = 0;
  std::string protocol;  // "udp"
};

// Wraps admin handlers so only administrators reach them.
using AdminGuard = std::function<net::Handler(net::Handler)>;

class ProvService {
 public:
  ProvService(const ProvConfig& config, const std::filesystem::path& data_dir, store::Store& store,
              const core::SecretBox& secrets, core::MetricsRegistry& metrics);
  ~ProvService();
  ProvService(const ProvService&) = delete;
  ProvService& operator=(const ProvService&) = delete;

  // Creates the root (and the sample on first start), loads devices and status.
  core::Result<void> open();
  void add_routes(net::Router& router, const AdminGuard& admin);
  // Starts TFTP, syslog and resync push on the pool; returns what they bound.
  core::Result<std::vector<BoundService>> start(core::IoPool& pool);
  void stop();

  DeviceDirectory& devices() { return devices_; }
  ProfileResolver& resolver() { return resolver_; }
  ActivationCodes& activation() { return activation_; }
  DeviceStatusBook& status() { return status_; }

 private:
  void add_profile_routes(net::Router& router);
  void add_admin_routes(net::Router& router, const AdminGuard& admin);
  net::Response serve_profile(net::Request& request);
  net::Response receive_report(net::Request& request);
  net::Response activate(net::Request& request);
  void on_syslog(const SyslogMessage& message, const std::string& remote_address);
  void record(const FetchResult& result, Transport transport, std::string_view path, std::string_view remote);
  void record_tftp(const FetchResult& result, const tftp::TransferRequest& request);
  friend class TftpBridge;

  const ProvConfig& config_;
  const std::filesystem::path root_;
  store::Store& store_;
  const core::SecretBox& secrets_;
  core::MetricsRegistry& metrics_;
  DeviceDirectory devices_;
  DeviceStatusBook status_;
  ReportStore reports_;
  ActivationCodes activation_;
  RootWatcher root_watcher_;
  ProfileResolver resolver_;

  std::unique_ptr<TftpBridge> tftp_bridge_;
  std::unique_ptr<tftp::Server> tftp_;
  std::unique_ptr<SyslogListener> syslog_;
  std::unique_ptr<ResyncPusher> pusher_;

  // Picks up device changes made by other processes (CLI, cluster nodes).
  std::thread device_watcher_;
  std::mutex watcher_mutex_;
  std::condition_variable watcher_wake_;
  bool stopping_ = false;

  core::Counter* fetch_counters_[4][5] = {};
  core::Counter& syslog_resync_events_;
  core::Counter& syslog_unknown_devices_;
};

}  // namespace ucedge::prov
