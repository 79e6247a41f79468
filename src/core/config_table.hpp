#pragma once
// Typed, position-aware reading of one TOML configuration file.
//
// Each module parses its own table through a ConfigTable: it asks for the keys
// it knows, with their types, defaults and bounds; a wrong type or a bad value
// is recorded with the file, line and column of the key, and finish() reports
// every key nobody asked for. toml++ stays inside config_table.cpp.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace ucedge::core {

struct ConfigError {
  std::string file;
  int line = 0;
  int column = 0;
  std::string message;

  // "file:line:column: message", the form compilers and editors understand.
  std::string to_string() const;
};

class ConfigErrors {
 public:
  void add(ConfigError e) { list_.push_back(std::move(e)); }
  bool empty() const { return list_.empty(); }
  const std::vector<ConfigError>& list() const { return list_; }
  // One error a line.
  std::string to_string() const;

 private:
  std::vector<ConfigError> list_;
};

class ConfigTable {
 public:
  // Dotted name of this table ("" for the root, "tls.interface.https").
  const std::string& path() const { return path_; }
  const std::string& file() const { return *file_; }
  // True where the table is written in the file (an absent table reads as defaults).
  bool present() const { return node_ != nullptr; }
  bool has(std::string_view key) const;
  // Every key written in this table, in file order.
  std::vector<std::string> keys() const;

  std::string string(std::string_view key, std::string fallback);
  std::optional<std::string> optional_string(std::string_view key);
  // A string that must be one of `choices`.
  std::string choice(std::string_view key, std::string fallback,
                     std::initializer_list<std::string_view> choices);
  std::optional<std::string> optional_choice(std::string_view key,
                                             std::initializer_list<std::string_view> choices);
  std::int64_t integer(std::string_view key, std::int64_t fallback, std::int64_t min,
                       std::int64_t max);
  std::optional<std::int64_t> optional_integer(std::string_view key, std::int64_t min,
                                               std::int64_t max);
  bool boolean(std::string_view key, bool fallback);
  std::optional<bool> optional_boolean(std::string_view key);
  std::vector<std::string> strings(std::string_view key, std::vector<std::string> fallback);
  std::optional<std::vector<std::string>> optional_strings(std::string_view key);
  // A string or an array of strings; a lone "" is the empty list.
  std::vector<std::string> string_or_strings(std::string_view key, std::vector<std::string> fallback);
  // Durations are written with a unit: "250ms", "30s", "5m", "2h", "7d".
  std::chrono::milliseconds duration(std::string_view key, std::chrono::milliseconds fallback,
                                     std::chrono::milliseconds min,
                                     std::chrono::milliseconds max);
  // A secret: the environment variable UCEDGE_<TABLE>_<KEY> (dots and dashes
  // become underscores, upper case) wins over the file, so secrets need not be
  // written there.
  std::string secret(std::string_view key, std::string fallback);
  std::string secret_env_name(std::string_view key) const;

  // A sub-table; an absent one reads as all defaults.
  ConfigTable table(std::string_view key);

  // Records a problem with the value of `key`, at the value's position (the
  // table's, if the key is absent).
  void error(std::string_view key, std::string message);
  // Reports every key of this table that was never read.
  void finish();

  ConfigTable(const void* node, std::string path, std::shared_ptr<const std::string> file,
              ConfigErrors* errors);

 private:
  enum class Position { key, value };
  void report(std::string_view key, std::string message, Position position);
  const void* lookup(std::string_view key);
  void type_error(std::string_view key, const void* node, std::string_view expected);
  std::string where(std::string_view key) const;

  const void* node_;  // const toml::table*, or null for an absent table
  std::string path_;
  std::shared_ptr<const std::string> file_;
  ConfigErrors* errors_;
  std::set<std::string, std::less<>> read_;
};

// A parsed configuration file; owns the TOML tree the tables point into.
class ConfigDocument {
 public:
  ConfigDocument(ConfigDocument&&) noexcept;
  ConfigDocument& operator=(ConfigDocument&&) noexcept;
  ~ConfigDocument();

  // The root table; errors found while reading it land in `errors`.
  ConfigTable root(ConfigErrors& errors) const;
  const std::string& file() const { return *file_; }

  static Result<ConfigDocument, ConfigErrors> parse(std::string_view text, std::string file_name);

 private:
  struct Tree;
  ConfigDocument(std::unique_ptr<Tree> tree, std::string file);
  std::unique_ptr<Tree> tree_;
  std::shared_ptr<const std::string> file_;
};

// "250ms", "30s", "5m", "2h", "7d" → milliseconds.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
std::string format_duration(std::chrono::milliseconds d);

}  // namespace ucedge::core
