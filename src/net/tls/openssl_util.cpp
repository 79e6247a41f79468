#include "net/tls/openssl_util.hpp"

#include <openssl/err.h>
#include <arpa/inet.h>
#include <openssl/pem.h>

#include <array>
#include <cctype>
#include <ctime>
#include <fstream>
#include <sstream>

namespace ucedge::net::tls::detail {

namespace {

std::string hex(const unsigned char* data, std::size_t size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 0x0f];
  }
  return out;
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

// Keys are never read encrypted: without this, OpenSSL would prompt for a
// passphrase on the terminal.
int no_passphrase(char*, int, int, void*) { return 0; }

BioPtr memory_bio(std::string_view text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string ip_text(const ASN1_OCTET_STRING* ip) {
  const unsigned char* bytes = ASN1_STRING_get0_data(ip);
  int size = ASN1_STRING_length(ip);
  char text[INET6_ADDRSTRLEN] = "?";
  if (size == 4) ::inet_ntop(AF_INET, bytes, text, sizeof text);
  if (size == 16) ::inet_ntop(AF_INET6, bytes, text, sizeof text);
  return text;
}

std::string asn1_text(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<std::size_t>(ASN1_STRING_length(s)));
}

}  // namespace

std::string openssl_errors() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    // Keep the reason ("...:reason"), the part a person can act on.
    std::string_view text(buf);
    if (auto colon = text.rfind(':'); colon != std::string_view::npos) text.remove_prefix(colon + 1);
    if (!out.empty()) out += "; ";
    out += text;
  }
  return out;
}

void clear_openssl_errors() { ERR_clear_error(); }

core::Result<std::string, std::string> read_text_file(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    return core::fail(file.string() + ": no such file");
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return core::fail(file.string() + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return core::fail(file.string() + ": read error");
  return text.str();
}

core::Result<std::vector<X509Ptr>, std::string> certificates_from_pem(std::string_view pem) {
  clear_openssl_errors();
  BioPtr bio = memory_bio(pem);
  std::vector<X509Ptr> out;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr)) {
    out.emplace_back(cert);
  }
  // The loop ends with "no start line" once the text is used up: not an error.
  unsigned long last = ERR_peek_last_error();
  if (ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE) {
    clear_openssl_errors();
  }
  std::string errors = openssl_errors();
  if (!errors.empty()) return core::fail("not a PEM certificate (" + errors + ")");
  if (out.empty()) return core::fail(std::string("holds no PEM certificate"));
  return out;
}

core::Result<EvpPkeyPtr, std::string> private_key_from_pem(std::string_view pem) {
  clear_openssl_errors();
  BioPtr bio = memory_bio(pem);
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  if (!key) return core::fail("not a PEM private key (" + openssl_errors() + ")");
  return key;
}

std::string to_pem(X509* certificate) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), certificate);
  return bio_text(bio.get());
}

std::string to_pem(EVP_PKEY* private_key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), private_key, nullptr, nullptr, 0, nullptr, nullptr);
  return bio_text(bio.get());
}

std::string one_line(const X509_NAME* name) {
  if (name == nullptr) return {};
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  return bio_text(bio.get());
}

std::string name_entry(const X509_NAME* name, int nid) {
  if (name == nullptr) return {};
  int index = X509_NAME_get_index_by_NID(name, nid, -1);
  if (index < 0) return {};
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  int size = ASN1_STRING_to_UTF8(&utf8, data);
  if (size < 0) return {};
  std::string out(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(size));
  OPENSSL_free(utf8);
  return out;
}

std::string sha256_fingerprint(const X509* certificate) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (X509_digest(certificate, EVP_sha256(), digest.data(), &size) != 1) return {};
  return hex(digest.data(), size);
}

std::string serial_hex(const X509* certificate) {
  BignumPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(certificate), nullptr));
  if (!bn) return {};
  char* text = BN_bn2hex(bn.get());
  std::string out(text);
  OPENSSL_free(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string iso8601(const ASN1_TIME* time) {
  std::tm tm{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) return {};
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::vector<std::string> subject_alt_names(X509* certificate) {
  std::vector<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    switch (name->type) {
      case GEN_DNS: out.push_back("DNS:" + asn1_text(name->d.dNSName)); break;
      case GEN_IPADD: out.push_back("IP:" + ip_text(name->d.iPAddress)); break;
      case GEN_URI: out.push_back("URI:" + asn1_text(name->d.uniformResourceIdentifier)); break;
      case GEN_EMAIL: out.push_back("email:" + asn1_text(name->d.rfc822Name)); break;
      default: out.emplace_back("other"); break;
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

std::vector<std::string> extended_key_usages(X509* certificate) {
  std::vector<std::string> out;
  auto* usages = static_cast<EXTENDED_KEY_USAGE*>(
      X509_get_ext_d2i(certificate, NID_ext_key_usage, nullptr, nullptr));
  if (usages == nullptr) return out;
  for (int i = 0; i < sk_ASN1_OBJECT_num(usages); ++i) {
    char buf[128];
    if (OBJ_obj2txt(buf, sizeof buf, sk_ASN1_OBJECT_value(usages, i), 1) > 0) out.emplace_back(buf);
  }
  EXTENDED_KEY_USAGE_free(usages);
  return out;
}

std::string dotted_oid(std::string_view text) {
  std::string input(text);
  ASN1_OBJECT* object = OBJ_txt2obj(input.c_str(), 0);
  if (object == nullptr) {
    clear_openssl_errors();
    return {};
  }
  char buf[128];
  int size = OBJ_obj2txt(buf, sizeof buf, object, 1);
  ASN1_OBJECT_free(object);
  return size > 0 && static_cast<std::size_t>(size) < sizeof buf ? std::string(buf) : std::string();
}

}  // namespace ucedge::net::tls::detail
