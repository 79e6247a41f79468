#include "authz/oauth/login_page.hpp"

#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <optional>

namespace ucedge::authz {

namespace {

// Text and attribute values alike: every attribute below is double-quoted, and
// the single quote is escaped too so that no value can change that.
void append_escaped(std::string& out, std::string_view text) {
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
}

std::string escaped(std::string_view text) {
  std::string out;
  append_escaped(out, text);
  return out;
}

using Rgb = std::array<std::uint8_t, 3>;

std::optional<Rgb> parse_color(std::string_view text) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (text.empty() || text[0] != '#' || (text.size() != 4 && text.size() != 7)) return std::nullopt;
  Rgb rgb{};
  for (std::size_t i = 0; i < 3; ++i) {
    int hi, lo;
    if (text.size() == 4) {
      hi = lo = nibble(text[1 + i]);
    } else {
      hi = nibble(text[1 + 2 * i]);
      lo = nibble(text[2 + 2 * i]);
    }
    if (hi < 0 || lo < 0) return std::nullopt;
    rgb[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return rgb;
}

std::string css_color(const Rgb& rgb) {
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
  return buffer;
}

// WCAG 2.x relative luminance and contrast ratio.
double luminance(const Rgb& rgb) {
  auto linear = [](std::uint8_t v) {
    double c = v / 255.0;
    return c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4);
  };
  return 0.2126 * linear(rgb[0]) + 0.7152 * linear(rgb[1]) + 0.0722 * linear(rgb[2]);
}

double contrast(const Rgb& a, const Rgb& b) {
  double la = luminance(a), lb = luminance(b);
  if (la < lb) std::swap(la, lb);
  return (la + 0.05) / (lb + 0.05);
}

constexpr Rgb kWhite{0xff, 0xff, 0xff};
constexpr Rgb kBlack{0x00, 0x00, 0x00};
constexpr Rgb kInk{0x1b, 0x1f, 0x24};  // body text on the white card

Rgb color_or_default(std::string_view configured, std::string_view fallback) {
  if (auto rgb = parse_color(configured)) return *rgb;
  return *parse_color(fallback);
}

// Only absolute http(s) URLs, and nothing a browser would have to repair.
bool is_web_url(std::string_view url) {
  auto starts_with_ci = [&](std::string_view prefix) {
    if (url.size() <= prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
      char c = url[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != prefix[i]) return false;
    }
    return true;
  };
  if (!starts_with_ci("https://") && !starts_with_ci("http://")) return false;
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

bool is_language_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > 35) return false;
  for (char c : tag) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return tag.front() != '-' && tag.back() != '-';
}

// `intro` with {client} and {product} replaced by the escaped names in <strong>.
std::string render_intro(std::string_view intro, std::string_view client, std::string_view product) {
  std::string out;
  std::size_t i = 0;
  while (i < intro.size()) {
    std::string_view rest = intro.substr(i);
    if (rest.starts_with("{client}")) {
      out += "<strong>";
      append_escaped(out, client);
      out += "</strong>";
      i += 8;
    } else if (rest.starts_with("{product}")) {
      append_escaped(out, product);
      i += 9;
    } else {
      std::size_t next = intro.find('{', i + 1);
      if (next == std::string_view::npos) next = intro.size();
      append_escaped(out, intro.substr(i, next - i));
      i = next;
    }
  }
  return out;
}

// The document up to and including the heading: head, style, logo.
std::string open_page(const LoginBranding& branding) {
  const LoginBranding defaults;
  Rgb primary = color_or_default(branding.primary_color, defaults.primary_color);
  Rgb background = color_or_default(branding.background_color, defaults.background_color);
  // Button text in whichever of white and black stands out more on the
  // primary colour; links and the focus ring sit on the white card, so a
  // primary too light to read there (WCAG 1.4.3: 4.5:1) gives way to ink.
  Rgb on_primary = contrast(primary, kWhite) >= contrast(primary, kBlack) ? kWhite : kBlack;
  Rgb accent = contrast(primary, kWhite) >= 4.5 ? primary : kInk;
  std::string language = is_language_tag(branding.language) ? branding.language : defaults.language;

  std::string html;
  html.reserve(4096);
  html += "<!DOCTYPE html>\n<html lang=\"" + escaped(language) + "\">\n<head>\n";
  html += "<meta charset=\"utf-8\">\n";
  html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  // The page's address carries the authorize request (state included): keep
  // it from the logo's host and the support site.
  html += "<meta name=\"referrer\" content=\"no-referrer\">\n";
  html += "<meta name=\"robots\" content=\"noindex\">\n";
  html += "<title>" + escaped(branding.title) + " \xE2\x80\x93 " + escaped(branding.product) + "</title>\n";
  html += "<style>\n";
  html += ":root{--primary:" + css_color(primary) + ";--on-primary:" + css_color(on_primary) +
          ";--accent:" + css_color(accent) + ";--background:" + css_color(background) + "}\n";
  html +=
      "*{box-sizing:border-box}\n"
      "body{margin:0;min-height:100vh;display:flex;justify-content:center;align-items:flex-start;"
      "padding:3rem 1rem;background:var(--background);color:#1b1f24;"
      "font:16px/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,\"Helvetica Neue\",Arial,sans-serif}\n"
      "main{width:100%;max-width:24rem;background:#fff;border-radius:12px;padding:2rem 1.5rem;"
      "box-shadow:0 1px 3px rgba(0,0,0,.12),0 8px 24px rgba(0,0,0,.08)}\n"
      ".logo{display:block;max-width:100%;max-height:3rem;margin:0 0 1.25rem}\n"
      "h1{font-size:1.5rem;line-height:1.25;margin:0 0 .5rem}\n"
      ".intro{margin:0 0 1.5rem;color:#48505a;overflow-wrap:anywhere}\n"
      ".error{margin:0 0 1rem;padding:.75rem 1rem;border-left:4px solid #b3261e;border-radius:4px;"
      "background:#fcebea;color:#8c1d18}\n"
      "h1+.error{margin-top:1rem}\n"
      "label{display:block;font-weight:600;margin:1rem 0 .375rem}\n"
      "input{width:100%;font:inherit;color:inherit;background:#fff;padding:.625rem .75rem;"
      "border:1px solid #6e7781;border-radius:6px}\n"
      "input[aria-invalid=true]{border:2px solid #b3261e}\n"
      "input:focus,button:focus-visible,a:focus-visible{outline:3px solid var(--accent);outline-offset:2px}\n"
      "button{display:block;width:100%;margin:1.5rem 0 0;padding:.75rem 1rem;font:inherit;font-weight:600;"
      "color:var(--on-primary);background:var(--primary);border:0;border-radius:6px;cursor:pointer}\n"
      "button:hover{filter:brightness(.92)}\n"
      "a{color:var(--accent)}\n"
      ".support{margin:1.5rem 0 0;text-align:center;font-size:.9375rem}\n"
      "@media (max-width:30rem){body{padding:1rem .75rem}main{padding:1.5rem 1.25rem}}\n";
  html += "</style>\n</head>\n<body>\n<main>\n";

  if (!branding.logo_url.empty() && is_web_url(branding.logo_url)) {
    html += "<img class=\"logo\" src=\"" + escaped(branding.logo_url) + "\" alt=\"" +
            escaped(branding.product) + "\">\n";
  }
  html += "<h1>" + escaped(branding.title) + "</h1>\n";
  return html;
}

// The support link and the end of the document.
void close_page(std::string& html, const LoginBranding& branding) {
  if (!branding.support_url.empty() && is_web_url(branding.support_url)) {
    html += "<p class=\"support\"><a href=\"" + escaped(branding.support_url) + "\">" +
            escaped(branding.support_text) + "</a></p>\n";
  }
  html += "</main>\n</body>\n</html>\n";
}

}  // namespace

std::string render_login_page(const LoginBranding& branding, const LoginPage& page) {
  bool has_error = !page.error.empty();
  std::string_view client = page.client_name.empty() ? std::string_view(branding.product) : page.client_name;

  std::string html = open_page(branding);
  html += "<p class=\"intro\">" + render_intro(branding.intro, client, branding.product) + "</p>\n";
  if (has_error) {
    html += "<p id=\"login-error\" class=\"error\" role=\"alert\">" + escaped(page.error) + "</p>\n";
  }

  html += "<form method=\"post\" action=\"" + escaped(page.action) + "\">\n";
  for (const auto& [name, value] : page.hidden) {
    if (name.empty() || value.empty() || name == kLoginField || name == kPasswordField) continue;
    html += "<input type=\"hidden\" name=\"" + escaped(name) + "\" value=\"" + escaped(value) + "\">\n";
  }
  std::string invalid = has_error ? " aria-invalid=\"true\" aria-describedby=\"login-error\"" : "";
  // Focus starts where the user has something to type.
  bool focus_password = !page.login.empty();
  html += "<label for=\"login\">" + escaped(branding.login_label) + "</label>\n";
  html += "<input id=\"login\" name=\"" + std::string(kLoginField) +
          "\" type=\"text\" autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\" required";
  if (!page.login.empty()) html += " value=\"" + escaped(page.login) + "\"";
  html += invalid;
  if (!focus_password) html += " autofocus";
  html += ">\n";
  html += "<label for=\"password\">" + escaped(branding.password_label) + "</label>\n";
  html += "<input id=\"password\" name=\"" + std::string(kPasswordField) +
          "\" type=\"password\" autocomplete=\"current-password\" required";
  html += invalid;
  if (focus_password) html += " autofocus";
  html += ">\n";
  html += "<button type=\"submit\">" + escaped(branding.submit_label) + "</button>\n";
  html += "</form>\n";
  close_page(html, branding);
  return html;
}

std::string render_error_page(const LoginBranding& branding, std::string_view message) {
  std::string html = open_page(branding);
  html += "<p class=\"error\" role=\"alert\">" + escaped(message) + "</p>\n";
  close_page(html, branding);
  return html;
}

std::string_view login_page_csp() {
  return "default-src 'none'; style-src 'unsafe-inline'; img-src https: http: data:; "
         "frame-ancestors 'none'; base-uri 'none'";
}

}  // namespace ucedge::authz
