#pragma once
// What ucedge has seen of each device: its last resync request, result and
// error from syslog (seed 004: "Requesting resync", "Successful resync",
// "Resync failed: $ERR"), and its recent fetches over HTTP and TFTP.
//
// The syslog state is written to the store by a background flush (once a
// second, one transaction), so a storm of log lines never waits on fsync; a
// crash loses at most the last second of it, which the phones' next resync
// repeats. Fetches are kept in memory only.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>

#include <nlohmann/json_fwd.hpp>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "prov/codec/syslog_message.hpp"
#include "store/store.hpp"

namespace ucedge::prov {

struct ResyncStatus {
  std::optional<std::int64_t> last_request_at;  // Unix seconds
  std::string last_request_url;
  std::string last_result;                      // "success", "failure" or ""
  std::optional<std::int64_t> last_result_at;
  std::string last_result_url;
  std::string last_error;
  std::string last_address;                     // where the syslog came from
};

struct FetchRecord {
  std::int64_t at = 0;  // Unix milliseconds
  std::string transport;
  std::string path;
  int status = 0;
  std::uint64_t bytes = 0;
  std::string remote_address;
};

class DeviceStatusBook {
 public:
  DeviceStatusBook(store::Store& store, std::size_t fetch_log_entries,
                   const core::Clock& clock = core::RealClock::instance());
  ~DeviceStatusBook();

  core::Result<void> load();
  // Starts the background flush; stop() flushes what is pending and joins.
  void start();
  void stop();
  // Writes what is pending now (tests, shutdown).
  core::Result<void> flush();

  void record_resync(const ResyncEvent& event, std::string_view remote_address);
  void record_fetch(const std::string& mac, FetchRecord record);
  void forget(const std::string& mac);

  std::optional<ResyncStatus> resync_status(const std::string& mac) const;
  std::vector<FetchRecord> fetches(const std::string& mac) const;  // newest first

  nlohmann::json to_json(const std::string& mac) const;

 private:
  store::Store& store_;
  const std::size_t fetch_log_entries_;
  const core::Clock& clock_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, ResyncStatus> resync_;
  std::unordered_map<std::string, std::deque<FetchRecord>> fetches_;
  std::set<std::string> dirty_;

  std::mutex flush_mutex_;  // one flush at a time
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread flusher_;
};

}  // namespace ucedge::prov
