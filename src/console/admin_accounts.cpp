#include "console/admin_accounts.hpp"


#include <chrono>
#include <exception>

#include "core/atomic_file.hpp"
#include "core/password.hpp"

namespace ucedge::console {

namespace {

using store::StoreError;

std::int64_t unix_seconds() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

core::Result<bool, StoreError> any_admin(store::Store& store) {
  auto rows = store.query("SELECT 1 FROM admin_accounts LIMIT 1");
  if (!rows) return core::fail(rows.error());
  return !rows->empty();
}

// A valid hash of a password nobody has, so an unknown user costs one verify.
const std::string& decoy_hash() {
  static const std::string hash = core::hash_password(core::random_password(32));
  return hash;
}

}  // namespace

core::Result<std::optional<std::string>, StoreError> ensure_initial_admin(
    store::Store& store, const std::filesystem::path& data_dir) {
  auto exists = any_admin(store);
  if (!exists) return core::fail(exists.error());
  if (*exists) return std::optional<std::string>();

  std::string password;
  std::string hash;
  try {
    password = core::random_password();
    hash = core::hash_password(password);
  } catch (const std::exception& e) {
    return core::fail(StoreError{StoreError::Kind::internal, e.what()});
  }

  // The password reaches the disk before the account does, so a crash in
  // between never leaves an account whose password nobody knows.
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  const std::filesystem::path final_path = data_dir / kInitialAdminPasswordFile;
  // Named per attempt: two processes sharing data_dir must not write one file.
  std::filesystem::path pending_path = final_path;
  pending_path += ".pending-" + core::random_password(8);
  if (auto written = core::write_file_atomically(pending_path, password + "\n", 0600, core::Overwrite::replace);
      !written) {
    return core::fail(StoreError{StoreError::Kind::unavailable, written.error()});
  }

  // One statement: with no administrator at all, insert `admin`. Two nodes
  // racing on one database both run it; the loser inserts nothing.
  auto inserted = store.exec(
      "INSERT INTO admin_accounts (username, password_hash, created_at) "
      "SELECT ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM admin_accounts) "
      "ON CONFLICT (username) DO NOTHING",
      {std::string(kInitialAdminUser), hash, unix_seconds()});
  if (!inserted || *inserted == 0) {
    std::filesystem::remove(pending_path, ec);
    if (!inserted) return core::fail(inserted.error());
    return std::optional<std::string>();
  }

  if (auto renamed = core::rename_durably(pending_path, final_path); !renamed) {
    // The account exists; its password is still in the pending file.
    return core::fail(StoreError{StoreError::Kind::unavailable, renamed.error()});
  }
  return std::optional<std::string>(std::move(password));
}

bool verify_admin(store::Store& store, std::string_view username, std::string_view password) {
  std::string hash;
  bool known = false;
  auto rows = store.query("SELECT password_hash FROM admin_accounts WHERE username = ?",
                          {std::string(username)});
  if (rows && !rows->empty()) {
    if (auto stored = (*rows)[0].get<std::string>(0)) {
      hash = std::move(*stored);
      known = true;
    }
  }
  try {
    const bool matches = core::verify_password(known ? hash : decoy_hash(), password);
    return known && matches;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace ucedge::console
