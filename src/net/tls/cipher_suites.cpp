#include "net/tls/cipher_suites.hpp"

#include <openssl/ssl.h>

#include <algorithm>

#include "net/tls/openssl_util.hpp"

namespace ucedge::net::tls {

namespace {

// OpenSSL enables only three TLS 1.3 suites by default; name all five so the
// catalogue has the CCM ones too.
constexpr const char* every_tls13_suite =
    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:"
    "TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256";


bool usable_with_certificates(const SSL_CIPHER* cipher) {
  int auth = SSL_CIPHER_get_auth_nid(cipher);
  int kx = SSL_CIPHER_get_kx_nid(cipher);
  int bulk = SSL_CIPHER_get_cipher_nid(cipher);
  bool authenticates = auth == NID_auth_rsa || auth == NID_auth_ecdsa || auth == NID_auth_dss ||
                       auth == NID_auth_any;
  bool certificate_kx = kx == NID_kx_ecdhe || kx == NID_kx_dhe || kx == NID_kx_rsa ||
                        kx == NID_kx_any;
  return authenticates && certificate_kx && bulk != NID_undef;
}

std::vector<CipherSuite> read_catalogue() {
  std::vector<CipherSuite> out;
  detail::SslCtxPtr ctx(SSL_CTX_new(TLS_method()));
  if (!ctx) return out;
  SSL_CTX_set_cipher_list(ctx.get(), "ALL:COMPLEMENTOFALL");
  SSL_CTX_set_ciphersuites(ctx.get(), every_tls13_suite);
  detail::clear_openssl_errors();
  STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(ctx.get());
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
    const SSL_CIPHER* cipher = sk_SSL_CIPHER_value(ciphers, i);
    const char* iana = SSL_CIPHER_standard_name(cipher);
    if (iana == nullptr || !usable_with_certificates(cipher)) continue;
    CipherSuite suite;
    suite.iana_name = iana;
    suite.openssl_name = SSL_CIPHER_get_name(cipher);
    suite.tls13 = std::string_view(SSL_CIPHER_get_version(cipher)) == "TLSv1.3";
    const auto& defaults = default_cipher_suites();
    suite.in_default_set =
        std::find(defaults.begin(), defaults.end(), suite.iana_name) != defaults.end();
    out.push_back(std::move(suite));
  }
  return out;
}

}  // namespace

const std::vector<CipherSuite>& supported_cipher_suites() {
  static const std::vector<CipherSuite> catalogue = read_catalogue();
  return catalogue;
}

const CipherSuite* find_cipher_suite(std::string_view iana_name) {
  for (const auto& suite : supported_cipher_suites()) {
    if (suite.iana_name == iana_name) return &suite;
  }
  return nullptr;
}

std::optional<std::string> iana_name_of_openssl_name(std::string_view openssl_name) {
  for (const auto& suite : supported_cipher_suites()) {
    if (suite.openssl_name == openssl_name) return suite.iana_name;
  }
  return std::nullopt;
}

const std::vector<std::string>& default_cipher_suites() {
  static const std::vector<std::string> suites = {
      "TLS_AES_128_GCM_SHA256",
      "TLS_AES_256_GCM_SHA384",
      "TLS_CHACHA20_POLY1305_SHA256",
      "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
      "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
      "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
      "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
      "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
      "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
  };
  return suites;
}

}  // namespace ucedge::net::tls
