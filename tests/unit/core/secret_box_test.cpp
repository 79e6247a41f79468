#include "core/secret_box.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>
#include <vector>

using namespace ucedge::core;
namespace fs = std::filesystem;

namespace {

constexpr const char* kEnv = "UCEDGE_MASTER_KEY";
const std::string kHexKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

SecretBox::Key key_of(std::uint8_t fill) {
  SecretBox::Key k;
  k.fill(fill);
  return k;
}

class SecretBoxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv(kEnv);
    static std::atomic<int> counter{0};
    dir_ = fs::temp_directory_path() /
           ("ucedge-secret-box-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(dir_);
  }
  void TearDown() override {
    ::unsetenv(kEnv);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string read_key_file() const {
    std::ifstream in(dir_ / "master.key", std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  fs::path dir_;
};

TEST_F(SecretBoxTest, SealedTextOpensWithTheSameKey) {
  SecretBox box(key_of(7));
  for (std::string plain : {std::string("MyOwnSecret"), std::string(), std::string("a\0b", 3), std::string(5000, 'z')}) {
    std::string sealed = box.seal(plain);
    EXPECT_EQ(sealed.rfind("v1:", 0), 0u) << sealed;
    EXPECT_EQ(sealed.find(plain.empty() ? "\x01" : plain), std::string::npos);
    auto back = box.unseal(sealed);
    ASSERT_TRUE(back.ok()) << back.error();
    EXPECT_EQ(*back, plain);
  }
  // A fresh nonce each time.
  EXPECT_NE(box.seal("same"), box.seal("same"));
}

TEST_F(SecretBoxTest, AlteredTextIsRefused) {
  SecretBox box(key_of(7));
  std::string sealed = box.seal("MyOwnSecret");
  // Flip one base64 digit in the middle (nonce, ciphertext or tag: all checked).
  for (std::size_t at : {std::size_t{5}, sealed.size() / 2, sealed.size() - 3}) {
    std::string bad = sealed;
    bad[at] = bad[at] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(box.unseal(bad).ok()) << at;
  }
  EXPECT_FALSE(box.unseal(sealed.substr(0, sealed.size() - 4)).ok());
  EXPECT_FALSE(box.unseal("v1:").ok());
  EXPECT_FALSE(box.unseal("v1:not base64!").ok());
  EXPECT_FALSE(box.unseal("v2:" + sealed.substr(3)).ok());
  EXPECT_FALSE(box.unseal("MyOwnSecret").ok());
  EXPECT_FALSE(box.unseal("").ok());
}

TEST_F(SecretBoxTest, AnotherKeyCannotOpen) {
  std::string sealed = SecretBox(key_of(7)).seal("MyOwnSecret");
  auto other = SecretBox(key_of(8)).unseal(sealed);
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.error().find("another key"), std::string::npos) << other.error();
}

TEST_F(SecretBoxTest, KeyedHashIsStablePerKeyAndHex) {
  SecretBox a(key_of(7)), a2(key_of(7)), b(key_of(8));
  std::string h = a.keyed_hash("1234567890123456");
  EXPECT_EQ(h.size(), 64u);
  EXPECT_EQ(h.find_first_not_of("0123456789abcdef"), std::string::npos) << h;
  EXPECT_EQ(h, a2.keyed_hash("1234567890123456"));
  EXPECT_NE(h, a.keyed_hash("1234567890123457"));
  EXPECT_NE(h, b.keyed_hash("1234567890123456"));
}

TEST_F(SecretBoxTest, KeyFileIsCreatedPrivateAndReused) {
  auto first = SecretBox::open(dir_);
  ASSERT_TRUE(first.ok()) << first.error();
  struct stat st{};
  ASSERT_EQ(::stat((dir_ / "master.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string text = read_key_file();
  ASSERT_EQ(text.size(), 65u) << text;
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(text.find_first_not_of("0123456789abcdef\n"), std::string::npos);

  std::string sealed = first->seal("MyOwnSecret");
  auto second = SecretBox::open(dir_);
  ASSERT_TRUE(second.ok()) << second.error();
  EXPECT_EQ(read_key_file(), text);
  auto back = second->unseal(sealed);
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(*back, "MyOwnSecret");
}

TEST_F(SecretBoxTest, ProcessesStartingTogetherAgreeOnOneKey) {
  for (int round = 0; round < 10; ++round) {
    fs::path dir = dir_ / std::to_string(round);
    std::vector<std::string> sealed(8);
    std::vector<std::thread> threads;
    std::atomic<bool> go{false};
    for (std::size_t i = 0; i < sealed.size(); ++i) {
      threads.emplace_back([&, i] {
        while (!go) std::this_thread::yield();
        auto box = SecretBox::open(dir);
        sealed[i] = box.ok() ? box->seal("x" + std::to_string(i)) : "error: " + box.error();
      });
    }
    go = true;
    for (auto& t : threads) t.join();
    auto box = SecretBox::open(dir);
    ASSERT_TRUE(box.ok()) << box.error();
    for (std::size_t i = 0; i < sealed.size(); ++i) {
      auto back = box->unseal(sealed[i]);
      ASSERT_TRUE(back.ok()) << sealed[i];
      EXPECT_EQ(*back, "x" + std::to_string(i));
    }
    std::size_t files = 0;
    for ([[maybe_unused]] auto& e : fs::directory_iterator(dir)) ++files;
    EXPECT_EQ(files, 1u) << "temporary files left behind";
  }
}

TEST_F(SecretBoxTest, EnvironmentKeyWinsOverTheFile) {
  auto from_file = SecretBox::open(dir_);
  ASSERT_TRUE(from_file.ok());
  ::setenv(kEnv, kHexKey.c_str(), 1);
  auto from_env = SecretBox::open(dir_);
  ASSERT_TRUE(from_env.ok()) << from_env.error();

  SecretBox::Key expected;
  for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<std::uint8_t>(i);
  SecretBox direct(expected);
  EXPECT_EQ(direct.unseal(from_env->seal("s")).value(), "s");
  EXPECT_FALSE(from_file->unseal(from_env->seal("s")).ok());

  // Upper-case digits are the same key; no file is created for it.
  std::string upper = kHexKey;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  ::setenv(kEnv, upper.c_str(), 1);
  fs::path elsewhere = dir_ / "other";
  auto again = SecretBox::open(elsewhere);
  ASSERT_TRUE(again.ok()) << again.error();
  EXPECT_EQ(direct.unseal(again->seal("t")).value(), "t");
  EXPECT_FALSE(fs::exists(elsewhere / "master.key"));
}

TEST_F(SecretBoxTest, MalformedEnvironmentKeyIsAnError) {
  for (std::string bad : {kHexKey.substr(2), kHexKey + "00", "zz" + kHexKey.substr(2), std::string(64, ' '),
                          kHexKey.substr(0, 62) + ":f"}) {
    ::setenv(kEnv, bad.c_str(), 1);
    auto box = SecretBox::open(dir_);
    ASSERT_FALSE(box.ok()) << bad;
    EXPECT_NE(box.error().find("UCEDGE_MASTER_KEY"), std::string::npos) << box.error();
  }
  EXPECT_FALSE(fs::exists(dir_ / "master.key"));
}

TEST_F(SecretBoxTest, MalformedKeyFileIsAnError) {
  fs::create_directories(dir_);
  std::ofstream(dir_ / "master.key") << "not a key\n";
  auto box = SecretBox::open(dir_);
  ASSERT_FALSE(box.ok());
  EXPECT_NE(box.error().find("master.key"), std::string::npos) << box.error();
  // The bad file is left for the operator to look at.
  EXPECT_EQ(read_key_file(), "not a key\n");
}

}  // namespace
