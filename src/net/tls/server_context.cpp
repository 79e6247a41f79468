#include "net/tls/server_context.hpp"

#include <openssl/x509_vfy.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/log.hpp"
#include "core/strings.hpp"
#include "net/tls/cipher_suites.hpp"
#include "net/tls/client_verification.hpp"
#include "net/tls/trust_store.hpp"

namespace ucedge::net::tls {

namespace {

// Key exchange groups offered, in preference order.
constexpr const char* key_exchange_groups = "X25519:P-256:P-384";
// A certificate closer than this to its end is worth a warning at each (re)load.
constexpr int expiry_warning_days = 30;

int protocol_number(std::string_view version) {
  if (version == "1.3") return TLS1_3_VERSION;
  if (version == "1.2") return TLS1_2_VERSION;
  return 0;
}

// Collects the problems of one interface, each prefixed with its name.
class Problems {
 public:
  explicit Problems(const std::string& interface) : prefix_("tls interface \"" + interface + "\": ") {}
  void add(const std::string& message) { list_.push_back(prefix_ + message); }
  bool empty() const { return list_.empty(); }
  std::vector<std::string> take() { return std::move(list_); }

 private:
  std::string prefix_;
  std::vector<std::string> list_;
};

std::filesystem::path resolve(const std::filesystem::path& data_dir, const std::string& file) {
  std::filesystem::path path(file);
  return path.is_absolute() ? path : data_dir / path;
}

// Protocol range and cipher suites. A suite list with no TLS 1.3 suite
// narrows the range to 1.2, one with only TLS 1.3 suites to 1.3.
void set_protocols_and_ciphers(SSL_CTX* ctx, const TlsPolicy& policy, Problems& problems) {
  int min = protocol_number(policy.min_version);
  int max = protocol_number(policy.max_version);
  if (min == 0 || max == 0) {
    problems.add("TLS versions must be \"1.2\" or \"1.3\"");
    return;
  }
  if (min > max) {
    problems.add("min_version " + policy.min_version + " is above max_version " + policy.max_version);
    return;
  }
  std::vector<std::string> tls12, tls13;
  for (const auto& name : policy.cipher_suites) {
    const CipherSuite* suite = find_cipher_suite(name);
    if (suite == nullptr) {
      problems.add("unknown cipher suite \"" + name + "\"");
      continue;
    }
    (suite->tls13 ? tls13 : tls12).push_back(suite->openssl_name);
  }
  if (tls12.empty()) min = std::max(min, TLS1_3_VERSION);
  if (tls13.empty()) max = std::min(max, TLS1_2_VERSION);
  if (min > max) {
    problems.add("no cipher suite of the policy works with TLS " + policy.min_version + " to " +
                 policy.max_version);
    return;
  }
  if (SSL_CTX_set_min_proto_version(ctx, min) != 1 || SSL_CTX_set_max_proto_version(ctx, max) != 1) {
    problems.add("cannot set the protocol versions: " + detail::openssl_errors());
  }
  if (!tls12.empty() && SSL_CTX_set_cipher_list(ctx, core::join(tls12, ":").c_str()) != 1) {
    problems.add("OpenSSL refuses the TLS 1.2 cipher suites (" + detail::openssl_errors() + ")");
  }
  // An empty TLS 1.3 list is valid: it turns TLS 1.3 off.
  if (SSL_CTX_set_ciphersuites(ctx, core::join(tls13, ":").c_str()) != 1) {
    problems.add("OpenSSL refuses the TLS 1.3 cipher suites (" + detail::openssl_errors() + ")");
  }
}

void set_hardening(SSL_CTX* ctx, const std::string& interface, Problems& problems) {
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Idle connections give their buffers back: many phones keep one open.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_set1_groups_list(ctx, key_exchange_groups) != 1) {
    problems.add(std::string("cannot set the key exchange groups: ") + detail::openssl_errors());
  }
  // DHE suites, when a policy names them, get parameters sized to the key.
  SSL_CTX_set_dh_auto(ctx, 1);
  // Sessions resume only on the interface that made them.
  std::string id = interface.substr(0, SSL_MAX_SID_CTX_LENGTH);
  SSL_CTX_set_session_id_context(ctx, reinterpret_cast<const unsigned char*>(id.data()),
                                 static_cast<unsigned>(id.size()));
}

void warn_if_expiring(SSL_CTX* ctx, const std::string& interface, const std::filesystem::path& file) {
  X509* leaf = SSL_CTX_get0_certificate(ctx);
  if (leaf == nullptr) return;
  int days = 0, seconds = 0;
  if (ASN1_TIME_diff(&days, &seconds, nullptr, X509_get0_notAfter(leaf)) != 1) return;
  if (days < 0 || seconds < 0) {
    core::logger("tls")->error("interface {}: certificate {} expired on {}", interface, file.string(),
                     detail::iso8601(X509_get0_notAfter(leaf)));
  } else if (days < expiry_warning_days) {
    core::logger("tls")->warn("interface {}: certificate {} expires on {}", interface, file.string(),
                    detail::iso8601(X509_get0_notAfter(leaf)));
  }
}

void set_certificate(SSL_CTX* ctx, const ServerContextSource& source, Problems& problems) {
  const bool development = source.policy.certificate.empty();
  const auto certificate = development ? source.development_certificate.certificate
                                       : resolve(source.data_dir, source.policy.certificate);
  const auto key = development ? source.development_certificate.private_key
                               : resolve(source.data_dir, source.policy.private_key);
  std::error_code ec;
  bool readable = true;
  for (const auto& file : {certificate, key}) {
    if (!std::filesystem::is_regular_file(file, ec)) {
      problems.add(file.string() + ": no such file");
      readable = false;
    }
  }
  if (!readable) return;
  // The certificate file may carry its chain after it (the seed's chainFile).
  if (SSL_CTX_use_certificate_chain_file(ctx, certificate.c_str()) != 1) {
    problems.add(certificate.string() + ": not a PEM certificate (" + detail::openssl_errors() + ")");
    return;
  }
  auto key_text = detail::read_text_file(key);
  if (!key_text) {
    problems.add(key_text.error());
    return;
  }
  auto private_key = detail::private_key_from_pem(*key_text);
  if (!private_key) {
    problems.add(key.string() + ": " + private_key.error() + " (keys must be unencrypted PEM)");
    return;
  }
  if (X509_check_private_key(SSL_CTX_get0_certificate(ctx), private_key->get()) != 1) {
    detail::clear_openssl_errors();
    problems.add(key.string() + " is not the key of " + certificate.string());
    return;
  }
  if (SSL_CTX_use_PrivateKey(ctx, private_key->get()) != 1) {
    problems.add(key.string() + ": " + detail::openssl_errors());
    return;
  }
  warn_if_expiring(ctx, source.interface, certificate);
}

// Loads the anchors the policy names (every alias when it names none) into
// the context's own store: the system's CA bundle is never consulted.
void set_trust_anchors(SSL_CTX* ctx, const ServerContextSource& source, Problems& problems) {
  const TlsPolicy& policy = source.policy;
  TrustStore store(source.data_dir);
  std::vector<std::string> aliases = policy.trust_anchors;
  bool all_known = true;
  for (const auto& alias : aliases) {
    if (!store.contains(alias)) {
      all_known = false;
      problems.add("unknown trust alias \"" + alias + "\" (`ucedge tls trust list` shows them)");
    }
  }
  if (policy.client_auth == ClientAuth::off || !all_known) return;
  if (aliases.empty()) {
    auto listed = store.list();
    if (!listed) {
      problems.add("trust store: " + listed.error());
      return;
    }
    for (const auto& anchor : *listed) aliases.push_back(anchor.alias);
  }
  if (aliases.empty()) {
    problems.add("client_auth is \"" + std::string(to_string(policy.client_auth)) +
                 "\" but the trust store is empty (`ucedge tls trust add ALIAS FILE`)");
    return;
  }
  X509_STORE* trust = SSL_CTX_get_cert_store(ctx);
  STACK_OF(X509_NAME)* acceptable_issuers = sk_X509_NAME_new_null();
  for (const auto& alias : aliases) {
    auto text = detail::read_text_file(store.file_of(alias));
    auto certs = text ? detail::certificates_from_pem(*text)
                      : core::Result<std::vector<detail::X509Ptr>, std::string>(core::fail(text.error()));
    if (!certs) {
      problems.add("trust alias \"" + alias + "\": " + certs.error());
      continue;
    }
    for (const auto& cert : *certs) {
      if (X509_STORE_add_cert(trust, cert.get()) != 1) {
        problems.add("trust alias \"" + alias + "\": " + detail::openssl_errors());
      }
      if (X509_NAME* name = X509_NAME_dup(X509_get_subject_name(cert.get()))) {
        sk_X509_NAME_push(acceptable_issuers, name);
      }
    }
  }
  // Every uploaded certificate is an anchor, an issuing CA as much as a
  // root: chains may stop at it without the root being uploaded too.
  X509_STORE_set_flags(trust, X509_V_FLAG_PARTIAL_CHAIN);
  // Told to the client in CertificateRequest so it picks the right certificate.
  SSL_CTX_set_client_CA_list(ctx, acceptable_issuers);
}

}  // namespace

core::Result<detail::SslCtxPtr, std::vector<std::string>> build_server_context(
    const ServerContextSource& source) {
  Problems problems(source.interface);
  detail::clear_openssl_errors();
  detail::SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) {
    problems.add("cannot create an OpenSSL context: " + detail::openssl_errors());
    return core::fail(problems.take());
  }
  set_protocols_and_ciphers(ctx.get(), source.policy, problems);
  set_hardening(ctx.get(), source.interface, problems);
  set_certificate(ctx.get(), source, problems);
  set_trust_anchors(ctx.get(), source, problems);
  if (problems.empty()) {
    if (auto installed = install_client_verification(ctx.get(), source.policy, source.interface); !installed) {
      problems.add(installed.error());
    }
  }
  if (!problems.empty()) return core::fail(problems.take());
  return ctx;
}

}  // namespace ucedge::net::tls
