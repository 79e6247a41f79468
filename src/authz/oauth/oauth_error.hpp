#pragma once
// RFC 6749 §5.2 error answers: a JSON object with "error" and
// "error_description", never cached.
#include <string_view>

#include "net/http.hpp"

namespace ucedge::authz {

// 400 unless given; invalid_client answers 401 with WWW-Authenticate (§5.2).
net::Response oauth_error(std::string_view error, std::string_view description, int status = 400);
// A JSON body that must not be cached (token answers, introspection).
net::Response no_store_json(int status, std::string json_text);

}  // namespace ucedge::authz
