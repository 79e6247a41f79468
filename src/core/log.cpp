#include "core/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <mutex>

#include "core/config_table.hpp"

namespace ucedge::core {

namespace {

// %* in a JSON pattern: the message, escaped as a JSON string body.
class JsonEscapedMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    static constexpr char hex[] = "0123456789abcdef";
    for (char c : msg.payload) {
      auto u = static_cast<unsigned char>(c);
      switch (c) {
        case '"': dest.append(std::string_view("\\\"")); break;
        case '\\': dest.append(std::string_view("\\\\")); break;
        case '\n': dest.append(std::string_view("\\n")); break;
        case '\r': dest.append(std::string_view("\\r")); break;
        case '\t': dest.append(std::string_view("\\t")); break;
        default:
          if (u < 0x20) {
            char esc[6] = {'\\', 'u', '0', '0', hex[u >> 4], hex[u & 15]};
            dest.append(esc, esc + 6);
          } else {
            dest.push_back(c);
          }
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonEscapedMessage>();
  }
};

std::mutex setup_mutex;
spdlog::sink_ptr shared_sink;

}  // namespace

LogConfig parse_log_config(ConfigTable& table) {
  LogConfig c;
  c.level = table.choice("level", c.level,
                         {"trace", "debug", "info", "warn", "error", "critical", "off"});
  c.format = table.choice("format", c.format, {"auto", "text", "json"});
  c.file = table.string("file", c.file);
  table.finish();
  return c;
}

void init_logging(const LogConfig& config) {
  std::lock_guard lock(setup_mutex);
  bool json = config.format == "json" ||
              (config.format == "auto" && (!config.file.empty() || !isatty(STDERR_FILENO)));
  if (config.file.empty()) {
    shared_sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  } else {
    shared_sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(config.file);
  }
  std::unique_ptr<spdlog::formatter> formatter;
  if (json) {
    auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    f->add_flag<JsonEscapedMessage>('*').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","module":"%n","msg":"%*"})");
    formatter = std::move(f);
  } else {
    formatter = std::make_unique<spdlog::pattern_formatter>("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ [%n] %v");
  }
  shared_sink->set_formatter(std::move(formatter));
  auto level = spdlog::level::from_str(config.level);
  spdlog::set_level(level);
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) {
    l->sinks().assign(1, shared_sink);
    l->set_level(level);
  });
  spdlog::flush_on(spdlog::level::warn);
  // Info lines (the access log among them) reach a file within a second
  // without a flush per line.
  spdlog::flush_every(std::chrono::seconds(1));
}

std::shared_ptr<spdlog::logger> logger(std::string_view name) {
  std::string key(name);
  if (auto existing = spdlog::get(key)) return existing;
  std::lock_guard lock(setup_mutex);
  if (auto existing = spdlog::get(key)) return existing;
  if (!shared_sink) shared_sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  auto created = std::make_shared<spdlog::logger>(key, shared_sink);
  created->set_level(spdlog::get_level());
  created->flush_on(spdlog::level::warn);
  spdlog::register_logger(created);
  return created;
}

}  // namespace ucedge::core
