#pragma once
// A provisioned device as the store keeps it and the admin API shows it.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "core/result.hpp"
#include "prov/codec/macro.hpp"

namespace ucedge::prov {

struct Device {
  std::string mac;          // $MA: 12 lower-case hex digits, the key
  std::string serial;       // $SN
  std::string model;        // $PN, e.g. "CP-7841-3PCC"
  std::string customer;     // sub-directory of the provisioning root, "" = none
  std::string subscriber;
  std::string description;
  std::map<std::string, std::string> gpp;        // "A".."P" → GPP_A..GPP_P ($A..$P)
  std::map<std::string, std::string> variables;  // more $NAME macros and %TAG% values
  std::map<std::string, std::string> templates;  // requested file name → template, relative to the root
  std::string profile_rule;                      // handed out on activation; "" = the configured default
  std::string encoding;                          // "" (model default), none, gzip, aes, gzip+aes
  std::string key_derivation;                    // "" (model default), md5, sha256, pbkdf2
  std::string profile_key;                       // sealed; its plain text may hold macros ($B, $(KEY))
  std::string http_username;                     // "" = no HTTP auth for this device's files
  std::string http_password_hash;                // Argon2id
  std::string sip_contact;                       // "udp:[user@]host[:port]" or "tcp:..." for resync NOTIFY
  std::string cgi_url;                           // "http://host[:port]" of the phone's web server
  std::string cgi_username;
  std::string cgi_password;                      // sealed
  std::int64_t created_at = 0;                   // Unix seconds
  std::int64_t updated_at = 0;
  std::uint64_t revision = 0;                    // bumps on every change this node sees (cache keys)

  bool operator==(const Device&) const = default;
};

// The product series ($PSN) of the device's model.
std::string product_series_of(const Device& device);

// The device's own macros: $MA, $MAU, $MAC, $SN, $PN, $PSN, $A..$P and its
// variables (the last win).
void add_device_macros(MacroVariables& vars, const Device& device);

// Where a SIP NOTIFY goes, parsed from Device::sip_contact.
struct SipContact {
  bool tcp = false;
  std::string user;
  std::string host;
  std::uint16_t port = 5060;
};
std::optional<SipContact> parse_sip_contact(std::string_view text);

// Fields an API call may set. Secrets arrive in plain text and leave sealed
// or hashed (by the caller, which owns the master key).
struct DeviceInput {
  std::optional<std::string> serial, model, customer, subscriber, description, profile_rule, encoding,
      key_derivation, sip_contact, cgi_url, cgi_username;
  std::optional<std::map<std::string, std::string>> gpp, variables, templates;
  std::optional<std::string> profile_key, http_username, http_password, cgi_password;  // plain text
};

// Reads a JSON object of DeviceInput fields; unknown fields and bad values
// are errors naming the field.
core::Result<DeviceInput> device_input_from_json(const nlohmann::json& j);
// Checks one input against the rules (customer is a safe directory name, GPP
// keys A..P, encodings known, contact parses, ...).
core::Result<void> validate(const DeviceInput& input);

// The API's view: secrets never leave; their presence does.
nlohmann::json to_json(const Device& device);

}  // namespace ucedge::prov
