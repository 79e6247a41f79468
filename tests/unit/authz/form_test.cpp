// Form bodies and query strings as the OAuth endpoints read them (RFC 6749
// Appendix B, §3.1) and the query the authorization response is sent with.
#include "authz/oauth/form.hpp"

#include <gtest/gtest.h>

#include <string>

namespace ucedge::authz {
namespace {

Form parsed(std::string_view text) {
  auto form = parse_form(text);
  EXPECT_TRUE(form.ok()) << text << ": " << (form.ok() ? "" : form.error().describe());
  return form.ok() ? *form : Form{};
}

FormError failure(std::string_view text) {
  auto form = parse_form(text);
  EXPECT_FALSE(form.ok()) << text << " parsed";
  return form.ok() ? FormError{} : form.error();
}

TEST(Form, ReadsATokenRequest) {
  Form form = parsed(
      "grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA"
      "&redirect_uri=https%3A%2F%2Fclient%2Eexample%2Ecom%2Fcb&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_"
      "wW1gFWFOEjXk");
  EXPECT_EQ(form.get("grant_type"), "authorization_code");
  EXPECT_EQ(form.get("code"), "SplxlOBeZQQYbYS6WxSbIA");
  EXPECT_EQ(form.get("redirect_uri"), "https://client.example.com/cb");
  EXPECT_EQ(form.get("code_verifier"), "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
  EXPECT_EQ(form.get("client_id"), std::nullopt);
  EXPECT_EQ(form.fields().size(), 4u);
}

TEST(Form, PlusIsASpaceAndAnEscapedPlusIsAPlus) {
  Form form = parsed("scope=openid+profile%20email&password=a%2Bb+c");
  EXPECT_EQ(form.get("scope"), "openid profile email");
  EXPECT_EQ(form.get("password"), "a+b c");
}

TEST(Form, EscapesDecodeInNamesAndBothHexCases) {
  Form form = parsed("%63lient%5fid=%e2%82%AC%2a");
  EXPECT_EQ(form.get("client_id"), "\xE2\x82\xAC*");
}

TEST(Form, RedirectUriWithItsOwnEncodedQuery) {
  // The client's redirect URI carries a query of its own, with an escaped
  // '&', '=' and an escaped escape: decoding happens exactly once.
  Form form = parsed(
      "response_type=code&redirect_uri=https%3A%2F%2Fapp.example%2Fcb%3Ftenant%3Da%2526b%26lang%3Dit%3Dx"
      "&state=xyz");
  EXPECT_EQ(form.get("redirect_uri"), "https://app.example/cb?tenant=a%26b&lang=it=x");
  EXPECT_EQ(form.get("state"), "xyz");
  EXPECT_EQ(form.get("tenant"), std::nullopt);
  EXPECT_EQ(form.get("lang"), std::nullopt);
}

TEST(Form, OnlyTheFirstEqualsSplits) {
  Form form = parsed("state=a=b==&code=c");
  EXPECT_EQ(form.get("state"), "a=b==");
}

TEST(Form, EmptyValuesAreAbsent) {
  // RFC 6749 §3.1: sent without a value, treated as omitted.
  Form form = parsed("state=&scope&client_id=app&=orphan");
  EXPECT_EQ(form.get("state"), std::nullopt);
  EXPECT_EQ(form.get("scope"), std::nullopt);
  EXPECT_EQ(form.get_or("state", "none"), "none");
  EXPECT_EQ(form.get_or("client_id", "none"), "app");
  EXPECT_EQ(form.get(""), std::nullopt);
  ASSERT_EQ(form.fields().size(), 1u);
  EXPECT_EQ(form.fields()[0].first, "client_id");
}

TEST(Form, AnEmptyValueIsNotARepetition) {
  Form form = parsed("scope=&scope=openid&scope");
  EXPECT_EQ(form.get("scope"), "openid");
}

TEST(Form, AddedEmptyValueIsAbsentToo) {
  Form form;
  form.add("state", "");
  EXPECT_EQ(form.get("state"), std::nullopt);
}

TEST(Form, EmptyInputAndStraySeparators) {
  EXPECT_TRUE(parsed("").fields().empty());
  EXPECT_TRUE(parsed("&&&").fields().empty());
  Form form = parsed("&a=1&&b=2&");
  EXPECT_EQ(form.get("a"), "1");
  EXPECT_EQ(form.get("b"), "2");
}

TEST(Form, RepeatedParameterIsAnErrorNamingIt) {
  // RFC 6749 §3.1: parameters "MUST NOT be included more than once".
  FormError error = failure("client_id=app&scope=openid&scope=admin");
  EXPECT_EQ(error.kind, FormErrorKind::repeated);
  EXPECT_EQ(error.field, "scope");
  EXPECT_EQ(error.describe(), "parameter 'scope' is repeated");
}

TEST(Form, RepetitionIsJudgedOnDecodedNames) {
  FormError error = failure("redirect_uri=https%3A%2F%2Fa&redirect%5Furi=https%3A%2F%2Fb");
  EXPECT_EQ(error.kind, FormErrorKind::repeated);
  EXPECT_EQ(error.field, "redirect_uri");
}

TEST(Form, MalformedEscapes) {
  for (std::string_view text :
       {"code=%", "code=%4", "code=abc%zz", "code=%%41", "code=%4g", "co%2=x", "a=1&b=%"}) {
    FormError error = failure(text);
    EXPECT_EQ(error.kind, FormErrorKind::bad_escape) << text;
  }
  EXPECT_EQ(failure("code=%G1").field, "code");
  EXPECT_EQ(failure("code=%G1").describe(), "parameter 'code' has a malformed escape");
  EXPECT_EQ(failure("co%2=x").field, "");
  EXPECT_EQ(failure("co%2=x").describe(), "malformed percent-encoding");
}

TEST(Form, ValuesMustBeUtf8) {
  for (std::string_view text : {
           "login=%FF",             // never valid
           "login=%C3",             // truncated sequence
           "login=%C3%28",          // bad continuation
           "login=%C0%AF",          // overlong '/'
           "login=%E0%80%AF",       // overlong, three bytes
           "login=%ED%A0%80",       // UTF-16 surrogate
           "login=%F4%90%80%80",    // above U+10FFFF
           "login=%F8%88%80%80%80"  // five-byte form
       }) {
    FormError error = failure(text);
    EXPECT_EQ(error.kind, FormErrorKind::not_utf8) << text;
    EXPECT_EQ(error.field, "login") << text;
  }
  // Raw bytes that are not UTF-8 are refused as escaped ones are.
  EXPECT_EQ(failure("login=\xC3(").kind, FormErrorKind::not_utf8);
  EXPECT_EQ(failure("%FF=1").kind, FormErrorKind::not_utf8);
  EXPECT_EQ(failure("%FF=1").field, "");
}

TEST(Form, NonAsciiTextIsKept) {
  Form form = parsed("login=j%C3%BCrgen%40example.de&password=%F0%9F%94%91%E5%AF%86&raw=caf\xC3\xA9");
  EXPECT_EQ(form.get("login"), "j\xC3\xBCrgen@example.de");
  EXPECT_EQ(form.get("password"), "\xF0\x9F\x94\x91\xE5\xAF\x86");
  EXPECT_EQ(form.get("raw"), "caf\xC3\xA9");
  // The largest code point and the one just below the surrogates.
  EXPECT_EQ(parsed("x=%F4%8F%BF%BF%ED%9F%BF").get("x"), "\xF4\x8F\xBF\xBF\xED\x9F\xBF");
}

TEST(Form, NulIsRefused) {
  FormError escaped = failure("password=abc%00def");
  EXPECT_EQ(escaped.kind, FormErrorKind::not_utf8);
  EXPECT_EQ(escaped.field, "password");
  EXPECT_EQ(escaped.describe(), "parameter 'password' is not UTF-8 text without NUL");
  EXPECT_EQ(failure(std::string_view("password=abc\0def", 16)).kind, FormErrorKind::not_utf8);
  EXPECT_EQ(failure("pass%00word=x").kind, FormErrorKind::not_utf8);
}

// Long values (tokens) are checked several bytes at a time: a NUL or a bad
// byte anywhere in them, at every offset, is still found, and good
// multi-byte text among long ASCII runs still passes.
TEST(Form, LongValuesAreCheckedAtEveryOffset) {
  const std::string ascii(40, 'a');
  for (std::size_t at = 0; at < ascii.size(); ++at) {
    std::string nul = ascii, high = ascii, kept = ascii;
    nul[at] = '\0';
    high[at] = '\xFF';
    EXPECT_EQ(failure("token=" + nul).kind, FormErrorKind::not_utf8) << "NUL at " << at;
    EXPECT_EQ(failure("token=" + high).kind, FormErrorKind::not_utf8) << "0xFF at " << at;
    kept.replace(at, 1, "\xC3\xA9");
    EXPECT_EQ(parsed("token=" + kept).get("token"), kept) << "U+00E9 at " << at;
  }
}

TEST(Form, AtMostKMaxFormFields) {
  std::string text;
  for (std::size_t i = 0; i < kMaxFormFields; ++i) text += "p" + std::to_string(i) + "=v&";
  EXPECT_EQ(parsed(text).fields().size(), kMaxFormFields);
  text += "one_more=v";
  FormError error = failure(text);
  EXPECT_EQ(error.kind, FormErrorKind::too_many);
  EXPECT_EQ(error.describe(), "more than 64 parameters");
}

TEST(Form, DescribeKeepsTheNameSafeForAnErrorDescription) {
  // RFC 6749 §5.2: error_description is limited to printable ASCII without '"' and '\'.
  FormError error = failure("a%22b%5Cc%0A%C3%A9=1&a%22b%5Cc%0A%C3%A9=2");
  EXPECT_EQ(error.kind, FormErrorKind::repeated);
  EXPECT_EQ(error.field, "a\"b\\c\n\xC3\xA9");
  EXPECT_EQ(error.describe(), "parameter 'a?b?c???"
                              "' is repeated");

  std::string long_name(200, 'n');
  error = failure(long_name + "=1&" + long_name + "=2");
  EXPECT_EQ(error.describe(), "parameter '" + std::string(40, 'n') + "...' is repeated");
}

TEST(FormEncode, KeepsUnreservedAndEscapesTheRest) {
  EXPECT_EQ(form_encode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(form_encode("a b&c=d+e%f/g?h#i"), "a%20b%26c%3Dd%2Be%25f%2Fg%3Fh%23i");
  EXPECT_EQ(form_encode("\xC3\xA9\xF0\x9F\x94\x91"), "%C3%A9%F0%9F%94%91");
  EXPECT_EQ(form_encode(""), "");
}

TEST(FormEncode, StateAndCodeRoundTripExactly) {
  for (std::string_view value :
       {"xyz", "a&b=c", "1+1=2", "100% sure", "  leading and trailing  ", "caf\xC3\xA9 \xF0\x9F\x94\x91",
        "%41%", "eyJhbGciOi.J9+/==", "a=&b&=c&&", "line\nbreak\ttab", "\"quotes' <and> \\"}) {
    std::string body = "state=" + form_encode(value) + "&code=" + form_encode(value);
    Form form = parsed(body);
    EXPECT_EQ(form.get("state"), value) << body;
    EXPECT_EQ(form.get("code"), value) << body;
  }
}

TEST(AppendQuery, AddsCodeAndState) {
  EXPECT_EQ(append_query("https://client.example/cb", {{"code", "SplxlOBe"}, {"state", "xyz"}}),
            "https://client.example/cb?code=SplxlOBe&state=xyz");
  EXPECT_EQ(append_query("com.example.app:/oauth2redirect", {{"code", "c"}, {"state", "a b&c"}}),
            "com.example.app:/oauth2redirect?code=c&state=a%20b%26c");
}

TEST(AppendQuery, KeepsTheRedirectUrisQuery) {
  // RFC 6749 §3.1.2: the endpoint's query component "MUST be retained".
  EXPECT_EQ(append_query("https://app.example/cb?tenant=a%26b", {{"code", "c"}, {"state", "s"}}),
            "https://app.example/cb?tenant=a%26b&code=c&state=s");
  EXPECT_EQ(append_query("https://app.example/cb?", {{"code", "c"}}), "https://app.example/cb?code=c");
  EXPECT_EQ(append_query("https://app.example/cb?x=1&", {{"code", "c"}}),
            "https://app.example/cb?x=1&code=c");
}

TEST(AppendQuery, LeavesOutEmptyValues) {
  // No state in the request, none in the response.
  EXPECT_EQ(append_query("https://app.example/cb", {{"code", "c"}, {"state", ""}}),
            "https://app.example/cb?code=c");
  EXPECT_EQ(append_query("https://app.example/cb", {{"state", ""}}), "https://app.example/cb");
  EXPECT_EQ(append_query("https://app.example/cb?x=1", {{"state", ""}}), "https://app.example/cb?x=1");
}

TEST(AppendQuery, QueryGoesBeforeAFragment) {
  EXPECT_EQ(append_query("https://app.example/cb#frag", {{"code", "c"}}),
            "https://app.example/cb?code=c#frag");
}

TEST(AppendQuery, TheClientReadsBackWhatWasSent) {
  std::string state = "k=v&x=%2B+ \xC3\xA9";
  std::string uri = append_query("https://app.example/cb?tenant=t1", {{"code", "abc+/="}, {"state", state}});
  Form query = parsed(uri.substr(uri.find('?') + 1));
  EXPECT_EQ(query.get("tenant"), "t1");
  EXPECT_EQ(query.get("code"), "abc+/=");
  EXPECT_EQ(query.get("state"), state);
}

}  // namespace
}  // namespace ucedge::authz
