// gzip and `openssl enc` compatibility, checked against the real tools a
// phone vendor validates with: the openssl CLI and gzip/gunzip.
#include "prov/codec/encoding.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

using namespace ucedge;
using prov::KeyDerivation;

namespace {

namespace fs = std::filesystem;

const std::string kPassword = "SECRET";
const prov::Salt kSalt = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
constexpr const char* kSaltHex = "0123456789abcdef";

std::string profile_text() {
  std::string p = "<flat-profile>\n  <GPP_A ua=\"na\">12345678</GPP_A>\n";
  for (int i = 0; i < 200; ++i) p += "  <Line_Enable_" + std::to_string(i) + "_>Yes</Line_Enable_" + std::to_string(i) + "_>\n";
  p += "</flat-profile>\n";
  return p;
}

// Every byte value, NULs included: ciphertext must not be treated as text.
std::string binary_text() {
  std::string b;
  for (int i = 0; i < 3 * 256 + 7; ++i) b += static_cast<char>(i & 0xff);
  return b;
}

// The CLI flag that picks the same key derivation.
std::string cli_kdf(KeyDerivation k) {
  switch (k) {
    case KeyDerivation::md5: return "-md md5";
    case KeyDerivation::sha256: return "-md sha256";
    case KeyDerivation::pbkdf2: return "-pbkdf2";
  }
  return "";
}

constexpr KeyDerivation kAll[] = {KeyDerivation::md5, KeyDerivation::sha256, KeyDerivation::pbkdf2};

class EncodingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = fs::temp_directory_path() /
           ("ucedge-encoding-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  void write(const std::string& name, const std::string& content) const {
    std::ofstream out(path(name), std::ios::binary);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
  }

  std::string read(const std::string& name) const {
    std::ifstream in(path(name), std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  // Runs a shell command in the test folder; stderr goes to a file shown on failure.
  int run(const std::string& command) {
    std::string full = "cd '" + dir_.string() + "' && { " + command + " ; } 2>stderr.txt";
    int rc = std::system(full.c_str());
    last_stderr_ = read("stderr.txt");
    return rc;
  }

  fs::path dir_;
  std::string last_stderr_;
};

TEST_F(EncodingTest, OurCiphertextDecryptsWithOpensslCli) {
  const std::string plain = profile_text();
  for (KeyDerivation k : kAll) {
    SCOPED_TRACE(std::string(prov::to_string(k)));
    auto enc = prov::openssl_enc_encrypt(plain, kPassword, k);
    ASSERT_TRUE(enc.ok()) << enc.error();
    EXPECT_EQ(enc->substr(0, 8), "Salted__");
    write("profile.enc", *enc);
    ASSERT_EQ(run("openssl enc -d -aes-256-cbc " + cli_kdf(k) + " -k " + kPassword +
                  " -in profile.enc -out profile.out"),
              0)
        << last_stderr_;
    EXPECT_EQ(read("profile.out"), plain);
  }
}

TEST_F(EncodingTest, FixedSaltGivesTheCliBytesExactly) {
  for (const std::string& plain : {profile_text(), binary_text(), std::string(), std::string(16, 'x')}) {
    write("plain", plain);
    for (KeyDerivation k : kAll) {
      SCOPED_TRACE(std::string(prov::to_string(k)) + " with " + std::to_string(plain.size()) + " bytes");
      ASSERT_EQ(run("openssl enc -aes-256-cbc " + cli_kdf(k) + " -k " + kPassword + " -S " + kSaltHex +
                    " -in plain -out cli.enc"),
                0)
          << last_stderr_;
      auto ours = prov::openssl_enc_encrypt(plain, kPassword, k, kSalt);
      ASSERT_TRUE(ours.ok()) << ours.error();
      // OpenSSL 3's enc leaves out the "Salted__" header when the salt is
      // given with -S; the ciphertext after it must be the same bytes.
      EXPECT_EQ(ours->substr(0, 16), std::string("Salted__") + std::string(kSalt.begin(), kSalt.end()));
      EXPECT_TRUE(ours->substr(16) == read("cli.enc")) << "ciphertext differs from the CLI's";
      EXPECT_EQ(ours->size(), 16 + (plain.size() / 16 + 1) * 16);
    }
  }
}

TEST_F(EncodingTest, DecryptsWhatTheCliEncrypted) {
  const std::string plain = binary_text();
  write("plain", plain);
  for (KeyDerivation k : kAll) {
    SCOPED_TRACE(std::string(prov::to_string(k)));
    ASSERT_EQ(run("openssl enc -aes-256-cbc " + cli_kdf(k) + " -k " + kPassword + " -in plain -out cli.enc"), 0)
        << last_stderr_;
    auto back = prov::openssl_enc_decrypt(read("cli.enc"), kPassword, k);
    ASSERT_TRUE(back.ok()) << back.error();
    EXPECT_EQ(*back, plain);
  }
}

TEST_F(EncodingTest, RandomSaltsDiffer) {
  auto a = prov::openssl_enc_encrypt("same", kPassword, KeyDerivation::md5);
  auto b = prov::openssl_enc_encrypt("same", kPassword, KeyDerivation::md5);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->substr(8, 8), b->substr(8, 8));
  EXPECT_NE(*a, *b);
}

TEST_F(EncodingTest, GzipOutputIsReadByGunzip) {
  const std::string plain = profile_text();
  auto gz = prov::gzip_compress(plain);
  ASSERT_TRUE(gz.ok()) << gz.error();
  EXPECT_TRUE(prov::looks_gzipped(*gz));
  EXPECT_LT(gz->size(), plain.size());
  write("profile.xml.gz", *gz);
  ASSERT_EQ(run("gunzip -t profile.xml.gz && gunzip -c profile.xml.gz > profile.xml"), 0) << last_stderr_;
  EXPECT_EQ(read("profile.xml"), plain);

  auto back = prov::gzip_decompress(*gz, plain.size());
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(*back, plain);
}

TEST_F(EncodingTest, GzipOfNothingAndOfBinary) {
  for (const std::string& plain : {std::string(), binary_text()}) {
    auto gz = prov::gzip_compress(plain, 9);
    ASSERT_TRUE(gz.ok()) << gz.error();
    write("x.gz", *gz);
    ASSERT_EQ(run("gunzip -c x.gz > x"), 0) << last_stderr_;
    EXPECT_EQ(read("x"), plain);
  }
  EXPECT_FALSE(prov::gzip_compress("x", 10).ok());
}

TEST_F(EncodingTest, InflatesWhatGzipWroteIncludingSeveralMembers) {
  write("a", "first part\n");
  write("b", "second part\n");
  ASSERT_EQ(run("gzip -c a > ab.gz && gzip -9 -n -c b >> ab.gz"), 0) << last_stderr_;
  auto back = prov::gzip_decompress(read("ab.gz"), 1000);
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(*back, "first part\nsecond part\n");
}

TEST_F(EncodingTest, CompressThenEncryptIsUndoneByOpensslAndGunzip) {
  const std::string plain = profile_text();
  for (KeyDerivation k : kAll) {
    SCOPED_TRACE(std::string(prov::to_string(k)));
    auto gz = prov::gzip_compress(plain);
    ASSERT_TRUE(gz.ok());
    auto enc = prov::openssl_enc_encrypt(*gz, kPassword, k);
    ASSERT_TRUE(enc.ok()) << enc.error();
    EXPECT_TRUE(prov::looks_openssl_encrypted(*enc));
    write("basic.cfg", *enc);
    ASSERT_EQ(run("openssl enc -d -aes-256-cbc " + cli_kdf(k) + " -k " + kPassword +
                  " -in basic.cfg | gunzip > basic.xml"),
              0)
        << last_stderr_;
    EXPECT_EQ(read("basic.xml"), plain);

    auto dec = prov::openssl_enc_decrypt(*enc, kPassword, k);
    ASSERT_TRUE(dec.ok()) << dec.error();
    auto back = prov::gzip_decompress(*dec, 1 << 20);
    ASSERT_TRUE(back.ok()) << back.error();
    EXPECT_EQ(*back, plain);
  }
}

TEST_F(EncodingTest, WrongKeyOrDerivationIsAnError) {
  // A fixed salt keeps this deterministic: by chance one wrong key in ~256
  // would end in valid padding.
  auto enc = prov::openssl_enc_encrypt(profile_text(), kPassword, KeyDerivation::md5, kSalt);
  ASSERT_TRUE(enc.ok());
  auto wrong = prov::openssl_enc_decrypt(*enc, "NOTSECRET", KeyDerivation::md5);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().find("bad decrypt"), std::string::npos) << wrong.error();
  EXPECT_FALSE(prov::openssl_enc_decrypt(*enc, kPassword, KeyDerivation::sha256).ok());
  EXPECT_FALSE(prov::openssl_enc_decrypt(*enc, kPassword, KeyDerivation::pbkdf2).ok());

  // The CLI agrees the key is wrong.
  write("x.enc", *enc);
  EXPECT_NE(run("openssl enc -d -aes-256-cbc -md md5 -k NOTSECRET -in x.enc -out x"), 0);
}

TEST_F(EncodingTest, MalformedCiphertextIsAnError) {
  auto enc = prov::openssl_enc_encrypt(profile_text(), kPassword, KeyDerivation::sha256, kSalt);
  ASSERT_TRUE(enc.ok());
  const std::string& c = *enc;

  auto truncated = prov::openssl_enc_decrypt(c.substr(0, c.size() - 5), kPassword, KeyDerivation::sha256);
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.error().find("whole blocks"), std::string::npos) << truncated.error();
  // Cut at a block boundary: the padding is gone, so the last block is wrong.
  EXPECT_FALSE(prov::openssl_enc_decrypt(c.substr(0, c.size() - 16), kPassword, KeyDerivation::sha256).ok());

  auto header_only = prov::openssl_enc_decrypt(c.substr(0, 16), kPassword, KeyDerivation::sha256);
  ASSERT_FALSE(header_only.ok());
  EXPECT_NE(header_only.error().find("too short"), std::string::npos) << header_only.error();
  EXPECT_FALSE(prov::openssl_enc_decrypt("Salted_", kPassword, KeyDerivation::sha256).ok());

  auto no_header = prov::openssl_enc_decrypt(c.substr(16), kPassword, KeyDerivation::sha256);
  ASSERT_FALSE(no_header.ok());
  EXPECT_NE(no_header.error().find("header"), std::string::npos) << no_header.error();
  EXPECT_FALSE(prov::openssl_enc_decrypt("", kPassword, KeyDerivation::sha256).ok());

  std::string flipped = c;
  flipped.back() = static_cast<char>(flipped.back() ^ 0x01);
  EXPECT_FALSE(prov::openssl_enc_decrypt(flipped, kPassword, KeyDerivation::sha256).ok());
  EXPECT_FALSE(prov::looks_openssl_encrypted(c.substr(0, 20)));
}

TEST_F(EncodingTest, GzipBombStopsAtTheCap) {
  const std::string zeros(8 << 20, '\0');
  auto gz = prov::gzip_compress(zeros, 9);
  ASSERT_TRUE(gz.ok());
  EXPECT_LT(gz->size(), 20'000u);
  auto capped = prov::gzip_decompress(*gz, 1 << 20);
  ASSERT_FALSE(capped.ok());
  EXPECT_NE(capped.error().find("limit"), std::string::npos) << capped.error();
  // Exactly at the cap is fine; one byte less is not.
  auto exact = prov::gzip_decompress(*gz, zeros.size());
  ASSERT_TRUE(exact.ok()) << exact.error();
  EXPECT_EQ(exact->size(), zeros.size());
  EXPECT_FALSE(prov::gzip_decompress(*gz, zeros.size() - 1).ok());
}

TEST_F(EncodingTest, CorruptOrTruncatedGzipIsAnError) {
  auto gz = prov::gzip_compress(profile_text());
  ASSERT_TRUE(gz.ok());
  const std::string& g = *gz;
  auto truncated = prov::gzip_decompress(g.substr(0, g.size() / 2), 1 << 20);
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.error().find("truncated"), std::string::npos) << truncated.error();
  // A wrong CRC-32 in the trailer (RFC 1952 §2.3.1).
  std::string bad_crc = g;
  bad_crc[bad_crc.size() - 8] = static_cast<char>(bad_crc[bad_crc.size() - 8] ^ 0xff);
  EXPECT_FALSE(prov::gzip_decompress(bad_crc, 1 << 20).ok());
  EXPECT_FALSE(prov::gzip_decompress(g + "garbage", 1 << 20).ok());
  EXPECT_FALSE(prov::gzip_decompress("<flat-profile/>", 1 << 20).ok());
  EXPECT_FALSE(prov::gzip_decompress("", 1 << 20).ok());
}

TEST(KeyDerivationNames, RoundTrip) {
  for (KeyDerivation k : kAll) EXPECT_EQ(prov::key_derivation_from_string(prov::to_string(k)), k);
  EXPECT_EQ(prov::key_derivation_from_string("MD5"), KeyDerivation::md5);
  EXPECT_EQ(prov::key_derivation_from_string("sha1"), std::nullopt);
  EXPECT_EQ(prov::key_derivation_from_string(""), std::nullopt);
}

}  // namespace
