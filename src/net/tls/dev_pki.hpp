#pragma once
// The development PKI: when no level of the TLS policy names a certificate,
// ucedge makes its own on first start so HTTPS and mutual TLS work out of the
// box, and reuses it on every later start.
//
//   <data_dir>/tls/dev-ca.pem, dev-ca.key          a CA, ECDSA P-256, 10 years
//   <data_dir>/tls/server.pem, server.key          signed by it; localhost, 127.0.0.1, ::1
//   <data_dir>/tls/dev-client.pem, dev-client.key  CN "ucedge-dev-client", clientAuth, no SAN
//
// The CA goes into the trust store as "ucedge-dev-ca" when it is made, so
// `curl --cacert var/tls/dev-ca.pem --cert var/tls/dev-client.pem
// --key var/tls/dev-client.key https://localhost:8444/` works at once.
#include <filesystem>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace ucedge::net::tls {

inline constexpr std::string_view dev_ca_alias = "ucedge-dev-ca";
inline constexpr std::string_view dev_client_common_name = "ucedge-dev-client";

struct CertificateFiles {
  std::filesystem::path certificate;
  std::filesystem::path private_key;
};

struct DevPki {
  CertificateFiles ca;
  CertificateFiles server;
  CertificateFiles client;
  bool generated = false;  // something was made on this call
};

// The files the development PKI lives in, made or not.
DevPki dev_pki_files(const std::filesystem::path& data_dir);

// Makes what is missing and reuses what exists; never replaces a file. A
// half pair (a certificate without its key), or leaf certificates without
// the CA that would sign new ones, is an error naming the file to remove.
core::Result<DevPki, std::string> ensure_dev_pki(const std::filesystem::path& data_dir);

}  // namespace ucedge::net::tls
