#include "tls_test_support.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "net/tls/openssl_util.hpp"
#include "net/tls/tls_contexts.hpp"

namespace ucedge::net::tls::testing {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "ucedge-tls-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

ParsedTls parse_tls(std::string_view toml) {
  ParsedTls out;
  auto document = core::ConfigDocument::parse(toml, "test.toml");
  if (!document) {
    out.errors = document.error();
    return out;
  }
  core::ConfigTable root = document->root(out.errors);
  core::ConfigTable tls = root.table("tls");
  out.settings = parse_tls_settings(tls);
  return out;
}

void write_file(const std::filesystem::path& file, std::string_view content) {
  std::filesystem::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << content;
}

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

namespace {

IssuedCertificate issued_or_fail(core::Result<IssuedCertificate, std::string> result) {
  if (!result) throw std::runtime_error("issue_certificate: " + result.error());
  return std::move(result).value();
}

}  // namespace

IssuedCertificate make_ca(const std::string& common_name) {
  CertificateRequest request;
  request.subject = {{"O", "ucedge tests"}, {"CN", common_name}};
  request.certificate_authority = true;
  request.validity = std::chrono::days(30);
  return issued_or_fail(issue_certificate(request, nullptr));
}

IssuedCertificate make_client(const IssuedCertificate& ca,
                              std::vector<std::pair<std::string, std::string>> subject,
                              std::vector<std::string> ekus, std::vector<std::string> dns_names) {
  CertificateRequest request;
  request.subject = std::move(subject);
  request.extended_key_usages = std::move(ekus);
  request.dns_names = std::move(dns_names);
  request.validity = std::chrono::days(30);
  return issued_or_fail(issue_certificate(request, &ca));
}

IssuedCertificate make_server(const IssuedCertificate& ca, const std::string& common_name) {
  CertificateRequest request;
  request.subject = {{"CN", common_name}};
  request.dns_names = {common_name};
  request.extended_key_usages = {"serverAuth"};
  request.validity = std::chrono::days(30);
  return issued_or_fail(issue_certificate(request, &ca));
}

std::string fingerprint_of(std::string_view pem) {
  auto certs = detail::certificates_from_pem(pem);
  if (!certs) return {};
  return detail::sha256_fingerprint(certs->front().get());
}

namespace {

// One step of a side's handshake: true once done; a failure is recorded.
bool step(SSL* ssl, bool& failed, std::string& error) {
  detail::clear_openssl_errors();
  int rc = SSL_do_handshake(ssl);
  if (rc == 1) return true;
  int reason = SSL_get_error(ssl, rc);
  if (reason == SSL_ERROR_WANT_READ || reason == SSL_ERROR_WANT_WRITE) return false;
  failed = true;
  error = detail::openssl_errors();
  if (error.empty()) error = "SSL_get_error " + std::to_string(reason);
  return false;
}

}  // namespace

HandshakeResult handshake(SSL_CTX* server_context, const ClientOptions& options) {
  HandshakeResult result;
  detail::SslCtxPtr client_context(SSL_CTX_new(TLS_client_method()));
  if (options.security_level_zero) SSL_CTX_set_security_level(client_context.get(), 0);
  SSL_CTX_set_min_proto_version(client_context.get(), options.min_version);
  SSL_CTX_set_max_proto_version(client_context.get(), options.max_version);
  if (!options.cipher_list.empty()) SSL_CTX_set_cipher_list(client_context.get(), options.cipher_list.c_str());
  if (!options.ciphersuites.empty()) SSL_CTX_set_ciphersuites(client_context.get(), options.ciphersuites.c_str());
  if (options.certificate != nullptr) {
    auto certs = detail::certificates_from_pem(options.certificate->certificate_pem);
    auto key = detail::private_key_from_pem(options.certificate->private_key_pem);
    if (!certs || !key || SSL_CTX_use_certificate(client_context.get(), certs->front().get()) != 1 ||
        SSL_CTX_use_PrivateKey(client_context.get(), key->get()) != 1) {
      result.client_error = "cannot load the client certificate";
      return result;
    }
  }

  detail::SslPtr client(SSL_new(client_context.get()));
  detail::SslPtr server(SSL_new(server_context));
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  BIO_new_bio_pair(&client_bio, 0, &server_bio, 0);
  SSL_set_bio(client.get(), client_bio, client_bio);
  SSL_set_bio(server.get(), server_bio, server_bio);
  SSL_set_connect_state(client.get());
  SSL_set_accept_state(server.get());

  bool client_failed = false;
  bool server_failed = false;
  for (int round = 0; round < 50; ++round) {
    if (!result.client_ok && !client_failed) result.client_ok = step(client.get(), client_failed, result.client_error);
    if (!result.server_ok && !server_failed) result.server_ok = step(server.get(), server_failed, result.server_error);
    bool client_settled = result.client_ok || client_failed;
    bool server_settled = result.server_ok || server_failed;
    if (client_settled && server_settled) break;
  }
  if (!result.client_ok && !client_failed) result.client_error = "handshake did not finish";
  if (!result.server_ok && !server_failed) result.server_error = "handshake did not finish";

  result.server_verify_result = SSL_get_verify_result(server.get());
  if (result.ok()) {
    result.version = SSL_get_version(server.get());
    result.cipher = SSL_CIPHER_standard_name(SSL_get_current_cipher(server.get()));
    if (X509* peer = SSL_get0_peer_certificate(client.get())) {
      result.server_certificate_fingerprint = detail::sha256_fingerprint(peer);
    }
    result.identity = verified_client_identity(server.get());
  }
  return result;
}

}  // namespace ucedge::net::tls::testing
