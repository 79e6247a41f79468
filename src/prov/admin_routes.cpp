// The admin API of the provisioning module: devices, previews, reports,
// activation codes and resync pushes. Every route is behind the admin guard.
#include <nlohmann/json.hpp>

#include "prov/codec/device_names.hpp"
#include "prov/request_host.hpp"
#include "prov/resync/resync_push.hpp"
#include "prov/service.hpp"

namespace ucedge::prov {

namespace {

net::Response json(int status, const nlohmann::json& j) { return net::Response::json(status, j.dump()); }

net::Response bad_request(std::string_view detail) { return net::Response::problem(400, "Bad Request", detail); }

net::Response not_found(std::string_view detail) { return net::Response::problem(404, "Not Found", detail); }

std::optional<nlohmann::json> parse_body(const net::Request& request) {
  if (request.body.empty()) return nlohmann::json::object();
  auto j = nlohmann::json::parse(request.body, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

nlohmann::json code_json(const ActivationCode& c) {
  nlohmann::json j = {{"hint", c.hint},
                      {"subscriber", c.subscriber},
                      {"device", c.device_mac},
                      {"customer", c.customer},
                      {"created_at", c.created_at},
                      {"expires_at", c.expires_at},
                      {"used_at", c.used_at ? nlohmann::json(*c.used_at) : nlohmann::json(nullptr)},
                      {"used_by", c.used_by_mac}};
  if (!c.code.empty()) j["code"] = c.code;
  return j;
}

nlohmann::json job_json(const PushJob& job) {
  nlohmann::json results = nlohmann::json::array();
  for (const auto& r : job.results) {
    results.push_back({{"device", r.target.device},
                       {"method", to_string(r.target.method)},
                       {"state", to_string(r.state)},
                       {"status", r.status},
                       {"detail", r.detail},
                       {"elapsed_ms", r.elapsed.count()}});
  }
  return {{"id", job.id}, {"finished", job.finished}, {"results", results}};
}

}  // namespace

void ProvService::add_admin_routes(net::Router& router, const AdminGuard& admin) {
  auto add = [&](net::Method method, const std::string& pattern, net::Handler handler) {
    (void)router.add(method, pattern, admin(std::move(handler)));
  };
  using net::Method;

  add(Method::get, "/api/v1/devices", [this](net::Request& req) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& d : devices_.list(req.query_param("customer").value_or(""))) list.push_back(to_json(*d));
    return json(200, {{"devices", list}});
  });

  auto write_device = [this](net::Request& req, std::string mac_text, bool create_only) {
    auto body = parse_body(req);
    if (!body) return bad_request("the body is not JSON");
    auto input = device_input_from_json(*body);
    if (!input) return bad_request(input.error());
    auto put = devices_.put(mac_text, *input, create_only);
    if (!put) {
      int status = put.error().find("already exists") != std::string::npos ? 409 : 400;
      if (put.error().starts_with("cannot store")) status = 503;
      return net::Response::problem(status, status == 409 ? "Conflict" : status == 503 ? "Service Unavailable"
                                                                                         : "Bad Request",
                                    put.error());
    }
    const bool created = put->second == DeviceDirectory::Outcome::created;
    auto r = json(created ? 201 : 200, to_json(*put->first));
    if (created) r.set("Location", "/api/v1/devices/" + put->first->mac);
    return r;
  };
  add(Method::post, "/api/v1/devices", [write_device](net::Request& req) {
    auto body = parse_body(req);
    if (!body || !body->is_object() || !body->contains("mac") || !(*body)["mac"].is_string()) {
      return bad_request("a JSON object with \"mac\" is needed");
    }
    return write_device(req, (*body)["mac"].get<std::string>(), true);
  });
  add(Method::put, "/api/v1/devices/{mac}",
      [write_device](net::Request& req) { return write_device(req, std::string(req.param("mac")), false); });
  add(Method::patch, "/api/v1/devices/{mac}", [this, write_device](net::Request& req) {
    auto mac = normalize_mac(req.param("mac"));
    if (!mac || !devices_.find(*mac)) return not_found("no such device");
    return write_device(req, *mac, false);
  });

  add(Method::get, "/api/v1/devices/{mac}", [this](net::Request& req) {
    auto mac = normalize_mac(req.param("mac"));
    DevicePtr d = mac ? devices_.find(*mac) : nullptr;
    if (!d) return not_found("no such device");
    nlohmann::json j = to_json(*d);
    nlohmann::json status = status_.to_json(d->mac);
    j["resync"] = status["resync"];
    j["fetches"] = status["fetches"];
    nlohmann::json reports = nlohmann::json::array();
    for (const auto& r : reports_.list(d->mac)) {
      reports.push_back({{"id", r.id}, {"name", r.name}, {"transport", r.transport}, {"received_at_ms", r.received_at},
                         {"size", r.size}});
    }
    j["reports"] = reports;
    return json(200, j);
  });

  add(Method::delete_, "/api/v1/devices/{mac}", [this](net::Request& req) {
    auto removed = devices_.remove(req.param("mac"));
    if (!removed) return net::Response::problem(400, "Bad Request", removed.error());
    if (!*removed) return not_found("no such device");
    status_.forget(*normalize_mac(req.param("mac")));
    net::Response r;
    r.status = 204;
    return r;
  });

  // Exactly what the device would receive for FILE, before it asks.
  add(Method::get, "/api/v1/devices/{mac}/profiles/{*file}", [this](net::Request& req) {
    auto mac = normalize_mac(req.param("mac"));
    DevicePtr d = mac ? devices_.find(*mac) : nullptr;
    if (!d) return not_found("no such device");
    FetchResult result = resolver_.preview(*d, req.param("file"));
    if (result.status != 200) return net::Response::problem(result.status, "Not rendered", result.reason);
    net::Response r;
    if (result.body) r.body = *result.body;
    else r.file = result.file;
    r.set("Content-Type", result.content_type);
    r.set("ETag", result.etag);
    r.set("X-Ucedge-Source", result.source);
    return r;
  });

  add(Method::get, "/api/v1/devices/{mac}/reports/{id}", [this](net::Request& req) {
    auto mac = normalize_mac(req.param("mac"));
    std::int64_t id = 0;
    try {
      id = std::stoll(std::string(req.param("id")));
    } catch (...) {
      return not_found("no such report");
    }
    auto report = mac ? reports_.get(*mac, id) : std::nullopt;
    if (!report) return not_found("no such report");
    auto r = net::Response::text(200, report->content, "application/octet-stream");
    r.set("Content-Disposition", "attachment; filename=\"" + report->name + "\"");
    return r;
  });

  add(Method::post, "/api/v1/activation-codes", [this](net::Request& req) {
    auto body = parse_body(req);
    if (!body || !body->is_object()) return bad_request("the body is not a JSON object");
    auto text = [&](const char* key) {
      return body->contains(key) && (*body)[key].is_string() ? (*body)[key].get<std::string>() : std::string();
    };
    std::string device = text("device");
    if (!device.empty()) {
      auto mac = normalize_mac(device);
      if (!mac) return bad_request("\"device\" is not a MAC address");
      device = *mac;
    }
    auto lifetime = std::chrono::duration_cast<std::chrono::seconds>(config_.activation_code_lifetime);
    if (body->contains("lifetime_seconds")) {
      const auto& v = (*body)["lifetime_seconds"];
      if (!v.is_number_integer() || v.get<std::int64_t>() < 60 || v.get<std::int64_t>() > 365LL * 86400) {
        return bad_request("\"lifetime_seconds\" must be an integer from 60 to 31536000");
      }
      lifetime = std::chrono::seconds(v.get<std::int64_t>());
    }
    auto created = activation_.create(text("subscriber"), device, text("customer"), lifetime);
    if (!created) return bad_request(created.error());
    return json(201, code_json(*created));
  });
  add(Method::get, "/api/v1/activation-codes", [this](net::Request&) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& c : activation_.list()) list.push_back(code_json(c));
    return json(200, {{"codes", list}});
  });

  // Resync push: {"method": "sip" | "sip_udp" | "sip_tcp" | "cgi", "event": "resync" | "report",
  // "wait_ms": N}. Without wait_ms the answer is 202 and the job is read at
  // /api/v1/resync-jobs/{id}; with it the answer waits (at most 10 s).
  auto push = [this](net::Request& req, std::vector<DevicePtr> devices) {
    if (!pusher_) return net::Response::problem(503, "Service Unavailable", "resync push is off ([prov.sip] listen)");
    auto body = parse_body(req);
    if (!body || !body->is_object()) return bad_request("the body is not a JSON object");
    std::string method = body->value("method", std::string("sip"));
    // "sip" takes the transport the device's contact names.
    if (method != "sip" && method != "sip_udp" && method != "sip_tcp" && method != "cgi") {
      return bad_request("\"method\" is \"sip\", \"sip_udp\", \"sip_tcp\" or \"cgi\"");
    }
    std::string event = body->value("event", std::string("resync"));
    if (event != "resync" && event != "report") return bad_request("\"event\" is \"resync\" or \"report\"");
    std::int64_t wait_ms = body->value("wait_ms", std::int64_t{0});
    wait_ms = std::clamp<std::int64_t>(wait_ms, 0, 10'000);
    std::vector<PushTarget> targets;
    nlohmann::json skipped = nlohmann::json::array();
    for (const auto& d : devices) {
      PushTarget t;
      t.device = d->mac;
      t.event = event;
      if (method == "cgi") {
        if (d->cgi_url.empty()) {
          skipped.push_back({{"device", d->mac}, {"detail", "no cgi_url"}});
          continue;
        }
        t.method = PushMethod::cgi;
        t.host = d->cgi_url;
        t.model = d->model.empty() ? "CP-xxxx-3PCC" : d->model;
        auto rule = profile_rule_for(*d, config_.activation_profile_rule, request_host(req));
        if (!rule) {
          skipped.push_back({{"device", d->mac}, {"detail", rule.error()}});
          continue;
        }
        t.profile_rule = std::move(rule).value();
        t.cgi_user = d->cgi_username;
        if (auto pw = devices_.unseal(d->cgi_password)) t.cgi_password = *pw;
      } else {
        auto contact = parse_sip_contact(d->sip_contact);
        if (!contact) {
          skipped.push_back({{"device", d->mac}, {"detail", "no sip_contact"}});
          continue;
        }
        bool tcp = method == "sip_tcp" || (method == "sip" && contact->tcp);
        t.method = tcp ? PushMethod::sip_tcp : PushMethod::sip_udp;
        t.host = contact->host;
        t.port = contact->port;
        t.user = contact->user;
      }
      targets.push_back(std::move(t));
    }
    std::string id = pusher_->submit(std::move(targets));
    auto job = wait_ms > 0 ? pusher_->wait(id, std::chrono::milliseconds(wait_ms)) : pusher_->job(id);
    nlohmann::json j = job ? job_json(*job) : nlohmann::json{{"id", id}};
    j["skipped"] = skipped;
    auto r = json(job && job->finished ? 200 : 202, j);
    r.set("Location", "/api/v1/resync-jobs/" + id);
    return r;
  };
  add(Method::post, "/api/v1/devices/{mac}/resync", [this, push](net::Request& req) {
    auto mac = normalize_mac(req.param("mac"));
    DevicePtr d = mac ? devices_.find(*mac) : nullptr;
    if (!d) return not_found("no such device");
    return push(req, {d});
  });
  add(Method::post, "/api/v1/customers/{customer}/resync", [this, push](net::Request& req) {
    auto devices = devices_.list(req.param("customer"));
    if (devices.empty()) return not_found("no device belongs to this customer");
    return push(req, std::move(devices));
  });
  add(Method::get, "/api/v1/resync-jobs/{id}", [this](net::Request& req) {
    if (!pusher_) return not_found("resync push is off");
    auto job = pusher_->job(std::string(req.param("id")));
    if (!job) return not_found("no such job (finished jobs are kept for a while only)");
    return json(200, job_json(*job));
  });
}

void ProvService::add_routes(net::Router& router, const AdminGuard& admin) {
  if (!config_.enabled) return;
  add_profile_routes(router);
  add_admin_routes(router, admin);
}

}  // namespace ucedge::prov
