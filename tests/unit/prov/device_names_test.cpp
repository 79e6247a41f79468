#include "prov/codec/device_names.hpp"

#include <gtest/gtest.h>

namespace ucedge::prov {
namespace {

using Macs = std::vector<std::string>;

TEST(NormalizeMac, AcceptsTheUsualForms) {
  for (std::string_view form : {"000e08abcdef", "000E08ABCDEF", "00:0e:08:ab:cd:ef", "00:0E:08:AB:CD:EF",
                                "00-0e-08-ab-cd-ef", "000e.08ab.cdef", "000E.08AB.CDEF"}) {
    auto mac = normalize_mac(form);
    ASSERT_TRUE(mac.has_value()) << form;
    EXPECT_EQ(*mac, "000e08abcdef") << form;
  }
}

TEST(NormalizeMac, RejectsEverythingElse) {
  for (std::string_view bad : {"", "000e08abcde", "000e08abcdef0", "000e08abcdeg", "00:0e:08:ab:cd-ef",
                               "00:0e:08:ab:cd:e", "000e:08ab:cdef", "000e.08ab-cdef", " 000e08abcdef",
                               "00 0e 08 ab cd ef", "0:00e:08:ab:cd:ef", "4MM00F123456"}) {
    EXPECT_FALSE(normalize_mac(bad).has_value()) << bad;
  }
}

TEST(MacForms, ColonAndUpper) {
  EXPECT_EQ(colon_mac("000e08abcdef"), "00:0e:08:ab:cd:ef");
  EXPECT_EQ(upper_mac("000e08abcdef"), "000E08ABCDEF");
  EXPECT_EQ(colon_mac(""), "");
}

TEST(ProductSeries, KnownFamilies) {
  EXPECT_EQ(product_series("CP-7841-3PCC"), "7841");
  EXPECT_EQ(product_series("CP-8832-3PCC"), "8832");
  EXPECT_EQ(product_series("CP-6871-3PCC"), "6871");
  EXPECT_EQ(product_series("SPA508G"), "508G");
  EXPECT_EQ(product_series("SPA525G2"), "525G2");
  EXPECT_EQ(product_series("spa508G"), "508G");
  EXPECT_EQ(product_series("ATA192-3PCC"), "192");
  EXPECT_EQ(product_series("SPA942"), "942");
}

TEST(ProductSeries, UnknownModels) {
  EXPECT_EQ(product_series(""), "");
  EXPECT_EQ(product_series("CP-"), "");
  EXPECT_EQ(product_series("CP-Video"), "");
  EXPECT_EQ(product_series("SPA"), "");
  EXPECT_EQ(product_series("PAP2T"), "");
  EXPECT_EQ(product_series("snom720"), "");
}

TEST(MacCandidates, SeedFileNames) {
  EXPECT_EQ(mac_candidates("CP-7841-3PCC000e08abcdef.cfg"),
            (Macs{"cc000e08abcd", "c000e08abcde", "000e08abcdef"}));
  EXPECT_EQ(mac_candidates("000e08012345.cfg"), (Macs{"000e08012345"}));
  EXPECT_EQ(mac_candidates("spa508G.cfg"), Macs{});
  EXPECT_EQ(mac_candidates("000e08abcdef.xml"), (Macs{"000e08abcdef"}));
}

TEST(MacCandidates, DirectoriesAndExtensionsAreIgnored) {
  EXPECT_EQ(mac_candidates("/cisco/Dj6Lmp23Q/000E08ABCDEF.cfg"), (Macs{"000e08abcdef"}));
  EXPECT_EQ(mac_candidates("customer\\000e08abcdef"), (Macs{"000e08abcdef"}));
  // A hex directory name is not the device.
  EXPECT_EQ(mac_candidates("/aaaaaaaaaaaa/basic.cfg"), Macs{});
  // Only the part before the first '.' of the base name counts.
  EXPECT_EQ(mac_candidates("basic.000e08abcdef.cfg"), Macs{});
  EXPECT_EQ(mac_candidates(""), Macs{});
  EXPECT_EQ(mac_candidates("dir/"), Macs{});
}

TEST(MacCandidates, HexLettersNextToTheMacGiveOverlappingWindows) {
  // In SEP$MAU the 'P' ends the run: one window. A hex letter just before the
  // MAC ("SE" + MAC) makes the run 13 long: two windows, the caller picks.
  EXPECT_EQ(mac_candidates("SEP000E08ABCDEF.cnf.xml"), (Macs{"000e08abcdef"}));
  EXPECT_EQ(mac_candidates("SE000E08ABCDEF.cnf.xml"), (Macs{"e000e08abcde", "000e08abcdef"}));
}

TEST(MacCandidates, RepeatsAreDropped) {
  EXPECT_EQ(mac_candidates("aaaaaaaaaaaaaa"), (Macs{"aaaaaaaaaaaa"}));
  EXPECT_EQ(mac_candidates("000e08abcdef-000E08ABCDEF"), (Macs{"000e08abcdef"}));
  EXPECT_EQ(mac_candidates("000e08abcdef_112233445566"), (Macs{"000e08abcdef", "112233445566"}));
}

}  // namespace
}  // namespace ucedge::prov
