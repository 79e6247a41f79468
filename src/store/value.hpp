#pragma once
// What goes into and comes out of SQL: parameters and rows.
#include <concepts>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/result.hpp"
#include "store/store_error.hpp"

namespace ucedge::store {

// Bytes, kept apart from text so each backend stores them as BLOB / BYTEA.
struct Blob {
  std::vector<std::uint8_t> bytes;

  static Blob from(std::string_view data) { return Blob{{data.begin(), data.end()}}; }
  std::string_view view() const {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
  }
  bool operator==(const Blob&) const = default;
};

// NULL, INTEGER/BIGINT, REAL/DOUBLE PRECISION, TEXT, BLOB/BYTEA.
using Value = std::variant<std::monostate, std::int64_t, double, std::string, Blob>;
using Params = std::vector<Value>;

std::string_view value_type_name(const Value& value);

// Types a column can be read as. bool reads an integer 0/1 (PostgreSQL BOOLEAN
// also reads as 0/1), double also accepts an integer column.
template <class T>
concept ColumnType = std::same_as<T, std::int64_t> || std::same_as<T, double> ||
                     std::same_as<T, std::string> || std::same_as<T, Blob> ||
                     std::same_as<T, bool>;

class Row {
 public:
  Row(std::shared_ptr<const std::vector<std::string>> columns, std::vector<Value> values);

  std::size_t size() const { return values_.size(); }
  const std::vector<std::string>& columns() const { return *columns_; }
  const std::vector<Value>& values() const { return values_; }

  // A column by position or by name; a NULL, a wrong type, or a column that is
  // not there is an error of kind invalid.
  template <ColumnType T>
  core::Result<T, StoreError> get(std::size_t column) const;
  template <ColumnType T>
  core::Result<T, StoreError> get(std::string_view column) const;

  // As get(), but NULL reads as nullopt.
  template <ColumnType T>
  core::Result<std::optional<T>, StoreError> get_optional(std::size_t column) const;
  template <ColumnType T>
  core::Result<std::optional<T>, StoreError> get_optional(std::string_view column) const;

  // Null where the column is not there.
  const Value* find(std::string_view column) const;

 private:
  core::Result<std::size_t, StoreError> index_of(std::string_view column) const;
  core::Result<std::size_t, StoreError> checked(std::size_t column) const;

  std::shared_ptr<const std::vector<std::string>> columns_;
  std::vector<Value> values_;
};

}  // namespace ucedge::store
