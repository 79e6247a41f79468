#include "prov/codec/sip_response.hpp"

#include <algorithm>
#include <optional>

#include "core/strings.hpp"

namespace ucedge::prov {

namespace {

// Larger than any answer a phone sends to a NOTIFY; also the UDP datagram limit we read.
constexpr std::size_t kMaxMessage = 64 * 1024;

bool is_space(char c) { return c == ' ' || c == '\t'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// token (RFC 3261 §25.1): alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~"
bool is_token_char(char c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c)) return true;
  switch (c) {
    case '-':
    case '.':
    case '!':
    case '%':
    case '*':
    case '_':
    case '+':
    case '`':
    case '\'':
    case '~':
      return true;
    default:
      return false;
  }
}

bool is_token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_token_char); }

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && core::iequals(s.substr(0, prefix.size()), prefix);
}

// Lines end in CRLF; a bare LF is tolerated (RFC 3261 §7.5 asks for CRLF, some stacks send LF).
struct LineReader {
  std::string_view rest;

  std::optional<std::string_view> next() {
    if (rest.empty()) return std::nullopt;
    std::size_t lf = rest.find('\n');
    std::string_view line = rest.substr(0, lf);
    rest = lf == std::string_view::npos ? std::string_view{} : rest.substr(lf + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
  }
  bool continues() const { return !rest.empty() && is_space(rest.front()); }
};

// A header value folded over several lines (RFC 3261 §7.3.1: LWS), as one line.
std::string unfold(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (char c : raw) {
    if (c != '\r' && c != '\n') out += c;
  }
  return std::string(trim(out));
}

// Index of the first `sep` outside a quoted-string, npos if none.
std::size_t find_unquoted(std::string_view s, char sep) {
  bool quoted = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quoted) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        quoted = false;
    } else if (c == '"') {
      quoted = true;
    } else if (c == sep) {
      return i;
    }
  }
  return std::string_view::npos;
}

// Via = ( "Via" / "v" ) HCOLON via-parm *(COMMA via-parm)
// via-parm = sent-protocol LWS sent-by *( SEMI via-params )     (RFC 3261 §20.42, §25.1)
// Only the first via-parm of the top Via matters: its branch names our transaction.
bool read_top_via(std::string_view value, std::string& branch) {
  std::size_t comma = find_unquoted(value, ',');
  std::string_view parm = trim(value.substr(0, comma));
  std::size_t semi = find_unquoted(parm, ';');
  std::string_view head = trim(parm.substr(0, semi));
  // sent-protocol is "SIP/2.0/UDP" (LWS allowed around the slashes); sent-by follows.
  if (head.empty() || !istarts_with(head, "SIP")) return false;
  std::size_t sp = head.find_last_of(" \t");
  if (sp == std::string_view::npos || trim(head.substr(sp)).empty()) return false;

  while (semi != std::string_view::npos) {
    parm.remove_prefix(semi + 1);
    semi = find_unquoted(parm, ';');
    std::string_view param = trim(parm.substr(0, semi));
    std::size_t eq = param.find('=');
    std::string_view name = trim(param.substr(0, eq));
    if (core::iequals(name, "branch")) {
      if (eq == std::string_view::npos) return false;
      std::string_view v = trim(param.substr(eq + 1));
      if (!is_token(v)) return false;
      branch.assign(v);
      return true;
    }
  }
  return true;  // RFC 2543 peers send no branch; matching then falls back to Call-ID
}

// CSeq = "CSeq" HCOLON 1*DIGIT LWS Method; the number stays below 2**31 (RFC 3261 §8.1.1.5).
bool read_cseq(std::string_view value, long& number, std::string& method) {
  std::size_t i = 0;
  long n = 0;
  while (i < value.size() && is_digit(value[i])) {
    n = n * 10 + (value[i] - '0');
    if (n > 2147483647L) return false;
    ++i;
  }
  if (i == 0 || i == value.size() || !is_space(value[i])) return false;
  std::string_view m = trim(value.substr(i));
  if (!is_token(m)) return false;
  number = n;
  method.assign(m);
  return true;
}

enum class Known { none, via, call_id, cseq };

Known classify(std::string_view name) {
  // Compact forms: RFC 3261 §7.3.3 ("v" Via, "i" Call-ID); CSeq has none.
  if (core::iequals(name, "Via") || core::iequals(name, "v")) return Known::via;
  if (core::iequals(name, "Call-ID") || core::iequals(name, "i")) return Known::call_id;
  if (core::iequals(name, "CSeq")) return Known::cseq;
  return Known::none;
}

// Position just past the blank line ending the headers, npos if it has not arrived.
std::size_t header_end(std::string_view s) {
  std::size_t pos = 0;
  while (true) {
    std::size_t lf = s.find('\n', pos);
    if (lf == std::string_view::npos) return std::string_view::npos;
    if (lf + 1 < s.size() && s[lf + 1] == '\n') return lf + 2;
    if (lf + 2 < s.size() && s[lf + 1] == '\r' && s[lf + 2] == '\n') return lf + 3;
    pos = lf + 1;
  }
}

}  // namespace

std::string_view to_string(SipParseError e) {
  switch (e) {
    case SipParseError::not_a_response:
      return "not a SIP response";
    case SipParseError::bad_status_line:
      return "malformed SIP status line";
    case SipParseError::bad_header:
      return "malformed SIP header";
    case SipParseError::missing_header:
      return "SIP response lacks Via, Call-ID or CSeq";
    case SipParseError::too_long:
      return "SIP message too long";
  }
  return "unknown SIP parse error";
}

core::Result<SipResponse, SipParseError> parse_sip_response(std::string_view message) {
  if (message.size() > kMaxMessage) return core::fail(SipParseError::too_long);
  LineReader lines{message};
  auto first = lines.next();
  // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase CRLF (RFC 3261 §7.2)
  if (!first || !istarts_with(*first, "SIP/")) return core::fail(SipParseError::not_a_response);
  std::string_view line = *first;
  if (!istarts_with(line, "SIP/2.0 ")) return core::fail(SipParseError::bad_status_line);
  line.remove_prefix(8);
  if (line.size() < 3 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2])) {
    return core::fail(SipParseError::bad_status_line);
  }
  SipResponse out;
  out.status = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (out.status < 100 || out.status > 699) return core::fail(SipParseError::bad_status_line);
  line.remove_prefix(3);
  // The reason phrase may be empty; some stacks then drop the SP before it too.
  if (!line.empty() && line.front() != ' ') return core::fail(SipParseError::bad_status_line);
  std::string_view reason = trim(line);
  if (reason.find('\0') != std::string_view::npos) return core::fail(SipParseError::bad_status_line);
  out.reason.assign(reason);

  bool have_via = false, have_call_id = false, have_cseq = false;
  while (auto next = lines.next()) {
    std::string_view header = *next;
    if (header.empty()) break;  // the blank line: a body may follow
    if (is_space(header.front())) return core::fail(SipParseError::bad_header);  // folded onto nothing
    // A folded value runs over the following lines that start with whitespace.
    const char* value_end = header.data() + header.size();
    while (lines.continues()) {
      std::string_view more = *lines.next();
      value_end = more.data() + more.size();
    }

    std::size_t colon = header.find(':');
    if (colon == std::string_view::npos) return core::fail(SipParseError::bad_header);
    std::string_view name = trim(header.substr(0, colon));
    if (!is_token(name)) return core::fail(SipParseError::bad_header);
    Known kind = classify(name);
    if (kind == Known::none) continue;
    const char* value_begin = header.data() + colon + 1;
    std::string value =
        unfold(std::string_view(value_begin, static_cast<std::size_t>(value_end - value_begin)));

    switch (kind) {
      case Known::via:
        if (have_via) break;  // only the top Via is ours
        if (!read_top_via(value, out.via_branch)) return core::fail(SipParseError::bad_header);
        have_via = true;
        break;
      case Known::call_id:
        if (have_call_id) break;
        // Call-ID = word [ "@" word ]: no whitespace inside (RFC 3261 §25.1)
        if (value.empty() || value.find_first_of(" \t") != std::string::npos) {
          return core::fail(SipParseError::bad_header);
        }
        out.call_id = std::move(value);
        have_call_id = true;
        break;
      case Known::cseq:
        if (have_cseq) break;
        if (!read_cseq(value, out.cseq_number, out.cseq_method)) return core::fail(SipParseError::bad_header);
        have_cseq = true;
        break;
      case Known::none:
        break;
    }
  }
  // RFC 3261 §8.1.1: every response carries these; without them it cannot be matched.
  if (!have_via || !have_call_id || !have_cseq) return core::fail(SipParseError::missing_header);
  return out;
}

core::Result<std::size_t, SipParseError> sip_stream_message_length(std::string_view stream) {
  std::size_t end = header_end(stream);
  if (end == std::string_view::npos) {
    if (stream.size() >= kMaxMessage) return core::fail(SipParseError::too_long);
    return std::size_t{0};
  }
  if (end > kMaxMessage) return core::fail(SipParseError::too_long);

  // Content-Length / "l" (RFC 3261 §20.14, §7.3.3). Folded values are not worth supporting here.
  std::size_t body = 0;
  LineReader lines{stream.substr(0, end)};
  lines.next();  // start line
  bool seen = false;
  while (auto next = lines.next()) {
    std::string_view header = *next;
    if (header.empty()) break;
    std::size_t colon = header.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = trim(header.substr(0, colon));
    if (!core::iequals(name, "Content-Length") && !core::iequals(name, "l")) continue;
    std::string_view v = trim(header.substr(colon + 1));
    if (v.empty() || !std::all_of(v.begin(), v.end(), is_digit)) return core::fail(SipParseError::bad_header);
    std::size_t n = 0;
    for (char c : v) {
      n = n * 10 + static_cast<std::size_t>(c - '0');
      if (n > kMaxMessage) return core::fail(SipParseError::too_long);
    }
    if (seen && n != body) return core::fail(SipParseError::bad_header);
    body = n;
    seen = true;
  }
  if (end + body > kMaxMessage) return core::fail(SipParseError::too_long);
  if (stream.size() < end + body) return std::size_t{0};
  return end + body;
}

}  // namespace ucedge::prov
