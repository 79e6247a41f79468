#include "turn/admin/turn_servers.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <limits>

#include <sodium.h>

namespace ucedge::turn {

namespace {

constexpr std::string_view kColumns =
    "id, server_address, client_address, username, password, use_short_term_credentials, shared_secret, type, "
    "tcp_port_number_override, num_registrations, created_at, updated_at";

// RFC 8489 §14.3: USERNAME is less than 513 bytes.
constexpr std::size_t kMaxUsername = 512;
constexpr std::size_t kMaxSecret = 1024;
constexpr std::size_t kMaxHostName = 253;  // RFC 1035 §2.3.4

RegistryError invalid(std::string message) { return {RegistryError::Kind::invalid, std::move(message)}; }
RegistryError not_found() { return {RegistryError::Kind::not_found, "no such TURN server"}; }
RegistryError unavailable(const store::StoreError& e) {
  return {RegistryError::Kind::unavailable, "store: " + e.to_string()};
}

std::int64_t unix_now(const core::Clock& clock) {
  return std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count();
}

std::string new_id() {
  std::array<unsigned char, 16> b;
  randombytes_buf(b.data(), b.size());
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);  // version 4 (RFC 9562 §5.4)
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);  // variant 10
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 0x0F];
  }
  return out;
}

// The id in lower case, or nullopt when it cannot be one of ours.
std::optional<std::string> normalize_id(std::string_view id) {
  if (id.size() != 36) return std::nullopt;
  std::string out(id);
  for (std::size_t i = 0; i < out.size(); ++i) {
    char& c = out[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return std::nullopt;
      continue;
    }
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  return out;
}

bool is_dns_name(std::string_view host) {
  if (host.empty() || host.size() > kMaxHostName) return false;
  std::size_t start = 0;
  while (start <= host.size()) {
    std::size_t end = host.find('.', start);
    if (end == std::string_view::npos) end = host.size();
    std::string_view label = host.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
    start = end + 1;
  }
  return true;
}

bool all_digits_and_dots(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == '.' || (c >= '0' && c <= '9'); });
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

bool has_control(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7F;
  });
}

core::Result<void, RegistryError> check_text(std::string_view field, const std::optional<std::string>& value,
                                             std::size_t max, bool allow_control) {
  if (!value) return {};
  if (value->size() > max) {
    return core::fail(invalid(std::string(field) + " is longer than " + std::to_string(max) + " bytes"));
  }
  if (!allow_control && has_control(*value)) {
    return core::fail(invalid(std::string(field) + " contains control characters"));
  }
  if (value->find('\0') != std::string::npos) return core::fail(invalid(std::string(field) + " contains a NUL byte"));
  return {};
}

// Each field on its own; rules between fields are in check_record.
core::Result<void, RegistryError> check_input(const TurnServerInput& in) {
  auto address = [](std::string_view field, const std::optional<std::string>& value)
      -> core::Result<void, RegistryError> {
    if (!value || value->empty()) return {};
    auto hp = parse_host_port(*value);
    if (!hp) return core::fail(invalid(std::string(field) + ": " + hp.error()));
    return {};
  };
  if (auto r = address("serverAddress", in.server_address); !r) return r;
  if (auto r = address("clientAddress", in.client_address); !r) return r;
  if (auto r = check_text("username", in.username, kMaxUsername, false); !r) return r;
  if (auto r = check_text("password", in.password, kMaxSecret, true); !r) return r;
  if (auto r = check_text("sharedSecret", in.shared_secret, kMaxSecret, true); !r) return r;
  if (in.type && !turn_server_type_from_string(*in.type)) {
    return core::fail(invalid("type is one of \"standard\", \"expressway\", \"cms\", \"lyncEdge\" (not \"" +
                              *in.type + "\")"));
  }
  if (in.tcp_port_number_override && (*in.tcp_port_number_override < 0 || *in.tcp_port_number_override > 65535)) {
    return core::fail(invalid("tcpPortNumberOverride is a port from 0 (none) to 65535"));
  }
  if (in.num_registrations &&
      (*in.num_registrations < 0 || *in.num_registrations > std::numeric_limits<std::int32_t>::max())) {
    return core::fail(invalid("numRegistrations is an integer from 0 to 2147483647"));
  }
  return {};
}

core::Result<void, RegistryError> check_record(const TurnServer& s) {
  if (s.server_address.empty()) return core::fail(invalid("serverAddress is required"));
  if (s.username.empty() != s.password.empty()) {
    return core::fail(invalid("username and password go together: set both, or neither"));
  }
  if (s.use_short_term_credentials && s.shared_secret.empty()) {
    return core::fail(invalid("useShortTermCredentials needs a sharedSecret"));
  }
  return {};
}

void apply(TurnServer& s, const TurnServerInput& in, const core::SecretBox& box) {
  auto seal = [&](const std::string& plain) { return plain.empty() ? std::string() : box.seal(plain); };
  if (in.server_address) s.server_address = *in.server_address;
  if (in.client_address) s.client_address = *in.client_address;
  if (in.username) s.username = *in.username;
  if (in.password) s.password = seal(*in.password);
  if (in.use_short_term_credentials) s.use_short_term_credentials = *in.use_short_term_credentials;
  if (in.shared_secret) s.shared_secret = seal(*in.shared_secret);
  if (in.type) s.type = *turn_server_type_from_string(*in.type);
  if (in.tcp_port_number_override) s.tcp_port_number_override = static_cast<std::uint16_t>(*in.tcp_port_number_override);
  if (in.num_registrations) s.num_registrations = *in.num_registrations;
}

core::Result<TurnServer, store::StoreError> from_row(const store::Row& row) {
  TurnServer s;
  std::string* text[] = {&s.id, &s.server_address, &s.client_address, &s.username, &s.password};
  for (std::size_t i = 0; i < 5; ++i) {
    auto v = row.get<std::string>(i);
    if (!v) return core::fail(v.error());
    *text[i] = std::move(v).value();
  }
  auto short_term = row.get<bool>(5);
  auto secret = row.get<std::string>(6);
  auto type = row.get<std::string>(7);
  auto tcp = row.get<std::int64_t>(8);
  auto registrations = row.get<std::int64_t>(9);
  auto created = row.get<std::int64_t>(10);
  auto updated = row.get<std::int64_t>(11);
  if (!short_term) return core::fail(short_term.error());
  if (!secret) return core::fail(secret.error());
  if (!type) return core::fail(type.error());
  if (!tcp) return core::fail(tcp.error());
  if (!registrations) return core::fail(registrations.error());
  if (!created) return core::fail(created.error());
  if (!updated) return core::fail(updated.error());
  auto parsed_type = turn_server_type_from_string(*type);
  if (!parsed_type) {
    return core::fail(store::StoreError{store::StoreError::Kind::invalid, "turn_servers.type \"" + *type + "\" is unknown"});
  }
  s.use_short_term_credentials = *short_term;
  s.shared_secret = std::move(secret).value();
  s.type = *parsed_type;
  s.tcp_port_number_override = static_cast<std::uint16_t>(std::clamp<std::int64_t>(*tcp, 0, 65535));
  s.num_registrations = *registrations;
  s.created_at = *created;
  s.updated_at = *updated;
  return s;
}

}  // namespace

std::string_view to_string(TurnServerType type) {
  switch (type) {
    case TurnServerType::standard: return "standard";
    case TurnServerType::expressway: return "expressway";
    case TurnServerType::cms: return "cms";
    case TurnServerType::lync_edge: return "lyncEdge";
  }
  return "standard";
}

std::optional<TurnServerType> turn_server_type_from_string(std::string_view text) {
  for (auto t : {TurnServerType::standard, TurnServerType::expressway, TurnServerType::cms, TurnServerType::lync_edge}) {
    if (text == to_string(t)) return t;
  }
  return std::nullopt;
}

core::Result<HostPort> parse_host_port(std::string_view text, std::uint16_t default_port) {
  if (text.empty()) return core::fail(std::string("the address is empty"));
  HostPort out;
  out.port = default_port;
  std::string_view host = text;
  std::optional<std::string_view> port;
  if (text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return core::fail("\"" + std::string(text) + "\" has no closing ']'");
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return core::fail("\"" + std::string(text) + "\": after ']' comes \":port\" or nothing");
      port = rest.substr(1);
    }
    in6_addr scratch{};
    if (::inet_pton(AF_INET6, std::string(host).c_str(), &scratch) != 1) {
      return core::fail("\"" + std::string(host) + "\" is not an IPv6 address");
    }
    out.ipv6_literal = true;
  } else {
    auto colon = text.find(':');
    if (colon != std::string_view::npos) {
      if (text.find(':', colon + 1) != std::string_view::npos) {
        return core::fail("\"" + std::string(text) + "\": an IPv6 address goes in brackets, as in [2001:db8::1]:3478");
      }
      host = text.substr(0, colon);
      port = text.substr(colon + 1);
    }
    if (host.empty()) return core::fail("\"" + std::string(text) + "\" has no host");
    if (all_digits_and_dots(host)) {
      in_addr scratch{};
      if (::inet_pton(AF_INET, std::string(host).c_str(), &scratch) != 1) {
        return core::fail("\"" + std::string(host) + "\" is not an IPv4 address");
      }
    } else if (!is_dns_name(host)) {
      return core::fail("\"" + std::string(host) + "\" is neither an IP address nor a host name");
    }
  }
  if (port) {
    auto p = parse_port(*port);
    if (!p) return core::fail("\"" + std::string(*port) + "\" is not a port from 1 to 65535");
    out.port = *p;
  }
  out.host = std::string(host);
  return out;
}

TurnServerRegistry::TurnServerRegistry(store::Store& store, const core::SecretBox& secrets, const core::Clock& clock)
    : store_(store), secrets_(secrets), clock_(clock) {}

core::Result<std::vector<TurnServer>, RegistryError> TurnServerRegistry::list() const {
  auto rows = store_.query("SELECT " + std::string(kColumns) + " FROM turn_servers ORDER BY created_at, id");
  if (!rows) return core::fail(unavailable(rows.error()));
  std::vector<TurnServer> out;
  out.reserve(rows->size());
  for (const auto& row : *rows) {
    auto s = from_row(row);
    if (!s) return core::fail(unavailable(s.error()));
    out.push_back(std::move(s).value());
  }
  return out;
}

core::Result<TurnServer, RegistryError> TurnServerRegistry::get(std::string_view id) const {
  auto key = normalize_id(id);
  if (!key) return core::fail(not_found());
  auto rows = store_.query("SELECT " + std::string(kColumns) + " FROM turn_servers WHERE id = ?", {*key});
  if (!rows) return core::fail(unavailable(rows.error()));
  if (rows->empty()) return core::fail(not_found());
  auto s = from_row(rows->front());
  if (!s) return core::fail(unavailable(s.error()));
  return std::move(s).value();
}

core::Result<TurnServer, RegistryError> TurnServerRegistry::create(const TurnServerInput& input) {
  if (auto r = check_input(input); !r) return core::fail(r.error());
  TurnServer s;
  apply(s, input, secrets_);
  if (auto r = check_record(s); !r) return core::fail(r.error());
  s.id = new_id();
  s.created_at = s.updated_at = unix_now(clock_);
  auto w = store_.exec("INSERT INTO turn_servers (" + std::string(kColumns) +
                           ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       {s.id, s.server_address, s.client_address, s.username, s.password,
                        std::int64_t{s.use_short_term_credentials ? 1 : 0}, s.shared_secret,
                        std::string(to_string(s.type)), std::int64_t{s.tcp_port_number_override},
                        s.num_registrations, s.created_at, s.updated_at});
  if (!w) return core::fail(unavailable(w.error()));
  return s;
}

core::Result<TurnServer, RegistryError> TurnServerRegistry::update(std::string_view id, const TurnServerInput& input) {
  auto key = normalize_id(id);
  if (!key) return core::fail(not_found());
  if (auto r = check_input(input); !r) return core::fail(r.error());
  std::optional<RegistryError> refused;
  TurnServer s;
  auto done = store_.transaction([&](store::Transaction& txn) -> core::Result<void, store::StoreError> {
    auto rows = txn.query("SELECT " + std::string(kColumns) + " FROM turn_servers WHERE id = ?", {*key});
    if (!rows) return core::fail(rows.error());
    if (rows->empty()) {
      refused = not_found();
      return core::fail(store::StoreError{store::StoreError::Kind::not_found, refused->message});
    }
    auto current = from_row(rows->front());
    if (!current) return core::fail(current.error());
    s = std::move(current).value();
    apply(s, input, secrets_);
    if (auto r = check_record(s); !r) {
      refused = r.error();
      return core::fail(store::StoreError{store::StoreError::Kind::invalid, refused->message});
    }
    s.updated_at = std::max(unix_now(clock_), s.created_at);
    auto w = txn.exec(
        "UPDATE turn_servers SET server_address = ?, client_address = ?, username = ?, password = ?, "
        "use_short_term_credentials = ?, shared_secret = ?, type = ?, tcp_port_number_override = ?, "
        "num_registrations = ?, updated_at = ? WHERE id = ?",
        {s.server_address, s.client_address, s.username, s.password,
         std::int64_t{s.use_short_term_credentials ? 1 : 0}, s.shared_secret, std::string(to_string(s.type)),
         std::int64_t{s.tcp_port_number_override}, s.num_registrations, s.updated_at, s.id});
    if (!w) return core::fail(w.error());
    return {};
  });
  if (refused) return core::fail(*refused);
  if (!done) return core::fail(unavailable(done.error()));
  return s;
}

core::Result<void, RegistryError> TurnServerRegistry::remove(std::string_view id) {
  auto key = normalize_id(id);
  if (!key) return core::fail(not_found());
  auto n = store_.exec("DELETE FROM turn_servers WHERE id = ?", {*key});
  if (!n) return core::fail(unavailable(n.error()));
  if (*n == 0) return core::fail(not_found());
  return {};
}

core::Result<ProbeTarget, RegistryError> TurnServerRegistry::probe_target(const TurnServer& server) const {
  ProbeTarget t;
  t.server_address = server.server_address;
  t.tcp_port = server.tcp_port_number_override;
  t.username = server.username;
  t.use_short_term_credentials = server.use_short_term_credentials;
  auto open = [&](const std::string& sealed, std::string_view what) -> core::Result<std::string, RegistryError> {
    if (sealed.empty()) return std::string();
    auto plain = secrets_.unseal(sealed);
    if (!plain) {
      return core::fail(RegistryError{RegistryError::Kind::unavailable,
                                      "cannot unseal the stored " + std::string(what) +
                                          " (was the master key changed?): " + plain.error()});
    }
    return std::move(plain).value();
  };
  auto password = open(server.password, "password");
  if (!password) return core::fail(password.error());
  auto secret = open(server.shared_secret, "sharedSecret");
  if (!secret) return core::fail(secret.error());
  t.password = std::move(password).value();
  t.shared_secret = std::move(secret).value();
  return t;
}

}  // namespace ucedge::turn
