#include "authz/directory/users.hpp"

#include <chrono>
#include <exception>

#include "core/password.hpp"

namespace ucedge::authz {

namespace {

constexpr std::size_t kMaxIdBytes = 128;
constexpr std::size_t kMaxAlternateIdBytes = 254;  // the longest usable e-mail address (RFC 5321 §4.5.3.1.3)
constexpr std::size_t kMaxPasswordBytes = 1024;

// An Argon2id hash, at the cost core::hash_password uses, of a random password
// nobody kept: verifying against it costs what verifying a real user costs.
constexpr std::string_view kDummyHash =
    "$argon2id$v=19$m=65536,t=2,p=1$Ueger9SJSSoKYuF+pJgYAw$YVtYoQOsh0wHKl1GQ/lcPTgF3hAtP+tih1JbGqIgJjU";

std::int64_t unix_seconds(const core::Clock& clock) {
  return std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count();
}

// E-mail addresses are compared without regard to ASCII case; other bytes
// (UTF-8 of an internationalised address) are kept as they are.
std::string lower_ascii(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool has_control(std::string_view text) {
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

core::Result<void> check_userid(std::string_view userid) {
  if (userid.empty()) return core::fail(std::string("the user id is empty"));
  if (userid.size() > kMaxIdBytes) {
    return core::fail("the user id is longer than " + std::to_string(kMaxIdBytes) + " bytes");
  }
  if (has_control(userid)) return core::fail(std::string("the user id holds a control character"));
  return {};
}

core::Result<void> check_alternate_id(std::string_view alternate_id) {
  if (alternate_id.empty()) return core::fail(std::string("the alternate id is empty"));
  if (alternate_id.size() > kMaxAlternateIdBytes) {
    return core::fail("the alternate id is longer than " + std::to_string(kMaxAlternateIdBytes) + " bytes");
  }
  if (has_control(alternate_id)) return core::fail(std::string("the alternate id holds a control character"));
  if (alternate_id.find(' ') != std::string_view::npos) {
    return core::fail(std::string("the alternate id holds a space"));
  }
  return {};
}

core::Result<void> check_password(std::string_view password) {
  if (password.empty()) return core::fail(std::string("the password is empty"));
  if (password.size() > kMaxPasswordBytes) {
    return core::fail("the password is longer than " + std::to_string(kMaxPasswordBytes) + " bytes");
  }
  return {};
}

std::string store_message(std::string_view what, const store::StoreError& error) {
  return std::string(what) + ": " + error.to_string();
}

struct Found {
  User user;
  std::string password_hash;
};

core::Result<User, store::StoreError> user_from(const store::Row& row) {
  User user;
  auto userid = row.get<std::string>("userid");
  if (!userid) return core::fail(userid.error());
  auto alternate = row.get_optional<std::string>("alternate_id");
  if (!alternate) return core::fail(alternate.error());
  auto created = row.get<std::int64_t>("created_at");
  if (!created) return core::fail(created.error());
  user.userid = std::move(userid).value();
  user.alternate_id = std::move(alternate).value();
  user.created_at = *created;
  return user;
}

// The user whose id is `login`, or else the one whose alternate id is (a
// login cannot match two users: add() keeps ids and alternate ids apart).
core::Result<std::optional<Found>, store::StoreError> lookup(store::Store& store, std::string_view login) {
  if (login.empty() || login.size() > kMaxAlternateIdBytes || has_control(login)) {
    return std::optional<Found>();
  }
  auto rows = store.query(
      "SELECT userid, alternate_id, password_hash, created_at FROM authz_users "
      "WHERE userid = ? OR alternate_id = ?",
      {std::string(login), lower_ascii(login)});
  if (!rows) return core::fail(rows.error());
  const store::Row* best = nullptr;
  for (const store::Row& row : *rows) {
    auto userid = row.get<std::string>("userid");
    if (!userid) return core::fail(userid.error());
    if (best == nullptr || *userid == login) best = &row;
  }
  if (best == nullptr) return std::optional<Found>();
  auto user = user_from(*best);
  if (!user) return core::fail(user.error());
  auto hash = best->get<std::string>("password_hash");
  if (!hash) return core::fail(hash.error());
  return std::optional<Found>(Found{std::move(user).value(), std::move(hash).value()});
}

// Argon2id needs ~64 MiB; running out of memory is the one way it throws.
core::Result<std::string> hash_or_error(std::string_view password) {
  try {
    return core::hash_password(password);
  } catch (const std::exception& e) {
    return core::fail("cannot hash the password: " + std::string(e.what()));
  }
}

}  // namespace

UserDirectory::UserDirectory(store::Store& store, const core::Clock& clock) : store_(store), clock_(clock) {}

core::Result<User> UserDirectory::add(std::string_view userid, std::optional<std::string_view> alternate_id,
                                      std::string_view password) {
  if (auto ok = check_userid(userid); !ok) return core::fail(ok.error());
  std::optional<std::string> alternate;
  if (alternate_id) {
    if (auto ok = check_alternate_id(*alternate_id); !ok) return core::fail(ok.error());
    alternate = lower_ascii(*alternate_id);
  }
  if (auto ok = check_password(password); !ok) return core::fail(ok.error());

  // A login names one user: the new id may not be someone's alternate id,
  // nor the alternate id someone's user id.
  auto clash = store_.query(
      "SELECT userid, alternate_id FROM authz_users WHERE userid = ? OR alternate_id = ? "
      "OR LOWER(userid) = ? OR alternate_id = ?",
      {std::string(userid), lower_ascii(userid), alternate.value_or(""), alternate.value_or("")});
  if (!clash) return core::fail(store_message("cannot read the users", clash.error()));
  for (const store::Row& row : *clash) {
    auto other = row.get<std::string>("userid");
    if (!other) return core::fail(store_message("cannot read the users", other.error()));
    if (*other == userid) return core::fail("user " + std::string(userid) + " already exists");
    auto other_alternate = row.get_optional<std::string>("alternate_id");
    if (!other_alternate) return core::fail(store_message("cannot read the users", other_alternate.error()));
    if (*other_alternate == lower_ascii(userid)) {
      return core::fail("the user id " + std::string(userid) + " is the alternate id of user " + *other);
    }
    if (alternate && *other_alternate == *alternate) {
      return core::fail("the alternate id " + *alternate + " belongs to user " + *other);
    }
    if (alternate && lower_ascii(*other) == *alternate) {
      return core::fail("the alternate id " + *alternate + " is the user id of another user");
    }
  }

  auto hash = hash_or_error(password);
  if (!hash) return core::fail(hash.error());
  User user{std::string(userid), alternate, unix_seconds(clock_)};
  auto inserted = store_.exec(
      "INSERT INTO authz_users (userid, alternate_id, password_hash, created_at) VALUES (?, ?, ?, ?) "
      "ON CONFLICT (userid) DO NOTHING",
      {user.userid, alternate ? store::Value(*alternate) : store::Value(), std::move(hash).value(),
       user.created_at});
  if (!inserted) {
    // Another process took the alternate id between the check and the insert.
    if (inserted.error().kind == store::StoreError::Kind::constraint) {
      return core::fail("the alternate id " + alternate.value_or("") + " belongs to another user");
    }
    return core::fail(store_message("cannot add the user", inserted.error()));
  }
  if (*inserted == 0) return core::fail("user " + user.userid + " already exists");
  return user;
}

core::Result<void> UserDirectory::set_password(std::string_view userid, std::string_view password) {
  if (auto ok = check_password(password); !ok) return core::fail(ok.error());
  auto hash = hash_or_error(password);
  if (!hash) return core::fail(hash.error());
  auto updated = store_.exec("UPDATE authz_users SET password_hash = ? WHERE userid = ?",
                             {std::move(hash).value(), std::string(userid)});
  if (!updated) return core::fail(store_message("cannot set the password", updated.error()));
  if (*updated == 0) return core::fail("no user " + std::string(userid));
  return {};
}

core::Result<bool> UserDirectory::remove(std::string_view userid) {
  auto removed = store_.exec("DELETE FROM authz_users WHERE userid = ?", {std::string(userid)});
  if (!removed) return core::fail(store_message("cannot remove the user", removed.error()));
  return *removed > 0;
}

core::Result<std::vector<User>> UserDirectory::list() {
  auto rows = store_.query("SELECT userid, alternate_id, created_at FROM authz_users ORDER BY userid");
  if (!rows) return core::fail(store_message("cannot read the users", rows.error()));
  std::vector<User> users;
  users.reserve(rows->size());
  for (const store::Row& row : *rows) {
    auto user = user_from(row);
    if (!user) return core::fail(store_message("cannot read the users", user.error()));
    users.push_back(std::move(user).value());
  }
  return users;
}

core::Result<std::optional<User>> UserDirectory::find(std::string_view login) {
  auto found = lookup(store_, login);
  if (!found) return core::fail(store_message("cannot read the users", found.error()));
  if (!*found) return std::optional<User>();
  return std::optional<User>(std::move((*found)->user));
}

core::Result<User, LoginError> UserDirectory::authenticate(std::string_view login,
                                                           std::string_view password) {
  auto found = lookup(store_, login);
  if (!found) return core::fail(LoginError::unavailable);
  if (!*found) {
    // Same work as for a real user, so timing does not tell who exists.
    (void)core::verify_password(kDummyHash, password);
    return core::fail(LoginError::unknown_user);
  }
  if (!core::verify_password((*found)->password_hash, password))
    return core::fail(LoginError::wrong_password);
  return std::move((*found)->user);
}

}  // namespace ucedge::authz
