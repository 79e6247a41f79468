#pragma once
// The trust store: CA certificates a TLS policy may trust for client
// certificates, each kept under an alias as <data_dir>/tls/trust/<alias>.pem
// (the `updateTrust ALIAS FILE` of seed 003). A policy names the aliases it
// trusts; the system's CA bundle is never used for clients.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace ucedge::net::tls {

// [A-Za-z0-9._-]{1,64}; also what keeps an alias from naming a path.
bool valid_trust_alias(std::string_view alias);

struct TrustAnchor {
  std::string alias;
  std::string subject;             // RFC 2253 one-line form
  std::string issuer;
  std::string fingerprint_sha256;  // lower-case hex
  std::string not_after;           // "2035-01-31T12:00:00Z"
  bool self_signed = false;
  // Set when the file could not be read as a CA certificate; other fields are then empty.
  std::string problem;
};

class TrustStore {
 public:
  explicit TrustStore(const std::filesystem::path& data_dir);

  const std::filesystem::path& folder() const { return folder_; }
  std::filesystem::path file_of(std::string_view alias) const;
  bool contains(std::string_view alias) const;

  // Adds the one CA certificate of a PEM file (or text) under `alias`.
  // Refuses: a bad alias, a file that is not exactly one certificate, a
  // certificate that is not a CA, and an existing alias unless `replace`.
  core::Result<TrustAnchor, std::string> add(std::string_view alias,
                                             const std::filesystem::path& pem_file, bool replace);
  core::Result<TrustAnchor, std::string> add_pem(std::string_view alias, std::string_view pem,
                                                 bool replace);
  // Every alias, sorted; an unreadable entry is listed with its problem.
  core::Result<std::vector<TrustAnchor>, std::string> list() const;
  core::Result<void, std::string> remove(std::string_view alias);

 private:
  std::filesystem::path folder_;
};

}  // namespace ucedge::net::tls
