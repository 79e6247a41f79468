#include "prov/codec/sip_response.hpp"

#include <gtest/gtest.h>

#include <string>

namespace ucedge::prov {
namespace {

SipResponse parse_ok(std::string_view text) {
  auto r = parse_sip_response(text);
  EXPECT_TRUE(r.ok()) << text << "\n=> " << (r.ok() ? "" : to_string(r.error()));
  return r.ok() ? *r : SipResponse{};
}

SipParseError parse_error(std::string_view text) {
  auto r = parse_sip_response(text);
  EXPECT_FALSE(r.ok()) << text << "\n=> parsed, status " << (r.ok() ? r->status : 0);
  return r.ok() ? SipParseError::too_long : r.error();
}

// As a Cisco 8841 answers a NOTIFY (captured shape, addresses changed).
constexpr std::string_view kPhoneOk =
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5070;rport=5070;branch=z9hG4bK5f1c2a9e04d3;received=192.0.2.10\r\n"
    "From: <sip:provisioning@prov.example.com>;tag=7d0c33ab\r\n"
    "To: <sip:1001@198.51.100.20>;tag=36b9f4a2e1c0a11\r\n"
    "Call-ID: 8c7e1f9a0b2d4e66@192.0.2.10\r\n"
    "CSeq: 1 NOTIFY\r\n"
    "Server: Cisco-CP8841-3PCC/11.3.7\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

TEST(SipResponse, PhoneAnswersOk) {
  auto r = parse_ok(kPhoneOk);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.reason, "OK");
  EXPECT_EQ(r.call_id, "8c7e1f9a0b2d4e66@192.0.2.10");
  EXPECT_EQ(r.cseq_number, 1);
  EXPECT_EQ(r.cseq_method, "NOTIFY");
  EXPECT_EQ(r.via_branch, "z9hG4bK5f1c2a9e04d3");
}

TEST(SipResponse, ReasonPhraseWithSpacesAndProvisional) {
  auto r = parse_ok(
      "SIP/2.0 481 Call/Transaction Does Not Exist\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKa\r\n"
      "Call-ID: x\r\nCSeq: 7 NOTIFY\r\n\r\n");
  EXPECT_EQ(r.status, 481);
  EXPECT_EQ(r.reason, "Call/Transaction Does Not Exist");
  EXPECT_EQ(r.cseq_number, 7);
  r = parse_ok("SIP/2.0 100 Trying\r\nv: SIP/2.0/UDP h;branch=z9hG4bKb\r\ni: y\r\nCSeq: 1 NOTIFY\r\n\r\n");
  EXPECT_EQ(r.status, 100);
  EXPECT_EQ(r.via_branch, "z9hG4bKb");
}

TEST(SipResponse, CompactFormsAndCaseInsensitiveNames) {
  // RFC 3261 §7.3.3: v = Via, i = Call-ID; header names are case-insensitive (§7.3.1).
  auto r = parse_ok(
      "SIP/2.0 200 OK\r\n"
      "v: SIP/2.0/UDP 192.0.2.10:5070;BRANCH=z9hG4bKcompact;rport=5070\r\n"
      "f: <sip:provisioning@prov.example.com>;tag=1\r\n"
      "t: <sip:1001@198.51.100.20>;tag=2\r\n"
      "I: abc@192.0.2.10\r\n"
      "cseq: 1 NOTIFY\r\n"
      "l: 0\r\n"
      "\r\n");
  EXPECT_EQ(r.call_id, "abc@192.0.2.10");
  EXPECT_EQ(r.via_branch, "z9hG4bKcompact");
  EXPECT_EQ(r.cseq_method, "NOTIFY");
  r = parse_ok(
      "sip/2.0 200 OK\r\nVIA: SIP/2.0/TCP h:5060;branch=z9hG4bKup\r\nCALL-ID: c\r\nCSEQ: 2 NOTIFY\r\n\r\n");
  EXPECT_EQ(r.via_branch, "z9hG4bKup");
  EXPECT_EQ(r.cseq_number, 2);
}

TEST(SipResponse, TopViaOnly) {
  // Two via-parms in one header, then a second Via header: the first one is ours.
  auto r = parse_ok(
      "SIP/2.0 200 OK\r\n"
      "Via: SIP/2.0/UDP a.example:5060;branch=z9hG4bKtop;x=\"a,b;c\" , SIP/2.0/UDP "
      "b.example;branch=z9hG4bKsecond\r\n"
      "Via: SIP/2.0/UDP c.example;branch=z9hG4bKthird\r\n"
      "Call-ID: c\r\nCSeq: 1 NOTIFY\r\n\r\n");
  EXPECT_EQ(r.via_branch, "z9hG4bKtop");
  r = parse_ok(
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a.example;received=1.2.3.4\r\n"
      "Via: SIP/2.0/UDP b.example;branch=z9hG4bKnot-top\r\nCall-ID: c\r\nCSeq: 1 NOTIFY\r\n\r\n");
  EXPECT_EQ(r.via_branch, "");  // an RFC 2543 top Via without a branch
}

TEST(SipResponse, FoldedHeadersAndBareLineFeeds) {
  auto r = parse_ok(
      "SIP/2.0 200 OK\n"
      "Via: SIP/2.0/UDP 192.0.2.10:5070\n"
      "  ;branch=z9hG4bKfolded\n"
      "Call-ID:\n\tfolded@host\n"
      "CSeq: 3\n NOTIFY\n"
      "\n");
  EXPECT_EQ(r.via_branch, "z9hG4bKfolded");
  EXPECT_EQ(r.call_id, "folded@host");
  EXPECT_EQ(r.cseq_number, 3);
  EXPECT_EQ(r.cseq_method, "NOTIFY");
}

TEST(SipResponse, WhitespaceAroundColonAndEmptyReason) {
  auto r = parse_ok(
      "SIP/2.0 200\r\nVia   :  SIP/2.0/UDP h ; branch = z9hG4bKsp \r\nCall-ID : c\r\nCSeq:1 NOTIFY\r\n\r\n");
  EXPECT_EQ(r.reason, "");
  EXPECT_EQ(r.via_branch, "z9hG4bKsp");
  EXPECT_EQ(r.call_id, "c");
}

TEST(SipResponse, BodyAfterBlankLineIsIgnored) {
  auto r = parse_ok(
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKbody\r\nCall-ID: c\r\nCSeq: 1 NOTIFY\r\n"
      "Content-Length: 12\r\n\r\nVia: garbage");
  EXPECT_EQ(r.via_branch, "z9hG4bKbody");
}

TEST(SipResponse, EndOfDatagramWithoutBlankLine) {
  auto r =
      parse_ok("SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nCall-ID: c\r\nCSeq: 1 NOTIFY");
  EXPECT_EQ(r.status, 486);
  EXPECT_EQ(r.cseq_method, "NOTIFY");
}

TEST(SipResponse, RequestsAreNotResponses) {
  EXPECT_EQ(
      parse_error("NOTIFY sip:1001@198.51.100.20 SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n\r\n"),
      SipParseError::not_a_response);
  EXPECT_EQ(parse_error(""), SipParseError::not_a_response);
  EXPECT_EQ(parse_error("\r\n\r\n"), SipParseError::not_a_response);
  EXPECT_EQ(parse_error("HTTP/1.1 200 OK\r\n\r\n"), SipParseError::not_a_response);
}

TEST(SipResponse, BadStatusLines) {
  const char* headers = "\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nCall-ID: c\r\nCSeq: 1 NOTIFY\r\n\r\n";
  for (std::string line : {"SIP/3.0 200 OK", "SIP/2.0 99 Low", "SIP/2.0 700 High", "SIP/2.0 2000 OK",
                           "SIP/2.0  200 OK", "SIP/2.0 20x OK", "SIP/2.0200 OK", "SIP/2.0 200OK", "SIP/"}) {
    EXPECT_EQ(parse_error(line + headers), SipParseError::bad_status_line) << line;
  }
}

TEST(SipResponse, BadHeaders) {
  const std::string status = "SIP/2.0 200 OK\r\n";
  const std::string via = "Via: SIP/2.0/UDP h;branch=z9hG4bKx\r\n";
  const std::string rest = "Call-ID: c\r\nCSeq: 1 NOTIFY\r\n";
  EXPECT_EQ(parse_error(status + via + "No colon here\r\n" + rest), SipParseError::bad_header);
  EXPECT_EQ(parse_error(status + "  folded onto nothing\r\n" + via + rest), SipParseError::bad_header);
  EXPECT_EQ(parse_error(status + "Bad Name: x\r\n" + via + rest), SipParseError::bad_header);
  EXPECT_EQ(parse_error(status + via + "Call-ID: c\r\nCSeq: NOTIFY\r\n"), SipParseError::bad_header);
  EXPECT_EQ(parse_error(status + via + "Call-ID: c\r\nCSeq: 1\r\n"), SipParseError::bad_header);
  EXPECT_EQ(parse_error(status + via + "Call-ID: c\r\nCSeq: 2147483648 NOTIFY\r\n"),
            SipParseError::bad_header);
  EXPECT_EQ(parse_error(status + via + "Call-ID: c\r\nCSeq: 1 NOT IFY\r\n"), SipParseError::bad_header);
  EXPECT_EQ(parse_error(status + via + "Call-ID: \r\nCSeq: 1 NOTIFY\r\n"), SipParseError::bad_header);
  EXPECT_EQ(parse_error(status + via + "Call-ID: two words\r\nCSeq: 1 NOTIFY\r\n"),
            SipParseError::bad_header);
  EXPECT_EQ(parse_error(status + "Via: SIP/2.0/UDP h;branch=\r\n" + rest), SipParseError::bad_header);
  EXPECT_EQ(parse_error(status + "Via: h\r\n" + rest), SipParseError::bad_header);
  EXPECT_EQ(parse_error(status + "Via: SIP/2.0/UDP\r\n" + rest), SipParseError::bad_header);
  // The largest CSeq number still allowed (RFC 3261 §8.1.1.5).
  EXPECT_EQ(parse_ok(status + via + "Call-ID: c\r\nCSeq: 2147483647 NOTIFY\r\n").cseq_number, 2147483647L);
}

TEST(SipResponse, MissingHeaders) {
  EXPECT_EQ(parse_error("SIP/2.0 200 OK\r\nCall-ID: c\r\nCSeq: 1 NOTIFY\r\n\r\n"),
            SipParseError::missing_header);
  EXPECT_EQ(parse_error("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nCSeq: 1 NOTIFY\r\n\r\n"),
            SipParseError::missing_header);
  EXPECT_EQ(parse_error("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nCall-ID: c\r\n\r\n"),
            SipParseError::missing_header);
  // Headers after the blank line belong to the body.
  EXPECT_EQ(
      parse_error(
          "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n\r\nCall-ID: c\r\nCSeq: 1 NOTIFY\r\n"),
      SipParseError::missing_header);
}

TEST(SipResponse, TooLong) {
  std::string big =
      std::string(kPhoneOk.substr(0, kPhoneOk.size() - 2)) + "X-Pad: " + std::string(70000, 'a') + "\r\n\r\n";
  EXPECT_EQ(parse_error(big), SipParseError::too_long);
  EXPECT_EQ(parse_error(std::string(64 * 1024 + 1, 'S')), SipParseError::too_long);
}

TEST(SipResponse, ErrorsHaveText) {
  for (auto e : {SipParseError::not_a_response, SipParseError::bad_status_line, SipParseError::bad_header,
                 SipParseError::missing_header, SipParseError::too_long}) {
    EXPECT_FALSE(to_string(e).empty());
  }
}

TEST(SipStreamFraming, WaitsForHeadersAndBody) {
  const std::string head =
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP h;branch=z9hG4bKx\r\nCall-ID: c\r\nCSeq: 1 NOTIFY\r\n";
  const std::string no_body = head + "Content-Length: 0\r\n\r\n";
  for (std::size_t cut = 0; cut < no_body.size(); ++cut) {
    auto n = sip_stream_message_length(std::string_view(no_body).substr(0, cut));
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 0u) << cut;
  }
  auto n = sip_stream_message_length(no_body + "SIP/2.0 100 Trying\r\n");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, no_body.size());

  const std::string with_body = head + "l: 5\r\n\r\nhello";
  n = sip_stream_message_length(std::string_view(with_body).substr(0, with_body.size() - 1));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  n = sip_stream_message_length(with_body + "next");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, with_body.size());

  // No Content-Length: no body. Bare LFs are tolerated.
  n = sip_stream_message_length("SIP/2.0 200 OK\nCall-ID: c\n\nrest");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 27u);
}

TEST(SipStreamFraming, Errors) {
  const std::string head = "SIP/2.0 200 OK\r\nCall-ID: c\r\n";
  auto n = sip_stream_message_length(head + "Content-Length: x\r\n\r\n");
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error(), SipParseError::bad_header);
  n = sip_stream_message_length(head + "Content-Length: 1\r\nl: 2\r\n\r\n");
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error(), SipParseError::bad_header);
  n = sip_stream_message_length(head + "Content-Length: 99999999999999999999999\r\n\r\n");
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error(), SipParseError::too_long);
  n = sip_stream_message_length(head + "Content-Length: 65536\r\n\r\n");
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error(), SipParseError::too_long);
  n = sip_stream_message_length(std::string(64 * 1024, 'a'));
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error(), SipParseError::too_long);
}

}  // namespace
}  // namespace ucedge::prov
