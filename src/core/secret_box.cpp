#include "core/secret_box.hpp"

#include <sodium.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "core/atomic_file.hpp"

namespace ucedge::core {

namespace {

constexpr std::string_view kPrefix = "v1:";
constexpr std::string_view kEnvKey = "UCEDGE_MASTER_KEY";
constexpr std::string_view kKeyFile = "master.key";
// crypto_kdf wants an 8-character context; sub-key 1 of it keys the hash.
constexpr char kKdfContext[crypto_kdf_CONTEXTBYTES + 1] = "ucedgeHK";
constexpr std::uint64_t kHashSubKey = 1;
constexpr std::size_t kNonceBytes = crypto_secretbox_xchacha20poly1305_NONCEBYTES;
constexpr std::size_t kMacBytes = crypto_secretbox_xchacha20poly1305_MACBYTES;

static_assert(SecretBox::kKeyBytes == crypto_secretbox_xchacha20poly1305_KEYBYTES);
static_assert(SecretBox::kKeyBytes == crypto_kdf_KEYBYTES);

void start_sodium() {
  // A function-local static runs sodium_init() once, however many threads ask.
  static const bool started = sodium_init() >= 0;
  if (!started) throw std::runtime_error("libsodium could not be initialised");
}

// 64 hex digits, either case, and nothing else.
Result<SecretBox::Key> key_from_hex(std::string_view hex, std::string_view source) {
  SecretBox::Key key{};
  std::size_t length = 0;
  const char* end = nullptr;
  if (hex.size() != 2 * key.size() ||
      sodium_hex2bin(key.data(), key.size(), hex.data(), hex.size(), nullptr, &length, &end) != 0 ||
      length != key.size() || end != hex.data() + hex.size()) {
    sodium_memzero(key.data(), key.size());
    return fail(std::string(source) + ": the master key must be " + std::to_string(2 * key.size()) +
                " hexadecimal digits");
  }
  return key;
}

Result<SecretBox::Key> read_key_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail(file.string() + ": cannot read the master key");
  // Room for the digits and a line ending; a longer file is not ours.
  std::string text(256, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  std::string_view hex = text;
  while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r' || hex.back() == ' ')) hex.remove_suffix(1);
  auto key = key_from_hex(hex, file.string());
  sodium_memzero(text.data(), text.size());
  return key;
}

}  // namespace

SecretBox::SecretBox(const Key& key) : key_(key) {
  start_sodium();
  crypto_kdf_derive_from_key(hash_key_.data(), hash_key_.size(), kHashSubKey, kKdfContext, key_.data());
}

Result<SecretBox> SecretBox::open(const std::filesystem::path& data_dir) {
  start_sodium();
  // The environment wins, so every node of a cluster can be given one key.
  if (const char* env = std::getenv(std::string(kEnvKey).c_str()); env != nullptr && *env != '\0') {
    auto key = key_from_hex(env, kEnvKey);
    if (!key) return fail(key.error());
    SecretBox box(*key);
    sodium_memzero(key->data(), key->size());
    return box;
  }

  const std::filesystem::path file = data_dir / kKeyFile;
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) {
    Key key{};
    randombytes_buf(key.data(), key.size());
    std::string hex(2 * key.size() + 1, '\0');
    sodium_bin2hex(hex.data(), hex.size(), key.data(), key.size());
    hex.back() = '\n';
    // Refusing to replace means two processes starting at once cannot both
    // create a key: the loser reads the winner's below.
    auto written = write_file_atomically(file, hex, 0600, Overwrite::refuse);
    sodium_memzero(hex.data(), hex.size());
    if (written) {
      SecretBox box(key);
      sodium_memzero(key.data(), key.size());
      return box;
    }
    sodium_memzero(key.data(), key.size());
    if (!std::filesystem::exists(file, ec)) return fail(written.error());
  }
  auto key = read_key_file(file);
  if (!key) return fail(key.error());
  SecretBox box(*key);
  sodium_memzero(key->data(), key->size());
  return box;
}

std::string SecretBox::seal(std::string_view plaintext) const {
  std::string box(kNonceBytes + kMacBytes + plaintext.size(), '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(box.data());
  // 192-bit random nonces: collisions are not a concern at any realistic volume.
  randombytes_buf(nonce, kNonceBytes);
  crypto_secretbox_xchacha20poly1305_easy(nonce + kNonceBytes,
                                          reinterpret_cast<const unsigned char*>(plaintext.data()),
                                          plaintext.size(), nonce, key_.data());
  const int variant = sodium_base64_VARIANT_ORIGINAL;
  std::string out(kPrefix);
  std::size_t start = out.size();
  out.resize(start + sodium_base64_ENCODED_LEN(box.size(), variant));
  sodium_bin2base64(out.data() + start, out.size() - start, reinterpret_cast<const unsigned char*>(box.data()),
                    box.size(), variant);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

Result<std::string> SecretBox::unseal(std::string_view sealed) const {
  if (sealed.substr(0, kPrefix.size()) != kPrefix) return fail(std::string("sealed secret: unknown format"));
  std::string_view b64 = sealed.substr(kPrefix.size());
  std::string box(b64.size() / 4 * 3 + 3, '\0');
  std::size_t length = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(box.data()), box.size(), b64.data(), b64.size(), nullptr,
                        &length, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != b64.data() + b64.size()) {
    return fail(std::string("sealed secret: not base64"));
  }
  if (length < kNonceBytes + kMacBytes) return fail(std::string("sealed secret: too short"));
  const auto* nonce = reinterpret_cast<const unsigned char*>(box.data());
  std::string plain(length - kNonceBytes - kMacBytes, '\0');
  if (crypto_secretbox_xchacha20poly1305_open_easy(reinterpret_cast<unsigned char*>(plain.data()),
                                                   nonce + kNonceBytes, length - kNonceBytes, nonce,
                                                   key_.data()) != 0) {
    return fail(std::string("sealed secret: altered, or sealed under another key"));
  }
  return plain;
}

std::string SecretBox::keyed_hash(std::string_view data) const {
  unsigned char hash[crypto_generichash_BYTES];
  crypto_generichash(hash, sizeof hash, reinterpret_cast<const unsigned char*>(data.data()), data.size(),
                     hash_key_.data(), hash_key_.size());
  char hex[2 * sizeof hash + 1];
  sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
  return hex;
}

}  // namespace ucedge::core
