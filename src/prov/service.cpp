#include "prov/service.hpp"

#include <boost/asio/io_context.hpp>

#include <spdlog/spdlog.h>

#include "core/log.hpp"
#include "core/log_budget.hpp"
#include "net/listen_address.hpp"
#include "prov/request_path.hpp"
#include "prov/resync/resync_push.hpp"
#include "prov/sample.hpp"
#include "prov/syslog/syslog_listener.hpp"
#include "prov/tftp/tftp_server.hpp"

namespace ucedge::prov {

namespace {

constexpr auto kWatchPeriod = std::chrono::seconds(2);

std::filesystem::path resolve_root(const ProvConfig& config, const std::filesystem::path& data_dir) {
  std::filesystem::path root = config.root;
  return (root.is_absolute() ? root : data_dir / root).lexically_normal();
}

bool directory_is_empty(const std::filesystem::path& dir) {
  std::error_code ec;
  return !std::filesystem::exists(dir, ec) || std::filesystem::is_empty(dir, ec);
}

int outcome_index(int status) {
  switch (status) {
    case 200: return 0;
    case 304: return 1;
    case 404: return 3;
    case 500: return 4;
    default: return 2;  // 401, 403: refused
  }
}

tftp::ErrorCode tftp_code(int status) {
  switch (status) {
    case 404: return tftp::ErrorCode::file_not_found;
    case 401:
    case 403: return tftp::ErrorCode::access_violation;
    default: return tftp::ErrorCode::not_defined;
  }
}

}  // namespace

// Feeds TFTP reads and Report_Rule writes through the same resolver as HTTP.
class TftpBridge : public tftp::Handler {
 public:
  TftpBridge(ProvService& service, ProfileResolver& resolver, ReportStore& reports, const ProvConfig& config,
             std::string server_host, std::string server_port)
      : service_(service),
        resolver_(resolver),
        reports_(reports),
        config_(config),
        server_host_(std::move(server_host)),
        server_port_(std::move(server_port)) {}

  FetchRequest request_for(const tftp::TransferRequest& t) const {
    FetchRequest r;
    r.transport = Transport::tftp;
    r.path = t.file_name;
    r.remote_address = t.remote_address;
    r.scheme = "tftp";
    r.server_host = server_host_;
    r.server_ip = server_host_;
    r.server_port = server_port_;
    return r;
  }

  core::Result<tftp::Content, tftp::Refusal> read(const tftp::TransferRequest& t) override {
    FetchResult result = resolver_.fetch(request_for(t));
    service_.record_tftp(result, t);
    if (result.status != 200) return core::fail(tftp::Refusal{tftp_code(result.status), result.reason});
    if (result.body) return tftp::Content{result.body};
    return tftp::Content{*result.file};
  }

  std::optional<tftp::Refusal> may_write(const tftp::TransferRequest& t) override {
    auto id = resolver_.identify(request_for(t));
    if (id.status != 200) return tftp::Refusal{tftp_code(id.status), id.reason};
    if (!id.path.starts_with("reports/")) {
      return tftp::Refusal{tftp::ErrorCode::access_violation, "only Report_Rule uploads into reports/ are accepted"};
    }
    if (!id.device) return tftp::Refusal{tftp::ErrorCode::access_violation, "the upload names no registered device"};
    return std::nullopt;
  }

  core::Result<void, tftp::Refusal> write(const tftp::TransferRequest& t, std::string data) override {
    if (auto refused = may_write(t)) return core::fail(*refused);
    auto id = resolver_.identify(request_for(t));
    if (data.size() > config_.max_report_bytes) {
      return core::fail(tftp::Refusal{tftp::ErrorCode::disk_full, "report larger than max_report_bytes"});
    }
    auto saved = reports_.save(id.device->mac, std::string(base_name(id.path)), "tftp", data);
    if (!saved) return core::fail(tftp::Refusal{tftp::ErrorCode::not_defined, saved.error()});
    return {};
  }

 private:
  ProvService& service_;
  ProfileResolver& resolver_;
  ReportStore& reports_;
  const ProvConfig& config_;
  std::string server_host_;
  std::string server_port_;
};

ProvService::ProvService(const ProvConfig& config, const std::filesystem::path& data_dir, store::Store& store,
                         const core::SecretBox& secrets, core::MetricsRegistry& metrics)
    : config_(config),
      root_(resolve_root(config, data_dir)),
      store_(store),
      secrets_(secrets),
      metrics_(metrics),
      devices_(store, secrets),
      status_(store, config.fetch_log_entries),
      reports_(store),
      activation_(store, secrets, config.activation_failures_per_minute),
      root_watcher_(root_),
      resolver_(config, root_, devices_, metrics, &root_watcher_),
      syslog_resync_events_(metrics.counter("ucedge_prov_syslog_resync_events_total",
                                            "Resync messages recognised in device syslog.")),
      syslog_unknown_devices_(metrics.counter("ucedge_prov_syslog_unknown_device_total",
                                              "Resync messages from MAC addresses no device has.")) {
  const char* transports[] = {"tftp", "http", "https", "https_client_cert"};
  const char* outcomes[] = {"ok", "not_modified", "refused", "not_found", "error"};
  for (int t = 0; t < 4; ++t) {
    for (int o = 0; o < 5; ++o) {
      fetch_counters_[t][o] = &metrics.counter(
          "ucedge_prov_fetches_total", "Profile and firmware fetches by transport and outcome.",
          std::string("transport=\"") + transports[t] + "\",outcome=\"" + outcomes[o] + "\"");
    }
  }
}

ProvService::~ProvService() { stop(); }

core::Result<void> ProvService::open() {
  if (auto loaded = devices_.load(); !loaded) return core::fail(loaded.error());
  if (auto loaded = status_.load(); !loaded) return core::fail(loaded.error());
  if (config_.sample && directory_is_empty(root_) && devices_.size() == 0) {
    if (auto installed = install_sample(root_, devices_); !installed) return core::fail(installed.error());
    core::logger("prov")->info("sample profiles written to {} with sample device {}", root_.string(), kSampleMac);
  }
  std::error_code ec;
  std::filesystem::create_directories(root_, ec);
  if (ec) return core::fail("cannot create the provisioning root " + root_.string() + ": " + ec.message());
  if (auto watching = root_watcher_.start(); !watching) {
    core::logger("prov")->warn("{}: every fetch checks its file instead (lookup_cache)", watching.error());
  }
  return {};
}

void ProvService::record(const FetchResult& result, Transport transport, std::string_view path,
                         std::string_view remote) {
  fetch_counters_[static_cast<int>(transport)][outcome_index(result.status)]->inc();
  if (!result.device) return;
  FetchRecord r;
  r.at = std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch()).count();
  r.transport = std::string(to_string(transport));
  r.path = std::string(path);
  r.status = result.status;
  r.bytes = result.size;
  r.remote_address = std::string(remote);
  status_.record_fetch(result.device->mac, std::move(r));
}

void ProvService::record_tftp(const FetchResult& result, const tftp::TransferRequest& t) {
  record(result, Transport::tftp, t.file_name, t.remote_address);
}

void ProvService::on_syslog(const SyslogMessage& message, const std::string& remote_address) {
  auto event = recognize_resync(message.text);
  if (!event) return;
  if (!devices_.find(event->mac)) {
    syslog_unknown_devices_.inc();
    return;
  }
  syslog_resync_events_.inc();
  status_.record_resync(*event, remote_address);
  resolver_.remember_address(remote_address, event->mac);
}

core::Result<std::vector<BoundService>> ProvService::start(core::IoPool& pool) {
  std::vector<BoundService> bound;
  if (!config_.enabled) return bound;
  status_.start();
  device_watcher_ = std::thread([this] {
    std::unique_lock lock(watcher_mutex_);
    while (!watcher_wake_.wait_for(lock, kWatchPeriod, [this] { return stopping_; })) {
      lock.unlock();
      auto reloaded = devices_.reload_if_changed();
      if (!reloaded) core::logger("prov")->warn("device changes not picked up yet: {}", reloaded.error());
      else if (*reloaded) core::logger("prov")->info("devices reloaded: {} now", devices_.size());
      lock.lock();
    }
  });

  if (!config_.tftp_listen.empty()) {
    auto address = net::parse_listen_address(config_.tftp_listen);
    tftp::ServerConfig c;
    c.host = address->host;
    c.port = address->port;
    c.timeout = config_.tftp_timeout;
    c.max_retries = config_.tftp_retries;
    c.max_transfers = config_.tftp_max_transfers;
    c.max_upload_bytes = config_.max_report_bytes;
    tftp_bridge_ = std::make_unique<TftpBridge>(*this, resolver_, reports_, config_, address->host,
                                                std::to_string(address->port));
    tftp_ = std::make_unique<tftp::Server>(pool, c, *tftp_bridge_, metrics_);
    auto port = tftp_->start();
    if (!port) return core::fail("TFTP on " + config_.tftp_listen + ": " + port.error());
    bound.push_back({"tftp", address->host, *port, "udp"});
  }
  if (!config_.syslog_listen.empty()) {
    auto address = net::parse_listen_address(config_.syslog_listen);
    syslog_ = std::make_unique<SyslogListener>(
        pool.context(0), SyslogListenerConfig{address->host, address->port},
        [this](const SyslogMessage& m, const std::string& from) { on_syslog(m, from); }, metrics_);
    auto port = syslog_->start();
    if (!port) return core::fail("syslog on " + config_.syslog_listen + ": " + port.error());
    bound.push_back({"syslog", address->host, *port, "udp"});
  }
  if (!config_.sip_listen.empty()) {
    auto address = net::parse_listen_address(config_.sip_listen);
    ResyncPushConfig c;
    c.sip_host = address->host;
    c.sip_port = address->port;
    c.sip_domain = config_.sip_domain;
    c.timeout = config_.sip_timeout;
    pusher_ = std::make_unique<ResyncPusher>(c);
    auto port = pusher_->start();
    if (!port) return core::fail("SIP (resync push) on " + config_.sip_listen + ": " + port.error());
    bound.push_back({"sip", address->host, *port, "udp"});
  }
  return bound;
}

void ProvService::stop() {
  {
    std::lock_guard lock(watcher_mutex_);
    stopping_ = true;
  }
  watcher_wake_.notify_all();
  if (device_watcher_.joinable()) device_watcher_.join();
  if (tftp_) tftp_->stop();
  if (syslog_) syslog_->stop();
  if (pusher_) pusher_->stop();
  root_watcher_.stop();
  status_.stop();
}

}  // namespace ucedge::prov
