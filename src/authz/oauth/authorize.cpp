// /oauth2/authorize: the authorization-code grant (RFC 6749 §4.1) with PKCE
// (RFC 7636), answered with the sign-in page (GET) and, once the user signed
// in, a redirect carrying the code (POST).
#include <algorithm>
#include <cctype>

#include "authz/oauth/login_page.hpp"
#include "authz/oauth/oauth_error.hpp"
#include "authz/oauth/oauth_internal.hpp"
#include "core/random_token.hpp"
#include "core/secure_compare.hpp"

namespace ucedge::authz {

namespace {

constexpr std::string_view kCsrfCookie = "ucedge_login";

// The authorize parameters the sign-in form carries back in hidden fields.
constexpr std::string_view kCarried[] = {"response_type", "client_id", "redirect_uri", "scope",
                                         "state", "code_challenge", "code_challenge_method"};

std::optional<std::string_view> cookie(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    auto end = header.find(';');
    std::string_view pair = header.substr(0, end);
    header = end == std::string_view::npos ? std::string_view{} : header.substr(end + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
  }
  return std::nullopt;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

void secure_page_headers(net::Response& response) {
  response.set("Cache-Control", "no-store");
  response.set("Content-Security-Policy", std::string(login_page_csp()));
  response.set("X-Frame-Options", "DENY");
  response.set("X-Content-Type-Options", "nosniff");
  response.set("Referrer-Policy", "no-referrer");
}

// Where the user's browser is sent back: RFC 6749 §4.1.2 and §4.1.2.1, with
// the issuer of RFC 9207.
net::Response redirect(std::string location) {
  net::Response response;
  response.status = 303;
  response.set("Location", std::move(location));
  response.set("Cache-Control", "no-store");
  response.set("Referrer-Policy", "no-referrer");
  return response;
}

}  // namespace

struct OAuthServer::AuthorizeRequest {
  std::shared_ptr<const Client> client;
  std::string redirect_uri;        // where to send the browser back
  std::string redirect_uri_given;  // as sent ("" when left out)
  std::string state;
  std::string scope;
  std::string code_challenge;
  std::vector<std::pair<std::string, std::string>> carried;
  // Set when the request cannot go on: the answer to send instead.
  std::optional<net::Response> refusal;
};

net::Response OAuthServer::authorize(net::Request& request) {
  std::string_view text = request.query;
  if (request.method == net::Method::post) {
    if (!is_form_post(request)) {
      return net::Response::problem(415, "Unsupported Media Type", "post the sign-in form as application/x-www-form-urlencoded");
    }
    text = request.body;
  }
  const auto& branding = parts_.config.login;
  auto form = parse_form(text);
  if (!form) {
    auto page = net::Response::text(400, render_error_page(branding, "This sign-in link is broken: " + form.error().describe() + "."),
                                    "text/html; charset=utf-8");
    secure_page_headers(page);
    return page;
  }

  // Until the client and its redirect URI are known to be right, errors are
  // shown here and never redirected (RFC 6749 §4.1.2.1).
  AuthorizeRequest a;
  auto error_page = [&](std::string message) {
    auto page = net::Response::text(400, render_error_page(branding, message), "text/html; charset=utf-8");
    secure_page_headers(page);
    return page;
  };
  auto client_id = form->get("client_id");
  if (!client_id) return error_page("This sign-in link does not say which application is asking (client_id is missing).");
  a.client = parts_.clients.find(*client_id);
  if (!a.client) return error_page("This sign-in link names an application this service does not know.");
  if (auto uri = form->get("redirect_uri")) {
    if (!a.client->allows_redirect(*uri)) {
      return error_page("This sign-in link would send you to an address the application did not register.");
    }
    a.redirect_uri = a.redirect_uri_given = std::string(*uri);
  } else if (a.client->redirect_uris.size() == 1) {
    a.redirect_uri = a.client->redirect_uris.front();
  } else {
    return error_page("This sign-in link does not say where to return (redirect_uri is missing).");
  }
  a.state = std::string(form->get_or("state"));

  // From here on, errors go back to the client (RFC 6749 §4.1.2.1).
  auto refuse = [&](std::string_view error, std::string_view description) {
    parts_.metrics.counter("ucedge_authz_authorize_errors_total", "Authorization requests refused, by OAuth error code.",
                           "error=\"" + core::escape_label(error) + "\"")
        .inc();
    return redirect(append_query(a.redirect_uri, {{"error", error},
                                                  {"error_description", description},
                                                  {"state", a.state},
                                                  {"iss", issuer_url(request)}}));
  };
  if (form->get_or("response_type") != "code") {
    return refuse("unsupported_response_type", "only response_type=code is supported");
  }
  if (!a.client->allows_grant("authorization_code")) {
    return refuse("unauthorized_client", "this client may not use the authorization code grant");
  }
  auto scope = granted_scope(*a.client, form->get("scope"));
  if (!scope) return refuse("invalid_scope", "the requested scope is not allowed for this client");
  a.scope = *scope;
  auto challenge = form->get("code_challenge");
  auto method = form->get("code_challenge_method");
  if (challenge) {
    if (method.value_or("plain") != "S256") {
      return refuse("invalid_request", "code_challenge_method must be S256");
    }
    if (!valid_s256_challenge(*challenge)) {
      return refuse("invalid_request", "code_challenge must be 43 base64url characters");
    }
    a.code_challenge = std::string(*challenge);
  } else if (!a.client->confidential) {
    return refuse("invalid_request", "PKCE is required: send code_challenge with code_challenge_method=S256");
  } else if (method) {
    return refuse("invalid_request", "code_challenge_method without code_challenge");
  }
  for (auto name : kCarried) {
    if (auto value = form->get(name)) a.carried.emplace_back(std::string(name), std::string(*value));
  }

  // Seed 000: a client may send the user's credentials as HTTP Basic
  // (decoded as UTF-8) instead of showing the page. No challenge is ever
  // sent, so browsers never cache credentials for this origin.
  if (auto authorization = request.header("Authorization"); !authorization.empty()) {
    auto credentials = net::basic_credentials(authorization);
    if (!credentials) return show_login(request, a, 400, "The Authorization header is not valid HTTP Basic.", {});
    return sign_in(request, a, credentials->first, credentials->second);
  }
  if (request.method == net::Method::post) {
    auto sent_csrf = form->get_or("csrf");
    auto cookie_csrf = cookie(request.header("Cookie"), kCsrfCookie);
    if (!cookie_csrf || cookie_csrf->empty() || !core::secure_equal(sent_csrf, *cookie_csrf)) {
      return show_login(request, a, 403, "This sign-in form has expired. Please sign in again.", form->get_or("login"));
    }
    auto login = form->get("login");
    auto password = form->get("password");
    if (!login || !password) {
      return show_login(request, a, 400, "Enter your user ID or e-mail address and your password.",
                        form->get_or("login"));
    }
    return sign_in(request, a, *login, *password);
  }
  return show_login(request, a, 200, {}, {});
}

net::Response OAuthServer::show_login(const net::Request& request, const AuthorizeRequest& a, int status,
                                      std::string_view error, std::string_view login) {
  // A double-submit token against login CSRF: the form must carry the value
  // of a cookie only this origin can set.
  std::string csrf;
  if (auto existing = cookie(request.header("Cookie"), kCsrfCookie); existing && existing->size() == 32) {
    csrf = std::string(*existing);
  } else {
    csrf = core::random_token(24);
  }
  LoginPage page;
  page.action = "/oauth2/authorize";
  page.client_name = a.client->name.empty() ? a.client->client_id : a.client->name;
  page.login = std::string(login);
  page.error = std::string(error);
  page.hidden = a.carried;
  page.hidden.emplace_back("csrf", csrf);
  auto response = net::Response::text(status, render_login_page(parts_.config.login, page), "text/html; charset=utf-8");
  secure_page_headers(response);
  response.set("Set-Cookie", std::string(kCsrfCookie) + "=" + csrf + "; Path=/oauth2/authorize; HttpOnly; SameSite=Lax" +
                                 (request.secure ? "; Secure" : ""));
  return response;
}

net::Response OAuthServer::sign_in(const net::Request& request, const AuthorizeRequest& a, std::string_view login,
                                   std::string_view password) {
  // Counted per account, whichever of its ids was typed.
  auto account = parts_.users.find(login);
  const std::string user_key =
      "user:" + (account && account->has_value() ? (*account)->userid : lower(login));
  const std::string address_key = "address:" + request.remote_address;
  std::int64_t wait = std::max(login_failures_by_user_.retry_after(user_key),
                               login_failures_by_address_.retry_after(address_key));
  if (wait > 0) {
    metrics_->logins_limited->inc();
    auto page = show_login(request, a, 429,
                           "Too many failed attempts. Try again in " + std::to_string(wait) + " seconds.", login);
    page.set("Retry-After", std::to_string(wait));
    return page;
  }
  auto user = parts_.users.authenticate(login, password);
  if (!user) {
    if (user.error() == LoginError::unavailable) {
      return show_login(request, a, 503, "Signing in is not possible right now. Please try again shortly.", login);
    }
    login_failures_by_user_.failed(user_key);
    login_failures_by_address_.failed(address_key);
    metrics_->logins_failed->inc();
    return show_login(request, a, 403, "The user ID or password is not right.", login);
  }
  metrics_->logins_ok->inc();

  CodeGrant grant{a.client->client_id, user->userid, a.redirect_uri_given, a.scope, a.code_challenge};
  auto code = parts_.codes.issue(grant);
  if (!code) {
    return show_login(request, a, 503, "Signing in is not possible right now. Please try again shortly.", login);
  }
  return redirect(append_query(a.redirect_uri, {{"code", *code}, {"state", a.state}, {"iss", issuer_url(request)}}));
}

net::Response OAuthServer::sample_callback(net::Request& request) {
  auto form = parse_form(request.query);
  std::string message;
  if (!form) {
    message = "The callback's query string is malformed: " + form.error().describe() + ".";
  } else if (auto error = form->get("error")) {
    message = "The authorization server answered error=" + std::string(*error) + ": " +
              std::string(form->get_or("error_description")) + ".";
  } else {
    message = "code=" + std::string(form->get_or("code")) + "\nstate=" + std::string(form->get_or("state"));
  }
  auto response = net::Response::text(200, message + "\n");
  response.set("Cache-Control", "no-store");
  response.set("Referrer-Policy", "no-referrer");
  return response;
}

}  // namespace ucedge::authz
