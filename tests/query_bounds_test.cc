// Queries about one account read only that account's keys (issue 9: "queries must not load
// whole column families to answer about one key"), and answer what a full scan answered.
#include <gtest/gtest.h>

#include <tuple>

#include <fmt/format.h>
#include <rocksdb/perf_context.h>
#include <rocksdb/perf_level.h>

#include "events/codec.h"
#include "events/embedded_log.h"
#include "projections/fold.h"
#include "projections/queries.h"
#include "test_util.h"
#include "tools/generator.h"

namespace payledger::testing {
namespace {

using projections::BalanceRow;
using projections::Store;
using projections::Stores;

// 200 merchants m0..m199, one authorisation each, folded into one store.
struct Books {
  TempDir dir;
  std::unique_ptr<Store> store;
  Books() {
    events::EmbeddedLogOptions o;
    o.partitions = 4;
    o.sync = false;
    auto log = events::EmbeddedLog::open(dir.path() + "/log", o).value();
    std::vector<events::AppendRecord> records;
    for (int m = 0; m < 200; ++m) {
      v1::Envelope e = card_authorised(fmt::format("e{}", m), fmt::format("p{}", m), "10.00");
      e.set_merchant_id(fmt::format("m{}", m));
      records.push_back(events::event_record(e));
    }
    EXPECT_TRUE(log->append(records).ok());
    store = Store::open(dir.path() + "/projections", false).value();
    projections::FoldOptions fo;
    fo.sync = false;
    // Not flushed: the keys stay in the memtable, where RocksDB counts every step of an
    // iterator (next_on_memtable_count).
    EXPECT_TRUE(projections::fold(*store, *log, fo).ok());
  }
};

// Keys the iterators of `query` stepped over (in memtables).
template <typename F>
uint64_t iterated_keys(F&& query) {
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
  rocksdb::get_perf_context()->Reset();
  query();
  uint64_t bytes = rocksdb::get_perf_context()->next_on_memtable_count;
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  return bytes;
}

TEST(QueryBounds, OneAccountsBalanceReadsOnlyItsKeys) {
  Books books;
  std::vector<BalanceRow> all, one;
  uint64_t all_keys = iterated_keys([&] { all = projections::list_balances(*books.store, "").value(); });
  uint64_t one_keys = iterated_keys(
      [&] { one = projections::list_balances(*books.store, "merchant:m17:").value(); });
  // The same rows a full scan gives for that prefix.
  std::vector<BalanceRow> want;
  for (const auto& r : all) {
    if (r.account.starts_with("merchant:m17:")) want.push_back(r);
  }
  ASSERT_FALSE(want.empty());
  ASSERT_EQ(one.size(), want.size());
  for (size_t i = 0; i < one.size(); ++i) {
    EXPECT_EQ(one[i].account, want[i].account);
    EXPECT_EQ(one[i].asset, want[i].asset);
    EXPECT_TRUE(one[i].balance.pending_debit == want[i].balance.pending_debit);
    EXPECT_TRUE(one[i].balance.pending_credit == want[i].balance.pending_credit);
  }
  // One merchant of 200 (and "merchant:m17:" is no prefix of m170..m179): far under a tenth of
  // the keys of the whole column family (the offsets in `meta` are read by both). A full scan
  // steps over them all.
  EXPECT_GT(all_keys, 0u);
  EXPECT_LT(one_keys * 10, all_keys) << "one account stepped over " << one_keys << " of "
                                     << all_keys << " keys";
}

TEST(QueryBounds, APrefixMatchingNothingReadsNothing) {
  Books books;
  std::vector<BalanceRow> rows;
  uint64_t all_keys = iterated_keys([&] { projections::list_balances(*books.store, "").value(); });
  uint64_t none_keys = iterated_keys(
      [&] { rows = projections::list_balances(*books.store, "merchant:nobody:").value(); });
  EXPECT_TRUE(rows.empty());
  // Only the partition offsets in `meta` (4 partitions, a step past each).
  EXPECT_LE(none_keys, 8u) << "of " << all_keys;
}

// A page of a statement is the first lines of the whole statement, in (asset, partition,
// offset) order, and the total counts every line, for accounts spanning partitions and assets.
TEST(QueryBounds, AStatementPageIsTheStartOfTheWholeStatement) {
  TempDir dir;
  events::EmbeddedLogOptions o;
  o.partitions = 4;
  o.sync = false;
  auto log = events::EmbeddedLog::open(dir.path() + "/log", o).value();
  tools::Generator gen({6000, 11, 30, ""});
  std::vector<events::AppendRecord> records;
  v1::Envelope e;
  while (gen.next(&e)) records.push_back(events::event_record(e));
  ASSERT_TRUE(log->append(records).ok());
  auto store = Store::open(dir.path() + "/projections", false).value();
  projections::FoldOptions fo;
  fo.sync = false;
  fo.batch_events_max = 500;  // many chunks per account
  ASSERT_TRUE(projections::fold(*store, *log, fo).ok());
  size_t multi_asset = 0;
  for (std::string account : {"psp:bank:operating", "psp:revenue:fees", "merchant:m00003-BH:payable"}) {
    size_t all_total = 0, page_total = 0;
    auto all = projections::statement(Stores{store.get()}, account, 0, &all_total).value();
    auto page = projections::statement(Stores{store.get()}, account, 37, &page_total).value();
    ASSERT_GT(all.size(), 37u) << account;
    EXPECT_EQ(all_total, all.size()) << account;
    EXPECT_EQ(page_total, all.size()) << account;
    ASSERT_EQ(page.size(), 37u) << account;
    for (size_t i = 0; i < page.size(); ++i) {
      EXPECT_EQ(page[i].asset, all[i].asset) << account << " line " << i;
      EXPECT_EQ(page[i].partition, all[i].partition) << account << " line " << i;
      EXPECT_EQ(page[i].line.offset, all[i].line.offset) << account << " line " << i;
      EXPECT_EQ(page[i].line.event_id, all[i].line.event_id) << account << " line " << i;
    }
    for (size_t i = 1; i < all.size(); ++i) {
      EXPECT_LE(std::tie(all[i - 1].asset, all[i - 1].partition, all[i - 1].line.offset),
                std::tie(all[i].asset, all[i].partition, all[i].line.offset))
          << account << " line " << i;
    }
    if (all.front().asset != all.back().asset) ++multi_asset;
  }
  EXPECT_GT(multi_asset, 0u) << "no account spans assets: the test proves less than it says";
}

}  // namespace
}  // namespace payledger::testing
