// The STUN codec against the RFC 5769 test vectors, RFC 8489's integrity and
// fingerprint rules, the TURN attributes of RFC 8656, RFC 6062 and RFC 6156,
// ChannelData framing, and every way a message can be refused.
#include "turn/codec/stun.hpp"

#include <gtest/gtest.h>
#include <openssl/hmac.h>
#include <zlib.h>

#include <algorithm>
#include <string>
#include <vector>

using namespace ucedge::turn::stun;

namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes from_hex(std::string_view hex) {
  Bytes out;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  int high = -1;
  for (char c : hex) {
    int n = nibble(c);
    if (n < 0) continue;  // spaces and line breaks between groups
    if (high < 0) {
      high = n;
    } else {
      out.push_back(static_cast<std::uint8_t>(high << 4 | n));
      high = -1;
    }
  }
  return out;
}

Bytes text_bytes(std::string_view s) { return {s.begin(), s.end()}; }

std::span<const std::uint8_t> key_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string text(std::optional<std::span<const std::uint8_t>> v) {
  if (!v) return "<absent>";
  return std::string(as_text(*v));
}

// RFC 5769 §2.1: Binding request, short-term credentials, SOFTWARE, PRIORITY,
// ICE-CONTROLLED, USERNAME "evtj:h6vY" (padded with spaces), MESSAGE-INTEGRITY
// and FINGERPRINT.
const Bytes kSampleRequest = from_hex(
    "00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
    "80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74"
    "00 24 00 04 6e 00 01 ff"
    "80 29 00 08 93 2f f9 b1 51 26 3b 36"
    "00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20"
    "00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2"
    "80 28 00 04 e5 7a 3b cf");

// RFC 5769 §2.2: Binding success, XOR-MAPPED-ADDRESS 192.0.2.1:32853.
const Bytes kIpv4Response = from_hex(
    "01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
    "80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20"
    "00 20 00 08 00 01 a1 47 e1 12 a6 43"
    "00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7"
    "80 28 00 04 c0 7d 4c 96");

// RFC 5769 §2.3: Binding success, XOR-MAPPED-ADDRESS
// [2001:db8:1234:5678:11:2233:4455:6677]:32853.
const Bytes kIpv6Response = from_hex(
    "01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
    "80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20"
    "00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9"
    "00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41"
    "80 28 00 04 c8 fb 0b 4c");

// RFC 5769 §2.4: Binding request with long-term credentials.
const Bytes kLongTermRequest = from_hex(
    "00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e"
    "00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3 82 b9 00 00"
    "00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46 53 54 76 79 36 34 73 41"
    "00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00"
    "00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66");

// The username of §2.4 as the RFC gives it: "マトリックス" in UTF-8.
const std::string kMatrixUser = "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9";
constexpr std::string_view kShortTermPassword = "VOkJxbRl1RmTxUk/WvJxBt";

const TransactionId kRfcId = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};
const TransactionId kId = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

Message parse_ok(const Bytes& b) {
  auto m = parse(b);
  EXPECT_TRUE(m.ok()) << (m.ok() ? "" : std::string(to_string(m.error())));
  if (!m.ok()) return *parse(kSampleRequest);
  return *m;
}

// A Message views its bytes: parsing a temporary would leave it dangling.
Message parse_ok(Bytes&&) = delete;

ParseError parse_error(const Bytes& b) {
  auto m = parse(b);
  EXPECT_FALSE(m.ok());
  return m.ok() ? ParseError::bad_attribute : m.error();
}

TransportAddress v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d, std::uint16_t port) {
  TransportAddress out;
  out.family = TransportAddress::Family::ipv4;
  out.ip[0] = a;
  out.ip[1] = b;
  out.ip[2] = c;
  out.ip[3] = d;
  out.port = port;
  return out;
}

TransportAddress v6(std::string_view hex16, std::uint16_t port) {
  TransportAddress out;
  out.family = TransportAddress::Family::ipv6;
  auto b = from_hex(hex16);
  std::copy(b.begin(), b.end(), out.ip.begin());
  out.port = port;
  return out;
}

Bytes built(const Builder& b) {
  auto out = b.finish();
  EXPECT_TRUE(b.ok());
  return {out.begin(), out.end()};
}

// A message with a STUN header and the given attribute bytes, the length
// field set to match.
Bytes raw_message(std::uint16_t type, const Bytes& attributes) {
  Bytes out = from_hex("0000 0000 2112a442 010203040506070809101112");
  out[0] = static_cast<std::uint8_t>(type >> 8);
  out[1] = static_cast<std::uint8_t>(type);
  out[2] = static_cast<std::uint8_t>(attributes.size() >> 8);
  out[3] = static_cast<std::uint8_t>(attributes.size());
  out.insert(out.end(), attributes.begin(), attributes.end());
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------
// RFC 5769 test vectors

TEST(StunRfc5769, SampleRequest) {
  Message m = parse_ok(kSampleRequest);
  EXPECT_EQ(m.method(), Method::binding);
  EXPECT_EQ(m.message_class(), Class::request);
  EXPECT_EQ(m.transaction_id(), kRfcId);
  ASSERT_EQ(m.attributes().size(), 6u);
  EXPECT_EQ(text(m.find(attr::software)), "STUN test client");
  EXPECT_EQ(text(m.find(attr::username)), "evtj:h6vY");
  auto priority = decode_u32(*m.find(attr::priority));
  ASSERT_TRUE(priority.ok());
  EXPECT_EQ(*priority, 0x6e0001ffu);
  ASSERT_TRUE(m.has(attr::ice_controlled));
  EXPECT_EQ(Bytes(m.find(attr::ice_controlled)->begin(), m.find(attr::ice_controlled)->end()),
            from_hex("932ff9b151263b36"));
  EXPECT_EQ(m.integrity_index(), 4u);
  EXPECT_EQ(m.fingerprint_index(), 5u);
  EXPECT_FALSE(m.integrity_sha256_index().has_value());
  EXPECT_TRUE(m.has(attr::fingerprint));

  EXPECT_EQ(check_fingerprint(m), Check::valid);
  EXPECT_EQ(check_integrity(m, key_of(kShortTermPassword)), Check::valid);
  EXPECT_EQ(check_integrity(m, key_of("VOkJxbRl1RmTxUk/WvJxBT")), Check::invalid);
  EXPECT_EQ(check_integrity(m, {}), Check::invalid);
}

TEST(StunRfc5769, Ipv4Response) {
  Message m = parse_ok(kIpv4Response);
  EXPECT_EQ(m.method(), Method::binding);
  EXPECT_EQ(m.message_class(), Class::success);
  EXPECT_EQ(text(m.find(attr::software)), "test vector");
  auto address = decode_xor_address(*m.find(attr::xor_mapped_address), m.transaction_id());
  ASSERT_TRUE(address.ok());
  EXPECT_EQ(*address, v4(192, 0, 2, 1, 32853));
  EXPECT_EQ(check_fingerprint(m), Check::valid);
  EXPECT_EQ(check_integrity(m, key_of(kShortTermPassword)), Check::valid);
  EXPECT_EQ(check_integrity(m, key_of("wrong")), Check::invalid);
}

TEST(StunRfc5769, Ipv6Response) {
  Message m = parse_ok(kIpv6Response);
  EXPECT_EQ(m.message_class(), Class::success);
  auto address = decode_xor_address(*m.find(attr::xor_mapped_address), m.transaction_id());
  ASSERT_TRUE(address.ok());
  EXPECT_EQ(*address, v6("20010db8123456780011223344556677", 32853));
  EXPECT_EQ(check_fingerprint(m), Check::valid);
  EXPECT_EQ(check_integrity(m, key_of(kShortTermPassword)), Check::valid);
  EXPECT_EQ(check_integrity(m, key_of("wrong")), Check::invalid);
}

TEST(StunRfc5769, LongTermCredentials) {
  Message m = parse_ok(kLongTermRequest);
  EXPECT_EQ(m.method(), Method::binding);
  EXPECT_EQ(m.message_class(), Class::request);
  EXPECT_EQ(text(m.find(attr::username)), kMatrixUser);
  EXPECT_EQ(text(m.find(attr::nonce)), "f//499k954d6OL34oL9FSTvy64sA");
  EXPECT_EQ(text(m.find(attr::realm)), "example.org");
  EXPECT_EQ(check_fingerprint(m), Check::absent);

  // RFC 8489 §9.2.2: key = MD5(username ":" realm ":" SASLprep(password)); the
  // password "The<U+00AD>M<U+00AA>tr<U+2168>" prepares to "TheMatrIX".
  auto key = long_term_key_md5(kMatrixUser, "example.org", "TheMatrIX");
  EXPECT_EQ(Bytes(key.begin(), key.end()), from_hex("e8ca7ad59d5eb0518e312911d2dab2a9"));
  EXPECT_EQ(check_integrity(m, key), Check::valid);
  auto other = long_term_key_md5(kMatrixUser, "example.org", "TheMatrix");
  EXPECT_EQ(check_integrity(m, other), Check::invalid);
}

TEST(StunRfc5769, AFlippedByteBreaksIntegrityAndFingerprint) {
  for (const Bytes* vector : {&kSampleRequest, &kIpv4Response, &kIpv6Response}) {
    // A byte of the transaction ID, of the first attribute's value, and of
    // the MESSAGE-INTEGRITY value itself.
    std::size_t mi_value = vector->size() - 8 - 20;
    for (std::size_t at : {std::size_t{9}, std::size_t{25}, mi_value}) {
      Bytes b = *vector;
      b[at] ^= 0x01;
      Message m = parse_ok(b);
      EXPECT_EQ(check_fingerprint(m), Check::invalid) << "byte " << at;
      EXPECT_EQ(check_integrity(m, key_of(kShortTermPassword)), Check::invalid) << "byte " << at;
    }
  }
  Bytes b = kLongTermRequest;
  b[30] ^= 0x80;
  EXPECT_EQ(check_integrity(parse_ok(b), long_term_key_md5(kMatrixUser, "example.org", "TheMatrIX")),
            Check::invalid);
}

TEST(StunRfc5769, PaddingContentIsNotChecked) {
  // The vectors pad with spaces; any padding parses, but it is covered by
  // the integrity, so changing it breaks MESSAGE-INTEGRITY.
  Bytes b = kSampleRequest;
  b[20 + 20 + 8 + 12 + 4 + 9] = 0x00;  // first pad byte of USERNAME
  Message m = parse_ok(b);
  EXPECT_EQ(text(m.find(attr::username)), "evtj:h6vY");
  EXPECT_EQ(check_integrity(m, key_of(kShortTermPassword)), Check::invalid);
}

TEST(StunRfc5769, BuilderReproducesLongTermRequestByteForByte) {
  // §2.4 pads with zeros, as the builder does, so the whole message matches.
  std::array<std::uint8_t, 256> buffer{};
  TransactionId id = {0x78, 0xad, 0x34, 0x33, 0xc6, 0xad, 0x72, 0xc0, 0x29, 0xda, 0x41, 0x2e};
  Builder b(buffer, Method::binding, Class::request, id);
  b.add_text(attr::username, kMatrixUser)
      .add_text(attr::nonce, "f//499k954d6OL34oL9FSTvy64sA")
      .add_text(attr::realm, "example.org")
      .add_integrity(long_term_key_md5(kMatrixUser, "example.org", "TheMatrIX"));
  EXPECT_EQ(built(b), kLongTermRequest);
}

TEST(StunRfc5769, BuilderRebuildsIpv4ResponseUpToPadding) {
  // §2.2 pads SOFTWARE with a space where the builder writes a zero: every
  // other byte up to MESSAGE-INTEGRITY matches, and the rebuilt message's own
  // integrity and fingerprint are valid.
  std::array<std::uint8_t, 256> buffer{};
  Builder b(buffer, Method::binding, Class::success, kRfcId);
  b.add_text(attr::software, "test vector")
      .add_xor_address(attr::xor_mapped_address, v4(192, 0, 2, 1, 32853))
      .add_integrity(key_of(kShortTermPassword))
      .add_fingerprint();
  Bytes out = built(b);
  ASSERT_EQ(out.size(), kIpv4Response.size());
  std::size_t pad = 20 + 4 + 11;
  for (std::size_t i = 0; i < out.size() - 24 - 8; ++i) {
    if (i == pad) continue;
    EXPECT_EQ(out[i], kIpv4Response[i]) << "byte " << i;
  }
  EXPECT_EQ(out[pad], 0x00);

  Message m = parse_ok(out);
  EXPECT_EQ(check_integrity(m, key_of(kShortTermPassword)), Check::valid);
  EXPECT_EQ(check_fingerprint(m), Check::valid);

  // With the vector's space in the padding, the MAC and CRC are the RFC's.
  Builder again(buffer, Method::binding, Class::success, kRfcId);
  again.add_text(attr::software, "test vector")
      .add_xor_address(attr::xor_mapped_address, v4(192, 0, 2, 1, 32853));
  buffer[pad] = 0x20;
  again.add_integrity(key_of(kShortTermPassword)).add_fingerprint();
  EXPECT_EQ(built(again), kIpv4Response);
}

TEST(StunRfc5769, BuilderRebuildsSampleRequestAndIpv6Response) {
  std::array<std::uint8_t, 256> buffer{};
  {
    Builder b(buffer, Method::binding, Class::request, kRfcId);
    b.add_text(attr::software, "STUN test client")
        .add_u32(attr::priority, 0x6e0001ff)
        .add(attr::ice_controlled, from_hex("932ff9b151263b36"))
        .add_text(attr::username, "evtj:h6vY");
    // The RFC pads USERNAME with spaces; write the same before the MAC.
    std::size_t pad = b.finish().size() - 3;
    std::fill_n(buffer.begin() + static_cast<std::ptrdiff_t>(pad), 3, 0x20);
    b.add_integrity(key_of(kShortTermPassword)).add_fingerprint();
    EXPECT_EQ(built(b), kSampleRequest);
  }
  {
    TransportAddress a = v6("20010db8123456780011223344556677", 32853);
    Builder b(buffer, Method::binding, Class::success, kRfcId);
    b.add_text(attr::software, "test vector").add_xor_address(attr::xor_mapped_address, a);
    buffer[20 + 4 + 11] = 0x20;
    b.add_integrity(key_of(kShortTermPassword)).add_fingerprint();
    EXPECT_EQ(built(b), kIpv6Response);
  }
}

// ---------------------------------------------------------------------------
// Header

TEST(StunHeader, MessageTypesOfEveryMethodAndClass) {
  // RFC 8489 §5 and RFC 8656 §17: the well-known type values.
  struct Case {
    Method method;
    Class message_class;
    std::uint16_t type;
  };
  const Case cases[] = {
      {Method::binding, Class::request, 0x0001},
      {Method::binding, Class::indication, 0x0011},
      {Method::binding, Class::success, 0x0101},
      {Method::binding, Class::error, 0x0111},
      {Method::allocate, Class::request, 0x0003},
      {Method::allocate, Class::success, 0x0103},
      {Method::allocate, Class::error, 0x0113},
      {Method::refresh, Class::request, 0x0004},
      {Method::send, Class::indication, 0x0016},
      {Method::data, Class::indication, 0x0017},
      {Method::create_permission, Class::request, 0x0008},
      {Method::channel_bind, Class::success, 0x0109},
      {Method::connect, Class::request, 0x000A},
      {Method::connection_bind, Class::error, 0x011B},
      {Method::connection_attempt, Class::indication, 0x001C},
  };
  for (const auto& c : cases) {
    std::array<std::uint8_t, 20> buffer{};
    Builder b(buffer, c.method, c.message_class, kId);
    Bytes out = built(b);
    ASSERT_EQ(out.size(), 20u);
    EXPECT_EQ((out[0] << 8) | out[1], c.type);
    Message m = parse_ok(out);
    EXPECT_EQ(m.method(), c.method);
    EXPECT_EQ(m.raw_method(), static_cast<std::uint16_t>(c.method));
    EXPECT_EQ(m.message_class(), c.message_class);
    EXPECT_EQ(m.transaction_id(), kId);
    EXPECT_TRUE(m.attributes().empty());
  }
}

TEST(StunHeader, MethodOutsideTheEnumIsKeptRaw) {
  std::array<std::uint8_t, 20> buffer{};
  Builder b(buffer, static_cast<Method>(0xABC), Class::error, kId);
  Bytes out = built(b);
  // M11..M7 = 10101, C1 = 1, M6..M4 = 011, C0 = 1, M3..M0 = 1100.
  EXPECT_EQ((out[0] << 8) | out[1], 0x2B7C);
  Message m = parse_ok(out);
  EXPECT_EQ(m.raw_method(), 0xABC);
  EXPECT_EQ(m.message_class(), Class::error);
}

TEST(StunHeader, TooShort) {
  Bytes b = kIpv4Response;
  b.resize(19);
  EXPECT_EQ(parse_error(b), ParseError::too_short);
  EXPECT_EQ(parse_error({}), ParseError::too_short);
}

TEST(StunHeader, NotStun) {
  Bytes b = raw_message(0x0001, {});
  b[4] = 0x21;
  b[7] = 0x43;  // cookie 2112a443
  EXPECT_EQ(parse_error(b), ParseError::not_stun);
  for (std::uint8_t top : {0x40, 0x80, 0xC0}) {
    Bytes c = raw_message(0x0001, {});
    c[0] |= top;
    EXPECT_EQ(parse_error(c), ParseError::not_stun) << int(top);
  }
}

TEST(StunHeader, LengthMustMatchTheDatagramAndBeAMultipleOfFour) {
  Bytes ok = raw_message(0x0001, from_hex("8022 0004 61626364"));
  parse_ok(ok);

  Bytes longer = ok;
  longer.push_back(0);
  longer.push_back(0);
  longer.push_back(0);
  longer.push_back(0);
  EXPECT_EQ(parse_error(longer), ParseError::bad_length);  // datagram holds more than the header says

  Bytes shorter(ok.begin(), ok.end() - 4);
  EXPECT_EQ(parse_error(shorter), ParseError::bad_length);  // header says more than the datagram holds

  Bytes odd = ok;
  odd[3] = 0x07;
  odd.pop_back();
  EXPECT_EQ(parse_error(odd), ParseError::bad_length);
}

TEST(StunHeader, LooksLikeStun) {
  EXPECT_TRUE(looks_like_stun(kSampleRequest));
  EXPECT_TRUE(looks_like_stun(std::span(kSampleRequest).first(8)));
  EXPECT_FALSE(looks_like_stun(std::span(kSampleRequest).first(7)));
  Bytes b = kSampleRequest;
  b[0] = 0x40;
  EXPECT_FALSE(looks_like_stun(b));
  b = kSampleRequest;
  b[5] = 0;
  EXPECT_FALSE(looks_like_stun(b));
}

TEST(StunHeader, EveryErrorHasItsOwnText) {
  const ParseError all[] = {ParseError::too_short,           ParseError::not_stun,
                            ParseError::bad_length,          ParseError::truncated_attribute,
                            ParseError::too_many_attributes, ParseError::fingerprint_not_last,
                            ParseError::bad_attribute};
  for (auto a : all) {
    EXPECT_FALSE(to_string(a).empty());
    for (auto b : all) {
      if (a == b) continue;
      EXPECT_NE(to_string(a), to_string(b));
    }
  }
}

// ---------------------------------------------------------------------------
// Attribute list

TEST(StunAttributes, TruncatedAttribute) {
  // USERNAME claims 9 bytes, the message holds 8 after its header.
  EXPECT_EQ(parse_error(raw_message(0x0001, from_hex("0006 0009 6576746a3a683676"))),
            ParseError::truncated_attribute);
  // 5 bytes of value need 8 with padding.
  EXPECT_EQ(parse_error(raw_message(0x0001, from_hex("0006 0005 6576746a3a683676 0006 0005 6576746a"))),
            ParseError::truncated_attribute);
  // Length 0xFFFF on a small message.
  EXPECT_EQ(parse_error(raw_message(0x0001, from_hex("0006 ffff 00000000"))),
            ParseError::truncated_attribute);
}

TEST(StunAttributes, EmptyValuesAndPaddingParse) {
  Bytes wire_bytes = raw_message(0x0001, from_hex("0025 0000  0006 0001 61000000  8022 0003 616263ff"));
  Message m = parse_ok(wire_bytes);
  ASSERT_EQ(m.attributes().size(), 3u);
  EXPECT_TRUE(m.has(attr::use_candidate));
  EXPECT_TRUE(m.find(attr::use_candidate)->empty());
  EXPECT_EQ(text(m.find(attr::username)), "a");
  EXPECT_EQ(text(m.find(attr::software)), "abc");
  EXPECT_EQ(m.attributes()[1].offset, 28u);
  EXPECT_EQ(m.attributes()[1].length, 1u);
}

TEST(StunAttributes, FindReturnsTheFirstOfAType) {
  Bytes wire_bytes = raw_message(0x0001, from_hex("0006 0004 61616161 0006 0004 62626262"));
  Message m = parse_ok(wire_bytes);
  EXPECT_EQ(text(m.find(attr::username)), "aaaa");
  EXPECT_FALSE(m.has(attr::realm));
}

TEST(StunAttributes, TooManyAttributes) {
  Bytes forty, forty_one;
  for (std::size_t i = 0; i < kMaxAttributes; ++i) {
    for (auto byte : from_hex("8022 0000")) forty.push_back(byte);
  }
  forty_one = forty;
  for (auto byte : from_hex("8022 0000")) forty_one.push_back(byte);
  Bytes full = raw_message(0x0001, forty);
  EXPECT_EQ(parse_ok(full).attributes().size(), kMaxAttributes);
  EXPECT_EQ(parse_error(raw_message(0x0001, forty_one)), ParseError::too_many_attributes);
}

TEST(StunAttributes, FingerprintMustBeLast) {
  std::array<std::uint8_t, 128> buffer{};
  Builder b(buffer, Method::binding, Class::request, kId);
  b.add_text(attr::username, "alice").add_fingerprint().add_text(attr::software, "x");
  EXPECT_EQ(parse_error(built(b)), ParseError::fingerprint_not_last);

  Builder twice(buffer, Method::binding, Class::request, kId);
  twice.add_fingerprint().add_fingerprint();
  EXPECT_EQ(parse_error(built(twice)), ParseError::fingerprint_not_last);
}

TEST(StunAttributes, AttributesAfterIntegrityAreIgnored) {
  // RFC 8489 §14.5: after MESSAGE-INTEGRITY only MESSAGE-INTEGRITY-SHA256 and
  // FINGERPRINT count.
  std::array<std::uint8_t, 256> buffer{};
  Builder b(buffer, Method::allocate, Class::request, kId);
  b.add_text(attr::username, "alice")
      .add_integrity(key_of("key"))
      .add_text(attr::realm, "injected")
      .add_text(attr::username, "mallory")
      .add_u32(0x0030, 1)
      .add_fingerprint();
  Bytes wire_bytes = built(b);
  Message m = parse_ok(wire_bytes);
  EXPECT_EQ(m.attributes().size(), 6u);
  EXPECT_EQ(text(m.find(attr::username)), "alice");
  EXPECT_FALSE(m.has(attr::realm));
  EXPECT_TRUE(m.has(attr::message_integrity));
  EXPECT_TRUE(m.has(attr::fingerprint));
  EXPECT_EQ(check_fingerprint(m), Check::valid);
  EXPECT_EQ(check_integrity(m, key_of("key")), Check::valid);
  // The unknown comprehension-required 0x0030 follows the integrity: ignored.
  const std::uint16_t known[] = {attr::username, attr::message_integrity};
  EXPECT_EQ(unknown_required(m, known).count, 0u);
}

TEST(StunAttributes, OnlyFingerprintCountsAfterIntegritySha256) {
  std::array<std::uint8_t, 256> buffer{};
  Builder b(buffer, Method::binding, Class::request, kId);
  b.add_text(attr::username, "alice")
      .add_integrity_sha256(key_of("key"))
      .add_integrity(key_of("key"))
      .add_text(attr::realm, "injected")
      .add_fingerprint();
  Bytes wire_bytes = built(b);
  Message m = parse_ok(wire_bytes);
  EXPECT_EQ(m.integrity_sha256_index(), 1u);
  EXPECT_FALSE(m.integrity_index().has_value());
  EXPECT_FALSE(m.has(attr::message_integrity));
  EXPECT_FALSE(m.has(attr::realm));
  EXPECT_TRUE(m.has(attr::message_integrity_sha256));
  EXPECT_TRUE(m.has(attr::fingerprint));
  EXPECT_EQ(check_integrity(m, key_of("key")), Check::valid);
  EXPECT_EQ(check_fingerprint(m), Check::valid);
}

TEST(StunAttributes, UnknownRequired) {
  std::array<std::uint8_t, 256> buffer{};
  Builder b(buffer, Method::allocate, Class::request, kId);
  b.add_requested_transport(17)
      .add_u32(0x0030, 1)
      .add_u32(0x8030, 2)
      .add_u32(0x0031, 3)
      .add_u32(0x0030, 4)
      .add_text(attr::software, "client");
  Bytes wire_bytes = built(b);
  Message m = parse_ok(wire_bytes);
  const std::uint16_t known[] = {attr::requested_transport};
  auto unknown = unknown_required(m, known);
  ASSERT_EQ(unknown.count, 2u);
  EXPECT_EQ(unknown.types[0], 0x0030);
  EXPECT_EQ(unknown.types[1], 0x0031);
  EXPECT_EQ(unknown.view().size(), 2u);

  const std::uint16_t all[] = {attr::requested_transport, 0x0030, 0x0031};
  EXPECT_EQ(unknown_required(m, all).count, 0u);
  // REQUESTED-TRANSPORT is comprehension-required when not declared known.
  EXPECT_EQ(unknown_required(m, {}).count, 3u);
}

TEST(StunAttributes, UnknownRequiredStopsAtSixteen) {
  std::array<std::uint8_t, 512> buffer{};
  Builder b(buffer, Method::binding, Class::request, kId);
  for (std::uint16_t t = 0x0040; t < 0x0040 + 20; ++t) b.add(t, {});
  Bytes wire_bytes = built(b);
  auto unknown = unknown_required(parse_ok(wire_bytes), {});
  EXPECT_EQ(unknown.count, 16u);
  EXPECT_EQ(unknown.types[15], 0x004F);
}

TEST(StunAttributes, ComprehensionRequiredRange) {
  EXPECT_TRUE(attr::comprehension_required(0x0000));
  EXPECT_TRUE(attr::comprehension_required(0x7FFF));
  EXPECT_FALSE(attr::comprehension_required(0x8000));
  EXPECT_FALSE(attr::comprehension_required(attr::fingerprint));
}

// ---------------------------------------------------------------------------
// Integrity and fingerprint

namespace {

// RFC 8489 §14.6, computed here from first principles with OpenSSL's one-shot
// HMAC: the message up to the attribute, the header length counting it.
Bytes expected_hmac(const EVP_MD* md, std::string_view key, Bytes message, std::size_t attr_start,
                    std::size_t attr_end) {
  message.resize(attr_start);
  message[2] = static_cast<std::uint8_t>((attr_end - 20) >> 8);
  message[3] = static_cast<std::uint8_t>(attr_end - 20);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()), message.data(), message.size(), out, &len);
  return Bytes(out, out + len);
}

}  // namespace

TEST(StunIntegrity, Sha256AsRfc8489Section14_6) {
  std::array<std::uint8_t, 256> buffer{};
  Builder b(buffer, Method::allocate, Class::request, kId);
  b.add_text(attr::username, "alice")
      .add_text(attr::realm, "example.org")
      .add_integrity_sha256(key_of("secret"));
  std::size_t attr_start = b.finish().size() - 36;
  b.add_fingerprint();
  Bytes out = built(b);
  Message m = parse_ok(out);
  ASSERT_TRUE(m.integrity_sha256_index().has_value());
  const Attribute& a = m.attributes()[*m.integrity_sha256_index()];
  EXPECT_EQ(a.length, 32u);
  EXPECT_EQ(Bytes(out.begin() + a.offset, out.begin() + a.offset + 32),
            expected_hmac(EVP_sha256(), "secret", out, attr_start, attr_start + 36));
  EXPECT_EQ(check_integrity(m, key_of("secret")), Check::valid);
  EXPECT_EQ(check_integrity(m, key_of("Secret")), Check::invalid);
  EXPECT_EQ(check_fingerprint(m), Check::valid);

  // The header's length counts every attribute, FINGERPRINT included.
  EXPECT_EQ((out[2] << 8) | out[3], static_cast<int>(out.size() - 20));
}

TEST(StunIntegrity, Sha1MatchesAnIndependentHmac) {
  std::array<std::uint8_t, 256> buffer{};
  Builder b(buffer, Method::refresh, Class::request, kId);
  b.add_u32(attr::lifetime, 600).add_integrity(key_of("k"));
  Bytes out = built(b);
  EXPECT_EQ(Bytes(out.end() - 20, out.end()),
            expected_hmac(EVP_sha1(), "k", out, out.size() - 24, out.size()));
}

TEST(StunIntegrity, Sha256IsPreferredWhenBothArePresent) {
  std::array<std::uint8_t, 256> buffer{};
  {
    Builder b(buffer, Method::binding, Class::request, kId);
    b.add_text(attr::username, "alice").add_integrity(key_of("wrong")).add_integrity_sha256(key_of("right"));
    Bytes wire_bytes = built(b);
    Message m = parse_ok(wire_bytes);
    EXPECT_TRUE(m.integrity_index().has_value());
    EXPECT_TRUE(m.integrity_sha256_index().has_value());
    EXPECT_EQ(check_integrity(m, key_of("right")), Check::valid);
    EXPECT_EQ(check_integrity(m, key_of("wrong")), Check::invalid);
  }
  {
    Builder b(buffer, Method::binding, Class::request, kId);
    b.add_text(attr::username, "alice")
        .add_integrity(key_of("right"))
        .add_integrity_sha256(key_of("right"))
        .add_fingerprint();
    Bytes wire_bytes = built(b);
    Message m = parse_ok(wire_bytes);
    EXPECT_EQ(check_integrity(m, key_of("right")), Check::valid);
    EXPECT_EQ(check_fingerprint(m), Check::valid);
  }
}

TEST(StunIntegrity, AllocateFromAnIndependentEncoder) {
  // An Allocate request written with Python's hmac, hashlib and zlib (key
  // MD5("alice:example.org:secret")), ending MESSAGE-INTEGRITY,
  // MESSAGE-INTEGRITY-SHA256, FINGERPRINT. RFC 5769 has no SHA-256 vector.
  const Bytes wire = from_hex(
      "000300ac2112a4420102030405060708090a0b0c"
      "0019000411000000000d000400000258001a0000"
      "0018000180000000001700040200000000060005"
      "616c6963650000000014000b6578616d706c652e"
      "6f726700001500106e6f6e63652d303132333435"
      "36373839802200107563656467652066757a7a20"
      "7365656400080014a36b4a23dae45a65ebe45469"
      "b80712f4c196435d001c002053705477c6f677fa"
      "b67230bf53f2a463a5a381c33f0e2c6a68ec40d5"
      "6bd383ce80280004fbd91ae4");
  Message m = parse_ok(wire);
  EXPECT_EQ(m.method(), Method::allocate);
  ASSERT_EQ(m.attributes().size(), 12u);
  auto key = long_term_key_md5("alice", "example.org", "secret");
  EXPECT_EQ(check_integrity(m, key), Check::valid);
  EXPECT_EQ(check_integrity(m, long_term_key_md5("alice", "example.org", "Secret")), Check::invalid);
  EXPECT_EQ(check_fingerprint(m), Check::valid);
  EXPECT_EQ(*decode_requested_transport(*m.find(attr::requested_transport)), 17);
  EXPECT_EQ(*decode_u32(*m.find(attr::lifetime)), 600u);
  EXPECT_TRUE(m.has(attr::dont_fragment));
  EXPECT_TRUE(*decode_even_port(*m.find(attr::even_port)));
  EXPECT_EQ(*decode_address_family(*m.find(attr::requested_address_family)), TransportAddress::Family::ipv6);
  EXPECT_EQ(text(m.find(attr::nonce)), "nonce-0123456789");

  // Cut after MESSAGE-INTEGRITY, the SHA-1 value checks on its own.
  const Attribute& mi = m.attributes()[*m.integrity_index()];
  Bytes cut(wire.begin(), wire.begin() + mi.offset + 20);
  cut[2] = static_cast<std::uint8_t>((cut.size() - 20) >> 8);
  cut[3] = static_cast<std::uint8_t>(cut.size() - 20);
  Message sha1_only = parse_ok(cut);
  EXPECT_FALSE(sha1_only.integrity_sha256_index().has_value());
  EXPECT_EQ(check_integrity(sha1_only, key), Check::valid);
}

TEST(StunIntegrity, TruncatedSha256IsAcceptedDownToSixteenBytes) {
  for (std::size_t len : {16u, 20u, 24u, 28u}) {
    std::array<std::uint8_t, 256> buffer{};
    Builder b(buffer, Method::binding, Class::request, kId);
    b.add_text(attr::username, "alice").add(attr::message_integrity_sha256, Bytes(len, 0));
    Bytes out = built(b);
    auto mac = expected_hmac(EVP_sha256(), "pw", out, out.size() - 4 - len, out.size());
    std::copy_n(mac.begin(), len, out.end() - static_cast<std::ptrdiff_t>(len));
    Message m = parse_ok(out);
    EXPECT_EQ(check_integrity(m, key_of("pw")), Check::valid) << len;
    EXPECT_EQ(check_integrity(m, key_of("pW")), Check::invalid) << len;
  }
  // Shorter than 16, not a multiple of 4, or longer than 32: refused whatever
  // the value.
  for (std::size_t len : {0u, 12u, 18u, 36u}) {
    std::array<std::uint8_t, 256> buffer{};
    Builder b(buffer, Method::binding, Class::request, kId);
    b.add(attr::message_integrity_sha256, Bytes(len, 0));
    Bytes wire_bytes = built(b);
    EXPECT_EQ(check_integrity(parse_ok(wire_bytes), key_of("pw")), Check::invalid) << len;
  }
}

TEST(StunIntegrity, Sha1ValueMustBeTwentyBytes) {
  std::array<std::uint8_t, 256> buffer{};
  Builder b(buffer, Method::binding, Class::request, kId);
  b.add(attr::message_integrity, Bytes(16, 0));
  Bytes wire_bytes = built(b);
  EXPECT_EQ(check_integrity(parse_ok(wire_bytes), key_of("pw")), Check::invalid);
}

TEST(StunIntegrity, AbsentWithoutIntegrity) {
  std::array<std::uint8_t, 64> buffer{};
  Builder b(buffer, Method::binding, Class::request, kId);
  b.add_text(attr::software, "x");
  Bytes wire_bytes = built(b);
  Message m = parse_ok(wire_bytes);
  EXPECT_EQ(check_integrity(m, key_of("pw")), Check::absent);
  EXPECT_EQ(check_fingerprint(m), Check::absent);
}

TEST(StunIntegrity, EmptyKeyIsAKeyLikeAnyOther) {
  std::array<std::uint8_t, 64> buffer{};
  Builder b(buffer, Method::binding, Class::request, kId);
  b.add_integrity({});
  Bytes out = built(b);
  EXPECT_EQ(Bytes(out.end() - 20, out.end()), expected_hmac(EVP_sha1(), "", out, 20, 44));
  Message m = parse_ok(out);
  // A check with a real key first must not leave that key behind.
  EXPECT_EQ(check_integrity(m, key_of("x")), Check::invalid);
  EXPECT_EQ(check_integrity(m, {}), Check::valid);
}

TEST(StunIntegrity, FingerprintIsCrc32XorStun) {
  std::array<std::uint8_t, 64> buffer{};
  Builder b(buffer, Method::binding, Class::request, kId);
  b.add_text(attr::software, "abc").add_fingerprint();
  Bytes out = built(b);
  uLong crc = crc32(0L, out.data(), static_cast<uInt>(out.size() - 8));
  std::uint32_t expected = static_cast<std::uint32_t>(crc) ^ 0x5354554e;
  std::uint32_t got = (std::uint32_t{out[out.size() - 4]} << 24) |
                      (std::uint32_t{out[out.size() - 3]} << 16) | (std::uint32_t{out[out.size() - 2]} << 8) |
                      out[out.size() - 1];
  EXPECT_EQ(got, expected);

  // A FINGERPRINT of the wrong size is not valid.
  Builder bad(buffer, Method::binding, Class::request, kId);
  bad.add(attr::fingerprint, Bytes(8, 0));
  Bytes bad_bytes = built(bad);
  EXPECT_EQ(check_fingerprint(parse_ok(bad_bytes)), Check::invalid);
}

TEST(StunIntegrity, LongTermKeys) {
  auto md5 = long_term_key_md5("user", "realm", "pass");
  EXPECT_EQ(Bytes(md5.begin(), md5.end()), from_hex("8493fbc53ba582fb4c044c456bdc40eb"));
  auto sha = long_term_key_sha256("user", "realm", "pass");
  EXPECT_EQ(Bytes(sha.begin(), sha.end()),
            from_hex("07e934117abd40836e7c6329b54731b2b2d2a5f9a71f544922d75e0730d8251b"));
}

// ---------------------------------------------------------------------------
// Typed attributes

TEST(StunDecode, XorAddressRoundTrip) {
  std::array<std::uint8_t, 256> buffer{};
  TransportAddress a4 = v4(203, 0, 113, 7, 49152);
  TransportAddress a6 = v6("fe800000000000000000000000000001", 65535);
  Builder b(buffer, Method::allocate, Class::success, kId);
  b.add_xor_address(attr::xor_relayed_address, a4)
      .add_xor_address(attr::xor_mapped_address, a6)
      .add_xor_address(attr::xor_peer_address, v6("00000000000000000000000000000000", 0));
  Bytes out = built(b);
  Message m = parse_ok(out);
  EXPECT_EQ(*decode_xor_address(*m.find(attr::xor_relayed_address), kId), a4);
  EXPECT_EQ(*decode_xor_address(*m.find(attr::xor_mapped_address), kId), a6);
  EXPECT_EQ(*decode_xor_address(*m.find(attr::xor_peer_address), kId),
            v6("00000000000000000000000000000000", 0));
  // The IPv6 form depends on the transaction ID, the IPv4 form does not.
  TransactionId other = kId;
  other[11] ^= 0xFF;
  EXPECT_NE(*decode_xor_address(*m.find(attr::xor_mapped_address), other), a6);
  EXPECT_EQ(*decode_xor_address(*m.find(attr::xor_relayed_address), other), a4);
  // On the wire, nothing of the address shows in the clear.
  auto wire = *m.find(attr::xor_relayed_address);
  EXPECT_NE(wire[4], 203);
}

TEST(StunDecode, PlainAddressRoundTrip) {
  std::array<std::uint8_t, 128> buffer{};
  TransportAddress a6 = v6("20010db8000000000000000000000042", 3478);
  Builder b(buffer, Method::binding, Class::success, kId);
  b.add_address(attr::mapped_address, v4(192, 0, 2, 1, 32853)).add_address(attr::alternate_server, a6);
  Bytes wire_bytes = built(b);
  Message m = parse_ok(wire_bytes);
  auto wire = *m.find(attr::mapped_address);
  EXPECT_EQ(Bytes(wire.begin(), wire.end()), from_hex("0001 8055 c0000201"));
  EXPECT_EQ(*decode_address(wire), v4(192, 0, 2, 1, 32853));
  EXPECT_EQ(*decode_address(*m.find(attr::alternate_server)), a6);
}

TEST(StunDecode, MalformedAddresses) {
  const char* bad[] = {
      "",                                            // empty
      "0001 8055",                                   // no address
      "0001 8055 c00002",                            // IPv4, 3 bytes
      "0001 8055 c0000201 00",                       // IPv4, 5 bytes
      "0002 8055 c0000201",                          // IPv6 family, IPv4 length
      "0001 8055 20010db8000000000000000000000042",  // IPv4 family, IPv6 length
      "0003 8055 c0000201",                          // unknown family
      "0000 8055 c0000201",
  };
  for (const char* hex : bad) {
    Bytes v = from_hex(hex);
    auto plain = decode_address(v);
    auto xored = decode_xor_address(v, kId);
    ASSERT_FALSE(plain.ok()) << hex;
    ASSERT_FALSE(xored.ok()) << hex;
    EXPECT_EQ(plain.error(), ParseError::bad_attribute);
    EXPECT_EQ(xored.error(), ParseError::bad_attribute);
  }
}

TEST(StunDecode, U32) {
  EXPECT_EQ(*decode_u32(from_hex("00000258")), 600u);
  EXPECT_EQ(*decode_u32(from_hex("ffffffff")), 0xffffffffu);
  for (const char* hex : {"", "000258", "0000025800"}) {
    auto r = decode_u32(from_hex(hex));
    ASSERT_FALSE(r.ok()) << hex;
    EXPECT_EQ(r.error(), ParseError::bad_attribute);
  }
}

TEST(StunDecode, ErrorCodeRoundTrip) {
  std::array<std::uint8_t, 128> buffer{};
  Builder b(buffer, Method::allocate, Class::error, kId);
  b.add_error(438, "Stale Nonce").add_text(attr::nonce, "abc");
  Bytes out = built(b);
  Message m = parse_ok(out);
  auto wire = *m.find(attr::error_code);
  // RFC 8489 §14.8: class 4 in the low 3 bits of the third byte, number 38.
  EXPECT_EQ(wire[2], 4);
  EXPECT_EQ(wire[3], 38);
  auto e = decode_error_code(wire);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->code, 438);
  EXPECT_EQ(e->reason, "Stale Nonce");

  for (int code : {300, 401, 420, 437, 486, 508, 699}) {
    Builder c(buffer, Method::allocate, Class::error, kId);
    c.add_error(code, "");
    Bytes wire_bytes = built(c);
    auto d = decode_error_code(*parse_ok(wire_bytes).find(attr::error_code));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->code, code);
    EXPECT_TRUE(d->reason.empty());
  }
}

TEST(StunDecode, MalformedErrorCodes) {
  // Too short, class 2, class 7, number 100.
  for (const char* hex : {"", "000004", "00000200", "00000700", "00000464"}) {
    auto r = decode_error_code(from_hex(hex));
    ASSERT_FALSE(r.ok()) << hex;
    EXPECT_EQ(r.error(), ParseError::bad_attribute);
  }
  // The reserved bits above the class are ignored.
  EXPECT_EQ(decode_error_code(from_hex("0000fc01"))->code, 401);
}

TEST(StunDecode, BuilderRefusesCodesOutsideTheRange) {
  std::array<std::uint8_t, 128> buffer{};
  for (int code : {0, 299, 700, -401}) {
    Builder b(buffer, Method::allocate, Class::error, kId);
    b.add_error(code, "x");
    EXPECT_FALSE(b.ok()) << code;
    EXPECT_TRUE(b.finish().empty());
  }
}

TEST(StunDecode, ChannelNumber) {
  std::array<std::uint8_t, 64> buffer{};
  Builder b(buffer, Method::channel_bind, Class::request, kId);
  b.add_channel_number(0x4001);
  Bytes wire_bytes = built(b);
  auto wire = *parse_ok(wire_bytes).find(attr::channel_number);
  EXPECT_EQ(Bytes(wire.begin(), wire.end()), from_hex("40010000"));
  EXPECT_EQ(*decode_channel_number(wire), 0x4001);
  EXPECT_EQ(*decode_channel_number(from_hex("40000000")), 0x4000);
  EXPECT_EQ(*decode_channel_number(from_hex("4fff0000")), 0x4FFF);
  // RFC 5766's upper range, still used by its clients.
  EXPECT_EQ(*decode_channel_number(from_hex("7fff0000")), 0x7FFF);
  // 0x0000-0x3FFF and 0x8000-0xFFFF are channels under neither RFC.
  for (const char* hex : {"3fff0000", "80000000", "ffff0000", "", "4001", "400100"}) {
    auto r = decode_channel_number(from_hex(hex));
    ASSERT_FALSE(r.ok()) << hex;
    EXPECT_EQ(r.error(), ParseError::bad_attribute);
  }
}

TEST(StunDecode, RequestedTransport) {
  std::array<std::uint8_t, 64> buffer{};
  Builder b(buffer, Method::allocate, Class::request, kId);
  b.add_requested_transport(17);
  Bytes wire_bytes = built(b);
  auto wire = *parse_ok(wire_bytes).find(attr::requested_transport);
  EXPECT_EQ(Bytes(wire.begin(), wire.end()), from_hex("11000000"));
  EXPECT_EQ(*decode_requested_transport(wire), 17);
  EXPECT_EQ(*decode_requested_transport(from_hex("06000000")), 6);
  for (const char* hex : {"", "11", "110000", "1100000000"}) {
    EXPECT_FALSE(decode_requested_transport(from_hex(hex)).ok()) << hex;
  }
}

TEST(StunDecode, AddressFamilies) {
  std::array<std::uint8_t, 64> buffer{};
  Builder b(buffer, Method::allocate, Class::request, kId);
  b.add_address_family(attr::requested_address_family, TransportAddress::Family::ipv6)
      .add_address_family(attr::additional_address_family, TransportAddress::Family::ipv4);
  Bytes wire_bytes = built(b);
  Message m = parse_ok(wire_bytes);
  EXPECT_EQ(*decode_address_family(*m.find(attr::requested_address_family)), TransportAddress::Family::ipv6);
  EXPECT_EQ(*decode_address_family(*m.find(attr::additional_address_family)), TransportAddress::Family::ipv4);
  for (const char* hex : {"", "01", "010000", "0100000000", "00000000", "03000000"}) {
    auto r = decode_address_family(from_hex(hex));
    ASSERT_FALSE(r.ok()) << hex;
    EXPECT_EQ(r.error(), ParseError::bad_attribute);
  }
}

TEST(StunDecode, EvenPort) {
  std::array<std::uint8_t, 64> buffer{};
  Builder b(buffer, Method::allocate, Class::request, kId);
  b.add_even_port(true);
  Bytes out = built(b);
  // One byte of value, three of padding (RFC 8656 §18.7).
  EXPECT_EQ(Bytes(out.begin() + 20, out.end()), from_hex("0018 0001 80000000"));
  EXPECT_TRUE(*decode_even_port(*parse_ok(out).find(attr::even_port)));
  EXPECT_FALSE(*decode_even_port(from_hex("00")));
  EXPECT_FALSE(*decode_even_port(from_hex("7f")));
  EXPECT_FALSE(decode_even_port(from_hex("")).ok());
  EXPECT_FALSE(decode_even_port(from_hex("8000")).ok());
  EXPECT_FALSE(decode_even_port(from_hex("80000000")).ok());
}

TEST(StunDecode, UnknownAttributesList) {
  std::array<std::uint8_t, 64> buffer{};
  const std::uint16_t types[] = {0x0030, 0x0031, 0x7abc};
  Builder b(buffer, Method::binding, Class::error, kId);
  b.add_error(420, "Unknown Attribute").add_unknown_attributes(types);
  Bytes wire_bytes = built(b);
  Message m = parse_ok(wire_bytes);
  auto wire = *m.find(attr::unknown_attributes);
  EXPECT_EQ(Bytes(wire.begin(), wire.end()), from_hex("0030 0031 7abc"));
  EXPECT_EQ(m.attributes()[1].length, 6u);
  EXPECT_EQ(decode_error_code(*m.find(attr::error_code))->code, 420);
}

TEST(StunDecode, AsText) {
  EXPECT_EQ(as_text(text_bytes("example.org")), "example.org");
  EXPECT_TRUE(as_text({}).empty());
}

// ---------------------------------------------------------------------------
// Builder

TEST(StunBuilder, EveryKindRoundTrips) {
  std::array<std::uint8_t, 1024> buffer{};
  const std::uint16_t unknown[] = {0x0030};
  Bytes data(100);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i);
  Builder b(buffer, Method::allocate, Class::request, kId);
  b.add(attr::data, data)
      .add_text(attr::username, "alice")
      .add_u32(attr::lifetime, 3600)
      .add_xor_address(attr::xor_peer_address, v4(198, 51, 100, 9, 5000))
      .add_address(attr::mapped_address, v4(10, 0, 0, 1, 1))
      .add_error(401, "Unauthorized")
      .add_unknown_attributes(unknown)
      .add_channel_number(0x4abc)
      .add_requested_transport(6)
      .add_address_family(attr::requested_address_family, TransportAddress::Family::ipv4)
      .add_even_port(false)
      .add(attr::dont_fragment, {})
      .add_integrity(key_of("k1"))
      .add_integrity_sha256(key_of("k1"))
      .add_fingerprint();
  Bytes out = built(b);
  EXPECT_EQ(out.size() % 4, 0u);
  Message m = parse_ok(out);
  ASSERT_EQ(m.attributes().size(), 15u);
  EXPECT_EQ(Bytes(m.find(attr::data)->begin(), m.find(attr::data)->end()), data);
  EXPECT_EQ(text(m.find(attr::username)), "alice");
  EXPECT_EQ(*decode_u32(*m.find(attr::lifetime)), 3600u);
  EXPECT_EQ(*decode_xor_address(*m.find(attr::xor_peer_address), kId), v4(198, 51, 100, 9, 5000));
  EXPECT_EQ(*decode_address(*m.find(attr::mapped_address)), v4(10, 0, 0, 1, 1));
  EXPECT_EQ(decode_error_code(*m.find(attr::error_code))->reason, "Unauthorized");
  EXPECT_EQ(m.find(attr::unknown_attributes)->size(), 2u);
  EXPECT_EQ(*decode_channel_number(*m.find(attr::channel_number)), 0x4abc);
  EXPECT_EQ(*decode_requested_transport(*m.find(attr::requested_transport)), 6);
  EXPECT_EQ(*decode_address_family(*m.find(attr::requested_address_family)), TransportAddress::Family::ipv4);
  EXPECT_FALSE(*decode_even_port(*m.find(attr::even_port)));
  EXPECT_TRUE(m.has(attr::dont_fragment));
  EXPECT_EQ(m.integrity_index(), 12u);
  EXPECT_EQ(m.integrity_sha256_index(), 13u);
  EXPECT_EQ(m.fingerprint_index(), 14u);
  EXPECT_EQ(check_integrity(m, key_of("k1")), Check::valid);
  EXPECT_EQ(check_fingerprint(m), Check::valid);
  // Every attribute's padding is written as zeros.
  for (const Attribute& a : m.attributes()) {
    for (std::size_t i = a.offset + a.length; i % 4 != 0; ++i) EXPECT_EQ(out[i], 0) << a.type;
  }
}

TEST(StunBuilder, OverflowIsStickyAndFinishIsEmpty) {
  std::array<std::uint8_t, 10> tiny{};
  Builder none(tiny, Method::binding, Class::request, kId);
  EXPECT_FALSE(none.ok());
  none.add_text(attr::software, "x");
  EXPECT_TRUE(none.finish().empty());

  std::array<std::uint8_t, 32> small{};
  Builder b(small, Method::binding, Class::request, kId);
  b.add_u32(attr::lifetime, 1);  // 28 bytes: fits
  EXPECT_TRUE(b.ok());
  EXPECT_EQ(b.finish().size(), 28u);
  b.add_text(attr::software, "abc");  // would need 36
  EXPECT_FALSE(b.ok());
  EXPECT_TRUE(b.finish().empty());
  b.add_even_port(true).add_integrity(key_of("k")).add_fingerprint();
  EXPECT_FALSE(b.ok());
  EXPECT_TRUE(b.finish().empty());

  // Exactly full is fine.
  std::array<std::uint8_t, 36> exact{};
  Builder c(exact, Method::binding, Class::request, kId);
  c.add_u32(attr::lifetime, 1).add_fingerprint();
  EXPECT_TRUE(c.ok());
  EXPECT_EQ(c.finish().size(), 36u);
  Bytes exact_bytes = built(c);
  EXPECT_EQ(check_fingerprint(parse_ok(exact_bytes)), Check::valid);
}

TEST(StunBuilder, IntegrityThatDoesNotFitLeavesNothing) {
  std::array<std::uint8_t, 40> buffer{};
  Builder b(buffer, Method::binding, Class::request, kId);
  b.add_integrity(key_of("k"));  // needs 44
  EXPECT_FALSE(b.ok());
  EXPECT_TRUE(b.finish().empty());
}

TEST(StunBuilder, ValueLongerThanTheLengthFieldIsRefused) {
  std::vector<std::uint8_t> buffer(70000);
  Bytes big(0x10000);
  Builder b(buffer, Method::send, Class::indication, kId);
  b.add(attr::data, big);
  EXPECT_FALSE(b.ok());

  // The largest DATA that keeps the message within 65535 bytes.
  Builder c(buffer, Method::send, Class::indication, kId);
  c.add(attr::data, std::span(big).first(65535 - 20 - 4 - 3));
  EXPECT_TRUE(c.ok());
  auto m = parse(c.finish());
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->find(attr::data)->size(), 65508u);
}

TEST(StunBuilder, BadFamilyIsRefused) {
  std::array<std::uint8_t, 64> buffer{};
  TransportAddress a = v4(1, 2, 3, 4, 5);
  a.family = static_cast<TransportAddress::Family>(7);
  Builder b(buffer, Method::binding, Class::success, kId);
  b.add_xor_address(attr::xor_mapped_address, a);
  EXPECT_FALSE(b.ok());
}

// ---------------------------------------------------------------------------
// ChannelData (RFC 8656 §12.4, §12.5)

TEST(StunChannelData, ParseAndWrite) {
  Bytes b(4);
  write_channel_data_header(b.data(), 0x4001, 5);
  EXPECT_EQ(b, from_hex("4001 0005"));
  for (char c : std::string_view("hello")) b.push_back(static_cast<std::uint8_t>(c));
  auto cd = parse_channel_data(b);
  ASSERT_TRUE(cd.ok());
  EXPECT_EQ(cd->channel, 0x4001);
  EXPECT_EQ(as_text(cd->payload), "hello");
  EXPECT_TRUE(is_channel_data(b[0]));
  EXPECT_FALSE(looks_like_stun(b));
}

TEST(StunChannelData, PaddingAfterThePayloadIsAllowed) {
  Bytes padded = from_hex("4fff 0005 6865 6c6c 6f00 0000");
  auto cd = parse_channel_data(padded);
  ASSERT_TRUE(cd.ok());
  EXPECT_EQ(cd->channel, 0x4FFF);
  EXPECT_EQ(as_text(cd->payload), "hello");
  Bytes header_only = from_hex("4000 0000");
  auto empty = parse_channel_data(header_only);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->payload.empty());
}

TEST(StunChannelData, Refused) {
  EXPECT_EQ(parse_channel_data(from_hex("4001 00")).error(), ParseError::too_short);
  EXPECT_EQ(parse_channel_data({}).error(), ParseError::too_short);
  // Length longer than the datagram.
  EXPECT_EQ(parse_channel_data(from_hex("4001 0006 6865 6c6c 6f")).error(), ParseError::bad_length);
  // Anything below 0x4000 or above RFC 5766's 0x7FFF.
  for (const char* hex : {"8000 0000", "3fff 0000", "0001 0000", "ffff 0000"}) {
    auto r = parse_channel_data(from_hex(hex));
    ASSERT_FALSE(r.ok()) << hex;
    EXPECT_EQ(r.error(), ParseError::bad_attribute) << hex;
  }
}

TEST(StunChannelData, Rfc5766UpperRangeIsAccepted) {
  for (const char* hex : {"5000 0001 61", "7fff 0001 61"}) {
    Bytes frame = from_hex(hex);
    auto r = parse_channel_data(frame);
    ASSERT_TRUE(r.ok()) << hex;
    EXPECT_EQ(as_text(r->payload), "a");
  }
  EXPECT_EQ(*stream_frame_size(from_hex("7fff 0001 61")), 8u);
}

TEST(StunChannelData, IsChannelData) {
  EXPECT_TRUE(is_channel_data(0x40));
  EXPECT_TRUE(is_channel_data(0x7F));
  EXPECT_FALSE(is_channel_data(0x00));
  EXPECT_FALSE(is_channel_data(0x80));
  EXPECT_FALSE(is_channel_data(0xC0));
}

// ---------------------------------------------------------------------------
// Stream framing

TEST(StunStreamFrame, StunFrameIsHeaderPlusLength) {
  EXPECT_EQ(*stream_frame_size(kSampleRequest), kSampleRequest.size());
  // A frame's size is known from the first 4 bytes.
  EXPECT_EQ(*stream_frame_size(std::span(kSampleRequest).first(4)), kSampleRequest.size());
  // Two frames back to back: the size of the first only.
  Bytes two = kIpv4Response;
  two.insert(two.end(), kSampleRequest.begin(), kSampleRequest.end());
  EXPECT_EQ(*stream_frame_size(two), kIpv4Response.size());
}

TEST(StunStreamFrame, ChannelDataIsPaddedToFour) {
  EXPECT_EQ(*stream_frame_size(from_hex("4001 0005")), 12u);
  EXPECT_EQ(*stream_frame_size(from_hex("4001 0008")), 12u);
  EXPECT_EQ(*stream_frame_size(from_hex("4001 0000")), 4u);
  EXPECT_EQ(*stream_frame_size(from_hex("4fff ffff")), 4u + 0x10000u);
}

TEST(StunStreamFrame, PartialHeaderNeedsMore) {
  EXPECT_EQ(*stream_frame_size({}), 0u);
  EXPECT_EQ(*stream_frame_size(from_hex("00")), 0u);
  EXPECT_EQ(*stream_frame_size(from_hex("4001 00")), 0u);
}

TEST(StunStreamFrame, Garbage) {
  for (const char* hex : {"8000 0000", "c000 0000", "ffff ffff"}) {
    auto r = stream_frame_size(from_hex(hex));
    ASSERT_FALSE(r.ok()) << hex;
    EXPECT_EQ(r.error(), ParseError::not_stun) << hex;
  }
  // A STUN header with a wrong cookie, once the cookie is in.
  auto r = stream_frame_size(from_hex("0001 0000 2112a443"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), ParseError::not_stun);
  auto odd = stream_frame_size(from_hex("0001 0005 2112a442"));
  ASSERT_FALSE(odd.ok());
  EXPECT_EQ(odd.error(), ParseError::bad_length);
}
