#pragma once
// The local user store of the authorization service (table authz_users): a
// user id, an optional alternate id (an e-mail address, matched without regard
// to case) and an Argon2id password hash. Users sign in with either id.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "store/store.hpp"

namespace ucedge::authz {

struct User {
  std::string userid;
  std::optional<std::string> alternate_id;
  std::int64_t created_at = 0;
};

enum class LoginError { unknown_user, wrong_password, unavailable };

class UserDirectory {
 public:
  explicit UserDirectory(store::Store& store, const core::Clock& clock = core::RealClock::instance());

  // Refuses an empty or over-long id (1-128 bytes, no control characters), an
  // alternate id another user has, and an empty password. The error says why.
  core::Result<User> add(std::string_view userid, std::optional<std::string_view> alternate_id,
                         std::string_view password);
  core::Result<void> set_password(std::string_view userid, std::string_view password);
  // False when there was no such user.
  core::Result<bool> remove(std::string_view userid);
  core::Result<std::vector<User>> list();
  core::Result<std::optional<User>> find(std::string_view login);

  // `login` is the user id or the alternate id. Runs an Argon2id verification
  // even for an unknown user, so the answer's timing does not tell whether
  // the user exists.
  core::Result<User, LoginError> authenticate(std::string_view login, std::string_view password);

 private:
  store::Store& store_;
  const core::Clock& clock_;
};

}  // namespace ucedge::authz
