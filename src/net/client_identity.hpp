#pragma once
// The identity of a TLS client whose certificate chain was verified by the
// listener's TLS policy. Handlers see it on the request; the provisioning
// module uses it to pick and fill a device's profile.
#include <string>
#include <vector>

namespace ucedge::net {

struct ClientIdentity {
  std::string subject;             // one-line RFC 2253 form
  std::string common_name;         // CN
  std::string organizational_unit; // OU
  std::string organization;        // O
  std::string locality;            // L
  std::string state;               // ST (the seeds write S)
  std::string country;             // C
  std::string serial_number;       // subject serialNumber attribute, if any
  std::string certificate_serial;  // the certificate's own serial, hex
  std::string issuer;              // one-line RFC 2253 form
  std::string fingerprint_sha256;  // lower-case hex of the DER certificate
  std::vector<std::string> subject_alt_names;  // "DNS:x", "IP:y", "URI:z", "email:w"
};

}  // namespace ucedge::net
