#pragma once
// Cipher suites by their IANA names (what operators and peers such as Webex
// write), mapped to the names OpenSSL wants. The catalogue is read from the
// OpenSSL ucedge runs with, so it never lists a suite the library lacks.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ucedge::net::tls {

struct CipherSuite {
  std::string iana_name;     // "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
  std::string openssl_name;  // "ECDHE-ECDSA-AES128-GCM-SHA256"
  // TLS 1.3 suites are configured apart from the others in OpenSSL
  // (SSL_CTX_set_ciphersuites versus SSL_CTX_set_cipher_list).
  bool tls13 = false;
  bool in_default_set = false;
};

// Every suite a policy may name: those OpenSSL implements that authenticate
// the server with a certificate and encrypt. Anonymous, NULL-encryption,
// PSK and SRP suites are left out.
const std::vector<CipherSuite>& supported_cipher_suites();
const CipherSuite* find_cipher_suite(std::string_view iana_name);
// The IANA name of an OpenSSL-named suite, to suggest it in an error message.
std::optional<std::string> iana_name_of_openssl_name(std::string_view openssl_name);

// The suites used when no level configures any, in server preference order:
// the three TLS 1.3 AEAD suites, then TLS 1.2 ECDHE with AEAD only.
const std::vector<std::string>& default_cipher_suites();

}  // namespace ucedge::net::tls
