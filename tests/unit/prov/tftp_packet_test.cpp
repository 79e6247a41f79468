// TFTP packets as RFC 1350, RFC 2347, RFC 2348 and RFC 2349 lay them out,
// byte for byte, and every way a datagram can be refused.
#include "prov/codec/tftp_packet.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace ucedge::prov::tftp;
using namespace std::string_literals;

namespace {

std::vector<std::uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

ucedge::core::Result<Packet, ParseError> parse_text(const std::string& s) {
  auto b = bytes(s);
  return parse(b);
}

template <class T>
T expect(const std::string& wire) {
  auto p = parse_text(wire);
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : std::string(to_string(p.error())));
  if (!p.ok() || !std::holds_alternative<T>(*p)) {
    ADD_FAILURE() << "wrong packet type";
    return T{};
  }
  return std::get<T>(*p);
}

ParseError expect_error(const std::string& wire) {
  auto p = parse_text(wire);
  EXPECT_FALSE(p.ok());
  return p.ok() ? ParseError::too_short : p.error();
}

}  // namespace

TEST(TftpPacket, ReadRequestAsInRfc1350) {
  // RFC 1350 §5, figure 5-1: | 01 | Filename | 0 | Mode | 0 |
  auto r = expect<Request>("\0\1SPA504G.cfg\0octet\0"s);
  EXPECT_FALSE(r.write);
  EXPECT_EQ(r.file_name, "SPA504G.cfg");
  EXPECT_EQ(r.mode, "octet");
  EXPECT_TRUE(r.options.empty());
}

TEST(TftpPacket, WriteRequest) {
  auto r = expect<Request>("\0\2reports/001122334455.xml\0octet\0"s);
  EXPECT_TRUE(r.write);
  EXPECT_EQ(r.file_name, "reports/001122334455.xml");
}

TEST(TftpPacket, ModeIsCaseInsensitiveAndLowerCased) {
  EXPECT_EQ(expect<Request>("\0\1f\0OcTeT\0"s).mode, "octet");
  EXPECT_EQ(expect<Request>("\0\1f\0NETASCII\0"s).mode, "netascii");
  EXPECT_EQ(expect<Request>("\0\1f\0Mail\0"s).mode, "mail");
}

TEST(TftpPacket, FileNameKeptAsSent) {
  EXPECT_EQ(expect<Request>("\0\1Dir/CP-7841-3PCC.CFG\0octet\0"s).file_name, "Dir/CP-7841-3PCC.CFG");
}

TEST(TftpPacket, OptionsAsInRfc2347) {
  // RFC 2347 §2 example: blksize and tsize on a read request; names are
  // case-insensitive, values kept as sent.
  auto r = expect<Request>("\0\1foobar\0octet\0BlkSize\0001428\0tsize\0000\0timeout\0" "5\0"s);
  ASSERT_EQ(r.options.size(), 3u);
  EXPECT_EQ(r.options[0].name, "blksize");
  EXPECT_EQ(r.options[0].value, "1428");
  EXPECT_EQ(r.options[1].name, "tsize");
  EXPECT_EQ(r.options[1].value, "0");
  EXPECT_EQ(r.options[2].name, "timeout");
  EXPECT_EQ(r.options[2].value, "5");
}

TEST(TftpPacket, UnknownOptionsAreParsedForTheServerToIgnore) {
  auto r = expect<Request>("\0\1f\0octet\0windowsize\0" "4\0x-Vendor\0ABC\0"s);
  ASSERT_EQ(r.options.size(), 2u);
  EXPECT_EQ(r.options[1].name, "x-vendor");
  EXPECT_EQ(r.options[1].value, "ABC");
}

TEST(TftpPacket, EmptyOptionValueIsKept) {
  auto r = expect<Request>("\0\1f\0octet\0tsize\0\0"s);
  ASSERT_EQ(r.options.size(), 1u);
  EXPECT_EQ(r.options[0].value, "");
}

TEST(TftpPacket, Data) {
  // The payload points into the datagram, which must outlive it.
  auto wire = bytes("\0\3\0\1hello"s);
  auto p = parse(wire);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(std::get<Data>(*p).block, 1);
  EXPECT_EQ(std::get<Data>(*p).payload, "hello");
  EXPECT_EQ(std::get<Data>(*p).payload.data(), reinterpret_cast<const char*>(wire.data() + 4));
  auto last = bytes("\0\3\xff\xff"s);
  auto q = parse(last);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(std::get<Data>(*q).block, 65535);
  EXPECT_TRUE(std::get<Data>(*q).payload.empty());
}

TEST(TftpPacket, DataPayloadKeepsZeroBytes) {
  auto wire = bytes("\0\3\1\0a\0b\0"s);
  auto p = parse(wire);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(std::get<Data>(*p).block, 256);
  EXPECT_EQ(std::get<Data>(*p).payload, "a\0b\0"s);
}

TEST(TftpPacket, Ack) {
  EXPECT_EQ(expect<Ack>("\0\4\0\0"s).block, 0);
  EXPECT_EQ(expect<Ack>("\0\4\x12\x34"s).block, 0x1234);
  // Padding after the block number is tolerated.
  EXPECT_EQ(expect<Ack>("\0\4\0\7\0\0\0\0"s).block, 7);
}

TEST(TftpPacket, Error) {
  auto e = expect<Error>("\0\5\0\1File not found\0"s);
  EXPECT_EQ(e.code, ErrorCode::file_not_found);
  EXPECT_EQ(e.message, "File not found");
  EXPECT_EQ(expect<Error>("\0\5\0\x08\0"s).code, ErrorCode::option_refused);
  EXPECT_EQ(expect<Error>("\0\5\0\x08\0"s).message, "");
}

TEST(TftpPacket, OptionAck) {
  auto o = expect<OptionAck>("\0\6blksize\0" "1024\0TSIZE\0" "2048\0"s);
  ASSERT_EQ(o.options.size(), 2u);
  EXPECT_EQ(o.options[0].name, "blksize");
  EXPECT_EQ(o.options[0].value, "1024");
  EXPECT_EQ(o.options[1].name, "tsize");
  EXPECT_EQ(o.options[1].value, "2048");
  EXPECT_TRUE(expect<OptionAck>("\0\6"s).options.empty());
}

TEST(TftpPacket, TooShort) {
  EXPECT_EQ(expect_error(""), ParseError::too_short);
  EXPECT_EQ(expect_error("\0"s), ParseError::too_short);
  EXPECT_EQ(expect_error("\0\3\0"s), ParseError::too_short);
  EXPECT_EQ(expect_error("\0\4\0"s), ParseError::too_short);
  EXPECT_EQ(expect_error("\0\4"s), ParseError::too_short);
  EXPECT_EQ(expect_error("\0\5\0"s), ParseError::too_short);
}

TEST(TftpPacket, UnknownOpcode) {
  EXPECT_EQ(expect_error("\0\0f\0octet\0"s), ParseError::unknown_opcode);
  EXPECT_EQ(expect_error("\0\7\0\0"s), ParseError::unknown_opcode);
  EXPECT_EQ(expect_error("\1\1f\0octet\0"s), ParseError::unknown_opcode);
  EXPECT_EQ(expect_error("GET / HTTP/1.1\r\n"s), ParseError::unknown_opcode);
}

TEST(TftpPacket, MissingTerminators) {
  EXPECT_EQ(expect_error("\0\1"s), ParseError::missing_terminator);
  EXPECT_EQ(expect_error("\0\1file"s), ParseError::missing_terminator);
  EXPECT_EQ(expect_error("\0\1file\0octet"s), ParseError::missing_terminator);
  EXPECT_EQ(expect_error("\0\1file\0octet\0blksize"s), ParseError::missing_terminator);
  EXPECT_EQ(expect_error("\0\1file\0octet\0blksize\0" "512"s), ParseError::missing_terminator);
  EXPECT_EQ(expect_error("\0\5\0\1File not found"s), ParseError::missing_terminator);
  EXPECT_EQ(expect_error("\0\6blksize"s), ParseError::missing_terminator);
  EXPECT_EQ(expect_error("\0\6blksize\0" "512"s), ParseError::missing_terminator);
}

TEST(TftpPacket, EmptyFileName) {
  EXPECT_EQ(expect_error("\0\1\0octet\0"s), ParseError::empty_file_name);
  EXPECT_EQ(expect_error("\0\2\0octet\0"s), ParseError::empty_file_name);
}

TEST(TftpPacket, BadMode) {
  EXPECT_EQ(expect_error("\0\1f\0binary\0"s), ParseError::bad_mode);
  EXPECT_EQ(expect_error("\0\1f\0\0"s), ParseError::bad_mode);
  EXPECT_EQ(expect_error("\0\1f\0octets\0"s), ParseError::bad_mode);
}

TEST(TftpPacket, BadOptions) {
  // A name without a value.
  EXPECT_EQ(expect_error("\0\1f\0octet\0blksize\0"s), ParseError::bad_option);
  EXPECT_EQ(expect_error("\0\6tsize\0"s), ParseError::bad_option);
  // An empty name.
  EXPECT_EQ(expect_error("\0\1f\0octet\0\0" "512\0"s), ParseError::bad_option);
  // Trailing zero padding reads as an empty option.
  EXPECT_EQ(expect_error("\0\1f\0octet\0\0\0"s), ParseError::bad_option);
  // The same option twice, whatever its case.
  EXPECT_EQ(expect_error("\0\1f\0octet\0blksize\0" "512\0BLKSIZE\0" "1024\0"s), ParseError::bad_option);
  EXPECT_EQ(expect_error("\0\6tsize\0" "1\0tsize\0" "1\0"s), ParseError::bad_option);
}

TEST(TftpPacket, EveryParseErrorHasAText) {
  for (auto e : {ParseError::too_short, ParseError::unknown_opcode, ParseError::missing_terminator,
                 ParseError::empty_file_name, ParseError::bad_mode, ParseError::bad_option}) {
    EXPECT_FALSE(to_string(e).empty());
  }
}

TEST(TftpPacket, WritesRequest) {
  std::vector<std::uint8_t> out{9, 9, 9};  // cleared first
  write_request(out, Request{false, "SPA504G.cfg", "octet", {{"blksize", "1428"}, {"tsize", "0"}}});
  EXPECT_EQ(std::string(out.begin(), out.end()), "\0\1SPA504G.cfg\0octet\0blksize\0" "1428\0tsize\0" "0\0"s);
  write_request(out, Request{true, "up.xml", "netascii", {}});
  EXPECT_EQ(std::string(out.begin(), out.end()), "\0\2up.xml\0netascii\0"s);
}

TEST(TftpPacket, WritesData) {
  std::vector<std::uint8_t> out;
  write_data(out, 0x0102, "abc");
  EXPECT_EQ(std::string(out.begin(), out.end()), "\0\3\1\2abc"s);
  write_data(out, 7, "");
  EXPECT_EQ(std::string(out.begin(), out.end()), "\0\3\0\7"s);
}

TEST(TftpPacket, WritesAck) {
  std::vector<std::uint8_t> out;
  write_ack(out, 65535);
  EXPECT_EQ(std::string(out.begin(), out.end()), "\0\4\xff\xff"s);
}

TEST(TftpPacket, WritesError) {
  std::vector<std::uint8_t> out;
  write_error(out, ErrorCode::access_violation, "Access violation");
  EXPECT_EQ(std::string(out.begin(), out.end()), "\0\5\0\2Access violation\0"s);
  // An embedded zero would cut the message: it ends there.
  write_error(out, ErrorCode::not_defined, "busy\0junk"s);
  EXPECT_EQ(std::string(out.begin(), out.end()), "\0\5\0\0busy\0"s);
}

TEST(TftpPacket, WritesOptionAck) {
  std::vector<std::uint8_t> out;
  write_oack(out, {{"blksize", "1024"}, {"tsize", "2000"}});
  EXPECT_EQ(std::string(out.begin(), out.end()), "\0\6blksize\0" "1024\0tsize\0" "2000\0"s);
}

TEST(TftpPacket, RoundTrips) {
  std::vector<std::uint8_t> out;
  Request r{true, "a/b.cfg", "netascii", {{"timeout", "3"}, {"tsize", "12345"}}};
  write_request(out, r);
  auto back = parse(out);
  ASSERT_TRUE(back.ok());
  auto& r2 = std::get<Request>(*back);
  EXPECT_EQ(r2.write, r.write);
  EXPECT_EQ(r2.file_name, r.file_name);
  EXPECT_EQ(r2.mode, r.mode);
  ASSERT_EQ(r2.options.size(), 2u);
  EXPECT_EQ(r2.options[1].value, "12345");

  write_error(out, ErrorCode::option_refused, "no");
  auto e = parse(out);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(std::get<Error>(*e).code, ErrorCode::option_refused);
  EXPECT_EQ(std::get<Error>(*e).message, "no");
}
