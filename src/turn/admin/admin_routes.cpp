#include "turn/admin/admin_routes.hpp"

#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <set>

#include <nlohmann/json.hpp>

#include "core/strings.hpp"
#include "turn/admin/probe.hpp"
#include "turn/admin/turn_servers.hpp"
#include "turn/relay_view.hpp"

namespace ucedge::turn {

namespace {

using Json = nlohmann::ordered_json;

net::Response json(int status, const Json& j) { return net::Response::json(status, j.dump()); }
net::Response bad_request(std::string_view detail) { return net::Response::problem(400, "Bad Request", detail); }

net::Response problem(const RegistryError& e) {
  switch (e.kind) {
    case RegistryError::Kind::invalid: return bad_request(e.message);
    case RegistryError::Kind::not_found: return net::Response::problem(404, "Not Found", e.message);
    case RegistryError::Kind::unavailable: break;
  }
  return net::Response::problem(503, "Service Unavailable", e.message);
}

enum class FieldKind { text, boolean, integer };
struct Field {
  std::string_view name;
  FieldKind kind;
};
constexpr std::array<Field, 9> kFields = {{
    {"serverAddress", FieldKind::text},
    {"clientAddress", FieldKind::text},
    {"username", FieldKind::text},
    {"password", FieldKind::text},
    {"useShortTermCredentials", FieldKind::boolean},
    {"sharedSecret", FieldKind::text},
    {"type", FieldKind::text},
    {"tcpPortNumberOverride", FieldKind::integer},
    {"numRegistrations", FieldKind::integer},
}};
constexpr std::array<std::string_view, 6> kReadOnly = {"id", "hasPassword", "hasSharedSecret", "createdAt",
                                                       "updatedAt", "status"};

const Field* find_field(std::string_view name) {
  for (const auto& f : kFields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string unknown_field(std::string_view name) {
  for (auto r : kReadOnly) {
    if (r == name) return "\"" + std::string(name) + "\" is read-only";
  }
  std::vector<std::string_view> names;
  for (const auto& f : kFields) names.push_back(f.name);
  return "unknown field \"" + std::string(name) + "\" (the fields are " + core::join(names, ", ") + ")";
}

void set_text(TurnServerInput& in, std::string_view name, std::string value) {
  if (name == "serverAddress") in.server_address = std::move(value);
  else if (name == "clientAddress") in.client_address = std::move(value);
  else if (name == "username") in.username = std::move(value);
  else if (name == "password") in.password = std::move(value);
  else if (name == "sharedSecret") in.shared_secret = std::move(value);
  else if (name == "type") in.type = value.empty() ? std::string(to_string(TurnServerType::standard)) : std::move(value);
}

void set_integer(TurnServerInput& in, std::string_view name, std::int64_t value) {
  if (name == "tcpPortNumberOverride") in.tcp_port_number_override = value;
  else if (name == "numRegistrations") in.num_registrations = value;
}

core::Result<TurnServerInput> input_from_json(const nlohmann::json& body) {
  if (!body.is_object()) return core::fail(std::string("the body is a JSON object"));
  TurnServerInput in;
  for (const auto& [name, value] : body.items()) {
    const Field* field = find_field(name);
    if (!field) return core::fail(unknown_field(name));
    switch (field->kind) {
      case FieldKind::text:
        if (value.is_null()) set_text(in, name, "");
        else if (value.is_string()) set_text(in, name, value.get<std::string>());
        else return core::fail("\"" + name + "\" is a string");
        break;
      case FieldKind::boolean:
        if (value.is_null()) in.use_short_term_credentials = false;
        else if (value.is_boolean()) in.use_short_term_credentials = value.get<bool>();
        else return core::fail("\"" + name + "\" is true or false");
        break;
      case FieldKind::integer:
        if (value.is_null()) set_integer(in, name, 0);
        else if (value.is_number_integer()) set_integer(in, name, value.get<std::int64_t>());
        else return core::fail("\"" + name + "\" is an integer");
        break;
    }
  }
  return in;
}

std::optional<std::int64_t> parse_integer(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  bool negative = text.front() == '-';
  if (negative) text.remove_prefix(1);
  if (text.empty()) return std::nullopt;
  std::int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return negative ? -value : value;
}

// name=value&name=value, as HTML forms and CMS's API send them.
core::Result<TurnServerInput> input_from_form(std::string_view body) {
  TurnServerInput in;
  std::set<std::string> seen;
  while (!body.empty()) {
    auto amp = body.find('&');
    std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    auto name = net::percent_decode(pair.substr(0, eq), true);
    auto value = net::percent_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
    if (!name || !value) return core::fail(std::string("the form has a malformed %-escape"));
    const Field* field = find_field(*name);
    if (!field) return core::fail(unknown_field(*name));
    if (!seen.insert(*name).second) return core::fail("\"" + *name + "\" is given twice");
    switch (field->kind) {
      case FieldKind::text: set_text(in, *name, std::move(*value)); break;
      case FieldKind::boolean:
        if (*value == "true" || *value == "1") in.use_short_term_credentials = true;
        else if (*value == "false" || *value == "0" || value->empty()) in.use_short_term_credentials = false;
        else return core::fail("\"" + *name + "\" is true or false");
        break;
      case FieldKind::integer: {
        auto number = value->empty() ? std::optional<std::int64_t>(0) : parse_integer(*value);
        if (!number) return core::fail("\"" + *name + "\" is an integer");
        set_integer(in, *name, *number);
        break;
      }
    }
  }
  return in;
}

core::Result<TurnServerInput> input_from_request(const net::Request& request) {
  std::string_view type = request.header("Content-Type");
  constexpr std::string_view kForm = "application/x-www-form-urlencoded";
  if (type.size() >= kForm.size() && core::iequals(type.substr(0, kForm.size()), kForm)) {
    return input_from_form(request.body);
  }
  if (request.body.empty()) return TurnServerInput{};
  auto body = nlohmann::json::parse(request.body, nullptr, false);
  if (body.is_discarded()) {
    return core::fail(std::string("the body is neither JSON nor application/x-www-form-urlencoded"));
  }
  return input_from_json(body);
}

Json server_json(const TurnServer& s) {
  return Json{{"id", s.id},
              {"serverAddress", s.server_address},
              {"clientAddress", s.client_address},
              {"username", s.username},
              {"hasPassword", !s.password.empty()},
              {"useShortTermCredentials", s.use_short_term_credentials},
              {"hasSharedSecret", !s.shared_secret.empty()},
              {"type", std::string(to_string(s.type))},
              {"tcpPortNumberOverride", s.tcp_port_number_override},
              {"numRegistrations", s.num_registrations},
              {"createdAt", s.created_at},
              {"updatedAt", s.updated_at}};
}

Json text_or_null(const std::string& text) { return text.empty() ? Json(nullptr) : Json(text); }

Json rtt_json(const std::optional<double>& rtt) {
  if (!rtt) return nullptr;
  return std::round(*rtt * 1000.0) / 1000.0;  // microseconds are as fine as a clock here means
}

Json check_json(const ProbeResult& r) {
  return Json{{"transport", r.transport},
              {"server", text_or_null(r.server)},
              {"reachable", r.reachable},
              {"roundTripTimeMs", rtt_json(r.rtt_ms)},
              {"mappedAddress", text_or_null(r.mapped_address)},
              {"allocation", r.allocation},
              {"relayedAddress", text_or_null(r.relayed_address)},
              {"released", r.released},
              {"error", text_or_null(r.error)}};
}

// The first transport that answered (UDP before TCP) speaks for the server;
// every transport tried is in "checks".
Json status_json(const std::vector<ProbeResult>& results, std::int64_t checked_at) {
  const ProbeResult* primary = results.empty() ? nullptr : &results.front();
  for (const auto& r : results) {
    if (r.reachable) {
      primary = &r;
      break;
    }
  }
  Json checks = Json::array();
  for (const auto& r : results) checks.push_back(check_json(r));
  ProbeResult none;
  const ProbeResult& p = primary ? *primary : none;
  return Json{{"reachable", p.reachable},
              {"roundTripTimeMs", rtt_json(p.rtt_ms)},
              {"allocation", p.allocation},
              {"relayedAddress", text_or_null(p.relayed_address)},
              {"mappedAddress", text_or_null(p.mapped_address)},
              {"transport", p.transport},
              {"server", text_or_null(p.server)},
              {"error", text_or_null(p.error)},
              {"checkedAt", checked_at},
              {"checks", checks}};
}

Json allocation_json(const AllocationInfo& a) {
  Json peers = Json::array();
  for (const auto& p : a.peers) {
    peers.push_back(Json{{"address", p.address},
                         {"channel", p.channel == 0 ? Json(nullptr) : Json(p.channel)},
                         {"expiresAt", p.expires_at}});
  }
  return Json{{"id", a.id},
              {"username", a.username},
              {"realm", a.realm},
              {"client", a.client},
              {"transport", a.transport},
              {"relayed", a.relayed},
              {"createdAt", a.created_at},
              {"expiresAt", a.expires_at},
              {"packetsToPeers", a.packets_to_peers},
              {"bytesToPeers", a.bytes_to_peers},
              {"packetsFromPeers", a.packets_from_peers},
              {"bytesFromPeers", a.bytes_from_peers},
              {"dropped", a.dropped},
              {"peers", peers}};
}

core::Result<std::size_t> count_param(const net::Request& req, const char* name, std::size_t fallback) {
  auto text = req.query_param(name);
  if (!text) return fallback;
  auto n = parse_integer(*text);
  if (!n || *n < 0) return core::fail("\"" + std::string(name) + "\" is a count from 0");
  return static_cast<std::size_t>(*n);
}

}  // namespace

void add_turn_admin_routes(net::Router& router, const std::function<net::Handler(net::Handler)>& admin_guard,
                           TurnServerRegistry& registry, const TurnProbe& probe, const RelayView* relay) {
  auto add = [&](net::Method method, std::string_view pattern, net::Handler handler) {
    (void)router.add(method, pattern, admin_guard(std::move(handler)));
  };
  using net::Method;

  add(Method::get, "/api/v1/turnServers", [&registry](net::Request& req) {
    auto offset = count_param(req, "offset", 0);
    if (!offset) return bad_request(offset.error());
    auto limit = count_param(req, "limit", SIZE_MAX);
    if (!limit) return bad_request(limit.error());
    auto servers = registry.list();
    if (!servers) return problem(servers.error());
    Json list = Json::array();
    for (std::size_t i = *offset; i < servers->size() && list.size() < *limit; ++i) {
      list.push_back(server_json((*servers)[i]));
    }
    return json(200, Json{{"total", servers->size()}, {"turnServers", list}});
  });

  add(Method::post, "/api/v1/turnServers", [&registry](net::Request& req) {
    auto input = input_from_request(req);
    if (!input) return bad_request(input.error());
    auto created = registry.create(*input);
    if (!created) return problem(created.error());
    auto r = json(201, server_json(*created));
    r.set("Location", "/api/v1/turnServers/" + created->id);
    return r;
  });

  add(Method::get, "/api/v1/turnServers/{id}", [&registry](net::Request& req) {
    auto s = registry.get(req.param("id"));
    if (!s) return problem(s.error());
    return json(200, server_json(*s));
  });

  add(Method::put, "/api/v1/turnServers/{id}", [&registry](net::Request& req) {
    auto input = input_from_request(req);
    if (!input) return bad_request(input.error());
    auto updated = registry.update(req.param("id"), *input);
    if (!updated) return problem(updated.error());
    return json(200, server_json(*updated));
  });

  add(Method::delete_, "/api/v1/turnServers/{id}", [&registry](net::Request& req) {
    auto removed = registry.remove(req.param("id"));
    if (!removed) return problem(removed.error());
    net::Response r;
    r.status = 204;
    return r;
  });

  add(Method::get, "/api/v1/turnServers/{id}/status", [&registry, &probe](net::Request& req) {
    auto s = registry.get(req.param("id"));
    if (!s) return problem(s.error());
    auto target = registry.probe_target(*s);
    if (!target) return problem(target.error());
    auto results = probe.probe(*target);
    auto checked_at =
        std::chrono::duration_cast<std::chrono::seconds>(probe.clock().now().time_since_epoch()).count();
    Json j = server_json(*s);
    j["status"] = status_json(results, checked_at);
    return json(200, j);
  });

  add(Method::get, "/api/v1/turn/allocations", [relay](net::Request&) {
    if (!relay) return net::Response::problem(503, "TURN relay is off", "[turn] enabled = false, or no listener");
    Json list = Json::array();
    for (const auto& a : relay->allocations()) list.push_back(allocation_json(a));
    return json(200, Json{{"total", list.size()}, {"allocations", list}});
  });
}

}  // namespace ucedge::turn
