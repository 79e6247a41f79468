#include "tls_command.hpp"

#include <CLI/CLI.hpp>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <string>

#include "app/config.hpp"
#include "core/time_text.hpp"
#include "global_options.hpp"
#include "net/tls/cipher_suites.hpp"
#include "net/tls/trust_store.hpp"

namespace ucedge::cli {

namespace {

constexpr const char* reload_hint =
    "A running ucedge picks this up on SIGHUP (kill -HUP <pid>); until then it keeps the trust it has.\n";

[[noreturn]] void fail(const std::string& message, int code = 1) {
  std::cerr << "ucedge tls: " << message << "\n";
  throw CLI::RuntimeError(code);
}

std::filesystem::path data_dir_of(const GlobalOptions& options) {
  auto config = app::load_config(options.config_path);
  if (!config) {
    std::cerr << config.error().to_string();
    throw CLI::RuntimeError(2);
  }
  return config->data_dir;
}

// "AB:CD:..." as `openssl x509 -noout -fingerprint -sha256` prints it, so
// the two can be compared by eye.
std::string colon_hex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    if (!out.empty()) out += ':';
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(hex[i])));
    if (i + 1 < hex.size()) out += static_cast<char>(std::toupper(static_cast<unsigned char>(hex[i + 1])));
  }
  return out;
}

std::string now_iso8601() {
  return core::utc_timestamp(std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count());
}

void print_anchor(const net::tls::TrustAnchor& anchor) {
  std::cout << anchor.alias << "\n";
  if (!anchor.problem.empty()) {
    std::cout << "  problem    " << anchor.problem << "\n";
    return;
  }
  // Both sides are "YYYY-MM-DDTHH:MM:SSZ": text order is time order.
  bool expired = anchor.not_after < now_iso8601();
  std::cout << "  subject    " << anchor.subject << "\n"
            << "  issuer     " << (anchor.self_signed ? "(self-signed)" : anchor.issuer) << "\n"
            << "  not after  " << anchor.not_after << (expired ? "  EXPIRED" : "") << "\n"
            << "  sha256     " << colon_hex(anchor.fingerprint_sha256) << "\n";
}

void add_trust_add(CLI::App& trust, const GlobalOptions& options) {
  struct Arguments {
    std::string alias;
    std::string file;
    bool replace = false;
  };
  auto args = std::make_shared<Arguments>();
  auto* add = trust.add_subcommand("add", "Trust the CA certificate in FILE (PEM) under ALIAS");
  add->add_option("ALIAS", args->alias, "Name of the trust anchor: letters, digits, '.', '_', '-' (1 to 64)")
      ->required();
  add->add_option("FILE", args->file, "PEM file holding exactly one CA certificate")->required();
  add->add_flag("--replace", args->replace, "Replace the anchor already trusted under ALIAS");
  add->callback([&options, args] {
    net::tls::TrustStore store(data_dir_of(options));
    auto added = store.add(args->alias, args->file, args->replace);
    if (!added) fail(added.error());
    std::cout << "Trusted under \"" << added->alias << "\" (" << store.file_of(added->alias).string() << "):\n";
    print_anchor(*added);
    std::cout << reload_hint;
  });
}

void add_trust_list(CLI::App& trust, const GlobalOptions& options) {
  auto* list = trust.add_subcommand("list", "List the trusted CA certificates by alias");
  list->callback([&options] {
    net::tls::TrustStore store(data_dir_of(options));
    auto anchors = store.list();
    if (!anchors) fail(anchors.error());
    if (anchors->empty()) {
      std::cout << "The trust store (" << store.folder().string() << ") is empty.\n";
      return;
    }
    for (const auto& anchor : *anchors) print_anchor(anchor);
  });
}

void add_trust_remove(CLI::App& trust, const GlobalOptions& options) {
  auto alias = std::make_shared<std::string>();
  auto* remove = trust.add_subcommand("remove", "Stop trusting the CA certificate under ALIAS");
  remove->add_option("ALIAS", *alias, "Name of the trust anchor")->required();
  remove->callback([&options, alias] {
    net::tls::TrustStore store(data_dir_of(options));
    auto removed = store.remove(*alias);
    if (!removed) fail(removed.error());
    std::cout << "Removed \"" << *alias << "\".\n"
              << "A TLS policy still naming it in trust_anchors will fail to load until it is taken out.\n"
              << reload_hint;
  });
}

void add_ciphers(CLI::App& tls) {
  auto* ciphers = tls.add_subcommand("ciphers", "List the cipher suites (IANA names) a TLS policy may name");
  ciphers->callback([] {
    constexpr int name_width = 48;
    std::cout << std::left << "  " << std::setw(name_width) << "IANA NAME" << std::setw(5) << "TLS"
              << "OPENSSL NAME\n";
    for (const auto& suite : net::tls::supported_cipher_suites()) {
      std::cout << (suite.in_default_set ? "* " : "  ") << std::setw(name_width) << suite.iana_name
                << std::setw(5) << (suite.tls13 ? "1.3" : "1.2") << suite.openssl_name << "\n";
    }
    std::cout << "\n* the default set, used where no level of [tls] sets cipher_suites.\n"
                 "TLS 1.2 suites also need a certificate of their kind (ECDSA or RSA).\n";
  });
}

}  // namespace

void add_tls_command(CLI::App& root, const GlobalOptions& options) {
  auto* tls = root.add_subcommand("tls", "TLS administration: trust anchors and cipher suites");
  tls->require_subcommand(1);
  auto* trust = tls->add_subcommand("trust", "CA certificates trusted for client certificates, by alias");
  trust->require_subcommand(1);
  add_trust_add(*trust, options);
  add_trust_list(*trust, options);
  add_trust_remove(*trust, options);
  add_ciphers(*tls);
}

}  // namespace ucedge::cli
