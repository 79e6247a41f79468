// An independent check of our tokens with another JOSE implementation:
// Python's jwcrypto (Debian's python3-jwcrypto) verifies our JWS with the
// published JWKS, decrypts the inner JWE with the key the CLI exports for
// resource servers, and recomputes the key hashes; the other way round, we
// refuse what it signs with a key of its own and accept what it builds with
// ours. jwcrypto is a declared test dependency: without it this test fails.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "authz/jose/key_ring.hpp"
#include "core/clock.hpp"
#include "core/random_token.hpp"
#include "store/store.hpp"

namespace ucedge::authz {
namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;
using namespace std::chrono_literals;

constexpr const char* kPython = "/usr/bin/python3";

// argv[1] is the folder holding jwks.json, export.json, signing.pem,
// access.txt and refresh.txt; the answer is one JSON object on stdout.
constexpr std::string_view kScript = R"py(
import base64, hashlib, json, sys

try:
    from jwcrypto import jwe, jwk, jws
    from cryptography.hazmat.primitives import serialization
except ImportError as error:
    print("cannot import jwcrypto with %s: %s" % (sys.executable, error), file=sys.stderr)
    sys.exit(3)

folder = sys.argv[1]

def read(name):
    with open(folder + "/" + name) as f:
        return f.read().strip()

def b64decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

def b64encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

published = jwk.JWKSet.from_json(read("jwks.json"))
exported = jwk.JWKSet.from_json(read("export.json"))

def verify(token):
    # The kid picks the key from the published set, RS256 only.
    header_text = b64decode(token.split(".")[0]).decode()
    kid = json.loads(header_text)["kid"]
    key = published.get_key(kid)
    if key is None:
        raise SystemExit("the JWKS has no key " + kid)
    signed = jws.JWS()
    signed.deserialize(token)
    signed.verify(key, alg="RS256")
    return header_text, signed.payload

result = {}

header, payload = verify(read("access.txt"))
private = json.loads(payload)["private"]
encrypted = jwe.JWE()
encrypted.allowed_algs = ["dir", "A128CBC-HS256"]
encrypted.deserialize(private)
inner_header = b64decode(private.split(".")[0]).decode()
encryption_key = exported.get_key(json.loads(inner_header)["kid"])
if encryption_key is None:
    raise SystemExit("the export has no key for the JWE")
encrypted.decrypt(encryption_key)
result["access"] = {"jws_header": header, "payload_members": list(json.loads(payload)),
                    "jwe_header": inner_header, "claims": json.loads(encrypted.payload)}

header, payload = verify(read("refresh.txt"))
result["refresh"] = {"jws_header": header, "payload": payload.decode()}

# The hashes in the kids, recomputed: SHA-256 of the DER SubjectPublicKeyInfo
# for signing keys, of the raw key for the encryption key.
hashes = {}
for key in exported["keys"]:
    kid = key.key_id
    if key.key_type == "RSA":
        public = serialization.load_pem_public_key(key.export_to_pem())
        der = public.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
        hashes[kid] = hashlib.sha256(der).hexdigest()
    else:
        hashes[kid] = hashlib.sha256(b64decode(json.loads(key.export())["k"])).hexdigest()
result["hashes"] = hashes

# The other way round. A refresh token signed with a key of jwcrypto's own,
# under a kid of our form.
issuer = json.loads(result["refresh"]["payload"])["iss"]
refresh_payload = result["refresh"]["payload"]
foreign_key = jwk.JWK.generate(kty="RSA", size=2048)
foreign = jws.JWS(refresh_payload.encode())
foreign.add_signature(foreign_key, None, json.dumps({"alg": "RS256", "typ": "JWT", "kid": issuer + ":" + "0" * 64}))
result["foreign"] = foreign.serialize(compact=True)

# The same refresh token signed by jwcrypto with our key: RS256 is
# deterministic, so it must be our token byte for byte.
our_key = jwk.JWK.from_pem(read("signing.pem").encode())
again = jws.JWS(refresh_payload.encode())
again.add_signature(our_key, None, result["refresh"]["jws_header"])
result["resigned_refresh"] = again.serialize(compact=True)

# An access token built entirely by jwcrypto with our keys.
claims = {"iss": issuer, "sub": "bob@example.com", "client_id": "python-client", "scope": "a b",
          "jti": "jti-from-python", "typ": "user", "iat": 1700000000, "exp": 1700003600}
inner = jwe.JWE(json.dumps(claims).encode(),
                protected=json.dumps({"alg": "dir", "cty": "JWT", "enc": "A128CBC-HS256",
                                      "kid": encryption_key.key_id}))
inner.add_recipient(encryption_key)
outer = jws.JWS(json.dumps({"private": inner.serialize(compact=True)}).encode())
outer.add_signature(our_key, None, result["refresh"]["jws_header"])
result["python_access"] = outer.serialize(compact=True)

print(json.dumps(result))
)py";

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "ucedge-jose-interop-XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write_file(const fs::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

core::SecretBox test_box() {
  core::SecretBox::Key key{};
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(i * 11 + 1);
  return core::SecretBox(key);
}

TEST(JoseInterop, JwcryptoVerifiesDecryptsAndSignsLikeUs) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  ASSERT_EQ(::access(kPython, X_OK), 0) << kPython << " is missing; python3 and python3-jwcrypto are declared "
                                        << "test dependencies (deps/debian.txt)";

  // A key ring as the service runs it, with a rotation behind it so the JWKS
  // holds two signing keys and the kid has to pick one.
  auto opened = store::open_store(store::StoreConfig{}, dir.path());
  ASSERT_TRUE(opened) << opened.error().to_string();
  std::unique_ptr<store::Store> db = std::move(opened).value();
  core::SecretBox box = test_box();
  core::ManualClock clock;
  KeyRing ring(*db, box, KeyRingSettings{}, clock);
  ASSERT_TRUE(ring.open());
  ASSERT_TRUE(ring.regenerate(KeyUse::signing));
  ASSERT_TRUE(ring.regenerate(KeyUse::encryption));
  clock.advance(KeyRingSettings{}.publish_ahead);
  ASSERT_TRUE(ring.reload());
  auto keys = ring.keys();
  ASSERT_EQ(keys->verifying.size(), 2u);

  AccessClaims access;
  access.issuer = ring.issuer_id();
  access.subject = "alice@example.com";
  access.client_id = "jabber-mobile";
  access.scope = "openid profile";
  access.token_id = core::random_uuid();
  access.family_id = core::random_uuid();
  access.token_type = "user";
  access.issued_at = 1'700'000'000;
  access.expires_at = 1'700'003'600;
  RefreshClaims refresh;
  refresh.issuer = ring.issuer_id();
  refresh.token_id = core::random_uuid();
  refresh.client_id = "jabber-mobile";
  refresh.expires_at = 1'705'184'000;
  auto access_token = mint_access_token(*keys, access);
  auto refresh_token = mint_refresh_token(*keys, refresh);
  ASSERT_TRUE(access_token && refresh_token);

  write_file(dir.path() / "jwks.json", ring.jwks().dump());
  write_file(dir.path() / "export.json", ring.export_for_resource_servers().dump());
  write_file(dir.path() / "signing.pem", keys->signing->private_pem());
  write_file(dir.path() / "access.txt", *access_token);
  write_file(dir.path() / "refresh.txt", *refresh_token);
  write_file(dir.path() / "check.py", kScript);

  const fs::path out = dir.path() / "out.json", err = dir.path() / "err.txt";
  const std::string command = std::string(kPython) + " '" + (dir.path() / "check.py").string() + "' '" +
                              dir.path().string() + "' > '" + out.string() + "' 2> '" + err.string() + "'";
  const int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status)) << command;
  if (WEXITSTATUS(status) == 3) {
    FAIL() << "python3-jwcrypto is a declared test dependency (deps/debian.txt) and " << kPython
           << " cannot import it: " << read_file(err);
  }
  ASSERT_EQ(WEXITSTATUS(status), 0) << "jwcrypto refused our tokens:\n" << read_file(err);
  ordered_json result = ordered_json::parse(read_file(out), nullptr, false);
  ASSERT_TRUE(result.is_object()) << read_file(out);

  // What jwcrypto found in the access token.
  const ordered_json& a = result["access"];
  EXPECT_EQ(a["jws_header"], R"({"alg":"RS256","typ":"JWT","kid":")" + keys->signing->kid() + "\"}");
  EXPECT_EQ(a["payload_members"], ordered_json::array({"private"}));
  ordered_json jwe_header = ordered_json::parse(a["jwe_header"].get<std::string>());
  EXPECT_EQ(jwe_header, ordered_json::parse(R"({"alg":"dir","cty":"JWT","enc":"A128CBC-HS256","kid":")" +
                                            keys->encryption->kid() + "\"}"));
  const ordered_json& claims = a["claims"];
  EXPECT_EQ(claims["iss"], access.issuer);
  EXPECT_EQ(claims["sub"], access.subject);
  EXPECT_EQ(claims["client_id"], access.client_id);
  EXPECT_EQ(claims["scope"], access.scope);
  EXPECT_EQ(claims["jti"], access.token_id);
  EXPECT_EQ(claims["fid"], access.family_id);
  EXPECT_EQ(claims["typ"], access.token_type);
  EXPECT_EQ(claims["iat"], access.issued_at);
  EXPECT_EQ(claims["exp"], access.expires_at);
  EXPECT_EQ(claims.size(), 9u);

  // The refresh token, claims in seed 001's order.
  const ordered_json& r = result["refresh"];
  EXPECT_EQ(r["jws_header"], a["jws_header"]);
  EXPECT_EQ(r["payload"], R"({"exp":1705184000,"iss":")" + refresh.issuer + R"(","typ":"user","tid":")" +
                              refresh.token_id + R"(","ctyp":"refresh","ccid":"jabber-mobile"})");

  // Every kid's hash, recomputed independently.
  const ordered_json& hashes = result["hashes"];
  EXPECT_EQ(hashes.size(), 4u) << "two signing keys and two encryption keys exported";
  for (const auto& [kid, hash] : hashes.items()) {
    EXPECT_EQ(kid, ring.issuer_id() + ":" + hash.get<std::string>());
  }

  // jwcrypto's own key is unknown to us.
  auto foreign = read_refresh_token(*keys, result["foreign"].get<std::string>());
  ASSERT_FALSE(foreign);
  EXPECT_EQ(foreign.error(), TokenError::unknown_key);
  // Our key in jwcrypto's hands signs the very same bytes.
  EXPECT_EQ(result["resigned_refresh"], *refresh_token);
  // And an access token jwcrypto built with our keys reads.
  auto python_access = read_access_token(*keys, result["python_access"].get<std::string>());
  ASSERT_TRUE(python_access) << to_string(python_access.error());
  EXPECT_EQ(python_access->subject, "bob@example.com");
  EXPECT_EQ(python_access->client_id, "python-client");
  EXPECT_EQ(python_access->scope, "a b");
  EXPECT_EQ(python_access->token_id, "jti-from-python");
  EXPECT_EQ(python_access->family_id, "");
  EXPECT_EQ(python_access->issued_at, 1'700'000'000);
  EXPECT_EQ(python_access->expires_at, 1'700'003'600);
}

}  // namespace
}  // namespace ucedge::authz
