#include "authz/service.hpp"

#include <spdlog/spdlog.h>

#include "core/log.hpp"

namespace ucedge::authz {

namespace {

constexpr auto kRefreshEvery = std::chrono::seconds(1);

std::int64_t unix_seconds(const core::Clock& clock) {
  return std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count();
}

}  // namespace

KeyRingSettings key_ring_settings(const AuthzConfig& config) {
  return {config.access_token_lifetime, config.jwks_max_age, config.clock_tolerance};
}

RotationSettings rotation_settings(const AuthzConfig& config) {
  return {config.rotate_refresh_tokens, config.rotation_grace_period, config.rotation_grace_reuses};
}

PurgeSettings purge_settings(const AuthzConfig& config) {
  PurgeSettings s;
  s.hour = config.purge_hour;
  s.minute = config.purge_minute;
  s.batch = config.purge_batch;
  s.pause = config.purge_pause;
  s.clock_tolerance = config.clock_tolerance;
  return s;
}

std::chrono::seconds revocation_horizon(const AuthzConfig& config) {
  return config.access_token_lifetime + config.clock_tolerance;
}

AuthzService::AuthzService(const AuthzConfig& config, store::Store& store, const core::SecretBox& secrets,
                           core::MetricsRegistry& metrics, const core::Clock& clock)
    : config_(config),
      store_(store),
      metrics_(metrics),
      clock_(clock),
      keys_(store, secrets, key_ring_settings(config), clock),
      revocations_(store, revocation_horizon(config), clock),
      refresh_tokens_(store, rotation_settings(config), &revocations_, clock),
      users_(store, clock),
      clients_(store, clock),
      codes_(store, config.code_lifetime, clock),
      purger_(store, &revocations_, purge_settings(config), clock) {}

AuthzService::~AuthzService() { stop(); }

core::Result<void> AuthzService::open() {
  if (auto opened = keys_.open(); !opened) return core::fail("authz keys: " + opened.error());
  if (auto loaded = clients_.reload(); !loaded) return core::fail("authz clients: " + loaded.error());
  if (auto loaded = revocations_.reload(); !loaded) return core::fail("authz revocations: " + loaded.error().message);
  if (config_.sample_client && !clients_.find(kSampleClientId)) {
    ClientSpec sample;
    sample.client_id = std::string(kSampleClientId);
    sample.name = "ucedge sample app";
    sample.confidential = false;
    // Any loopback port matches (RFC 8252 §7.3), so this works whatever port
    // the HTTP listener has.
    sample.redirect_uris = {"http://127.0.0.1" + std::string(kSampleCallbackPath)};
    if (auto added = clients_.add(sample); !added && !clients_.find(kSampleClientId)) {
      return core::fail("authz sample client: " + added.error());
    }
  }
  oauth_ = std::make_unique<OAuthServer>(OAuthParts{config_, store_, keys_, refresh_tokens_, revocations_, users_,
                                                    clients_, codes_, metrics_, clock_});
  return {};
}

void AuthzService::add_routes(net::Router& router, const std::function<net::Handler(net::Handler)>& admin) {
  oauth_->add_routes(router);
  add_admin_routes(router, admin);
}

void AuthzService::start(std::string node_id) {
  if (worker_.joinable()) return;
  node_id_ = std::move(node_id);
  record_node_keys();
  // Other nodes (PostgreSQL) announce revocations and key changes: apply
  // them now rather than at the next poll.
  signals_ = store_.subscribe(std::string(kSignalChannel), [this](const std::string& what) { on_signal(what); });
  worker_ = std::thread([this] { background(); });
}

void AuthzService::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_purge_ = true;
  signals_.reset();
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
  if (purge_thread_.joinable()) purge_thread_.join();
}

void AuthzService::refresh_once() {
  auto log = core::logger("authz");
  if (auto r = clients_.reload(); !r) log->warn("cannot re-read clients: {}", r.error());
  if (auto r = keys_.reload(); !r) log->warn("cannot re-read keys: {}", r.error());
  if (auto r = revocations_.reload(); !r) log->warn("cannot re-read revocations: {}", r.error().message);
  record_node_keys();
}

void AuthzService::on_signal(const std::string& what) {
  auto log = core::logger("authz");
  if (what == kRevocationsChanged) {
    if (auto r = revocations_.reload(); !r) log->warn("cannot re-read revocations: {}", r.error().message);
  } else if (what == kKeysChanged) {
    if (auto r = keys_.reload(); !r) log->warn("cannot re-read keys: {}", r.error());
  } else if (what == kClientsChanged) {
    if (auto r = clients_.reload(); !r) log->warn("cannot re-read clients: {}", r.error());
  }
}

void AuthzService::announce(std::string_view what) {
  on_signal(std::string(what));
  if (what == kKeysChanged) record_node_keys();
  (void)store_.signal(kSignalChannel, what);
}

void AuthzService::record_node_keys() {
  auto keys = keys_.keys();
  if (node_id_.empty() || !keys || !keys->signing || !keys->encryption) return;
  (void)store_.exec(
      "INSERT INTO authz_node_keys (node_id, signing_kid, encryption_kid, seen_at) VALUES (?, ?, ?, ?) "
      "ON CONFLICT (node_id) DO UPDATE SET signing_kid = excluded.signing_kid, "
      "encryption_kid = excluded.encryption_kid, seen_at = excluded.seen_at",
      {node_id_, keys->signing->kid(), keys->encryption->kid(), unix_seconds(clock_)});
}

void AuthzService::background() {
  auto next_purge = next_purge_time(clock_.now(), purge_settings(config_));
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, kRefreshEvery, [this] { return stopping_ || purge_requested_; });
    if (stopping_) break;
    const bool due = (purge_requested_ || clock_.now() >= next_purge) && !purging_;
    if (due) {
      // Its own thread: a purge of millions of rows must not hold up the
      // refresh of clients, keys and revocations.
      purge_requested_ = false;
      purging_ = true;
      lock.unlock();
      if (purge_thread_.joinable()) purge_thread_.join();
      purge_thread_ = std::thread([this] { run_purge(); });
      next_purge = next_purge_time(clock_.now(), purge_settings(config_));
    } else {
      lock.unlock();
    }
    refresh_once();
    lock.lock();
  }
}

void AuthzService::run_purge() {
  auto log = core::logger("authz");
  auto report = purger_.run(stop_purge_);
  std::lock_guard lock(mutex_);
  purging_ = false;
  if (!report) {
    last_purge_error_ = report.error().message;
    log->error("purge failed: {}", report.error().message);
    return;
  }
  last_purge_error_.clear();
  last_purge_ = *report;
  metrics_.counter("ucedge_authz_purged_rows_total", "Rows the purge deleted, by table.", "table=\"refresh_tokens\"")
      .inc(static_cast<std::uint64_t>(report->refresh_tokens));
  metrics_.counter("ucedge_authz_purged_rows_total", "Rows the purge deleted, by table.", "table=\"codes\"")
      .inc(static_cast<std::uint64_t>(report->codes));
  metrics_.counter("ucedge_authz_purged_rows_total", "Rows the purge deleted, by table.", "table=\"revocations\"")
      .inc(static_cast<std::uint64_t>(report->revocations));
  log->info("purge: {} refresh tokens, {} codes, {} revocations deleted in {} batches, {} ms{}",
            report->refresh_tokens, report->codes, report->revocations, report->batches, report->took.count(),
            report->interrupted ? " (interrupted)" : "");
}

}  // namespace ucedge::authz
