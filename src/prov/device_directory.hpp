#pragma once
// Every provisioned device, kept in memory for the hot path (a phone asking
// for its profile must not cost a database round trip) and written through
// to the store: a change is in memory only after its transaction committed.
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/secret_box.hpp"
#include "prov/device.hpp"
#include "store/store.hpp"

namespace ucedge::prov {

using DevicePtr = std::shared_ptr<const Device>;

class DeviceDirectory {
 public:
  DeviceDirectory(store::Store& store, const core::SecretBox& secrets,
                  const core::Clock& clock = core::RealClock::instance());

  // Reads every device from the store.
  core::Result<void> load();
  // Reloads when another process (the CLI, another node of a cluster) changed
  // the devices since this one last looked; true when it did.
  core::Result<bool> reload_if_changed();

  DevicePtr find(std::string_view mac) const;
  DevicePtr find_by_serial(std::string_view serial) const;
  // Sorted by MAC; customer "" = every device.
  std::vector<DevicePtr> list(std::string_view customer = {}) const;
  std::size_t size() const;
  // Moves on with every change this directory makes or loads: anything
  // derived from "which devices exist" is stale once it moved.
  std::uint64_t changes() const { return changes_.load(std::memory_order_acquire); }

  enum class Outcome { created, updated };
  // Creates the device, or applies `input` to it; secrets are sealed or
  // hashed here. Validation errors and store errors come back as text.
  core::Result<std::pair<DevicePtr, Outcome>> put(std::string_view mac, const DeviceInput& input,
                                                   bool create_only = false);
  // False when there was no such device.
  core::Result<bool> remove(std::string_view mac);

  // The plain text of a sealed secret field (profile_key, cgi_password).
  core::Result<std::string> unseal(const std::string& sealed) const;

 private:
  core::Result<std::string> stored_generation() const;
  void index(DevicePtr device);
  void unindex(const Device& device);

  store::Store& store_;
  const core::SecretBox& secrets_;
  const core::Clock& clock_;
  std::mutex write_mutex_;  // one writer at a time, so store and memory agree on the order
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, DevicePtr> by_mac_;
  std::unordered_map<std::string, std::string> mac_by_serial_;
  std::uint64_t next_revision_ = 1;
  std::string generation_;  // node_meta "prov.devices.generation" as last seen
  std::atomic<std::uint64_t> changes_{0};
};

}  // namespace ucedge::prov
