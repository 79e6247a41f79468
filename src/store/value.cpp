#include "store/value.hpp"


namespace ucedge::store {

namespace {

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;  // clang 14 does not deduce aggregates yet

StoreError wrong_type(const std::string& column, std::string_view wanted, const Value& found) {
  return {StoreError::Kind::invalid, "column '" + column + "' is " +
                                         std::string(value_type_name(found)) + ", not " +
                                         std::string(wanted)};
}

template <ColumnType T>
constexpr std::string_view wanted_name() {
  if constexpr (std::same_as<T, std::int64_t>) return "an integer";
  if constexpr (std::same_as<T, double>) return "a real number";
  if constexpr (std::same_as<T, std::string>) return "text";
  if constexpr (std::same_as<T, Blob>) return "a blob";
  if constexpr (std::same_as<T, bool>) return "a boolean (0 or 1)";
}

// Converts a non-NULL value, or says why it cannot.
template <ColumnType T>
std::optional<T> convert(const Value& v) {
  if constexpr (std::same_as<T, double>) {
    if (const auto* d = std::get_if<double>(&v)) return *d;
    if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
    return std::nullopt;
  } else if constexpr (std::same_as<T, bool>) {
    const auto* i = std::get_if<std::int64_t>(&v);
    if (i == nullptr || (*i != 0 && *i != 1)) return std::nullopt;
    return *i == 1;
  } else {
    if (const auto* x = std::get_if<T>(&v)) return *x;
    return std::nullopt;
  }
}

}  // namespace

std::string_view value_type_name(const Value& value) {
  return std::visit(Overloaded{
                        [](std::monostate) { return std::string_view("NULL"); },
                        [](std::int64_t) { return std::string_view("an integer"); },
                        [](double) { return std::string_view("a real number"); },
                        [](const std::string&) { return std::string_view("text"); },
                        [](const Blob&) { return std::string_view("a blob"); },
                    },
                    value);
}

std::string StoreError::to_string() const { return std::string(kind_name(kind)) + ": " + message; }

std::string_view kind_name(StoreError::Kind kind) {
  switch (kind) {
    case StoreError::Kind::unavailable: return "unavailable";
    case StoreError::Kind::constraint: return "constraint";
    case StoreError::Kind::not_found: return "not found";
    case StoreError::Kind::busy: return "busy";
    case StoreError::Kind::invalid: return "invalid";
    case StoreError::Kind::internal: return "internal";
  }
  return "internal";
}

Row::Row(std::shared_ptr<const std::vector<std::string>> columns, std::vector<Value> values)
    : columns_(std::move(columns)), values_(std::move(values)) {}

const Value* Row::find(std::string_view column) const {
  for (std::size_t i = 0; i < columns_->size() && i < values_.size(); ++i) {
    if ((*columns_)[i] == column) return &values_[i];
  }
  return nullptr;
}

core::Result<std::size_t, StoreError> Row::index_of(std::string_view column) const {
  for (std::size_t i = 0; i < columns_->size() && i < values_.size(); ++i) {
    if ((*columns_)[i] == column) return i;
  }
  return core::fail(StoreError{StoreError::Kind::invalid,
                               "the row has no column '" + std::string(column) + "'"});
}

core::Result<std::size_t, StoreError> Row::checked(std::size_t column) const {
  if (column < values_.size()) return column;
  return core::fail(StoreError{StoreError::Kind::invalid,
                               "column " + std::to_string(column) + " is past the row's " +
                                   std::to_string(values_.size()) + " columns"});
}

template <ColumnType T>
core::Result<std::optional<T>, StoreError> Row::get_optional(std::size_t column) const {
  auto index = checked(column);
  if (!index) return core::fail(index.error());
  const Value& v = values_[*index];
  if (std::holds_alternative<std::monostate>(v)) return std::optional<T>();
  auto converted = convert<T>(v);
  const std::string name = *index < columns_->size() ? (*columns_)[*index] : std::to_string(*index);
  if (!converted) return core::fail(wrong_type(name, wanted_name<T>(), v));
  return std::optional<T>(std::move(*converted));
}

template <ColumnType T>
core::Result<T, StoreError> Row::get(std::size_t column) const {
  auto v = get_optional<T>(column);
  if (!v) return core::fail(v.error());
  if (!v->has_value()) {
    const std::string name = column < columns_->size() ? (*columns_)[column] : std::to_string(column);
    return core::fail(wrong_type(name, wanted_name<T>(), values_[column]));
  }
  return std::move(**v);
}

template <ColumnType T>
core::Result<T, StoreError> Row::get(std::string_view column) const {
  auto index = index_of(column);
  if (!index) return core::fail(index.error());
  return get<T>(*index);
}

template <ColumnType T>
core::Result<std::optional<T>, StoreError> Row::get_optional(std::string_view column) const {
  auto index = index_of(column);
  if (!index) return core::fail(index.error());
  return get_optional<T>(*index);
}

#define UCEDGE_STORE_ROW_GETTERS(T)                                                          \
  template core::Result<T, StoreError> Row::get<T>(std::size_t) const;                       \
  template core::Result<T, StoreError> Row::get<T>(std::string_view) const;                  \
  template core::Result<std::optional<T>, StoreError> Row::get_optional<T>(std::size_t) const; \
  template core::Result<std::optional<T>, StoreError> Row::get_optional<T>(std::string_view) const;

UCEDGE_STORE_ROW_GETTERS(std::int64_t)
UCEDGE_STORE_ROW_GETTERS(double)
UCEDGE_STORE_ROW_GETTERS(std::string)
UCEDGE_STORE_ROW_GETTERS(Blob)
UCEDGE_STORE_ROW_GETTERS(bool)

#undef UCEDGE_STORE_ROW_GETTERS

}  // namespace ucedge::store
