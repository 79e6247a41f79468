// ucedge: one binary, sub-commands for the daemon and its administration.
#include <CLI/CLI.hpp>

#include <iostream>

#include "app/config.hpp"
#include "app/serve.hpp"
#include "authz_command.hpp"
#include "global_options.hpp"
#include "prov_command.hpp"
#include "tls_command.hpp"
#include "turn_command.hpp"
#include "ucedge/build_info.hpp"

namespace {

using ucedge::cli::GlobalOptions;

ucedge::app::Config load_or_exit(const std::string& path) {
  auto config = ucedge::app::load_config(path);
  if (!config) {
    std::cerr << config.error().to_string();
    throw CLI::RuntimeError(2);
  }
  return std::move(config).value();
}

void add_serve_command(CLI::App& root, GlobalOptions& options) {
  auto* serve = root.add_subcommand("serve", "Run the daemon until SIGTERM or SIGINT (SIGHUP reloads TLS material)");
  serve->callback([&options] {
    int code = ucedge::app::serve(load_or_exit(options.config_path));
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

void add_version_command(CLI::App& root) {
  auto* version = root.add_subcommand("version", "Print the version and the commit it was built from");
  version->callback([] { std::cout << "ucedge " << ucedge::build::version << " (" << ucedge::build::commit << ")\n"; });
}

void add_config_command(CLI::App& root) {
  auto* config = root.add_subcommand("config", "Work with configuration files");
  config->require_subcommand(1);
  auto* check = config->add_subcommand("check", "Validate a configuration file; every error is printed as FILE:LINE:COLUMN");
  static std::string file;
  check->add_option("FILE", file, "The configuration file")->required();
  check->callback([] {
    auto parsed = ucedge::app::load_config(file);
    if (!parsed) {
      std::cerr << parsed.error().to_string();
      std::cerr << parsed.error().list().size() << " error(s) in " << file << "\n";
      throw CLI::RuntimeError(1);
    }
    std::cout << file << ": OK\n";
  });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ucedge: a service-provider edge for IP telephony and WebRTC"};
  app.set_version_flag("--version", std::string("ucedge ") + ucedge::build::version);
  app.require_subcommand(1);
  app.fallthrough();

  GlobalOptions options;
  app.add_option("-c,--config", options.config_path,
                 "Configuration file (default: the embedded default, etc/ucedge.toml)");

  add_serve_command(app, options);
  add_version_command(app);
  add_config_command(app);
  ucedge::cli::add_tls_command(app, options);
  ucedge::cli::add_prov_command(app, options);
  ucedge::cli::add_turn_command(app, options);
  ucedge::cli::add_authz_command(app, options);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return 0;
}
