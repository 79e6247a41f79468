#pragma once
// Internal to ucedge_tls: owning handles for OpenSSL objects and the few
// conversions every file of the module needs (PEM in and out, names,
// fingerprints, times). Not included by other modules.
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace ucedge::net::tls::detail {

template <class T, void (*Free)(T*)>
struct OpenSslDeleter {
  void operator()(T* p) const { Free(p); }
};

using X509Ptr = std::unique_ptr<X509, OpenSslDeleter<X509, X509_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY, EVP_PKEY_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, OpenSslDeleter<X509_NAME, X509_NAME_free>>;
using X509ExtensionPtr =
    std::unique_ptr<X509_EXTENSION, OpenSslDeleter<X509_EXTENSION, X509_EXTENSION_free>>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, OpenSslDeleter<SSL_CTX, SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, OpenSslDeleter<SSL, SSL_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpenSslDeleter<BIGNUM, BN_free>>;

struct BioDeleter {
  void operator()(BIO* p) const { BIO_free_all(p); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

// Drains OpenSSL's error queue of this thread into one readable line
// ("" when it is empty). Call it right after a failed OpenSSL call.
std::string openssl_errors();
// Empties the error queue so a later failure reports only its own errors.
void clear_openssl_errors();

core::Result<std::string, std::string> read_text_file(const std::filesystem::path& file);

// Every certificate of a PEM text, in order; an error when there is none.
core::Result<std::vector<X509Ptr>, std::string> certificates_from_pem(std::string_view pem);
core::Result<EvpPkeyPtr, std::string> private_key_from_pem(std::string_view pem);
std::string to_pem(X509* certificate);
std::string to_pem(EVP_PKEY* private_key);

// RFC 2253 one-line form: "CN=x,OU=y,O=z".
std::string one_line(const X509_NAME* name);
// The first entry of `nid` in `name`, UTF-8, or "".
std::string name_entry(const X509_NAME* name, int nid);
// Lower-case hex of SHA-256 over the DER certificate.
std::string sha256_fingerprint(const X509* certificate);
// The certificate's serial number in lower-case hex.
std::string serial_hex(const X509* certificate);
// "2035-01-31T12:00:00Z".
std::string iso8601(const ASN1_TIME* time);
// "DNS:x", "IP:y", "URI:z", "email:w"; other kinds as "other".
std::vector<std::string> subject_alt_names(X509* certificate);
// Dotted form of every extended key usage the certificate lists.
std::vector<std::string> extended_key_usages(X509* certificate);
// Dotted OID for a dotted OID or a name OpenSSL knows ("clientAuth"); "" if neither.
std::string dotted_oid(std::string_view text);

}  // namespace ucedge::net::tls::detail
