#pragma once
#include "app/config.hpp"

namespace ucedge::app {

// Runs the daemon until SIGTERM or SIGINT; returns the process exit code.
// SIGHUP reloads TLS certificates, keys and trust anchors.
int serve(const Config& config);

}  // namespace ucedge::app
