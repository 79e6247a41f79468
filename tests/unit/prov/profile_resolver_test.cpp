// How a requested name becomes the bytes a phone receives: identification,
// file lookup, rendering, encoding and the cache, on a temporary root.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "core/metrics.hpp"
#include "core/secret_box.hpp"
#include "prov/codec/encoding.hpp"
#include "prov/profile_resolver.hpp"
#include "prov/request_path.hpp"
#include "store/store.hpp"

namespace ucedge::prov {
namespace {

class ProfileResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ucedge-resolver-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    root_ = dir_ / "prov";
    std::filesystem::create_directories(root_);
    auto opened = store::open_store(store::StoreConfig{}, dir_);
    ASSERT_TRUE(opened);
    store_ = std::move(opened).value();
    core::SecretBox::Key key{};
    key.fill(3);
    box_ = std::make_unique<core::SecretBox>(key);
    devices_ = std::make_unique<DeviceDirectory>(*store_, *box_);
    ASSERT_TRUE(devices_->load());
    DeviceInput in;
    in.model = "CP-7841-3PCC";
    in.serial = "88012BA01234";
    in.gpp = std::map<std::string, std::string>{{"A", "12345678"}, {"B", "Dj6Lmp23Q"}};
    ASSERT_TRUE(devices_->put("000e08abcdef", in));
    resolver_ = std::make_unique<ProfileResolver>(config_, root_, *devices_, metrics_);
  }

  void TearDown() override {
    resolver_.reset();
    devices_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  void write(const std::string& name, const std::string& text) {
    auto p = root_ / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
  }

  FetchResult get(std::string_view path, std::string_view ua = {}, Transport t = Transport::http,
                  const net::ClientIdentity* cert = nullptr) {
    FetchRequest r;
    r.transport = t;
    r.path = path;
    r.remote_address = "192.0.2.10";
    r.user_agent = ua;
    r.certificate = cert;
    r.scheme = t == Transport::tftp ? "tftp" : "http";
    r.server_host = "prov.example.net";
    r.server_ip = "198.51.100.1";
    r.server_port = "8080";
    return resolver_->fetch(r);
  }

  static std::string body(const FetchResult& r) { return r.body ? *r.body : std::string(); }

  std::filesystem::path dir_, root_;
  // Every lookup from scratch, so a test may add a file and see it at once.
  ProvConfig config_ = [] {
    ProvConfig c;
    c.lookup_cache = std::chrono::milliseconds(0);
    return c;
  }();
  core::MetricsRegistry metrics_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<core::SecretBox> box_;
  std::unique_ptr<DeviceDirectory> devices_;
  std::unique_ptr<ProfileResolver> resolver_;
};

TEST(RequestPath, RefusesEverythingThatLeavesTheRoot) {
  EXPECT_EQ(check_request_path("/basic.txt").path, "basic.txt");
  EXPECT_EQ(check_request_path("cisco/config/7841.cfg").path, "cisco/config/7841.cfg");
  for (std::string_view bad : {"../x", "a/../../x", "..", "a/..", "a//b", "./a", "a\\..\\b", "a\x01"}) {
    EXPECT_TRUE(check_request_path(bad).refusal) << bad;
  }
  EXPECT_EQ(*check_request_path("a/../b").refusal, PathRefusal::outside_root);
  EXPECT_EQ(*check_request_path("/").refusal, PathRefusal::empty);
  EXPECT_EQ(*check_request_path(std::string_view("a\0b", 3)).refusal, PathRefusal::bad_character);
}

TEST_F(ProfileResolverTest, SeedExampleGppInTheDirectoryAndMacInTheName) {
  // tftp://prov.telco.com/cisco/$B/$MA.cfg (seed 004).
  write("cisco/Dj6Lmp23Q/$MA.cfg", "<flat-profile><GPP_A>$A</GPP_A><SN>$SN</SN></flat-profile>");
  auto r = get("/cisco/Dj6Lmp23Q/000e08abcdef.cfg", {}, Transport::tftp);
  ASSERT_EQ(r.status, 200) << r.reason;
  EXPECT_EQ(body(r), "<flat-profile><GPP_A>12345678</GPP_A><SN>88012BA01234</SN></flat-profile>");
  EXPECT_EQ(r.source, "cisco/Dj6Lmp23Q/$MA.cfg");
  EXPECT_EQ(r.device->mac, "000e08abcdef");
}

TEST_F(ProfileResolverTest, LookupOrderStaticThenTmplThenGeneralized) {
  write("$PSN.xml", "series $PSN for $MA");
  write("spa$PSN.cfg.tmpl", "spa $PSN");
  const std::string ua = "Cisco-CP-7841-3PCC/11.0 (000e08abcdef)";
  EXPECT_EQ(body(get("7841.xml", ua)), "series 7841 for 000e08abcdef");
  EXPECT_EQ(body(get("spa7841.cfg", ua)), "spa 7841");
  write("7841.xml", "static wins");
  auto r = get("7841.xml", ua);
  EXPECT_TRUE(r.file);
  EXPECT_EQ(r.source, "7841.xml");
  // Without a device, a macro-named template is not reachable.
  EXPECT_EQ(get("spa7841.cfg").status, 404);
  // A literal "$" in a request never reaches a template as a static file.
  EXPECT_EQ(get("$PSN.xml").status, 404);
}

TEST_F(ProfileResolverTest, CustomerDirectoryWinsAndAssignedTemplatesFirst) {
  DeviceInput in;
  in.customer = "acme";
  in.templates = std::map<std::string, std::string>{{"config-wxt.xml", "dtaf/mobile.tmpl"}};
  in.variables = std::map<std::string, std::string>{{"XSI_ROOT_WXT", "https://xsp.acme"}};
  ASSERT_TRUE(devices_->put("000e08abcdef", in));
  write("basic.txt", "root");
  write("acme/basic.txt", "acme");
  write("dtaf/mobile.tmpl", "<root>%XSI_ROOT_WXT%</root><x>%UNKNOWN%</x><m>$MA</m>");
  const std::string ua = "Cisco-CP-7841-3PCC/11.0 (000e08abcdef)";
  EXPECT_EQ(get("basic.txt", ua).source, "acme/basic.txt");
  EXPECT_EQ(get("basic.txt").source, "basic.txt");
  EXPECT_EQ(body(get("config-wxt.xml", ua)), "<root>https://xsp.acme</root><x>%UNKNOWN%</x><m>000e08abcdef</m>");
}

TEST_F(ProfileResolverTest, RequestMacrosAreFilledAndKeyTheCache) {
  write("rule.cfg.tmpl", "$SCHEME://$SERV:$PORT$PATH from $IP; $ERR stays");
  auto r = get("rule.cfg", "Cisco-CP-7841-3PCC/11.0 (000e08abcdef)");
  EXPECT_EQ(body(r), "http://prov.example.net:8080/rule.cfg from 192.0.2.10; $ERR stays");
  auto tftp = get("rule.cfg", {}, Transport::tftp);
  EXPECT_EQ(body(tftp), "tftp://prov.example.net:8080/rule.cfg from 192.0.2.10; $ERR stays");
  EXPECT_NE(r.etag, tftp.etag);
}

TEST_F(ProfileResolverTest, CachedUntilTheTemplateOrTheDeviceChanges) {
  write("$MA.xml", "A=$A");
  const std::string ua = "Cisco-CP-7841-3PCC/11.0 (000e08abcdef)";
  auto first = get("000e08abcdef.xml", ua);
  auto again = get("000e08abcdef.xml", ua);
  EXPECT_EQ(first.body, again.body);  // the same cached bytes
  DeviceInput change;
  change.gpp = std::map<std::string, std::string>{{"A", "new"}};
  ASSERT_TRUE(devices_->put("000e08abcdef", change));
  EXPECT_EQ(body(get("000e08abcdef.xml", ua)), "A=new");
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  write("$MA.xml", "changed A=$A");
  EXPECT_EQ(body(get("000e08abcdef.xml", ua)), "changed A=new");
}

TEST_F(ProfileResolverTest, BrokenTemplateIsAServerErrorNeverHalfServed) {
  write("broken.cfg.tmpl", "<GPP_A>$(MA</GPP_A>");
  auto r = get("broken.cfg", "Cisco-CP-7841-3PCC/11.0 (000e08abcdef)");
  EXPECT_EQ(r.status, 500);
  EXPECT_FALSE(r.body);
  DeviceInput in;
  in.encoding = "aes";  // but no key
  ASSERT_TRUE(devices_->put("000e08abcdef", in));
  write("ok.cfg.tmpl", "fine");
  EXPECT_EQ(get("ok.cfg", "Cisco-CP-7841-3PCC/11.0 (000e08abcdef)").status, 500);
}

TEST_F(ProfileResolverTest, EncryptedWithTheDevicesOwnKey) {
  DeviceInput in;
  in.encoding = "gzip+aes";
  in.key_derivation = "sha256";
  in.profile_key = "$B-suffix";
  ASSERT_TRUE(devices_->put("000e08abcdef", in));
  write("$MA.cfg", "<flat-profile><GPP_A>$A</GPP_A></flat-profile>");
  auto r = get("000e08abcdef.cfg");
  ASSERT_EQ(r.status, 200) << r.reason;
  EXPECT_EQ(r.content_type, "application/octet-stream");
  auto opened = openssl_enc_decrypt(body(r), "Dj6Lmp23Q-suffix", KeyDerivation::sha256);
  ASSERT_TRUE(opened) << opened.error();
  auto plain = gzip_decompress(*opened, 1 << 20);
  ASSERT_TRUE(plain);
  EXPECT_EQ(*plain, "<flat-profile><GPP_A>12345678</GPP_A></flat-profile>");
}

TEST_F(ProfileResolverTest, IdentityConflictsAreRefused) {
  DeviceInput other;
  ASSERT_TRUE(devices_->put("000e08112233", other));
  write("$MA.xml", "for $MA");
  auto r = get("000e08112233.xml", "Cisco-CP-7841-3PCC/11.0 (000e08abcdef)");
  EXPECT_EQ(r.status, 403);
  net::ClientIdentity cert;
  cert.common_name = "CP-7841-3PCC-SEP000e08abcdef";
  EXPECT_EQ(body(get("000e08abcdef.xml", {}, Transport::https_client_cert, &cert)), "for 000e08abcdef");
  EXPECT_EQ(get("000e08112233.xml", {}, Transport::https_client_cert, &cert).status, 403);
  net::ClientIdentity by_serial;
  by_serial.common_name = "phone";
  by_serial.serial_number = "PID:CP-7841-3PCC SN:88012BA01234";
  auto s = get("000e08abcdef.xml", {}, Transport::https_client_cert, &by_serial);
  EXPECT_EQ(s.status, 200);
  net::ClientIdentity stranger;
  stranger.common_name = "nobody";
  EXPECT_EQ(get("basic.txt", {}, Transport::https_client_cert, &stranger).status, 403);
}

TEST_F(ProfileResolverTest, TftpFallsBackToTheAddressTheDeviceWasSeenAt) {
  write("phone.cfg.tmpl", "mac=$MA");
  EXPECT_EQ(body(get("phone.cfg", {}, Transport::tftp)), "mac=$MA");
  resolver_->remember_address("192.0.2.10", "000e08abcdef");
  EXPECT_EQ(body(get("phone.cfg", {}, Transport::tftp)), "mac=000e08abcdef");
  EXPECT_EQ(body(get("phone.cfg", {}, Transport::http)), "mac=$MA");  // HTTP does not guess by address
}

TEST_F(ProfileResolverTest, RememberedLookupsStillSeeEditsToTheFile) {
  ProvConfig cached = config_;
  cached.lookup_cache = std::chrono::minutes(1);
  ProfileResolver resolver(cached, root_, *devices_, metrics_);
  write("$MA.xml", "first $MA");
  FetchRequest r;
  r.path = "000e08abcdef.xml";
  EXPECT_EQ(*resolver.fetch(r).body, "first 000e08abcdef");
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  write("$MA.xml", "second $MA");
  EXPECT_EQ(*resolver.fetch(r).body, "second 000e08abcdef");
  // A new file that would now answer first waits for the lookup to expire.
  write("000e08abcdef.xml", "static");
  EXPECT_EQ(*resolver.fetch(r).body, "second 000e08abcdef");
  std::filesystem::remove(root_ / "$MA.xml");
  EXPECT_TRUE(resolver.fetch(r).file);  // the remembered file is gone: looked up again
}

// Waits for the watcher to report a change (an inotify event, not a timer).
bool changed_since(const RootWatcher& w, std::uint64_t generation) {
  for (int i = 0; i < 2000 && w.generation() == generation; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return w.generation() != generation;
}

TEST_F(ProfileResolverTest, WatchedRootNeedsNoStatAndSeesEveryChange) {
  RootWatcher watcher(root_);
  ASSERT_TRUE(watcher.start());
  ProvConfig cached = config_;
  cached.lookup_cache = std::chrono::minutes(1);
  ProfileResolver resolver(cached, root_, *devices_, metrics_, &watcher);
  FetchRequest r;
  r.path = "000e08abcdef.xml";
  EXPECT_EQ(resolver.fetch(r).status, 404);

  auto g = watcher.generation();
  write("$MA.xml", "template $MA");
  ASSERT_TRUE(changed_since(watcher, g));
  EXPECT_EQ(*resolver.fetch(r).body, "template 000e08abcdef");

  g = watcher.generation();
  write("000e08abcdef.xml", "static");  // takes precedence at once
  ASSERT_TRUE(changed_since(watcher, g));
  EXPECT_TRUE(resolver.fetch(r).file);

  // A directory made after the start is watched too.
  g = watcher.generation();
  std::filesystem::create_directories(root_ / "acme" / "deep");
  ASSERT_TRUE(changed_since(watcher, g));
  FetchRequest deep;
  deep.path = "acme/deep/x.cfg";
  EXPECT_EQ(resolver.fetch(deep).status, 404);
  g = watcher.generation();
  write("acme/deep/x.cfg", "deep");
  ASSERT_TRUE(changed_since(watcher, g));
  EXPECT_EQ(resolver.fetch(deep).status, 200);
  watcher.stop();
  EXPECT_FALSE(watcher.active());
}

TEST_F(ProfileResolverTest, RememberedAnswersFollowDeviceChanges) {
  write("$MA.xml", "sn=$SN");
  RootWatcher watcher(root_);
  ASSERT_TRUE(watcher.start());
  ProfileResolver resolver(config_, root_, *devices_, metrics_, &watcher);
  FetchRequest r;
  r.path = "000e08abcdef.xml";
  r.user_agent = "Cisco-CP-7841-3PCC/11.0 (000e08abcdef)";
  auto first = resolver.fetch(r);
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(*first.body, "sn=88012BA01234");
  EXPECT_EQ(resolver.fetch(r).body, first.body);  // the very same bytes, remembered
  DeviceInput change;
  change.serial = "NEWSERIAL";
  ASSERT_TRUE(devices_->put("000e08abcdef", change));
  EXPECT_EQ(*resolver.fetch(r).body, "sn=NEWSERIAL");
  // Another phone's answer is its own.
  DeviceInput other;
  other.serial = "OTHER";
  ASSERT_TRUE(devices_->put("000e08112233", other));
  FetchRequest o = r;
  o.path = "000e08112233.xml";
  o.user_agent = "Cisco-CP-7841-3PCC/11.0 (000e08112233)";
  EXPECT_EQ(*resolver.fetch(o).body, "sn=OTHER");
  o.user_agent = r.user_agent;  // the first phone asking for the other's file
  EXPECT_EQ(resolver.fetch(o).status, 403);
  // The certificate is part of what an answer is remembered by.
  net::ClientIdentity cert;
  cert.common_name = "SEP000e08112233";
  cert.fingerprint_sha256 = std::string(64, 'a');
  FetchRequest c;
  c.transport = Transport::https_client_cert;
  c.path = "000e08112233.xml";
  c.certificate = &cert;
  EXPECT_EQ(*resolver.fetch(c).body, "sn=OTHER");
  net::ClientIdentity first_phone = cert;
  first_phone.common_name = "SEP000e08abcdef";
  first_phone.fingerprint_sha256 = std::string(64, 'b');
  c.certificate = &first_phone;
  EXPECT_EQ(resolver.fetch(c).status, 403);
}

TEST_F(ProfileResolverTest, ReportsAreNotDownloadable) {
  write("reports/x.xml", "secret");
  EXPECT_EQ(get("reports/x.xml", "Cisco-CP-7841-3PCC/11.0 (000e08abcdef)").status, 403);
}

}  // namespace
}  // namespace ucedge::prov
