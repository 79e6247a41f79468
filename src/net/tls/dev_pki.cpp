#include "net/tls/dev_pki.hpp"

#include "core/atomic_file.hpp"
#include "net/tls/certificate_builder.hpp"
#include "net/tls/openssl_util.hpp"
#include "net/tls/trust_store.hpp"

namespace ucedge::net::tls {

namespace {

constexpr unsigned private_mode = 0600;
constexpr unsigned public_mode = 0644;

enum class PairState { absent, present, half };

PairState state_of(const CertificateFiles& files) {
  std::error_code ec;
  bool cert = std::filesystem::exists(files.certificate, ec);
  bool key = std::filesystem::exists(files.private_key, ec);
  if (cert && key) return PairState::present;
  return cert || key ? PairState::half : PairState::absent;
}

core::Result<void, std::string> refuse_half_pair(const CertificateFiles& files) {
  if (state_of(files) != PairState::half) return {};
  std::error_code ec;
  bool has_cert = std::filesystem::exists(files.certificate, ec);
  const auto& present = has_cert ? files.certificate : files.private_key;
  const auto& missing = has_cert ? files.private_key : files.certificate;
  return core::fail(present.string() + " exists without " + missing.string() +
                    "; remove it to have the development pair made anew");
}

core::Result<void, std::string> write_pair(const CertificateFiles& files,
                                           const IssuedCertificate& issued) {
  // The key first: a crash between the two leaves a half pair, which the
  // next start reports instead of pairing a new certificate with nothing.
  if (auto key = core::write_file_atomically(files.private_key, issued.private_key_pem, private_mode,
                                       core::Overwrite::refuse);
      !key) {
    return key;
  }
  return core::write_file_atomically(files.certificate, issued.certificate_pem, public_mode,
                               core::Overwrite::refuse);
}

core::Result<IssuedCertificate, std::string> read_pair(const CertificateFiles& files) {
  auto cert = detail::read_text_file(files.certificate);
  if (!cert) return core::fail(cert.error());
  auto key = detail::read_text_file(files.private_key);
  if (!key) return core::fail(key.error());
  return IssuedCertificate{std::move(*cert), std::move(*key)};
}

CertificateRequest ca_request() {
  CertificateRequest request;
  request.subject = {{"O", "ucedge development"}, {"CN", "ucedge development CA"}};
  request.certificate_authority = true;
  request.validity = std::chrono::days(3650);
  return request;
}

CertificateRequest server_request() {
  CertificateRequest request;
  request.subject = {{"O", "ucedge development"}, {"CN", "localhost"}};
  request.dns_names = {"localhost"};
  request.ip_addresses = {"127.0.0.1", "::1"};
  request.extended_key_usages = {"serverAuth"};
  // 825 days: the longest lifetime browsers and Apple platforms accept.
  request.validity = std::chrono::days(825);
  return request;
}

CertificateRequest client_request() {
  CertificateRequest request;
  request.subject = {{"O", "ucedge development"}, {"CN", std::string(dev_client_common_name)}};
  request.extended_key_usages = {"clientAuth"};
  request.validity = std::chrono::days(825);
  return request;
}

core::Result<void, std::string> make_leaf(const CertificateFiles& files, const CertificateRequest& request,
                                          const IssuedCertificate& ca) {
  auto issued = issue_certificate(request, &ca);
  if (!issued) return core::fail(files.certificate.string() + ": " + issued.error());
  return write_pair(files, *issued);
}

}  // namespace

DevPki dev_pki_files(const std::filesystem::path& data_dir) {
  const auto folder = data_dir / "tls";
  DevPki pki;
  pki.ca = {folder / "dev-ca.pem", folder / "dev-ca.key"};
  pki.server = {folder / "server.pem", folder / "server.key"};
  pki.client = {folder / "dev-client.pem", folder / "dev-client.key"};
  return pki;
}

core::Result<DevPki, std::string> ensure_dev_pki(const std::filesystem::path& data_dir) {
  DevPki pki = dev_pki_files(data_dir);
  for (const auto* files : {&pki.ca, &pki.server, &pki.client}) {
    if (auto whole = refuse_half_pair(*files); !whole) return core::fail(whole.error());
  }
  const bool ca_present = state_of(pki.ca) == PairState::present;
  const bool server_present = state_of(pki.server) == PairState::present;
  const bool client_present = state_of(pki.client) == PairState::present;
  if (ca_present && server_present && client_present) return pki;

  if (!ca_present && (server_present || client_present)) {
    return core::fail(pki.ca.certificate.string() +
                      " is missing while certificates it signed remain; remove " +
                      (data_dir / "tls").string() +
                      "/{server,dev-client}.{pem,key} to have the development PKI made anew");
  }

  IssuedCertificate ca;
  if (ca_present) {
    auto existing = read_pair(pki.ca);
    if (!existing) return core::fail(existing.error());
    ca = std::move(*existing);
  } else {
    auto made = issue_certificate(ca_request(), nullptr);
    if (!made) return core::fail("development CA: " + made.error());
    ca = std::move(*made);
    if (auto written = write_pair(pki.ca, ca); !written) return core::fail(written.error());
    // A new CA replaces whatever an earlier one left under the alias.
    TrustStore trust(data_dir);
    if (auto added = trust.add_pem(dev_ca_alias, ca.certificate_pem, true); !added) {
      return core::fail("trust store: " + added.error());
    }
  }
  if (!server_present) {
    if (auto made = make_leaf(pki.server, server_request(), ca); !made) return core::fail(made.error());
  }
  if (!client_present) {
    if (auto made = make_leaf(pki.client, client_request(), ca); !made) return core::fail(made.error());
  }
  pki.generated = true;
  return pki;
}

}  // namespace ucedge::net::tls
