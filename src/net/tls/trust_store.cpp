#include "net/tls/trust_store.hpp"

#include <algorithm>

#include "core/atomic_file.hpp"
#include "net/tls/openssl_util.hpp"

namespace ucedge::net::tls {

namespace {

constexpr std::string_view pem_extension = ".pem";

std::string bad_alias(std::string_view alias) {
  return "\"" + std::string(alias) + "\" is not a trust alias ([A-Za-z0-9._-], 1 to 64 characters)";
}

TrustAnchor describe(std::string alias, X509* cert) {
  TrustAnchor anchor;
  anchor.alias = std::move(alias);
  anchor.subject = detail::one_line(X509_get_subject_name(cert));
  anchor.issuer = detail::one_line(X509_get_issuer_name(cert));
  anchor.fingerprint_sha256 = detail::sha256_fingerprint(cert);
  anchor.not_after = detail::iso8601(X509_get0_notAfter(cert));
  anchor.self_signed = (X509_get_extension_flags(cert) & EXFLAG_SS) != 0;
  return anchor;
}

// The single CA certificate of `pem`, or why it is not acceptable.
core::Result<detail::X509Ptr, std::string> one_ca_certificate(std::string_view pem) {
  auto certs = detail::certificates_from_pem(pem);
  if (!certs) return core::fail(certs.error());
  if (certs->size() != 1) {
    return core::fail("holds " + std::to_string(certs->size()) +
                      " certificates; add each under its own alias");
  }
  detail::X509Ptr cert = std::move(certs.value().front());
  // 1: basicConstraints CA:TRUE; 3: a self-signed X.509 v1 root. Anything
  // else cannot sign client certificates in a chain OpenSSL accepts.
  int ca = X509_check_ca(cert.get());
  if (ca != 1 && ca != 3) {
    return core::fail("is not a CA certificate (" + detail::one_line(X509_get_subject_name(cert.get())) +
                      " lacks basicConstraints CA:TRUE)");
  }
  return cert;
}

}  // namespace

bool valid_trust_alias(std::string_view alias) {
  if (alias.empty() || alias.size() > 64) return false;
  // "." and ".." would name folders, not files.
  if (alias == "." || alias == "..") return false;
  return std::all_of(alias.begin(), alias.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

TrustStore::TrustStore(const std::filesystem::path& data_dir)
    : folder_(data_dir / "tls" / "trust") {}

std::filesystem::path TrustStore::file_of(std::string_view alias) const {
  return folder_ / (std::string(alias) + std::string(pem_extension));
}

bool TrustStore::contains(std::string_view alias) const {
  std::error_code ec;
  return valid_trust_alias(alias) && std::filesystem::is_regular_file(file_of(alias), ec);
}

core::Result<TrustAnchor, std::string> TrustStore::add(std::string_view alias,
                                                       const std::filesystem::path& pem_file,
                                                       bool replace) {
  // Problems of the alias first, without the file's name in front of them.
  if (!valid_trust_alias(alias)) return core::fail(bad_alias(alias));
  if (!replace && contains(alias)) {
    return core::fail("alias \"" + std::string(alias) + "\" exists already; --replace replaces it");
  }
  auto text = detail::read_text_file(pem_file);
  if (!text) return core::fail(text.error());
  auto added = add_pem(alias, *text, replace);
  if (!added) return core::fail(pem_file.string() + ": " + added.error());
  return added;
}

core::Result<TrustAnchor, std::string> TrustStore::add_pem(std::string_view alias,
                                                           std::string_view pem, bool replace) {
  if (!valid_trust_alias(alias)) return core::fail(bad_alias(alias));
  auto cert = one_ca_certificate(pem);
  if (!cert) return core::fail(cert.error());
  if (!replace && contains(alias)) {
    return core::fail("alias \"" + std::string(alias) + "\" exists already; --replace replaces it");
  }
  // Stored re-encoded: exactly one certificate, none of the text around it.
  auto written = core::write_file_atomically(file_of(alias), detail::to_pem(cert->get()), 0644,
                                       replace ? core::Overwrite::replace : core::Overwrite::refuse);
  if (!written) return core::fail(written.error());
  return describe(std::string(alias), cert->get());
}

core::Result<std::vector<TrustAnchor>, std::string> TrustStore::list() const {
  std::vector<TrustAnchor> out;
  std::error_code ec;
  if (!std::filesystem::exists(folder_, ec)) return out;
  std::filesystem::directory_iterator it(folder_, ec);
  if (ec) return core::fail(folder_.string() + ": " + ec.message());
  for (const auto& entry : it) {
    const auto& path = entry.path();
    std::string alias = path.stem().string();
    // Temporary files of a write in progress end in a random suffix, not ".pem".
    if (path.extension() != pem_extension || !valid_trust_alias(alias)) continue;
    auto text = detail::read_text_file(path);
    auto cert = text ? one_ca_certificate(*text) : core::Result<detail::X509Ptr, std::string>(core::fail(text.error()));
    if (!cert) {
      TrustAnchor broken;
      broken.alias = alias;
      broken.problem = cert.error();
      out.push_back(std::move(broken));
      continue;
    }
    out.push_back(describe(alias, cert->get()));
  }
  std::sort(out.begin(), out.end(),
            [](const TrustAnchor& a, const TrustAnchor& b) { return a.alias < b.alias; });
  return out;
}

core::Result<void, std::string> TrustStore::remove(std::string_view alias) {
  if (!valid_trust_alias(alias)) return core::fail(bad_alias(alias));
  if (!contains(alias)) return core::fail("no trust anchor has the alias \"" + std::string(alias) + "\"");
  return core::remove_file_durably(file_of(alias));
}

}  // namespace ucedge::net::tls
