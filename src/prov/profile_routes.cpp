// The phone-facing HTTP routes: profiles and firmware under url_prefix,
// Report_Rule uploads into url_prefix/reports/, and activation codes.
#include <nlohmann/json.hpp>

#include "prov/codec/device_names.hpp"
#include "prov/codec/user_agent.hpp"
#include "prov/request_host.hpp"
#include "prov/request_path.hpp"
#include "prov/service.hpp"

namespace ucedge::prov {

namespace {

Transport transport_of(const net::Request& request) {
  if (request.listener == "https_client_cert") return Transport::https_client_cert;
  return request.secure ? Transport::https : Transport::http;
}

FetchRequest fetch_request(const net::Request& request, std::string_view path, const RequestHost& host) {
  FetchRequest r;
  r.transport = transport_of(request);
  r.path = path;
  r.remote_address = request.remote_address;
  r.user_agent = request.header("User-Agent");
  r.certificate = request.client ? &*request.client : nullptr;
  r.authorization = request.header("Authorization");
  r.scheme = host.scheme;
  r.server_host = host.host;
  r.server_ip = host.host;
  r.server_port = host.port;
  return r;
}

net::Response refusal(int status, const std::string& reason, std::int64_t retry_after = 0) {
  std::string_view title = status == 401   ? "Unauthorized"
                           : status == 403 ? "Forbidden"
                           : status == 404 ? "Not Found"
                           : status == 429 ? "Too Many Requests"
                                           : "Internal Server Error";
  auto r = net::Response::problem(status, title, reason);
  if (status == 401) r.set("WWW-Authenticate", "Basic realm=\"ucedge provisioning\", charset=\"UTF-8\"");
  if (status == 429) r.set("Retry-After", std::to_string(retry_after));
  return r;
}

// RFC 9110 §13.1.2: a list of entity tags, or "*".
bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  if (if_none_match.empty()) return false;
  std::size_t i = 0;
  while (i < if_none_match.size()) {
    while (i < if_none_match.size() && (if_none_match[i] == ' ' || if_none_match[i] == ',')) ++i;
    std::size_t end = if_none_match.find(',', i);
    if (end == std::string_view::npos) end = if_none_match.size();
    std::string_view tag = if_none_match.substr(i, end - i);
    while (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == "*" || tag == etag) return true;
    i = end + 1;
  }
  return false;
}

std::string xml_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

}  // namespace

net::Response ProvService::serve_profile(net::Request& request) {
  const std::string path(request.param("path"));
  const RequestHost host = request_host(request);
  FetchResult result = resolver_.fetch(fetch_request(request, path, host));
  if (result.status == 200 && etag_matches(request.header("If-None-Match"), result.etag)) {
    result.status = 304;
  }
  record(result, transport_of(request), path, request.remote_address);
  if (result.status == 304) {
    net::Response r;
    r.status = 304;
    r.set("ETag", result.etag);
    return r;
  }
  if (result.status != 200) return refusal(result.status, result.reason, result.retry_after);
  net::Response r;
  r.status = 200;
  if (result.body) r.body = *result.body;
  else r.file = result.file;
  r.set("Content-Type", result.content_type);
  r.set("ETag", result.etag);
  // Profiles are per device: no shared cache may keep one for another phone.
  r.set("Cache-Control", "private, no-cache");
  return r;
}

net::Response ProvService::receive_report(net::Request& request) {
  const std::string path = "reports/" + std::string(request.param("name"));
  const RequestHost host = request_host(request);
  Identification id = resolver_.identify(fetch_request(request, path, host));
  if (id.status != 200) return refusal(id.status, id.reason, id.retry_after);
  if (!id.device) return refusal(403, "the upload names no registered device (MAC in the name or User-Agent)");
  if (request.body.size() > config_.max_report_bytes) {
    return net::Response::problem(413, "Content Too Large", "report larger than max_report_bytes");
  }
  auto saved = reports_.save(id.device->mac, std::string(base_name(id.path)), to_string(transport_of(request)).data(),
                             request.body);
  if (!saved) return net::Response::problem(503, "Service Unavailable", saved.error());
  auto r = net::Response::json(201, nlohmann::json{{"id", *saved}, {"mac", id.device->mac}}.dump());
  r.set("Location", "/api/v1/devices/" + id.device->mac + "/reports/" + std::to_string(*saved));
  return r;
}

// A phone presents its activation code (form field "code", in a POST body so
// it never lands in an access log) and receives a flat profile holding its
// profile rule. The phone's MAC comes from its User-Agent or the "mac" field.
net::Response ProvService::activate(net::Request& request) {
  net::Request form;  // application/x-www-form-urlencoded, read like a query
  form.query = request.body;
  std::optional<std::string> code = form.query_param("code");
  std::optional<std::string> mac_field = form.query_param("mac");
  if (auto wait = activation_.retry_after(request.remote_address); wait > 0) {
    auto r = net::Response::problem(429, "Too Many Requests", to_string(ActivationRefusal::rate_limited));
    r.set("Retry-After", std::to_string(wait));
    return r;
  }
  std::optional<std::string> mac;
  std::string model;
  std::string serial;
  if (auto ua = parse_user_agent(request.header("User-Agent"))) {
    if (!ua->mac.empty()) mac = ua->mac;
    model = ua->model;
    serial = ua->serial;
  }
  if (mac_field) mac = normalize_mac(*mac_field);
  if (!mac) return net::Response::problem(400, "Bad Request", "the phone's MAC address is needed (User-Agent or mac)");
  if (!code) return net::Response::problem(400, "Bad Request", "no activation code (field \"code\")");

  auto redeemed = activation_.redeem(*code, *mac, request.remote_address);
  if (!redeemed) {
    int status = redeemed.error() == ActivationRefusal::rate_limited ? 429 : 403;
    auto r = net::Response::problem(status, status == 429 ? "Too Many Requests" : "Forbidden",
                                    to_string(redeemed.error()));
    if (status == 429) r.set("Retry-After", std::to_string(activation_.retry_after(request.remote_address)));
    return r;
  }
  const ActivationCode& c = redeemed->code;
  DeviceInput bind;
  if (!c.subscriber.empty()) bind.subscriber = c.subscriber;
  if (!c.customer.empty()) bind.customer = c.customer;
  DevicePtr existing = devices_.find(*mac);
  if (!existing || existing->model.empty()) {
    if (!model.empty()) bind.model = model;
  }
  if ((!existing || existing->serial.empty()) && !serial.empty()) bind.serial = serial;
  auto bound = devices_.put(*mac, bind);
  if (!bound) {
    activation_.release(c.code);
    return net::Response::problem(503, "Service Unavailable", "cannot bind the device: " + bound.error());
  }
  const Device& device = *bound->first;

  auto rule = profile_rule_for(device, config_.activation_profile_rule, request_host(request));
  if (!rule) return net::Response::problem(500, "Internal Server Error", rule.error());
  std::string body = "<flat-profile>\n  <Profile_Rule ua=\"na\">" + xml_escape(*rule) + "</Profile_Rule>\n</flat-profile>\n";
  auto r = net::Response::text(200, std::move(body), "application/xml");
  r.set("Cache-Control", "no-store");
  return r;
}

void ProvService::add_profile_routes(net::Router& router) {
  const std::string& prefix = config_.url_prefix;
  auto serve = [this](net::Request& r) { return serve_profile(r); };
  router.post(prefix + "/activate", [this](net::Request& r) { return activate(r); });
  router.post(prefix + "/reports/{*name}", [this](net::Request& r) { return receive_report(r); });
  (void)router.add(net::Method::put, prefix + "/reports/{*name}", [this](net::Request& r) { return receive_report(r); });
  router.get(prefix + "/{*path}", serve);
  // Profile rules with --post make the phone POST instead of GET; the body
  // (the phone's state) is not needed to answer.
  router.post(prefix + "/{*path}", serve);
}

}  // namespace ucedge::prov
