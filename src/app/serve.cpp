#include "app/serve.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <fstream>
#include <iostream>

#include "authz/service.hpp"
#include "console/admin_accounts.hpp"
#include "console/admin_auth.hpp"
#include "core/atomic_file.hpp"
#include "core/io_pool.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/secret_box.hpp"
#include "net/http_server.hpp"
#include "net/router.hpp"
#include "net/tls/tls_contexts.hpp"
#include "prov/service.hpp"
#include "store/store.hpp"
#include "turn/service.hpp"
#include "ucedge/build_info.hpp"

namespace ucedge::app {

namespace {

std::string url_of(const net::BoundListener& l) {
  std::string host = l.host.find(':') != std::string::npos ? "[" + l.host + "]" : l.host;
  return std::string(l.tls ? "https://" : "http://") + host + ":" + std::to_string(l.port);
}

void add_runtime_routes(net::Router& router, store::Store& store, core::MetricsRegistry& metrics) {
  router.get("/healthz", [](net::Request&) { return net::Response::json(200, R"({"status":"ok"})"); });
  router.get("/readyz", [&store](net::Request&) {
    auto ping = store.ping();
    if (!ping) return net::Response::problem(503, "Service Unavailable", "storage: " + ping.error().message);
    return net::Response::json(200, R"({"status":"ready"})");
  });
  router.get("/metrics", [&metrics](net::Request&) {
    return net::Response::text(200, metrics.render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  // What the TLS policy verified of this connection's client certificate:
  // lets an operator check a device certificate before provisioning uses it.
  router.get("/api/v1/tls/client", [](net::Request& req) {
    if (!req.client) return net::Response::problem(404, "Not Found", "no verified client certificate on this connection");
    const auto& c = *req.client;
    nlohmann::json j = {{"subject", c.subject},
                        {"common_name", c.common_name},
                        {"organizational_unit", c.organizational_unit},
                        {"organization", c.organization},
                        {"locality", c.locality},
                        {"state", c.state},
                        {"country", c.country},
                        {"serial_number", c.serial_number},
                        {"certificate_serial", c.certificate_serial},
                        {"issuer", c.issuer},
                        {"fingerprint_sha256", c.fingerprint_sha256},
                        {"subject_alt_names", c.subject_alt_names}};
    return net::Response::json(200, j.dump());
  });
}

}  // namespace

int serve(const Config& config) {
  core::init_logging(config.log);
  auto log = core::logger("ucedge");
  // Handled from here on: a signal during start-up waits for the loop below
  // instead of killing the process half way through a migration.
  boost::asio::io_context control(1);
  boost::asio::signal_set signals(control, SIGINT, SIGTERM, SIGHUP);
  log->info("ucedge {} ({}) starting with {}", build::version, build::commit, config.source);

  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    log->critical("cannot create data directory {}: {}", config.data_dir.string(), ec.message());
    return 1;
  }
  std::filesystem::permissions(config.data_dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);

  auto opened = store::open_store(config.store, config.data_dir);
  if (!opened) {
    log->critical("cannot open the {} store: {}",
                  config.store.backend == store::Backend::sqlite ? "sqlite" : "postgres", opened.error().message);
    return 1;
  }
  std::unique_ptr<store::Store> store = std::move(opened).value();

  auto admin = console::ensure_initial_admin(*store, config.data_dir);
  if (!admin) {
    log->critical("cannot create the first administrator: {}", admin.error().message);
    return 1;
  }
  if (admin.value()) {
    std::cout << "Administrator account created: user \"admin\", password \"" << *admin.value()
              << "\"\n  (shown once; also in " << (config.data_dir / console::kInitialAdminPasswordFile).string()
              << ", delete that file once you have it)\n"
              << std::flush;
  }

  std::shared_ptr<net::tls::TlsContexts> tls;
  std::vector<net::tls::TlsInterface> interfaces;
  for (const auto& l : config.http.listeners) {
    if (l.tls) interfaces.push_back({l.name, l.transport});
  }
  if (config.turn.enabled && !config.turn.listen_tls.empty()) interfaces.push_back({"turns", "turns"});
  if (!interfaces.empty()) {
    auto created = net::tls::TlsContexts::create(config.tls, config.data_dir, interfaces);
    if (!created) {
      log->critical("TLS: {}", created.error());
      return 1;
    }
    tls = std::move(created).value();
  }

  core::MetricsRegistry metrics;
  metrics.gauge("ucedge_build_info", "Version and commit of the running binary.",
                "version=\"" + core::escape_label(build::version) + "\",commit=\"" +
                    core::escape_label(build::commit) + "\"")
      .set(1);
  auto secrets = core::SecretBox::open(config.data_dir);
  if (!secrets) {
    log->critical("master key: {}", secrets.error());
    return 1;
  }
  console::AdminAuth admin_auth(*store);
  // The pool outlives the server and the provisioning sockets (TFTP, syslog)
  // that live on its contexts: they are destroyed before it, and connections
  // still queued on a context when it stops are destroyed with it.
  core::IoPool pool(config.threads);
  prov::ProvService prov(config.prov, config.data_dir, *store, *secrets, metrics);
  if (config.prov.enabled) {
    if (auto opened = prov.open(); !opened) {
      log->critical("provisioning: {}", opened.error());
      return 1;
    }
  }

  std::vector<std::string> http_addresses;
  for (const auto& l : config.http.listeners) http_addresses.push_back(l.address);
  turn::TurnService turn(config.turn, pool.size(), *store, *secrets, metrics, std::move(http_addresses));
  if (config.turn.enabled) {
    if (auto opened = turn.open(); !opened) {
      log->critical("{}", opened.error());
      return 1;
    }
  }

  authz::AuthzService authz(config.authz, *store, *secrets, metrics);
  if (config.authz.enabled) {
    if (auto opened = authz.open(); !opened) {
      log->critical("{}", opened.error());
      return 1;
    }
  }

  net::Router router;
  add_runtime_routes(router, *store, metrics);
  const auto admin_guard = [&admin_auth](net::Handler h) { return admin_auth.guard(std::move(h)); };
  prov.add_routes(router, admin_guard);
  turn.add_routes(router, admin_guard);
  if (config.authz.enabled) authz.add_routes(router, admin_guard);

  net::HttpServer server(pool, config.http, router, tls, metrics);
  auto bound = server.start();
  if (!bound) {
    log->critical("{}", bound.error());
    return 1;
  }
  auto services = prov.start(pool);
  if (!services) {
    log->critical("{}", services.error());
    server.shutdown(std::chrono::milliseconds(0));
    return 1;
  }
  if (config.turn.enabled) {
    auto relay = turn.start([tls](SSL_CTX** context) -> std::shared_ptr<void> {
      auto current = tls ? tls->context("turns") : nullptr;
      *context = current ? current->native_handle() : nullptr;
      return current;
    });
    if (!relay) {
      log->critical("{}", relay.error());
      server.shutdown(std::chrono::milliseconds(0));
      return 1;
    }
    for (const auto& l : relay.value()) {
      services.value().push_back({l.name, l.host, l.port, l.protocol});
    }
  }
  if (config.authz.enabled) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    const auto port = bound.value().empty() ? 0 : bound.value().front().port;
    authz.start(std::string(host) + ":" + std::to_string(port));
  }
  pool.start();

  nlohmann::json listening = {{"pid", ::getpid()}, {"listeners", nlohmann::json::object()}};
  std::cout << "ucedge " << build::version << " is listening (" << pool.size() << " threads, data in "
            << config.data_dir.string() << "):\n";
  for (const auto& l : bound.value()) {
    listening["listeners"][l.name] = {{"host", l.host}, {"port", l.port}, {"tls", l.tls}, {"url", url_of(l)}};
    std::cout << "  " << l.name << std::string(l.name.size() < 18 ? 18 - l.name.size() : 1, ' ') << url_of(l)
              << "\n";
  }
  for (const auto& b : services.value()) {
    std::string host = b.host.find(':') != std::string::npos ? "[" + b.host + "]" : b.host;
    std::string scheme = b.name == "tftp" ? "tftp://"
                         : b.protocol == "tls" ? "turns://"
                         : b.name.starts_with("turn") ? "turn://"
                                                      : "udp://";
    std::string url = scheme + host + ":" + std::to_string(b.port);
    listening["listeners"][b.name] = {{"host", b.host}, {"port", b.port}, {"protocol", b.protocol}, {"url", url}};
    std::cout << "  " << b.name << std::string(b.name.size() < 18 ? 18 - b.name.size() : 1, ' ') << url << " ("
              << b.protocol << ")\n";
  }
  std::cout << std::flush;
  auto listening_file = config.data_dir / "listening.json";
  if (auto written = core::write_file_atomically(listening_file, listening.dump(2) + "\n", 0644,
                                                 core::Overwrite::replace);
      !written) {
    log->warn("cannot write {}: {}", listening_file.string(), written.error());
  }

  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int signo) {
        if (ec) return;
        if (signo == SIGHUP) {
          if (tls) {
            auto reloaded = tls->reload();
            if (reloaded) log->info("SIGHUP: TLS certificates, keys and trust anchors reloaded");
            else log->error("SIGHUP: TLS reload failed, the previous material stays in use: {}", reloaded.error());
          }
          signals.async_wait(on_signal);
          return;
        }
        log->info("{} received: draining connections (up to {} ms)", signo == SIGINT ? "SIGINT" : "SIGTERM",
                  config.shutdown_timeout.count());
        control.stop();
      };
  signals.async_wait(on_signal);
  control.run();

  server.shutdown(config.shutdown_timeout);
  prov.stop();
  turn.stop();
  authz.stop();
  pool.stop();
  std::filesystem::remove(listening_file, ec);
  log->info("stopped");
  spdlog::default_logger()->flush();
  return 0;
}

}  // namespace ucedge::app
