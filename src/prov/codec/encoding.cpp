#include "prov/codec/encoding.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <memory>

#include "core/strings.hpp"

namespace ucedge::prov {

namespace {

// zlib counts in uInt; larger inputs are fed in slices of this size.
constexpr std::size_t kZlibSlice = 1u << 30;
constexpr std::size_t kInflateChunk = 16 * 1024;

// The `openssl enc` container: the magic, then the salt.
constexpr std::string_view kMagic = "Salted__";
constexpr std::size_t kHeaderBytes = kMagic.size() + sizeof(Salt);
constexpr std::size_t kKeyBytes = 32;
constexpr std::size_t kIvBytes = 16;
constexpr std::size_t kBlockBytes = 16;
// apps/enc.c: `-pbkdf2` without `-iter` means 10,000 iterations of HMAC-SHA-256.
constexpr int kPbkdf2Iterations = 10000;

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

// Key and IV side by side; wiped when it goes out of scope.
struct KeyMaterial {
  unsigned char bytes[kKeyBytes + kIvBytes];
  KeyMaterial() = default;
  KeyMaterial(const KeyMaterial&) = delete;
  KeyMaterial& operator=(const KeyMaterial&) = delete;
  ~KeyMaterial() { OPENSSL_cleanse(bytes, sizeof bytes); }
  const unsigned char* key() const { return bytes; }
  const unsigned char* iv() const { return bytes + kKeyBytes; }
};

bool derive(std::string_view password, const Salt& salt, KeyDerivation kdf, KeyMaterial& out) {
  if (kdf == KeyDerivation::pbkdf2) {
    // One PBKDF2 output split into key then IV, as `openssl enc -pbkdf2` does.
    return PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt.data(),
                             static_cast<int>(salt.size()), kPbkdf2Iterations, EVP_sha256(),
                             static_cast<int>(sizeof out.bytes), out.bytes) == 1;
  }
  const EVP_MD* md = kdf == KeyDerivation::md5 ? EVP_md5() : EVP_sha256();
  unsigned char* key = out.bytes;
  unsigned char* iv = out.bytes + kKeyBytes;
  int n = EVP_BytesToKey(EVP_aes_256_cbc(), md, salt.data(),
                         reinterpret_cast<const unsigned char*>(password.data()),
                         static_cast<int>(password.size()), 1, key, iv);
  return n == static_cast<int>(kKeyBytes);
}

// Runs the whole input through an initialised context.
bool run_cipher(EVP_CIPHER_CTX* ctx, std::string_view in, std::string& out, std::size_t offset) {
  std::size_t written = offset;
  while (!in.empty()) {
    std::size_t slice = std::min(in.size(), kZlibSlice);
    int n = 0;
    if (EVP_CipherUpdate(ctx, reinterpret_cast<unsigned char*>(out.data() + written), &n,
                         reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(slice)) != 1) {
      return false;
    }
    written += static_cast<std::size_t>(n);
    in.remove_prefix(slice);
  }
  int n = 0;
  if (EVP_CipherFinal_ex(ctx, reinterpret_cast<unsigned char*>(out.data() + written), &n) != 1) return false;
  written += static_cast<std::size_t>(n);
  out.resize(written);
  return true;
}

}  // namespace

std::string_view to_string(KeyDerivation k) {
  switch (k) {
    case KeyDerivation::md5: return "md5";
    case KeyDerivation::sha256: return "sha256";
    case KeyDerivation::pbkdf2: return "pbkdf2";
  }
  return "md5";
}

std::optional<KeyDerivation> key_derivation_from_string(std::string_view text) {
  for (KeyDerivation k : {KeyDerivation::md5, KeyDerivation::sha256, KeyDerivation::pbkdf2}) {
    if (core::iequals(text, to_string(k))) return k;
  }
  return std::nullopt;
}

core::Result<std::string> gzip_compress(std::string_view data, int level) {
  if (level < Z_DEFAULT_COMPRESSION || level > Z_BEST_COMPRESSION) {
    return core::fail(std::string("gzip: compression level must be -1..9"));
  }
  z_stream zs{};
  // windowBits 15 + 16: a gzip header and trailer (RFC 1952) instead of zlib's.
  if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return core::fail(std::string("gzip: cannot initialise deflate"));
  }
  std::string out;
  out.resize(deflateBound(&zs, static_cast<uLong>(std::min(data.size(), kZlibSlice))) + 64);
  std::size_t produced = 0;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (zs.avail_in == 0 && !data.empty()) {
      std::size_t slice = std::min(data.size(), kZlibSlice);
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
      zs.avail_in = static_cast<uInt>(slice);
      data.remove_prefix(slice);
    }
    if (produced == out.size()) out.resize(out.size() * 2);
    std::size_t room = std::min(out.size() - produced, kZlibSlice);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = static_cast<uInt>(room);
    rc = deflate(&zs, data.empty() ? Z_FINISH : Z_NO_FLUSH);
    produced += room - zs.avail_out;
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
      deflateEnd(&zs);
      return core::fail(std::string("gzip: deflate failed"));
    }
  }
  deflateEnd(&zs);
  out.resize(produced);
  return out;
}

core::Result<std::string> gzip_decompress(std::string_view data, std::size_t max_output) {
  if (!looks_gzipped(data)) return core::fail(std::string("gzip: not a gzip stream"));
  z_stream zs{};
  // windowBits 15 + 32: zlib detects the gzip header itself.
  if (inflateInit2(&zs, 15 + 32) != Z_OK) return core::fail(std::string("gzip: cannot initialise inflate"));
  std::string out;
  std::size_t produced = 0;
  auto failed = [&](const char* why) {
    inflateEnd(&zs);
    return core::fail(std::string("gzip: ") + why);
  };
  for (;;) {
    if (zs.avail_in == 0 && !data.empty()) {
      std::size_t slice = std::min(data.size(), kZlibSlice);
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
      zs.avail_in = static_cast<uInt>(slice);
      data.remove_prefix(slice);
    }
    // One byte of room past the cap tells a stream that would exceed it.
    std::size_t left = max_output - produced;
    std::size_t want = left >= kInflateChunk ? kInflateChunk : left + 1;
    if (out.size() < produced + want) out.resize(produced + want);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = static_cast<uInt>(want);
    int rc = inflate(&zs, Z_NO_FLUSH);
    produced += want - zs.avail_out;
    if (produced > max_output) return failed("output exceeds the limit");
    if (rc == Z_STREAM_END) {
      // RFC 1952 §2.2: a file is a series of members; another may follow.
      if (zs.avail_in == 0 && data.empty()) break;
      std::string_view rest(reinterpret_cast<const char*>(zs.next_in), zs.avail_in);
      if (!looks_gzipped(rest.empty() ? data : rest)) return failed("trailing data after the stream");
      if (inflateReset(&zs) != Z_OK) return failed("inflate failed");
      continue;
    }
    if (rc == Z_NEED_DICT || rc == Z_DATA_ERROR) return failed("corrupt stream");
    if (rc == Z_MEM_ERROR) return failed("out of memory");
    if (rc == Z_BUF_ERROR && zs.avail_in == 0 && data.empty()) return failed("truncated stream");
    if (rc != Z_OK && rc != Z_BUF_ERROR) return failed("inflate failed");
  }
  inflateEnd(&zs);
  out.resize(produced);
  return out;
}

bool looks_gzipped(std::string_view data) {
  // RFC 1952 §2.3.1: ID1 ID2 and CM = 8 (deflate).
  return data.size() >= 3 && static_cast<unsigned char>(data[0]) == 0x1f &&
         static_cast<unsigned char>(data[1]) == 0x8b && data[2] == 8;
}

core::Result<std::string> openssl_enc_encrypt(std::string_view plaintext, std::string_view password,
                                              KeyDerivation kdf, std::optional<Salt> salt) {
  if (password.size() > INT_MAX) return core::fail(std::string("aes: password too long"));
  Salt s{};
  if (salt) {
    s = *salt;
  } else if (RAND_bytes(s.data(), static_cast<int>(s.size())) != 1) {
    return core::fail(std::string("aes: no random salt"));
  }
  KeyMaterial km;
  if (!derive(password, s, kdf, km)) return core::fail(std::string("aes: key derivation failed"));
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_cbc(), nullptr, km.key(), km.iv()) != 1) {
    return core::fail(std::string("aes: cannot initialise the cipher"));
  }
  std::string out;
  // PKCS#7 always adds 1..16 bytes.
  out.resize(kHeaderBytes + (plaintext.size() / kBlockBytes + 1) * kBlockBytes);
  std::memcpy(out.data(), kMagic.data(), kMagic.size());
  std::memcpy(out.data() + kMagic.size(), s.data(), s.size());
  if (!run_cipher(ctx.get(), plaintext, out, kHeaderBytes)) return core::fail(std::string("aes: encryption failed"));
  return out;
}

core::Result<std::string> openssl_enc_decrypt(std::string_view ciphertext, std::string_view password,
                                              KeyDerivation kdf) {
  if (password.size() > INT_MAX) return core::fail(std::string("aes: password too long"));
  if (ciphertext.size() < kMagic.size() || ciphertext.substr(0, kMagic.size()) != kMagic) {
    return core::fail(std::string("aes: no \"Salted__\" header"));
  }
  if (ciphertext.size() < kHeaderBytes + kBlockBytes) return core::fail(std::string("aes: input too short"));
  std::string_view body = ciphertext.substr(kHeaderBytes);
  if (body.size() % kBlockBytes != 0) return core::fail(std::string("aes: input is not whole blocks"));
  Salt s{};
  std::memcpy(s.data(), ciphertext.data() + kMagic.size(), s.size());
  KeyMaterial km;
  if (!derive(password, s, kdf, km)) return core::fail(std::string("aes: key derivation failed"));
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_cbc(), nullptr, km.key(), km.iv()) != 1) {
    return core::fail(std::string("aes: cannot initialise the cipher"));
  }
  std::string out;
  out.resize(body.size() + kBlockBytes);
  if (!run_cipher(ctx.get(), body, out, 0)) {
    OPENSSL_cleanse(out.data(), out.size());
    return core::fail(std::string("aes: bad decrypt (wrong key or corrupt data)"));
  }
  return out;
}

bool looks_openssl_encrypted(std::string_view data) {
  return data.size() >= kHeaderBytes + kBlockBytes && data.substr(0, kMagic.size()) == kMagic;
}

}  // namespace ucedge::prov
