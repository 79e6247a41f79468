// Any bytes as a configuration file: parsing and validation must answer with
// a config or a list of errors, never crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "app/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = ucedge::app::parse_config(text, "fuzz.toml");
  if (!config) {
    for (const auto& e : config.error().list()) {
      if (e.message.empty()) __builtin_trap();  // every error must say something
    }
  }
  return 0;
}
