#pragma once
// TFTP packets: RFC 1350 (RRQ, WRQ, DATA, ACK, ERROR) and the option
// extension of RFC 2347 (OACK), with the options RFC 2348 (blksize), RFC 2349
// (timeout, tsize) define. Parsing never throws: a malformed datagram is a
// typed error the server answers with an ERROR packet or drops.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/result.hpp"

namespace ucedge::prov::tftp {

enum class Opcode : std::uint16_t { rrq = 1, wrq = 2, data = 3, ack = 4, error = 5, oack = 6 };

// RFC 1350 §5 and RFC 2347 (8).
enum class ErrorCode : std::uint16_t {
  not_defined = 0,
  file_not_found = 1,
  access_violation = 2,
  disk_full = 3,
  illegal_operation = 4,
  unknown_transfer_id = 5,
  file_exists = 6,
  no_such_user = 7,
  option_refused = 8,
};

struct Option {
  std::string name;   // lower-cased
  std::string value;  // as sent
};

struct Request {  // RRQ or WRQ
  bool write = false;
  std::string file_name;  // as sent
  std::string mode;       // lower-cased: "octet", "netascii", "mail"
  std::vector<Option> options;
};

struct Data {
  std::uint16_t block = 0;
  std::string_view payload;  // points into the parsed datagram
};

struct Ack {
  std::uint16_t block = 0;
};

struct Error {
  ErrorCode code = ErrorCode::not_defined;
  std::string message;
};

struct OptionAck {
  std::vector<Option> options;
};

using Packet = std::variant<Request, Data, Ack, Error, OptionAck>;

enum class ParseError {
  too_short,
  unknown_opcode,
  missing_terminator,  // a string field without its NUL
  empty_file_name,
  bad_mode,
  bad_option,          // option without a value, or a repeated option
};

std::string_view to_string(ParseError e);

core::Result<Packet, ParseError> parse(std::span<const std::uint8_t> datagram);

// Serializers append to `out` (cleared first) so a transfer can reuse one buffer.
void write_request(std::vector<std::uint8_t>& out, const Request& r);
void write_data(std::vector<std::uint8_t>& out, std::uint16_t block, std::string_view payload);
void write_ack(std::vector<std::uint8_t>& out, std::uint16_t block);
void write_error(std::vector<std::uint8_t>& out, ErrorCode code, std::string_view message);
void write_oack(std::vector<std::uint8_t>& out, const std::vector<Option>& options);

}  // namespace ucedge::prov::tftp
