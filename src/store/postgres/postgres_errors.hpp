#pragma once
// libpqxx reports failures by throwing; the Store API returns StoreError.
#include <string>
#include <string_view>

#include "store/store_error.hpp"

namespace ucedge::store::postgres {

struct MappedError {
  StoreError error;
  bool connection_lost = false;  // the connection must not be reused
};

// Call inside a catch block: classifies the exception being handled.
MappedError current_exception_error();

// libpq's multi-line messages ("...failed: Connection refused\n\tIs the
// server running...") as one line for logs.
std::string one_line(std::string_view message);

}  // namespace ucedge::store::postgres
