// Device syslog: the envelopes (RFC 3164, RFC 5424, bare text), checked on
// the exact bytes util-linux `logger` sends, and the resync messages of
// seed 004 inside them.
#include "prov/codec/syslog_message.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <random>
#include <string>

using namespace ucedge;
using prov::ResyncEvent;
using prov::SyslogMessage;

namespace {

const std::string kRequest = "CP-78xx-3PCC 00:0e:08:ab:cd:ef -- Requesting resync tftp://192.168.1.200/basic.txt";
const std::string kSuccess = "CP-88xx-3PCC 00:0e:08:ab:cd:ef -- Successful resync tftp://192.168.1.200/basic.txt";
const std::string kFailure = "CP-7841-3PCC 00:0e:08:ab:cd:ef Resync failed: file not found";

std::string short_hostname() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  std::string h = name;
  return h.substr(0, h.find('.'));
}

// What `logger` puts on the wire: a UDP socket on an ephemeral port, the real
// tool pointed at it, the one datagram it sends.
class LoggerCapture {
 public:
  LoggerCapture() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~LoggerCapture() { ::close(fd_); }

  // `options` and `message` go to the shell; message is single-quoted.
  std::string send(const std::string& options, const std::string& message) {
    std::string command = "logger " + options + " -d -n 127.0.0.1 -P " + std::to_string(port_) + " -- '" +
                          message + "'";
    if (std::system(command.c_str()) != 0) return "logger failed: " + command;
    std::string buf(70000, '\0');
    ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    if (n < 0) return "nothing received from: " + command;
    buf.resize(static_cast<std::size_t>(n));
    return buf;
  }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

SyslogMessage parsed(std::string_view datagram) {
  auto m = prov::parse_syslog(datagram);
  EXPECT_TRUE(m.ok()) << datagram;
  return m.ok() ? *m : SyslogMessage{};
}

void expect_request(const std::optional<ResyncEvent>& e, const std::string& product) {
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->kind, ResyncEvent::Kind::request);
  EXPECT_EQ(e->product, product);
  EXPECT_EQ(e->mac, "000e08abcdef");
  EXPECT_EQ(e->url, "tftp://192.168.1.200/basic.txt");
  EXPECT_EQ(e->error, "");
}

// --- envelopes from the real logger ---------------------------------------

TEST(SyslogFromLogger, Rfc3164) {
  LoggerCapture capture;
  std::string wire = capture.send("--rfc3164 -t phone -p local0.info", kRequest);
  SCOPED_TRACE(wire);
  ASSERT_EQ(wire.rfind("<134>", 0), 0u);
  SyslogMessage m = parsed(wire);
  EXPECT_EQ(m.format, SyslogMessage::Format::rfc3164);
  EXPECT_EQ(m.facility, 16);  // local0
  EXPECT_EQ(m.severity, 6);   // info
  EXPECT_EQ(m.timestamp.size(), 15u) << m.timestamp;
  EXPECT_EQ(m.hostname, short_hostname());
  EXPECT_EQ(m.app_name, "phone");
  EXPECT_EQ(m.text, kRequest);
  expect_request(prov::recognize_resync(m.text), "CP-78xx-3PCC");
}

TEST(SyslogFromLogger, Rfc3164WithPidAndUtf8) {
  LoggerCapture capture;
  std::string wire = capture.send("--rfc3164 -t phone --id=4242 -p user.err",
                                  "CP-7841-3PCC 000E08ABCDEF Resync failed: profil non trouvé");
  SCOPED_TRACE(wire);
  SyslogMessage m = parsed(wire);
  EXPECT_EQ(m.facility, 1);
  EXPECT_EQ(m.severity, 3);
  EXPECT_EQ(m.app_name, "phone");
  EXPECT_EQ(m.text, "CP-7841-3PCC 000E08ABCDEF Resync failed: profil non trouvé");
  auto e = prov::recognize_resync(m.text);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, ResyncEvent::Kind::failure);
  EXPECT_EQ(e->mac, "000e08abcdef");
  EXPECT_EQ(e->product, "CP-7841-3PCC");
  EXPECT_EQ(e->error, "profil non trouvé");
}

TEST(SyslogFromLogger, Rfc5424WithStructuredData) {
  LoggerCapture capture;
  std::string wire = capture.send("--rfc5424 -t phone -p local0.notice --msgid RESYNC", kSuccess);
  SCOPED_TRACE(wire);
  ASSERT_EQ(wire.rfind("<133>1 ", 0), 0u);
  ASSERT_NE(wire.find("[timeQuality "), std::string::npos);
  SyslogMessage m = parsed(wire);
  EXPECT_EQ(m.format, SyslogMessage::Format::rfc5424);
  EXPECT_EQ(m.facility, 16);
  EXPECT_EQ(m.severity, 5);
  EXPECT_NE(m.timestamp.find('T'), std::string::npos) << m.timestamp;
  EXPECT_EQ(m.hostname.substr(0, m.hostname.find('.')), short_hostname());
  EXPECT_EQ(m.app_name, "phone");
  EXPECT_EQ(m.text, kSuccess);
  auto e = prov::recognize_resync(m.text);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, ResyncEvent::Kind::success);
  EXPECT_EQ(e->product, "CP-88xx-3PCC");
  EXPECT_EQ(e->url, "tftp://192.168.1.200/basic.txt");
}

TEST(SyslogFromLogger, Rfc5424EscapedBracketAndNoHost) {
  LoggerCapture capture;
  std::string wire = capture.send(
      "--rfc5424=nohost -t phone --sd-id resync@32473 --sd-param 'note=\"a\\]b\"'", kFailure);
  SCOPED_TRACE(wire);
  ASSERT_NE(wire.find("note=\"a\\]b\"]"), std::string::npos);
  SyslogMessage m = parsed(wire);
  EXPECT_EQ(m.format, SyslogMessage::Format::rfc5424);
  EXPECT_EQ(m.hostname, "");
  EXPECT_EQ(m.text, kFailure);
}

TEST(SyslogFromLogger, Rfc5424WithoutStructuredData) {
  LoggerCapture capture;
  std::string wire = capture.send("--rfc5424=notq -t phone", kRequest);
  SCOPED_TRACE(wire);
  ASSERT_NE(wire.find(" - - - CP-78xx"), std::string::npos);
  SyslogMessage m = parsed(wire);
  EXPECT_EQ(m.format, SyslogMessage::Format::rfc5424);
  EXPECT_EQ(m.text, kRequest);
}

// --- hand-written envelopes -------------------------------------------------

TEST(SyslogParse, Rfc3164Examples) {
  SyslogMessage m = parsed("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8");
  EXPECT_EQ(m.format, SyslogMessage::Format::rfc3164);
  EXPECT_EQ(m.facility, 4);
  EXPECT_EQ(m.severity, 2);
  EXPECT_EQ(m.timestamp, "Oct 11 22:14:15");
  EXPECT_EQ(m.hostname, "mymachine");
  EXPECT_EQ(m.app_name, "su");
  EXPECT_EQ(m.text, "'su root' failed for lonvick on /dev/pts/8");

  m = parsed("<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!");
  EXPECT_EQ(m.timestamp, "Feb  5 17:32:18");
  EXPECT_EQ(m.hostname, "10.0.0.99");
  EXPECT_EQ(m.app_name, "");
  EXPECT_EQ(m.text, "Use the BFG!");
}

TEST(SyslogParse, Rfc5424Examples) {
  // RFC 5424 §6.5, examples 1 and 3 (the BOM of example 1 is stripped).
  SyslogMessage m = parsed(
      "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \xEF\xBB\xBF'su root' failed for lonvick "
      "on /dev/pts/8");
  EXPECT_EQ(m.format, SyslogMessage::Format::rfc5424);
  EXPECT_EQ(m.facility, 4);
  EXPECT_EQ(m.severity, 2);
  EXPECT_EQ(m.timestamp, "2003-10-11T22:14:15.003Z");
  EXPECT_EQ(m.hostname, "mymachine.example.com");
  EXPECT_EQ(m.app_name, "su");
  EXPECT_EQ(m.text, "'su root' failed for lonvick on /dev/pts/8");

  m = parsed(
      "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" "
      "eventSource=\"Application\" eventID=\"1011\"][examplePriority@32473 class=\"high\"] "
      "\xEF\xBB\xBF" "An application event log entry...");
  EXPECT_EQ(m.facility, 20);
  EXPECT_EQ(m.severity, 5);
  EXPECT_EQ(m.app_name, "evntslog");
  EXPECT_EQ(m.text, "An application event log entry...");

  // Example 4: structured data and no MSG at all.
  m = parsed("<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\"]");
  EXPECT_EQ(m.format, SyslogMessage::Format::rfc5424);
  EXPECT_EQ(m.text, "");

  // Escapes inside a PARAM-VALUE (§6.3.3), and a ']' a sloppy sender did not escape.
  m = parsed("<14>1 - - app - - [x@1 a=\"q\\\"]\\\\\" b=\"]\"] " + kRequest);
  EXPECT_EQ(m.format, SyslogMessage::Format::rfc5424);
  EXPECT_EQ(m.timestamp, "");
  EXPECT_EQ(m.hostname, "");
  EXPECT_EQ(m.text, kRequest);
}

TEST(SyslogParse, SeedMessagesInBothEnvelopes) {
  for (const std::string& text : {kRequest, kSuccess, kFailure}) {
    for (const std::string& wire :
         {"<134>Jan  2 03:04:05 phone-17 ucedge: " + text, "<134>Jan  2 03:04:05 192.168.1.100 " + text,
          "<134>1 2024-01-02T03:04:05.123+01:00 192.168.1.100 - - - - " + text,
          "<134>1 2024-01-02T03:04:05Z phone-17 app 77 RESYNC [origin ip=\"192.168.1.100\"] " + text}) {
      SCOPED_TRACE(wire);
      SyslogMessage m = parsed(wire);
      EXPECT_EQ(m.text, text);
      EXPECT_NE(m.hostname, "");
      EXPECT_TRUE(prov::recognize_resync(m.text).has_value());
    }
  }
}

TEST(SyslogParse, PhonesThatSkipTheHeader) {
  // <PRI> and then the text at once.
  SyslogMessage m = parsed("<134>" + kRequest);
  EXPECT_EQ(m.format, SyslogMessage::Format::bare);
  EXPECT_EQ(m.facility, 16);
  EXPECT_EQ(m.severity, 6);
  EXPECT_EQ(m.hostname, "");
  EXPECT_EQ(m.text, kRequest);

  // A timestamp, then the text without a host.
  m = parsed("<134>Jan  2 03:04:05 " + kRequest);
  EXPECT_EQ(m.format, SyslogMessage::Format::rfc3164);
  EXPECT_EQ(m.timestamp, "Jan  2 03:04:05");
  EXPECT_EQ(m.hostname, "");
  EXPECT_EQ(m.text, kRequest);
  expect_request(prov::recognize_resync(m.text), "CP-78xx-3PCC");

  // A timestamp, then a tag.
  m = parsed("<134>Jan 2 03:04:05 RSE_DEBUG: " + kFailure);
  EXPECT_EQ(m.hostname, "");
  EXPECT_EQ(m.app_name, "RSE_DEBUG");
  EXPECT_EQ(m.text, kFailure);

  // The Syslog_Identifier ($MA) after the timestamp stands where the host would.
  m = parsed("<134>Jan 12 03:04:05 000e08abcdef " + kRequest);
  EXPECT_EQ(m.hostname, "000e08abcdef");
  EXPECT_EQ(m.text, kRequest);

  // No PRI at all.
  m = parsed(kFailure);
  EXPECT_EQ(m.format, SyslogMessage::Format::bare);
  EXPECT_EQ(m.facility, -1);
  EXPECT_EQ(m.severity, -1);
  EXPECT_EQ(m.text, kFailure);

  m = parsed("Jan 12 03:04:05 phone-17 prov: hello");
  EXPECT_EQ(m.format, SyslogMessage::Format::rfc3164);
  EXPECT_EQ(m.facility, -1);
  EXPECT_EQ(m.hostname, "phone-17");
  EXPECT_EQ(m.app_name, "prov");
  EXPECT_EQ(m.text, "hello");
}

TEST(SyslogParse, LineEndingsAreNotText) {
  EXPECT_EQ(parsed("<13>" + kFailure + "\r\n").text, kFailure);
  EXPECT_EQ(parsed("<13>" + kFailure + std::string(1, '\0')).text, kFailure);
  EXPECT_EQ(parsed("<13>1 - - - - - - " + kFailure + "\n").text, kFailure);
}

TEST(SyslogParse, PriorityRange) {
  EXPECT_EQ(parsed("<0>x").facility, 0);
  SyslogMessage top = parsed("<191>x");
  EXPECT_EQ(top.facility, 23);
  EXPECT_EQ(top.severity, 7);
  for (std::string bad : {"<192>x", "<>x", "<abc>x", "<1234>x", "<13", "<-1>x", "<1 3>x", "<"}) {
    auto m = prov::parse_syslog(bad);
    ASSERT_FALSE(m.ok()) << bad;
    EXPECT_EQ(m.error(), prov::SyslogError::bad_priority) << bad;
  }
}

TEST(SyslogParse, EmptyAndOversized) {
  auto empty = prov::parse_syslog("");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error(), prov::SyslogError::empty);

  std::string big = "<13>" + std::string(64 * 1024 - 4, 'a');
  EXPECT_TRUE(prov::parse_syslog(big).ok());
  auto too_long = prov::parse_syslog(big + "a");
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error(), prov::SyslogError::too_long);
  EXPECT_EQ(prov::to_string(prov::SyslogError::too_long), "datagram longer than 64 KiB");
}

TEST(SyslogParse, MalformedRfc5424FallsBackToText) {
  // Version but an unterminated SD element: not RFC 5424, still a message.
  SyslogMessage m = parsed("<13>1 2024-01-02T03:04:05Z host app - - [x@1 a=\"b\" text");
  EXPECT_NE(m.format, SyslogMessage::Format::rfc5424);
  EXPECT_EQ(m.text, "1 2024-01-02T03:04:05Z host app - - [x@1 a=\"b\" text");
  m = parsed("<13>1 apple a day");
  EXPECT_EQ(m.format, SyslogMessage::Format::bare);
  EXPECT_EQ(m.text, "1 apple a day");
}

TEST(SyslogParse, NeverThrowsOnNoise) {
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int> byte(0, 255), length(0, 300);
  const std::string alphabet = "<>[]\"\\ :-1234567890abcJanT.";
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    int n = length(rng);
    for (int j = 0; j < n; ++j) {
      s += (i % 2) ? static_cast<char>(byte(rng)) : alphabet[static_cast<std::size_t>(byte(rng)) % alphabet.size()];
    }
    if (i % 3 == 0) s = "<13>" + s;
    auto m = prov::parse_syslog(s);
    if (m.ok()) (void)prov::recognize_resync(m->text);
  }
}

// --- the resync messages -------------------------------------------------------

TEST(ResyncMessage, SeedDefaults) {
  expect_request(prov::recognize_resync(kRequest), "CP-78xx-3PCC");

  auto ok = prov::recognize_resync(kSuccess);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->kind, ResyncEvent::Kind::success);
  EXPECT_EQ(ok->product, "CP-88xx-3PCC");
  EXPECT_EQ(ok->mac, "000e08abcdef");
  EXPECT_EQ(ok->url, "tftp://192.168.1.200/basic.txt");

  auto failed = prov::recognize_resync(kFailure);
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->kind, ResyncEvent::Kind::failure);
  EXPECT_EQ(failed->product, "CP-7841-3PCC");
  EXPECT_EQ(failed->mac, "000e08abcdef");
  EXPECT_EQ(failed->url, "");
  EXPECT_EQ(failed->error, "file not found");
}

TEST(ResyncMessage, SeedVariants) {
  // Log_Failure_Msg as the seed's cfg.xml example writes it: a space before the colon.
  auto failed = prov::recognize_resync("CP-7841-3PCC 00:0e:08:ab:cd:ef Resync failed : Connection refused\r\n");
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->error, "Connection refused");

  // Log_Success_Msg in the French the seed shows.
  auto ok = prov::recognize_resync("CP-7841-3PCC 00:0e:08:ab:cd:ef Resynchronisation réussie "
                                   "https://prov.example.com:443/cfg/000e08abcdef.xml");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->kind, ResyncEvent::Kind::success);
  EXPECT_EQ(ok->url, "https://prov.example.com:443/cfg/000e08abcdef.xml");

  // The expanded default $SCHEME://$SERVIP:$PORT$PATH.
  auto request = prov::recognize_resync("CP-8845-3PCC 00:0E:08:AB:CD:EF Requesting resync "
                                        "http://10.0.0.5:80/prov/CP-8845-3PCC000e08abcdef.cfg");
  ASSERT_TRUE(request);
  EXPECT_EQ(request->product, "CP-8845-3PCC");
  EXPECT_EQ(request->mac, "000e08abcdef");
  EXPECT_EQ(request->url, "http://10.0.0.5:80/prov/CP-8845-3PCC000e08abcdef.cfg");
}

TEST(ResyncMessage, MacForms) {
  for (std::string mac : {"00:0e:08:ab:cd:ef", "000e08abcdef", "000E08ABCDEF", "00-0E-08-AB-CD-EF", "000e.08ab.cdef"}) {
    auto e = prov::recognize_resync("SPA508G " + mac + " -- Requesting resync tftp://h/f");
    ASSERT_TRUE(e) << mac;
    EXPECT_EQ(e->mac, "000e08abcdef") << mac;
    EXPECT_EQ(e->product, "SPA508G") << mac;
  }
}

TEST(ResyncMessage, AnywhereInTheText) {
  // After a Syslog_Identifier and a tag, in upper case.
  auto e = prov::recognize_resync("000e08abcdef prov: CP-7841-3PCC 00:0e:08:ab:cd:ef -- REQUESTING RESYNC tftp://h/f");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->product, "CP-7841-3PCC");
  EXPECT_EQ(e->url, "tftp://h/f");

  // No product before the MAC, or something that is no model name.
  e = prov::recognize_resync("00:0e:08:ab:cd:ef -- Successful resync tftp://h/f");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->product, "");
  e = prov::recognize_resync("phone: [000e08abcdef] Requesting resync tftp://h/f");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->mac, "000e08abcdef");
  EXPECT_EQ(e->product, "");

  // A request with no URL after it.
  e = prov::recognize_resync("CP-7841-3PCC 000e08abcdef -- Requesting resync");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->url, "");
}

TEST(ResyncMessage, NotResyncMessages) {
  EXPECT_FALSE(prov::recognize_resync(""));
  EXPECT_FALSE(prov::recognize_resync("CP-7841-3PCC 00:0e:08:ab:cd:ef -- Requesting upgrade http://h/f.loads"));
  EXPECT_FALSE(prov::recognize_resync("Requesting resync tftp://h/f"));                 // no MAC
  EXPECT_FALSE(prov::recognize_resync("CP-7841-3PCC -- Resync failed: file not found"));  // no MAC
  EXPECT_FALSE(prov::recognize_resync("CP-7841-3PCC 00:0e:08:ab:cd -- Requesting resync tftp://h/f"));
  EXPECT_EQ(prov::to_string(ResyncEvent::Kind::failure), "failure");
}

}  // namespace
