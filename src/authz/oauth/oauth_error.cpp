#include "authz/oauth/oauth_error.hpp"

#include <nlohmann/json.hpp>

namespace ucedge::authz {

net::Response no_store_json(int status, std::string json_text) {
  auto response = net::Response::json(status, std::move(json_text));
  response.set("Cache-Control", "no-store");
  response.set("Pragma", "no-cache");
  return response;
}

net::Response oauth_error(std::string_view error, std::string_view description, int status) {
  nlohmann::json body = {{"error", error}};
  if (!description.empty()) body["error_description"] = description;
  if (error == "invalid_client" && status == 400) status = 401;
  auto response = no_store_json(status, body.dump());
  if (status == 401) response.set("WWW-Authenticate", "Basic realm=\"ucedge\", charset=\"UTF-8\"");
  return response;
}

}  // namespace ucedge::authz
