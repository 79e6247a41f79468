// The administrators' view of the authorization service (/api/v1/authz/...):
// refresh tokens (list, revoke by user or user and client), keys (hashes per
// node, regeneration) and the purge.
#include <nlohmann/json.hpp>

#include "authz/service.hpp"
#include "core/time_text.hpp"

namespace ucedge::authz {

namespace {

std::int64_t unix_seconds(const core::Clock& clock) {
  return std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count();
}

// A node that has not written its keys for this long is shown as stale and
// left out of the mismatch check.
constexpr std::int64_t kNodeStaleAfter = 300;

nlohmann::json token_json(const RefreshRecord& r) {
  nlohmann::json j = {{"pkid", r.pkid},
                      {"refreshtokenindex", r.index},
                      {"userid", r.userid},
                      {"clientid", r.clientid},
                      {"validity", core::utc_timestamp(r.validity)},
                      {"validity_unix", r.validity},
                      {"state", to_string(r.state)},
                      {"family_id", r.family_id},
                      {"scope", r.scope},
                      {"issued_at", core::utc_timestamp(r.issued_at)}};
  if (r.rotated_at) j["rotated_at"] = core::utc_timestamp(*r.rotated_at);
  return j;
}

nlohmann::json key_json(const KeyInfo& k) {
  nlohmann::json j = {{"kid", k.kid},
                      {"use", to_string(k.use)},
                      {"hash", k.hash},
                      {"state", k.state},
                      {"created_at", core::utc_timestamp(k.created_at)},
                      {"active_at", core::utc_timestamp(k.active_at)}};
  if (k.retired_at) j["retired_at"] = core::utc_timestamp(*k.retired_at);
  return j;
}

nlohmann::json purge_json(const PurgeReport& r) {
  return {{"refresh_tokens", r.refresh_tokens}, {"codes", r.codes},        {"revocations", r.revocations},
          {"batches", r.batches},               {"took_ms", r.took.count()}, {"interrupted", r.interrupted}};
}

net::Response store_unavailable(const store::StoreError& error) {
  return net::Response::problem(503, "Service Unavailable", "storage: " + error.message);
}

std::optional<RefreshState> state_from_text(std::string_view text) {
  for (auto s : {RefreshState::active, RefreshState::rotated, RefreshState::revoked}) {
    if (to_string(s) == text) return s;
  }
  return std::nullopt;
}

}  // namespace

void AuthzService::add_admin_routes(net::Router& router, const std::function<net::Handler(net::Handler)>& admin) {
  router.get("/api/v1/authz/tokens", admin([this](net::Request& request) {
    RefreshFilter filter;
    if (auto v = request.query_param("userid")) filter.userid = *v;
    if (auto v = request.query_param("clientid")) filter.clientid = *v;
    if (auto v = request.query_param("state")) {
      filter.state = state_from_text(*v);
      if (!filter.state) return net::Response::problem(400, "Bad Request", "state is one of active, rotated, revoked");
    }
    for (auto [name, slot, max] : {std::tuple{"limit", &filter.limit, std::int64_t{10'000}},
                                   std::tuple{"offset", &filter.offset, std::int64_t{1} << 40}}) {
      if (auto v = request.query_param(name)) {
        char* end = nullptr;
        long long n = std::strtoll(v->c_str(), &end, 10);
        if (v->empty() || *end != '\0' || n < 0 || n > max) {
          return net::Response::problem(400, "Bad Request", std::string(name) + " must be a number from 0");
        }
        *slot = n;
      }
    }
    auto rows = refresh_tokens_.list(filter);
    if (!rows) return store_unavailable(rows.error());
    RefreshFilter all = filter;
    auto total = refresh_tokens_.count(all);
    if (!total) return store_unavailable(total.error());
    nlohmann::json tokens = nlohmann::json::array();
    for (const auto& r : *rows) tokens.push_back(token_json(r));
    return net::Response::json(200, nlohmann::json{{"tokens", tokens}, {"total", *total}}.dump());
  }));

  // Seed 001: revoke every refresh token of a user, or of a user on one
  // client (device).
  router.post("/api/v1/authz/tokens/revoke", admin([this](net::Request& request) {
    auto body = nlohmann::json::parse(request.body, nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body.contains("userid") || !body["userid"].is_string() ||
        body["userid"].get<std::string>().empty() || (body.contains("clientid") && !body["clientid"].is_string())) {
      return net::Response::problem(400, "Bad Request", R"(send {"userid": "...", "clientid": "..."} (clientid optional))");
    }
    std::string userid = body["userid"];
    std::optional<std::string> clientid;
    if (body.contains("clientid")) clientid = body["clientid"].get<std::string>();
    auto revoked = refresh_tokens_.revoke_user(userid, clientid ? std::optional<std::string_view>(*clientid)
                                                                : std::nullopt);
    if (!revoked) return store_unavailable(revoked.error());
    announce(kRevocationsChanged);
    return net::Response::json(200, nlohmann::json{{"revoked", *revoked}}.dump());
  }));

  router.get("/api/v1/authz/keys", admin([this](net::Request&) {
    nlohmann::json keys = nlohmann::json::array();
    for (const auto& k : keys_.describe()) keys.push_back(key_json(k));
    auto current = keys_.keys();
    const std::string signing = current->signing ? current->signing->kid() : "";
    const std::string encryption = current->encryption ? current->encryption->kid() : "";
    auto rows = store_.query("SELECT node_id, signing_kid, encryption_kid, seen_at FROM authz_node_keys ORDER BY node_id");
    if (!rows) return store_unavailable(rows.error());
    const std::int64_t now = unix_seconds(clock_);
    nlohmann::json nodes = nlohmann::json::array();
    bool mismatch = false;
    for (const auto& row : *rows) {
      std::string node = row.get<std::string>("node_id").value_or("");
      std::string s = row.get<std::string>("signing_kid").value_or("");
      std::string e = row.get<std::string>("encryption_kid").value_or("");
      std::int64_t seen = row.get<std::int64_t>("seen_at").value_or(0);
      const bool stale = now - seen > kNodeStaleAfter;
      const bool matches = s == signing && e == encryption;
      if (!stale && !matches) mismatch = true;
      auto hash_of = [](const std::string& kid) { return kid.substr(kid.find(':') + 1); };
      nodes.push_back({{"node_id", node},
                       {"signing_hash", hash_of(s)},
                       {"encryption_hash", hash_of(e)},
                       {"seen_at", core::utc_timestamp(seen)},
                       {"stale", stale},
                       {"matches", matches}});
    }
    nlohmann::json answer = {{"node_id", node_id_},
                             {"issuer_id", keys_.issuer_id()},
                             {"signing_hash", signing.substr(signing.find(':') + 1)},
                             {"encryption_hash", encryption.substr(encryption.find(':') + 1)},
                             {"keys", keys},
                             {"nodes", nodes},
                             {"mismatch", mismatch}};
    return net::Response::json(200, answer.dump());
  }));

  for (auto use : {KeyUse::signing, KeyUse::encryption}) {
    router.post("/api/v1/authz/keys/" + std::string(to_string(use)) + "/regenerate", admin([this, use](net::Request&) {
      auto key = keys_.regenerate(use);
      if (!key) return net::Response::problem(503, "Service Unavailable", key.error());
      announce(kKeysChanged);
      return net::Response::json(200, key_json(*key).dump());
    }));
  }

  router.get("/api/v1/authz/purge", admin([this](net::Request&) {
    std::lock_guard lock(mutex_);
    nlohmann::json answer = {{"running", purging_}};
    if (last_purge_) answer["last"] = purge_json(*last_purge_);
    if (!last_purge_error_.empty()) answer["last_error"] = last_purge_error_;
    auto next = std::chrono::duration_cast<std::chrono::seconds>(
                    next_purge_time(clock_.now(), purge_settings(config_)).time_since_epoch())
                    .count();
    answer["next_scheduled"] = core::utc_timestamp(next);
    return net::Response::json(200, answer.dump());
  }));
  router.post("/api/v1/authz/purge", admin([this](net::Request&) {
    {
      std::lock_guard lock(mutex_);
      purge_requested_ = true;
    }
    wake_.notify_all();
    return net::Response::json(202, R"({"started":true})");
  }));
}

}  // namespace ucedge::authz
