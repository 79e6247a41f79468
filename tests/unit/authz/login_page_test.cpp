// The sign-in page: a complete, accessible document with no script, every
// value escaped, branding applied only when it is safe.
#include "authz/oauth/login_page.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <string>

namespace ucedge::authz {
namespace {

LoginPage sample_page() {
  LoginPage page;
  page.action = "/oauth2/authorize";
  page.client_name = "Softphone";
  page.hidden = {{"client_id", "softphone"},
                 {"redirect_uri", "https://app.example/cb?tenant=a&b=c"},
                 {"state", "xyz"},
                 {"code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}};
  return page;
}

::testing::AssertionResult contains(const std::string& text, std::string_view needle) {
  if (text.find(needle) != std::string::npos)
    return ::testing::AssertionSuccess() << "found \"" << needle << "\"";
  return ::testing::AssertionFailure() << "no \"" << needle << "\" in:\n" << text;
}

std::size_t count(const std::string& text, std::string_view needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// The opening tag of the element with this id.
std::string tag_with_id(const std::string& html, std::string_view id) {
  std::size_t at = html.find("id=\"" + std::string(id) + "\"");
  if (at == std::string::npos) return {};
  std::size_t start = html.rfind('<', at);
  return html.substr(start, html.find('>', at) - start + 1);
}

std::string style_of(const std::string& html) {
  std::size_t start = html.find("<style>");
  return html.substr(start, html.find("</style>") - start);
}

TEST(LoginPage, IsACompleteHtml5Document) {
  LoginBranding branding;
  branding.language = "it-IT";
  std::string html = render_login_page(branding, sample_page());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>\n<html lang=\"it-IT\">", 0), 0u);
  EXPECT_TRUE(contains(html, "<meta charset=\"utf-8\">"));
  EXPECT_TRUE(contains(html, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"));
  EXPECT_TRUE(contains(html, "<title>Sign in \xE2\x80\x93 ucedge</title>"));
  EXPECT_EQ(count(html, "<main>"), 1u);
  EXPECT_EQ(count(html, "<h1>Sign in</h1>"), 1u);
  EXPECT_TRUE(contains(html, "</main>\n</body>\n</html>\n"));
  EXPECT_TRUE(contains(style_of(html), "max-width:24rem"));
}

TEST(LoginPage, AnInvalidLanguageFallsBackToEnglish) {
  LoginBranding branding;
  branding.language = "en\"><script>";
  EXPECT_TRUE(contains(render_login_page(branding, sample_page()), "<html lang=\"en\">"));
}

TEST(LoginPage, FormWithLabelledInputsAndAButton) {
  std::string html = render_login_page(LoginBranding{}, sample_page());
  EXPECT_TRUE(contains(html, "<form method=\"post\" action=\"/oauth2/authorize\">"));
  EXPECT_TRUE(contains(html, "<label for=\"login\">User ID or email</label>"));
  EXPECT_TRUE(contains(html, "<label for=\"password\">Password</label>"));
  std::string login = tag_with_id(html, "login");
  EXPECT_TRUE(contains(login, "name=\"login\""));
  EXPECT_TRUE(contains(login, "autocomplete=\"username\""));
  EXPECT_TRUE(contains(login, "required"));
  std::string password = tag_with_id(html, "password");
  EXPECT_TRUE(contains(password, "name=\"password\""));
  EXPECT_TRUE(contains(password, "type=\"password\""));
  EXPECT_TRUE(contains(password, "autocomplete=\"current-password\""));
  EXPECT_FALSE(contains(password, "value="));
  EXPECT_TRUE(contains(html, "<button type=\"submit\">Sign in</button>"));
  // Label, input, label, input, button, in reading order.
  std::size_t l1 = html.find("<label for=\"login\""), i1 = html.find("id=\"login\"");
  std::size_t l2 = html.find("<label for=\"password\""), i2 = html.find("id=\"password\"");
  std::size_t b = html.find("<button");
  EXPECT_LT(l1, i1);
  EXPECT_LT(i1, l2);
  EXPECT_LT(l2, i2);
  EXPECT_LT(i2, b);
}

TEST(LoginPage, CarriesTheAuthorizeRequestInHiddenFields) {
  std::string html = render_login_page(LoginBranding{}, sample_page());
  EXPECT_TRUE(contains(html, "<input type=\"hidden\" name=\"client_id\" value=\"softphone\">"));
  EXPECT_TRUE(contains(html,
                       "<input type=\"hidden\" name=\"redirect_uri\" "
                       "value=\"https://app.example/cb?tenant=a&amp;b=c\">"));
  EXPECT_TRUE(contains(html, "<input type=\"hidden\" name=\"state\" value=\"xyz\">"));
  EXPECT_EQ(count(html, "type=\"hidden\""), 4u);
  // Hidden fields sit inside the form.
  EXPECT_GT(html.find("name=\"client_id\""), html.find("<form"));
  EXPECT_LT(html.find("name=\"client_id\""), html.find("</form>"));
}

TEST(LoginPage, HiddenFieldsCannotShadowTheCredentials) {
  LoginPage page = sample_page();
  page.hidden.push_back({"login", "mallory"});
  page.hidden.push_back({"password", "x"});
  page.hidden.push_back({"", "nameless"});
  page.hidden.push_back({"empty", ""});
  std::string html = render_login_page(LoginBranding{}, page);
  EXPECT_EQ(count(html, "name=\"login\""), 1u);
  EXPECT_EQ(count(html, "name=\"password\""), 1u);
  EXPECT_FALSE(contains(html, "mallory"));
  EXPECT_FALSE(contains(html, "nameless"));
  EXPECT_FALSE(contains(html, "name=\"empty\""));
}

TEST(LoginPage, NamesTheClient) {
  std::string html = render_login_page(LoginBranding{}, sample_page());
  EXPECT_TRUE(contains(html, "Sign in to <strong>Softphone</strong> with your ucedge account."));

  LoginBranding branding;
  branding.product = "Acme Voice";
  branding.intro = "Accedi a {client} con il tuo account {product}.";
  html = render_login_page(branding, sample_page());
  EXPECT_TRUE(contains(html, "Accedi a <strong>Softphone</strong> con il tuo account Acme Voice."));
}

TEST(LoginPage, WithoutAClientNameTheProductIsNamed) {
  LoginPage page = sample_page();
  page.client_name.clear();
  std::string html = render_login_page(LoginBranding{}, page);
  EXPECT_TRUE(contains(html, "Sign in to <strong>ucedge</strong> with your ucedge account."));
}

TEST(LoginPage, NoErrorNoAlert) {
  std::string html = render_login_page(LoginBranding{}, sample_page());
  EXPECT_FALSE(contains(html, "role=\"alert\""));
  for (std::string_view id : {"login", "password"}) {
    EXPECT_FALSE(contains(tag_with_id(html, id), "aria-invalid")) << id;
    EXPECT_FALSE(contains(tag_with_id(html, id), "aria-describedby")) << id;
  }
  EXPECT_FALSE(contains(html, "id=\"login-error\""));
  EXPECT_TRUE(contains(tag_with_id(html, "login"), "autofocus"));
}

TEST(LoginPage, ErrorIsAnnouncedAndLinkedFromBothInputs) {
  LoginPage page = sample_page();
  page.login = "alice";
  page.error = "Wrong user ID or password.";
  std::string html = render_login_page(LoginBranding{}, page);
  EXPECT_TRUE(
      contains(html, "<p id=\"login-error\" class=\"error\" role=\"alert\">Wrong user ID or password.</p>"));
  for (std::string_view id : {"login", "password"}) {
    std::string input = tag_with_id(html, id);
    EXPECT_TRUE(contains(input, "aria-invalid=\"true\"")) << id;
    EXPECT_TRUE(contains(input, "aria-describedby=\"login-error\"")) << id;
  }
  EXPECT_TRUE(contains(tag_with_id(html, "login"), "value=\"alice\""));
  // The user id is already there: the password is what is left to type.
  EXPECT_TRUE(contains(tag_with_id(html, "password"), "autofocus"));
  EXPECT_FALSE(contains(tag_with_id(html, "login"), "autofocus"));
  // Announced before the form, where it is read first.
  EXPECT_LT(html.find("role=\"alert\""), html.find("<form"));
}

TEST(LoginPage, EveryValueIsEscaped) {
  const std::string evil = "<script>alert(\"x\")</script> & 'q'";
  const std::string safe = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;";
  LoginBranding branding;
  branding.title = evil;
  branding.product = evil;
  branding.support_text = evil;
  branding.support_url = "https://help.example/?a=1&b=\"2\"";
  branding.logo_url = "https://cdn.example/logo.png?v=<1>";
  branding.login_label = evil;
  LoginPage page;
  page.action = "/oauth2/authorize?x=\"><script>";
  page.client_name = evil;
  page.login = evil;
  page.error = evil;
  page.hidden = {{"state", evil}, {"a\"b", evil}};
  std::string html = render_login_page(branding, page);

  EXPECT_FALSE(contains(html, "<script"));
  EXPECT_FALSE(contains(html, "\"x\""));
  EXPECT_FALSE(contains(html, "'q'"));
  EXPECT_TRUE(contains(html, "<strong>" + safe + "</strong>"));           // client name
  EXPECT_TRUE(contains(html, "value=\"" + safe + "\" aria-invalid"));     // login
  EXPECT_TRUE(contains(html, "role=\"alert\">" + safe + "</p>"));         // error
  EXPECT_TRUE(contains(html, "name=\"state\" value=\"" + safe + "\">"));  // hidden
  EXPECT_TRUE(contains(html, "name=\"a&quot;b\""));                       // hidden name
  EXPECT_TRUE(contains(html, "<h1>" + safe + "</h1>"));                   // title
  EXPECT_TRUE(contains(html, "<label for=\"login\">" + safe + "</label>"));
  EXPECT_TRUE(contains(html, "action=\"/oauth2/authorize?x=&quot;&gt;&lt;script&gt;\""));
  EXPECT_TRUE(contains(html, "href=\"https://help.example/?a=1&amp;b=&quot;2&quot;\">" + safe + "</a>"));
  EXPECT_TRUE(contains(html, "src=\"https://cdn.example/logo.png?v=&lt;1&gt;\" alt=\"" + safe + "\""));
}

TEST(LoginPage, NoJavaScriptAnywhere) {
  LoginBranding branding;
  branding.logo_url = "https://cdn.example/logo.svg";
  branding.support_url = "https://help.example/";
  LoginPage page = sample_page();
  page.error = "Wrong user ID or password.";
  std::string html = render_login_page(branding, page);
  EXPECT_FALSE(contains(html, "<script"));
  EXPECT_FALSE(contains(html, "javascript:"));
  EXPECT_FALSE(std::regex_search(html, std::regex(R"(\son[a-z]+\s*=)", std::regex::icase)));
  // Nothing loaded from elsewhere but the logo.
  EXPECT_FALSE(contains(html, "<link"));
  EXPECT_EQ(count(html, "src="), 1u);
}

TEST(LoginPage, LogoWithAltTextOnlyForWebUrls) {
  LoginBranding branding;
  branding.product = "Acme Voice";
  EXPECT_FALSE(contains(render_login_page(branding, sample_page()), "<img"));

  branding.logo_url = "https://cdn.example/acme.svg";
  EXPECT_TRUE(contains(render_login_page(branding, sample_page()),
                       "<img class=\"logo\" src=\"https://cdn.example/acme.svg\" alt=\"Acme Voice\">"));
  branding.logo_url = "HTTP://cdn.example/acme.png";
  EXPECT_TRUE(contains(render_login_page(branding, sample_page()), "src=\"HTTP://cdn.example/acme.png\""));

  for (std::string bad :
       {"javascript:alert(1)", "data:image/svg+xml,<svg onload=alert(1)>", "//cdn.example/a.png",
        "/static/logo.png", "https://", "https://cdn.example/a b.png", "ftp://cdn.example/a.png"}) {
    branding.logo_url = bad;
    EXPECT_FALSE(contains(render_login_page(branding, sample_page()), "<img")) << bad;
  }
}

TEST(LoginPage, SupportLinkOnlyWhenSet) {
  LoginBranding branding;
  EXPECT_FALSE(contains(render_login_page(branding, sample_page()), "<a "));
  branding.support_url = "https://help.example/signin";
  branding.support_text = "Need help?";
  EXPECT_TRUE(contains(render_login_page(branding, sample_page()),
                       "<p class=\"support\"><a href=\"https://help.example/signin\">Need help?</a></p>"));
  branding.support_url = "javascript:alert(1)";
  EXPECT_FALSE(contains(render_login_page(branding, sample_page()), "<a "));
}

TEST(LoginPage, BrandColoursAreApplied) {
  LoginBranding branding;
  branding.primary_color = "#7B1FA2";
  branding.background_color = "#eee";
  std::string style = style_of(render_login_page(branding, sample_page()));
  EXPECT_TRUE(contains(style, "--primary:#7b1fa2;"));
  EXPECT_TRUE(contains(style, "--background:#eeeeee"));
  EXPECT_TRUE(contains(style, "background:var(--primary)"));
  EXPECT_TRUE(contains(style, "background:var(--background)"));
}

TEST(LoginPage, InvalidColoursFallBackToTheDefaults) {
  LoginBranding branding;
  for (std::string bad : {"red", "#12", "#12345", "#1234567", "#ggg", "#fff;}body{display:none", "",
                          "rgb(1,2,3)", "#0b5cad</style><script>"}) {
    branding.primary_color = bad;
    branding.background_color = bad;
    std::string style = style_of(render_login_page(branding, sample_page()));
    EXPECT_TRUE(contains(style, "--primary:#0b5cad;")) << bad;
    EXPECT_TRUE(contains(style, "--background:#f4f6f8")) << bad;
    EXPECT_FALSE(contains(style, "display:none")) << bad;
  }
}

TEST(LoginPage, ButtonTextContrastsWithThePrimaryColour) {
  LoginBranding branding;
  std::string style = style_of(render_login_page(branding, sample_page()));
  EXPECT_TRUE(contains(style, "--on-primary:#ffffff;"));
  EXPECT_TRUE(contains(style, "--accent:#0b5cad;"));

  // A light brand colour: dark text on the button, and links and the focus
  // ring in ink, since yellow on the white card could not be read.
  branding.primary_color = "#ffd400";
  style = style_of(render_login_page(branding, sample_page()));
  EXPECT_TRUE(contains(style, "--on-primary:#000000;"));
  EXPECT_TRUE(contains(style, "--accent:#1b1f24;"));

  branding.primary_color = "#000";
  EXPECT_TRUE(contains(style_of(render_login_page(branding, sample_page())), "--on-primary:#ffffff;"));
  branding.primary_color = "#fff";
  EXPECT_TRUE(contains(style_of(render_login_page(branding, sample_page())), "--on-primary:#000000;"));
}

TEST(ErrorPage, ShowsTheMessageInTheBrandedFrame) {
  LoginBranding branding;
  branding.language = "de";
  branding.product = "Acme Voice";
  branding.primary_color = "#7b1fa2";
  branding.logo_url = "https://cdn.example/acme.svg";
  branding.support_url = "https://help.example/";
  std::string html =
      render_error_page(branding, "This sign-in link names an application this service does not know.");
  EXPECT_EQ(html.rfind("<!DOCTYPE html>\n<html lang=\"de\">", 0), 0u);
  EXPECT_TRUE(contains(html, "<meta name=\"viewport\""));
  EXPECT_TRUE(contains(html, "<main>"));
  EXPECT_TRUE(contains(html, "<h1>Sign in</h1>"));
  EXPECT_TRUE(contains(html,
                       "<p class=\"error\" role=\"alert\">This sign-in link names an application this "
                       "service does not know.</p>"));
  EXPECT_TRUE(contains(html, "alt=\"Acme Voice\""));
  EXPECT_TRUE(contains(html, "href=\"https://help.example/\""));
  EXPECT_TRUE(contains(style_of(html), "--primary:#7b1fa2;"));
  EXPECT_FALSE(contains(html, "<form"));
  EXPECT_FALSE(contains(html, "<script"));
  EXPECT_TRUE(contains(html, "</main>\n</body>\n</html>\n"));
}

TEST(ErrorPage, EscapesTheMessage) {
  std::string html = render_error_page(LoginBranding{}, "parameter '<script>\"&' is repeated");
  EXPECT_FALSE(contains(html, "<script"));
  EXPECT_TRUE(contains(html, "role=\"alert\">parameter &#39;&lt;script&gt;&quot;&amp;&#39; is repeated</p>"));
}

TEST(LoginPage, CspForbidsScriptsAndFramesAndAllowsThePage) {
  std::string csp(login_page_csp());
  EXPECT_TRUE(contains(csp, "default-src 'none'"));
  EXPECT_TRUE(contains(csp, "style-src 'unsafe-inline'"));
  EXPECT_TRUE(contains(csp, "img-src https: http: data:"));
  EXPECT_TRUE(contains(csp, "frame-ancestors 'none'"));
  EXPECT_TRUE(contains(csp, "base-uri 'none'"));
  EXPECT_FALSE(contains(csp, "script-src"));
  // form-action would also stop the redirect to the client that answers the POST.
  EXPECT_FALSE(contains(csp, "form-action"));
  // The page needs nothing more: its only style is the inline <style> element.
  std::string html = render_login_page(LoginBranding{}, sample_page());
  EXPECT_EQ(count(html, "<style>"), 1u);
  EXPECT_FALSE(contains(html, "style=\""));
}

}  // namespace
}  // namespace ucedge::authz
