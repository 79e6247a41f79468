#include "turn_command.hpp"

#include <sodium.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "app/config.hpp"
#include "core/config_table.hpp"
#include "core/password.hpp"
#include "core/secret_box.hpp"
#include "core/time_text.hpp"
#include "global_options.hpp"
#include "node_context.hpp"
#include "store/store.hpp"
#include "turn/auth/credentials.hpp"

namespace ucedge::cli {

namespace {

// What every turn sub-command needs: the node's data and the credentials in it.
struct TurnContext : NodeContext {
  std::unique_ptr<turn::CredentialStore> credentials;

  static TurnContext open(const GlobalOptions& options) {
    TurnContext c{NodeContext::open(options), nullptr};
    c.credentials = std::make_unique<turn::CredentialStore>(*c.store, *c.secrets);
    if (auto loaded = c.credentials->load(); !loaded) fail(loaded.error());
    return c;
  }
};

constexpr const char* kPickedUp = "A running ucedge picks this up within seconds.\n";

void add_user_commands(CLI::App& turn, const GlobalOptions& options) {
  auto* user = turn.add_subcommand("user", "Long-term credential users (username, realm, password)");
  user->require_subcommand(1);

  struct AddArgs {
    std::string name, realm, password;
  };
  auto add_args = std::make_shared<AddArgs>();
  auto* add = user->add_subcommand("add", "Add a user, or give an existing one a new password");
  add->add_option("NAME", add_args->name, "The username (USERNAME attribute)")->required();
  add->add_option("--realm", add_args->realm, "The realm (default: [turn] realm)");
  add->add_option("--password", add_args->password,
                  "The password; \"-\" reads it from the first line of standard input. Without it a strong "
                  "random password is made and shown once");
  add->callback([&options, add_args] {
    auto c = TurnContext::open(options);
    const std::string realm = add_args->realm.empty() ? c.config.turn.realm : add_args->realm;
    std::string password = add_args->password;
    const bool generated = password.empty();
    if (generated) {
      password = core::random_password(24);
    } else if (password == "-") {
      if (!std::getline(std::cin, password) || password.empty()) fail("no password on standard input", 2);
      if (!password.empty() && password.back() == '\r') password.pop_back();
    }
    bool existed = false;
    auto users = c.credentials->users();
    if (!users) fail(users.error());
    for (const auto& u : *users) existed = existed || (u.username == add_args->name && u.realm == realm);
    if (auto added = c.credentials->add_user(add_args->name, realm, password); !added) fail(added.error());
    std::cout << (existed ? "updated" : "added") << " user " << add_args->name << " in realm " << realm
              << "\n";
    if (generated)
      std::cout << "password: " << password
                << "\n(shown only now: ucedge keeps only a key derived from it)\n";
    std::cout << kPickedUp;
  });

  auto list_json = std::make_shared<bool>(false);
  auto* list = user->add_subcommand("list", "List users: username, realm, when created");
  list->add_flag("--json", *list_json, "One JSON document");
  list->callback([&options, list_json] {
    auto c = TurnContext::open(options);
    auto users = c.credentials->users();
    if (!users) fail(users.error());
    if (*list_json) {
      nlohmann::json j = nlohmann::json::array();
      for (const auto& u : *users) {
        j.push_back({{"username", u.username}, {"realm", u.realm}, {"createdAt", core::utc_timestamp(u.created_at)}});
      }
      std::cout << j.dump(2) << "\n";
      return;
    }
    if (users->empty()) {
      std::cout << "No TURN users. Add one with `ucedge turn user add NAME`.\n";
      return;
    }
    std::size_t name_width = 8, realm_width = 5;
    for (const auto& u : *users) {
      name_width = std::max(name_width, u.username.size());
      realm_width = std::max(realm_width, u.realm.size());
    }
    std::cout << std::left << std::setw(static_cast<int>(name_width + 2)) << "USERNAME"
              << std::setw(static_cast<int>(realm_width + 2)) << "REALM"
              << "CREATED\n";
    for (const auto& u : *users) {
      std::cout << std::setw(static_cast<int>(name_width + 2)) << u.username
                << std::setw(static_cast<int>(realm_width + 2)) << u.realm << core::utc_timestamp(u.created_at) << "\n";
    }
  });

  struct RemoveArgs {
    std::string name, realm;
  };
  auto remove_args = std::make_shared<RemoveArgs>();
  auto* remove = user->add_subcommand("remove", "Remove a user");
  remove->add_option("NAME", remove_args->name, "The username")->required();
  remove->add_option("--realm", remove_args->realm, "The realm (default: [turn] realm)");
  remove->callback([&options, remove_args] {
    auto c = TurnContext::open(options);
    const std::string realm = remove_args->realm.empty() ? c.config.turn.realm : remove_args->realm;
    auto removed = c.credentials->remove_user(remove_args->name, realm);
    if (!removed) fail(removed.error());
    if (!*removed) fail("no user " + remove_args->name + " in realm " + realm);
    std::cout << "removed user " << remove_args->name << " from realm " << realm << "\n"
              << "Allocations it holds run until they expire or are refreshed.\n";
  });
}

void add_secret_commands(CLI::App& turn, const GlobalOptions& options) {
  auto* secret =
      turn.add_subcommand("secret", "Shared secrets of the TURN REST API (several at once for rotation)");
  secret->require_subcommand(1);

  auto add_value = std::make_shared<std::string>();
  auto* add = secret->add_subcommand("add", "Add a shared secret");
  add->add_option(
      "SECRET", *add_value,
      "The secret (16 bytes or more; \"-\" reads it from standard input). Without it 32 random bytes "
      "are made, base64, and shown once");
  add->callback([&options, add_value] {
    auto c = TurnContext::open(options);
    std::string value = *add_value;
    const bool generated = value.empty();
    if (generated) {
      unsigned char bytes[32];
      randombytes_buf(bytes, sizeof bytes);
      std::string encoded(sodium_base64_ENCODED_LEN(sizeof bytes, sodium_base64_VARIANT_ORIGINAL), '\0');
      sodium_bin2base64(encoded.data(), encoded.size(), bytes, sizeof bytes, sodium_base64_VARIANT_ORIGINAL);
      encoded.resize(std::strlen(encoded.c_str()));
      sodium_memzero(bytes, sizeof bytes);
      value = std::move(encoded);
    } else if (value == "-") {
      if (!std::getline(std::cin, value) || value.empty()) fail("no secret on standard input", 2);
      if (!value.empty() && value.back() == '\r') value.pop_back();
    }
    auto added = c.credentials->add_secret(value);
    if (!added) fail(added.error());
    std::cout << "added secret " << added->id << " (fingerprint " << added->fingerprint << ")\n";
    if (generated)
      std::cout << "secret: " << value
                << "\n(shown only now; give it to the applications that issue credentials)\n";
    std::cout << kPickedUp;
  });

  auto list_json = std::make_shared<bool>(false);
  auto* list =
      secret->add_subcommand("list", "List shared secrets: id, fingerprint, when created (never the secret)");
  list->add_flag("--json", *list_json, "One JSON document");
  list->callback([&options, list_json] {
    auto c = TurnContext::open(options);
    auto secrets = c.credentials->secrets();
    if (!secrets) fail(secrets.error());
    if (*list_json) {
      nlohmann::json j = nlohmann::json::array();
      for (const auto& s : *secrets) {
        j.push_back({{"id", s.id}, {"fingerprint", s.fingerprint}, {"createdAt", core::utc_timestamp(s.created_at)}});
      }
      std::cout << j.dump(2) << "\n";
      return;
    }
    if (secrets->empty()) {
      std::cout << "No shared secrets. Add one with `ucedge turn secret add`.\n";
      return;
    }
    std::cout << std::left << std::setw(8) << "ID" << std::setw(13) << "FINGERPRINT"
              << "CREATED\n";
    for (const auto& s : *secrets) {
      std::cout << std::setw(8) << s.id << std::setw(13) << s.fingerprint << core::utc_timestamp(s.created_at) << "\n";
    }
  });

  auto remove_id = std::make_shared<std::int64_t>(0);
  auto* remove =
      secret->add_subcommand("remove", "Remove a shared secret: credentials made with it stop working");
  remove->add_option("ID", *remove_id, "The id `ucedge turn secret list` shows")->required();
  remove->callback([&options, remove_id] {
    auto c = TurnContext::open(options);
    auto removed = c.credentials->remove_secret(*remove_id);
    if (!removed) fail(removed.error());
    if (!*removed) fail("no shared secret " + std::to_string(*remove_id));
    std::cout << "removed secret " << *remove_id << "\n" << kPickedUp;
  });
}

void add_credentials_command(CLI::App& turn, const GlobalOptions& options) {
  struct Args {
    std::string user;
    std::int64_t secret_id = 0;
    std::string ttl = "24h";
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  auto* credentials = turn.add_subcommand(
      "credentials", "Print a TURN REST API username (EXPIRY:USER) and password made with a shared secret");
  credentials->add_option("USER", args->user, "Who the credentials are for (the part after the expiry)")
      ->required();
  auto* secret_id =
      credentials->add_option("--secret-id", args->secret_id, "The secret to use (default: the newest)");
  credentials->add_option("--ttl", args->ttl, "How long they stay valid, e.g. 24h, 30m, 7d (default 24h)");
  credentials->add_flag("--json", args->json, "As JSON: username, password, ttl (seconds), expiresAt");
  credentials->callback([&options, args, secret_id] {
    auto c = TurnContext::open(options);
    auto ttl = core::parse_duration(args->ttl);
    if (!ttl || *ttl < std::chrono::seconds(1))
      fail("--ttl \"" + args->ttl + "\" is not a duration of a second or more", 2);
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(*ttl);
    std::optional<std::int64_t> id;
    if (secret_id->count() > 0) id = args->secret_id;
    auto issued = c.credentials->issue_rest_credentials(args->user, seconds, id);
    if (!issued) fail(issued.error());
    if (args->json) {
      nlohmann::json j = {{"username", issued->username},
                          {"password", issued->password},
                          {"ttl", seconds.count()},
                          {"expiresAt", core::utc_timestamp(issued->expires_at)}};
      std::cout << j.dump(2) << "\n";
      return;
    }
    std::cout << "username: " << issued->username << "\n"
              << "password: " << issued->password << "\n"
              << "realm:    " << c.config.turn.realm << "\n"
              << "expires:  " << core::utc_timestamp(issued->expires_at) << " (secret " << issued->secret_id << ")\n";
  });
}

}  // namespace

void add_turn_command(CLI::App& root, const GlobalOptions& options) {
  auto* turn =
      root.add_subcommand("turn", "TURN relay credentials: users, shared secrets, REST API credentials");
  turn->require_subcommand(1);
  add_user_commands(*turn, options);
  add_secret_commands(*turn, options);
  add_credentials_command(*turn, options);
}

}  // namespace ucedge::cli
