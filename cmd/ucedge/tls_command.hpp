#pragma once
// `ucedge tls ...`: the trust store (`trust add|list|remove`, the
// `updateTrust ALIAS FILE` of seed 003) and the cipher suites ucedge accepts.
namespace CLI {
class App;
}

namespace ucedge::cli {

struct GlobalOptions;

// `options` must outlive parsing: the callbacks read its config_path.
void add_tls_command(CLI::App& root, const GlobalOptions& options);

}  // namespace ucedge::cli
