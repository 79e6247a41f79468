#include "net/tls/tls_contexts.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/log.hpp"
#include "core/strings.hpp"
#include "net/tls/client_verification.hpp"
#include "net/tls/dev_pki.hpp"
#include "net/tls/server_context.hpp"

namespace ucedge::net::tls {


TlsContexts::TlsContexts(std::filesystem::path data_dir, std::vector<TlsInterface> interfaces,
                         std::map<std::string, TlsPolicy, std::less<>> policies)
    : data_dir_(std::move(data_dir)), interfaces_(std::move(interfaces)), policies_(std::move(policies)) {}

core::Result<std::shared_ptr<TlsContexts>, std::string> TlsContexts::create(
    TlsSettings settings, std::filesystem::path data_dir, std::vector<TlsInterface> interfaces) {
  std::map<std::string, TlsPolicy, std::less<>> policies;
  for (const auto& interface : interfaces) {
    if (policies.count(interface.name) != 0) {
      return core::fail("tls interface \"" + interface.name + "\" is given twice");
    }
    policies.emplace(interface.name, resolve_policy(settings, interface.transport, interface.name));
  }
  std::shared_ptr<TlsContexts> contexts(
      new TlsContexts(std::move(data_dir), std::move(interfaces), std::move(policies)));
  auto built = contexts->build();
  if (!built) return core::fail(built.error());
  contexts->contexts_ = std::move(*built);
  return contexts;
}

core::Result<TlsContexts::ContextMap, std::string> TlsContexts::build() const {
  const bool needs_development_pki = std::any_of(
      policies_.begin(), policies_.end(), [](const auto& entry) { return entry.second.certificate.empty(); });
  DevPki development = dev_pki_files(data_dir_);
  if (needs_development_pki) {
    auto pki = ensure_dev_pki(data_dir_);
    if (!pki) return core::fail("development certificate: " + pki.error());
    if (pki->generated) {
      core::logger("tls")->info("made the development PKI in {} (CA trusted as \"{}\")",
                      (data_dir_ / "tls").string(), dev_ca_alias);
    }
    development = *pki;
  }

  ContextMap built;
  std::vector<std::string> problems;
  for (const auto& interface : interfaces_) {
    const TlsPolicy& policy = policies_.find(interface.name)->second;
    auto ctx = build_server_context({interface.name, policy, data_dir_, development.server});
    if (!ctx) {
      problems.insert(problems.end(), ctx.error().begin(), ctx.error().end());
      continue;
    }
    try {
      // asio takes ownership of the SSL_CTX once constructed.
      auto context = std::make_shared<boost::asio::ssl::context>(ctx->get());
      ctx->release();
      built.emplace(interface.name, std::move(context));
    } catch (const std::exception& e) {
      problems.push_back("tls interface \"" + interface.name + "\": " + e.what());
    }
  }
  if (!problems.empty()) return core::fail(core::join(problems, "\n"));
  return built;
}

std::shared_ptr<boost::asio::ssl::context> TlsContexts::context(std::string_view interface) const {
  std::lock_guard lock(contexts_mutex_);
  auto it = contexts_.find(interface);
  return it == contexts_.end() ? nullptr : it->second;
}

core::Result<void, std::string> TlsContexts::reload() {
  std::lock_guard serial(reload_mutex_);
  auto built = build();
  if (!built) {
    core::logger("tls")->error("reload failed, the previous certificates stay in use:\n{}", built.error());
    return core::fail(built.error());
  }
  ContextMap retired;
  {
    std::lock_guard lock(contexts_mutex_);
    retired = std::exchange(contexts_, std::move(*built));
  }
  // `retired` is released here, outside the lock; connections still holding
  // an old context keep it alive until they close.
  core::logger("tls")->info("reloaded the TLS contexts of {} interface(s)", interfaces_.size());
  return {};
}

TlsPolicy TlsContexts::policy(std::string_view interface) const {
  auto it = policies_.find(interface);
  return it == policies_.end() ? TlsPolicy{} : it->second;
}

std::optional<ClientIdentity> verified_client_identity(SSL* ssl) {
  if (ssl == nullptr || SSL_is_init_finished(ssl) != 1) return std::nullopt;
  // Only a certificate this side asked for, and whose chain it verified, counts.
  if ((SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) == 0) return std::nullopt;
  X509* certificate = SSL_get0_peer_certificate(ssl);
  if (certificate == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return std::nullopt;
  return identity_of(certificate);
}

}  // namespace ucedge::net::tls
