#include "app/config.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

using namespace ucedge;

TEST(AppConfig, EmbeddedDefaultIsEtcUcedgeToml) {
  std::ifstream in(std::string(UCEDGE_SOURCE_DIR) + "/etc/ucedge.toml");
  std::ostringstream text;
  text << in.rdbuf();
  EXPECT_EQ(app::embedded_default_config(), text.str());
}

TEST(AppConfig, EmbeddedDefaultParsesToTheDocumentedValues) {
  auto c = app::load_config("");
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->source, "(built-in defaults)");
  EXPECT_EQ(c->data_dir.filename(), "var");
  EXPECT_EQ(c->threads, 0);
  ASSERT_EQ(c->http.listeners.size(), 3u);
  EXPECT_EQ(c->http.listeners[0].address, "127.0.0.1:8080");
  EXPECT_EQ(c->http.listeners[1].address, "127.0.0.1:8443");
  EXPECT_TRUE(c->http.listeners[1].tls);
  EXPECT_EQ(c->http.listeners[2].name, "https_client_cert");
  EXPECT_EQ(c->store.backend, store::Backend::sqlite);
}

TEST(AppConfig, ReportsEveryErrorWithFileAndLine) {
  auto c = app::parse_config(
      "[server]\nthreads = -1\n\n[http]\nlisten = \"nowhere\"\nheader_timeout = \"10\"\n[nosuch]\nx = 1\n", "my.toml");
  ASSERT_FALSE(c.ok());
  std::string text = c.error().to_string();
  EXPECT_NE(text.find("my.toml:2:11: 'server.threads': -1 is outside 0..1024"), std::string::npos) << text;
  EXPECT_NE(text.find("my.toml:5:10: 'http.listen'"), std::string::npos) << text;
  EXPECT_NE(text.find("my.toml:6:18: 'http.header_timeout'"), std::string::npos) << text;
  EXPECT_NE(text.find("my.toml:7:2: 'nosuch': unknown key"), std::string::npos) << text;
  EXPECT_EQ(c.error().list().size(), 4u) << text;
}

TEST(AppConfig, EmptyListenTurnsAListenerOff) {
  auto c = app::parse_config("[http]\nlisten_tls = \"\"\nlisten_client_cert = \"\"\n", "t.toml");
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  ASSERT_EQ(c->http.listeners.size(), 1u);
  EXPECT_EQ(c->http.listeners[0].name, "http");
}

TEST(AppConfig, ProvDefaultsAreThePortsOfTheEmbeddedDefault) {
  auto c = app::load_config("");
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_TRUE(c->prov.enabled);
  EXPECT_EQ(c->prov.url_prefix, "/prov");
  EXPECT_EQ(c->prov.tftp_listen, "127.0.0.1:6969");
  EXPECT_EQ(c->prov.syslog_listen, "127.0.0.1:5514");
  EXPECT_EQ(c->prov.sip_listen, "127.0.0.1:5070");
  EXPECT_EQ(c->prov.activation_code_lifetime, std::chrono::hours(24 * 7));
  EXPECT_TRUE(c->prov.models.empty());
}

TEST(AppConfig, ProvModelsTagsAndErrors) {
  auto good = app::parse_config(
      "[prov.tags]\nXSI_ROOT_WXT = \"https://xsp\"\n[prov.models.\"CP-7841-3PCC\"]\ngzip = true\nencrypt = true\n"
      "key_derivation = \"pbkdf2\"\n",
      "p.toml");
  ASSERT_TRUE(good.ok()) << good.error().to_string();
  EXPECT_EQ(good->prov.tags.at("XSI_ROOT_WXT"), "https://xsp");
  const auto& m = good->prov.models.at("CP-7841-3PCC");
  EXPECT_TRUE(m.gzip && m.encrypt);
  EXPECT_EQ(m.key_derivation, "pbkdf2");

  auto bad = app::parse_config(
      "[prov]\nurl_prefix = \"prov/\"\n[prov.tftp]\nlisten = \"6969\"\n[prov.models.X]\nkey_derivation = \"sha1\"\n"
      "zip = true\n",
      "p.toml");
  ASSERT_FALSE(bad.ok());
  std::string text = bad.error().to_string();
  EXPECT_NE(text.find("p.toml:2:14: 'prov.url_prefix'"), std::string::npos) << text;
  EXPECT_NE(text.find("p.toml:4:10: 'prov.tftp.listen'"), std::string::npos) << text;
  EXPECT_NE(text.find("p.toml:6:18: 'prov.models.X.key_derivation'"), std::string::npos) << text;
  EXPECT_NE(text.find("p.toml:7:1: 'prov.models.X.zip': unknown key"), std::string::npos) << text;
}
