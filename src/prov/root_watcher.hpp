#pragma once
// Watches every directory of the provisioning root with inotify and counts
// changes (a file written, created, moved, removed). The resolver keys its
// remembered lookups on that count, so a fetch needs no stat() at all and an
// edit still shows the moment it is made. Without inotify (some network file
// systems) active() is false and the resolver checks files itself.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <thread>
#include <unordered_map>

#include "core/result.hpp"

namespace ucedge::prov {

class RootWatcher {
 public:
  explicit RootWatcher(std::filesystem::path root);
  ~RootWatcher();
  RootWatcher(const RootWatcher&) = delete;
  RootWatcher& operator=(const RootWatcher&) = delete;

  // Adds a watch on every directory under the root and starts the thread.
  core::Result<void> start();
  void stop();

  bool active() const { return active_.load(std::memory_order_acquire); }
  // Changes seen so far; moves on with every batch of events.
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  void watch_tree(const std::filesystem::path& dir);
  void run();

  const std::filesystem::path root_;
  int inotify_fd_ = -1;
  int stop_fd_ = -1;  // eventfd that wakes the thread to stop
  std::unordered_map<int, std::filesystem::path> directories_;  // watch descriptor → directory
  std::atomic<bool> active_{false};
  std::atomic<std::uint64_t> generation_{0};
  std::thread thread_;
};

}  // namespace ucedge::prov
