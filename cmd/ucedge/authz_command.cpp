#include "authz_command.hpp"

#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "app/config.hpp"
#include "authz/directory/clients.hpp"
#include "authz/directory/users.hpp"
#include "authz/jose/key_ring.hpp"
#include "authz/signals.hpp"
#include "authz/tokens/purge.hpp"
#include "authz/tokens/refresh_tokens.hpp"
#include "authz/tokens/revocations.hpp"
#include "core/password.hpp"
#include "core/strings.hpp"
#include "core/time_text.hpp"
#include "global_options.hpp"
#include "node_context.hpp"

namespace ucedge::cli {

namespace {

// Tells running nodes to apply a change now (at once on PostgreSQL; SQLite
// nodes see it at their next poll).
void announce(store::Store& store, std::string_view what) { (void)store.signal(authz::kSignalChannel, what); }

// What every authz sub-command needs: the node's data and the [authz] settings
// in the shapes the authz classes take them.
struct AuthzContext : NodeContext {
  static AuthzContext open(const GlobalOptions& options) { return AuthzContext{NodeContext::open(options)}; }

  const authz::AuthzConfig& settings() const { return config.authz; }
  // How long an access token issued now may be accepted.
  std::chrono::seconds access_horizon() const {
    return settings().access_token_lifetime + settings().clock_tolerance;
  }
  authz::KeyRingSettings key_settings() const {
    return {settings().access_token_lifetime, settings().jwks_max_age, settings().clock_tolerance};
  }
  authz::RotationSettings rotation_settings() const {
    return {settings().rotate_refresh_tokens, settings().rotation_grace_period,
            settings().rotation_grace_reuses};
  }
  authz::PurgeSettings purge_settings() const {
    return {settings().purge_hour, settings().purge_minute, settings().purge_batch, settings().purge_pause,
            settings().clock_tolerance};
  }
};

constexpr const char* kPickedUp = "A running ucedge picks this up within a second.\n";

// "2026-11-23 14:02:11 UTC", as the seed's dbinfo('utc_to_datetime', ...) reads.
std::string utc(std::int64_t unix_seconds) { return core::utc_readable(unix_seconds); }

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Rows under a header, each column as wide as its widest cell.
void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths(header.size());
  for (std::size_t i = 0; i < header.size(); ++i) widths[i] = header[i].size();
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i)
      widths[i] = std::max(widths[i], row[i].size());
  }
  const auto print_line = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      line += cells[i];
      if (i + 1 < cells.size()) line.append(widths[i] - cells[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  };
  print_line(header);
  for (const auto& row : rows) print_line(row);
}

// One line of standard input without its line ending; every other byte is
// part of the password. On a terminal the typing is not echoed.
std::string read_secret_line(const char* prompt) {
  const bool terminal = ::isatty(STDIN_FILENO) == 1;
  termios saved{};
  if (terminal && ::tcgetattr(STDIN_FILENO, &saved) == 0) {
    std::cerr << prompt << std::flush;
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::string line;
  const bool got = static_cast<bool>(std::getline(std::cin, line));
  if (terminal) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    std::cerr << "\n";
  }
  if (!got) fail("no password on standard input", 2);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

std::string password_from_stdin() {
  std::string password = read_secret_line("Password: ");
  if (password.empty()) fail("the password on standard input is empty", 2);
  if (::isatty(STDIN_FILENO) == 1 && read_secret_line("Again: ") != password) fail("the passwords differ", 2);
  return password;
}

void add_user_commands(CLI::App& authz, const GlobalOptions& options) {
  auto* user = authz.add_subcommand("user", "Local users who sign in on the login page");
  user->require_subcommand(1);

  struct AddArgs {
    std::string userid, alternate_id;
    bool password_stdin = false;
  };
  auto add_args = std::make_shared<AddArgs>();
  auto* add = user->add_subcommand(
      "add", "Add a user. Without --password-stdin a strong random password is made and shown once");
  add->add_option("USERID", add_args->userid, "The user id (1-128 bytes, kept and matched as typed)")
      ->required();
  auto* alternate =
      add->add_option("--alternate-id", add_args->alternate_id,
                      "An e-mail address to sign in with instead (matched without regard to case)");
  add->add_flag("--password-stdin", add_args->password_stdin,
                "Read the password from the first line of standard input, byte for byte");
  add->callback([&options, add_args, alternate] {
    auto c = AuthzContext::open(options);
    authz::UserDirectory users(*c.store);
    const bool generated = !add_args->password_stdin;
    const std::string password = generated ? core::random_password(20) : password_from_stdin();
    std::optional<std::string_view> alternate_id;
    if (alternate->count() > 0) alternate_id = add_args->alternate_id;
    auto added = users.add(add_args->userid, alternate_id, password);
    if (!added) fail(added.error());
    std::cout << "added user " << added->userid;
    if (added->alternate_id) std::cout << " (alternate id " << *added->alternate_id << ")";
    std::cout << "\n";
    if (generated) {
      std::cout << "password: " << password
                << "\n(shown only now: ucedge keeps only an Argon2id hash of it)\n";
    }
  });

  auto list_json = std::make_shared<bool>(false);
  auto* list = user->add_subcommand("list", "List users: user id, alternate id, when created");
  list->add_flag("--json", *list_json, "One JSON document");
  list->callback([&options, list_json] {
    auto c = AuthzContext::open(options);
    authz::UserDirectory users(*c.store);
    auto listed = users.list();
    if (!listed) fail(listed.error());
    if (*list_json) {
      nlohmann::json j = nlohmann::json::array();
      for (const auto& u : *listed) {
        j.push_back({{"userid", u.userid},
                     {"alternateId", u.alternate_id ? nlohmann::json(*u.alternate_id) : nlohmann::json()},
                     {"createdAt", utc(u.created_at)}});
      }
      std::cout << j.dump(2) << "\n";
      return;
    }
    if (listed->empty()) {
      std::cout << "No users. Add one with `ucedge authz user add USERID`.\n";
      return;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& u : *listed) rows.push_back({u.userid, u.alternate_id.value_or("-"), utc(u.created_at)});
    print_table({"USERID", "ALTERNATE ID", "CREATED"}, rows);
  });

  auto remove_id = std::make_shared<std::string>();
  auto* remove = user->add_subcommand("remove", "Remove a user and revoke every refresh token they hold");
  remove->add_option("USERID", *remove_id, "The user id")->required();
  remove->callback([&options, remove_id] {
    auto c = AuthzContext::open(options);
    authz::UserDirectory users(*c.store);
    auto removed = users.remove(*remove_id);
    if (!removed) fail(removed.error());
    if (!*removed) fail("no user " + *remove_id);
    // Their sign-ins end with them: refresh tokens and the access tokens made from them.
    authz::Revocations revocations(*c.store, c.access_horizon());
    authz::RefreshTokenStore tokens(*c.store, c.rotation_settings(), &revocations);
    auto revoked = tokens.revoke_user(*remove_id, std::nullopt);
    if (revoked) announce(*c.store, authz::kRevocationsChanged);
    if (!revoked) {
      fail("removed user " + *remove_id + ", but could not revoke their tokens (" +
           revoked.error().to_string() + "); run `ucedge authz tokens revoke --user " + *remove_id + "`");
    }
    std::cout << "removed user " << *remove_id << " and revoked " << *revoked << " refresh token(s)\n";
  });

  struct PasswdArgs {
    std::string userid;
    bool password_stdin = false;
  };
  auto passwd_args = std::make_shared<PasswdArgs>();
  auto* passwd = user->add_subcommand(
      "passwd", "Give a user a new password. Without --password-stdin a random one is made and shown once");
  passwd->add_option("USERID", passwd_args->userid, "The user id")->required();
  passwd->add_flag("--password-stdin", passwd_args->password_stdin,
                   "Read the password from the first line of standard input, byte for byte");
  passwd->callback([&options, passwd_args] {
    auto c = AuthzContext::open(options);
    authz::UserDirectory users(*c.store);
    const bool generated = !passwd_args->password_stdin;
    const std::string password = generated ? core::random_password(20) : password_from_stdin();
    if (auto set = users.set_password(passwd_args->userid, password); !set) fail(set.error());
    std::cout << "new password set for user " << passwd_args->userid << "\n";
    if (generated) {
      std::cout << "password: " << password
                << "\n(shown only now: ucedge keeps only an Argon2id hash of it)\n";
    }
    std::cout << "Devices already signed in stay signed in; `ucedge authz tokens revoke --user "
              << passwd_args->userid << "` signs them out.\n";
  });
}

nlohmann::json client_json(const authz::Client& client) {
  // The field names of RFC 7591 client metadata where there is one.
  return {{"client_id", client.client_id},
          {"client_name", client.name},
          {"client_type", client.confidential ? "confidential" : "public"},
          {"redirect_uris", client.redirect_uris},
          {"grant_types", client.grant_types},
          {"scope", core::join(client.scopes, " ")},
          {"created_at", utc(client.created_at)}};
}

void add_client_commands(CLI::App& authz, const GlobalOptions& options) {
  auto* client = authz.add_subcommand("client", "Applications that may ask for tokens");
  client->require_subcommand(1);

  struct AddArgs {
    std::string client_id, name;
    bool is_public = false, confidential = false, json = false;
    std::vector<std::string> redirect_uris, grants, scopes;
  };
  auto add_args = std::make_shared<AddArgs>();
  auto* add =
      client->add_subcommand("add", "Register a client; a confidential one gets a secret, shown once");
  add->add_option("CLIENT_ID", add_args->client_id,
                  "The client id: 1-128 letters, digits and . _ ~ - (default: a random one)");
  auto* is_public = add->add_flag("--public", add_args->is_public,
                                  "An app that cannot keep a secret (phone, desktop, browser): uses PKCE");
  auto* confidential =
      add->add_flag("--confidential", add_args->confidential, "A server-side application: gets a secret");
  is_public->excludes(confidential);
  add->add_option("--redirect-uri", add_args->redirect_uris,
                  "Where the code may be sent, matched exactly (a loopback http URI matches any port); "
                  "repeatable")
      ->allow_extra_args(false);
  add->add_option("--grant", add_args->grants,
                  "authorization_code, refresh_token or client_credentials; repeatable (default: "
                  "authorization_code and refresh_token, and client_credentials for a confidential client)")
      ->allow_extra_args(false);
  add->add_option("--scope", add_args->scopes, "A scope the client may ask for; repeatable (default: any)")
      ->allow_extra_args(false);
  add->add_option("--name", add_args->name, "A name people recognise");
  add->add_flag("--json", add_args->json, "As JSON, with client_secret for a confidential client");
  add->callback([&options, add_args] {
    if (!add_args->is_public && !add_args->confidential) fail("give --public or --confidential", 2);
    auto c = AuthzContext::open(options);
    authz::ClientRegistry registry(*c.store);
    authz::ClientSpec spec;
    spec.client_id = add_args->client_id;
    spec.name = add_args->name;
    spec.confidential = add_args->confidential;
    spec.redirect_uris = add_args->redirect_uris;
    spec.grant_types = add_args->grants;
    // "--scope 'openid profile'" is read as the two scopes it lists.
    for (const auto& item : add_args->scopes) {
      std::size_t i = 0;
      while (i <= item.size()) {
        const auto end = std::min(item.find(' ', i), item.size());
        if (end > i) spec.scopes.push_back(item.substr(i, end - i));
        i = end + 1;
      }
    }
    auto added = registry.add(spec);
    if (!added) fail(added.error());
    announce(*c.store, authz::kClientsChanged);
    const authz::Client& made = added->client;
    if (add_args->json) {
      nlohmann::json j = client_json(made);
      if (added->secret) j["client_secret"] = *added->secret;
      std::cout << j.dump(2) << "\n";
      return;
    }
    std::cout << "added " << (made.confidential ? "confidential" : "public") << " client " << made.client_id
              << "\n"
              << "client_id:     " << made.client_id << "\n";
    if (added->secret) {
      std::cout << "client_secret: " << *added->secret << "\n"
                << "The secret is shown only now and is not shown again: ucedge keeps only its SHA-256 "
                   "digest.\n`ucedge authz client rotate-secret "
                << made.client_id << "` makes a new one.\n";
    } else {
      std::cout << "A public client has no secret: it must use PKCE (S256).\n";
    }
    std::cout << kPickedUp;
  });

  auto list_json = std::make_shared<bool>(false);
  auto* list = client->add_subcommand("list", "List clients (never their secrets)");
  list->add_flag("--json", *list_json, "One JSON document");
  list->callback([&options, list_json] {
    auto c = AuthzContext::open(options);
    authz::ClientRegistry registry(*c.store);
    if (auto loaded = registry.reload(); !loaded) fail(loaded.error());
    const auto clients = registry.list();
    if (*list_json) {
      nlohmann::json j = nlohmann::json::array();
      for (const auto& client : clients) j.push_back(client_json(client));
      std::cout << j.dump(2) << "\n";
      return;
    }
    if (clients.empty()) {
      std::cout << "No clients. Add one with `ucedge authz client add --public --redirect-uri URI`.\n";
      return;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& client : clients) {
      rows.push_back({client.client_id, client.confidential ? "confidential" : "public",
                      core::join(client.grant_types, ","),
                      client.redirect_uris.empty() ? "-" : core::join(client.redirect_uris, " "),
                      client.name.empty() ? "-" : client.name});
    }
    print_table({"CLIENT ID", "TYPE", "GRANTS", "REDIRECT URIS", "NAME"}, rows);
  });

  auto remove_id = std::make_shared<std::string>();
  auto* remove = client->add_subcommand("remove", "Remove a client: it can no longer sign in or refresh");
  remove->add_option("CLIENT_ID", *remove_id, "The client id")->required();
  remove->callback([&options, remove_id] {
    auto c = AuthzContext::open(options);
    authz::ClientRegistry registry(*c.store);
    auto removed = registry.remove(*remove_id);
    if (!removed) fail(removed.error());
    if (!*removed) fail("no client " + *remove_id);
    announce(*c.store, authz::kClientsChanged);
    std::cout << "removed client " << *remove_id << "\n"
              << "Access tokens already issued to it stay valid until they expire (at most "
              << c.settings().access_token_lifetime.count() << "s).\n"
              << kPickedUp;
  });

  struct RotateArgs {
    std::string client_id;
    bool json = false;
  };
  auto rotate_args = std::make_shared<RotateArgs>();
  auto* rotate = client->add_subcommand(
      "rotate-secret", "Give a confidential client a new secret, shown once; the old one stops working");
  rotate->add_option("CLIENT_ID", rotate_args->client_id, "The client id")->required();
  rotate->add_flag("--json", rotate_args->json, "As JSON: client_id, client_secret");
  rotate->callback([&options, rotate_args] {
    auto c = AuthzContext::open(options);
    authz::ClientRegistry registry(*c.store);
    auto secret = registry.rotate_secret(rotate_args->client_id);
    if (!secret) fail(secret.error());
    announce(*c.store, authz::kClientsChanged);
    if (rotate_args->json) {
      std::cout << nlohmann::json{{"client_id", rotate_args->client_id}, {"client_secret", *secret}}.dump(2)
                << "\n";
      return;
    }
    std::cout << "new secret for client " << rotate_args->client_id << "\n"
              << "client_secret: " << *secret << "\n"
              << "The secret is shown only now and is not shown again; the old one no longer works.\n"
              << kPickedUp;
  });
}

std::optional<authz::RefreshState> parse_state(std::string_view text) {
  for (auto state :
       {authz::RefreshState::active, authz::RefreshState::rotated, authz::RefreshState::revoked}) {
    if (authz::to_string(state) == text) return state;
  }
  return std::nullopt;
}

void add_tokens_commands(CLI::App& authz, const GlobalOptions& options) {
  auto* tokens = authz.add_subcommand("tokens", "Refresh tokens: list them, revoke a user's");
  tokens->require_subcommand(1);

  struct ListArgs {
    std::string user, client, state;
    std::int64_t limit = 100;
    bool json = false;
  };
  auto list_args = std::make_shared<ListArgs>();
  auto* list = tokens->add_subcommand(
      "list", "List refresh tokens: pkid, refreshtokenindex, userid, clientid, validity, state");
  auto* user = list->add_option("--user", list_args->user, "Only this user's");
  auto* client = list->add_option("--client", list_args->client, "Only those of this client");
  auto* state =
      list->add_option("--state", list_args->state, "Only tokens in this state: active, rotated, revoked");
  list->add_option("--limit", list_args->limit, "At most this many rows (default 100)");
  list->add_flag("--json", list_args->json, "One JSON document");
  list->callback([&options, list_args, user, client, state] {
    authz::RefreshFilter filter;
    if (user->count() > 0) filter.userid = list_args->user;
    if (client->count() > 0) filter.clientid = list_args->client;
    if (state->count() > 0) {
      filter.state = parse_state(list_args->state);
      if (!filter.state)
        fail("--state \"" + list_args->state + "\" is not one of active, rotated, revoked", 2);
    }
    if (list_args->limit < 1 || list_args->limit > 1'000'000) fail("--limit must be 1 to 1000000", 2);
    filter.limit = list_args->limit;

    auto c = AuthzContext::open(options);
    authz::RefreshTokenStore store(*c.store, c.rotation_settings(), nullptr);
    auto listed = store.list(filter);
    if (!listed) fail("cannot list refresh tokens: " + listed.error().to_string());
    if (list_args->json) {
      nlohmann::json j = nlohmann::json::array();
      for (const auto& t : *listed) {
        j.push_back({{"pkid", t.pkid},
                     {"refreshtokenindex", t.index},
                     {"userid", t.userid},
                     {"clientid", t.clientid},
                     {"validity", t.validity},
                     {"validityUtc", utc(t.validity)},
                     {"state", authz::to_string(t.state)}});
      }
      std::cout << j.dump(2) << "\n";
      return;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& t : *listed) {
      rows.push_back(
          {t.pkid, t.index, t.userid, t.clientid, utc(t.validity), std::string(authz::to_string(t.state))});
    }
    print_table({"pkid", "refreshtokenindex", "userid", "clientid", "validity", "state"}, rows);
    const auto shown = static_cast<std::int64_t>(listed->size());
    if (shown == filter.limit) {
      auto total = store.count(filter);
      if (total && *total > shown) {
        std::cout << "(" << shown << " of " << *total << " rows; --limit shows more)\n";
        return;
      }
    }
    std::cout << "(" << shown << (shown == 1 ? " row)\n" : " rows)\n");
  });

  struct RevokeArgs {
    std::string user, client;
  };
  auto revoke_args = std::make_shared<RevokeArgs>();
  auto* revoke = tokens->add_subcommand(
      "revoke",
      "Revoke a user's refresh tokens (all, or on one client) and the access tokens made from them");
  revoke->add_option("--user", revoke_args->user, "The user id")->required();
  auto* revoke_client =
      revoke->add_option("--client", revoke_args->client, "Only on this client (one device)");
  revoke->callback([&options, revoke_args, revoke_client] {
    auto c = AuthzContext::open(options);
    authz::Revocations revocations(*c.store, c.access_horizon());
    authz::RefreshTokenStore store(*c.store, c.rotation_settings(), &revocations);
    std::optional<std::string_view> on_client;
    if (revoke_client->count() > 0) on_client = revoke_args->client;
    auto revoked = store.revoke_user(revoke_args->user, on_client);
    if (!revoked) fail("cannot revoke: " + revoked.error().to_string());
    announce(*c.store, authz::kRevocationsChanged);
    std::cout << "revoked " << *revoked << " refresh token(s) of user " << revoke_args->user;
    if (on_client) std::cout << " on client " << revoke_args->client;
    std::cout
        << "\nAccess tokens issued before now are refused too; every node applies this within a second.\n";
  });
}

std::optional<authz::KeyUse> parse_use(std::string_view text) {
  if (text == "signing") return authz::KeyUse::signing;
  if (text == "encryption") return authz::KeyUse::encryption;
  return std::nullopt;
}

authz::KeyRing& open_keys(AuthzContext& c, std::unique_ptr<authz::KeyRing>& holder) {
  holder = std::make_unique<authz::KeyRing>(*c.store, *c.secrets, c.key_settings());
  if (auto opened = holder->open(); !opened) fail("cannot open the keys: " + opened.error());
  return *holder;
}

void add_keys_commands(CLI::App& authz, const GlobalOptions& options) {
  auto* keys = authz.add_subcommand("keys", "The signing and encryption keys, shown only as hashes");
  keys->require_subcommand(1);

  struct ShowArgs {
    std::string use;
    bool json = false;
  };
  auto show_args = std::make_shared<ShowArgs>();
  auto* show = keys->add_subcommand("show", "Show the keys' hashes, states and times (never the keys)");
  show->add_option("USE", show_args->use, "signing or encryption (default: both)");
  show->add_flag("--json", show_args->json, "One JSON document");
  show->callback([&options, show_args] {
    std::optional<authz::KeyUse> only;
    if (!show_args->use.empty()) {
      only = parse_use(show_args->use);
      if (!only) fail("\"" + show_args->use + "\" is not signing or encryption", 2);
    }
    auto c = AuthzContext::open(options);
    std::unique_ptr<authz::KeyRing> holder;
    auto& ring = open_keys(c, holder);
    auto described = ring.describe();
    std::erase_if(described, [&](const authz::KeyInfo& k) { return only && k.use != *only; });
    std::stable_sort(described.begin(), described.end(),
                     [](const authz::KeyInfo& a, const authz::KeyInfo& b) {
                       if (a.use != b.use) return a.use == authz::KeyUse::signing;
                       return a.active_at > b.active_at;
                     });
    if (show_args->json) {
      nlohmann::json list = nlohmann::json::array();
      for (const auto& k : described) {
        list.push_back({{"kid", k.kid},
                        {"use", authz::to_string(k.use)},
                        {"hash", k.hash},
                        {"state", k.state},
                        {"createdAt", utc(k.created_at)},
                        {"activeAt", utc(k.active_at)},
                        {"retiredAt", k.retired_at ? nlohmann::json(utc(*k.retired_at)) : nlohmann::json()}});
      }
      std::cout << nlohmann::json{{"issuer", ring.issuer_id()}, {"keys", list}}.dump(2) << "\n";
      return;
    }
    std::cout << "issuer " << ring.issuer_id() << "\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& k : described) {
      rows.push_back({std::string(authz::to_string(k.use)), k.state, k.hash, utc(k.created_at),
                      utc(k.active_at), k.retired_at ? utc(*k.retired_at) : "-"});
    }
    print_table({"USE", "STATE", "HASH (SHA-256)", "CREATED", "IN USE FROM", "RETIRED"}, rows);
  });

  auto regenerate_use = std::make_shared<std::string>();
  auto* regenerate = keys->add_subcommand(
      "regenerate", "Make a new signing or encryption key; tokens made with the old one keep working");
  regenerate->add_option("USE", *regenerate_use, "signing or encryption")->required();
  regenerate->callback([&options, regenerate_use] {
    const auto use = parse_use(*regenerate_use);
    if (!use) fail("\"" + *regenerate_use + "\" is not signing or encryption", 2);
    auto c = AuthzContext::open(options);
    std::unique_ptr<authz::KeyRing> holder;
    auto& ring = open_keys(c, holder);
    std::optional<authz::KeyInfo> replaced;
    for (const auto& k : ring.describe()) {
      if (k.use == *use && k.state == "current") replaced = k;
    }
    auto made = ring.regenerate(*use);
    if (!made) fail("cannot regenerate the " + *regenerate_use + " key: " + made.error());
    announce(*c.store, authz::kKeysChanged);
    const std::int64_t horizon = c.access_horizon().count();
    std::cout << "new " << *regenerate_use << " key " << made->hash << "\n";
    if (*use == authz::KeyUse::signing) {
      std::cout << "Published in JWKS now; signs new tokens from " << utc(made->active_at)
                << " (after [authz] jwks_max_age, so clients holding a cached key set fetch it first).\n";
      if (replaced) {
        std::cout << "The key it replaces (" << replaced->hash << ") signs until then and is accepted until "
                  << utc(made->active_at + horizon) << ".\n";
      }
    } else {
      std::cout << "Encrypts new access tokens from " << utc(made->active_at) << ".\n";
      if (replaced) {
        std::cout << "The key it replaces (" << replaced->hash << ") still decrypts until "
                  << utc(std::max(made->active_at, unix_now()) + horizon) << ".\n";
      }
    }
    std::cout << "Every node uses the new key within a second; `ucedge authz keys show` compares.\n";
  });

  auto* export_keys = keys->add_subcommand(
      "export",
      "Print the keys a resource server needs to verify and decrypt tokens offline (JWKS, secret!)");
  export_keys->callback([&options] {
    auto c = AuthzContext::open(options);
    std::unique_ptr<authz::KeyRing> holder;
    auto& ring = open_keys(c, holder);
    std::cerr
        << "WARNING: this key set holds the secret encryption keys: whoever has it can read every access "
           "token. Hand it only to your resource servers, over a protected channel.\n";
    std::cout << ring.export_for_resource_servers().dump(2) << "\n";
  });
}

void add_purge_command(CLI::App& authz, const GlobalOptions& options) {
  auto* purge = authz.add_subcommand(
      "purge",
      "Delete expired refresh tokens, codes and revocation records now (the daily job, run by hand)");
  purge->callback([&options] {
    auto c = AuthzContext::open(options);
    authz::Revocations revocations(*c.store, c.access_horizon());
    authz::Purger purger(*c.store, &revocations, c.purge_settings());
    const std::atomic<bool> stop{false};
    auto report = purger.run(stop);
    if (!report) fail("purge failed: " + report.error().to_string());
    std::cout << "purged " << report->refresh_tokens << " refresh token(s), " << report->codes
              << " authorization code(s) and " << report->revocations << " revocation record(s) in "
              << report->batches << " batch(es), " << report->took.count() << " ms\n";
  });
}

}  // namespace

void add_authz_command(CLI::App& root, const GlobalOptions& options) {
  auto* authz = root.add_subcommand(
      "authz", "The OAuth 2.0 authorization service: users, clients, refresh tokens, keys, purge");
  authz->require_subcommand(1);
  add_user_commands(*authz, options);
  add_client_commands(*authz, options);
  add_tokens_commands(*authz, options);
  add_keys_commands(*authz, options);
  add_purge_command(*authz, options);
}

}  // namespace ucedge::cli
