#pragma once
// The TURN part of the admin API, every route behind the admin guard:
//
//   GET    /api/v1/turnServers               {"total": N, "turnServers": [...]} (?offset=&limit=)
//   POST   /api/v1/turnServers               201, Location: /api/v1/turnServers/{id}
//   GET    /api/v1/turnServers/{id}
//   PUT    /api/v1/turnServers/{id}          changes only the fields sent (as CMS's API does)
//   DELETE /api/v1/turnServers/{id}          204
//   GET    /api/v1/turnServers/{id}/status   the object and "status": a live STUN/TURN probe
//   GET    /api/v1/turn/allocations          the relay's live allocations (503 when the relay is off)
//
// POST and PUT take a JSON object or, as CMS's API does,
// application/x-www-form-urlencoded, with the CMS field names: serverAddress,
// clientAddress, username, password, useShortTermCredentials, sharedSecret,
// type, tcpPortNumberOverride, numRegistrations. JSON null (or an empty form
// value) puts a field back to its default. Unknown fields and the read-only
// ones the answers carry (id, hasPassword, hasSharedSecret, createdAt,
// updatedAt) are refused with 400. Errors are RFC 9457 problem details.
//
// The status route blocks its request for the probe's time (at most
// ProbeOptions::total_timeout, plus name resolution).
#include <functional>

#include "net/http.hpp"
#include "net/router.hpp"

namespace ucedge::turn {

class RelayView;
class TurnProbe;
class TurnServerRegistry;

// `relay` may be null (the relay is off); `registry`, `probe` and `relay`
// must outlive the router.
void add_turn_admin_routes(net::Router& router, const std::function<net::Handler(net::Handler)>& admin_guard,
                           TurnServerRegistry& registry, const TurnProbe& probe, const RelayView* relay);

}  // namespace ucedge::turn
