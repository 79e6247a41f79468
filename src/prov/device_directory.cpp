#include "prov/device_directory.hpp"

#include <algorithm>
#include <mutex>

#include <nlohmann/json.hpp>
#include <sodium.h>

#include "core/password.hpp"
#include "prov/codec/device_names.hpp"

namespace ucedge::prov {

namespace {

constexpr std::string_view kGenerationKey = "prov.devices.generation";

// Every write changes the generation, in the same transaction, so other
// processes sharing the database notice (reload_if_changed).
core::Result<void, store::StoreError> bump_generation(store::Transaction& txn, std::string& generation) {
  unsigned char bytes[12];
  randombytes_buf(bytes, sizeof bytes);
  char hex[sizeof bytes * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, bytes, sizeof bytes);
  generation = hex;
  auto r = txn.exec("INSERT INTO node_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    {std::string(kGenerationKey), generation});
  if (!r) return core::fail(r.error());
  return {};
}

constexpr std::string_view kColumns =
    "mac, serial, model, customer, subscriber, description, gpp, variables, templates, profile_rule, encoding, "
    "key_derivation, profile_key, http_username, http_password_hash, sip_contact, cgi_url, cgi_username, "
    "cgi_password, created_at, updated_at";

std::map<std::string, std::string> map_from_json_text(const std::string& text) {
  std::map<std::string, std::string> out;
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return out;
  for (const auto& [k, v] : j.items()) {
    if (v.is_string()) out[k] = v.get<std::string>();
  }
  return out;
}

std::string map_to_json_text(const std::map<std::string, std::string>& m) { return nlohmann::json(m).dump(); }

core::Result<Device, store::StoreError> device_from_row(const store::Row& row) {
  Device d;
  std::string* text_fields[] = {&d.mac,        &d.serial,         &d.model,          &d.customer,
                                &d.subscriber, &d.description};
  for (std::size_t i = 0; i < 6; ++i) {
    auto v = row.get<std::string>(i);
    if (!v) return core::fail(v.error());
    *text_fields[i] = std::move(v).value();
  }
  std::map<std::string, std::string>* maps[] = {&d.gpp, &d.variables, &d.templates};
  for (std::size_t i = 0; i < 3; ++i) {
    auto v = row.get<std::string>(6 + i);
    if (!v) return core::fail(v.error());
    *maps[i] = map_from_json_text(*v);
  }
  std::string* rest[] = {&d.profile_rule,  &d.encoding,    &d.key_derivation, &d.profile_key,
                         &d.http_username, &d.http_password_hash, &d.sip_contact, &d.cgi_url,
                         &d.cgi_username,  &d.cgi_password};
  for (std::size_t i = 0; i < 10; ++i) {
    auto v = row.get<std::string>(9 + i);
    if (!v) return core::fail(v.error());
    *rest[i] = std::move(v).value();
  }
  auto created = row.get<std::int64_t>(19);
  auto updated = row.get<std::int64_t>(20);
  if (!created) return core::fail(created.error());
  if (!updated) return core::fail(updated.error());
  d.created_at = *created;
  d.updated_at = *updated;
  return d;
}

template <class T>
void assign(std::optional<T> const& from, T& to) {
  if (from) to = *from;
}

}  // namespace

DeviceDirectory::DeviceDirectory(store::Store& store, const core::SecretBox& secrets, const core::Clock& clock)
    : store_(store), secrets_(secrets), clock_(clock) {}

core::Result<std::string> DeviceDirectory::stored_generation() const {
  auto rows = store_.query("SELECT value FROM node_meta WHERE key = ?", {std::string(kGenerationKey)});
  if (!rows) return core::fail("cannot read the device generation: " + rows.error().message);
  if (rows->empty()) return std::string();
  auto v = rows->front().get<std::string>(0);
  if (!v) return core::fail(v.error().message);
  return *v;
}

core::Result<void> DeviceDirectory::load() {
  std::lock_guard write_lock(write_mutex_);
  auto generation = stored_generation();
  if (!generation) return core::fail(generation.error());
  auto rows = store_.query("SELECT " + std::string(kColumns) + " FROM prov_devices");
  if (!rows) return core::fail("cannot read devices: " + rows.error().message);
  std::vector<Device> loaded;
  for (const auto& row : *rows) {
    auto device = device_from_row(row);
    if (!device) return core::fail("cannot read a device: " + device.error().message);
    loaded.push_back(std::move(device).value());
  }
  std::unique_lock lock(mutex_);
  auto previous = std::move(by_mac_);
  by_mac_.clear();
  mac_by_serial_.clear();
  for (auto& d : loaded) {
    // An unchanged device keeps its revision, so its cached renders stay valid.
    auto old = previous.find(d.mac);
    if (old != previous.end()) {
      d.revision = old->second->revision;
      if (d == *old->second) {
        index(old->second);
        continue;
      }
    }
    d.revision = next_revision_++;
    index(std::make_shared<const Device>(std::move(d)));
  }
  generation_ = std::move(generation).value();
  changes_.fetch_add(1, std::memory_order_acq_rel);
  return {};
}

core::Result<bool> DeviceDirectory::reload_if_changed() {
  auto generation = stored_generation();
  if (!generation) return core::fail(generation.error());
  {
    std::shared_lock lock(mutex_);
    if (*generation == generation_) return false;
  }
  if (auto loaded = load(); !loaded) return core::fail(loaded.error());
  return true;
}

void DeviceDirectory::index(DevicePtr device) {
  if (!device->serial.empty()) mac_by_serial_[device->serial] = device->mac;
  by_mac_[device->mac] = std::move(device);
}

void DeviceDirectory::unindex(const Device& device) {
  if (!device.serial.empty()) {
    auto it = mac_by_serial_.find(device.serial);
    if (it != mac_by_serial_.end() && it->second == device.mac) mac_by_serial_.erase(it);
  }
  by_mac_.erase(device.mac);
}

DevicePtr DeviceDirectory::find(std::string_view mac) const {
  std::shared_lock lock(mutex_);
  auto it = by_mac_.find(std::string(mac));
  return it == by_mac_.end() ? nullptr : it->second;
}

DevicePtr DeviceDirectory::find_by_serial(std::string_view serial) const {
  std::shared_lock lock(mutex_);
  auto it = mac_by_serial_.find(std::string(serial));
  if (it == mac_by_serial_.end()) return nullptr;
  auto d = by_mac_.find(it->second);
  return d == by_mac_.end() ? nullptr : d->second;
}

std::vector<DevicePtr> DeviceDirectory::list(std::string_view customer) const {
  std::vector<DevicePtr> out;
  {
    std::shared_lock lock(mutex_);
    for (const auto& [mac, d] : by_mac_) {
      if (customer.empty() || d->customer == customer) out.push_back(d);
    }
  }
  std::sort(out.begin(), out.end(), [](const DevicePtr& a, const DevicePtr& b) { return a->mac < b->mac; });
  return out;
}

std::size_t DeviceDirectory::size() const {
  std::shared_lock lock(mutex_);
  return by_mac_.size();
}

core::Result<std::pair<DevicePtr, DeviceDirectory::Outcome>> DeviceDirectory::put(std::string_view mac_text,
                                                                                    const DeviceInput& input,
                                                                                    bool create_only) {
  auto mac = normalize_mac(mac_text);
  if (!mac) return core::fail("\"" + std::string(mac_text) + "\" is not a MAC address");
  if (auto valid = validate(input); !valid) return core::fail(valid.error());

  // Argon2id takes a while: hash before taking any lock.
  std::optional<std::string> password_hash;
  if (input.http_password) {
    password_hash = input.http_password->empty() ? std::string() : core::hash_password(*input.http_password);
  }

  // Writers are serialized so the store and the memory agree on the order.
  std::lock_guard write_lock(write_mutex_);
  DevicePtr existing = find(*mac);
  if (existing && create_only) return core::fail("device " + *mac + " already exists");

  Device d = existing ? *existing : Device{};
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                               clock_.now().time_since_epoch()).count();
  if (!existing) {
    d.mac = *mac;
    d.created_at = now;
  }
  d.updated_at = now;
  assign(input.serial, d.serial);
  assign(input.model, d.model);
  assign(input.customer, d.customer);
  assign(input.subscriber, d.subscriber);
  assign(input.description, d.description);
  assign(input.profile_rule, d.profile_rule);
  assign(input.encoding, d.encoding);
  assign(input.key_derivation, d.key_derivation);
  assign(input.sip_contact, d.sip_contact);
  assign(input.cgi_url, d.cgi_url);
  assign(input.cgi_username, d.cgi_username);
  assign(input.http_username, d.http_username);
  assign(input.gpp, d.gpp);
  assign(input.variables, d.variables);
  assign(input.templates, d.templates);
  if (input.profile_key) d.profile_key = input.profile_key->empty() ? "" : secrets_.seal(*input.profile_key);
  if (input.cgi_password) d.cgi_password = input.cgi_password->empty() ? "" : secrets_.seal(*input.cgi_password);
  if (password_hash) d.http_password_hash = *password_hash;
  if (d.http_username.empty() != d.http_password_hash.empty()) {
    return core::fail(std::string("http_username and http_password are set together"));
  }
  if (!d.serial.empty()) {
    auto other = find_by_serial(d.serial);
    if (other && other->mac != d.mac) return core::fail("serial " + d.serial + " belongs to device " + other->mac);
  }

  std::string generation;
  auto written = store_.transaction([&](store::Transaction& txn) -> core::Result<void, store::StoreError> {
  auto upserted = txn.exec(
      "INSERT INTO prov_devices (" + std::string(kColumns) +
          ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
          "ON CONFLICT (mac) DO UPDATE SET serial = excluded.serial, model = excluded.model, "
          "customer = excluded.customer, subscriber = excluded.subscriber, description = excluded.description, "
          "gpp = excluded.gpp, variables = excluded.variables, templates = excluded.templates, "
          "profile_rule = excluded.profile_rule, encoding = excluded.encoding, "
          "key_derivation = excluded.key_derivation, profile_key = excluded.profile_key, "
          "http_username = excluded.http_username, http_password_hash = excluded.http_password_hash, "
          "sip_contact = excluded.sip_contact, cgi_url = excluded.cgi_url, cgi_username = excluded.cgi_username, "
          "cgi_password = excluded.cgi_password, updated_at = excluded.updated_at",
      {d.mac, d.serial, d.model, d.customer, d.subscriber, d.description, map_to_json_text(d.gpp),
       map_to_json_text(d.variables), map_to_json_text(d.templates), d.profile_rule, d.encoding,
       d.key_derivation, d.profile_key, d.http_username, d.http_password_hash, d.sip_contact, d.cgi_url,
       d.cgi_username, d.cgi_password, d.created_at, d.updated_at});
    if (!upserted) return core::fail(upserted.error());
    return bump_generation(txn, generation);
  });
  if (!written) return core::fail("cannot store device " + d.mac + ": " + written.error().message);

  std::unique_lock lock(mutex_);
  generation_ = generation;
  if (existing) unindex(*existing);
  d.revision = next_revision_++;
  auto stored = std::make_shared<const Device>(std::move(d));
  index(stored);
  changes_.fetch_add(1, std::memory_order_acq_rel);
  return std::make_pair(stored, existing ? Outcome::updated : Outcome::created);
}

core::Result<bool> DeviceDirectory::remove(std::string_view mac_text) {
  auto mac = normalize_mac(mac_text);
  if (!mac) return core::fail("\"" + std::string(mac_text) + "\" is not a MAC address");
  std::lock_guard write_lock(write_mutex_);
  std::string generation;
  auto removed = store_.transaction([&](store::Transaction& txn) -> core::Result<void, store::StoreError> {
    for (const char* sql : {"DELETE FROM prov_devices WHERE mac = ?", "DELETE FROM prov_device_status WHERE mac = ?",
                            "DELETE FROM prov_reports WHERE mac = ?"}) {
      auto r = txn.exec(sql, {*mac});
      if (!r) return core::fail(r.error());
    }
    return bump_generation(txn, generation);
  });
  if (!removed) return core::fail("cannot remove device " + *mac + ": " + removed.error().message);
  std::unique_lock lock(mutex_);
  generation_ = generation;
  auto it = by_mac_.find(*mac);
  if (it == by_mac_.end()) return false;
  DevicePtr d = it->second;
  unindex(*d);
  changes_.fetch_add(1, std::memory_order_acq_rel);
  return true;
}

core::Result<std::string> DeviceDirectory::unseal(const std::string& sealed) const {
  if (sealed.empty()) return std::string();
  return secrets_.unseal(sealed);
}

}  // namespace ucedge::prov
