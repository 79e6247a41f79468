#pragma once
// The sign-in page of /oauth2/authorize: plain HTML and CSS, no JavaScript,
// accessible (a labelled form, a language, an error announced to screen
// readers and linked to the fields, focus order that follows the page), and
// brandable from [authz.login]. The authorize request travels in hidden
// fields so the form posts back everything the server needs.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ucedge::authz {

// The names the form posts its two inputs under; a hidden field with one of
// these names is not rendered.
inline constexpr std::string_view kLoginField = "login";
inline constexpr std::string_view kPasswordField = "password";

struct LoginBranding {
  std::string title = "Sign in";
  std::string product = "ucedge";
  std::string logo_url;                 // "" = no logo
  std::string primary_color = "#0b5cad";  // buttons, links, focus ring
  std::string background_color = "#f4f6f8";
  std::string support_url;              // "" = no help link
  std::string support_text = "Trouble signing in?";
  std::string language = "en";
  // The page's words, for a language other than English. In `intro`,
  // {client} and {product} stand for the client's name (the product's when
  // the client has none) and the product.
  std::string intro = "Sign in to {client} with your {product} account.";
  std::string login_label = "User ID or email";
  std::string password_label = "Password";
  std::string submit_label = "Sign in";
};

struct LoginPage {
  std::string action;  // where the form posts ("/oauth2/authorize")
  std::string client_name;
  std::string login;   // pre-filled after a failed attempt
  std::string error;   // "" = none
  // The authorize request's parameters (client_id, redirect_uri, state, ...).
  std::vector<std::pair<std::string, std::string>> hidden;
};

// The whole HTML document; every value is escaped. Colours that are not
// "#rgb"/"#rrggbb" fall back to the defaults, URLs that are not http(s) are left out.
std::string render_login_page(const LoginBranding& branding, const LoginPage& page);

// The same page with only a message in place of the form: for an authorize
// request too broken to send back to the client (RFC 6749 §4.1.2.1). The
// message is escaped.
std::string render_error_page(const LoginBranding& branding, std::string_view message);

// The Content-Security-Policy that goes with both pages: no script, styles only
// inline, images from http(s) or data:, never framed. It has no form-action:
// Chrome and Safari apply form-action to the redirect that answers the POST
// (w3c/webappsec-csp#8), and that redirect goes to the client's redirect_uri.
std::string_view login_page_csp();

}  // namespace ucedge::authz
