// Store signals: a hint that something changed, heard by this process's
// subscribers on SQLite and by every node using the database on PostgreSQL.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "backend_fixture.hpp"

namespace ucedge::store {
namespace {

using testing::BackendTest;
using namespace std::chrono_literals;

// Collects what a subscription heard.
struct Heard {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> payloads;

  SignalHandler handler() {
    return [this](const std::string& payload) {
      std::lock_guard lock(mutex);
      payloads.push_back(payload);
      changed.notify_all();
    };
  }
  bool wait_for(std::size_t count, std::chrono::milliseconds limit = 5000ms) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, limit, [&] { return payloads.size() >= count; });
  }
};

// Channels are per database, not per schema, and other test processes use
// the same PostgreSQL database at once: each process names its own channels.
std::string channel(std::string_view name) { return std::string(name) + "_" + std::to_string(::getpid()); }

class SignalTest : public BackendTest {};

TEST_P(SignalTest, SubscribersHearSignalsOfTheirChannelOnly) {
  Heard revocations, keys;
  auto a = store_->subscribe(channel("revocations"), revocations.handler());
  auto b = store_->subscribe(channel("keys"), keys.handler());
  ASSERT_STORE_OK(store_->signal(channel("revocations"), "family:42"));
  ASSERT_TRUE(revocations.wait_for(1));
  EXPECT_EQ(revocations.payloads, std::vector<std::string>{"family:42"});
  std::this_thread::sleep_for(100ms);
  std::lock_guard lock(keys.mutex);
  EXPECT_TRUE(keys.payloads.empty());
}

TEST_P(SignalTest, NothingIsHeardAfterTheSubscriptionEnds) {
  Heard heard;
  auto subscription = store_->subscribe(channel("revocations"), heard.handler());
  subscription.reset();
  ASSERT_STORE_OK(store_->signal(channel("revocations")));
  std::this_thread::sleep_for(300ms);
  std::lock_guard lock(heard.mutex);
  EXPECT_TRUE(heard.payloads.empty());
}

TEST_P(SignalTest, ChannelNamesAreChecked) {
  EXPECT_FALSE(store_->signal(""));
  EXPECT_FALSE(store_->signal(std::string(64, 'c')));
}

// Two nodes on one database: on PostgreSQL a signal sent by one reaches the
// other; on SQLite (one node by design) it stays in the process that sent it.
TEST_P(SignalTest, AnotherStoreOnTheSameDatabase) {
  auto other = reopen();
  ASSERT_TRUE(other) << other.error().to_string();
  Heard heard;
  auto subscription = store_->subscribe(channel("authz"), heard.handler());
  ASSERT_STORE_OK((*other)->signal(channel("authz"), "revocations"));
  if (GetParam() == Backend::postgres) {
    ASSERT_TRUE(heard.wait_for(1));
    EXPECT_EQ(heard.payloads.front(), "revocations");
  } else {
    EXPECT_FALSE(heard.wait_for(1, 300ms));
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, SignalTest, ::testing::Values(Backend::sqlite, Backend::postgres),
                         testing::backend_label);

}  // namespace
}  // namespace ucedge::store
