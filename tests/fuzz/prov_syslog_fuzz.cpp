// One device syslog datagram: the envelope parser, then the resync
// recogniser on its text. Neither may crash; what they find must be sane.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "prov/codec/syslog_message.hpp"

using namespace ucedge::prov;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto message = parse_syslog(input);
  if (!message) return 0;
  const SyslogMessage& m = *message;
  if (m.facility < -1 || m.facility > 23 || m.severity < -1 || m.severity > 7) __builtin_trap();
  if ((m.facility < 0) != (m.severity < 0)) __builtin_trap();
  if (m.text.size() > size) __builtin_trap();

  for (std::string_view text : {std::string_view(m.text), input}) {
    if (auto event = recognize_resync(text)) {
      if (event->mac.size() != 12) __builtin_trap();
      for (char c : event->mac) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) __builtin_trap();
      }
      if (event->kind == ResyncEvent::Kind::failure && !event->url.empty()) __builtin_trap();
    }
  }
  return 0;
}
