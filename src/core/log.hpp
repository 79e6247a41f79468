#pragma once
// Logging set-up. Modules get a named logger with core::logger("prov") and
// include <spdlog/spdlog.h> in their .cpp files only.
#include <memory>
#include <string>
#include <string_view>

namespace spdlog {
class logger;
}

namespace ucedge::core {

class ConfigTable;

struct LogConfig {
  std::string level = "info";  // trace, debug, info, warn, error, critical, off
  std::string format = "auto"; // auto: text on a terminal, JSON lines otherwise
  std::string file;            // "" = standard error
};

// Reads the [log] table.
LogConfig parse_log_config(ConfigTable& table);

// Sets the sink, format and level of every logger, now and later.
void init_logging(const LogConfig& config);

// The logger for one module, created on first use.
std::shared_ptr<spdlog::logger> logger(std::string_view name);

}  // namespace ucedge::core
