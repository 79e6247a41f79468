#include "prov/device_status.hpp"

#include <nlohmann/json.hpp>

#include <spdlog/spdlog.h>

#include "core/log.hpp"

namespace ucedge::prov {

namespace {

std::int64_t unix_seconds(const core::Clock& clock) {
  return std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count();
}

std::string text_or_empty(const store::Row& row, std::size_t column) {
  auto v = row.get_optional<std::string>(column);
  return v && *v ? **v : std::string();
}

store::Value optional_value(const std::optional<std::int64_t>& v) {
  return v ? store::Value(*v) : store::Value(std::monostate{});
}

}  // namespace

DeviceStatusBook::DeviceStatusBook(store::Store& store, std::size_t fetch_log_entries, const core::Clock& clock)
    : store_(store), fetch_log_entries_(fetch_log_entries), clock_(clock) {}

DeviceStatusBook::~DeviceStatusBook() { stop(); }

core::Result<void> DeviceStatusBook::load() {
  auto rows = store_.query(
      "SELECT mac, last_request_at, last_request_url, last_result, last_result_at, last_result_url, last_error, "
      "last_address FROM prov_device_status");
  if (!rows) return core::fail("cannot read device status: " + rows.error().message);
  std::lock_guard lock(mutex_);
  for (const auto& row : *rows) {
    ResyncStatus s;
    auto mac = row.get<std::string>(0);
    if (!mac) continue;
    if (auto v = row.get_optional<std::int64_t>(1); v) s.last_request_at = *v;
    s.last_request_url = text_or_empty(row, 2);
    s.last_result = text_or_empty(row, 3);
    if (auto v = row.get_optional<std::int64_t>(4); v) s.last_result_at = *v;
    s.last_result_url = text_or_empty(row, 5);
    s.last_error = text_or_empty(row, 6);
    s.last_address = text_or_empty(row, 7);
    resync_[*mac] = std::move(s);
  }
  return {};
}

void DeviceStatusBook::start() {
  flusher_ = std::thread([this] {
    std::unique_lock lock(flush_mutex_);
    while (!stopping_) {
      wake_.wait_for(lock, std::chrono::seconds(1));
      lock.unlock();
      if (auto flushed = flush(); !flushed) core::logger("prov")->warn("device status not saved yet: {}", flushed.error());
      lock.lock();
    }
  });
}

void DeviceStatusBook::stop() {
  {
    std::lock_guard lock(flush_mutex_);
    if (stopping_ && !flusher_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  (void)flush();
}

core::Result<void> DeviceStatusBook::flush() {
  std::vector<std::pair<std::string, ResyncStatus>> pending;
  {
    std::lock_guard lock(mutex_);
    for (const auto& mac : dirty_) {
      auto it = resync_.find(mac);
      if (it != resync_.end()) pending.emplace_back(mac, it->second);
    }
    dirty_.clear();
  }
  if (pending.empty()) return {};
  const std::int64_t now = unix_seconds(clock_);
  auto written = store_.transaction([&](store::Transaction& txn) -> core::Result<void, store::StoreError> {
    for (const auto& [mac, s] : pending) {
      auto r = txn.exec(
          "INSERT INTO prov_device_status (mac, last_request_at, last_request_url, last_result, last_result_at, "
          "last_result_url, last_error, last_address, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
          "ON CONFLICT (mac) DO UPDATE SET last_request_at = excluded.last_request_at, "
          "last_request_url = excluded.last_request_url, last_result = excluded.last_result, "
          "last_result_at = excluded.last_result_at, last_result_url = excluded.last_result_url, "
          "last_error = excluded.last_error, last_address = excluded.last_address, updated_at = excluded.updated_at",
          {mac, optional_value(s.last_request_at), s.last_request_url, s.last_result,
           optional_value(s.last_result_at), s.last_result_url, s.last_error, s.last_address, now});
      if (!r) return core::fail(r.error());
    }
    return {};
  });
  if (!written) {
    // Keep them for the next round.
    std::lock_guard lock(mutex_);
    for (const auto& [mac, s] : pending) dirty_.insert(mac);
    return core::fail(written.error().message);
  }
  return {};
}

void DeviceStatusBook::record_resync(const ResyncEvent& event, std::string_view remote_address) {
  const std::int64_t now = unix_seconds(clock_);
  std::lock_guard lock(mutex_);
  ResyncStatus& s = resync_[event.mac];
  s.last_address = std::string(remote_address);
  switch (event.kind) {
    case ResyncEvent::Kind::request:
      s.last_request_at = now;
      s.last_request_url = event.url;
      break;
    case ResyncEvent::Kind::success:
      s.last_result = "success";
      s.last_result_at = now;
      s.last_result_url = event.url;
      s.last_error.clear();
      break;
    case ResyncEvent::Kind::failure:
      s.last_result = "failure";
      s.last_result_at = now;
      s.last_result_url = s.last_request_url;
      s.last_error = event.error;
      break;
  }
  dirty_.insert(event.mac);
}

void DeviceStatusBook::record_fetch(const std::string& mac, FetchRecord record) {
  if (fetch_log_entries_ == 0) return;
  std::lock_guard lock(mutex_);
  auto& log = fetches_[mac];
  log.push_front(std::move(record));
  while (log.size() > fetch_log_entries_) log.pop_back();
}

void DeviceStatusBook::forget(const std::string& mac) {
  std::lock_guard lock(mutex_);
  resync_.erase(mac);
  fetches_.erase(mac);
  dirty_.erase(mac);
}

std::optional<ResyncStatus> DeviceStatusBook::resync_status(const std::string& mac) const {
  std::lock_guard lock(mutex_);
  auto it = resync_.find(mac);
  if (it == resync_.end()) return std::nullopt;
  return it->second;
}

std::vector<FetchRecord> DeviceStatusBook::fetches(const std::string& mac) const {
  std::lock_guard lock(mutex_);
  auto it = fetches_.find(mac);
  if (it == fetches_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

nlohmann::json DeviceStatusBook::to_json(const std::string& mac) const {
  nlohmann::json resync = nullptr;
  if (auto s = resync_status(mac)) {
    auto opt = [](const std::optional<std::int64_t>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
    resync = {{"last_request_at", opt(s->last_request_at)},
              {"last_request_url", s->last_request_url},
              {"last_result", s->last_result},
              {"last_result_at", opt(s->last_result_at)},
              {"last_result_url", s->last_result_url},
              {"last_error", s->last_error},
              {"last_address", s->last_address}};
  }
  nlohmann::json fetch_log = nlohmann::json::array();
  for (const auto& f : fetches(mac)) {
    fetch_log.push_back({{"at_ms", f.at},
                         {"transport", f.transport},
                         {"path", f.path},
                         {"status", f.status},
                         {"bytes", f.bytes},
                         {"remote_address", f.remote_address}});
  }
  return {{"resync", resync}, {"fetches", fetch_log}};
}

}  // namespace ucedge::prov
