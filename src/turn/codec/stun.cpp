#include "turn/codec/stun.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <memory>

namespace ucedge::turn::stun {

namespace {

// RFC 8489 §5, the header:
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |0 0|     STUN Message Type     |         Message Length        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                         Magic Cookie                          |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                     Transaction ID (96 bits)                  |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// and the message type, the class bits C1 C0 interleaved with the method:
//
//   |M11|M10|M9|M8|M7|C1|M6|M5|M4|C0|M3|M2|M1|M0|

constexpr std::uint32_t kFingerprintXor = 0x5354554e;  // §14.7: "STUN"
constexpr std::size_t kSha1Bytes = 20;
constexpr std::size_t kSha256Bytes = 32;
// Attribute offsets are 16-bit, so a message may not be longer than this.
constexpr std::size_t kMaxMessageBytes = 0xFFFF;

std::uint16_t read16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((static_cast<unsigned>(p[0]) << 8) | p[1]);
}

std::uint32_t read32(const std::uint8_t* p) {
  return (static_cast<std::uint32_t>(p[0]) << 24) | (static_cast<std::uint32_t>(p[1]) << 16) |
         (static_cast<std::uint32_t>(p[2]) << 8) | p[3];
}

void put16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}

void put32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

constexpr std::size_t padded(std::size_t length) { return (length + 3) & ~std::size_t{3}; }

std::uint16_t encode_type(std::uint16_t method, Class message_class) {
  unsigned m = method & 0x0FFF;
  unsigned c = static_cast<unsigned>(message_class) & 0x3;
  return static_cast<std::uint16_t>((m & 0x000F) | ((m & 0x0070) << 1) | ((m & 0x0F80) << 2) |
                                    ((c & 0x1) << 4) | ((c & 0x2) << 7));
}

std::uint16_t decode_method(std::uint16_t type) {
  return static_cast<std::uint16_t>((type & 0x000F) | ((type >> 1) & 0x0070) | ((type >> 2) & 0x0F80));
}

Class decode_class(std::uint16_t type) {
  return static_cast<Class>(((type >> 4) & 0x1) | ((type >> 7) & 0x2));
}

// RFC 8489 §14.2: the X-Address is the address XORed with the magic cookie
// (IPv4) or with the magic cookie followed by the transaction ID (IPv6).
std::array<std::uint8_t, 16> xor_mask(const TransactionId& id) {
  std::array<std::uint8_t, 16> mask{};
  put32(mask.data(), kMagicCookie);
  std::copy(id.begin(), id.end(), mask.begin() + 4);
  return mask;
}

// RFC 8489 §14.5, §14.6: once MESSAGE-INTEGRITY has been met, the only
// attributes that still count are MESSAGE-INTEGRITY-SHA256 and FINGERPRINT;
// after MESSAGE-INTEGRITY-SHA256, only FINGERPRINT. parse() records the
// integrity attributes only where they count, so this needs their indices.
bool counts(const Message& message, std::size_t index) {
  auto mi = message.integrity_index();
  auto mi256 = message.integrity_sha256_index();
  std::optional<std::size_t> first;
  if (mi && mi256) {
    first = std::min(*mi, *mi256);
  } else if (mi) {
    first = mi;
  } else {
    first = mi256;
  }
  if (!first || index <= *first) return true;
  return index == mi256 || index == message.fingerprint_index();
}

// HMAC with a context kept per thread and digest, so checking a message does
// not create one each time (OpenSSL 3.0 still makes a few small allocations of
// its own when it takes the key).
struct MacCtxFree {
  void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
};

enum class Hmac { sha1 = 0, sha256 = 1 };

EVP_MAC_CTX* hmac_context(Hmac kind) {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
  if (mac == nullptr) return nullptr;
  thread_local std::unique_ptr<EVP_MAC_CTX, MacCtxFree> contexts[2];
  auto& ctx = contexts[static_cast<int>(kind)];
  if (!ctx) {
    std::unique_ptr<EVP_MAC_CTX, MacCtxFree> fresh(EVP_MAC_CTX_new(mac));
    if (!fresh) return nullptr;
    char sha1[] = "SHA1";
    char sha256[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, kind == Hmac::sha1 ? sha1 : sha256, 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_MAC_CTX_set_params(fresh.get(), params) != 1) return nullptr;
    ctx = std::move(fresh);
  }
  return ctx.get();
}

// The HMAC of message[0, end) with the header's length field replaced by
// `length_field` (§14.5: the length as if the message ended with the
// integrity attribute). Writes the full digest to `out`.
bool compute_hmac(Hmac kind, std::span<const std::uint8_t> key, const std::uint8_t* message, std::size_t end,
                  std::uint16_t length_field, std::uint8_t* out) {
  EVP_MAC_CTX* ctx = hmac_context(kind);
  if (ctx == nullptr) return false;
  // A null key would make OpenSSL reuse the previous one: give an empty key a
  // real address.
  static const std::uint8_t empty_key = 0;
  const std::uint8_t* key_bytes = key.empty() ? &empty_key : key.data();
  if (EVP_MAC_init(ctx, key_bytes, key.size(), nullptr) != 1) return false;
  std::uint8_t header[kHeaderBytes];
  std::memcpy(header, message, kHeaderBytes);
  put16(header + 2, length_field);
  if (EVP_MAC_update(ctx, header, kHeaderBytes) != 1) return false;
  if (end > kHeaderBytes && EVP_MAC_update(ctx, message + kHeaderBytes, end - kHeaderBytes) != 1) {
    return false;
  }
  std::size_t written = 0;
  std::size_t size = kind == Hmac::sha1 ? kSha1Bytes : kSha256Bytes;
  return EVP_MAC_final(ctx, out, &written, size) == 1 && written == size;
}

// §14.7: CRC-32 of message[0, end) with the length field adjusted, XOR "STUN".
std::uint32_t compute_fingerprint(const std::uint8_t* message, std::size_t end, std::uint16_t length_field) {
  std::uint8_t header[kHeaderBytes];
  std::memcpy(header, message, kHeaderBytes);
  put16(header + 2, length_field);
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, header, kHeaderBytes);
  crc = crc32(crc, message + kHeaderBytes, static_cast<uInt>(end - kHeaderBytes));
  return static_cast<std::uint32_t>(crc) ^ kFingerprintXor;
}

template <std::size_t N>
std::array<std::uint8_t, N> digest_of_credentials(const EVP_MD* md, std::string_view username,
                                                  std::string_view realm, std::string_view password) {
  std::array<std::uint8_t, N> out{};
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  unsigned int written = 0;
  bool ok = ctx && EVP_DigestInit_ex2(ctx.get(), md, nullptr) == 1 &&
            EVP_DigestUpdate(ctx.get(), username.data(), username.size()) == 1 &&
            EVP_DigestUpdate(ctx.get(), ":", 1) == 1 &&
            EVP_DigestUpdate(ctx.get(), realm.data(), realm.size()) == 1 &&
            EVP_DigestUpdate(ctx.get(), ":", 1) == 1 &&
            EVP_DigestUpdate(ctx.get(), password.data(), password.size()) == 1 &&
            EVP_DigestFinal_ex(ctx.get(), out.data(), &written) == 1 && written == N;
  if (!ok) out.fill(0);
  return out;
}

core::Result<TransportAddress, ParseError> decode_address_value(std::span<const std::uint8_t> value,
                                                                const std::uint8_t* mask) {
  // RFC 8489 §14.1: | 0 (8 bits) | Family (8) | Port (16) | Address (32 or 128) |
  if (value.size() < 4) return core::fail(ParseError::bad_attribute);
  TransportAddress out;
  if (value[1] == static_cast<std::uint8_t>(TransportAddress::Family::ipv4) && value.size() == 8) {
    out.family = TransportAddress::Family::ipv4;
  } else if (value[1] == static_cast<std::uint8_t>(TransportAddress::Family::ipv6) && value.size() == 20) {
    out.family = TransportAddress::Family::ipv6;
  } else {
    return core::fail(ParseError::bad_attribute);
  }
  out.port = read16(value.data() + 2);
  if (mask != nullptr) out.port ^= static_cast<std::uint16_t>(kMagicCookie >> 16);
  for (std::size_t i = 0; i < out.ip_bytes(); ++i) {
    out.ip[i] = mask != nullptr ? static_cast<std::uint8_t>(value[4 + i] ^ mask[i]) : value[4 + i];
  }
  return out;
}

}  // namespace

std::string_view to_string(ParseError e) {
  switch (e) {
    case ParseError::too_short: return "message too short";
    case ParseError::not_stun: return "not a STUN message";
    case ParseError::bad_length: return "message length does not match the datagram";
    case ParseError::truncated_attribute: return "attribute runs past the end of the message";
    case ParseError::too_many_attributes: return "too many attributes";
    case ParseError::fingerprint_not_last: return "FINGERPRINT is not the last attribute";
    case ParseError::bad_attribute: return "malformed attribute value";
  }
  return "unknown STUN parse error";
}

std::optional<std::span<const std::uint8_t>> Message::find(std::uint16_t type) const {
  for (std::size_t i = 0; i < count_; ++i) {
    const Attribute& a = attributes_[i];
    if (a.type != type) continue;
    if (!counts(*this, i)) return std::nullopt;
    return bytes_.subspan(a.offset, a.length);
  }
  return std::nullopt;
}

bool looks_like_stun(std::span<const std::uint8_t> bytes) {
  return bytes.size() >= 8 && (bytes[0] & 0xC0) == 0 && read32(bytes.data() + 4) == kMagicCookie;
}

core::Result<Message, ParseError> parse(std::span<const std::uint8_t> datagram) {
  if (datagram.size() < kHeaderBytes) return core::fail(ParseError::too_short);
  const std::uint8_t* p = datagram.data();
  if ((p[0] & 0xC0) != 0 || read32(p + 4) != kMagicCookie) return core::fail(ParseError::not_stun);
  std::size_t length = read16(p + 2);
  // §5: the length excludes the header and is a multiple of 4, as every
  // attribute is padded to 4 bytes.
  if (length % 4 != 0 || length + kHeaderBytes != datagram.size() || datagram.size() > kMaxMessageBytes) {
    return core::fail(ParseError::bad_length);
  }

  Message m;
  m.bytes_ = datagram;
  std::uint16_t type = read16(p);
  m.raw_method_ = decode_method(type);
  m.method_ = static_cast<Method>(m.raw_method_);
  m.class_ = decode_class(type);
  std::copy(p + 8, p + kHeaderBytes, m.transaction_id_.begin());

  // §14: Type (16) | Length (16) | Value, padded to 4 bytes; the padding's
  // content is ignored.
  std::size_t pos = kHeaderBytes;
  while (pos < datagram.size()) {
    // pos and the size are multiples of 4, so the 4-byte TLV header fits.
    std::uint16_t attr_type = read16(p + pos);
    std::uint16_t attr_length = read16(p + pos + 2);
    if (padded(attr_length) > datagram.size() - pos - 4) return core::fail(ParseError::truncated_attribute);
    // §14.7: FINGERPRINT is the last attribute.
    if (m.fingerprint_) return core::fail(ParseError::fingerprint_not_last);
    if (m.count_ == kMaxAttributes) return core::fail(ParseError::too_many_attributes);
    std::size_t index = m.count_;
    m.attributes_[m.count_++] = Attribute{attr_type, static_cast<std::uint16_t>(pos + 4), attr_length};
    if (attr_type == attr::message_integrity && !m.integrity_ && !m.integrity_sha256_) {
      m.integrity_ = index;
    } else if (attr_type == attr::message_integrity_sha256 && !m.integrity_sha256_) {
      m.integrity_sha256_ = index;
    } else if (attr_type == attr::fingerprint) {
      m.fingerprint_ = index;
    }
    pos += 4 + padded(attr_length);
  }
  return m;
}

core::Result<TransportAddress, ParseError> decode_xor_address(std::span<const std::uint8_t> value,
                                                              const TransactionId& id) {
  auto mask = xor_mask(id);
  return decode_address_value(value, mask.data());
}

core::Result<TransportAddress, ParseError> decode_address(std::span<const std::uint8_t> value) {
  return decode_address_value(value, nullptr);
}

core::Result<std::uint32_t, ParseError> decode_u32(std::span<const std::uint8_t> value) {
  if (value.size() != 4) return core::fail(ParseError::bad_attribute);
  return read32(value.data());
}

core::Result<ErrorCode, ParseError> decode_error_code(std::span<const std::uint8_t> value) {
  // RFC 8489 §14.8: | Reserved (21 bits) | Class (3) | Number (8) | Reason |
  // with the class 3 to 6 and the number 0 to 99.
  if (value.size() < 4) return core::fail(ParseError::bad_attribute);
  int error_class = value[2] & 0x07;
  int number = value[3];
  if (error_class < 3 || error_class > 6 || number > 99) return core::fail(ParseError::bad_attribute);
  return ErrorCode{error_class * 100 + number, as_text(value.subspan(4))};
}

core::Result<std::uint16_t, ParseError> decode_channel_number(std::span<const std::uint8_t> value) {
  // RFC 8656 §18.1: | Channel Number (16) | RFFU = 0 (16) |; numbers outside
  // kMinChannel-kMaxChannel are refused (§12.2 answers them 400).
  if (value.size() != 4) return core::fail(ParseError::bad_attribute);
  std::uint16_t channel = read16(value.data());
  if (channel < kMinChannel || channel > kMaxChannel) return core::fail(ParseError::bad_attribute);
  return channel;
}

core::Result<std::uint8_t, ParseError> decode_requested_transport(std::span<const std::uint8_t> value) {
  // RFC 8656 §18.8: | Protocol (8) | RFFU (24) |
  if (value.size() != 4) return core::fail(ParseError::bad_attribute);
  return value[0];
}

core::Result<TransportAddress::Family, ParseError> decode_address_family(
    std::span<const std::uint8_t> value) {
  // RFC 8656 §18.6 (REQUESTED-ADDRESS-FAMILY), §18.11 (ADDITIONAL-ADDRESS-FAMILY):
  // | Family (8) | Reserved (24) |
  if (value.size() != 4) return core::fail(ParseError::bad_attribute);
  using Family = TransportAddress::Family;
  if (value[0] == static_cast<std::uint8_t>(Family::ipv4)) return Family::ipv4;
  if (value[0] == static_cast<std::uint8_t>(Family::ipv6)) return Family::ipv6;
  return core::fail(ParseError::bad_attribute);
}

core::Result<bool, ParseError> decode_even_port(std::span<const std::uint8_t> value) {
  // RFC 8656 §18.7: one byte, | R | RFFU (7) |.
  if (value.size() != 1) return core::fail(ParseError::bad_attribute);
  return (value[0] & 0x80) != 0;
}

std::string_view as_text(std::span<const std::uint8_t> value) {
  return {reinterpret_cast<const char*>(value.data()), value.size()};
}

UnknownAttributes unknown_required(const Message& message, std::span<const std::uint16_t> known) {
  UnknownAttributes out;
  auto attributes = message.attributes();
  for (std::size_t i = 0; i < attributes.size() && out.count < out.types.size(); ++i) {
    std::uint16_t type = attributes[i].type;
    if (!attr::comprehension_required(type) || !counts(message, i)) continue;
    if (std::find(known.begin(), known.end(), type) != known.end()) continue;
    auto seen = out.view();
    if (std::find(seen.begin(), seen.end(), type) != seen.end()) continue;
    out.types[out.count++] = type;
  }
  return out;
}

Check check_fingerprint(const Message& message) {
  auto index = message.fingerprint_index();
  if (!index) return Check::absent;
  const Attribute& a = message.attributes()[*index];
  if (a.length != 4) return Check::invalid;
  const std::uint8_t* bytes = message.bytes().data();
  std::size_t start = a.offset - 4u;
  std::size_t end = a.offset + padded(a.length);
  std::uint32_t expected = compute_fingerprint(bytes, start, static_cast<std::uint16_t>(end - kHeaderBytes));
  return read32(bytes + a.offset) == expected ? Check::valid : Check::invalid;
}

Check check_integrity(const Message& message, std::span<const std::uint8_t> key) {
  auto sha256 = message.integrity_sha256_index();
  auto sha1 = message.integrity_index();
  if (!sha256 && !sha1) return Check::absent;
  const Attribute& a = message.attributes()[sha256 ? *sha256 : *sha1];
  Hmac kind = sha256 ? Hmac::sha256 : Hmac::sha1;
  // §14.6: MESSAGE-INTEGRITY-SHA256 may be truncated to 16 bytes or more, a
  // multiple of 4; MESSAGE-INTEGRITY is always 20.
  if (kind == Hmac::sha256) {
    if (a.length < 16 || a.length > kSha256Bytes || a.length % 4 != 0) return Check::invalid;
  } else if (a.length != kSha1Bytes) {
    return Check::invalid;
  }
  const std::uint8_t* bytes = message.bytes().data();
  std::size_t start = a.offset - 4u;
  std::size_t end = a.offset + padded(a.length);
  std::uint8_t mac[kSha256Bytes];
  if (!compute_hmac(kind, key, bytes, start, static_cast<std::uint16_t>(end - kHeaderBytes), mac)) {
    return Check::invalid;
  }
  return CRYPTO_memcmp(mac, bytes + a.offset, a.length) == 0 ? Check::valid : Check::invalid;
}

std::array<std::uint8_t, 16> long_term_key_md5(std::string_view username, std::string_view realm,
                                               std::string_view password) {
  return digest_of_credentials<16>(EVP_md5(), username, realm, password);
}

std::array<std::uint8_t, 32> long_term_key_sha256(std::string_view username, std::string_view realm,
                                                  std::string_view password) {
  return digest_of_credentials<32>(EVP_sha256(), username, realm, password);
}

Builder::Builder(std::span<std::uint8_t> buffer, Method method, Class message_class, const TransactionId& id)
    : buffer_(buffer), id_(id) {
  if (buffer_.size() < kHeaderBytes) {
    ok_ = false;
    return;
  }
  std::uint8_t* p = buffer_.data();
  put16(p, encode_type(static_cast<std::uint16_t>(method), message_class));
  put16(p + 2, 0);
  put32(p + 4, kMagicCookie);
  std::copy(id.begin(), id.end(), p + 8);
}

std::uint8_t* Builder::reserve(std::uint16_t type, std::size_t length) {
  if (!ok_) return nullptr;
  std::size_t total = 4 + padded(length);
  if (length > 0xFFFF || total > buffer_.size() - size_ || size_ + total > kMaxMessageBytes) {
    ok_ = false;
    return nullptr;
  }
  std::uint8_t* p = buffer_.data() + size_;
  put16(p, type);
  put16(p + 2, static_cast<std::uint16_t>(length));
  // §14: padding bytes are sent as zero.
  std::memset(p + 4 + length, 0, padded(length) - length);
  size_ += total;
  put16(buffer_.data() + 2, static_cast<std::uint16_t>(size_ - kHeaderBytes));
  return p + 4;
}

Builder& Builder::add(std::uint16_t type, std::span<const std::uint8_t> value) {
  if (std::uint8_t* out = reserve(type, value.size())) {
    if (!value.empty()) std::memcpy(out, value.data(), value.size());
  }
  return *this;
}

Builder& Builder::add_text(std::uint16_t type, std::string_view value) {
  return add(type, {reinterpret_cast<const std::uint8_t*>(value.data()), value.size()});
}

Builder& Builder::add_u32(std::uint16_t type, std::uint32_t value) {
  if (std::uint8_t* out = reserve(type, 4)) put32(out, value);
  return *this;
}

Builder& Builder::add_xor_address(std::uint16_t type, const TransportAddress& address) {
  if (address.family != TransportAddress::Family::ipv4 && address.family != TransportAddress::Family::ipv6) {
    ok_ = false;
    return *this;
  }
  if (std::uint8_t* out = reserve(type, 4 + address.ip_bytes())) {
    auto mask = xor_mask(id_);
    out[0] = 0;
    out[1] = static_cast<std::uint8_t>(address.family);
    put16(out + 2, static_cast<std::uint16_t>(address.port ^ (kMagicCookie >> 16)));
    for (std::size_t i = 0; i < address.ip_bytes(); ++i) {
      out[4 + i] = static_cast<std::uint8_t>(address.ip[i] ^ mask[i]);
    }
  }
  return *this;
}

Builder& Builder::add_address(std::uint16_t type, const TransportAddress& address) {
  if (address.family != TransportAddress::Family::ipv4 && address.family != TransportAddress::Family::ipv6) {
    ok_ = false;
    return *this;
  }
  if (std::uint8_t* out = reserve(type, 4 + address.ip_bytes())) {
    out[0] = 0;
    out[1] = static_cast<std::uint8_t>(address.family);
    put16(out + 2, address.port);
    std::copy(address.ip.begin(), address.ip.begin() + static_cast<std::ptrdiff_t>(address.ip_bytes()),
              out + 4);
  }
  return *this;
}

Builder& Builder::add_error(int code, std::string_view reason) {
  // RFC 8489 §14.8: codes 300 to 699; anything else is a caller's bug, and
  // the message is not sent rather than sent malformed.
  if (code < 300 || code > 699) {
    ok_ = false;
    return *this;
  }
  if (std::uint8_t* out = reserve(attr::error_code, 4 + reason.size())) {
    out[0] = 0;
    out[1] = 0;
    out[2] = static_cast<std::uint8_t>(code / 100);
    out[3] = static_cast<std::uint8_t>(code % 100);
    if (!reason.empty()) std::memcpy(out + 4, reason.data(), reason.size());
  }
  return *this;
}

Builder& Builder::add_unknown_attributes(std::span<const std::uint16_t> types) {
  // RFC 8489 §14.13: a list of 16-bit types.
  if (std::uint8_t* out = reserve(attr::unknown_attributes, 2 * types.size())) {
    for (std::size_t i = 0; i < types.size(); ++i) put16(out + 2 * i, types[i]);
  }
  return *this;
}

Builder& Builder::add_channel_number(std::uint16_t channel) {
  if (std::uint8_t* out = reserve(attr::channel_number, 4)) {
    put16(out, channel);
    put16(out + 2, 0);
  }
  return *this;
}

Builder& Builder::add_requested_transport(std::uint8_t protocol) {
  if (std::uint8_t* out = reserve(attr::requested_transport, 4)) {
    out[0] = protocol;
    out[1] = out[2] = out[3] = 0;
  }
  return *this;
}

Builder& Builder::add_address_family(std::uint16_t type, TransportAddress::Family family) {
  if (std::uint8_t* out = reserve(type, 4)) {
    out[0] = static_cast<std::uint8_t>(family);
    out[1] = out[2] = out[3] = 0;
  }
  return *this;
}

Builder& Builder::add_even_port(bool reserve_next) {
  if (std::uint8_t* out = reserve(attr::even_port, 1)) out[0] = reserve_next ? 0x80 : 0x00;
  return *this;
}

Builder& Builder::add_integrity(std::span<const std::uint8_t> key) {
  // §14.5: the header length already counts the attribute once reserved.
  std::size_t start = size_;
  if (std::uint8_t* out = reserve(attr::message_integrity, kSha1Bytes)) {
    std::uint8_t mac[kSha1Bytes];
    if (!compute_hmac(Hmac::sha1, key, buffer_.data(), start,
                      static_cast<std::uint16_t>(size_ - kHeaderBytes), mac)) {
      ok_ = false;
      return *this;
    }
    std::memcpy(out, mac, kSha1Bytes);
  }
  return *this;
}

Builder& Builder::add_integrity_sha256(std::span<const std::uint8_t> key) {
  std::size_t start = size_;
  if (std::uint8_t* out = reserve(attr::message_integrity_sha256, kSha256Bytes)) {
    if (!compute_hmac(Hmac::sha256, key, buffer_.data(), start,
                      static_cast<std::uint16_t>(size_ - kHeaderBytes), out)) {
      ok_ = false;
    }
  }
  return *this;
}

Builder& Builder::add_fingerprint() {
  std::size_t start = size_;
  if (std::uint8_t* out = reserve(attr::fingerprint, 4)) {
    put32(out, compute_fingerprint(buffer_.data(), start, static_cast<std::uint16_t>(size_ - kHeaderBytes)));
  }
  return *this;
}

std::span<const std::uint8_t> Builder::finish() const {
  if (!ok_) return {};
  return buffer_.first(size_);
}

core::Result<ChannelData, ParseError> parse_channel_data(std::span<const std::uint8_t> bytes) {
  // RFC 8656 §12.4: | Channel Number (16) | Length (16) | Application Data |
  if (bytes.size() < 4) return core::fail(ParseError::too_short);
  std::uint16_t channel = read16(bytes.data());
  // 0x8000-0xFFFF cannot be a channel under either RFC.
  if (channel < kMinChannel || channel > kMaxChannel) return core::fail(ParseError::bad_attribute);
  std::size_t length = read16(bytes.data() + 2);
  if (length > bytes.size() - 4) return core::fail(ParseError::bad_length);
  return ChannelData{channel, bytes.subspan(4, length)};
}

void write_channel_data_header(std::uint8_t* out, std::uint16_t channel, std::uint16_t length) {
  put16(out, channel);
  put16(out + 2, length);
}

core::Result<std::size_t, ParseError> stream_frame_size(std::span<const std::uint8_t> buffered) {
  if (buffered.size() < 4) return std::size_t{0};
  std::size_t length = read16(buffered.data() + 2);
  if ((buffered[0] & 0xC0) == 0) {
    if (buffered.size() >= 8 && read32(buffered.data() + 4) != kMagicCookie) {
      return core::fail(ParseError::not_stun);
    }
    if (length % 4 != 0) return core::fail(ParseError::bad_length);
    return kHeaderBytes + length;
  }
  std::uint16_t channel = read16(buffered.data());
  if (channel < kMinChannel || channel > kMaxChannel) return core::fail(ParseError::not_stun);
  // §12.5: over a stream, ChannelData is padded to a multiple of 4 bytes.
  return 4 + padded(length);
}

}  // namespace ucedge::turn::stun
