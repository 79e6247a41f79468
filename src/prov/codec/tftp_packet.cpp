#include "prov/codec/tftp_packet.hpp"

#include <algorithm>

namespace ucedge::prov::tftp {

namespace {

// RFC 1350 §5: every packet starts with a 2-byte opcode in network order; the
// string fields of RRQ, WRQ and ERROR are netascii terminated by a zero byte.
//
//   RRQ/WRQ   | 01/02 | Filename | 0 | Mode | 0 | opt1 | 0 | value1 | 0 | ...   (RFC 2347 §2)
//   DATA      | 03 | Block # | Data (0..blksize bytes)
//   ACK       | 04 | Block # |
//   ERROR     | 05 | ErrorCode | ErrMsg | 0 |
//   OACK      | 06 | opt1 | 0 | value1 | 0 | ...                              (RFC 2347 §2)

class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

  bool at_end() const { return pos_ == bytes_.size(); }

  // The next zero-terminated string, without its terminator; false when the
  // datagram ends before the zero byte.
  bool string(std::string_view& out) {
    auto rest = bytes_.subspan(pos_);
    auto nul = std::find(rest.begin(), rest.end(), std::uint8_t{0});
    if (nul == rest.end()) return false;
    auto len = static_cast<std::size_t>(nul - rest.begin());
    out = std::string_view(reinterpret_cast<const char*>(rest.data()), len);
    pos_ += len + 1;
    return true;
  }

 private:
  std::span<const std::uint8_t> bytes_;
  std::size_t pos_ = 0;
};

std::uint16_t read16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((static_cast<unsigned>(p[0]) << 8) | p[1]);
}

void put16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v & 0xff));
}

void put_string(std::vector<std::uint8_t>& out, std::string_view s) {
  out.insert(out.end(), s.begin(), s.end());
  out.push_back(0);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// RFC 2347 §2: option pairs up to the end of the datagram. Names are case
// insensitive (kept lower-cased); a name without its value, an empty name or
// a name given twice makes the whole packet unusable.
core::Result<std::vector<Option>, ParseError> read_options(Reader& in) {
  std::vector<Option> options;
  while (!in.at_end()) {
    std::string_view name, value;
    if (!in.string(name)) return core::fail(ParseError::missing_terminator);
    if (in.at_end()) return core::fail(ParseError::bad_option);
    if (!in.string(value)) return core::fail(ParseError::missing_terminator);
    if (name.empty()) return core::fail(ParseError::bad_option);
    std::string key = lower(name);
    for (const auto& o : options) {
      if (o.name == key) return core::fail(ParseError::bad_option);
    }
    options.push_back(Option{std::move(key), std::string(value)});
  }
  return options;
}

core::Result<Packet, ParseError> parse_request(std::span<const std::uint8_t> body, bool write) {
  Reader in(body);
  std::string_view file_name, mode;
  if (!in.string(file_name)) return core::fail(ParseError::missing_terminator);
  if (file_name.empty()) return core::fail(ParseError::empty_file_name);
  if (!in.string(mode)) return core::fail(ParseError::missing_terminator);
  // RFC 1350 §5: the mode is "netascii", "octet" or "mail", in any mix of case.
  std::string m = lower(mode);
  if (m != "octet" && m != "netascii" && m != "mail") return core::fail(ParseError::bad_mode);
  auto options = read_options(in);
  if (!options) return core::fail(options.error());
  Request r;
  r.write = write;
  r.file_name = std::string(file_name);
  r.mode = std::move(m);
  r.options = std::move(options).value();
  return Packet{std::move(r)};
}

}  // namespace

std::string_view to_string(ParseError e) {
  switch (e) {
    case ParseError::too_short: return "packet too short";
    case ParseError::unknown_opcode: return "unknown opcode";
    case ParseError::missing_terminator: return "string field without its terminating zero";
    case ParseError::empty_file_name: return "empty file name";
    case ParseError::bad_mode: return "unknown transfer mode";
    case ParseError::bad_option: return "malformed or repeated option";
  }
  return "malformed packet";
}

core::Result<Packet, ParseError> parse(std::span<const std::uint8_t> datagram) {
  if (datagram.size() < 2) return core::fail(ParseError::too_short);
  const std::uint16_t opcode = read16(datagram.data());
  auto body = datagram.subspan(2);
  switch (opcode) {
    case static_cast<std::uint16_t>(Opcode::rrq): return parse_request(body, false);
    case static_cast<std::uint16_t>(Opcode::wrq): return parse_request(body, true);
    case static_cast<std::uint16_t>(Opcode::data): {
      if (body.size() < 2) return core::fail(ParseError::too_short);
      Data d;
      d.block = read16(body.data());
      d.payload = std::string_view(reinterpret_cast<const char*>(body.data() + 2), body.size() - 2);
      return Packet{d};
    }
    case static_cast<std::uint16_t>(Opcode::ack): {
      // Bytes after the block number are ignored: some boot ROMs pad short
      // datagrams, and nothing in an ACK could follow the block number.
      if (body.size() < 2) return core::fail(ParseError::too_short);
      return Packet{Ack{read16(body.data())}};
    }
    case static_cast<std::uint16_t>(Opcode::error): {
      if (body.size() < 2) return core::fail(ParseError::too_short);
      Reader in(body.subspan(2));
      std::string_view message;
      if (!in.string(message)) return core::fail(ParseError::missing_terminator);
      Error e;
      e.code = static_cast<ErrorCode>(read16(body.data()));
      e.message = std::string(message);
      return Packet{std::move(e)};
    }
    case static_cast<std::uint16_t>(Opcode::oack): {
      Reader in(body);
      auto options = read_options(in);
      if (!options) return core::fail(options.error());
      return Packet{OptionAck{std::move(options).value()}};
    }
    default: return core::fail(ParseError::unknown_opcode);
  }
}

void write_request(std::vector<std::uint8_t>& out, const Request& r) {
  out.clear();
  put16(out, static_cast<std::uint16_t>(r.write ? Opcode::wrq : Opcode::rrq));
  put_string(out, r.file_name);
  put_string(out, r.mode);
  for (const auto& o : r.options) {
    put_string(out, o.name);
    put_string(out, o.value);
  }
}

void write_data(std::vector<std::uint8_t>& out, std::uint16_t block, std::string_view payload) {
  out.clear();
  put16(out, static_cast<std::uint16_t>(Opcode::data));
  put16(out, block);
  out.insert(out.end(), payload.begin(), payload.end());
}

void write_ack(std::vector<std::uint8_t>& out, std::uint16_t block) {
  out.clear();
  put16(out, static_cast<std::uint16_t>(Opcode::ack));
  put16(out, block);
}

void write_error(std::vector<std::uint8_t>& out, ErrorCode code, std::string_view message) {
  out.clear();
  put16(out, static_cast<std::uint16_t>(Opcode::error));
  put16(out, static_cast<std::uint16_t>(code));
  // A zero byte inside the message would end it early on the wire.
  put_string(out, message.substr(0, std::min(message.find('\0'), message.size())));
}

void write_oack(std::vector<std::uint8_t>& out, const std::vector<Option>& options) {
  out.clear();
  put16(out, static_cast<std::uint16_t>(Opcode::oack));
  for (const auto& o : options) {
    put_string(out, o.name);
    put_string(out, o.value);
  }
}

}  // namespace ucedge::prov::tftp
