#pragma once
// Internal to ucedge_tls: one OpenSSL server context built from a resolved
// policy. TLS below 1.2 is never offered, whatever the policy says.
#include <filesystem>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "net/tls/dev_pki.hpp"
#include "net/tls/openssl_util.hpp"
#include "net/tls/tls_config.hpp"

namespace ucedge::net::tls {

struct ServerContextSource {
  std::string interface;
  TlsPolicy policy;
  std::filesystem::path data_dir;           // relative certificate paths resolve against it
  CertificateFiles development_certificate;  // used when the policy names none
};

// Every problem found, one message each, so a start-up reports them all.
core::Result<detail::SslCtxPtr, std::vector<std::string>> build_server_context(
    const ServerContextSource& source);

}  // namespace ucedge::net::tls
