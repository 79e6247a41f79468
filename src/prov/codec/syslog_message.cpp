#include "prov/codec/syslog_message.hpp"

#include <array>
#include <optional>
#include <string>
#include <utility>

#include "prov/codec/device_names.hpp"

namespace ucedge::prov {

namespace {

// A UDP payload cannot be larger; anything claiming to be is not a datagram.
constexpr std::size_t kMaxDatagram = 64 * 1024;
constexpr std::size_t kMaxTag = 48;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (is_space(s.front()) || s.front() == '\0')) s.remove_prefix(1);
  while (!s.empty() && (is_space(s.back()) || s.back() == '\0')) s.remove_suffix(1);
  return s;
}

// Senders often end a datagram with a newline or a NUL; neither is message text.
std::string_view trim_end(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == '\0')) s.remove_suffix(1);
  return s;
}

// The characters up to the next space; `s` keeps the rest, that space included.
std::string_view take_token(std::string_view& s) {
  std::size_t end = s.find(' ');
  if (end == std::string_view::npos) end = s.size();
  std::string_view token = s.substr(0, end);
  s.remove_prefix(end);
  return token;
}

bool skip_space(std::string_view& s) {
  if (s.empty() || s.front() != ' ') return false;
  s.remove_prefix(1);
  return true;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_digit(c)) return false;
  }
  return true;
}

// RFC 5424 §6.2.1 / RFC 3164 §4.1.1: "<" PRIVAL ">", PRIVAL 0..191 in one to
// three digits. Returns the value and removes it from `s`; -1 when malformed.
int take_priority(std::string_view& s) {
  std::size_t close = s.find('>');
  if (close == std::string_view::npos || close < 2 || close > 4) return -1;
  std::string_view digits = s.substr(1, close - 1);
  if (!all_digits(digits)) return -1;
  int value = 0;
  for (char c : digits) value = value * 10 + (c - '0');
  if (value > 191) return -1;
  s.remove_prefix(close + 1);
  return value;
}

// RFC 3164 §4.1.2: "Mmm dd hh:mm:ss", the day padded with a space. Phones
// are looser (one-digit or zero-padded day, fractions of a second), and
// relays may put an RFC 3339 time in the same place. Returns the length of
// the timestamp at the start of `s`, 0 when there is none.
std::size_t timestamp_length(std::string_view s) {
  static constexpr std::array<std::string_view, 12> months = {"jan", "feb", "mar", "apr", "may", "jun",
                                                              "jul", "aug", "sep", "oct", "nov", "dec"};
  auto end_of_token = [&](std::size_t at) { return at == s.size() || s[at] == ' '; };
  // RFC 3339: 2024-01-02T03:04:05[.frac](Z|+hh:mm).
  if (s.size() >= 19 && all_digits(s.substr(0, 4)) && s[4] == '-' && s[7] == '-' && s[10] == 'T' &&
      s[13] == ':' && s[16] == ':') {
    std::size_t end = s.find(' ');
    return end == std::string_view::npos ? s.size() : end;
  }
  if (s.size() < 14) return 0;
  bool month = false;
  for (std::string_view m : months) {
    if (lower(s[0]) == m[0] && lower(s[1]) == m[1] && lower(s[2]) == m[2]) month = true;
  }
  if (!month || s[3] != ' ') return 0;
  std::size_t at = 4;
  if (s[at] == ' ') ++at;  // " 5"
  if (!is_digit(s[at])) return 0;
  ++at;
  if (at < s.size() && is_digit(s[at])) ++at;
  if (at >= s.size() || s[at] != ' ') return 0;
  ++at;
  if (s.size() < at + 8) return 0;
  std::string_view clock = s.substr(at, 8);
  if (!is_digit(clock[0]) || !is_digit(clock[1]) || clock[2] != ':' || !is_digit(clock[3]) ||
      !is_digit(clock[4]) || clock[5] != ':' || !is_digit(clock[6]) || !is_digit(clock[7])) {
    return 0;
  }
  at += 8;
  if (at < s.size() && s[at] == '.') {
    ++at;
    while (at < s.size() && is_digit(s[at])) ++at;
  }
  return end_of_token(at) ? at : 0;
}

bool is_tag_char(char c) {
  return is_alpha(c) || is_digit(c) || c == '_' || c == '-' || c == '.' || c == '/';
}

// RFC 3164 §4.1.3: the TAG ends at the first character that cannot be in
// it, by convention "tag:" or "tag[pid]:". Only those forms count here, so
// a MAC ("00:0e:08:...") or a model name is never taken for a tag.
std::optional<std::string_view> tag_of(std::string_view token) {
  std::size_t i = 0;
  while (i < token.size() && i < kMaxTag && is_tag_char(token[i])) ++i;
  if (i == 0) return std::nullopt;
  std::string_view name = token.substr(0, i);
  std::string_view rest = token.substr(i);
  if (rest == ":") return name;
  if (rest.empty() || rest.front() != '[') return std::nullopt;
  std::size_t close = rest.find(']');
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view after = rest.substr(close + 1);
  if (after.empty() || after == ":") return name;
  return std::nullopt;
}

// "CP-7841-3PCC", "SPA508G", "CP-78xx-3PCC": a letter first, a digit
// somewhere, nothing a sentence would hold.
bool looks_like_model(std::string_view token) {
  if (token.size() < 2 || token.size() > 40 || !is_alpha(token.front())) return false;
  bool digit = false;
  for (char c : token) {
    if (is_digit(c)) digit = true;
    else if (!is_alpha(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return digit;
}

// A MAC inside punctuation a template may wrap it in: "[000e08abcdef]", "…ef:".
std::optional<std::string> mac_in(std::string_view token) {
  while (!token.empty() && (token.front() == '[' || token.front() == '(' || token.front() == '<')) {
    token.remove_prefix(1);
  }
  while (!token.empty() && (token.back() == ']' || token.back() == ')' || token.back() == '>' ||
                            token.back() == ':' || token.back() == ',' || token.back() == ';')) {
    token.remove_suffix(1);
  }
  return normalize_mac(token);
}

// Optional tag, then the text: what follows the header of an RFC 3164
// message, or the whole of a bare one.
void take_tag_and_text(std::string_view s, SyslogMessage& m) {
  std::string_view probe = s;
  std::string_view first = take_token(probe);
  if (auto tag = tag_of(first)) {
    m.app_name = std::string(*tag);
    skip_space(probe);
    s = probe;
  }
  m.text = std::string(trim_end(s));
}

// RFC 3164 and what phones send instead: an optional timestamp, a host
// unless the text starts at once, an optional tag, the text.
void parse_legacy(std::string_view s, SyslogMessage& m) {
  std::size_t ts = timestamp_length(s);
  if (ts == 0) {
    m.format = SyslogMessage::Format::bare;
    take_tag_and_text(s, m);
    return;
  }
  m.format = SyslogMessage::Format::rfc3164;
  m.timestamp = std::string(s.substr(0, ts));
  s.remove_prefix(ts);
  skip_space(s);

  // §4.1.2 puts HOSTNAME next, but a phone may go straight to its text:
  // a tag, or the "$PN $MAC ..." of its resync messages, means no host.
  std::string_view probe = s;
  std::string_view candidate = take_token(probe);
  bool has_more = skip_space(probe) && !probe.empty();
  bool text_starts_here = tag_of(candidate).has_value() ||
                          (looks_like_model(candidate) && has_more && mac_in(take_token(probe)).has_value());
  if (!text_starts_here && has_more && !candidate.empty()) {
    if (candidate != "-") m.hostname = std::string(candidate);
    s.remove_prefix(candidate.size());
    skip_space(s);
  }
  take_tag_and_text(s, m);
}

// RFC 5424 §6.3: "-" or one or more "[" SD-ID *(SP PARAM) "]". Inside a
// quoted PARAM-VALUE, '\' escapes '"', '\' and ']' (§6.3.3). Returns the
// length of STRUCTURED-DATA at the start of `s`, 0 when malformed.
std::size_t structured_data_length(std::string_view s) {
  if (s.empty()) return 0;
  if (s.front() == '-') return (s.size() == 1 || s[1] == ' ') ? 1 : 0;
  std::size_t at = 0;
  while (at < s.size() && s[at] == '[') {
    ++at;
    bool quoted = false;
    bool closed = false;
    while (at < s.size()) {
      char c = s[at++];
      if (quoted && c == '\\') {
        if (at < s.size()) ++at;
      } else if (c == '"') {
        quoted = !quoted;
      } else if (!quoted && c == ']') {
        closed = true;
        break;
      }
    }
    if (!closed) return 0;
  }
  if (at == 0 || (at < s.size() && s[at] != ' ')) return 0;
  return at;
}

// RFC 5424 §6: VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP
// MSGID SP STRUCTURED-DATA [SP MSG]. False when `s` does not have that shape.
bool parse_5424(std::string_view s, SyslogMessage& m) {
  std::string_view version = take_token(s);
  if (version.empty() || version.size() > 3 || !all_digits(version) || version.front() == '0') return false;
  std::array<std::string_view, 5> fields;  // TIMESTAMP HOSTNAME APP-NAME PROCID MSGID
  for (auto& field : fields) {
    if (!skip_space(s)) return false;
    field = take_token(s);
    if (field.empty()) return false;
  }
  if (!skip_space(s)) return false;
  std::size_t sd = structured_data_length(s);
  if (sd == 0) return false;
  s.remove_prefix(sd);
  skip_space(s);
  // §6.4: MSG may start with a BOM to say it is UTF-8.
  if (s.size() >= 3 && s.substr(0, 3) == "\xEF\xBB\xBF") s.remove_prefix(3);

  auto nil = [](std::string_view v) { return v == "-" ? std::string() : std::string(v); };
  m.format = SyslogMessage::Format::rfc5424;
  m.timestamp = nil(fields[0]);
  m.hostname = nil(fields[1]);
  m.app_name = nil(fields[2]);
  m.text = std::string(trim_end(s));
  return true;
}

// Case-insensitive search for a lower-case ASCII `needle`.
std::size_t find_nocase(std::string_view hay, std::string_view needle, std::size_t from = 0) {
  if (needle.size() > hay.size()) return std::string_view::npos;
  for (std::size_t i = from; i + needle.size() <= hay.size(); ++i) {
    std::size_t j = 0;
    while (j < needle.size() && lower(hay[i + j]) == needle[j]) ++j;
    if (j == needle.size()) return i;
  }
  return std::string_view::npos;
}

// Whitespace-separated tokens of `s`, last first.
std::string_view last_token(std::string_view& s) {
  s = trim(s);
  std::size_t start = s.size();
  while (start > 0 && !is_space(s[start - 1])) --start;
  std::string_view token = s.substr(start);
  s = s.substr(0, start);
  return token;
}

}  // namespace

std::string_view to_string(SyslogError e) {
  switch (e) {
    case SyslogError::empty: return "empty datagram";
    case SyslogError::bad_priority: return "malformed <PRI>";
    case SyslogError::too_long: return "datagram longer than 64 KiB";
  }
  return "unknown";
}

core::Result<SyslogMessage, SyslogError> parse_syslog(std::string_view datagram) {
  if (datagram.empty()) return core::fail(SyslogError::empty);
  if (datagram.size() > kMaxDatagram) return core::fail(SyslogError::too_long);
  SyslogMessage m;
  std::string_view s = datagram;
  if (s.front() == '<') {
    int pri = take_priority(s);
    if (pri < 0) return core::fail(SyslogError::bad_priority);
    // RFC 5424 §6.2.1: PRIVAL = facility * 8 + severity.
    m.facility = pri / 8;
    m.severity = pri % 8;
    if (!s.empty() && is_digit(s.front())) {
      SyslogMessage structured = m;
      if (parse_5424(s, structured)) return structured;
    }
  }
  parse_legacy(s, m);
  return m;
}

std::string_view to_string(ResyncEvent::Kind k) {
  switch (k) {
    case ResyncEvent::Kind::request: return "request";
    case ResyncEvent::Kind::success: return "success";
    case ResyncEvent::Kind::failure: return "failure";
  }
  return "unknown";
}

std::optional<ResyncEvent> recognize_resync(std::string_view text) {
  // Log_Request_Msg, Log_Success_Msg and Log_Failure_Msg defaults (seed 004),
  // including the French success text the seed shows.
  struct Phrase {
    std::string_view words;
    ResyncEvent::Kind kind;
  };
  static constexpr std::array<Phrase, 4> phrases = {{
      {"requesting resync", ResyncEvent::Kind::request},
      {"successful resync", ResyncEvent::Kind::success},
      {"resynchronisation r\xC3\xA9ussie", ResyncEvent::Kind::success},
      {"resync failed", ResyncEvent::Kind::failure},
  }};
  std::size_t at = std::string_view::npos;
  const Phrase* found = nullptr;
  for (const Phrase& p : phrases) {
    std::size_t pos = find_nocase(text, p.words);
    if (pos < at) {
      at = pos;
      found = &p;
    }
  }
  if (found == nullptr) return std::nullopt;

  ResyncEvent event;
  event.kind = found->kind;
  // "$PN $MAC -- <phrase>" or "$PN $MAC <phrase>": the nearest MAC before the
  // phrase, and the model just before it.
  std::string_view before = text.substr(0, at);
  for (;;) {
    std::string_view token = last_token(before);
    if (token.empty()) return std::nullopt;
    if (auto mac = mac_in(token)) {
      event.mac = std::move(*mac);
      break;
    }
  }
  std::string_view model = last_token(before);
  if (looks_like_model(model) && !mac_in(model)) event.product = std::string(model);

  std::string_view after = text.substr(at + found->words.size());
  if (event.kind == ResyncEvent::Kind::failure) {
    after = trim(after);
    if (!after.empty() && after.front() == ':') after.remove_prefix(1);  // "failed: x", "failed : x"
    event.error = std::string(trim(after));
  } else {
    after = trim(after);
    std::size_t end = 0;
    while (end < after.size() && !is_space(after[end])) ++end;
    event.url = std::string(after.substr(0, end));
  }
  return event;
}

}  // namespace ucedge::prov
