#include "console/admin_auth.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include "console/admin_accounts.hpp"
#include "core/clock.hpp"
#include "store/store.hpp"

namespace ucedge::console {
namespace {

std::string basic(std::string_view user, std::string_view password) {
  std::string plain = std::string(user) + ":" + std::string(password);
  std::string b64(sodium_base64_ENCODED_LEN(plain.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(b64.data(), b64.size(), reinterpret_cast<const unsigned char*>(plain.data()), plain.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  b64.resize(b64.find('\0'));
  return "Basic " + b64;
}

class AdminAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ucedge-admin-auth-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto opened = store::open_store(store::StoreConfig{}, dir_);
    ASSERT_TRUE(opened);
    store_ = std::move(opened).value();
    auto created = ensure_initial_admin(*store_, dir_);
    ASSERT_TRUE(created && created->has_value());
    password_ = **created;
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  net::Request request(std::string authorization, std::string address = "192.0.2.1") {
    net::Request r;
    if (!authorization.empty()) r.headers.push_back({"Authorization", std::move(authorization)});
    r.remote_address = std::move(address);
    return r;
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
  std::string password_;
  core::ManualClock clock_;
};

TEST_F(AdminAuthTest, LetsTheAdministratorInAndNobodyElse) {
  AdminAuth auth(*store_, 10, clock_);
  EXPECT_FALSE(auth.refuse(request(basic("admin", password_))));
  auto none = auth.refuse(request(""));
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(auth.refuse(request(basic("admin", "wrong")))->status, 401);
  EXPECT_EQ(auth.refuse(request(basic("root", password_)))->status, 401);
  EXPECT_EQ(auth.refuse(request("Bearer x"))->status, 401);
}

TEST_F(AdminAuthTest, GuessingIsStoppedPerAddressForTheMinute) {
  AdminAuth auth(*store_, 3, clock_);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(auth.refuse(request(basic("admin", "guess")))->status, 401);
  auto limited = auth.refuse(request(basic("admin", password_)));
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->status, 429);
  EXPECT_FALSE(auth.refuse(request(basic("admin", password_), "192.0.2.2")));  // another address
  clock_.advance(std::chrono::minutes(1));
  EXPECT_FALSE(auth.refuse(request(basic("admin", password_))));
}

TEST_F(AdminAuthTest, GuardRunsTheHandlerOnlyForAdministrators) {
  AdminAuth auth(*store_, 10, clock_);
  int ran = 0;
  net::Handler h = auth.guard([&](net::Request&) {
    ++ran;
    return net::Response::text(200, "ok");
  });
  auto anonymous = request("");
  EXPECT_EQ(h(anonymous).status, 401);
  auto admin = request(basic("admin", password_));
  EXPECT_EQ(h(admin).status, 200);
  EXPECT_EQ(ran, 1);
}

}  // namespace
}  // namespace ucedge::console
