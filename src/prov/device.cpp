#include "prov/device.hpp"

#include <charconv>

#include <nlohmann/json.hpp>

#include "prov/codec/device_names.hpp"

namespace ucedge::prov {

namespace {

bool safe_directory_name(std::string_view name) {
  if (name.empty() || name.size() > 128 || name == "." || name == "..") return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

bool safe_relative_path(std::string_view path) {
  if (path.empty() || path.front() == '/' || path.find('\\') != std::string_view::npos ||
      path.find('\0') != std::string_view::npos) {
    return false;
  }
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view segment = path.substr(start, end - start);
    if (segment.empty() || segment == "." || segment == "..") return false;
    start = end + 1;
  }
  return true;
}

bool variable_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string product_series_of(const Device& device) { return product_series(device.model); }

void add_device_macros(MacroVariables& vars, const Device& d) {
  vars.set("MA", d.mac);
  vars.set("MAU", upper_mac(d.mac));
  vars.set("MAC", colon_mac(d.mac));
  if (!d.serial.empty()) vars.set("SN", d.serial);
  if (!d.model.empty()) vars.set("PN", d.model);
  if (auto psn = product_series_of(d); !psn.empty()) vars.set("PSN", psn);
  for (const auto& [k, v] : d.gpp) vars.set(k, v);
  for (const auto& [k, v] : d.variables) vars.set(k, v);
}

std::optional<SipContact> parse_sip_contact(std::string_view text) {
  SipContact c;
  if (text.starts_with("udp:")) {
    text.remove_prefix(4);
  } else if (text.starts_with("tcp:")) {
    c.tcp = true;
    text.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  if (auto at = text.find('@'); at != std::string_view::npos) {
    c.user = std::string(text.substr(0, at));
    text.remove_prefix(at + 1);
    if (c.user.empty()) return std::nullopt;
  }
  std::string_view host = text;
  std::string_view port;
  if (text.starts_with('[')) {
    auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
    }
  } else if (auto colon = text.rfind(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty() || host.find_first_of(" /@") != std::string_view::npos) return std::nullopt;
  c.host = std::string(host);
  if (!port.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) return std::nullopt;
    c.port = static_cast<std::uint16_t>(value);
  }
  return c;
}

core::Result<DeviceInput> device_input_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return core::fail(std::string("expected a JSON object"));
  DeviceInput in;
  auto text = [&](const std::string& key, std::optional<std::string>& out) -> core::Result<void> {
    const auto& v = j.at(key);
    if (!v.is_string()) return core::fail("\"" + key + "\" must be a string");
    out = v.get<std::string>();
    return {};
  };
  auto map = [&](const std::string& key,
                 std::optional<std::map<std::string, std::string>>& out) -> core::Result<void> {
    const auto& v = j.at(key);
    if (!v.is_object()) return core::fail("\"" + key + "\" must be an object of strings");
    std::map<std::string, std::string> m;
    for (const auto& [k, value] : v.items()) {
      if (!value.is_string()) return core::fail("\"" + key + "." + k + "\" must be a string");
      m[k] = value.get<std::string>();
    }
    out = std::move(m);
    return {};
  };
  for (const auto& [key, value] : j.items()) {
    core::Result<void> r;
    if (key == "serial") r = text(key, in.serial);
    else if (key == "model") r = text(key, in.model);
    else if (key == "customer") r = text(key, in.customer);
    else if (key == "subscriber") r = text(key, in.subscriber);
    else if (key == "description") r = text(key, in.description);
    else if (key == "profile_rule") r = text(key, in.profile_rule);
    else if (key == "encoding") r = text(key, in.encoding);
    else if (key == "key_derivation") r = text(key, in.key_derivation);
    else if (key == "sip_contact") r = text(key, in.sip_contact);
    else if (key == "cgi_url") r = text(key, in.cgi_url);
    else if (key == "cgi_username") r = text(key, in.cgi_username);
    else if (key == "profile_key") r = text(key, in.profile_key);
    else if (key == "http_username") r = text(key, in.http_username);
    else if (key == "http_password") r = text(key, in.http_password);
    else if (key == "cgi_password") r = text(key, in.cgi_password);
    else if (key == "gpp") r = map(key, in.gpp);
    else if (key == "variables") r = map(key, in.variables);
    else if (key == "templates") r = map(key, in.templates);
    else if (key == "mac") continue;  // the key of the resource; checked by the caller
    else return core::fail("unknown field \"" + key + "\"");
    if (!r) return core::fail(r.error());
  }
  return in;
}

core::Result<void> validate(const DeviceInput& in) {
  if (in.customer && !in.customer->empty() && !safe_directory_name(*in.customer)) {
    return core::fail(std::string("customer must be a directory name: letters, digits, '-', '_', '.'"));
  }
  if (in.gpp) {
    for (const auto& [k, v] : *in.gpp) {
      if (k.size() != 1 || k[0] < 'A' || k[0] > 'P') {
        return core::fail("gpp key \"" + k + "\" is not one of A..P (GPP_A..GPP_P)");
      }
    }
  }
  if (in.variables) {
    for (const auto& [k, v] : *in.variables) {
      if (!variable_name(k)) return core::fail("variable name \"" + k + "\" must be letters, digits, '_', '-', '.'");
    }
  }
  if (in.templates) {
    for (const auto& [name, path] : *in.templates) {
      if (!safe_relative_path(name)) return core::fail("template file name \"" + name + "\" is not a safe relative path");
      if (!safe_relative_path(path)) return core::fail("template path \"" + path + "\" is not a safe relative path");
    }
  }
  if (in.encoding && !in.encoding->empty() && *in.encoding != "none" && *in.encoding != "gzip" &&
      *in.encoding != "aes" && *in.encoding != "gzip+aes") {
    return core::fail(std::string("encoding must be \"\", \"none\", \"gzip\", \"aes\" or \"gzip+aes\""));
  }
  if (in.key_derivation && !in.key_derivation->empty() && *in.key_derivation != "md5" &&
      *in.key_derivation != "sha256" && *in.key_derivation != "pbkdf2") {
    return core::fail(std::string("key_derivation must be \"\", \"md5\", \"sha256\" or \"pbkdf2\""));
  }
  if (in.sip_contact && !in.sip_contact->empty() && !parse_sip_contact(*in.sip_contact)) {
    return core::fail(std::string("sip_contact must look like \"udp:[user@]host[:port]\" or \"tcp:...\""));
  }
  if (in.cgi_url && !in.cgi_url->empty() && !in.cgi_url->starts_with("http://") &&
      !in.cgi_url->starts_with("https://")) {
    return core::fail(std::string("cgi_url must start with http:// or https://"));
  }
  if (in.http_username && !in.http_username->empty() && in.http_username->find(':') != std::string::npos) {
    return core::fail(std::string("http_username must not contain ':'"));
  }
  if (in.http_password && in.http_password->empty() && in.http_username && !in.http_username->empty()) {
    return core::fail(std::string("http_password must not be empty when http_username is set"));
  }
  return {};
}

nlohmann::json to_json(const Device& d) {
  return {{"mac", d.mac},
          {"mac_colon", colon_mac(d.mac)},
          {"serial", d.serial},
          {"model", d.model},
          {"product_series", product_series_of(d)},
          {"customer", d.customer},
          {"subscriber", d.subscriber},
          {"description", d.description},
          {"gpp", d.gpp},
          {"variables", d.variables},
          {"templates", d.templates},
          {"profile_rule", d.profile_rule},
          {"encoding", d.encoding},
          {"key_derivation", d.key_derivation},
          {"profile_key_set", !d.profile_key.empty()},
          {"http_username", d.http_username},
          {"http_password_set", !d.http_password_hash.empty()},
          {"sip_contact", d.sip_contact},
          {"cgi_url", d.cgi_url},
          {"cgi_username", d.cgi_username},
          {"cgi_password_set", !d.cgi_password.empty()},
          {"created_at", d.created_at},
          {"updated_at", d.updated_at}};
}

}  // namespace ucedge::prov
