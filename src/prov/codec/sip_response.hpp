#pragma once
// The first line and the headers a SIP response carries (RFC 3261 §7.2),
// enough to match an answer to the NOTIFY ucedge sent (Via branch, Call-ID,
// CSeq) and read its status. Never throws.
#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace ucedge::prov {

struct SipResponse {
  int status = 0;          // 100..699
  std::string reason;      // "OK"
  std::string call_id;
  std::string cseq_method; // "NOTIFY"
  long cseq_number = 0;
  std::string via_branch;  // branch parameter of the top Via
};

enum class SipParseError { not_a_response, bad_status_line, bad_header, missing_header, too_long };

std::string_view to_string(SipParseError e);

// `message` is one UDP datagram, or one message cut from a TCP stream
// (headers up to and including the blank line).
core::Result<SipResponse, SipParseError> parse_sip_response(std::string_view message);

// Framing on a stream transport (RFC 3261 §18.3): the length of the first
// whole message at the front of `stream` (headers, blank line, then
// Content-Length bytes of body; no Content-Length means no body), or 0 while
// more bytes are needed. too_long once it cannot fit in 64 KiB, bad_header for
// an unreadable Content-Length.
core::Result<std::size_t, SipParseError> sip_stream_message_length(std::string_view stream);

}  // namespace ucedge::prov
