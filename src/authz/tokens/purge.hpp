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
  std::int64_t batch = 1000;                 // rows per DELETE, at most (see BatchSizer)
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

// How many rows the next DELETE may remove. A DELETE holds the SQLite writer
// (PostgreSQL: its row locks) while it runs, and the same batch costs ten
// times more on a slow disk, or where the rows lie at random in the indexes,
// than on a fast one. So the size starts at `most`, halves (down to
// kFewestRows) after a DELETE that took longer than `budget`, and doubles
// back towards `most` after one that took under a quarter of it. The pause
// between batches (purge_pause) stays the same.
class BatchSizer {
 public:
  static constexpr std::int64_t kFewestRows = 10;
  static constexpr std::chrono::milliseconds kDefaultBudget{100};

  explicit BatchSizer(std::int64_t most, std::chrono::milliseconds budget = kDefaultBudget);
  std::int64_t rows() const { return rows_; }
  void took(std::chrono::steady_clock::duration elapsed);

 private:
  const std::int64_t most_;
  const std::int64_t fewest_;  // kFewestRows, or `most` when that is fewer
  const std::chrono::steady_clock::duration budget_;
  std::int64_t rows_;
};

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
