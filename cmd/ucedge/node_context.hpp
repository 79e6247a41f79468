#pragma once
// What a sub-command that works on this node's data opens first: the
// configuration, the store and the master key. Failures print their reason
// and end the command (exit 2 for a bad configuration, 1 otherwise).
#include <memory>
#include <string>

#include "app/config.hpp"
#include "core/secret_box.hpp"
#include "global_options.hpp"
#include "store/store.hpp"

namespace ucedge::cli {

struct NodeContext {
  app::Config config;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<core::SecretBox> secrets;

  static NodeContext open(const GlobalOptions& options);
};

// Prints `message` and ends the command with `code`.
[[noreturn]] void fail(const std::string& message, int code = 1);

}  // namespace ucedge::cli
