#pragma once
// Turning Values into PostgreSQL text parameters and result fields back into
// Values. Parameters travel as text; a cast written after each placeholder
// ($1::int8) gives the server the type the caller meant.
#include <string>
#include <string_view>
#include <vector>

#include <pqxx/result>

#include "store/value.hpp"

namespace ucedge::store::postgres {

struct EncodedParams {
  std::string sql;                // ? rewritten to $n with casts
  std::vector<std::string> text;  // one per parameter
  std::vector<bool> null;         // one per parameter

  // What libpq takes: pointers into `text`, null for SQL NULL. Valid while
  // this object lives unchanged.
  std::vector<const char*> pointers() const;
};

EncodedParams encode(std::string_view sql, const Params& params);

// Every row of a result, each field typed by its column's type.
core::Result<std::vector<Row>, StoreError> decode(const pqxx::result& result);

}  // namespace ucedge::store::postgres
