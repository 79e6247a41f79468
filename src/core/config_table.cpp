#include "core/config_table.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <sstream>

namespace ucedge::core {

namespace {

const toml::table* as_table(const void* p) { return static_cast<const toml::table*>(p); }
const toml::node* as_node(const void* p) { return static_cast<const toml::node*>(p); }

std::string_view type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time: return "a date or time";
    default: return "nothing";
  }
}

std::string joined(std::initializer_list<std::string_view> choices) {
  std::string out;
  for (auto c : choices) {
    if (!out.empty()) out += ", ";
    out += '"';
    out += c;
    out += '"';
  }
  return out;
}

}  // namespace

std::string ConfigError::to_string() const {
  std::ostringstream out;
  out << file << ':' << line << ':' << column << ": " << message;
  return out.str();
}

std::string ConfigErrors::to_string() const {
  std::string out;
  for (const auto& e : list_) {
    out += e.to_string();
    out += '\n';
  }
  return out;
}

ConfigTable::ConfigTable(const void* node, std::string path,
                         std::shared_ptr<const std::string> file, ConfigErrors* errors)
    : node_(node), path_(std::move(path)), file_(std::move(file)), errors_(errors) {}

bool ConfigTable::has(std::string_view key) const {
  return node_ != nullptr && as_table(node_)->contains(key);
}

std::vector<std::string> ConfigTable::keys() const {
  std::vector<std::string> out;
  if (node_ == nullptr) return out;
  std::vector<std::pair<toml::source_position, std::string>> ordered;
  for (const auto& [k, v] : *as_table(node_)) ordered.emplace_back(v.source().begin, std::string(k.str()));
  std::stable_sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) {
    return a.first.line != b.first.line ? a.first.line < b.first.line : a.first.column < b.first.column;
  });
  for (auto& [pos, k] : ordered) out.push_back(std::move(k));
  return out;
}

const void* ConfigTable::lookup(std::string_view key) {
  read_.emplace(key);
  if (node_ == nullptr) return nullptr;
  return as_table(node_)->get(key);
}

std::string ConfigTable::where(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

void ConfigTable::error(std::string_view key, std::string message) {
  report(key, std::move(message), Position::value);
}

void ConfigTable::report(std::string_view key, std::string message, Position position) {
  ConfigError e{*file_, 1, 1, "'" + where(key) + "': " + std::move(message)};
  if (node_ != nullptr) {
    // A bad value is shown where the value is, an unknown key where the key
    // is; a missing key where its table is.
    toml::source_position pos = as_node(node_)->source().begin;
    const toml::table& table = *as_table(node_);
    if (auto it = table.find(key); it != table.end()) {
      pos = position == Position::key ? it->first.source().begin : it->second.source().begin;
    }
    if (pos.line != 0) {
      e.line = static_cast<int>(pos.line);
      e.column = static_cast<int>(pos.column);
    }
  }
  errors_->add(std::move(e));
}

void ConfigTable::type_error(std::string_view key, const void* node, std::string_view expected) {
  error(key, "expected " + std::string(expected) + ", found " +
                 std::string(type_name(*as_node(node))));
}

std::optional<std::string> ConfigTable::optional_string(std::string_view key) {
  const void* n = lookup(key);
  if (n == nullptr) return std::nullopt;
  if (auto v = as_node(n)->value<std::string>(); v && as_node(n)->is_string()) return *v;
  type_error(key, n, "a string");
  return std::nullopt;
}

std::string ConfigTable::string(std::string_view key, std::string fallback) {
  auto v = optional_string(key);
  return v ? *v : std::move(fallback);
}

std::optional<std::string> ConfigTable::optional_choice(
    std::string_view key, std::initializer_list<std::string_view> choices) {
  auto v = optional_string(key);
  if (!v) return std::nullopt;
  if (std::find(choices.begin(), choices.end(), *v) == choices.end()) {
    error(key, "\"" + *v + "\" is not one of " + joined(choices));
    return std::nullopt;
  }
  return v;
}

std::string ConfigTable::choice(std::string_view key, std::string fallback,
                                std::initializer_list<std::string_view> choices) {
  auto v = optional_choice(key, choices);
  return v ? *v : std::move(fallback);
}

std::optional<std::int64_t> ConfigTable::optional_integer(std::string_view key, std::int64_t min,
                                                          std::int64_t max) {
  const void* n = lookup(key);
  if (n == nullptr) return std::nullopt;
  if (!as_node(n)->is_integer()) {
    type_error(key, n, "an integer");
    return std::nullopt;
  }
  auto v = *as_node(n)->value<std::int64_t>();
  if (v < min || v > max) {
    error(key, std::to_string(v) + " is outside " + std::to_string(min) + ".." + std::to_string(max));
    return std::nullopt;
  }
  return v;
}

std::int64_t ConfigTable::integer(std::string_view key, std::int64_t fallback, std::int64_t min,
                                  std::int64_t max) {
  auto v = optional_integer(key, min, max);
  return v ? *v : fallback;
}

std::optional<bool> ConfigTable::optional_boolean(std::string_view key) {
  const void* n = lookup(key);
  if (n == nullptr) return std::nullopt;
  if (!as_node(n)->is_boolean()) {
    type_error(key, n, "true or false");
    return std::nullopt;
  }
  return *as_node(n)->value<bool>();
}

bool ConfigTable::boolean(std::string_view key, bool fallback) {
  auto v = optional_boolean(key);
  return v ? *v : fallback;
}

std::optional<std::vector<std::string>> ConfigTable::optional_strings(std::string_view key) {
  const void* n = lookup(key);
  if (n == nullptr) return std::nullopt;
  const toml::array* arr = as_node(n)->as_array();
  if (arr == nullptr) {
    type_error(key, n, "an array of strings");
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (const auto& item : *arr) {
    if (!item.is_string()) {
      ConfigError e{*file_, static_cast<int>(item.source().begin.line),
                    static_cast<int>(item.source().begin.column),
                    "'" + where(key) + "': expected an array of strings, found " +
                        std::string(type_name(item)) + " in it"};
      errors_->add(std::move(e));
      return std::nullopt;
    }
    out.push_back(*item.value<std::string>());
  }
  return out;
}

std::vector<std::string> ConfigTable::strings(std::string_view key,
                                              std::vector<std::string> fallback) {
  auto v = optional_strings(key);
  return v ? std::move(*v) : std::move(fallback);
}

std::vector<std::string> ConfigTable::string_or_strings(std::string_view key, std::vector<std::string> fallback) {
  const void* n = lookup(key);
  if (n == nullptr) return fallback;
  if (as_node(n)->is_string()) {
    std::string text = *as_node(n)->value<std::string>();
    if (text.empty()) return {};
    return {std::move(text)};
  }
  if (!as_node(n)->is_array()) {
    type_error(key, n, "a string or an array of strings");
    return fallback;
  }
  auto list = optional_strings(key);
  return list ? std::move(*list) : std::move(fallback);
}

std::chrono::milliseconds ConfigTable::duration(std::string_view key,
                                                std::chrono::milliseconds fallback,
                                                std::chrono::milliseconds min,
                                                std::chrono::milliseconds max) {
  auto text = optional_string(key);
  if (!text) return fallback;
  auto d = parse_duration(*text);
  if (!d) {
    error(key, "\"" + *text + "\" is not a duration such as \"500ms\", \"30s\", \"5m\", \"2h\" or \"7d\"");
    return fallback;
  }
  if (*d < min || *d > max) {
    error(key, "\"" + *text + "\" is outside " + format_duration(min) + ".." + format_duration(max));
    return fallback;
  }
  return *d;
}

std::string ConfigTable::secret_env_name(std::string_view key) const {
  std::string name = "UCEDGE_" + where(key);
  for (char& c : name) {
    if (c == '.' || c == '-') c = '_';
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return name;
}

std::string ConfigTable::secret(std::string_view key, std::string fallback) {
  auto from_file = optional_string(key);
  if (const char* env = std::getenv(secret_env_name(key).c_str()); env != nullptr) return env;
  return from_file ? *from_file : std::move(fallback);
}

ConfigTable ConfigTable::table(std::string_view key) {
  const void* n = lookup(key);
  std::string sub = where(key);
  if (n == nullptr) return ConfigTable(nullptr, std::move(sub), file_, errors_);
  if (!as_node(n)->is_table()) {
    type_error(key, n, "a table");
    return ConfigTable(nullptr, std::move(sub), file_, errors_);
  }
  return ConfigTable(as_node(n)->as_table(), std::move(sub), file_, errors_);
}

void ConfigTable::finish() {
  if (node_ == nullptr) return;
  for (const auto& key : keys()) {
    if (read_.find(key) == read_.end()) report(key, "unknown key", Position::key);
  }
}

struct ConfigDocument::Tree {
  toml::table root;
};

ConfigDocument::ConfigDocument(std::unique_ptr<Tree> tree, std::string file)
    : tree_(std::move(tree)), file_(std::make_shared<const std::string>(std::move(file))) {}
ConfigDocument::ConfigDocument(ConfigDocument&&) noexcept = default;
ConfigDocument& ConfigDocument::operator=(ConfigDocument&&) noexcept = default;
ConfigDocument::~ConfigDocument() = default;

ConfigTable ConfigDocument::root(ConfigErrors& errors) const {
  return ConfigTable(&tree_->root, "", file_, &errors);
}

Result<ConfigDocument, ConfigErrors> ConfigDocument::parse(std::string_view text,
                                                           std::string file_name) {
  auto tree = std::make_unique<Tree>();
  try {
    tree->root = toml::parse(text, std::string_view(file_name));
  } catch (const toml::parse_error& err) {
    ConfigErrors errors;
    errors.add({file_name, static_cast<int>(err.source().begin.line),
                static_cast<int>(err.source().begin.column), std::string(err.description())});
    return fail(std::move(errors));
  }
  return ConfigDocument(std::move(tree), std::move(file_name));
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits > 12) return std::nullopt;
  std::int64_t n = 0;
  for (std::size_t i = 0; i < digits; ++i) n = n * 10 + (text[i] - '0');
  std::string_view unit = text.substr(digits);
  using namespace std::chrono;
  if (unit == "ms") return milliseconds(n);
  if (unit == "s") return duration_cast<milliseconds>(seconds(n));
  if (unit == "m") return duration_cast<milliseconds>(minutes(n));
  if (unit == "h") return duration_cast<milliseconds>(hours(n));
  if (unit == "d") return duration_cast<milliseconds>(hours(24 * n));
  return std::nullopt;
}

std::string format_duration(std::chrono::milliseconds d) {
  auto ms = d.count();
  if (ms % 86'400'000 == 0 && ms != 0) return std::to_string(ms / 86'400'000) + "d";
  if (ms % 3'600'000 == 0 && ms != 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0 && ms != 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace ucedge::core
