#include "prov/profile_resolver.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "core/digest.hpp"
#include "core/log.hpp"
#include "core/log_budget.hpp"
#include "core/password.hpp"
#include "net/http.hpp"
#include "core/secure_compare.hpp"
#include "prov/codec/device_names.hpp"
#include "prov/codec/encoding.hpp"
#include "prov/codec/user_agent.hpp"
#include "prov/request_path.hpp"

namespace ucedge::prov {

namespace {

constexpr std::string_view kTemplateSuffix = ".tmpl";
constexpr std::size_t kMaxTemplateBytes = 16 << 20;
constexpr std::size_t kMaxRememberedAddresses = 200'000;
constexpr auto kCredentialLifetime = std::chrono::minutes(10);

// Macros whose value depends on the request rather than on the device: the
// render cache keys on the ones a template uses.
constexpr std::array<std::string_view, 15> kRequestMacros = {
    "SCHEME", "SERV",    "SERVIP",  "PORT",   "PATH",   "IP",     "SWVER",      "CCERT",
    "CERT_CN", "CERT_OU", "CERT_O", "CERT_L", "CERT_S", "CERT_C", "CERT_SERIAL"};

struct FileStat {
  bool regular = false;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
};

std::optional<FileStat> stat_file(const std::filesystem::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return std::nullopt;
  FileStat f;
  f.regular = S_ISREG(st.st_mode);
  f.size = static_cast<std::uint64_t>(st.st_size);
  f.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  return f;
}

std::string content_etag(std::string_view body) { return "\"" + core::digest_hex(body, 16) + "\""; }

std::string content_type_for(std::string_view name, bool encoded) {
  if (encoded) return "application/octet-stream";
  auto dot = name.rfind('.');
  std::string_view ext = dot == std::string_view::npos ? std::string_view() : name.substr(dot + 1);
  if (ext == "xml") return "application/xml";
  if (ext == "cfg" || ext == "txt" || ext == "cnf") return "text/plain; charset=utf-8";
  if (ext == "gz") return "application/gzip";
  if (ext == "json") return "application/json";
  return "application/octet-stream";
}

// The names a template for this device may have been given: `path` with the
// device's own identifiers replaced by the macros that name them, longest
// first, left to right so a replacement is never replaced again. The MAC and
// serial alone come first ("CP-7841-3PCC$MA.cfg"), then with the product
// name ("$PN$MA.cfg") and the product series ("CP-$PSN-3PCC$MA.cfg").
std::vector<std::string> generalized_names(std::string_view path, const Device& d) {
  const std::string mau = upper_mac(d.mac);
  const std::string psn = product_series_of(d);
  using Id = std::pair<std::string_view, std::string_view>;
  const Id pn{d.model, "$PN"}, u{mau, "$MAU"}, ma{d.mac, "$MA"}, sn{d.serial, "$SN"}, ps{psn, "$PSN"};
  // $MA before $MAU: for a MAC of digits only the two are the same text.
  const std::vector<Id> sets[] = {{ma, u, sn}, {pn, ma, u, sn, ps}, {ma, u, sn, ps}};
  std::vector<std::string> out;
  for (const auto& ids : sets) {
    std::string name;
    std::size_t i = 0;
    while (i < path.size()) {
      bool replaced = false;
      for (const auto& [value, macro] : ids) {
        if (!value.empty() && path.substr(i).starts_with(value)) {
          name += macro;
          i += value.size();
          replaced = true;
          break;
        }
      }
      if (!replaced) name.push_back(path[i++]);
    }
    if (name != path && std::find(out.begin(), out.end(), name) == out.end()) out.push_back(std::move(name));
  }
  return out;
}

std::optional<std::string> read_small_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return std::move(s).str();
}

core::LogBudget& refusal_budget() {
  static core::LogBudget budget(20, std::chrono::seconds(10));
  return budget;
}

}  // namespace

std::string_view to_string(Transport t) {
  switch (t) {
    case Transport::tftp: return "tftp";
    case Transport::http: return "http";
    case Transport::https: return "https";
    case Transport::https_client_cert: return "https_client_cert";
  }
  return "?";
}

struct ProfileResolver::CompiledTemplate {
  std::uint64_t size = 0;  // of the file it was compiled from: a change of
  std::int64_t mtime_ns = 0;  // either means the file changed
  MacroTemplate macros;
  bool has_tags = false;
  std::vector<std::string_view> request_macros;  // the kRequestMacros it references, for the cache key
};

struct ProfileResolver::Found {
  std::filesystem::path file;
  std::string relative;
  bool is_template = false;
  FileStat stat;
};

struct ProfileResolver::Lookup {
  std::optional<Found> found;
  std::chrono::steady_clock::time_point until;  // without a watcher
  std::uint64_t generation = 0;                 // with one: the root's generation when looked up
};

ProfileResolver::ProfileResolver(const ProvConfig& config, std::filesystem::path root,
                                 const DeviceDirectory& devices, core::MetricsRegistry& metrics,
                                 const RootWatcher* watcher)
    : config_(config),
      root_(std::move(root)),
      devices_(devices),
      watcher_(watcher),
      credential_failures_(config.auth_failures_per_minute),
      renders_total_(metrics.counter("ucedge_prov_renders_total", "Profiles rendered from templates.")),
      render_failures_(metrics.counter("ucedge_prov_render_failures_total",
                                       "Templates that could not be rendered (answered 500).")),
      cache_hits_(metrics.counter("ucedge_prov_render_cache_hits_total",
                                  "Requests answered from the rendered-profile cache.")) {
  for (const auto& [k, v] : config_.tags) config_tags_[k] = v;
}

void ProfileResolver::remember_address(std::string_view address, std::string_view mac) {
  if (address.empty() || mac.empty()) return;
  {
    std::shared_lock lock(addresses_mutex_);
    auto it = mac_by_address_.find(std::string(address));
    if (it != mac_by_address_.end() && it->second == mac) return;
  }
  std::unique_lock lock(addresses_mutex_);
  if (mac_by_address_.size() >= kMaxRememberedAddresses) mac_by_address_.clear();
  mac_by_address_[std::string(address)] = std::string(mac);
}

bool ProfileResolver::credentials_ok(const Device& device, std::string_view authorization) {
  auto credentials = net::basic_credentials(authorization);
  if (!credentials) return false;
  // Argon2id per request would cap a busy server at a few dozen phones a
  // second: a verified header is remembered (by its hash) for a while.
  const std::string key =
      device.mac + '#' + std::to_string(device.revision) + '#' + core::digest_hex(authorization);
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(credentials_mutex_);
    auto it = verified_credentials_.find(key);
    if (it != verified_credentials_.end() && it->second > now) return true;
  }
  if (!core::secure_equal(credentials->first, device.http_username)) return false;
  if (!core::verify_password(device.http_password_hash, credentials->second)) return false;
  std::lock_guard lock(credentials_mutex_);
  if (verified_credentials_.size() > 100'000) verified_credentials_.clear();
  verified_credentials_[key] = now + kCredentialLifetime;
  return true;
}

Identification ProfileResolver::identify(const FetchRequest& request) {
  Identification id;
  CheckedPath checked = check_request_path(request.path);
  if (checked.refusal) {
    id.status = *checked.refusal == PathRefusal::empty ? 404 : 403;
    id.reason = std::string(to_string(*checked.refusal));
    return id;
  }
  id.path = std::move(checked.path);

  DevicePtr by_certificate;
  if (request.certificate) {
    const auto& c = *request.certificate;
    std::string_view serial = c.serial_number;
    if (auto sn = serial.find("SN:"); sn != std::string_view::npos) {
      serial = serial.substr(sn + 3);
      serial = serial.substr(0, serial.find_first_of(" ,;"));
    }
    if (!serial.empty()) by_certificate = devices_.find_by_serial(serial);
    for (const std::string* field : {&c.common_name, &c.serial_number, &c.organizational_unit}) {
      if (by_certificate) break;
      if (auto mac = normalize_mac(*field)) by_certificate = devices_.find(*mac);
      for (const auto& candidate : mac_candidates(*field)) {
        if (by_certificate) break;
        by_certificate = devices_.find(candidate);
      }
    }
    if (!by_certificate) {
      id.status = 403;
      id.reason = "the client certificate (CN=" + c.common_name + ") names no registered device";
      return id;
    }
  }

  DevicePtr by_name;
  for (const auto& candidate : mac_candidates(base_name(id.path))) {
    if ((by_name = devices_.find(candidate))) break;
  }

  DevicePtr by_agent;
  if (!request.certificate && config_.identify_by_user_agent && !request.user_agent.empty()) {
    if (auto ua = parse_user_agent(request.user_agent); ua && !ua->mac.empty()) by_agent = devices_.find(ua->mac);
  }

  DevicePtr claimed = by_certificate ? by_certificate : by_agent;
  if (claimed && by_name && claimed != by_name && claimed->mac != by_name->mac) {
    id.status = 403;
    id.reason = "device " + claimed->mac + " asked for the file of device " + by_name->mac;
    return id;
  }
  id.device = claimed ? claimed : by_name;
  if (!id.device && request.transport == Transport::tftp) {
    std::string mac;
    {
      std::shared_lock lock(addresses_mutex_);
      auto it = mac_by_address_.find(std::string(request.remote_address));
      if (it != mac_by_address_.end()) mac = it->second;
    }
    if (!mac.empty()) id.device = devices_.find(mac);
  }

  if (id.device && !id.device->http_username.empty()) {
    if (request.transport == Transport::tftp) {
      id.status = 403;
      id.reason = "device " + id.device->mac + " has HTTP credentials; its files are not served over TFTP";
      return id;
    }
    const std::string address(request.remote_address);
    if (auto wait = credential_failures_.retry_after(address); wait > 0) {
      id.status = 429;
      id.retry_after = wait;
      id.reason = "too many wrong device credentials from this address";
      return id;
    }
    if (!credentials_ok(*id.device, request.authorization)) {
      // A phone first asks without credentials; only wrong ones count.
      if (!request.authorization.empty()) credential_failures_.failed(address);
      id.status = 401;
      id.reason = "device " + id.device->mac + " must authenticate";
      return id;
    }
  }
  return id;
}

std::optional<ProfileResolver::Found> ProfileResolver::find_file(const Device* device, std::string_view path) {
  auto try_file = [](const std::filesystem::path& file, std::string relative,
                     bool is_template) -> std::optional<Found> {
    auto st = stat_file(file);
    if (!st || !st->regular) return std::nullopt;
    return Found{file, std::move(relative), is_template, *st};
  };
  if (device) {
    if (auto it = device->templates.find(std::string(path)); it != device->templates.end()) {
      if (auto f = try_file(root_ / it->second, it->second, true)) return f;
    }
  }
  const bool literal_macro = path.find('$') != std::string_view::npos;
  const std::vector<std::string> general = device ? generalized_names(path, *device) : std::vector<std::string>();
  std::string dirs[2] = {device && !device->customer.empty() ? device->customer + "/" : std::string(), ""};
  for (const auto& dir : dirs) {
    if (&dir == &dirs[0] && dir.empty()) continue;
    std::string name = dir + std::string(path);
    if (!literal_macro) {
      if (auto f = try_file(root_ / name, name, false)) return f;
    }
    if (auto f = try_file(root_ / (name + std::string(kTemplateSuffix)), name + std::string(kTemplateSuffix), true)) {
      return f;
    }
    for (const auto& name_template : general) {
      std::string g = dir + name_template;
      if (auto f = try_file(root_ / g, g, true)) return f;
      if (auto f = try_file(root_ / (g + std::string(kTemplateSuffix)), g + std::string(kTemplateSuffix), true)) {
        return f;
      }
    }
  }
  return std::nullopt;
}

std::optional<ProfileResolver::Found> ProfileResolver::look_up(const Device* device, std::string_view path) {
  const bool watched = watcher_ && watcher_->active();
  if (!watched && config_.lookup_cache.count() == 0) return find_file(device, path);
  // Read before looking: a change during the look-up invalidates what it found.
  const std::uint64_t generation = watched ? watcher_->generation() : 0;
  std::string key = device ? device->mac + '#' + std::to_string(device->revision) : std::string("-");
  key += '\n';
  key += path;
  const auto now = std::chrono::steady_clock::now();
  std::shared_ptr<const Lookup> remembered;
  {
    std::lock_guard lock(lookups_mutex_);
    auto it = lookups_.find(key);
    if (it != lookups_.end()) {
      if (watched ? it->second->generation == generation : it->second->until > now) remembered = it->second;
    }
  }
  if (remembered && watched) return remembered->found;
  if (remembered) {
    if (!remembered->found) return std::nullopt;
    // The file itself is checked every time: an edit shows at once.
    Found found = *remembered->found;
    if (auto st = stat_file(found.file); st && st->regular) {
      found.stat = *st;
      return found;
    }
  }
  auto lookup = std::make_shared<Lookup>();
  lookup->found = find_file(device, path);
  lookup->until = now + config_.lookup_cache;
  lookup->generation = generation;
  std::lock_guard lock(lookups_mutex_);
  if (lookups_.size() >= 100'000) lookups_.clear();
  lookups_[key] = lookup;
  return lookup->found;
}

struct ProfileResolver::Answer {
  FetchResult result;
  std::uint64_t device_changes = 0;
  std::uint64_t root_generation = 0;
};

FetchResult ProfileResolver::fetch(const FetchRequest& request) {
  if (request.transport == Transport::tftp || config_.cache_entries == 0 || !watcher_ || !watcher_->active()) {
    return resolve(request, nullptr);
  }
  // Read before resolving: a change meanwhile makes what is stored stale.
  const std::uint64_t device_changes = devices_.changes();
  const std::uint64_t root_generation = watcher_->generation();
  const std::string_view fingerprint =
      request.certificate ? std::string_view(request.certificate->fingerprint_sha256) : std::string_view();
  std::string key;
  key.reserve(request.path.size() + request.user_agent.size() + request.server_host.size() + 64);
  for (std::string_view part : {to_string(request.transport), request.server_host, request.server_port,
                                request.remote_address, request.user_agent, fingerprint, request.path}) {
    key += part;
    key += '\n';
  }
  {
    std::lock_guard lock(answers_mutex_);
    auto it = answers_.find(key);
    if (it != answers_.end() && it->second->device_changes == device_changes &&
        it->second->root_generation == root_generation) {
      cache_hits_.inc();
      return it->second->result;
    }
  }
  FetchResult result = resolve(request, nullptr);
  // A device with credentials is checked on every fetch.
  if (result.status == 200 && (!result.device || result.device->http_username.empty())) {
    auto answer = std::make_shared<Answer>(Answer{result, device_changes, root_generation});
    std::lock_guard lock(answers_mutex_);
    if (answers_.size() >= config_.cache_entries) answers_.clear();
    answers_[key] = std::move(answer);
  }
  return result;
}

FetchResult ProfileResolver::preview(const Device& device, std::string_view file) {
  FetchRequest request;
  request.transport = Transport::https;
  request.path = file;
  request.remote_address = "127.0.0.1";
  request.scheme = "https";
  request.server_host = "localhost";
  request.server_ip = "127.0.0.1";
  request.server_port = "8443";
  return resolve(request, std::make_shared<const Device>(device));
}

FetchResult ProfileResolver::resolve(const FetchRequest& request, DevicePtr forced_device) {
  FetchResult result;
  Identification id;
  if (forced_device) {
    CheckedPath checked = check_request_path(request.path);
    if (checked.refusal) {
      result.status = 403;
      result.reason = std::string(to_string(*checked.refusal));
      return result;
    }
    id.path = std::move(checked.path);
    id.device = forced_device;
  } else {
    id = identify(request);
  }
  result.device = id.device;
  if (id.status != 200) {
    result.status = id.status;
    result.reason = std::move(id.reason);
    result.retry_after = id.retry_after;
    return result;
  }
  if (id.path.starts_with("reports/")) {
    result.status = 403;
    result.reason = "reports/ only receives Report_Rule uploads";
    return result;
  }
  if (id.device && !forced_device) remember_address(request.remote_address, id.device->mac);

  auto found = look_up(id.device.get(), id.path);
  if (!found) {
    result.status = 404;
    result.reason = "no file or template for " + id.path + (id.device ? " (device " + id.device->mac + ")" : "");
    return result;
  }
  result.source = found->relative;
  if (!found->is_template) {
    result.file = found->file;
    result.size = found->stat.size;
    std::ostringstream etag;
    etag << '"' << std::hex << found->stat.mtime_ns << '-' << found->stat.size << '"';
    result.etag = etag.str();
    result.content_type = content_type_for(id.path, false);
    return result;
  }
  FetchResult rendered = render(request, id.device.get(), *found);
  rendered.device = id.device;
  return rendered;
}

FetchResult ProfileResolver::render(const FetchRequest& request, const Device* device, const Found& found) {
  FetchResult result;
  result.source = found.relative;
  auto fail = [&](std::string why) {
    render_failures_.inc();
    if (auto dropped = refusal_budget().take()) {
      core::logger("prov")->error("cannot render {}{}: {}{}", found.relative,
                                  device ? " for device " + device->mac : std::string(), why,
                                  *dropped ? fmt::format(" ({} similar lines dropped)", *dropped) : "");
    }
    result.status = 500;
    result.reason = "the profile could not be rendered";
    return result;
  };

  // The compiled template, read again when the file changed.
  std::shared_ptr<const CompiledTemplate> compiled;
  {
    std::lock_guard lock(templates_mutex_);
    auto it = templates_.find(found.relative);
    if (it != templates_.end() && it->second->size == found.stat.size &&
        it->second->mtime_ns == found.stat.mtime_ns) {
      compiled = it->second;
    }
  }
  if (!compiled) {
    if (found.stat.size > kMaxTemplateBytes) return fail("template larger than 16 MiB");
    auto text = read_small_file(found.file);
    if (!text) return fail("cannot read the template");
    auto macros = MacroTemplate::compile(*text);
    if (!macros) {
      return fail(fmt::format("macro syntax at byte {}: {}", macros.error().offset, macros.error().message));
    }
    auto c = std::make_shared<CompiledTemplate>();
    c->size = found.stat.size;
    c->mtime_ns = found.stat.mtime_ns;
    c->macros = std::move(macros).value();
    c->has_tags = text->find('%') != std::string::npos;
    for (const auto& name : c->macros.referenced_names()) {
      for (auto m : kRequestMacros) {
        if (m == name) c->request_macros.push_back(m);
      }
    }
    compiled = c;
    std::lock_guard lock(templates_mutex_);
    templates_[found.relative] = compiled;
  }

  // Request values this template uses, computed only when asked for.
  auto request_value = [&](std::string_view name) -> std::optional<std::string> {
    const auto* cert = request.certificate;
    if (name == "SCHEME") return std::string(request.scheme);
    if (name == "SERV") return std::string(request.server_host);
    if (name == "SERVIP") return std::string(request.server_ip);
    if (name == "PORT") return std::string(request.server_port);
    if (name == "PATH") return "/" + std::string(request.path.starts_with('/') ? request.path.substr(1) : request.path);
    if (name == "IP") return std::string(request.remote_address);
    if (name == "SWVER") {
      auto ua = parse_user_agent(request.user_agent);
      return ua && !ua->firmware.empty() ? std::optional<std::string>(ua->firmware) : std::nullopt;
    }
    if (name == "CCERT") return std::string(cert ? "Installed" : "Not Installed");
    if (!cert) return std::nullopt;
    if (name == "CERT_CN") return cert->common_name;
    if (name == "CERT_OU") return cert->organizational_unit;
    if (name == "CERT_O") return cert->organization;
    if (name == "CERT_L") return cert->locality;
    if (name == "CERT_S") return cert->state;
    if (name == "CERT_C") return cert->country;
    if (name == "CERT_SERIAL") return cert->serial_number;
    return std::nullopt;
  };

  std::string cache_key = found.relative;
  cache_key += '\n';
  cache_key += device ? device->mac + '#' + std::to_string(device->revision) : std::string("-");
  for (auto name : compiled->request_macros) {
    // A device variable of the same name wins over the request value.
    if (device && device->variables.count(std::string(name))) continue;
    cache_key += '\n';
    cache_key += name;
    cache_key += '=';
    cache_key += request_value(name).value_or("\x01");
  }
  if (config_.cache_entries > 0) {
    std::lock_guard lock(renders_mutex_);
    auto it = renders_.find(cache_key);
    if (it != renders_.end() && it->second.compiled == compiled) {
      cache_hits_.inc();
      result.body = it->second.body;
      result.etag = it->second.etag;
      result.size = result.body->size();
    }
  }

  // Encoding: the model's settings, then the device's own.
  bool gzip = false, encrypt = false;
  KeyDerivation kdf = KeyDerivation::md5;
  if (device) {
    if (auto m = config_.models.find(device->model); m != config_.models.end()) {
      gzip = m->second.gzip;
      encrypt = m->second.encrypt;
      kdf = key_derivation_from_string(m->second.key_derivation).value_or(KeyDerivation::md5);
    }
    if (!device->encoding.empty()) {
      gzip = device->encoding == "gzip" || device->encoding == "gzip+aes";
      encrypt = device->encoding == "aes" || device->encoding == "gzip+aes";
    }
    if (!device->key_derivation.empty()) {
      kdf = key_derivation_from_string(device->key_derivation).value_or(kdf);
    }
  }
  std::string_view name = base_name(found.relative);
  if (name.ends_with(kTemplateSuffix)) name.remove_suffix(kTemplateSuffix.size());
  result.content_type = content_type_for(name, gzip || encrypt);
  if (result.body) return result;

  MacroVariables vars;
  for (auto n : kRequestMacros) {
    if (auto v = request_value(n)) vars.set(std::string(n), std::move(*v));
  }
  TagValues tags = config_tags_;
  if (device) {
    add_device_macros(vars, *device);
    for (const auto& [k, v] : device->variables) tags[k] = v;
  }
  std::string body = compiled->macros.render(vars);
  if (compiled->has_tags) body = substitute_tags(body, tags);
  renders_total_.inc();

  if (gzip) {
    auto zipped = gzip_compress(body);
    if (!zipped) return fail("gzip: " + zipped.error());
    body = std::move(zipped).value();
  }
  if (encrypt) {
    if (device->profile_key.empty()) return fail("encryption is on but the device has no profile_key");
    auto plain_key = devices_.unseal(device->profile_key);
    if (!plain_key) return fail("cannot unseal the profile key: " + plain_key.error());
    // The key may name a device field ("$B", "$(KEY)") so each phone has its own.
    auto key_template = MacroTemplate::compile(*plain_key);
    if (!key_template) return fail("the profile key has a macro error: " + key_template.error().message);
    std::string key = key_template->render(vars, MacroContext::secret_option);
    if (key.empty()) return fail("the profile key expands to nothing");
    auto encrypted = openssl_enc_encrypt(body, key, kdf);
    if (!encrypted) return fail("aes: " + encrypted.error());
    body = std::move(encrypted).value();
  }

  auto shared = std::make_shared<const std::string>(std::move(body));
  result.body = shared;
  result.size = shared->size();
  result.etag = content_etag(*shared);
  if (config_.cache_entries > 0) {
    std::lock_guard lock(renders_mutex_);
    // Bounded without bookkeeping: when full, start over. Rendering is cheap
    // next to the fetch that refills an entry.
    if (renders_.size() >= config_.cache_entries) renders_.clear();
    renders_[cache_key] = {compiled, shared, result.etag};
  }
  return result;
}

}  // namespace ucedge::prov
