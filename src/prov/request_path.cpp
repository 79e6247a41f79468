#include "prov/request_path.hpp"

namespace ucedge::prov {

std::string_view to_string(PathRefusal r) {
  switch (r) {
    case PathRefusal::empty: return "no file name";
    case PathRefusal::outside_root: return "path leads outside the provisioning root";
    case PathRefusal::bad_character: return "file name holds a character that is not allowed";
  }
  return "refused";
}

CheckedPath check_request_path(std::string_view requested) {
  CheckedPath out;
  while (!requested.empty() && requested.front() == '/') requested.remove_prefix(1);
  if (requested.empty()) {
    out.refusal = PathRefusal::empty;
    return out;
  }
  for (unsigned char c : requested) {
    if (c < 0x20 || c == 0x7f || c == '\\') {
      out.refusal = PathRefusal::bad_character;
      return out;
    }
  }
  std::size_t start = 0;
  while (start <= requested.size()) {
    std::size_t end = requested.find('/', start);
    if (end == std::string_view::npos) end = requested.size();
    std::string_view segment = requested.substr(start, end - start);
    // "a//b" and "a/./b" are not what a phone asks for; refuse rather than guess.
    if (segment == "..") {
      out.refusal = PathRefusal::outside_root;
      return out;
    }
    if (segment.empty() || segment == ".") {
      out.refusal = PathRefusal::bad_character;
      return out;
    }
    start = end + 1;
  }
  out.path = std::string(requested);
  return out;
}

std::string_view base_name(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

}  // namespace ucedge::prov
