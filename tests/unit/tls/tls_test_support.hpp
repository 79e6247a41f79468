#pragma once
// Helpers of the TLS tests: a scratch folder, TOML parsing, a throw-away CA,
// and a complete TLS handshake between two in-memory SSL objects (a BIO
// pair), so no socket, port or thread is involved.
#include <openssl/ssl.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "core/config_table.hpp"
#include "net/client_identity.hpp"
#include "net/tls/certificate_builder.hpp"
#include "net/tls/tls_config.hpp"

namespace ucedge::net::tls::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct ParsedTls {
  TlsSettings settings;
  core::ConfigErrors errors;
};
// Parses `toml` (named "test.toml") and reads its [tls] table.
ParsedTls parse_tls(std::string_view toml);

void write_file(const std::filesystem::path& file, std::string_view content);
std::string read_file(const std::filesystem::path& file);

IssuedCertificate make_ca(const std::string& common_name);
// A client certificate signed by `ca`: clientAuth EKU unless `ekus` says otherwise.
IssuedCertificate make_client(const IssuedCertificate& ca,
                              std::vector<std::pair<std::string, std::string>> subject,
                              std::vector<std::string> ekus = {"clientAuth"},
                              std::vector<std::string> dns_names = {});
IssuedCertificate make_server(const IssuedCertificate& ca, const std::string& common_name);
// Lower-case hex SHA-256 of the first certificate of `pem`.
std::string fingerprint_of(std::string_view pem);

struct ClientOptions {
  int min_version = TLS1_2_VERSION;
  int max_version = TLS1_3_VERSION;
  std::string cipher_list;   // TLS 1.2 suites, OpenSSL names; "" = OpenSSL's default
  std::string ciphersuites;  // TLS 1.3 suites; "" = OpenSSL's default
  // Needed to even try TLS 1.1, which OpenSSL's default security level forbids.
  bool security_level_zero = false;
  const IssuedCertificate* certificate = nullptr;  // presented when the server asks
};

struct HandshakeResult {
  bool client_ok = false;
  bool server_ok = false;
  bool ok() const { return client_ok && server_ok; }
  std::string client_error;
  std::string server_error;
  long server_verify_result = X509_V_OK;
  std::string version;       // "TLSv1.2"
  std::string cipher;        // IANA name
  std::string server_certificate_fingerprint;  // as the client received it
  std::optional<ClientIdentity> identity;      // verified_client_identity on the server side
};

HandshakeResult handshake(SSL_CTX* server_context, const ClientOptions& client);

}  // namespace ucedge::net::tls::testing
