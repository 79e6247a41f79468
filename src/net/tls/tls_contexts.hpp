#pragma once
// The OpenSSL contexts of every TLS interface, built from the resolved
// policies and rebuilt on SIGHUP. The one header of the module that brings in
// asio::ssl: listeners need the context type.
#include <boost/asio/ssl/context.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "net/client_identity.hpp"
#include "net/tls/tls_config.hpp"

namespace ucedge::net::tls {

// A TLS listener as the policy sees it: its own name (the interface level)
// and its transport (the level above it).
struct TlsInterface {
  std::string name;       // "https", "https_client_cert", "turns"
  std::string transport;  // "https", "turns"
};

class TlsContexts {
 public:
  // Resolves every interface's policy and builds its context, making the
  // development PKI first when a policy names no certificate. Missing
  // files, an unknown trust alias, a key not matching its certificate: all
  // reported together, one message a line.
  static core::Result<std::shared_ptr<TlsContexts>, std::string> create(
      TlsSettings settings, std::filesystem::path data_dir, std::vector<TlsInterface> interfaces);

  // The interface's current context, or null for an interface not given to
  // create(). A connection keeps the shared_ptr for its life, so a reload
  // never pulls a context from under it.
  std::shared_ptr<boost::asio::ssl::context> context(std::string_view interface) const;

  // SIGHUP: re-reads certificates, keys and trust anchors and rebuilds every
  // context. Safe against concurrent context() calls; on failure the old
  // contexts stay in use and the problems are returned.
  core::Result<void, std::string> reload();

  // The resolved policy of an interface (defaults for an unknown one).
  TlsPolicy policy(std::string_view interface) const;
  const std::vector<TlsInterface>& interfaces() const { return interfaces_; }

  TlsContexts(const TlsContexts&) = delete;
  TlsContexts& operator=(const TlsContexts&) = delete;

 private:
  using ContextMap = std::map<std::string, std::shared_ptr<boost::asio::ssl::context>, std::less<>>;

  TlsContexts(std::filesystem::path data_dir, std::vector<TlsInterface> interfaces,
              std::map<std::string, TlsPolicy, std::less<>> policies);
  core::Result<ContextMap, std::string> build() const;

  const std::filesystem::path data_dir_;
  const std::vector<TlsInterface> interfaces_;
  const std::map<std::string, TlsPolicy, std::less<>> policies_;

  mutable std::mutex contexts_mutex_;  // guards contexts_ only; held for a map look-up
  ContextMap contexts_;
  std::mutex reload_mutex_;  // one rebuild at a time
};

// After a successful handshake on a context of TlsContexts: the identity of
// the client certificate the policy verified, or nullopt when the client
// sent none (client_auth "optional") or the interface does not ask for one.
std::optional<ClientIdentity> verified_client_identity(SSL* ssl);

}  // namespace ucedge::net::tls
