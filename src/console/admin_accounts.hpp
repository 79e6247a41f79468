#pragma once
// Administrator accounts of the admin API and web console.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "store/store.hpp"

namespace ucedge::console {

inline constexpr std::string_view kInitialAdminUser = "admin";
// Written into data_dir, readable by the owner only.
inline constexpr std::string_view kInitialAdminPasswordFile = "initial-admin-password";

// When there is no administrator yet, creates `admin` with a random password,
// keeps only its Argon2id hash, writes the password to
// <data_dir>/initial-admin-password (mode 0600) and returns it so the caller
// can show it once. Returns nullopt when an administrator already exists
// (also when another node sharing the database created it first).
core::Result<std::optional<std::string>, store::StoreError> ensure_initial_admin(
    store::Store& store, const std::filesystem::path& data_dir);

// True when `password` is the password of administrator `username`. An
// unknown user costs the same hash verification as a known one, so timing
// does not tell which usernames exist.
bool verify_admin(store::Store& store, std::string_view username, std::string_view password);

}  // namespace ucedge::console
