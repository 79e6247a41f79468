#include "core/json_writer.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace ucedge::core {
namespace {

TEST(JsonObjectWriter, WritesMembersInOrder) {
  JsonObjectWriter writer;
  writer.text("access_token", "eyJ.abc-_").text("token_type", "Bearer").number("expires_in", 300).boolean("a", true);
  auto json = std::move(writer).finish();
  ASSERT_TRUE(json) << json.error();
  EXPECT_EQ(*json, R"({"access_token":"eyJ.abc-_","token_type":"Bearer","expires_in":300,"a":true})");
  EXPECT_EQ(*std::move(JsonObjectWriter(0)).finish(), "{}");
  EXPECT_EQ(*std::move(JsonObjectWriter().number("n", -9223372036854775807 - 1)).finish(),
            R"({"n":-9223372036854775808})");
}

TEST(JsonObjectWriter, EscapesWhatJsonRequiresAndKeepsUtf8) {
  const std::string tricky = std::string("a\"b\\c\nd\x01") + '\0' + "\x7f caf\xC3\xA9 \xF0\x9F\x94\x91";
  auto json = std::move(JsonObjectWriter().text("s", tricky).text("long", std::string(300, 'x') + "\"")).finish();
  ASSERT_TRUE(json) << json.error();
  EXPECT_NE(json->find(R"(a\"b\\c\u000ad\u0001\u0000)"), std::string::npos) << *json;
  auto parsed = nlohmann::json::parse(*json);  // a real parser reads back what was written
  EXPECT_EQ(parsed["s"], tricky);
  EXPECT_EQ(parsed["long"], std::string(300, 'x') + "\"");
}

TEST(JsonObjectWriter, RefusesTextThatIsNotUtf8) {
  for (std::string_view bad : {"\xFF", "ok\xC3", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "abc\xE2\x82"}) {
    auto json = std::move(JsonObjectWriter().text("fine", "x").text("bad", bad).text("also", "\xFF")).finish();
    ASSERT_FALSE(json) << bad;
    EXPECT_EQ(json.error(), "the member \"bad\" is not UTF-8");
  }
}

}  // namespace
}  // namespace ucedge::core
