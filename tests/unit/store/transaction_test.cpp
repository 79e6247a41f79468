// Store::transaction(): commit, rollback and misuse, on both backends.
#include <stdexcept>

#include "backend_fixture.hpp"

namespace ucedge::store {
namespace {

using testing::BackendTest;
using Kind = StoreError::Kind;

class TransactionTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    ASSERT_STORE_OK(store_->exec("CREATE TABLE items (id BIGINT PRIMARY KEY, name TEXT NOT NULL)"));
  }

  std::int64_t count_items() {
    auto rows = store_->query("SELECT COUNT(*) FROM items");
    EXPECT_TRUE(rows) << rows.error().to_string();
    return rows ? *(*rows)[0].get<std::int64_t>(0) : -1;
  }

  static core::Result<void, StoreError> insert(Transaction& txn, std::int64_t id) {
    auto n = txn.exec("INSERT INTO items (id, name) VALUES (?, ?)", {id, "item " + std::to_string(id)});
    if (!n) return core::fail(n.error());
    return {};
  }
};

TEST_P(TransactionTest, CommitsWhenTheBodySucceeds) {
  auto done = store_->transaction([](Transaction& txn) -> core::Result<void, StoreError> {
    if (auto r = insert(txn, 1); !r) return r;
    if (auto r = insert(txn, 2); !r) return r;
    // The transaction sees its own writes.
    auto rows = txn.query("SELECT COUNT(*) FROM items");
    if (!rows) return core::fail(rows.error());
    EXPECT_EQ(*(*rows)[0].get<std::int64_t>(0), 2);
    return {};
  });
  ASSERT_STORE_OK(done);
  EXPECT_EQ(count_items(), 2);
}

TEST_P(TransactionTest, RollsBackWhenTheBodyReturnsAnError) {
  auto done = store_->transaction([](Transaction& txn) -> core::Result<void, StoreError> {
    if (auto r = insert(txn, 1); !r) return r;
    return core::fail(StoreError{Kind::not_found, "changed my mind"});
  });
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().kind, Kind::not_found);
  EXPECT_EQ(done.error().message, "changed my mind");
  EXPECT_EQ(count_items(), 0);
}

TEST_P(TransactionTest, RollsBackWhenTheBodyThrows) {
  auto done = store_->transaction([](Transaction& txn) -> core::Result<void, StoreError> {
    if (auto r = insert(txn, 1); !r) return r;
    throw std::runtime_error("boom");
  });
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().kind, Kind::internal);
  EXPECT_NE(done.error().message.find("boom"), std::string::npos);
  EXPECT_EQ(count_items(), 0);
  // The Store is still usable afterwards.
  ASSERT_STORE_OK(store_->transaction([](Transaction& txn) { return insert(txn, 3); }));
  EXPECT_EQ(count_items(), 1);
}

TEST_P(TransactionTest, ConstraintViolationIsKindConstraintAndRollsBack) {
  auto done = store_->transaction([](Transaction& txn) -> core::Result<void, StoreError> {
    if (auto r = insert(txn, 1); !r) return r;
    return insert(txn, 1);
  });
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().kind, Kind::constraint) << done.error().to_string();
  EXPECT_EQ(count_items(), 0);
}

TEST_P(TransactionTest, AFailedStatementDoomsTheTransaction) {
  ASSERT_STORE_OK(store_->exec("INSERT INTO items (id, name) VALUES (1, 'one')"));
  StoreError second{};
  auto done = store_->transaction([&](Transaction& txn) -> core::Result<void, StoreError> {
    (void)insert(txn, 1);  // fails, and the body (wrongly) carries on
    auto after = insert(txn, 2);
    if (!after) second = after.error();
    return {};
  });
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().kind, Kind::constraint);
  EXPECT_EQ(second.kind, Kind::invalid);
  EXPECT_EQ(count_items(), 1);
}

TEST_P(TransactionTest, UsingTheStoreInsideItsTransactionIsRefused) {
  auto done = store_->transaction([&](Transaction&) -> core::Result<void, StoreError> {
    auto direct = store_->exec("INSERT INTO items (id, name) VALUES (5, 'five')");
    EXPECT_FALSE(direct);
    if (!direct) {
      EXPECT_EQ(direct.error().kind, Kind::invalid);
    }
    auto nested = store_->transaction([](Transaction&) -> core::Result<void, StoreError> { return {}; });
    EXPECT_FALSE(nested);
    if (!nested) {
      EXPECT_EQ(nested.error().kind, Kind::invalid);
    }
    return {};
  });
  ASSERT_STORE_OK(done);
  EXPECT_EQ(count_items(), 0);
}

TEST_P(TransactionTest, ScriptsRunSeveralStatements) {
  ASSERT_STORE_OK(store_->transaction([](Transaction& txn) {
    return txn.exec_script(
        "INSERT INTO items (id, name) VALUES (10, 'ten');"
        "INSERT INTO items (id, name) VALUES (11, 'eleven');");
  }));
  EXPECT_EQ(count_items(), 2);
}

INSTANTIATE_TEST_SUITE_P(Backends, TransactionTest,
                         ::testing::Values(Backend::sqlite, Backend::postgres), testing::backend_label);

}  // namespace
}  // namespace ucedge::store
