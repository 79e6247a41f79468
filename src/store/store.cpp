#include "store/store.hpp"

#include <cstring>
#include <exception>
#include <tuple>

#include "store/placeholders.hpp"

namespace ucedge::store {

namespace {

// The Store whose transaction body runs on this thread, if any. Reaching that
// Store directly from the body would deadlock (SQLite's single writer) or
// escape the transaction, so it is refused.
thread_local const Store* store_in_transaction = nullptr;

class TransactionScope {
 public:
  explicit TransactionScope(const Store* store) : previous_(store_in_transaction) {
    store_in_transaction = store;
  }
  ~TransactionScope() { store_in_transaction = previous_; }
  TransactionScope(const TransactionScope&) = delete;
  TransactionScope& operator=(const TransactionScope&) = delete;

 private:
  const Store* previous_;
};

StoreError invalid(std::string message) { return {StoreError::Kind::invalid, std::move(message)}; }

}  // namespace

std::optional<StoreError> Queryable::refuse(std::string_view sql, const Params& params) const {
  const std::size_t wanted = count_placeholders(sql);
  if (wanted != params.size()) {
    return invalid("the statement has " + std::to_string(wanted) + " placeholders but " +
                   std::to_string(params.size()) + " parameters were given: " + std::string(sql));
  }
  for (std::size_t i = 0; i < params.size(); ++i) {
    // PostgreSQL text cannot hold NUL; refusing it on SQLite too keeps both alike.
    if (const auto* text = std::get_if<std::string>(&params[i]);
        text != nullptr && text->find('\0') != std::string::npos) {
      return invalid("parameter " + std::to_string(i + 1) +
                     " is text with a NUL byte; pass bytes as a Blob");
    }
  }
  return std::nullopt;
}

core::Result<std::vector<Row>, StoreError> Queryable::query(std::string_view sql,
                                                            const Params& params) {
  if (auto refused = refuse(sql, params)) return core::fail(std::move(*refused));
  auto result = run_query(sql, params);
  if (!result) failed(result.error());
  return result;
}

core::Result<std::int64_t, StoreError> Queryable::exec(std::string_view sql, const Params& params) {
  if (auto refused = refuse(sql, params)) return core::fail(std::move(*refused));
  auto result = run_exec(sql, params);
  if (!result) failed(result.error());
  return result;
}

std::optional<StoreError> Transaction::refuse(std::string_view sql, const Params& params) const {
  if (!open_) return invalid("a Transaction was used after its transaction() call returned");
  if (failure_) {
    return invalid("an earlier statement of this transaction failed (" + failure_->to_string() +
                   "); nothing more runs in it");
  }
  return Queryable::refuse(sql, params);
}

void Transaction::failed(const StoreError& error) {
  if (!failure_) failure_ = error;
}

core::Result<void, StoreError> Transaction::exec_script(std::string_view sql) {
  if (auto refused = refuse("", {})) return core::fail(std::move(*refused));
  auto result = run_script(sql);
  if (!result) failed(result.error());
  return result;
}

std::optional<StoreError> Store::refuse(std::string_view sql, const Params& params) const {
  if (store_in_transaction == this) {
    return invalid("the Store was used inside its own transaction(); use the Transaction given to the body");
  }
  return Queryable::refuse(sql, params);
}

core::Result<void, StoreError> Store::transaction(const TransactionBody& body) {
  if (store_in_transaction == this) {
    return core::fail(invalid("transaction() was called inside a transaction of the same Store"));
  }
  if (!body) return core::fail(invalid("transaction() needs a body"));
  TransactionScope scope(this);
  return run_transaction(body);
}

void Store::transaction_later(TransactionBody body, TransactionDone done) {
  if (store_in_transaction == this) {
    return done(core::fail(invalid("transaction_later() was called inside a transaction of the same Store")));
  }
  if (!body) return done(core::fail(invalid("transaction_later() needs a body")));
  run_transaction_later(std::move(body), std::move(done));
}

void Store::run_transaction_later(TransactionBody body, TransactionDone done) { done(transaction(body)); }

core::Result<void, StoreError> Store::run_body(const TransactionBody& body, Transaction& txn) const {
  TransactionScope scope(this);
  core::Result<void, StoreError> outcome;
  try {
    outcome = body(txn);
  } catch (const std::exception& e) {
    outcome = core::fail(StoreError{StoreError::Kind::internal,
                                    std::string("the transaction body threw: ") + e.what()});
  } catch (...) {
    outcome = core::fail(StoreError{StoreError::Kind::internal, "the transaction body threw"});
  }
  txn.open_ = false;
  // A body that ignored a failed statement must not commit half its work.
  if (outcome.ok() && txn.failure_) return core::fail(*txn.failure_);
  return outcome;
}

core::Result<void, StoreError> Store::ping() {
  if (store_in_transaction == this) {
    return core::fail(invalid("ping() was called inside a transaction of the same Store"));
  }
  return run_ping();
}

struct Store::LocalSubscribers {
  std::mutex mutex;
  std::uint64_t next_id = 1;
  std::vector<std::tuple<std::uint64_t, std::string, SignalHandler>> handlers;
};

class Store::LocalSubscription final : public Subscription {
 public:
  LocalSubscription(std::shared_ptr<LocalSubscribers> subscribers, std::uint64_t id)
      : subscribers_(std::move(subscribers)), id_(id) {}
  ~LocalSubscription() override {
    std::lock_guard lock(subscribers_->mutex);
    std::erase_if(subscribers_->handlers, [this](const auto& h) { return std::get<0>(h) == id_; });
  }

 private:
  std::shared_ptr<LocalSubscribers> subscribers_;
  std::uint64_t id_;
};

Store::Store() : local_(std::make_shared<LocalSubscribers>()) {}

core::Result<void, StoreError> Store::signal(std::string_view channel, std::string_view payload) {
  if (channel.empty() || channel.size() > 63) return core::fail(invalid("a signal channel has 1 to 63 characters"));
  return run_signal(channel, payload);
}

std::unique_ptr<Subscription> Store::subscribe(std::string channel, SignalHandler handler) {
  std::lock_guard lock(local_->mutex);
  const std::uint64_t id = local_->next_id++;
  local_->handlers.emplace_back(id, std::move(channel), std::move(handler));
  return std::make_unique<LocalSubscription>(local_, id);
}

core::Result<void, StoreError> Store::run_signal(std::string_view channel, std::string_view payload) {
  // Handlers run under the lock so that none runs after its Subscription is gone.
  std::lock_guard lock(local_->mutex);
  const std::string text(payload);
  for (const auto& [id, name, handler] : local_->handlers) {
    if (name == channel) handler(text);
  }
  return {};
}

core::Result<std::int64_t, StoreError> Store::schema_version() {
  auto rows = query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  if (!rows) return core::fail(rows.error());
  if (rows->empty()) return std::int64_t{0};
  return (*rows)[0].get<std::int64_t>(0);
}

}  // namespace ucedge::store
