#include "authz/tokens/revocations.hpp"

#include <algorithm>

namespace ucedge::authz {

namespace {

using store::StoreError;

// reload() reads the rows with an id above the last it saw, and also every
// row revoked in this recent window. On PostgreSQL ids come from a sequence
// when a row is inserted, not when it commits: a transaction that took id 7
// may commit after another one's id 8 has been seen. SQLite numbers a row
// after the highest one left, so ids come again once the purge has emptied
// the table. Reading recent rows again catches both; applying a row twice
// changes nothing.
constexpr std::int64_t kLateCommitWindowSeconds = 300;

std::int64_t unix_seconds(const core::Clock& clock) {
  return std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count();
}

struct RevocationRow {
  std::int64_t id = 0;
  std::optional<std::string> family_id, token_id, userid, clientid;
  std::int64_t revoked_at = 0;
};

core::Result<std::vector<RevocationRow>, StoreError> read_rows(store::Store& store, std::string_view where,
                                                               const store::Params& params) {
  auto rows = store.query(
      "SELECT id, family_id, token_id, userid, clientid, revoked_at FROM authz_revocations " + std::string(where) +
          " ORDER BY id",
      params);
  if (!rows) return core::fail(rows.error());
  std::vector<RevocationRow> out;
  out.reserve(rows->size());
  for (const store::Row& row : *rows) {
    RevocationRow r;
    auto id = row.get<std::int64_t>("id");
    auto family = row.get_optional<std::string>("family_id");
    auto token = row.get_optional<std::string>("token_id");
    auto user = row.get_optional<std::string>("userid");
    auto client = row.get_optional<std::string>("clientid");
    auto at = row.get<std::int64_t>("revoked_at");
    if (!id) return core::fail(id.error());
    if (!family) return core::fail(family.error());
    if (!token) return core::fail(token.error());
    if (!user) return core::fail(user.error());
    if (!client) return core::fail(client.error());
    if (!at) return core::fail(at.error());
    r.id = *id;
    r.family_id = *family;
    r.token_id = *token;
    r.userid = *user;
    r.clientid = *client;
    r.revoked_at = *at;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

Revocations::Revocations(store::Store& store, std::chrono::seconds horizon, const core::Clock& clock)
    : store_(store), horizon_(horizon), clock_(clock) {}

core::Result<void, StoreError> Revocations::revoke_family(store::Queryable& db, std::string_view family_id) {
  const std::int64_t now = unix_seconds(clock_);
  auto n = db.exec("INSERT INTO authz_revocations (family_id, revoked_at, expires_at) VALUES (?, ?, ?)",
                   {std::string(family_id), now, now + horizon_.count()});
  if (!n) return core::fail(n.error());
  return {};
}

core::Result<void, StoreError> Revocations::revoke_token(store::Queryable& db, std::string_view token_id) {
  const std::int64_t now = unix_seconds(clock_);
  auto n = db.exec("INSERT INTO authz_revocations (token_id, revoked_at, expires_at) VALUES (?, ?, ?)",
                   {std::string(token_id), now, now + horizon_.count()});
  if (!n) return core::fail(n.error());
  return {};
}

core::Result<void, StoreError> Revocations::revoke_user(store::Queryable& db, std::string_view userid,
                                                        std::optional<std::string_view> clientid) {
  const std::int64_t now = unix_seconds(clock_);
  store::Value client;  // NULL: every client of the user
  if (clientid) client = std::string(*clientid);
  auto n = db.exec(
      "INSERT INTO authz_revocations (userid, clientid, revoked_at, expires_at) VALUES (?, ?, ?, ?)",
      {std::string(userid), client, now, now + horizon_.count()});
  if (!n) return core::fail(n.error());
  return {};
}

void Revocations::apply(const std::string* family_id, const std::string* token_id, const std::string* userid,
                        const std::string* clientid, std::int64_t revoked_at) {
  if (family_id != nullptr) families_.insert(*family_id);
  if (token_id != nullptr) token_ids_.insert(*token_id);
  if (userid != nullptr) {
    auto& entries = users_[*userid];
    std::pair<std::string, std::int64_t> entry{clientid != nullptr ? *clientid : std::string(), revoked_at};
    if (std::find(entries.begin(), entries.end(), entry) == entries.end()) entries.push_back(std::move(entry));
  }
}

core::Result<void, StoreError> Revocations::reload() {
  std::int64_t since = 0;
  {
    std::lock_guard lock(mutex_);
    since = last_id_;
  }
  auto rows = read_rows(store_, "WHERE id > ? OR revoked_at >= ?",
                        {since, unix_seconds(clock_) - kLateCommitWindowSeconds});
  if (!rows) return core::fail(rows.error());
  auto ptr = [](const std::optional<std::string>& v) { return v ? &*v : nullptr; };
  std::lock_guard lock(mutex_);
  for (const RevocationRow& r : *rows) {
    apply(ptr(r.family_id), ptr(r.token_id), ptr(r.userid), ptr(r.clientid), r.revoked_at);
    last_id_ = std::max(last_id_, r.id);
  }
  return {};
}

core::Result<void, StoreError> Revocations::rebuild() {
  auto rows = read_rows(store_, "WHERE expires_at >= ?", {unix_seconds(clock_)});
  if (!rows) return core::fail(rows.error());
  auto ptr = [](const std::optional<std::string>& v) { return v ? &*v : nullptr; };
  std::lock_guard lock(mutex_);
  families_.clear();
  token_ids_.clear();
  users_.clear();
  // Rows a concurrent reload() applied after our read are read again by the
  // next one: last_id_ only moves to what this read saw.
  last_id_ = 0;
  for (const RevocationRow& r : *rows) {
    apply(ptr(r.family_id), ptr(r.token_id), ptr(r.userid), ptr(r.clientid), r.revoked_at);
    last_id_ = std::max(last_id_, r.id);
  }
  return {};
}

bool Revocations::revoked(const AccessClaims& claims) const {
  std::lock_guard lock(mutex_);
  if (!claims.family_id.empty() && families_.contains(claims.family_id)) return true;
  if (!claims.token_id.empty() && token_ids_.contains(claims.token_id)) return true;
  // A client_credentials token's subject is a client id, not a user.
  if (claims.token_type == "client") return false;
  auto user = users_.find(claims.subject);
  if (user == users_.end()) return false;
  // Revoking a user covers the tokens issued until then (iat has whole
  // seconds, so a token of the revocation's own second counts as before);
  // the user signing in again afterwards gets tokens that are fine.
  return std::any_of(user->second.begin(), user->second.end(), [&](const auto& entry) {
    return (entry.first.empty() || entry.first == claims.client_id) && entry.second >= claims.issued_at;
  });
}

core::Result<std::int64_t, StoreError> Revocations::purge_expired(std::int64_t batch) {
  const std::int64_t now = unix_seconds(clock_);
  const std::int64_t limit = std::max<std::int64_t>(batch, 1);
  std::int64_t total = 0;
  for (;;) {
    auto n = store_.exec(
        "DELETE FROM authz_revocations WHERE id IN "
        "(SELECT id FROM authz_revocations WHERE expires_at < ? LIMIT ?)",
        {now, limit});
    if (!n) return core::fail(n.error());
    total += *n;
    if (*n < limit) break;
  }
  if (total > 0) {
    if (auto rebuilt = rebuild(); !rebuilt) return core::fail(rebuilt.error());
  }
  return total;
}

}  // namespace ucedge::authz
