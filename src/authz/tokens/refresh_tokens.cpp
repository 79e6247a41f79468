#include "authz/tokens/refresh_tokens.hpp"

#include "authz/tokens/revocations.hpp"
#include "core/random_token.hpp"
#include "core/secure_compare.hpp"

// Why the grace answer is safe.
//
// Rotation with reuse detection (RFC 9700 §4.14.2) treats a rotated-out token
// presented again as stolen. Clients that refresh twice at once (two tabs,
// a retry after a lost response, a phone waking several services) present
// the same token within milliseconds and would lose their sign-in. Within
// `grace_period` of the rotation, and at most `grace_reuses` times, the
// presenter gets the child the first exchange created, not a new one:
// - the family stays one chain with at most one active token, so reuse
//   detection keeps working for everything that comes after: once the child
//   has been rotated itself, or the window or count is spent, presenting the
//   parent revokes the whole family;
// - nothing new is created: the answer carries the child's own validity,
//   which is the family's (absolute expiry from the sign-in), and its scope;
// - a thief replaying the parent inside the window learns the child the
//   legitimate client also holds; whichever of the two rotates it first
//   makes the other's later use a reuse, and the family is revoked. The
//   exposure is bounded by the window (10 s by default) and the count, the
//   same trade-off as Hydra's rotation_grace_period and Auth0's reuse
//   interval.
//
// Concurrency. exchange() reads and decides in one transaction that first
// takes write locks, with no-op UPDATEs, on the family's first row and on the
// presented token's row. On PostgreSQL the first lock serialises every
// exchange of the family across nodes and threads, the second keeps an
// administrator's revocation from changing the token while we decide, and the
// statements after them see what the previous holder committed (READ
// COMMITTED takes a new snapshot per statement). On SQLite the writer
// transaction (BEGIN IMMEDIATE) is already exclusive, so no lock is taken
// and the row is read once. So of N concurrent exchanges of one active token
// exactly one rotates it and the others find it rotated and get the grace
// answer. SELECT ... FOR UPDATE would do the same on
// PostgreSQL only; the UPDATE works on both. Every exchange takes the family's
// lock first, so two exchanges of one family cannot deadlock; one against a
// revocation of the user can, and PostgreSQL's victim is run again.

namespace ucedge::authz {

namespace {

using store::StoreError;
using store::Transaction;

constexpr std::string_view kColumns =
    "pkid, refreshtokenindex, userid, clientid, validity, state, family_id, scope, issued_at, "
    "rotated_at, child_index, grace_uses, token_digest";

constexpr int kPostgresAttempts = 3;

std::int64_t unix_seconds(const core::Clock& clock) {
  return std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count();
}

std::optional<RefreshState> parse_state(std::string_view text) {
  if (text == "active") return RefreshState::active;
  if (text == "rotated") return RefreshState::rotated;
  if (text == "revoked") return RefreshState::revoked;
  return std::nullopt;
}

core::Result<RefreshRecord, StoreError> read_record(const store::Row& row) {
  std::optional<StoreError> error;
  auto text = [&](std::string_view column) {
    auto v = row.get<std::string>(column);
    if (!v) {
      if (!error) error = v.error();
      return std::string();
    }
    return std::move(v).value();
  };
  auto number = [&](std::string_view column) -> std::int64_t {
    auto v = row.get<std::int64_t>(column);
    if (!v) {
      if (!error) error = v.error();
      return 0;
    }
    return *v;
  };

  RefreshRecord r;
  r.pkid = text("pkid");
  r.index = text("refreshtokenindex");
  r.userid = text("userid");
  r.clientid = text("clientid");
  r.validity = number("validity");
  const std::string state = text("state");
  r.family_id = text("family_id");
  r.scope = text("scope");
  r.issued_at = number("issued_at");
  r.grace_uses = static_cast<int>(number("grace_uses"));
  if (auto v = row.get_optional<std::int64_t>("rotated_at"); v) {
    r.rotated_at = *v;
  } else if (!error) {
    error = v.error();
  }
  if (auto v = row.get_optional<std::string>("child_index"); v) {
    r.child_index = *v;
  } else if (!error) {
    error = v.error();
  }
  if (auto v = row.get_optional<std::string>("token_digest"); v) {
    r.token_digest = *v;
  } else if (!error) {
    error = v.error();
  }
  if (error) return core::fail(*error);
  auto parsed = parse_state(state);
  if (!parsed) {
    return core::fail(StoreError{StoreError::Kind::invalid,
                                 "authz_refresh_tokens " + r.pkid + " has the unknown state '" + state + "'"});
  }
  r.state = *parsed;
  return r;
}

core::Result<std::optional<RefreshRecord>, StoreError> select_by_index(store::Queryable& db,
                                                                       std::string_view index) {
  auto rows = db.query("SELECT " + std::string(kColumns) +
                           " FROM authz_refresh_tokens WHERE refreshtokenindex = ?",
                       {std::string(index)});
  if (!rows) return core::fail(rows.error());
  if (rows->empty()) return std::optional<RefreshRecord>();
  auto record = read_record(rows->front());
  if (!record) return core::fail(record.error());
  return std::optional<RefreshRecord>(std::move(record).value());
}

core::Result<void, StoreError> insert(Transaction& txn, const RefreshRecord& r) {
  auto n = txn.exec(
      "INSERT INTO authz_refresh_tokens (pkid, refreshtokenindex, userid, clientid, validity, state, "
      "family_id, scope, issued_at, grace_uses, token_digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
      {r.pkid, r.index, r.userid, r.clientid, r.validity, std::string(to_string(r.state)), r.family_id,
       r.scope, r.issued_at, r.token_digest ? store::Value(*r.token_digest) : store::Value()});
  if (!n) return core::fail(n.error());
  return {};
}

// True for PostgreSQL's deadlock victim (40P01) and serialisation failure
// (40001), both reported as busy; not for a pool that had no free
// connection, where trying again would only wait longer.
bool worth_retrying(const store::Store& store, const StoreError& error) {
  return store.backend() == store::Backend::postgres && error.kind == StoreError::Kind::busy &&
         (error.message.find("deadlock") != std::string::npos ||
          error.message.find("serializ") != std::string::npos);
}

// Runs `body` in a transaction, again when PostgreSQL rolled it back to
// break a deadlock (an admin revoking a user while a family is exchanged
// may lock the same rows in the other order).
core::Result<void, StoreError> in_transaction(store::Store& store, const store::TransactionBody& body) {
  for (int attempt = 1;; ++attempt) {
    auto done = store.transaction(body);
    if (done || attempt >= kPostgresAttempts || !worth_retrying(store, done.error())) return done;
  }
}

// The WHERE clause of a filter and its parameters.
std::string where_of(const RefreshFilter& filter, store::Params& params) {
  std::string where;
  auto add = [&](std::string_view condition, std::string value) {
    where += where.empty() ? " WHERE " : " AND ";
    where += condition;
    params.emplace_back(std::move(value));
  };
  if (filter.userid) add("userid = ?", *filter.userid);
  if (filter.clientid) add("clientid = ?", *filter.clientid);
  if (filter.state) add("state = ?", std::string(to_string(*filter.state)));
  return where;
}

}  // namespace

struct RefreshTokenStore::ExchangeStep {
  Exchange result;
  bool family_revoked = false;
};

std::string_view to_string(RefreshState state) {
  switch (state) {
    case RefreshState::active: return "active";
    case RefreshState::rotated: return "rotated";
    case RefreshState::revoked: return "revoked";
  }
  return "revoked";
}

std::string_view to_string(Exchange::Outcome outcome) {
  using O = Exchange::Outcome;
  switch (outcome) {
    case O::rotated: return "rotated";
    case O::unchanged: return "unchanged";
    case O::grace_repeat: return "grace_repeat";
    case O::reuse_detected: return "reuse_detected";
    case O::revoked: return "revoked";
    case O::expired: return "expired";
    case O::unknown: return "unknown";
    case O::wrong_client: return "wrong_client";
    case O::unverified: return "unverified";
  }
  return "unknown";
}

RefreshTokenStore::RefreshTokenStore(store::Store& store, RotationSettings settings, Revocations* revocations,
                                     const core::Clock& clock)
    : store_(store), settings_(settings), revocations_(revocations), clock_(clock) {}

core::Result<RefreshRecord, StoreError> RefreshTokenStore::issue(std::string_view userid,
                                                                 std::string_view clientid,
                                                                 std::string_view scope, std::int64_t validity,
                                                                 std::optional<MintedToken> minted) {
  RefreshRecord r;
  r.pkid = core::time_ordered_uuid(clock_.now());
  const bool signed_ahead = minted && minted->validity == validity;
  r.index = signed_ahead ? std::move(minted->index) : core::time_ordered_uuid(clock_.now());
  if (signed_ahead) r.token_digest = std::move(minted->digest);
  r.userid = std::string(userid);
  r.clientid = std::string(clientid);
  r.validity = validity;
  r.state = RefreshState::active;
  r.family_id = r.index;
  r.scope = std::string(scope);
  r.issued_at = unix_seconds(clock_);
  auto done = store_.transaction([&](Transaction& txn) { return insert(txn, r); });
  if (!done) return core::fail(done.error());
  return r;
}

core::Result<Exchange, StoreError> RefreshTokenStore::exchange(std::string_view index, std::string_view clientid,
                                                               Presented presented,
                                                               std::optional<MintedToken> child) {
  ExchangeStep step;
  auto committed = in_transaction(
      store_, exchange_body(std::string(index), std::string(clientid), std::move(presented), std::move(child), step));
  return exchange_result(std::move(committed), step);
}

void RefreshTokenStore::exchange_later(std::string index, std::string clientid, Presented presented,
                                       std::optional<MintedToken> child, ExchangeDone done) {
  auto step = std::make_shared<ExchangeStep>();
  auto body = exchange_body(std::move(index), std::move(clientid), std::move(presented), std::move(child), *step);
  store_.transaction_later(std::move(body), [this, step, done = std::move(done)](auto committed) {
    done(exchange_result(std::move(committed), *step));
  });
}

core::Result<Exchange, StoreError> RefreshTokenStore::exchange_result(core::Result<void, StoreError> committed,
                                                                      ExchangeStep& step) {
  if (!committed) return core::fail(committed.error());
  // The row is committed; a failed reload is caught up by the next periodic one.
  if (step.family_revoked && revocations_ != nullptr) (void)revocations_->reload();
  return std::move(step.result);
}

store::TransactionBody RefreshTokenStore::exchange_body(std::string index, std::string clientid,
                                                        Presented presented, std::optional<MintedToken> child_token,
                                                        ExchangeStep& step) {
  using O = Exchange::Outcome;
  return [this, index = std::move(index), clientid = std::move(clientid), presented = std::move(presented),
          child_token = std::move(child_token), &step](Transaction& txn) -> core::Result<void, StoreError> {
    step = ExchangeStep{};
    const std::int64_t now = unix_seconds(clock_);

    auto found = select_by_index(txn, index);
    if (!found) return core::fail(found.error());
    if (!*found) {
      step.result.outcome = O::unknown;
      return {};
    }
    if (store_.backend() == store::Backend::postgres) {
      // The locks (see the top of this file): the family's first row, then
      // the presented one; then read it again, as the holder before us left it.
      const std::string family_id = (*found)->family_id;
      constexpr std::string_view kLock =
          "UPDATE authz_refresh_tokens SET grace_uses = grace_uses WHERE refreshtokenindex = ?";
      auto locked = txn.exec(kLock, {family_id});
      if (!locked) return core::fail(locked.error());
      if (family_id != index) {
        auto own = txn.exec(kLock, {std::string(index)});
        if (!own) return core::fail(own.error());
      }
      found = select_by_index(txn, index);
      if (!found) return core::fail(found.error());
      if (!*found) {  // purged between the two reads
        step.result.outcome = O::unknown;
        return {};
      }
    }
    const RefreshRecord& token = **found;
    // Proof first, before anything changes: a token that is not the one
    // issued under this index (forged, or signed with a leaked key) must not
    // reach reuse detection and revoke someone else's sign-in.
    if (token.token_digest) {
      if (presented.digest && !core::secure_equal(*presented.digest, *token.token_digest)) {
        step.result.outcome = O::unknown;
        return {};
      }
    } else if (!presented.signature_checked) {
      step.result.outcome = O::unverified;
      return {};
    }
    // RFC 6749 §6: the refresh token is bound to the client it was issued to.
    if (token.clientid != clientid) {
      step.result.outcome = O::wrong_client;
      return {};
    }
    if (token.validity < now) {
      step.result.outcome = O::expired;
      return {};
    }

    switch (token.state) {
      case RefreshState::revoked: step.result.outcome = O::revoked; return {};

      case RefreshState::active: {
        if (!settings_.rotate) {
          step.result = {O::unchanged, token};
          // A token from before digests were kept, its signature checked:
          // keep its digest now, so the next exchange needs no signature check.
          if (!token.token_digest && presented.digest && presented.signature_checked) {
            auto kept = txn.exec("UPDATE authz_refresh_tokens SET token_digest = ? WHERE pkid = ?",
                                 {*presented.digest, token.pkid});
            if (!kept) return core::fail(kept.error());
            step.result.token.token_digest = presented.digest;
          }
          return {};
        }
        RefreshRecord child = token;
        child.pkid = core::time_ordered_uuid(clock_.now());
        // The child signed ahead fits when it carries the family's validity.
        const bool signed_ahead = child_token && child_token->validity == token.validity;
        child.index = signed_ahead ? child_token->index : core::time_ordered_uuid(clock_.now());
        child.token_digest = signed_ahead ? std::optional<std::string>(child_token->digest) : std::nullopt;
        child.state = RefreshState::active;
        child.issued_at = now;
        child.rotated_at.reset();
        child.child_index.reset();
        child.grace_uses = 0;
        auto rotated = txn.exec(
            "UPDATE authz_refresh_tokens SET state = 'rotated', rotated_at = ?, child_index = ? "
            "WHERE pkid = ? AND state = 'active'",
            {now, child.index, token.pkid});
        if (!rotated) return core::fail(rotated.error());
        if (*rotated != 1) {
          return core::fail(StoreError{StoreError::Kind::internal,
                                       "refresh token " + token.pkid + " changed under the family lock"});
        }
        if (auto added = insert(txn, child); !added) return added;
        step.result = {O::rotated, std::move(child)};
        return {};
      }

      case RefreshState::rotated: {
        const bool in_window = settings_.grace_period.count() > 0 && token.rotated_at &&
                               now - *token.rotated_at <= settings_.grace_period.count() &&
                               token.grace_uses < settings_.grace_reuses && token.child_index;
        if (in_window) {
          auto child = select_by_index(txn, *token.child_index);
          if (!child) return core::fail(child.error());
          if (*child && (*child)->state == RefreshState::active && (*child)->validity >= now) {
            auto counted = txn.exec("UPDATE authz_refresh_tokens SET grace_uses = grace_uses + 1 WHERE pkid = ?",
                                    {token.pkid});
            if (!counted) return core::fail(counted.error());
            step.result = {O::grace_repeat, std::move(**child)};
            return {};
          }
        }
        // RFC 9700 §4.14.2: a rotated-out token used again means one of its
        // holders is not the client; revoke everything the family issued.
        auto revoked = txn.exec(
            "UPDATE authz_refresh_tokens SET state = 'revoked' WHERE family_id = ? AND state <> 'revoked'",
            {token.family_id});
        if (!revoked) return core::fail(revoked.error());
        if (revocations_ != nullptr) {
          if (auto recorded = revocations_->revoke_family(txn, token.family_id); !recorded) return recorded;
        }
        step.result.outcome = O::reuse_detected;
        step.family_revoked = true;
        return {};
      }
    }
    return {};
  };
}

core::Result<std::optional<RefreshRecord>, StoreError> RefreshTokenStore::find(std::string_view index) {
  return select_by_index(store_, index);
}

core::Result<std::vector<RefreshRecord>, StoreError> RefreshTokenStore::list(const RefreshFilter& filter) {
  store::Params params;
  std::string sql = "SELECT " + std::string(kColumns) + " FROM authz_refresh_tokens" + where_of(filter, params) +
                    " ORDER BY issued_at, refreshtokenindex LIMIT ? OFFSET ?";
  params.emplace_back(std::max<std::int64_t>(filter.limit, 0));
  params.emplace_back(std::max<std::int64_t>(filter.offset, 0));
  auto rows = store_.query(sql, params);
  if (!rows) return core::fail(rows.error());
  std::vector<RefreshRecord> out;
  out.reserve(rows->size());
  for (const store::Row& row : *rows) {
    auto record = read_record(row);
    if (!record) return core::fail(record.error());
    out.push_back(std::move(record).value());
  }
  return out;
}

core::Result<std::int64_t, StoreError> RefreshTokenStore::count(const RefreshFilter& filter) {
  store::Params params;
  std::string sql = "SELECT COUNT(*) FROM authz_refresh_tokens" + where_of(filter, params);
  auto rows = store_.query(sql, params);
  if (!rows) return core::fail(rows.error());
  if (rows->empty()) return std::int64_t{0};
  return rows->front().get<std::int64_t>(0);
}

core::Result<std::int64_t, StoreError> RefreshTokenStore::revoke_family(std::string_view family_id) {
  std::int64_t changed = 0;
  auto done = in_transaction(store_, [&](Transaction& txn) -> core::Result<void, StoreError> {
    auto n = txn.exec("UPDATE authz_refresh_tokens SET state = 'revoked' WHERE family_id = ? AND state <> 'revoked'",
                      {std::string(family_id)});
    if (!n) return core::fail(n.error());
    changed = *n;
    if (revocations_ != nullptr) return revocations_->revoke_family(txn, family_id);
    return {};
  });
  if (!done) return core::fail(done.error());
  if (revocations_ != nullptr) (void)revocations_->reload();
  return changed;
}

core::Result<std::int64_t, StoreError> RefreshTokenStore::revoke_user(std::string_view userid,
                                                                      std::optional<std::string_view> clientid) {
  std::int64_t changed = 0;
  auto done = in_transaction(store_, [&](Transaction& txn) -> core::Result<void, StoreError> {
    store::Params params{std::string(userid)};
    std::string sql = "UPDATE authz_refresh_tokens SET state = 'revoked' WHERE userid = ? AND state <> 'revoked'";
    if (clientid) {
      sql += " AND clientid = ?";
      params.emplace_back(std::string(*clientid));
    }
    auto n = txn.exec(sql, params);
    if (!n) return core::fail(n.error());
    changed = *n;
    if (revocations_ != nullptr) return revocations_->revoke_user(txn, userid, clientid);
    return {};
  });
  if (!done) return core::fail(done.error());
  if (revocations_ != nullptr) (void)revocations_->reload();
  return changed;
}

}  // namespace ucedge::authz
