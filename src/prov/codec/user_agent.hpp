#pragma once
// The User-Agent a provisioning client sends, as wazo-provd reads it:
//   Cisco-CP-8841-3PCC/11.0 (00562b043615)               MPP phones
//   Cisco-CP-8841-3PCC/11.0.1 (00562b043615)(FCH1234ABCD) MPP with serial
//   Cisco/SPA508G-7.4.4 (0002FDFF2103)(CBT141400UK)      SPA phones
//   Linksys/SPA942-5.1.8 (4MM00F123456)                  old Linksys SPA
// Anything else is a typed error, never an exception.
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace ucedge::prov {

struct DeviceUserAgent {
  std::string vendor;    // "Cisco", "Linksys"
  std::string model;     // "CP-8841-3PCC", "SPA508G"
  std::string firmware;  // "11.0", "7.4.4"
  std::string mac;       // 12 lower-case hex digits, "" when absent
  std::string serial;    // as sent, "" when absent
};

enum class UserAgentError { empty, unknown_vendor, malformed };

std::string_view to_string(UserAgentError e);

core::Result<DeviceUserAgent, UserAgentError> parse_user_agent(std::string_view user_agent);

}  // namespace ucedge::prov
