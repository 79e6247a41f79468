#include "net/tls/client_verification.hpp"

#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <memory>

#include "core/log.hpp"
#include "core/log_budget.hpp"
#include "core/strings.hpp"
#include "net/tls/openssl_util.hpp"

namespace ucedge::net::tls {

namespace {

// Chains longer than this are refused: a client certificate sits below a
// root and one or two intermediates.
constexpr int max_chain_depth = 6;

void free_rules(void*, void* rules, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<ClientCertificateRules*>(rules);
}

// The slot of SSL_CTX ex data holding the rules; the SSL_CTX frees them
// with itself, so they live exactly as long as any connection using them.
int rules_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_rules);
  return index;
}

core::LogBudget& refusal_budget() {
  static core::LogBudget budget(20, std::chrono::seconds(10));
  return budget;
}

void log_refusal(const ClientCertificateRules* rules, X509* certificate, int depth,
                 std::string_view reason) {
  auto dropped = refusal_budget().take();
  if (!dropped) return;
  std::string suppressed =
      *dropped > 0 ? " (" + std::to_string(*dropped) + " similar lines suppressed)" : std::string();
  core::logger("tls")->warn("interface {}: refused client certificate \"{}\" issued by \"{}\" (chain depth {}): {}{}",
                  rules != nullptr ? rules->interface : std::string("?"),
                  detail::one_line(X509_get_subject_name(certificate)),
                  detail::one_line(X509_get_issuer_name(certificate)), depth, reason, suppressed);
}

// OpenSSL calls this for every certificate of the client's chain, from the
// anchor down to the client's own (depth 0), after its own checks.
int verify_client(int preverified, X509_STORE_CTX* store) {
  auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* rules = ssl != nullptr ? static_cast<const ClientCertificateRules*>(
                                     SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), rules_index()))
                               : nullptr;
  X509* certificate = X509_STORE_CTX_get_current_cert(store);
  int depth = X509_STORE_CTX_get_error_depth(store);
  if (preverified == 0) {
    if (certificate != nullptr) {
      log_refusal(rules, certificate, depth,
                  X509_verify_cert_error_string(X509_STORE_CTX_get_error(store)));
    }
    return 0;
  }
  if (depth != 0 || rules == nullptr || certificate == nullptr) return 1;
  std::string violation = rule_violation(*rules, certificate);
  if (violation.empty()) return 1;
  X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
  log_refusal(rules, certificate, depth, violation);
  return 0;
}

}  // namespace

std::string rule_violation(const ClientCertificateRules& rules, X509* certificate) {
  const X509_NAME* subject = X509_get_subject_name(certificate);
  if (!rules.allowed_common_names.empty()) {
    // Two CNs would make "the" CN ambiguous; refuse rather than pick one.
    int first = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (first >= 0 && X509_NAME_get_index_by_NID(subject, NID_commonName, first) >= 0) {
      return "its subject has more than one CN";
    }
    std::string cn = detail::name_entry(subject, NID_commonName);
    bool allowed = std::any_of(rules.allowed_common_names.begin(), rules.allowed_common_names.end(),
                               [&](const std::string& name) { return core::iequals(name, cn); });
    if (!allowed) return "CN \"" + cn + "\" is not in client_identities";
  }
  if (!rules.required_eku_oids.empty()) {
    auto present = detail::extended_key_usages(certificate);
    for (const auto& oid : rules.required_eku_oids) {
      if (std::find(present.begin(), present.end(), oid) == present.end()) {
        return "extended key usage " + oid + " is missing (it has: " +
               (present.empty() ? std::string("none") : core::join(present, ", ")) + ")";
      }
    }
  }
  if (rules.refuse_subject_alt_names && X509_get_ext_by_NID(certificate, NID_subject_alt_name, -1) >= 0) {
    return "it carries subject alternative names (" + core::join(detail::subject_alt_names(certificate), ", ") +
           ") and refuse_san_client_certs is set";
  }
  return {};
}

core::Result<void, std::string> install_client_verification(SSL_CTX* ctx, const TlsPolicy& policy,
                                                            const std::string& interface) {
  if (policy.client_auth == ClientAuth::off) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    return {};
  }
  auto rules = std::make_unique<ClientCertificateRules>();
  rules->interface = interface;
  rules->allowed_common_names = policy.client_identities;
  rules->refuse_subject_alt_names = policy.refuse_san_client_certs;
  for (const auto& eku : policy.required_eku) {
    std::string oid = detail::dotted_oid(eku);
    if (oid.empty()) return core::fail("required_eku \"" + eku + "\" is not an OID OpenSSL can read");
    rules->required_eku_oids.push_back(std::move(oid));
  }
  int index = rules_index();
  if (index < 0 || SSL_CTX_set_ex_data(ctx, index, rules.get()) != 1) {
    return core::fail("cannot attach the client certificate rules: " + detail::openssl_errors());
  }
  rules.release();  // owned by ctx now: free_rules deletes it
  int mode = SSL_VERIFY_PEER;
  if (policy.client_auth == ClientAuth::required) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  SSL_CTX_set_verify(ctx, mode, verify_client);
  SSL_CTX_set_verify_depth(ctx, max_chain_depth);
  return {};
}

ClientIdentity identity_of(X509* certificate) {
  const X509_NAME* subject = X509_get_subject_name(certificate);
  ClientIdentity id;
  id.subject = detail::one_line(subject);
  id.common_name = detail::name_entry(subject, NID_commonName);
  id.organizational_unit = detail::name_entry(subject, NID_organizationalUnitName);
  id.organization = detail::name_entry(subject, NID_organizationName);
  id.locality = detail::name_entry(subject, NID_localityName);
  id.state = detail::name_entry(subject, NID_stateOrProvinceName);
  id.country = detail::name_entry(subject, NID_countryName);
  id.serial_number = detail::name_entry(subject, NID_serialNumber);
  id.certificate_serial = detail::serial_hex(certificate);
  id.issuer = detail::one_line(X509_get_issuer_name(certificate));
  id.fingerprint_sha256 = detail::sha256_fingerprint(certificate);
  id.subject_alt_names = detail::subject_alt_names(certificate);
  return id;
}

}  // namespace ucedge::net::tls
