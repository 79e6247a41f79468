#pragma once
// Keeps a store's writer busy: a transaction on a thread of its own runs
// `first` and then waits, open, until release(). What queues meanwhile waits
// for the writer (and, on SQLite, is committed together after it).
#include <future>
#include <thread>

#include "store/store.hpp"

namespace ucedge::store::testing {

class HeldWriter {
 public:
  HeldWriter(Store& store, TransactionBody first) {
    thread_ = std::thread([this, &store, first = std::move(first)] {
      outcome_ = store.transaction([&](Transaction& txn) -> core::Result<void, StoreError> {
        auto done = first(txn);
        inside_.set_value();
        release_.get_future().wait();
        return done;
      });
    });
    inside_.get_future().wait();
  }
  ~HeldWriter() { release(); }
  HeldWriter(const HeldWriter&) = delete;
  HeldWriter& operator=(const HeldWriter&) = delete;

  // Lets the transaction commit and returns its outcome.
  const core::Result<void, StoreError>& release() {
    if (thread_.joinable()) {
      release_.set_value();
      thread_.join();
    }
    return outcome_;
  }

 private:
  std::promise<void> inside_;
  std::promise<void> release_;
  core::Result<void, StoreError> outcome_;
  std::thread thread_;
};

}  // namespace ucedge::store::testing
