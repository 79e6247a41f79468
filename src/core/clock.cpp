#include "core/clock.hpp"

namespace ucedge::core {

const RealClock& RealClock::instance() {
  static const RealClock clock;
  return clock;
}

}  // namespace ucedge::core
