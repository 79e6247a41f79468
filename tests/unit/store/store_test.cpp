// Statements, values and errors, the same on both backends.
#include <cmath>
#include <limits>

#include "backend_fixture.hpp"
#include "store/migrations.hpp"

namespace ucedge::store {
namespace {

using testing::BackendTest;
using Kind = StoreError::Kind;

class StoreTest : public BackendTest {};

TEST_P(StoreTest, ReportsItsBackendAndPings) {
  EXPECT_EQ(store_->backend(), GetParam());
  EXPECT_EQ(store_->backend_name(), backend_name(GetParam()));
  ASSERT_STORE_OK(store_->ping());
}

TEST_P(StoreTest, QuestionMarksInsideQuotesAreNotPlaceholders) {
  auto rows = store_->query("SELECT '?' AS q, ? AS v, 'it''s ?' AS w -- trailing ?\n",
                            {std::string("x")});
  ASSERT_STORE_OK(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(*(*rows)[0].get<std::string>("q"), "?");
  EXPECT_EQ(*(*rows)[0].get<std::string>("v"), "x");
  EXPECT_EQ(*(*rows)[0].get<std::string>("w"), "it's ?");
}

TEST_P(StoreTest, ParametersComeBackWithTheirTypes) {
  const double inf = std::numeric_limits<double>::infinity();
  auto rows = store_->query("SELECT ? AS i, ? AS d, ? AS t, ? AS b, ? AS n, ? AS big, ? AS inf",
                            {std::int64_t{-5}, 2.25, std::string("text"), Blob::from(std::string("\0x", 2)),
                             std::monostate{}, std::numeric_limits<std::int64_t>::max(), inf});
  ASSERT_STORE_OK(rows);
  const Row& row = (*rows)[0];
  EXPECT_EQ(*row.get<std::int64_t>("i"), -5);
  EXPECT_EQ(*row.get<double>("d"), 2.25);
  EXPECT_EQ(*row.get<std::string>("t"), "text");
  EXPECT_EQ(*row.get<Blob>("b"), Blob::from(std::string("\0x", 2)));
  EXPECT_FALSE(row.get_optional<std::string>("n")->has_value());
  EXPECT_EQ(*row.get<std::int64_t>("big"), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(*row.get<double>("inf"), inf);
}

TEST_P(StoreTest, EveryValueTypeRoundTripsThroughATable) {
  ASSERT_STORE_OK(store_->exec(dialect_sql(
      "CREATE TABLE vals (id BIGINT PRIMARY KEY, i BIGINT, d DOUBLE PRECISION, t TEXT, b {blob})",
      GetParam())));

  struct Case {
    Value i, d, t, b;
  };
  const std::string nul_bytes("\0\0a\0\xff\x01", 6);
  const std::vector<Case> cases{
      {std::monostate{}, std::monostate{}, std::monostate{}, std::monostate{}},
      {std::numeric_limits<std::int64_t>::min(), 0.1, std::string(""), Blob{}},
      {std::numeric_limits<std::int64_t>::max(), -1e-300, std::string("héllo wörld ✓ 日本 🎉"),
       Blob::from(nul_bytes)},
      {std::int64_t{0}, 1.7976931348623157e308, std::string("it's \"quoted\" ? \\ back\\slash; --"),
       Blob{std::vector<std::uint8_t>(256)}},
      {std::int64_t{-1}, 3.141592653589793, std::string("line\nbreak\ttab"), Blob::from("\xff")},
  };
  for (std::size_t n = 0; n < cases.size(); ++n) {
    const Case& c = cases[n];
    ASSERT_STORE_OK(store_->exec("INSERT INTO vals (id, i, d, t, b) VALUES (?, ?, ?, ?, ?)",
                                 {static_cast<std::int64_t>(n), c.i, c.d, c.t, c.b}));
  }
  auto rows = store_->query("SELECT id, i, d, t, b FROM vals ORDER BY id");
  ASSERT_STORE_OK(rows);
  ASSERT_EQ(rows->size(), cases.size());
  for (std::size_t n = 0; n < cases.size(); ++n) {
    const Row& row = (*rows)[n];
    SCOPED_TRACE("case " + std::to_string(n));
    EXPECT_EQ(*row.get<std::int64_t>("id"), static_cast<std::int64_t>(n));
    EXPECT_EQ(row.values()[1], cases[n].i);
    EXPECT_EQ(row.values()[2], cases[n].d);
    EXPECT_EQ(row.values()[3], cases[n].t);
    EXPECT_EQ(row.values()[4], cases[n].b);
  }
}

TEST_P(StoreTest, ExecCountsAffectedRows) {
  ASSERT_STORE_OK(store_->exec("CREATE TABLE things (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)"));
  auto inserted = store_->exec("INSERT INTO things (id, n) VALUES (1, 0), (2, 0), (3, 0)");
  ASSERT_STORE_OK(inserted);
  EXPECT_EQ(*inserted, 3);
  auto updated = store_->exec("UPDATE things SET n = n + 1 WHERE id >= ?", {std::int64_t{2}});
  ASSERT_STORE_OK(updated);
  EXPECT_EQ(*updated, 2);
  auto none = store_->exec("DELETE FROM things WHERE id = ?", {std::int64_t{42}});
  ASSERT_STORE_OK(none);
  EXPECT_EQ(*none, 0);
  auto created = store_->exec("CREATE TABLE more (id BIGINT)");
  ASSERT_STORE_OK(created);
  EXPECT_EQ(*created, 0);
}

TEST_P(StoreTest, QueryCanWriteWithReturning) {
  ASSERT_STORE_OK(store_->exec("CREATE TABLE things (id BIGINT PRIMARY KEY, name TEXT NOT NULL)"));
  auto rows = store_->query("INSERT INTO things (id, name) VALUES (?, ?) RETURNING id, name",
                            {std::int64_t{9}, std::string("nine")});
  ASSERT_STORE_OK(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(*(*rows)[0].get<std::string>("name"), "nine");
  auto count = store_->query("SELECT COUNT(*) FROM things");
  ASSERT_STORE_OK(count);
  EXPECT_EQ(*(*count)[0].get<std::int64_t>(0), 1);
}

TEST_P(StoreTest, ConstraintViolationsAreKindConstraint) {
  ASSERT_STORE_OK(store_->exec("CREATE TABLE users (name TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE)"));
  ASSERT_STORE_OK(store_->exec("INSERT INTO users (name, email) VALUES (?, ?)",
                               {std::string("ann"), std::string("ann@example.com")}));
  auto same_key = store_->exec("INSERT INTO users (name, email) VALUES (?, ?)",
                               {std::string("ann"), std::string("other@example.com")});
  ASSERT_FALSE(same_key);
  EXPECT_EQ(same_key.error().kind, Kind::constraint) << same_key.error().to_string();
  auto same_email = store_->exec("INSERT INTO users (name, email) VALUES (?, ?)",
                                 {std::string("bob"), std::string("ann@example.com")});
  ASSERT_FALSE(same_email);
  EXPECT_EQ(same_email.error().kind, Kind::constraint);
  auto no_email = store_->exec("INSERT INTO users (name, email) VALUES (?, ?)",
                               {std::string("cy"), std::monostate{}});
  ASSERT_FALSE(no_email);
  EXPECT_EQ(no_email.error().kind, Kind::constraint);
}

TEST_P(StoreTest, ForeignKeysAreEnforced) {
  ASSERT_STORE_OK(store_->exec("CREATE TABLE parents (id BIGINT PRIMARY KEY)"));
  ASSERT_STORE_OK(store_->exec(
      "CREATE TABLE children (id BIGINT PRIMARY KEY, parent BIGINT NOT NULL REFERENCES parents (id))"));
  auto orphan = store_->exec("INSERT INTO children (id, parent) VALUES (1, 99)");
  ASSERT_FALSE(orphan);
  EXPECT_EQ(orphan.error().kind, Kind::constraint) << orphan.error().to_string();
}

TEST_P(StoreTest, UpsertIsPortable) {
  ASSERT_STORE_OK(store_->exec("CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT NOT NULL)"));
  const std::string upsert =
      "INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v";
  ASSERT_STORE_OK(store_->exec(upsert, {std::string("a"), std::string("1")}));
  ASSERT_STORE_OK(store_->exec(upsert, {std::string("a"), std::string("2")}));
  auto rows = store_->query("SELECT v FROM kv WHERE k = ?", {std::string("a")});
  ASSERT_STORE_OK(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(*(*rows)[0].get<std::string>(0), "2");
}

TEST_P(StoreTest, BadStatementsAreKindInvalid) {
  auto syntax = store_->query("SELEC 1");
  ASSERT_FALSE(syntax);
  EXPECT_EQ(syntax.error().kind, Kind::invalid) << syntax.error().to_string();

  auto no_table = store_->exec("DELETE FROM no_such_table");
  ASSERT_FALSE(no_table);
  EXPECT_EQ(no_table.error().kind, Kind::invalid) << no_table.error().to_string();

  auto too_few = store_->query("SELECT ?, ?", {std::int64_t{1}});
  ASSERT_FALSE(too_few);
  EXPECT_EQ(too_few.error().kind, Kind::invalid);

  auto too_many = store_->exec("CREATE TABLE t (a BIGINT)", {std::int64_t{1}});
  ASSERT_FALSE(too_many);
  EXPECT_EQ(too_many.error().kind, Kind::invalid);

  auto nul_text = store_->query("SELECT ?", {std::string("a\0b", 3)});
  ASSERT_FALSE(nul_text);
  EXPECT_EQ(nul_text.error().kind, Kind::invalid);

  auto two = store_->exec("CREATE TABLE t1 (a BIGINT); CREATE TABLE t2 (a BIGINT)");
  ASSERT_FALSE(two);
  EXPECT_EQ(two.error().kind, Kind::invalid) << two.error().to_string();
}

TEST_P(StoreTest, TrailingSemicolonAndCommentsAreOneStatement) {
  ASSERT_STORE_OK(store_->exec("CREATE TABLE c (a BIGINT); -- done\n"));
  ASSERT_STORE_OK(store_->exec("INSERT INTO c (a) VALUES (?); /* one row */", {std::int64_t{1}}));
  auto rows = store_->query("SELECT a FROM c;");
  ASSERT_STORE_OK(rows);
  EXPECT_EQ(rows->size(), 1u);
}

TEST_P(StoreTest, StoreErrorsNameTheirKind) {
  auto syntax = store_->query("SELEC 1");
  ASSERT_FALSE(syntax);
  EXPECT_EQ(syntax.error().to_string().rfind("invalid: ", 0), 0u) << syntax.error().to_string();
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values(Backend::sqlite, Backend::postgres),
                         testing::backend_label);

}  // namespace
}  // namespace ucedge::store
