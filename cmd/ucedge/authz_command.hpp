#pragma once
// `ucedge authz ...`: the authorization service's users (`user add|list|
// remove|passwd`), clients (`client add|list|remove|rotate-secret`), refresh
// tokens (`tokens list|revoke`), keys (`keys show|regenerate|export`) and the
// purge run by hand (`purge`). Works on the configured store directly; a
// running daemon reloads clients and keys every second.
namespace CLI {
class App;
}

namespace ucedge::cli {

struct GlobalOptions;

// `options` must outlive parsing: the callbacks read its config_path.
void add_authz_command(CLI::App& root, const GlobalOptions& options);

}  // namespace ucedge::cli
