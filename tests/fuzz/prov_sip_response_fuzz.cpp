// Any bytes as a SIP answer to our NOTIFY: one UDP datagram for the parser, a
// TCP stream for the framer. Both answer a value or a typed error, and what they
// give stays within what they were handed.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "prov/codec/sip_response.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ucedge::prov;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  auto r = parse_sip_response(text);
  if (r) {
    if (r->status < 100 || r->status > 699) __builtin_trap();
    if (r->call_id.empty() || r->cseq_method.empty()) __builtin_trap();
    if (r->cseq_number < 0 || r->cseq_number > 2147483647L) __builtin_trap();
    if (r->call_id.size() > size || r->reason.size() > size || r->via_branch.size() > size) __builtin_trap();
    if (r->call_id.find_first_of(" \t\r\n") != std::string::npos) __builtin_trap();
    if (r->via_branch.find_first_of(" \t\r\n;,") != std::string::npos) __builtin_trap();
  } else if (to_string(r.error()).empty()) {
    __builtin_trap();
  }

  // Framing a stream: every whole message found is cut off and the rest framed again.
  std::string_view stream = text;
  while (!stream.empty()) {
    auto n = sip_stream_message_length(stream);
    if (!n || *n == 0) break;
    if (*n > stream.size() || *n > 64 * 1024) __builtin_trap();
    auto message = parse_sip_response(stream.substr(0, *n));
    if (!message && to_string(message.error()).empty()) __builtin_trap();
    stream.remove_prefix(*n);
  }
  return 0;
}
