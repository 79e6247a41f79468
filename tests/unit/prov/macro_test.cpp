#include "prov/codec/macro.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace ucedge::prov {
namespace {

MacroVariables phone_vars() {
  MacroVariables v;
  v.set("MA", "000e08012345");
  v.set("MAU", "000E08012345");
  v.set("MAC", "00:0e:08:01:23:45");
  v.set("PN", "CP-7841-3PCC");
  v.set("PSN", "7841");
  v.set("SN", "FCH1234ABCD");
  v.set("B", "Dj6Lmp23Q");
  v.set("SCHEME", "tftp");
  v.set("SERVIP", "192.0.2.10");
  v.set("PORT", "69");
  v.set("PATH", "/cisco/basic.cfg");
  v.set("SA", "s3cret");
  return v;
}

std::string expand(std::string_view text, const MacroVariables& vars,
                   MacroContext context = MacroContext::general) {
  auto r = expand_macros(text, vars, context);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : std::string();
}

TEST(MacroTemplate, SeedProfileRule) {
  EXPECT_EQ(expand("tftp://prov.telco.com/cisco/$B/$MA.cfg", phone_vars()),
            "tftp://prov.telco.com/cisco/Dj6Lmp23Q/000e08012345.cfg");
}

TEST(MacroTemplate, SeedSyslogMessage) {
  EXPECT_EQ(expand("$PN $MAC -- Requesting resync $SCHEME://$SERVIP:$PORT$PATH", phone_vars()),
            "CP-7841-3PCC 00:0e:08:01:23:45 -- Requesting resync tftp://192.0.2.10:69/cisco/basic.cfg");
}

TEST(MacroTemplate, LongestNameWins) {
  auto v = phone_vars();
  EXPECT_EQ(expand("$MA", v), "000e08012345");
  EXPECT_EQ(expand("$MAC", v), "00:0e:08:01:23:45");
  EXPECT_EQ(expand("$MAU", v), "000E08012345");
  // No MAX variable: the longest prefix with a value is MA, the rest is text.
  EXPECT_EQ(expand("$MAX", v), "000e08012345X");
  EXPECT_EQ(expand("$Bfoo", v), "Dj6Lmp23Qfoo");
  EXPECT_EQ(expand("CP-7841-3PCC$MA.cfg", v), "CP-7841-3PCC000e08012345.cfg");
  EXPECT_EQ(expand("SEP$MAU.cnf.xml", v), "SEP000E08012345.cnf.xml");
}

TEST(MacroTemplate, Substrings) {
  auto v = phone_vars();
  EXPECT_EQ(expand("$(MA)", v), "000e08012345");
  EXPECT_EQ(expand("$(MA:6)", v), "012345");
  EXPECT_EQ(expand("$(MAU:0:6)", v), "000E08");
  EXPECT_EQ(expand("$(MA:6:2)x", v), "01x");
  // Offsets and lengths are clamped to the value.
  EXPECT_EQ(expand("[$(MA:10:100)]", v), "[45]");
  EXPECT_EQ(expand("[$(MA:12)]", v), "[]");
  EXPECT_EQ(expand("[$(MA:500:3)]", v), "[]");
  EXPECT_EQ(expand("[$(MA:0:0)]", v), "[]");
  // An explicit name ends where the parenthesis does: $(MA)C is not $MAC.
  EXPECT_EQ(expand("$(MA)C", v), "000e08012345C");
}

TEST(MacroTemplate, DollarDollarIsALiteralDollar) {
  auto v = phone_vars();
  EXPECT_EQ(expand("$$", v), "$");
  EXPECT_EQ(expand("$$MA", v), "$MA");
  EXPECT_EQ(expand("cost: 5$$ per $MA", v), "cost: 5$ per 000e08012345");
  EXPECT_EQ(expand("$$$MA", v), "$000e08012345");
  EXPECT_EQ(expand("$$(MA)", v), "$(MA)");
}

TEST(MacroTemplate, LoneDollarIsLiteral) {
  auto v = phone_vars();
  EXPECT_EQ(expand("$", v), "$");
  EXPECT_EQ(expand("a $ b", v), "a $ b");
  EXPECT_EQ(expand("$.cfg", v), "$.cfg");
  EXPECT_EQ(expand("end$", v), "end$");
}

TEST(MacroTemplate, UnknownNamesStayAsWritten) {
  auto v = phone_vars();
  // The phone fills $ERR itself; the server must leave it alone.
  EXPECT_EQ(expand("Resync failed: $ERR", v), "Resync failed: $ERR");
  EXPECT_EQ(expand("$UPGTMR gt 300", v), "$UPGTMR gt 300");
  EXPECT_EQ(expand("$(ERR)", v), "$(ERR)");
  EXPECT_EQ(expand("$(ERR:1:2)", v), "$(ERR:1:2)");
  EXPECT_EQ(expand("$(ERR:01)", v), "$(ERR:01)");
  // Names are case-sensitive as the phones write them.
  EXPECT_EQ(expand("$ma", v), "$ma");
  // An empty value is a value.
  v.set("ERR", "");
  EXPECT_EQ(expand("Resync failed: [$ERR]", v), "Resync failed: []");
}

TEST(MacroTemplate, SecretNamesOnlyInSecretOptions) {
  auto v = phone_vars();
  EXPECT_EQ(expand("$SA", v), "$SA");
  EXPECT_EQ(expand("$(SA)", v), "$(SA)");
  EXPECT_EQ(expand("$SA", v, MacroContext::secret_option), "s3cret");
  EXPECT_EQ(expand("$(SA:1:3)", v, MacroContext::secret_option), "3cr");
  // Ordinary names expand in a secret option too.
  EXPECT_EQ(expand("$MA-$SA", v, MacroContext::secret_option), "000e08012345-s3cret");
  // $SN is not a secret name and expands anywhere.
  EXPECT_EQ(expand("$SN", v), "FCH1234ABCD");
}

TEST(MacroTemplate, NoRecursion) {
  auto v = phone_vars();
  v.set("A", "$MA and $(MA) and $$");
  EXPECT_EQ(expand("[$A]", v), "[$MA and $(MA) and $$]");
  EXPECT_EQ(expand("[$(A:0:3)]", v), "[$MA]");
}

TEST(MacroTemplate, MalformedExplicitReferenceIsAnError) {
  struct Case {
    std::string_view text;
    std::size_t offset;
  };
  for (const Case& c :
       {Case{"$(MA", 0}, Case{"url/$(MA", 4}, Case{"$MA $(", 4}, Case{"$()", 0}, Case{"x$(MA:)", 1},
        Case{"$(MA:x)", 0}, Case{"$(MA:1:)", 0}, Case{"$(MA:1:2:3)", 0}, Case{"$(MA:-1)", 0},
        Case{"$(M A)", 0}, Case{"$(:1)", 0}, Case{"$(MA:9999999)", 0}, Case{"ok $(MA) then $(A$(B))", 14}}) {
    auto r = MacroTemplate::compile(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.error().offset, c.offset) << c.text;
    EXPECT_EQ(c.text[r.error().offset], '$') << c.text;
    EXPECT_FALSE(r.error().message.empty()) << c.text;
  }
  auto r = MacroTemplate::compile("tftp://host/$(MA");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("unterminated"), std::string::npos) << r.error().message;
  EXPECT_FALSE(expand_macros("$(MA", phone_vars()).ok());
}

TEST(MacroTemplate, CompileOnceRenderMany) {
  auto t = MacroTemplate::compile("/cisco/$MA.cfg");
  ASSERT_TRUE(t.ok());
  MacroVariables a, b;
  a.set("MA", "000e08aaaaaa");
  b.set("MA", "000e08bbbbbb");
  EXPECT_EQ(t->render(a), "/cisco/000e08aaaaaa.cfg");
  EXPECT_EQ(t->render(b), "/cisco/000e08bbbbbb.cfg");
  EXPECT_EQ(t->render(MacroVariables{}), "/cisco/$MA.cfg");

  std::string out = "prefix:";
  t->render_to(out, a);
  t->render_to(out, b);
  EXPECT_EQ(out, "prefix:/cisco/000e08aaaaaa.cfg/cisco/000e08bbbbbb.cfg");
}

TEST(MacroTemplate, PlainTextRoundTrips) {
  auto t = MacroTemplate::compile("<flat-profile><GPP_A ua=\"na\">x</GPP_A></flat-profile>");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->render(phone_vars()), "<flat-profile><GPP_A ua=\"na\">x</GPP_A></flat-profile>");
  EXPECT_TRUE(t->referenced_names().empty());
  auto empty = MacroTemplate::compile("");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->render(phone_vars()), "");
}

TEST(MacroTemplate, ReferencedNames) {
  auto t = MacroTemplate::compile("$MAC/$(PSN:1)/$MA/$(MA)/$$X/$B");
  ASSERT_TRUE(t.ok());
  std::vector<std::string> names = t->referenced_names();
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"B", "M", "MA", "MAC", "PSN"}));
}

TEST(MacroTemplate, LongRunsStayBounded) {
  std::string run(10'000, 'A');
  auto t = MacroTemplate::compile("$" + run);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->referenced_names().size(), kMaxBareMacroName);
  MacroVariables v;
  v.set("A", "x");
  EXPECT_EQ(t->render(v), "x" + run.substr(1));
  EXPECT_EQ(t->render(MacroVariables{}), "$" + run);
}

TEST(MacroVariables, SetReplacesAndFinds) {
  MacroVariables v;
  EXPECT_TRUE(v.empty());
  v.set("MA", "1");
  v.set("MA", "2");
  EXPECT_EQ(v.size(), 1u);
  ASSERT_NE(v.find("MA"), nullptr);
  EXPECT_EQ(*v.find("MA"), "2");
  EXPECT_EQ(v.find("ma"), nullptr);
  EXPECT_EQ(v.find("M"), nullptr);
}

}  // namespace
}  // namespace ucedge::prov
