#include "net/tls/certificate_builder.hpp"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "net/tls/openssl_util.hpp"

namespace ucedge::net::tls {

namespace {

using detail::EvpPkeyPtr;
using detail::X509Ptr;

std::string join(const std::vector<std::string>& items, std::string_view prefix) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ',';
    out += prefix;
    out += item;
  }
  return out;
}

core::Result<void, std::string> add_extension(X509* cert, X509* issuer, int nid,
                                              const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  detail::X509ExtensionPtr ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return core::fail(std::string(OBJ_nid2sn(nid)) + " \"" + value + "\": " + detail::openssl_errors());
  }
  return {};
}

// 159 random bits: positive, unique in practice, within RFC 5280's 20 octets.
bool set_random_serial(X509* cert) {
  detail::BignumPtr bn(BN_new());
  if (!bn || BN_rand(bn.get(), 159, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1) return false;
  return BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) != nullptr;
}

core::Result<void, std::string> set_subject(X509* cert,
                                            const std::vector<std::pair<std::string, std::string>>& subject) {
  X509_NAME* name = X509_get_subject_name(cert);
  for (const auto& [field, value] : subject) {
    if (X509_NAME_add_entry_by_txt(name, field.c_str(), MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
                                   0) != 1) {
      return core::fail("subject " + field + "=" + value + ": " + detail::openssl_errors());
    }
  }
  return {};
}

core::Result<void, std::string> add_extensions(X509* cert, X509* issuer,
                                               const CertificateRequest& request) {
  struct Extension {
    int nid;
    std::string value;
  };
  std::vector<Extension> extensions;
  if (request.certificate_authority) {
    extensions.push_back({NID_basic_constraints, "critical,CA:TRUE"});
    extensions.push_back({NID_key_usage, "critical,keyCertSign,cRLSign"});
  } else {
    extensions.push_back({NID_basic_constraints, "critical,CA:FALSE"});
    extensions.push_back({NID_key_usage, "critical,digitalSignature"});
  }
  // The subject key identifier first: the authority key identifier of a
  // self-signed certificate is read from it.
  extensions.push_back({NID_subject_key_identifier, "hash"});
  extensions.push_back({NID_authority_key_identifier, "keyid:always"});
  if (!request.extended_key_usages.empty()) {
    extensions.push_back({NID_ext_key_usage, join(request.extended_key_usages, "")});
  }
  if (!request.dns_names.empty() || !request.ip_addresses.empty()) {
    std::string names = join(request.dns_names, "DNS:");
    std::string ips = join(request.ip_addresses, "IP:");
    extensions.push_back({NID_subject_alt_name, names.empty() ? ips : ips.empty() ? names : names + "," + ips});
  }
  for (const auto& ext : extensions) {
    if (auto added = add_extension(cert, issuer, ext.nid, ext.value); !added) return added;
  }
  return {};
}

}  // namespace

core::Result<IssuedCertificate, std::string> issue_certificate(const CertificateRequest& request,
                                                               const IssuedCertificate* issuer) {
  detail::clear_openssl_errors();
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return core::fail("cannot generate a P-256 key: " + detail::openssl_errors());

  X509Ptr issuer_cert;
  EvpPkeyPtr issuer_key;
  if (issuer != nullptr) {
    auto certs = detail::certificates_from_pem(issuer->certificate_pem);
    if (!certs) return core::fail("issuer certificate: " + certs.error());
    auto parsed_key = detail::private_key_from_pem(issuer->private_key_pem);
    if (!parsed_key) return core::fail("issuer key: " + parsed_key.error());
    issuer_cert = std::move(certs.value().front());
    issuer_key = std::move(parsed_key.value());
  }

  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1 || !set_random_serial(cert.get())) {
    return core::fail("cannot start a certificate: " + detail::openssl_errors());
  }
  // The lifetime counts from notBefore: validity limits such as 825 days are
  // measured between the two dates, not from now.
  auto backdate = static_cast<long>(request.backdate.count());
  auto lifetime = static_cast<long>(std::chrono::seconds(request.validity).count());
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -backdate) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), lifetime - backdate) == nullptr) {
    return core::fail("cannot set the validity: " + detail::openssl_errors());
  }
  if (auto subject = set_subject(cert.get(), request.subject); !subject) return core::fail(subject.error());
  X509* signer = issuer_cert ? issuer_cert.get() : cert.get();
  EVP_PKEY* signing_key = issuer_key ? issuer_key.get() : key.get();
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)) != 1 ||
      X509_set_pubkey(cert.get(), key.get()) != 1) {
    return core::fail("cannot set issuer or key: " + detail::openssl_errors());
  }
  if (auto ext = add_extensions(cert.get(), signer, request); !ext) return core::fail(ext.error());
  if (X509_sign(cert.get(), signing_key, EVP_sha256()) <= 0) {
    return core::fail("cannot sign: " + detail::openssl_errors());
  }
  return IssuedCertificate{detail::to_pem(cert.get()), detail::to_pem(key.get())};
}

}  // namespace ucedge::net::tls
