#pragma once
// The store signal (store::Store::signal) by which a node, or the CLI, tells
// every node of the cluster that something of this module changed, so they
// re-read it now rather than at their next once-a-second poll.
#include <string_view>

namespace ucedge::authz {

inline constexpr std::string_view kSignalChannel = "ucedge_authz";
// Payloads: what changed.
inline constexpr std::string_view kRevocationsChanged = "revocations";
inline constexpr std::string_view kKeysChanged = "keys";
inline constexpr std::string_view kClientsChanged = "clients";

}  // namespace ucedge::authz
