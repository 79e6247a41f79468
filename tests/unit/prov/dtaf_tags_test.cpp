#include "prov/codec/dtaf_tags.hpp"

#include <gtest/gtest.h>

namespace ucedge::prov {
namespace {

TagValues wxt_values() {
  return {{"XSI_ROOT_WXT", "https://xsp.example.com/"},
          {"BWLINEPORT-1", "alice_lp@example.com"},
          {"BWE164-1", "+15551234567"},
          {"SBC_ADDRESS.WXT", "sbc.example.com"},
          {"EMPTY", ""}};
}

TEST(DtafTags, FillsKnownTags) {
  EXPECT_EQ(substitute_tags("<xsi-root>%XSI_ROOT_WXT%</xsi-root>", wxt_values()),
            "<xsi-root>https://xsp.example.com/</xsi-root>");
  EXPECT_EQ(substitute_tags("<line port=\"%BWLINEPORT-1%\" number=\"%BWE164-1%\"/>", wxt_values()),
            "<line port=\"alice_lp@example.com\" number=\"+15551234567\"/>");
  EXPECT_EQ(substitute_tags("%SBC_ADDRESS.WXT%", wxt_values()), "sbc.example.com");
  EXPECT_EQ(substitute_tags("[%EMPTY%]", wxt_values()), "[]");
  EXPECT_EQ(substitute_tags("%XSI_ROOT_WXT%%BWE164-1%", wxt_values()),
            "https://xsp.example.com/+15551234567");
}

TEST(DtafTags, UnknownTagsAndStrayPercentsStay) {
  EXPECT_EQ(substitute_tags("%UNKNOWN_TAG%", wxt_values()), "%UNKNOWN_TAG%");
  EXPECT_EQ(substitute_tags("100%", wxt_values()), "100%");
  EXPECT_EQ(substitute_tags("%", wxt_values()), "%");
  EXPECT_EQ(substitute_tags("%%", wxt_values()), "%%");
  EXPECT_EQ(substitute_tags("% XSI_ROOT_WXT%", wxt_values()), "% XSI_ROOT_WXT%");
  EXPECT_EQ(substitute_tags("%XSI_ROOT_WXT", wxt_values()), "%XSI_ROOT_WXT");
  // Tag names are case-sensitive.
  EXPECT_EQ(substitute_tags("%xsi_root_wxt%", wxt_values()), "%xsi_root_wxt%");
}

TEST(DtafTags, PercentEscapeBeforeATagDoesNotHideIt) {
  // "%20%" is not a known tag; its closing '%' opens the real tag after it.
  EXPECT_EQ(substitute_tags("a%20%XSI_ROOT_WXT%", wxt_values()), "a%20https://xsp.example.com/");
  EXPECT_EQ(substitute_tags("%%XSI_ROOT_WXT%", wxt_values()), "%https://xsp.example.com/");
}

TEST(DtafTags, NoRecursion) {
  TagValues values{{"A", "%B%"}, {"B", "never"}};
  EXPECT_EQ(substitute_tags("%A%", values), "%B%");
}

TEST(DtafTags, TextWithoutTagsIsUnchanged) {
  std::string text = "<config><services><call-center enabled=\"false\"/></services></config>\n";
  EXPECT_EQ(substitute_tags(text, wxt_values()), text);
  EXPECT_EQ(substitute_tags("", wxt_values()), "");
  EXPECT_EQ(substitute_tags("%XSI_ROOT_WXT%", TagValues{}), "%XSI_ROOT_WXT%");
}

}  // namespace
}  // namespace ucedge::prov
