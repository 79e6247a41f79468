// The daily purge: exact counts on both backends, stopping, the schedule
// across month, year and daylight-saving changes, and a million expired
// refresh tokens deleted on SQLite while requests keep being answered.
#include "authz/tokens/purge.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "authz/tokens/refresh_tokens.hpp"
#include "authz/tokens/revocations.hpp"
#include "backend_fixture.hpp"
#include "core/clock.hpp"

namespace ucedge::authz {
namespace {

using store::testing::BackendTest;
using namespace std::chrono_literals;
using std::chrono::system_clock;

constexpr std::chrono::seconds kHorizon{3630};

std::int64_t unix_now(const core::Clock& clock) {
  return std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count();
}

AccessClaims of_family(const std::string& family, std::int64_t issued_at) {
  AccessClaims claims;
  claims.subject = "carol";
  claims.family_id = family;
  claims.issued_at = issued_at;
  return claims;
}

class PurgeRun : public BackendTest {
 protected:
  std::int64_t now() const { return unix_now(clock_); }

  void add_token(const std::string& id, std::int64_t validity, const std::string& state, const std::string& family) {
    ASSERT_STORE_OK(store_->exec(
        "INSERT INTO authz_refresh_tokens (pkid, refreshtokenindex, userid, clientid, validity, state, family_id, "
        "issued_at) VALUES (?, ?, 'alice', 'softphone', ?, ?, ?, ?)",
        {"pk-" + id, id, validity, state, family, validity - 86400}));
  }
  void add_code(const std::string& hash, std::int64_t expires_at) {
    ASSERT_STORE_OK(store_->exec(
        "INSERT INTO authz_codes (code_hash, client_id, userid, redirect_uri, scope, created_at, expires_at) "
        "VALUES (?, 'softphone', 'alice', 'https://app.example/cb', 'openid', ?, ?)",
        {hash, expires_at - 60, expires_at}));
  }
  std::int64_t rows(const std::string& table) {
    auto r = store_->query("SELECT COUNT(*) FROM " + table);
    EXPECT_TRUE(r) << (r ? "" : r.error().to_string());
    return r ? *r->front().get<std::int64_t>(0) : -1;
  }
  std::vector<std::string> column(const std::string& sql) {
    auto r = store_->query(sql);
    EXPECT_TRUE(r) << (r ? "" : r.error().to_string());
    std::vector<std::string> out;
    if (r) {
      for (const auto& row : *r) out.push_back(*row.get<std::string>(0));
    }
    return out;
  }

  core::ManualClock clock_;
};

TEST_P(PurgeRun, DeletesExactlyWhatHasExpiredInBatches) {
  Revocations revocations(*store_, kHorizon, clock_);
  for (const char* family : {"gone-1", "gone-2", "gone-3"}) {
    ASSERT_STORE_OK(revocations.revoke_family(*store_, family));
  }
  clock_.advance(kHorizon);
  ASSERT_STORE_OK(revocations.revoke_family(*store_, "expires-now"));  // expires_at == now after the advance below
  clock_.advance(kHorizon - 5s);
  ASSERT_STORE_OK(revocations.revoke_family(*store_, "still-needed"));
  clock_.advance(5s);
  ASSERT_STORE_OK(revocations.reload());
  const std::int64_t n = now();

  // Refresh tokens: seven past validity + tolerance, in every state.
  add_token("f1-a", n - 3600, "rotated", "f1-a");
  add_token("f1-b", n - 3600, "rotated", "f1-a");
  add_token("f1-c", n - 3600, "active", "f1-a");
  add_token("f2-a", n - 31, "revoked", "f2-a");
  add_token("f2-b", n - 31, "revoked", "f2-a");
  add_token("f3-a", n - 86400, "active", "f3-a");
  add_token("f3-b", n - 86400, "rotated", "f3-a");
  // Kept: inside the tolerance, or valid.
  add_token("edge", n - 30, "active", "edge");
  add_token("just-expired", n - 1, "active", "just-expired");
  RefreshTokenStore tokens(*store_, RotationSettings{}, &revocations, clock_);
  auto live = tokens.issue("bob", "desktop", "openid", n + 3600);
  ASSERT_STORE_OK(live);
  auto rotated = tokens.exchange(live->index, "desktop");
  ASSERT_STORE_OK(rotated);
  ASSERT_EQ(rotated->outcome, Exchange::Outcome::rotated);

  add_code("code-old-1", n - 31);
  add_code("code-old-2", n - 100);
  add_code("code-old-3", n - 3600);
  add_code("code-old-4", n - 86400);
  add_code("code-tolerated", n - 10);
  add_code("code-live", n + 60);

  // Other tables are none of the purge's business.
  ASSERT_STORE_OK(store_->exec(
      "INSERT INTO authz_users (userid, password_hash, created_at) VALUES ('alice', 'x', 0)"));
  const std::int64_t meta_rows = rows("node_meta");

  const std::int64_t family_rows_before = rows("authz_revocations");
  ASSERT_EQ(family_rows_before, 5);
  EXPECT_TRUE(revocations.revoked(of_family("gone-2", n - 4000)));

  Purger purger(*store_, &revocations,
                PurgeSettings{.batch = 2, .pause = 0ms, .clock_tolerance = 30s}, clock_);
  std::atomic<bool> stop{false};
  auto report = purger.run(stop);
  ASSERT_STORE_OK(report);
  EXPECT_EQ(report->refresh_tokens, 7);
  EXPECT_EQ(report->codes, 4);
  EXPECT_EQ(report->revocations, 3);
  EXPECT_EQ(report->batches, 4 + 2 + 2);  // 2+2+2+1, 2+2, 2+1
  EXPECT_FALSE(report->interrupted);

  auto left = column("SELECT refreshtokenindex FROM authz_refresh_tokens ORDER BY validity");
  ASSERT_EQ(left.size(), 4u);
  EXPECT_EQ(left[0], "edge");
  EXPECT_EQ(left[1], "just-expired");
  EXPECT_EQ(column("SELECT code_hash FROM authz_codes ORDER BY expires_at"),
            (std::vector<std::string>{"code-tolerated", "code-live"}));
  EXPECT_EQ(column("SELECT family_id FROM authz_revocations ORDER BY id"),
            (std::vector<std::string>{"expires-now", "still-needed"}));
  EXPECT_EQ(rows("authz_users"), 1);
  EXPECT_EQ(rows("node_meta"), meta_rows);

  // This node's memory followed the table.
  EXPECT_FALSE(revocations.revoked(of_family("gone-2", n - 4000)));
  EXPECT_TRUE(revocations.revoked(of_family("still-needed", n - 10)));

  // The live family still works, and a second run finds nothing.
  auto again = tokens.exchange(rotated->token.index, "desktop");
  ASSERT_STORE_OK(again);
  EXPECT_EQ(again->outcome, Exchange::Outcome::rotated);
  auto second = purger.run(stop);
  ASSERT_STORE_OK(second);
  EXPECT_EQ(second->refresh_tokens + second->codes + second->revocations + second->batches, 0);
}

TEST_P(PurgeRun, StopIsHonouredBeforeTheNextBatch) {
  const std::int64_t n = now();
  for (int i = 0; i < 10; ++i) add_token("old-" + std::to_string(i), n - 3600, "active", "old-" + std::to_string(i));
  add_code("code-old", n - 3600);

  Purger purger(*store_, nullptr, PurgeSettings{.batch = 3, .pause = 0ms}, clock_);
  std::atomic<bool> stop{true};
  auto stopped = purger.run(stop);
  ASSERT_STORE_OK(stopped);
  EXPECT_TRUE(stopped->interrupted);
  EXPECT_EQ(stopped->refresh_tokens, 0);
  EXPECT_EQ(stopped->codes, 0);
  EXPECT_EQ(stopped->batches, 0);
  EXPECT_EQ(rows("authz_refresh_tokens"), 10);
  EXPECT_EQ(rows("authz_codes"), 1);

  stop = false;
  auto full = purger.run(stop);
  ASSERT_STORE_OK(full);
  EXPECT_FALSE(full->interrupted);
  EXPECT_EQ(full->refresh_tokens, 10);
  EXPECT_EQ(full->codes, 1);
  EXPECT_EQ(full->batches, 5);  // 3+3+3+1, 1
  EXPECT_EQ(rows("authz_refresh_tokens"), 0);
}

// Stop set while a run is under way (as at shutdown): it ends after the
// batch in progress, leaving the rest for the next run.
TEST_P(PurgeRun, StopDuringARunEndsItEarly) {
  const std::int64_t n = now();
  for (int i = 0; i < 40; ++i) add_token("old-" + std::to_string(i), n - 3600, "active", "old-" + std::to_string(i));
  Purger purger(*store_, nullptr, PurgeSettings{.batch = 1, .pause = 50ms}, clock_);
  std::atomic<bool> stop{false};
  std::optional<core::Result<PurgeReport, store::StoreError>> report;
  std::thread runner([&] { report.emplace(purger.run(stop)); });
  // Wait until the first batch is gone, then ask it to stop.
  for (int i = 0; i < 2000 && rows("authz_refresh_tokens") == 40; ++i) std::this_thread::sleep_for(1ms);
  stop = true;
  runner.join();
  ASSERT_TRUE(report.has_value());
  ASSERT_STORE_OK(*report);
  EXPECT_TRUE((*report)->interrupted);
  EXPECT_GE((*report)->refresh_tokens, 1);
  EXPECT_LT((*report)->refresh_tokens, 40);
  EXPECT_EQ(rows("authz_refresh_tokens"), 40 - (*report)->refresh_tokens);
}

INSTANTIATE_TEST_SUITE_P(Backends, PurgeRun, ::testing::Values(store::Backend::sqlite, store::Backend::postgres),
                         store::testing::backend_label);

// ---------------------------------------------------------------------------
// next_purge_time

// Sets TZ for the test and puts the previous value back.
class ScopedTimeZone {
 public:
  explicit ScopedTimeZone(const char* zone) {
    if (const char* old = std::getenv("TZ"); old != nullptr) old_ = old;
    ::setenv("TZ", zone, 1);
    ::tzset();
  }
  ~ScopedTimeZone() {
    if (old_) {
      ::setenv("TZ", old_->c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }

 private:
  std::optional<std::string> old_;
};

system_clock::time_point utc(int y, unsigned m, unsigned d, int hh, int mm, int ss = 0) {
  using namespace std::chrono;
  return sys_days{year{y} / month{m} / day{d}} + hours{hh} + minutes{mm} + seconds{ss};
}

PurgeSettings at(int hour, int minute) {
  PurgeSettings s;
  s.hour = hour;
  s.minute = minute;
  return s;
}

TEST(NextPurgeTime, SameDayOrNextInUtc) {
  ScopedTimeZone zone("UTC");
  EXPECT_EQ(next_purge_time(utc(2025, 6, 10, 1, 0), PurgeSettings{}), utc(2025, 6, 10, 2, 0));
  EXPECT_EQ(next_purge_time(utc(2025, 6, 10, 1, 59, 59) + 500ms, PurgeSettings{}), utc(2025, 6, 10, 2, 0));
  // Strictly after: the moment of a run schedules the next day's.
  EXPECT_EQ(next_purge_time(utc(2025, 6, 10, 2, 0), PurgeSettings{}), utc(2025, 6, 11, 2, 0));
  EXPECT_EQ(next_purge_time(utc(2025, 6, 10, 2, 0) + 1ms, PurgeSettings{}), utc(2025, 6, 11, 2, 0));
  EXPECT_EQ(next_purge_time(utc(2025, 6, 10, 14, 0), PurgeSettings{}), utc(2025, 6, 11, 2, 0));
  EXPECT_EQ(next_purge_time(utc(2025, 6, 10, 10, 0), at(23, 45)), utc(2025, 6, 10, 23, 45));
  EXPECT_EQ(next_purge_time(utc(2025, 6, 10, 23, 59, 59), at(0, 0)), utc(2025, 6, 11, 0, 0));
  EXPECT_EQ(next_purge_time(utc(2025, 6, 10, 0, 0), at(0, 0)), utc(2025, 6, 11, 0, 0));
}

TEST(NextPurgeTime, RollsOverMonthsAndYears) {
  ScopedTimeZone zone("UTC");
  EXPECT_EQ(next_purge_time(utc(2025, 12, 31, 23, 30), PurgeSettings{}), utc(2026, 1, 1, 2, 0));
  EXPECT_EQ(next_purge_time(utc(2025, 2, 28, 3, 0), PurgeSettings{}), utc(2025, 3, 1, 2, 0));
  EXPECT_EQ(next_purge_time(utc(2024, 2, 28, 3, 0), PurgeSettings{}), utc(2024, 2, 29, 2, 0));
  EXPECT_EQ(next_purge_time(utc(2025, 4, 30, 12, 0), at(1, 15)), utc(2025, 5, 1, 1, 15));
}

TEST(NextPurgeTime, FollowsLocalTimeAcrossDaylightSaving) {
  ScopedTimeZone zone("Europe/Berlin");
  // Local noon: CET is UTC+1, CEST UTC+2.
  EXPECT_EQ(next_purge_time(utc(2025, 1, 15, 5, 0), at(12, 0)), utc(2025, 1, 15, 11, 0));
  EXPECT_EQ(next_purge_time(utc(2025, 7, 15, 5, 0), at(12, 0)), utc(2025, 7, 15, 10, 0));
  // Spring forward (30 March 2025): 23 hours from one noon to the next;
  // autumn back (26 October 2025): 25 hours.
  EXPECT_EQ(next_purge_time(utc(2025, 3, 29, 11, 0), at(12, 0)), utc(2025, 3, 30, 10, 0));
  EXPECT_EQ(next_purge_time(utc(2025, 10, 25, 10, 0), at(12, 0)), utc(2025, 10, 26, 11, 0));

  // 02:30 does not exist on 30 March: that day's run is shifted by the
  // gap, and the next one is the next day's 02:30.
  const auto skipped = next_purge_time(utc(2025, 3, 29, 23, 0), at(2, 30));
  EXPECT_GE(skipped, utc(2025, 3, 30, 0, 30));
  EXPECT_LE(skipped, utc(2025, 3, 30, 1, 30));
  EXPECT_EQ(next_purge_time(skipped, at(2, 30)), utc(2025, 3, 31, 0, 30));

  // 02:30 happens twice on 26 October: still one run that day.
  const auto twice = next_purge_time(utc(2025, 10, 25, 12, 0), at(2, 30));
  EXPECT_TRUE(twice == utc(2025, 10, 26, 0, 30) || twice == utc(2025, 10, 26, 1, 30));
  EXPECT_EQ(next_purge_time(twice, at(2, 30)), utc(2025, 10, 27, 1, 30));
  EXPECT_EQ(next_purge_time(utc(2025, 10, 26, 0, 45), at(2, 30)), utc(2025, 10, 27, 1, 30));
}

// ---------------------------------------------------------------------------
// Purging SQLite, the embedded default, while requests keep coming.

// A request waits at most for one batch DELETE and its commit (the SQLite
// writer is free again during the pause), plus the other requests queued
// for the writer; BatchSizer keeps a DELETE near 100 ms where rows are slow
// to delete (random rows under AddressSanitizer took 190 ms a batch of 1000). Measured on the 2-core development VM: a p99 of 9-65 ms
// and a worst case of 20-70 ms alone, up to 3.5 s under a full parallel
// build (one stall of the whole machine, not of the purge). So the bound
// that says "requests keep being answered" is on the 99th percentile, with
// the worst case only required to stay far below the purge's own duration.
constexpr double kP99LatencyBoundMs = 250;
constexpr double kWorstLatencyBoundMs = 5000;

// How the expired rows lie in the table's indexes.
enum class Layout {
  // Ids that grow with the time of issue (issue() makes UUIDv7s), validity
  // in the same order and each user's tokens together: a batch of the oldest
  // rows sits on a few neighbouring pages of every index.
  time_ordered,
  // Random v4 ids, users and validities (the worst case: rows imported from
  // elsewhere): each deleted row rewrites about one page of every index.
  random,
};

// `count` expired refresh tokens, inserted 100,000 to a statement and a
// transaction, their ids and other columns made by SQLite itself.
void fill_expired(store::Store& db, std::int64_t count, Layout layout, std::int64_t now) {
  constexpr std::int64_t kChunk = 100'000;
  const std::string columns =
      layout == Layout::time_ordered
          ? "printf('%08x-%04x-7', i / 65536, i % 65536) || substr(a, 1, 3) || '-8' || substr(a, 4, 3) || '-' || "
            "substr(a, 7, 12), "
            "printf('%08x-%04x-7', i / 65536, i % 65536) || substr(b, 1, 3) || '-8' || substr(b, 4, 3) || '-' || "
            "substr(b, 7, 12), "
            "printf('user-%06d', i / 30), ? - 86400 + i / 100, printf('family-%08x', i - i % 3)"
          : "substr(a, 1, 8) || '-' || substr(a, 9, 4) || '-4' || substr(a, 13, 3) || '-8' || substr(a, 16, 3) || "
            "'-' || substr(a, 19, 12), "
            "substr(b, 1, 8) || '-' || substr(b, 9, 4) || '-4' || substr(b, 13, 3) || '-8' || substr(b, 16, 3) || "
            "'-' || substr(b, 19, 12), "
            "'user-' || abs(random() % 20000), ? - 86400 + abs(random() % 40000), "
            "printf('family-%08x', (i / 3) * 2654435761 % 4294967296)";
  const std::string sql =
      "WITH RECURSIVE seq(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM seq WHERE i < ?), "
      "ids(i, a, b) AS (SELECT i, lower(hex(randomblob(16))), lower(hex(randomblob(16))) FROM seq) "
      "INSERT INTO authz_refresh_tokens (pkid, refreshtokenindex, userid, validity, family_id, clientid, state, "
      "scope, issued_at) SELECT " +
      columns +
      ", 'softphone', CASE i % 3 WHEN 0 THEN 'active' WHEN 1 THEN 'rotated' ELSE 'revoked' END, "
      "'openid sip', ? - 5184000 FROM ids";
  for (std::int64_t from = 0; from < count; from += kChunk) {
    const std::int64_t to = std::min(count, from + kChunk) - 1;
    ASSERT_STORE_OK(db.transaction([&](store::Transaction& txn) -> core::Result<void, store::StoreError> {
      auto n = txn.exec(sql, {from, to, now, now});
      if (!n) return core::fail(n.error());
      if (*n != to - from + 1) {
        return core::fail(store::StoreError{store::StoreError::Kind::internal,
                                            "inserted " + std::to_string(*n) + " rows"});
      }
      return {};
    }));
  }
}

// Latencies of one kind of call.
struct Latencies {
  std::mutex mutex;
  std::vector<double> ms;
  void add(std::chrono::steady_clock::duration d) {
    std::lock_guard lock(mutex);
    ms.push_back(std::chrono::duration<double, std::milli>(d).count());
  }
  double percentile(double p) {
    std::lock_guard lock(mutex);
    if (ms.empty()) return 0;
    std::vector<double> sorted = ms;
    std::sort(sorted.begin(), sorted.end());
    return sorted[std::min(sorted.size() - 1, static_cast<std::size_t>(p * static_cast<double>(sorted.size())))];
  }
};

// Fills a new SQLite database with `expired` rows and a few hundred live
// families, then runs the purge with its default settings (1000 rows a batch,
// 20 ms pause) while three threads refresh live tokens and two look them up,
// at a steady pace as traffic would. Every call must succeed, the live
// families must survive and every expired row must go.
void purge_while_requests_run(std::int64_t expired, Layout layout) {
  constexpr int kLiveFamilies = 300;
  constexpr int kRefreshers = 3;
  constexpr int kReaders = 2;

  char tmpl[] = "/tmp/ucedge-purge-load-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  struct Cleanup {
    std::filesystem::path dir;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{tmpl};
  store::StoreConfig config;
  config.backend = store::Backend::sqlite;
  config.sqlite_path = "purge.db";
  auto opened = store::open_store(config, cleanup.dir);
  ASSERT_STORE_OK(opened);
  store::Store& db = **opened;
  const core::Clock& clock = core::RealClock::instance();
  const std::int64_t now = unix_now(clock);

  const auto fill_started = std::chrono::steady_clock::now();
  fill_expired(db, expired, layout, now);
  if (::testing::Test::HasFatalFailure()) return;
  const double fill_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - fill_started).count();

  Revocations revocations(db, kHorizon, clock);
  RefreshTokenStore tokens(db, RotationSettings{}, &revocations, clock);
  std::vector<std::string> live;
  for (int i = 0; i < kLiveFamilies; ++i) {
    auto issued = tokens.issue("live-" + std::to_string(i), "softphone", "openid", now + 30 * 86400);
    ASSERT_STORE_OK(issued);
    live.push_back(issued->index);
  }
  {
    auto total = db.query("SELECT COUNT(*) FROM authz_refresh_tokens WHERE validity < ?", {now});
    ASSERT_STORE_OK(total);
    ASSERT_EQ(*total->front().get<std::int64_t>(0), expired);
  }

  std::vector<std::string> newest = live;
  std::mutex newest_mutex;
  std::atomic<bool> purge_done{false};
  std::atomic<std::int64_t> failures{0};
  std::atomic<std::int64_t> rotations{0};
  Latencies refresh_latency, find_latency;
  std::mutex failure_mutex;
  std::string first_failure;
  auto failed = [&](const std::string& what) {
    ++failures;
    std::lock_guard lock(failure_mutex);
    if (first_failure.empty()) first_failure = what;
  };

  std::vector<std::thread> workers;
  for (int w = 0; w < kRefreshers; ++w) {
    workers.emplace_back([&, w] {
      for (std::size_t k = static_cast<std::size_t>(w); !purge_done.load(); k = (k + kRefreshers) % live.size()) {
        std::string index;
        {
          std::lock_guard lock(newest_mutex);
          index = newest[k];
        }
        const auto started = std::chrono::steady_clock::now();
        auto done = tokens.exchange(index, "softphone");
        refresh_latency.add(std::chrono::steady_clock::now() - started);
        if (!done) {
          failed("exchange: " + done.error().to_string());
        } else if (done->outcome != Exchange::Outcome::rotated) {
          failed("exchange: " + std::string(to_string(done->outcome)));
        } else {
          ++rotations;
          std::lock_guard lock(newest_mutex);
          newest[k] = done->token.index;
        }
        std::this_thread::sleep_for(2ms);  // a steady request rate, not a busy loop
      }
    });
  }
  for (int r = 0; r < kReaders; ++r) {
    workers.emplace_back([&, r] {
      for (std::size_t k = static_cast<std::size_t>(r); !purge_done.load(); k = (k + 7) % live.size()) {
        const auto started = std::chrono::steady_clock::now();
        auto found = tokens.find(live[k]);
        find_latency.add(std::chrono::steady_clock::now() - started);
        if (!found) {
          failed("find: " + found.error().to_string());
        } else if (!found->has_value()) {
          failed("find: live token " + live[k] + " is gone");
        }
        std::this_thread::sleep_for(1ms);
      }
    });
  }

  Purger purger(db, &revocations, PurgeSettings{}, clock);
  std::atomic<bool> stop{false};
  const auto purge_started = std::chrono::steady_clock::now();
  auto report = purger.run(stop);
  const double purge_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - purge_started).count();
  purge_done = true;
  for (auto& t : workers) t.join();

  ASSERT_STORE_OK(report);
  EXPECT_EQ(report->refresh_tokens, expired);
  EXPECT_FALSE(report->interrupted);
  EXPECT_EQ(failures.load(), 0) << first_failure;

  auto expired_left = db.query("SELECT COUNT(*) FROM authz_refresh_tokens WHERE validity < ?", {now});
  ASSERT_STORE_OK(expired_left);
  EXPECT_EQ(*expired_left->front().get<std::int64_t>(0), 0);
  auto total = db.query("SELECT COUNT(*) FROM authz_refresh_tokens");
  ASSERT_STORE_OK(total);
  EXPECT_EQ(*total->front().get<std::int64_t>(0), kLiveFamilies + rotations.load());
  for (std::size_t k = 0; k < newest.size(); ++k) {
    auto found = tokens.find(newest[k]);
    ASSERT_STORE_OK(found);
    ASSERT_TRUE(found->has_value());
    EXPECT_EQ((*found)->state, RefreshState::active);
    EXPECT_EQ((*found)->family_id, live[k]);
  }

  const double refresh_worst = refresh_latency.percentile(1.0);
  const double find_worst = find_latency.percentile(1.0);
  std::printf(
      "[ purge    ] %s rows: fill %.1f s; purge of %lld rows took %.1f s in %lld batches\n"
      "[ purge    ] %zu refreshes meanwhile: median %.2f ms, p99 %.2f ms, worst %.2f ms\n"
      "[ purge    ] %zu look-ups meanwhile: median %.2f ms, p99 %.2f ms, worst %.2f ms\n",
      layout == Layout::time_ordered ? "time-ordered" : "random", fill_s,
      static_cast<long long>(report->refresh_tokens), purge_s, static_cast<long long>(report->batches),
      refresh_latency.ms.size(), refresh_latency.percentile(0.5), refresh_latency.percentile(0.99), refresh_worst,
      find_latency.ms.size(), find_latency.percentile(0.5), find_latency.percentile(0.99), find_worst);
  EXPECT_GT(refresh_latency.ms.size(), 100u);
  EXPECT_GT(find_latency.ms.size(), 100u);
  EXPECT_LT(refresh_latency.percentile(0.99), kP99LatencyBoundMs);
  EXPECT_LT(find_latency.percentile(0.99), kP99LatencyBoundMs);
  EXPECT_LT(refresh_worst, kWorstLatencyBoundMs);
  EXPECT_LT(find_worst, kWorstLatencyBoundMs);
}

// The seed warns that its purge spiked the CPU. A million expired tokens go
// in 1000 batches while refreshes (which need the SQLite writer) and look-ups
// (readers) keep being answered. The rows are time-ordered so the test fits
// its time budget; RandomRowsWhileRequestsKeepAnswering measures the costlier
// batches of randomly laid out rows.
TEST(PurgeTest, MillionExpiredRowsWhileRequestsKeepAnswering) {
  purge_while_requests_run(1'000'000, Layout::time_ordered);
}

// Random ids, users and validities, as months of issue() leave them: every
// deleted row rewrites about one page of each index, so a batch holds the
// writer far longer (here about 100-200 ms for 1000 rows against 5-10 ms for
// time-ordered rows; a million such rows take minutes to purge), and
// BatchSizer shrinks the batches. A request still waits for one batch at most.
TEST(PurgeTest, RandomRowsWhileRequestsKeepAnswering) {
  purge_while_requests_run(100'000, Layout::random);
}


// ---------------------------------------------------------------------------
// The batch size follows how long a DELETE holds the store.

TEST(BatchSizer, HalvesAfterASlowDeleteAndGrowsBackAfterQuickOnes) {
  BatchSizer batch(1000, 100ms);
  EXPECT_EQ(batch.rows(), 1000);
  batch.took(100ms);  // at the budget: kept
  EXPECT_EQ(batch.rows(), 1000);
  batch.took(190ms);
  EXPECT_EQ(batch.rows(), 500);
  batch.took(101ms);
  EXPECT_EQ(batch.rows(), 250);
  batch.took(60ms);  // within the budget but not quick: kept
  EXPECT_EQ(batch.rows(), 250);
  batch.took(20ms);
  EXPECT_EQ(batch.rows(), 500);
  batch.took(1ms);
  batch.took(1ms);
  EXPECT_EQ(batch.rows(), 1000);  // never past the configured size
}

TEST(BatchSizer, NeverShrinksBelowTenRowsOrTheConfiguredSizeIfFewer) {
  BatchSizer batch(40, 100ms);
  for (int i = 0; i < 10; ++i) batch.took(5s);
  EXPECT_EQ(batch.rows(), BatchSizer::kFewestRows);
  BatchSizer tiny(3, 100ms);
  tiny.took(5s);
  EXPECT_EQ(tiny.rows(), 3);
}

}  // namespace
}  // namespace ucedge::authz
