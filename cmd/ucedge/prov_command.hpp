#pragma once
// `ucedge prov ...`: devices (add, list, show, remove), `render MAC FILE`
// (exactly what a device would receive, before it asks) and activation
// codes. Works on the configured store directly; a running daemon picks the
// changes up within seconds.
namespace CLI {
class App;
}

namespace ucedge::cli {

struct GlobalOptions;

void add_prov_command(CLI::App& root, const GlobalOptions& options);

}  // namespace ucedge::cli
