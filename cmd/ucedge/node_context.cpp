#include "node_context.hpp"

#include <CLI/CLI.hpp>

#include <iostream>

namespace ucedge::cli {

void fail(const std::string& message, int code) {
  std::cerr << message << "\n";
  throw CLI::RuntimeError(code);
}

NodeContext NodeContext::open(const GlobalOptions& options) {
  NodeContext c;
  auto config = app::load_config(options.config_path);
  if (!config) {
    std::cerr << config.error().to_string();
    throw CLI::RuntimeError(2);
  }
  c.config = std::move(config).value();
  auto store = store::open_store(c.config.store, c.config.data_dir);
  if (!store) fail("cannot open the store: " + store.error().message);
  c.store = std::move(store).value();
  auto secrets = core::SecretBox::open(c.config.data_dir);
  if (!secrets) fail("master key: " + secrets.error());
  c.secrets = std::make_unique<core::SecretBox>(std::move(secrets).value());
  return c;
}

}  // namespace ucedge::cli
