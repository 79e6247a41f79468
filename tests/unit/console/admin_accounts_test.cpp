#include "console/admin_accounts.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <future>
#include <sstream>

#include "core/password.hpp"
#include "backend_fixture.hpp"

namespace ucedge::console {
namespace {

using store::Backend;

class AdminAccountsTest : public store::testing::BackendTest {
 protected:
  std::filesystem::path password_file() const { return data_dir_ / kInitialAdminPasswordFile; }

  std::string read_password_file() const {
    std::ifstream in(password_file());
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

};

TEST_P(AdminAccountsTest, FirstStartCreatesAdminAndWritesThePasswordFile) {
  auto created = ensure_initial_admin(*store_, data_dir_);
  ASSERT_TRUE(created) << created.error().to_string();
  ASSERT_TRUE(created->has_value());
  const std::string password = **created;
  EXPECT_EQ(password.size(), 20u);

  EXPECT_EQ(read_password_file(), password + "\n");
  struct stat st {};
  ASSERT_EQ(::stat(password_file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  
  EXPECT_TRUE(verify_admin(*store_, "admin", password));

  // Only the hash is stored.
  auto rows = store_->query("SELECT password_hash FROM admin_accounts WHERE username = 'admin'");
  ASSERT_TRUE(rows) << rows.error().to_string();
  ASSERT_EQ(rows->size(), 1u);
  const std::string hash = *(*rows)[0].get<std::string>(0);
  EXPECT_EQ(hash.rfind("$argon2id$", 0), 0u);
  EXPECT_EQ(hash.find(password), std::string::npos);
}

TEST_P(AdminAccountsTest, SecondStartCreatesNothing) {
  auto first = ensure_initial_admin(*store_, data_dir_);
  ASSERT_TRUE(first && first->has_value());
  auto second = ensure_initial_admin(*store_, data_dir_);
  ASSERT_TRUE(second) << second.error().to_string();
  EXPECT_FALSE(second->has_value());
  // The first password still works and the file still holds it.
  EXPECT_TRUE(verify_admin(*store_, "admin", **first));
  EXPECT_EQ(read_password_file(), **first + "\n");
}

TEST_P(AdminAccountsTest, WrongPasswordAndUnknownUserAreRefused) {
  auto created = ensure_initial_admin(*store_, data_dir_);
  ASSERT_TRUE(created && created->has_value());
  EXPECT_FALSE(verify_admin(*store_, "admin", "wrong"));
  EXPECT_FALSE(verify_admin(*store_, "admin", ""));
  EXPECT_FALSE(verify_admin(*store_, "Admin", **created));
  EXPECT_FALSE(verify_admin(*store_, "nobody", **created));
}

TEST_P(AdminAccountsTest, AnyExistingAdministratorMeansNoBootstrap) {
  ASSERT_TRUE(store_->exec("INSERT INTO admin_accounts (username, password_hash, created_at) VALUES (?, ?, ?)",
                           {std::string("alice"), core::hash_password("pw"), std::int64_t{1}}));
  auto result = ensure_initial_admin(*store_, data_dir_);
  ASSERT_TRUE(result) << result.error().to_string();
  EXPECT_FALSE(result->has_value());
  EXPECT_FALSE(std::filesystem::exists(password_file()));
  EXPECT_TRUE(verify_admin(*store_, "alice", "pw"));
}

TEST_P(AdminAccountsTest, AnOldWideOpenFileIsReplacedOwnerOnly) {
  std::ofstream(password_file()) << "stale\n";
  std::filesystem::permissions(password_file(), std::filesystem::perms::all);
  auto created = ensure_initial_admin(*store_, data_dir_);
  ASSERT_TRUE(created && created->has_value());
  struct stat st {};
  ASSERT_EQ(::stat(password_file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(read_password_file(), **created + "\n");
}

TEST_P(AdminAccountsTest, TwoNodesStartingTogetherCreateOneAdmin) {
  // A second Store on the same database and data directory: another process.
  auto second = store::open_store(config_, data_dir_);
  ASSERT_TRUE(second) << second.error().to_string();
  auto a = std::async(std::launch::async, [&] { return ensure_initial_admin(*store_, data_dir_); });
  auto b = std::async(std::launch::async, [&] { return ensure_initial_admin(**second, data_dir_); });
  auto ra = a.get();
  auto rb = b.get();
  ASSERT_TRUE(ra) << ra.error().to_string();
  ASSERT_TRUE(rb) << rb.error().to_string();
  auto rows = store_->query("SELECT COUNT(*) FROM admin_accounts");
  ASSERT_TRUE(rows);
  EXPECT_EQ(*(*rows)[0].get<std::int64_t>(0), 1);
  // Exactly one created it; the file holds that one's password.
  ASSERT_NE(ra->has_value(), rb->has_value());
  const std::string password = ra->has_value() ? **ra : **rb;
  EXPECT_TRUE(verify_admin(*store_, "admin", password));
  EXPECT_EQ(read_password_file(), password + "\n");
  for (const auto& entry : std::filesystem::directory_iterator(data_dir_)) {
    EXPECT_EQ(entry.path().filename().string().find(".pending"), std::string::npos) << entry.path();
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, AdminAccountsTest, ::testing::Values(Backend::sqlite, Backend::postgres),
                         [](const auto& info) { return std::string(store::backend_name(info.param)); });

}  // namespace
}  // namespace ucedge::console
