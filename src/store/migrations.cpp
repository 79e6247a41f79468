#include "store/migrations.hpp"

#include <array>

namespace ucedge::store {

namespace {

// Append only. A released migration is never edited: write a new one.
constexpr std::array kMigrations{
    Migration{1, "node metadata and administrator accounts", R"sql(
CREATE TABLE node_meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE admin_accounts (
  username      TEXT PRIMARY KEY,
  password_hash TEXT NOT NULL,
  created_at    BIGINT NOT NULL
);
)sql"},
    Migration{2, "provisioning: devices, activation codes, device status, report uploads", R"sql(
CREATE TABLE prov_devices (
  mac                 TEXT PRIMARY KEY,
  serial              TEXT NOT NULL DEFAULT '',
  model               TEXT NOT NULL DEFAULT '',
  customer            TEXT NOT NULL DEFAULT '',
  subscriber          TEXT NOT NULL DEFAULT '',
  description         TEXT NOT NULL DEFAULT '',
  gpp                 TEXT NOT NULL DEFAULT '{}',
  variables           TEXT NOT NULL DEFAULT '{}',
  templates           TEXT NOT NULL DEFAULT '{}',
  profile_rule        TEXT NOT NULL DEFAULT '',
  encoding            TEXT NOT NULL DEFAULT '',
  key_derivation      TEXT NOT NULL DEFAULT '',
  profile_key         TEXT NOT NULL DEFAULT '',
  http_username       TEXT NOT NULL DEFAULT '',
  http_password_hash  TEXT NOT NULL DEFAULT '',
  sip_contact         TEXT NOT NULL DEFAULT '',
  cgi_url             TEXT NOT NULL DEFAULT '',
  cgi_username        TEXT NOT NULL DEFAULT '',
  cgi_password        TEXT NOT NULL DEFAULT '',
  created_at          BIGINT NOT NULL,
  updated_at          BIGINT NOT NULL
);
CREATE INDEX prov_devices_customer ON prov_devices (customer);
CREATE INDEX prov_devices_serial ON prov_devices (serial);
CREATE TABLE prov_activation_codes (
  code_hash    TEXT PRIMARY KEY,
  code_hint    TEXT NOT NULL,
  subscriber   TEXT NOT NULL DEFAULT '',
  device_mac   TEXT NOT NULL DEFAULT '',
  customer     TEXT NOT NULL DEFAULT '',
  created_at   BIGINT NOT NULL,
  expires_at   BIGINT NOT NULL,
  used_at      BIGINT,
  used_by_mac  TEXT
);
CREATE TABLE prov_device_status (
  mac               TEXT PRIMARY KEY,
  last_request_at   BIGINT,
  last_request_url  TEXT,
  last_result       TEXT,
  last_result_at    BIGINT,
  last_result_url   TEXT,
  last_error        TEXT,
  last_address      TEXT,
  updated_at        BIGINT NOT NULL
);
CREATE TABLE prov_reports (
  id           {id},
  mac          TEXT NOT NULL,
  name         TEXT NOT NULL,
  transport    TEXT NOT NULL,
  received_at  BIGINT NOT NULL,
  content      {blob} NOT NULL
);
CREATE INDEX prov_reports_mac ON prov_reports (mac, received_at);
)sql"},
    Migration{3, "TURN: long-term users, REST API shared secrets, the turnServers registry", R"sql(
CREATE TABLE turn_users (
  username    TEXT NOT NULL,
  realm       TEXT NOT NULL,
  key_md5     TEXT NOT NULL,
  key_sha256  TEXT NOT NULL,
  created_at  BIGINT NOT NULL,
  PRIMARY KEY (username, realm)
);
CREATE TABLE turn_secrets (
  id           {id},
  secret       TEXT NOT NULL,
  fingerprint  TEXT NOT NULL,
  created_at   BIGINT NOT NULL
);
CREATE TABLE turn_servers (
  id                          TEXT PRIMARY KEY,
  server_address              TEXT NOT NULL,
  client_address              TEXT NOT NULL DEFAULT '',
  username                    TEXT NOT NULL DEFAULT '',
  password                    TEXT NOT NULL DEFAULT '',
  use_short_term_credentials  BIGINT NOT NULL DEFAULT 0,
  shared_secret               TEXT NOT NULL DEFAULT '',
  type                        TEXT NOT NULL DEFAULT 'standard',
  tcp_port_number_override    BIGINT NOT NULL DEFAULT 0,
  num_registrations           BIGINT NOT NULL DEFAULT 0,
  created_at                  BIGINT NOT NULL,
  updated_at                  BIGINT NOT NULL
);
)sql"},
    Migration{4, "authorization: users, clients, codes, refresh tokens, revocations, keys", R"sql(
CREATE TABLE authz_users (
  userid         TEXT PRIMARY KEY,
  alternate_id   TEXT UNIQUE,
  password_hash  TEXT NOT NULL,
  created_at     BIGINT NOT NULL
);
CREATE TABLE authz_clients (
  client_id      TEXT PRIMARY KEY,
  name           TEXT NOT NULL DEFAULT '',
  confidential   INTEGER NOT NULL,
  secret_sha256  TEXT NOT NULL DEFAULT '',
  redirect_uris  TEXT NOT NULL DEFAULT '[]',
  grant_types    TEXT NOT NULL DEFAULT '[]',
  scopes         TEXT NOT NULL DEFAULT '',
  created_at     BIGINT NOT NULL
);
CREATE TABLE authz_codes (
  code_hash       TEXT PRIMARY KEY,
  client_id       TEXT NOT NULL,
  userid          TEXT NOT NULL,
  redirect_uri    TEXT NOT NULL,
  scope           TEXT NOT NULL,
  code_challenge  TEXT NOT NULL DEFAULT '',
  created_at      BIGINT NOT NULL,
  expires_at      BIGINT NOT NULL,
  used_at         BIGINT,
  family_id       TEXT
);
CREATE INDEX authz_codes_expires ON authz_codes (expires_at);
CREATE TABLE authz_refresh_tokens (
  pkid               TEXT PRIMARY KEY,
  refreshtokenindex  TEXT NOT NULL UNIQUE,
  userid             TEXT NOT NULL,
  clientid           TEXT NOT NULL,
  validity           BIGINT NOT NULL,
  state              TEXT NOT NULL,
  family_id          TEXT NOT NULL,
  scope              TEXT NOT NULL DEFAULT '',
  issued_at          BIGINT NOT NULL,
  rotated_at         BIGINT,
  child_index        TEXT,
  grace_uses         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX authz_refresh_tokens_validity ON authz_refresh_tokens (validity);
CREATE INDEX authz_refresh_tokens_user ON authz_refresh_tokens (userid, clientid);
CREATE INDEX authz_refresh_tokens_family ON authz_refresh_tokens (family_id);
CREATE TABLE authz_revocations (
  id          {id},
  family_id   TEXT,
  token_id    TEXT,
  userid      TEXT,
  clientid    TEXT,
  revoked_at  BIGINT NOT NULL,
  expires_at  BIGINT NOT NULL
);
CREATE INDEX authz_revocations_expires ON authz_revocations (expires_at);
CREATE TABLE authz_keys (
  kid         TEXT PRIMARY KEY,
  key_use     TEXT NOT NULL,
  material    TEXT NOT NULL,
  created_at  BIGINT NOT NULL,
  active_at   BIGINT NOT NULL,
  retired_at  BIGINT
);
CREATE TABLE authz_node_keys (
  node_id       TEXT PRIMARY KEY,
  signing_kid   TEXT NOT NULL,
  encryption_kid TEXT NOT NULL,
  seen_at       BIGINT NOT NULL
);
)sql"},
    Migration{5, "authorization: the digest of each refresh token as issued", R"sql(
ALTER TABLE authz_refresh_tokens ADD COLUMN token_digest TEXT;
)sql"},
};

struct DialectWord {
  std::string_view word;
  std::string_view sqlite;
  std::string_view postgres;
};

constexpr std::array kDialect{
    DialectWord{"{blob}", "BLOB", "BYTEA"},
    DialectWord{"{id}", "INTEGER PRIMARY KEY", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"},
};

}  // namespace

std::span<const Migration> known_migrations() { return kMigrations; }

std::string dialect_sql(std::string_view portable, Backend backend) {
  std::string out(portable);
  for (const auto& d : kDialect) {
    const std::string_view replacement = backend == Backend::postgres ? d.postgres : d.sqlite;
    for (std::size_t at = out.find(d.word); at != std::string::npos;
         at = out.find(d.word, at + replacement.size())) {
      out.replace(at, d.word.size(), replacement);
    }
  }
  return out;
}

}  // namespace ucedge::store
