#pragma once
// `ucedge turn ...`: long-term users (`user add|list|remove`), TURN REST API
// shared secrets (`secret add|list|remove`) and `credentials USER`, which
// prints a REST API username and password. Works on the configured store
// directly; a running daemon picks the changes up within seconds.
namespace CLI {
class App;
}

namespace ucedge::cli {

struct GlobalOptions;

// `options` must outlive parsing: the callbacks read its config_path.
void add_turn_command(CLI::App& root, const GlobalOptions& options);

}  // namespace ucedge::cli
