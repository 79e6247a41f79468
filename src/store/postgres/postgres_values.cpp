#include "store/postgres/postgres_values.hpp"

#include <charconv>
#include <pqxx/binarystring>

#include "store/placeholders.hpp"

namespace ucedge::store::postgres {

namespace {

// Type OIDs fixed by PostgreSQL's catalog (pg_type.dat).
enum TypeOid : pqxx::oid {
  kBool = 16,
  kBytea = 17,
  kInt8 = 20,
  kInt2 = 21,
  kInt4 = 23,
  kOid = 26,
  kFloat4 = 700,
  kFloat8 = 701,
  kNumeric = 1700,
};

std::string_view cast_for(const Value& v) {
  if (std::holds_alternative<std::int64_t>(v)) return "::int8";
  if (std::holds_alternative<double>(v)) return "::float8";
  if (std::holds_alternative<Blob>(v)) return "::bytea";
  return "";  // text and NULL take the type the statement gives them
}

template <class T>
std::string number_text(T n) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  return std::string(buf, end);
}

std::string hex_bytea(const Blob& blob) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "\\x";
  out.reserve(2 + blob.bytes.size() * 2);
  for (std::uint8_t b : blob.bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0x0f];
  }
  return out;
}

template <class T>
std::optional<T> parse_number(std::string_view text) {
  T n{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return n;
}

core::Result<Value, StoreError> field_value(const pqxx::field& field, pqxx::oid type) {
  if (field.is_null()) return Value{};
  const std::string_view text(field.c_str(), field.size());
  const auto unreadable = [&](std::string_view what) {
    return core::fail(StoreError{StoreError::Kind::internal, "column '" + std::string(field.name()) +
                                                                 "' holds " + std::string(what) +
                                                                 " that cannot be read: " +
                                                                 std::string(text)});
  };
  switch (type) {
    case kBool: return Value{std::int64_t{text == "t" ? 1 : 0}};
    case kInt2:
    case kInt4:
    case kInt8:
    case kOid: {
      auto n = parse_number<std::int64_t>(text);
      if (!n) return unreadable("an integer");
      return Value{*n};
    }
    case kFloat4:
    case kFloat8: {
      auto d = parse_number<double>(text);
      if (!d) return unreadable("a real number");
      return Value{*d};
    }
    case kNumeric: {
      // SUM() of a BIGINT is NUMERIC here where SQLite gives an integer.
      if (auto n = parse_number<std::int64_t>(text)) return Value{*n};
      auto d = parse_number<double>(text);
      if (!d) return unreadable("a numeric");
      return Value{*d};
    }
    case kBytea: {
      const pqxx::binarystring bytes(field);
      return Value{Blob{std::vector<std::uint8_t>(bytes.begin(), bytes.end())}};
    }
    default: return Value{std::string(text)};
  }
}

}  // namespace

EncodedParams encode(std::string_view sql, const Params& params) {
  EncodedParams out;
  out.sql = number_placeholders(sql, [&](std::size_t n) {
    return n < params.size() ? cast_for(params[n]) : std::string_view();
  });
  out.text.reserve(params.size());
  for (const Value& v : params) {
    if (const auto* i = std::get_if<std::int64_t>(&v)) {
      out.text.push_back(number_text(*i));
    } else if (const auto* d = std::get_if<double>(&v)) {
      out.text.push_back(number_text(*d));  // shortest text that reads back exactly
    } else if (const auto* s = std::get_if<std::string>(&v)) {
      out.text.push_back(*s);
    } else if (const auto* b = std::get_if<Blob>(&v)) {
      out.text.push_back(hex_bytea(*b));
    } else {
      out.text.emplace_back();
    }
  }
  out.null.reserve(params.size());
  for (const Value& v : params) out.null.push_back(std::holds_alternative<std::monostate>(v));
  return out;
}

std::vector<const char*> EncodedParams::pointers() const {
  std::vector<const char*> out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) out.push_back(null[i] ? nullptr : text[i].c_str());
  return out;
}

core::Result<std::vector<Row>, StoreError> decode(const pqxx::result& result) {
  const auto width = result.columns();
  auto columns = std::make_shared<std::vector<std::string>>();
  std::vector<pqxx::oid> types;
  columns->reserve(width);
  types.reserve(width);
  for (pqxx::row_size_type i = 0; i < width; ++i) {
    columns->emplace_back(result.column_name(i));
    types.push_back(result.column_type(i));
  }
  std::vector<Row> rows;
  rows.reserve(result.size());
  for (const auto& row : result) {
    std::vector<Value> values;
    values.reserve(width);
    for (pqxx::row_size_type i = 0; i < width; ++i) {
      auto v = field_value(row[i], types[i]);
      if (!v) return core::fail(v.error());
      values.push_back(std::move(*v));
    }
    rows.emplace_back(columns, std::move(values));
  }
  return rows;
}

}  // namespace ucedge::store::postgres
