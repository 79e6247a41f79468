#pragma once
// The one error type every Store operation returns.
#include <string>
#include <string_view>

namespace ucedge::store {

struct StoreError {
  enum class Kind {
    unavailable,  // cannot reach or open the database (or a commit's outcome is unknown)
    constraint,   // a UNIQUE, PRIMARY KEY, FOREIGN KEY, NOT NULL or CHECK rule refused the write
    not_found,    // the caller asked for something that is not there
    busy,         // a lock or a pool connection was not free within busy_timeout
    invalid,      // bad SQL, wrong parameters, wrong column type: a programming error
    internal,     // anything else
  };

  Kind kind = Kind::internal;
  std::string message;

  // "constraint: UNIQUE constraint failed: admin_accounts.username"
  std::string to_string() const;
};

std::string_view kind_name(StoreError::Kind kind);

}  // namespace ucedge::store
