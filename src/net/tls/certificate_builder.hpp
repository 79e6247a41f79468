#pragma once
// Issues X.509 certificates with fresh ECDSA P-256 keys: the development PKI
// uses it on first start, the tests use it to make every kind of client
// certificate. Certificates and keys travel as PEM text, so no OpenSSL type
// leaves the module.
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace ucedge::net::tls {

struct CertificateRequest {
  // Subject attributes by short name, in order: {"CN", "ucedge-dev-client"}, {"OU", ...}.
  std::vector<std::pair<std::string, std::string>> subject;
  bool certificate_authority = false;
  std::vector<std::string> dns_names;      // subjectAltName DNS entries
  std::vector<std::string> ip_addresses;   // subjectAltName IP entries
  // Extended key usages: "serverAuth", "clientAuth" or dotted OIDs; none = no extension.
  std::vector<std::string> extended_key_usages;
  std::chrono::days validity{825};
  // Start of validity before now, so a peer's clock a little behind still accepts it.
  std::chrono::seconds backdate{std::chrono::hours(1)};
};

struct IssuedCertificate {
  std::string certificate_pem;
  std::string private_key_pem;
};

// Signs with `issuer` (its certificate and key), or self-signs when null.
core::Result<IssuedCertificate, std::string> issue_certificate(const CertificateRequest& request,
                                                               const IssuedCertificate* issuer);

}  // namespace ucedge::net::tls
