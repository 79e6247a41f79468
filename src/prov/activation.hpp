#pragma once
// Activation-code onboarding (seed 004, "code d'activation"): an operator
// hands a subscriber a 16-digit code; the phone presents it once, before it
// expires, and receives its profile rule. The store keeps only a keyed hash
// of each code and its last four digits. Wrong codes cost the sender: after
// `failures_per_minute` of them an address is refused until the minute ends.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/failure_limiter.hpp"
#include "core/result.hpp"
#include "core/secret_box.hpp"
#include "store/store.hpp"

namespace ucedge::prov {

struct ActivationCode {
  std::string code;  // only when just created
  std::string hint;  // last four digits
  std::string subscriber;
  std::string device_mac;
  std::string customer;
  std::int64_t created_at = 0;
  std::int64_t expires_at = 0;
  std::optional<std::int64_t> used_at;
  std::string used_by_mac;
};

enum class ActivationRefusal { malformed, unknown, already_used, expired, wrong_device, rate_limited };

std::string_view to_string(ActivationRefusal r);  // the reason a phone and an operator read

struct Redemption {
  ActivationCode code;  // as it stands after redemption
};

class ActivationCodes {
 public:
  ActivationCodes(store::Store& store, const core::SecretBox& secrets, int failures_per_minute,
                  const core::Clock& clock = core::RealClock::instance());

  // A new code bound to a subscriber and/or a device (at least one).
  core::Result<ActivationCode> create(std::string subscriber, std::string device_mac, std::string customer,
                                      std::chrono::seconds lifetime);
  std::vector<ActivationCode> list(std::size_t limit = 1000) const;

  // Redeems `code` for the phone `mac` (already normalized) at `address`.
  // Succeeds once; the second try is already_used.
  core::Result<Redemption, ActivationRefusal> redeem(std::string_view code, const std::string& mac,
                                                     const std::string& address);
  // Gives a redeemed code back (when binding the device failed after it).
  void release(const std::string& code);

  // Seconds until `address` may try again, 0 when it may now.
  std::int64_t retry_after(const std::string& address) { return failures_.retry_after(address); }

 private:
  std::int64_t now_seconds() const;

  store::Store& store_;
  const core::SecretBox& secrets_;
  const core::Clock& clock_;
  core::FailureLimiter failures_;
};

}  // namespace ucedge::prov
