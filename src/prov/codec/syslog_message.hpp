#pragma once
// Device syslog (seed 004, "Utilisez Syslog pour journaliser les messages"):
// one UDP datagram is one message, RFC 3164 ("<PRI>Mmm dd hh:mm:ss host tag:
// text"), RFC 5424 ("<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG"), or the
// bare text some phones send. Then the resync messages the phones log with
// their Log_Request_Msg / Log_Success_Msg / Log_Failure_Msg defaults:
//   CP-7841-3PCC 00:0e:08:ab:cd:ef -- Requesting resync tftp://192.168.1.200/basic.txt
//   CP-7841-3PCC 00:0e:08:ab:cd:ef -- Successful resync tftp://192.168.1.200/basic.txt
//   CP-7841-3PCC 00:0e:08:ab:cd:ef Resync failed: file not found
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace ucedge::prov {

struct SyslogMessage {
  // bare: no RFC 3164 timestamp after the PRI (or no PRI at all); facility
  // and severity are still set when a PRI was there.
  enum class Format { rfc3164, rfc5424, bare } format = Format::bare;
  int facility = -1;       // 0..23, -1 without a PRI
  int severity = -1;       // 0..7, -1 without a PRI
  std::string timestamp;   // as sent
  std::string hostname;    // as sent, "" if absent or "-"
  std::string app_name;    // 3164 tag or 5424 APP-NAME
  std::string text;        // the free-form message
};

enum class SyslogError { empty, bad_priority, too_long };

std::string_view to_string(SyslogError e);

// Never throws; anything after a valid or absent PRI is accepted as text.
core::Result<SyslogMessage, SyslogError> parse_syslog(std::string_view datagram);

struct ResyncEvent {
  enum class Kind { request, success, failure } kind = Kind::request;
  std::string product;  // $PN as logged ("" if absent)
  std::string mac;      // 12 lower-case hex digits
  std::string url;      // request/success: the URL; "" for failure
  std::string error;    // failure: the $ERR text
};

std::string_view to_string(ResyncEvent::Kind k);

// Finds a resync message anywhere in `text` (after a syslog tag, an
// identifier, ...); nullopt when there is none or no MAC in it.
std::optional<ResyncEvent> recognize_resync(std::string_view text);

}  // namespace ucedge::prov
