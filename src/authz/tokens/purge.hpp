#pragma once
// The daily purge (seed 001: "the timer thread runs every day at 2 AM").
// Deletes, in small batches with a pause between them so it never spikes the
// CPU or holds the database for long:
// - refresh tokens whose validity has passed (active, rotated and revoked
//   alike: a family shares one validity, so a consumed token goes with it);
// - authorization codes past their expiry;
// - revocation rows no access token can need any more.
// Stops between batches when asked.
#include <atomic>
#include <chrono>
#include <cstdint>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "store/store.hpp"

namespace ucedge::authz {

class Revocations;

struct PurgeSettings {
  int hour = 2;  // local time of day the daily run starts
  int minute = 0;
  std::int64_t batch = 1000;                 // rows per DELETE
  std::chrono::milliseconds pause{20};       // between batches
  std::chrono::seconds clock_tolerance{30};  // tokens are kept this long past expiry
};

struct PurgeReport {
  std::int64_t refresh_tokens = 0;
  std::int64_t codes = 0;
  std::int64_t revocations = 0;
  std::int64_t batches = 0;  // DELETE statements that removed rows
  std::chrono::milliseconds took{0};
  bool interrupted = false;
};

// The next moment at or after `after` (exclusive) that the daily run is due,
// in local time.
std::chrono::system_clock::time_point next_purge_time(std::chrono::system_clock::time_point after,
                                                      const PurgeSettings& settings);

class Purger {
 public:
  Purger(store::Store& store, Revocations* revocations, PurgeSettings settings,
         const core::Clock& clock = core::RealClock::instance());
  // One full run; `stop` is checked between batches.
  core::Result<PurgeReport, store::StoreError> run(const std::atomic<bool>& stop);

 private:
  store::Store& store_;
  Revocations* revocations_;
  const PurgeSettings settings_;
  const core::Clock& clock_;
};

}  // namespace ucedge::authz
