// The provisioning tables on both backends: devices written through to the
// store, activation codes, device status and report uploads.
#include <gtest/gtest.h>

#include "backend_fixture.hpp"
#include "core/clock.hpp"
#include "core/secret_box.hpp"
#include "prov/activation.hpp"
#include "prov/device_directory.hpp"
#include "prov/device_status.hpp"
#include "prov/reports.hpp"

namespace ucedge::prov {
namespace {

using store::testing::BackendTest;

core::SecretBox test_box() {
  core::SecretBox::Key key{};
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(i * 7 + 1);
  return core::SecretBox(key);
}

class ProvStoreTest : public BackendTest {
 protected:
  core::SecretBox box_ = test_box();
  core::ManualClock clock_;
};

TEST_P(ProvStoreTest, DevicesAreWrittenThroughAndReloaded) {
  DeviceDirectory devices(*store_, box_, clock_);
  ASSERT_TRUE(devices.load());
  DeviceInput in;
  in.model = "CP-7841-3PCC";
  in.serial = "88012BA01234";
  in.customer = "acme";
  in.gpp = std::map<std::string, std::string>{{"A", "1"}, {"B", "two"}};
  in.profile_key = "MyOwnSecret";
  in.http_username = "phone";
  in.http_password = "pw";
  auto put = devices.put("00:0E:08:AB:CD:EF", in, true);
  ASSERT_TRUE(put) << put.error();
  EXPECT_EQ(put->second, DeviceDirectory::Outcome::created);
  EXPECT_EQ(put->first->mac, "000e08abcdef");
  EXPECT_NE(put->first->profile_key, "MyOwnSecret");  // sealed at rest
  EXPECT_EQ(*devices.unseal(put->first->profile_key), "MyOwnSecret");
  EXPECT_TRUE(put->first->http_password_hash.starts_with("$argon2id$"));
  EXPECT_FALSE(devices.put("000e08abcdef", in, true));  // create_only

  DeviceDirectory other(*store_, box_, clock_);
  ASSERT_TRUE(other.load());
  auto d = other.find("000e08abcdef");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->gpp.at("B"), "two");
  EXPECT_EQ(other.find_by_serial("88012BA01234"), d);
  EXPECT_EQ(other.list("acme").size(), 1u);
  EXPECT_TRUE(other.list("nobody").empty());

  // A change made by one directory reaches the other through the store.
  EXPECT_FALSE(*other.reload_if_changed());
  DeviceInput change;
  change.gpp = std::map<std::string, std::string>{{"A", "changed"}};
  ASSERT_TRUE(devices.put("000e08abcdef", change));
  EXPECT_TRUE(*other.reload_if_changed());
  EXPECT_EQ(other.find("000e08abcdef")->gpp.at("A"), "changed");
  EXPECT_NE(other.find("000e08abcdef")->revision, d->revision);

  ASSERT_TRUE(*devices.remove("000e08abcdef"));
  EXPECT_FALSE(*devices.remove("000e08abcdef"));
  EXPECT_TRUE(*other.reload_if_changed());
  EXPECT_FALSE(other.find("000e08abcdef"));
}

TEST_P(ProvStoreTest, InvalidDevicesAreRefusedWithTheReason) {
  DeviceDirectory devices(*store_, box_, clock_);
  ASSERT_TRUE(devices.load());
  DeviceInput in;
  EXPECT_NE(devices.put("not-a-mac", in).error().find("is not a MAC address"), std::string::npos);
  in.customer = "../up";
  EXPECT_NE(devices.put("000e08abcdef", in).error().find("customer"), std::string::npos);
  in = {};
  in.gpp = std::map<std::string, std::string>{{"Q", "x"}};
  EXPECT_NE(devices.put("000e08abcdef", in).error().find("A..P"), std::string::npos);
  in = {};
  in.templates = std::map<std::string, std::string>{{"a.cfg", "../../etc/passwd"}};
  EXPECT_FALSE(devices.put("000e08abcdef", in));
  in = {};
  in.http_username = "only-user";
  EXPECT_FALSE(devices.put("000e08abcdef", in));
  EXPECT_EQ(devices.size(), 0u);
}

TEST_P(ProvStoreTest, ActivationCodeIsUsedOnceBeforeItExpires) {
  ActivationCodes codes(*store_, box_, 100, clock_);
  auto c = codes.create("alice", "", "acme", std::chrono::hours(24 * 7));
  ASSERT_TRUE(c) << c.error();
  ASSERT_EQ(c->code.size(), 16u);
  EXPECT_EQ(c->hint, c->code.substr(12));
  // Grouped the way an operator reads it out.
  std::string grouped = c->code.substr(0, 4) + "-" + c->code.substr(4, 4) + " " + c->code.substr(8);
  auto r = codes.redeem(grouped, "00562b043615", "192.0.2.1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code.subscriber, "alice");
  EXPECT_EQ(codes.redeem(c->code, "00562b043615", "192.0.2.1").error(), ActivationRefusal::already_used);

  auto late = codes.create("bob", "", "", std::chrono::hours(24 * 7));
  clock_.advance(std::chrono::hours(24 * 7));
  EXPECT_EQ(codes.redeem(late->code, "00562b043616", "192.0.2.1").error(), ActivationRefusal::expired);
  EXPECT_EQ(codes.redeem("12345", "00562b043616", "192.0.2.1").error(), ActivationRefusal::malformed);
  EXPECT_EQ(codes.redeem("1234567812345678", "00562b043616", "192.0.2.1").error(), ActivationRefusal::unknown);

  auto bound = codes.create("", "00562b000001", "", std::chrono::hours(1));
  EXPECT_EQ(codes.redeem(bound->code, "00562b000002", "192.0.2.1").error(), ActivationRefusal::wrong_device);
  EXPECT_TRUE(codes.redeem(bound->code, "00562b000001", "192.0.2.1"));

  auto listed = codes.list();
  ASSERT_EQ(listed.size(), 3u);
  for (const auto& l : listed) EXPECT_TRUE(l.code.empty());  // never shown again
}

TEST_P(ProvStoreTest, WrongCodesAreLimitedPerAddressAndMinute) {
  ActivationCodes codes(*store_, box_, 3, clock_);
  auto good = codes.create("alice", "", "", std::chrono::hours(1));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(codes.redeem("0000000000000000", "00562b000001", "192.0.2.9").error(), ActivationRefusal::unknown);
  }
  EXPECT_GT(codes.retry_after("192.0.2.9"), 0);
  EXPECT_EQ(codes.redeem(good->code, "00562b000001", "192.0.2.9").error(), ActivationRefusal::rate_limited);
  EXPECT_EQ(codes.retry_after("192.0.2.10"), 0);  // other addresses are not punished
  clock_.advance(std::chrono::seconds(61));
  EXPECT_TRUE(codes.redeem(good->code, "00562b000001", "192.0.2.9"));
}

TEST_P(ProvStoreTest, ResyncStatusIsFlushedAndReloaded) {
  {
    DeviceStatusBook book(*store_, 5, clock_);
    ResyncEvent request{ResyncEvent::Kind::request, "CP-7841-3PCC", "000e08abcdef", "tftp://x/basic.txt", ""};
    book.record_resync(request, "192.0.2.5");
    ResyncEvent failure{ResyncEvent::Kind::failure, "CP-7841-3PCC", "000e08abcdef", "", "file not found"};
    book.record_resync(failure, "192.0.2.5");
    for (int i = 0; i < 7; ++i) book.record_fetch("000e08abcdef", FetchRecord{i, "tftp", "basic.txt", 200, 10, "x"});
    EXPECT_EQ(book.fetches("000e08abcdef").size(), 5u);
    EXPECT_EQ(book.fetches("000e08abcdef").front().at, 6);
    ASSERT_TRUE(book.flush());
  }
  DeviceStatusBook again(*store_, 5, clock_);
  ASSERT_TRUE(again.load());
  auto s = again.resync_status("000e08abcdef");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->last_request_url, "tftp://x/basic.txt");
  EXPECT_EQ(s->last_result, "failure");
  EXPECT_EQ(s->last_error, "file not found");
  EXPECT_EQ(s->last_address, "192.0.2.5");
}

TEST_P(ProvStoreTest, ReportsKeepTheNewestPerDevice) {
  ReportStore reports(*store_, 3, clock_);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(reports.save("000e08abcdef", "r" + std::to_string(i) + ".xml", "http", "content " + std::to_string(i)));
  }
  ASSERT_TRUE(reports.save("000e08000001", "other.xml", "tftp", std::string("\0binary", 7)));
  auto list = reports.list("000e08abcdef");
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list.front().name, "r4.xml");
  EXPECT_EQ(reports.get("000e08abcdef", list.front().id)->content, "content 4");
  auto other = reports.list("000e08000001");
  ASSERT_EQ(other.size(), 1u);
  EXPECT_EQ(reports.get("000e08000001", other.front().id)->content, std::string("\0binary", 7));
  EXPECT_FALSE(reports.get("000e08abcdef", other.front().id));  // not another device's
}

INSTANTIATE_TEST_SUITE_P(Backends, ProvStoreTest,
                         ::testing::Values(store::Backend::sqlite, store::Backend::postgres),
                         store::testing::backend_label);

}  // namespace
}  // namespace ucedge::prov
