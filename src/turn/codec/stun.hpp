#pragma once
// STUN messages (RFC 8489) with the TURN methods and attributes (RFC 8656,
// RFC 6062, RFC 6156), and ChannelData framing. Parsing never allocates and
// never throws: a Message is a view into the caller's buffer plus a fixed table
// of attribute offsets. Building writes into a caller's buffer.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "core/result.hpp"

namespace ucedge::turn::stun {

inline constexpr std::uint32_t kMagicCookie = 0x2112A442;
inline constexpr std::size_t kHeaderBytes = 20;
inline constexpr std::size_t kMaxAttributes = 40;

using TransactionId = std::array<std::uint8_t, 12>;

enum class Method : std::uint16_t {
  binding = 0x001,
  allocate = 0x003,
  refresh = 0x004,
  send = 0x006,
  data = 0x007,
  create_permission = 0x008,
  channel_bind = 0x009,
  connect = 0x00A,             // RFC 6062
  connection_bind = 0x00B,     // RFC 6062
  connection_attempt = 0x00C,  // RFC 6062
};

enum class Class : std::uint8_t { request = 0, indication = 1, success = 2, error = 3 };

namespace attr {
inline constexpr std::uint16_t mapped_address = 0x0001;
inline constexpr std::uint16_t username = 0x0006;
inline constexpr std::uint16_t message_integrity = 0x0008;
inline constexpr std::uint16_t error_code = 0x0009;
inline constexpr std::uint16_t unknown_attributes = 0x000A;
inline constexpr std::uint16_t channel_number = 0x000C;
inline constexpr std::uint16_t lifetime = 0x000D;
inline constexpr std::uint16_t xor_peer_address = 0x0012;
inline constexpr std::uint16_t data = 0x0013;
inline constexpr std::uint16_t realm = 0x0014;
inline constexpr std::uint16_t nonce = 0x0015;
inline constexpr std::uint16_t xor_relayed_address = 0x0016;
inline constexpr std::uint16_t requested_address_family = 0x0017;
inline constexpr std::uint16_t even_port = 0x0018;
inline constexpr std::uint16_t requested_transport = 0x0019;
inline constexpr std::uint16_t dont_fragment = 0x001A;
inline constexpr std::uint16_t message_integrity_sha256 = 0x001C;
inline constexpr std::uint16_t password_algorithm = 0x001D;
inline constexpr std::uint16_t userhash = 0x001E;
inline constexpr std::uint16_t xor_mapped_address = 0x0020;
inline constexpr std::uint16_t reservation_token = 0x0022;
inline constexpr std::uint16_t priority = 0x0024;
inline constexpr std::uint16_t use_candidate = 0x0025;
inline constexpr std::uint16_t connection_id = 0x002A;
// Comprehension-optional (0x8000-0xFFFF).
inline constexpr std::uint16_t additional_address_family = 0x8000;
inline constexpr std::uint16_t address_error_code = 0x8001;
inline constexpr std::uint16_t password_algorithms = 0x8002;
inline constexpr std::uint16_t alternate_domain = 0x8003;
inline constexpr std::uint16_t icmp = 0x8004;
inline constexpr std::uint16_t software = 0x8022;
inline constexpr std::uint16_t alternate_server = 0x8023;
inline constexpr std::uint16_t fingerprint = 0x8028;
inline constexpr std::uint16_t ice_controlled = 0x8029;
inline constexpr std::uint16_t ice_controlling = 0x802A;
inline constexpr std::uint16_t response_origin = 0x802B;
inline constexpr std::uint16_t other_address = 0x802C;

constexpr bool comprehension_required(std::uint16_t type) { return type < 0x8000; }
}  // namespace attr

// An IPv4 or IPv6 address and port, in network byte order bytes.
struct TransportAddress {
  enum class Family : std::uint8_t { ipv4 = 0x01, ipv6 = 0x02 };
  Family family = Family::ipv4;
  std::array<std::uint8_t, 16> ip{};  // first 4 bytes for IPv4
  std::uint16_t port = 0;             // host byte order

  std::size_t ip_bytes() const { return family == Family::ipv4 ? 4 : 16; }
  friend bool operator==(const TransportAddress&, const TransportAddress&) = default;
};

enum class ParseError {
  too_short,            // fewer than 20 bytes, or a ChannelData shorter than 4
  not_stun,             // the two top bits are not 0, or the magic cookie is wrong
  bad_length,           // header length not a multiple of 4, or not what the datagram holds
  truncated_attribute,  // an attribute's length runs past the message
  too_many_attributes,  // more than kMaxAttributes
  fingerprint_not_last, // FINGERPRINT followed by another attribute
  bad_attribute,        // a typed decoder met a malformed value
};
std::string_view to_string(ParseError e);

struct Attribute {
  std::uint16_t type = 0;
  std::uint16_t offset = 0;  // of the value, from the start of the message
  std::uint16_t length = 0;  // of the value, without padding
};

class Message {
 public:
  Method method() const { return method_; }
  Class message_class() const { return class_; }
  // The 14-bit method as sent, for methods this enum does not name.
  std::uint16_t raw_method() const { return raw_method_; }
  const TransactionId& transaction_id() const { return transaction_id_; }
  std::span<const std::uint8_t> bytes() const { return bytes_; }

  // Every attribute in message order, including those after MESSAGE-INTEGRITY
  // (which RFC 8489 §14.5 says to ignore: see integrity_covers()).
  std::span<const Attribute> attributes() const { return {attributes_.data(), count_}; }
  // The value of the first attribute of `type` that integrity protection
  // covers (or of any, for a message without integrity), or nullopt.
  std::optional<std::span<const std::uint8_t>> find(std::uint16_t type) const;
  bool has(std::uint16_t type) const { return find(type).has_value(); }

  // Positions in attributes() of the integrity and fingerprint attributes, when present.
  std::optional<std::size_t> integrity_index() const { return integrity_; }
  std::optional<std::size_t> integrity_sha256_index() const { return integrity_sha256_; }
  std::optional<std::size_t> fingerprint_index() const { return fingerprint_; }

 private:
  friend core::Result<Message, ParseError> parse(std::span<const std::uint8_t> datagram);
  std::span<const std::uint8_t> bytes_;
  Method method_ = Method::binding;
  std::uint16_t raw_method_ = 0;
  Class class_ = Class::request;
  TransactionId transaction_id_{};
  std::array<Attribute, kMaxAttributes> attributes_{};
  std::size_t count_ = 0;
  std::optional<std::size_t> integrity_;
  std::optional<std::size_t> integrity_sha256_;
  std::optional<std::size_t> fingerprint_;
};

// True when the bytes may start a STUN message (top two bits 00 and the magic
// cookie in place): the cheap test a demultiplexer runs before parse().
bool looks_like_stun(std::span<const std::uint8_t> bytes);
// Parses exactly one message filling `datagram` (its length must match the
// header's). Does not check FINGERPRINT or integrity: see below.
core::Result<Message, ParseError> parse(std::span<const std::uint8_t> datagram);

// Typed attribute values. Each returns bad_attribute for a malformed value.
core::Result<TransportAddress, ParseError> decode_xor_address(std::span<const std::uint8_t> value,
                                                              const TransactionId& id);
core::Result<TransportAddress, ParseError> decode_address(std::span<const std::uint8_t> value);  // MAPPED-ADDRESS
core::Result<std::uint32_t, ParseError> decode_u32(std::span<const std::uint8_t> value);   // LIFETIME, PRIORITY
struct ErrorCode {
  int code = 0;  // 300..699
  std::string_view reason;
};
core::Result<ErrorCode, ParseError> decode_error_code(std::span<const std::uint8_t> value);
core::Result<std::uint16_t, ParseError> decode_channel_number(std::span<const std::uint8_t> value);
// REQUESTED-TRANSPORT: the protocol number (17 UDP, 6 TCP).
core::Result<std::uint8_t, ParseError> decode_requested_transport(std::span<const std::uint8_t> value);
// REQUESTED-ADDRESS-FAMILY / ADDITIONAL-ADDRESS-FAMILY: 0x01 IPv4, 0x02 IPv6.
core::Result<TransportAddress::Family, ParseError> decode_address_family(std::span<const std::uint8_t> value);
// EVEN-PORT: the R bit (reserve the next port as well).
core::Result<bool, ParseError> decode_even_port(std::span<const std::uint8_t> value);
std::string_view as_text(std::span<const std::uint8_t> value);

// The comprehension-required attributes of `message` that are not in `known`,
// at most 16 (enough for an UNKNOWN-ATTRIBUTES answer).
struct UnknownAttributes {
  std::array<std::uint16_t, 16> types{};
  std::size_t count = 0;
  std::span<const std::uint16_t> view() const { return {types.data(), count}; }
};
UnknownAttributes unknown_required(const Message& message, std::span<const std::uint16_t> known);

// FINGERPRINT (§14.7): absent, or present and right or wrong.
enum class Check { absent, valid, invalid };
Check check_fingerprint(const Message& message);
// MESSAGE-INTEGRITY-SHA256 when present (it is the stronger), else
// MESSAGE-INTEGRITY, checked with `key` (§14.5, §14.6). Constant time.
Check check_integrity(const Message& message, std::span<const std::uint8_t> key);

// The long-term credential key (§9.2.2): MD5(username ":" realm ":" password)
// and its SHA-256 form. Inputs are used as given (no SASLprep).
std::array<std::uint8_t, 16> long_term_key_md5(std::string_view username, std::string_view realm,
                                              std::string_view password);
std::array<std::uint8_t, 32> long_term_key_sha256(std::string_view username, std::string_view realm,
                                                 std::string_view password);

// Writes a message into `buffer`. Every add_* is a no-op once the buffer
// overflowed; ok() tells. finish() returns the bytes written (empty when not ok).
class Builder {
 public:
  Builder(std::span<std::uint8_t> buffer, Method method, Class message_class, const TransactionId& id);

  Builder& add(std::uint16_t type, std::span<const std::uint8_t> value);
  Builder& add_text(std::uint16_t type, std::string_view value);
  Builder& add_u32(std::uint16_t type, std::uint32_t value);
  Builder& add_xor_address(std::uint16_t type, const TransportAddress& address);
  Builder& add_address(std::uint16_t type, const TransportAddress& address);  // MAPPED-ADDRESS
  Builder& add_error(int code, std::string_view reason);
  Builder& add_unknown_attributes(std::span<const std::uint16_t> types);
  Builder& add_channel_number(std::uint16_t channel);
  Builder& add_requested_transport(std::uint8_t protocol);
  Builder& add_address_family(std::uint16_t type, TransportAddress::Family family);
  Builder& add_even_port(bool reserve_next);
  // Must come after every other attribute but FINGERPRINT (and the SHA-256
  // integrity after the SHA-1 one when both are sent).
  Builder& add_integrity(std::span<const std::uint8_t> key);
  Builder& add_integrity_sha256(std::span<const std::uint8_t> key);
  Builder& add_fingerprint();

  bool ok() const { return ok_; }
  std::span<const std::uint8_t> finish() const;

 private:
  std::uint8_t* reserve(std::uint16_t type, std::size_t length);
  std::span<std::uint8_t> buffer_;
  std::size_t size_ = kHeaderBytes;
  bool ok_ = true;
  TransactionId id_{};
};

// ChannelData (RFC 8656 §12.4): a 4-byte header (channel, length) and the
// application data. RFC 8656 narrowed channel numbers to 0x4000-0x4FFF; RFC
// 5766 allowed 0x4000-0x7FFF and clients written to it (coturn's among them)
// still use the upper part, so the server accepts the whole older range.
inline constexpr std::uint16_t kMinChannel = 0x4000;
inline constexpr std::uint16_t kMaxChannel = 0x7FFF;
constexpr bool is_channel_data(std::uint8_t first_byte) { return (first_byte & 0xC0) == 0x40; }
struct ChannelData {
  std::uint16_t channel = 0;
  std::span<const std::uint8_t> payload;
};
// Over UDP the datagram may carry padding after the payload (§12.5): allowed.
core::Result<ChannelData, ParseError> parse_channel_data(std::span<const std::uint8_t> bytes);
// Writes the 4-byte header at `out`.
void write_channel_data_header(std::uint8_t* out, std::uint16_t channel, std::uint16_t length);

// Stream transports (TCP, TLS): how many bytes the frame starting at
// `buffered` occupies, STUN (20 + length) or ChannelData (4 + length rounded
// up to 4, §12.5); 0 when fewer than 4 bytes are buffered; an error when the
// bytes can start neither.
core::Result<std::size_t, ParseError> stream_frame_size(std::span<const std::uint8_t> buffered);

}  // namespace ucedge::turn::stun
