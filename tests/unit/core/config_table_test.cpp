#include "core/config_table.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

using namespace ucedge::core;
using namespace std::chrono_literals;

namespace {

ConfigDocument parse_ok(std::string_view text) {
  auto doc = ConfigDocument::parse(text, "test.toml");
  EXPECT_TRUE(doc.ok()) << (doc.ok() ? "" : doc.error().to_string());
  return std::move(doc).value();
}

}  // namespace

TEST(ConfigTable, ReadsTypedValuesAndDefaults) {
  auto doc = parse_ok("[a]\nname = \"x\"\ncount = 7\nflag = true\nlist = [\"p\", \"q\"]\nwait = \"250ms\"\n");
  ConfigErrors errors;
  auto root = doc.root(errors);
  auto a = root.table("a");
  EXPECT_EQ(a.string("name", "d"), "x");
  EXPECT_EQ(a.integer("count", 1, 0, 10), 7);
  EXPECT_TRUE(a.boolean("flag", false));
  EXPECT_EQ(a.strings("list", {}), (std::vector<std::string>{"p", "q"}));
  EXPECT_EQ(a.duration("wait", 1s, 0ms, 1h), 250ms);
  EXPECT_EQ(a.string("absent", "fallback"), "fallback");
  a.finish();
  root.finish();
  EXPECT_TRUE(errors.empty()) << errors.to_string();
}

TEST(ConfigTable, ReportsWrongTypeWithLineAndColumn) {
  auto doc = parse_ok("[a]\n\ncount = \"seven\"\n");
  ConfigErrors errors;
  auto root = doc.root(errors);
  auto a = root.table("a");
  EXPECT_EQ(a.integer("count", 3, 0, 10), 3);
  ASSERT_EQ(errors.list().size(), 1u);
  EXPECT_EQ(errors.list()[0].line, 3);
  EXPECT_EQ(errors.list()[0].to_string(), "test.toml:3:9: 'a.count': expected an integer, found a string");
}

TEST(ConfigTable, ReportsOutOfRangeAndBadChoice) {
  auto doc = parse_ok("n = 99\nmode = \"loud\"\n");
  ConfigErrors errors;
  auto root = doc.root(errors);
  root.integer("n", 1, 0, 10);
  root.choice("mode", "quiet", {"quiet", "normal"});
  ASSERT_EQ(errors.list().size(), 2u);
  EXPECT_NE(errors.list()[0].message.find("99 is outside 0..10"), std::string::npos);
  EXPECT_EQ(errors.list()[1].line, 2);
  EXPECT_NE(errors.list()[1].message.find("\"loud\" is not one of \"quiet\", \"normal\""), std::string::npos);
}

TEST(ConfigTable, UnknownKeysAreReportedByFinish) {
  auto doc = parse_ok("[a]\nknown = 1\ntypo = 2\n[b]\nx = 1\n");
  ConfigErrors errors;
  auto root = doc.root(errors);
  auto a = root.table("a");
  a.integer("known", 0, 0, 5);
  a.finish();
  root.finish();  // [b] was never read
  ASSERT_EQ(errors.list().size(), 2u);
  EXPECT_EQ(errors.list()[0].to_string(), "test.toml:3:1: 'a.typo': unknown key");
  EXPECT_EQ(errors.list()[1].line, 4);
  EXPECT_NE(errors.list()[1].message.find("'b': unknown key"), std::string::npos);
}

TEST(ConfigTable, SyntaxErrorHasPosition) {
  auto doc = ConfigDocument::parse("a = 1\nb = = 2\n", "bad.toml");
  ASSERT_FALSE(doc.ok());
  ASSERT_EQ(doc.error().list().size(), 1u);
  EXPECT_EQ(doc.error().list()[0].file, "bad.toml");
  EXPECT_EQ(doc.error().list()[0].line, 2);
}

TEST(ConfigTable, SecretsComeFromTheEnvironmentFirst) {
  auto doc = parse_ok("[store]\npassword = \"from-file\"\n");
  ConfigErrors errors;
  auto root = doc.root(errors);
  auto store = root.table("store");
  EXPECT_EQ(store.secret_env_name("password"), "UCEDGE_STORE_PASSWORD");
  ::setenv("UCEDGE_STORE_PASSWORD", "from-env", 1);
  EXPECT_EQ(store.secret("password", ""), "from-env");
  ::unsetenv("UCEDGE_STORE_PASSWORD");
  EXPECT_EQ(store.secret("password", ""), "from-file");
  store.finish();
  EXPECT_TRUE(errors.empty());
}

TEST(ConfigTable, AbsentTableReadsAsDefaults) {
  auto doc = parse_ok("");
  ConfigErrors errors;
  auto root = doc.root(errors);
  auto t = root.table("nothing");
  EXPECT_FALSE(t.present());
  EXPECT_EQ(t.integer("x", 5, 0, 10), 5);
  t.finish();
  EXPECT_TRUE(errors.empty());
}

TEST(ConfigTable, ArrayWithNonStringIsAnError) {
  auto doc = parse_ok("list = [\"a\", 2]\n");
  ConfigErrors errors;
  auto root = doc.root(errors);
  EXPECT_FALSE(root.optional_strings("list").has_value());
  ASSERT_EQ(errors.list().size(), 1u);
  EXPECT_NE(errors.list()[0].message.find("found an integer"), std::string::npos);
}

TEST(Duration, ParsesUnitsAndRejectsGarbage) {
  EXPECT_EQ(parse_duration("500ms"), 500ms);
  EXPECT_EQ(parse_duration("30s"), 30s);
  EXPECT_EQ(parse_duration("5m"), 5min);
  EXPECT_EQ(parse_duration("2h"), 2h);
  EXPECT_EQ(parse_duration("7d"), 168h);
  EXPECT_FALSE(parse_duration("30"));
  EXPECT_FALSE(parse_duration("s"));
  EXPECT_FALSE(parse_duration("-1s"));
  EXPECT_FALSE(parse_duration("1.5s"));
  EXPECT_FALSE(parse_duration("9999999999999s"));
  EXPECT_EQ(format_duration(90s), "90s");
  EXPECT_EQ(format_duration(2h), "2h");
}
