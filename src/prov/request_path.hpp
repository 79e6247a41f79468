#pragma once
// Names a phone asks for, checked the same way on every transport before any
// file is touched: relative to the provisioning root, no "..", no ".", no
// backslash, no NUL or control characters, no empty segment. A leading '/'
// (TFTP clients send "/basic.txt" as often as "basic.txt") is dropped.
#include <optional>
#include <string>
#include <string_view>

namespace ucedge::prov {

enum class PathRefusal { empty, outside_root, bad_character };

std::string_view to_string(PathRefusal r);

struct CheckedPath {
  std::string path;                    // "customer1/CP-7841-3PCC000e08abcdef.cfg"
  std::optional<PathRefusal> refusal;  // set when the name is refused
};

CheckedPath check_request_path(std::string_view requested);

// The last segment of a checked path.
std::string_view base_name(std::string_view path);

}  // namespace ucedge::prov
