#include "prov/activation.hpp"

#include <sodium.h>

namespace ucedge::prov {

namespace {

constexpr std::size_t kDigits = 16;

// Operators read codes out in groups; phones may send them that way.
std::optional<std::string> digits_only(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c >= '0' && c <= '9') out.push_back(c);
    else if (c != ' ' && c != '-') return std::nullopt;
  }
  if (out.size() != kDigits) return std::nullopt;
  return out;
}

core::Result<ActivationCode, store::StoreError> code_from_row(const store::Row& row) {
  ActivationCode c;
  std::string* fields[] = {&c.hint, &c.subscriber, &c.device_mac, &c.customer};
  for (std::size_t i = 0; i < 4; ++i) {
    auto v = row.get<std::string>(i);
    if (!v) return core::fail(v.error());
    *fields[i] = *v;
  }
  auto created = row.get<std::int64_t>(4);
  auto expires = row.get<std::int64_t>(5);
  auto used = row.get_optional<std::int64_t>(6);
  auto used_by = row.get_optional<std::string>(7);
  if (!created) return core::fail(created.error());
  if (!expires) return core::fail(expires.error());
  if (!used) return core::fail(used.error());
  if (!used_by) return core::fail(used_by.error());
  c.created_at = *created;
  c.expires_at = *expires;
  c.used_at = *used;
  c.used_by_mac = used_by->value_or("");
  return c;
}

constexpr std::string_view kSelect =
    "SELECT code_hint, subscriber, device_mac, customer, created_at, expires_at, used_at, used_by_mac "
    "FROM prov_activation_codes";

}  // namespace

std::string_view to_string(ActivationRefusal r) {
  switch (r) {
    case ActivationRefusal::malformed: return "invalid activation code: it must be 16 digits";
    case ActivationRefusal::unknown: return "invalid activation code";
    case ActivationRefusal::already_used: return "invalid activation code: it was already used";
    case ActivationRefusal::expired: return "invalid activation code: it has expired";
    case ActivationRefusal::wrong_device: return "invalid activation code: it belongs to another device";
    case ActivationRefusal::rate_limited: return "too many wrong activation codes from this address; try later";
  }
  return "invalid activation code";
}

ActivationCodes::ActivationCodes(store::Store& store, const core::SecretBox& secrets, int failures_per_minute,
                                 const core::Clock& clock)
    : store_(store), secrets_(secrets), clock_(clock), failures_(failures_per_minute, clock) {}

std::int64_t ActivationCodes::now_seconds() const {
  return std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count();
}

core::Result<ActivationCode> ActivationCodes::create(std::string subscriber, std::string device_mac,
                                                     std::string customer, std::chrono::seconds lifetime) {
  if (subscriber.empty() && device_mac.empty()) {
    return core::fail(std::string("an activation code is bound to a subscriber, a device, or both"));
  }
  ActivationCode c;
  c.subscriber = std::move(subscriber);
  c.device_mac = std::move(device_mac);
  c.customer = std::move(customer);
  c.created_at = now_seconds();
  c.expires_at = c.created_at + lifetime.count();
  // A collision with a live code is as likely as guessing one; retry anyway.
  for (int attempt = 0; attempt < 4; ++attempt) {
    c.code.clear();
    for (std::size_t i = 0; i < kDigits; ++i) c.code.push_back(static_cast<char>('0' + randombytes_uniform(10)));
    c.hint = c.code.substr(kDigits - 4);
    auto inserted = store_.exec(
        "INSERT INTO prov_activation_codes (code_hash, code_hint, subscriber, device_mac, customer, created_at, "
        "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (code_hash) DO NOTHING",
        {secrets_.keyed_hash(c.code), c.hint, c.subscriber, c.device_mac, c.customer, c.created_at, c.expires_at});
    if (!inserted) return core::fail("cannot store the activation code: " + inserted.error().message);
    if (*inserted == 1) return c;
  }
  return core::fail(std::string("cannot find a free activation code"));
}

std::vector<ActivationCode> ActivationCodes::list(std::size_t limit) const {
  std::vector<ActivationCode> out;
  auto rows = store_.query(std::string(kSelect) + " ORDER BY created_at DESC LIMIT ?",
                           {static_cast<std::int64_t>(limit)});
  if (!rows) return out;
  for (const auto& row : *rows) {
    if (auto c = code_from_row(row)) out.push_back(std::move(c).value());
  }
  return out;
}

core::Result<Redemption, ActivationRefusal> ActivationCodes::redeem(std::string_view text, const std::string& mac,
                                                                    const std::string& address) {
  if (retry_after(address) > 0) return core::fail(ActivationRefusal::rate_limited);
  auto refuse = [&](ActivationRefusal r) -> core::Result<Redemption, ActivationRefusal> {
    failures_.failed(address);
    return core::fail(r);
  };
  auto code = digits_only(text);
  if (!code) return refuse(ActivationRefusal::malformed);
  const std::string hash = secrets_.keyed_hash(*code);
  auto rows = store_.query(std::string(kSelect) + " WHERE code_hash = ?", {hash});
  if (!rows || rows->empty()) return refuse(ActivationRefusal::unknown);
  auto found = code_from_row(rows->front());
  if (!found) return refuse(ActivationRefusal::unknown);
  ActivationCode c = std::move(found).value();
  const std::int64_t now = now_seconds();
  if (c.used_at) return refuse(ActivationRefusal::already_used);
  if (now >= c.expires_at) return refuse(ActivationRefusal::expired);
  if (!c.device_mac.empty() && c.device_mac != mac) return refuse(ActivationRefusal::wrong_device);
  // The claim is one conditional UPDATE: of two phones racing with one code,
  // exactly one changes the row.
  auto claimed = store_.exec(
      "UPDATE prov_activation_codes SET used_at = ?, used_by_mac = ? WHERE code_hash = ? AND used_at IS NULL "
      "AND expires_at > ?",
      {now, mac, hash, now});
  if (!claimed || *claimed != 1) return refuse(ActivationRefusal::already_used);
  c.used_at = now;
  c.used_by_mac = mac;
  c.code = *code;
  return Redemption{std::move(c)};
}

void ActivationCodes::release(const std::string& code) {
  (void)store_.exec("UPDATE prov_activation_codes SET used_at = NULL, used_by_mac = NULL WHERE code_hash = ?",
                    {secrets_.keyed_hash(code)});
}

}  // namespace ucedge::prov
