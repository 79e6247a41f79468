#include "authz/tokens/purge.hpp"

#include <algorithm>
#include <ctime>
#include <string_view>
#include <thread>

#include "authz/tokens/revocations.hpp"

namespace ucedge::authz {

namespace {

using store::StoreError;

std::int64_t unix_seconds(const core::Clock& clock) {
  return std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count();
}

// Each DELETE removes at most `batch` rows picked by the indexed expiry
// column. The subquery form is the portable one: neither backend accepts
// DELETE ... LIMIT in plain SQL, and a short statement keeps the SQLite
// writer (and PostgreSQL's row locks) free for requests between batches.
struct Job {
  std::string_view sql;
  std::int64_t cutoff;
  std::int64_t* deleted;
};

}  // namespace

std::chrono::system_clock::time_point next_purge_time(std::chrono::system_clock::time_point after,
                                                      const PurgeSettings& settings) {
  using std::chrono::system_clock;
  const int hour = std::clamp(settings.hour, 0, 23);
  const int minute = std::clamp(settings.minute, 0, 59);
  const std::time_t start = system_clock::to_time_t(after);
  std::tm local{};
  if (localtime_r(&start, &local) == nullptr) return after + std::chrono::hours(24);
  // Today's HH:MM unless the clock has reached it, else tomorrow's: decided
  // on the local calendar, so a day whose HH:MM happens twice (the autumn
  // change) still has one run. mktime() normalises a day past the end of a
  // month or year and, with tm_isdst = -1, works out whether daylight saving
  // applies that day; an HH:MM that the spring change skips comes out shifted
  // by the gap, still that day's run.
  const bool reached = local.tm_hour > hour || (local.tm_hour == hour && local.tm_min >= minute);
  for (int day = reached ? 1 : 0; day <= 2; ++day) {
    std::tm due = local;
    due.tm_mday += day;
    due.tm_hour = hour;
    due.tm_min = minute;
    due.tm_sec = 0;
    due.tm_isdst = -1;
    const std::time_t at = std::mktime(&due);
    if (at == static_cast<std::time_t>(-1)) continue;
    const auto when = system_clock::from_time_t(at);
    if (when > after) return when;
  }
  return after + std::chrono::hours(24);
}

BatchSizer::BatchSizer(std::int64_t most, std::chrono::milliseconds budget)
    : most_(std::max<std::int64_t>(most, 1)), fewest_(std::min(kFewestRows, most_)), budget_(budget), rows_(most_) {}

void BatchSizer::took(std::chrono::steady_clock::duration elapsed) {
  if (elapsed > budget_) {
    rows_ = std::max(rows_ / 2, fewest_);
  } else if (elapsed < budget_ / 4) {
    rows_ = std::min(rows_ * 2, most_);
  }
}

Purger::Purger(store::Store& store, Revocations* revocations, PurgeSettings settings, const core::Clock& clock)
    : store_(store), revocations_(revocations), settings_(settings), clock_(clock) {}

core::Result<PurgeReport, StoreError> Purger::run(const std::atomic<bool>& stop) {
  const auto started = clock_.steady_now();
  const std::int64_t now = unix_seconds(clock_);
  const std::int64_t expired_before = now - settings_.clock_tolerance.count();
  BatchSizer batch(settings_.batch);
  PurgeReport report;

  const Job jobs[] = {
      // A family shares one validity, so rotated and revoked tokens go with
      // the active one (hydra#1574: consumed tokens left behind fill tables).
      {"DELETE FROM authz_refresh_tokens WHERE pkid IN "
       "(SELECT pkid FROM authz_refresh_tokens WHERE validity < ? LIMIT ?)",
       expired_before, &report.refresh_tokens},
      {"DELETE FROM authz_codes WHERE code_hash IN "
       "(SELECT code_hash FROM authz_codes WHERE expires_at < ? LIMIT ?)",
       expired_before, &report.codes},
      // expires_at already includes the access-token lifetime and tolerance.
      {"DELETE FROM authz_revocations WHERE id IN "
       "(SELECT id FROM authz_revocations WHERE expires_at < ? LIMIT ?)",
       now, &report.revocations},
  };

  bool pause_next = false;
  for (const Job& job : jobs) {
    for (;;) {
      if (stop.load()) {
        report.interrupted = true;
        break;
      }
      if (pause_next && settings_.pause.count() > 0) std::this_thread::sleep_for(settings_.pause);
      const std::int64_t limit = batch.rows();
      const auto batch_started = clock_.steady_now();
      auto deleted = store_.exec(job.sql, {job.cutoff, limit});
      if (!deleted) return core::fail(deleted.error());
      batch.took(clock_.steady_now() - batch_started);
      *job.deleted += *deleted;
      pause_next = *deleted > 0;
      if (*deleted > 0) ++report.batches;
      if (*deleted < limit) break;
    }
    if (report.interrupted) break;
  }

  if (revocations_ != nullptr && report.revocations > 0) {
    if (auto rebuilt = revocations_->rebuild(); !rebuilt) return core::fail(rebuilt.error());
  }
  report.took = std::chrono::duration_cast<std::chrono::milliseconds>(clock_.steady_now() - started);
  return report;
}

}  // namespace ucedge::authz
