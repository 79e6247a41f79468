#pragma once
// Options every sub-command of `ucedge` shares, filled while the command line
// is parsed and read by the sub-commands' callbacks.
#include <string>

namespace ucedge::cli {

struct GlobalOptions {
  std::string config_path;  // "" = the embedded default (etc/ucedge.toml)
};

}  // namespace ucedge::cli
