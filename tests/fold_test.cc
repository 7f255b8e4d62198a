#include <gtest/gtest.h>

#include "events/codec.h"
#include "events/embedded_log.h"
#include "projections/fold.h"
#include "projections/queries.h"
#include "testlib.h"
#include "tools/generator.h"

namespace payledger::testing {
namespace {

using projections::FoldOptions;
using projections::Store;

std::string balances_of(Store& store, const std::string& prefix) {
  std::string out;
  for (const auto& r : projections::list_balances(store, prefix).value()) {
    out += r.account + "/" + r.asset + "=" + projections::encode_balance(r.balance) + ";";
  }
  return out;
}

TEST(Fold, GeneratedStreamLeavesATrialBalanceOfZeroPerAsset) {
  Books books;
  books.append(generated(20000));
  auto stats = books.fold();
  EXPECT_EQ(stats.records, 20000u);
  EXPECT_EQ(stats.applied, 20000u);
  EXPECT_EQ(stats.rejected, 0u);
  auto tb = projections::trial_balance(books.store()).value();
  EXPECT_TRUE(tb.balanced());
  EXPECT_GE(tb.assets.size(), 6u);  // several currencies incl. JPY and BHD
  for (const auto& row : tb.assets) {
    EXPECT_EQ(row.debit, row.credit) << row.asset;
    EXPECT_GT(row.debit, ledger::Int128(0)) << row.asset;
  }
}

TEST(Fold, AppendingTheSameEventsTwiceChangesNothing) {
  auto events = generated(5000);
  Books once, twice;
  once.append(events);
  once.fold();
  twice.append(events);
  twice.append(events);
  auto stats = twice.fold();
  EXPECT_EQ(stats.duplicates, 5000u);
  EXPECT_EQ(stats.applied, 5000u);
  EXPECT_EQ(once.digest(), twice.digest());
}

TEST(Fold, DuplicatesAreRecognisedAfterARestart) {
  auto events = generated(3000);
  Books books;
  books.append(events);
  books.fold();
  std::string digest = books.digest();
  books.reopen_store();  // a new fold process: the dedupe index comes from the store
  books.append(events);
  auto stats = books.fold();
  EXPECT_EQ(stats.duplicates, 3000u);
  EXPECT_EQ(stats.applied, 0u);
  EXPECT_EQ(books.digest(), digest);
}

TEST(Fold, ADuplicateIdWithDifferentContentIsRejectedNotSkipped) {
  Books books;
  books.append({card_authorised("e1", "p1", "100.00")});
  books.fold();
  std::string digest = books.digest();
  books.append({card_authorised("e1", "p1", "100.00"),   // an exact retry: a no-op
                card_authorised("e1", "p9", "999.00")});  // the id reused for another event
  auto stats = books.fold();
  EXPECT_EQ(stats.duplicates, 1u);
  EXPECT_EQ(stats.rejected, 1u);
  EXPECT_EQ(books.digest(), digest);
  auto rejects = projections::list_rejects(books.store(), 0).value();
  ASSERT_EQ(rejects.size(), 1u);
  EXPECT_EQ(rejects[0].code, Code::kConflictingDuplicate);
  books.reopen_store();  // the fingerprints survive a restart
  books.append({card_authorised("e1", "p8", "1.00")});
  EXPECT_EQ(books.fold().rejected, 1u);
}

TEST(Fold, RebuildGivesTheSameDigest) {
  Books books;
  books.append(generated(8000));
  books.fold();
  std::string first = books.digest();
  books.drop_store();
  EXPECT_NE(books.digest(), first);  // an empty store has another digest
  books.fold();
  EXPECT_EQ(books.digest(), first);
}

TEST(Fold, DigestDoesNotDependOnBatchingOrCleanStops) {
  auto events = generated(6000);
  Books whole, pieces;
  whole.append(events);
  whole.fold();
  pieces.append(events);
  // Stop cleanly after every 777 records, reopen, resume. (A clean stop commits what it
  // folded; FoldCrash.* kills a fold that holds an uncommitted batch.)
  FoldOptions options;
  options.batch_events_max = 101;
  options.read_records_max = 50;
  options.records_max = 777;
  options.payment_cache_max = 50;  // forces the store-read path for balances and payments
  uint64_t done = 0;
  while (done < events.size()) {
    done += pieces.fold(options).records;
    pieces.reopen_store();
  }
  EXPECT_EQ(whole.digest(), pieces.digest());
}

TEST(Fold, DifferentEventsGiveADifferentDigest) {
  Books a, b;
  a.append(generated(3000, 1));
  b.append(generated(3000, 2));
  a.fold();
  b.fold();
  EXPECT_NE(a.digest(), b.digest());
}

TEST(Fold, FoldingAgainWithNothingNewIsANoOp) {
  Books books;
  books.append(generated(1000));
  books.fold();
  std::string digest = books.digest();
  auto stats = books.fold();
  EXPECT_EQ(stats.records, 0u);
  EXPECT_EQ(books.digest(), digest);
}

TEST(Fold, RejectedEventLeavesBalancesUntouchedAndIsParked) {
  Books books;
  books.append({card_authorised("e1", "p1", "100.00"), card_captured("e2", "p1", "60.00")});
  books.fold();
  std::string before = balances_of(books.store(), "");
  std::string digest = books.digest();
  books.append({card_captured("e3", "p1", "40.01"),      // exceeds authorised
                card_refunded("e4", "p1", "70.00"),      // exceeds captured
                card_authorised("e5", "p9", "1.001"),    // too many decimals
                card_authorised("e6", "p8", "-1.00"),    // negative
                card_authorised("e7", "p7", "1", "QQQ")  // unknown currency
               });
  books.append_raw("", "{not json", events::RecordFormat::kRawJson);
  books.append_raw("m1", "\x0a\xff\xff", events::RecordFormat::kProtobuf);
  auto stats = books.fold();
  EXPECT_EQ(stats.rejected, 7u);
  EXPECT_EQ(stats.applied, 0u);
  EXPECT_EQ(balances_of(books.store(), ""), before);
  EXPECT_EQ(books.digest(), digest);
  auto rejects = projections::list_rejects(books.store(), 0).value();
  ASSERT_EQ(rejects.size(), 7u);
  std::multiset<Code> codes;
  for (const auto& r : rejects) {
    codes.insert(r.code);
    EXPECT_FALSE(r.reason.empty());
    EXPECT_FALSE(r.value.empty());  // the original record is kept for replay
  }
  EXPECT_EQ(codes.count(Code::kExceedsAuthorised), 1u);
  EXPECT_EQ(codes.count(Code::kExceedsCaptured), 1u);
  EXPECT_EQ(codes.count(Code::kBadAmount), 1u);
  EXPECT_EQ(codes.count(Code::kNonPositiveAmount), 1u);
  EXPECT_EQ(codes.count(Code::kUnknownAsset), 1u);
  EXPECT_EQ(codes.count(Code::kMalformed), 2u);
  // The fold went on: later good events still apply.
  books.append({card_captured("e8", "p1", "40.00")});
  EXPECT_EQ(books.fold().applied, 1u);
}

TEST(Fold, AmountAboveTheCeilingIsRejectedAndTheAccountStillFolds) {
  Books books;
  // 10^36 USD: far above the per-event ceiling (below 10^15 major units), rejected whole.
  books.append({card_authorised("e1", "p1", "1000000000000000000000000000000000000")});
  auto stats = books.fold();
  EXPECT_EQ(stats.rejected, 1u);
  EXPECT_EQ(stats.applied, 0u);
  auto rejects = projections::list_rejects(books.store(), 0).value();
  ASSERT_EQ(rejects.size(), 1u);
  EXPECT_EQ(rejects[0].code, Code::kOverflow);
  EXPECT_NE(rejects[0].reason.find("ceiling"), std::string::npos) << rejects[0].reason;
  // A legitimate event on the same accounts (card clearing, merchant m1 payable) folds.
  books.append({card_authorised("e2", "p2", "25.00")});
  stats = books.fold();
  EXPECT_EQ(stats.applied, 1u);
  EXPECT_EQ(stats.rejected, 0u);
  // The payment the rejected event would have created does not exist.
  books.append({card_captured("e3", "p1", "1.00")});
  books.fold();
  EXPECT_EQ(projections::list_rejects(books.store(), 0)->back().code, Code::kUnknownPayment);
}

TEST(Fold, StatementListsEveryLineOfAnAccount) {
  Books books;
  books.append({card_authorised("e1", "p1", "100.00"), card_captured("e2", "p1", "60.00"),
                card_refunded("e3", "p1", "10.00")});
  books.fold();
  auto lines = projections::statement(books.store(), "merchant:m1:payable", 0).value();
  ASSERT_EQ(lines.size(), 4u);  // auth hold, release, capture, refund
  EXPECT_EQ(lines[0].line.event_id, "e1");
  EXPECT_EQ(lines[3].line.event_id, "e3");
  EXPECT_EQ(lines[3].line.side, ledger::Side::kDebit);
  EXPECT_EQ(lines[3].line.amount_minor, ledger::Int128(1000));
}

}  // namespace
}  // namespace payledger::testing

namespace payledger::testing {
namespace {

// Folds only `partitions` of `log` into `store`, as one instance of a scaled-out fold would;
// at most `limit` records per partition (0 = all).
void fold_partitions(Store& store, events::EventLog& log, const std::vector<uint32_t>& partitions,
                     uint64_t limit = 0) {
  projections::FoldOptions options;
  options.sync = false;
  options.batch_events_max = 333;
  auto folder = projections::Folder::open(store, log.partition_count(), options).value();
  events::ReadBatch batch;
  for (uint32_t p : partitions) {
    uint64_t done = 0;
    while (limit == 0 || done < limit) {
      size_t want = limit == 0 ? 500 : std::min<uint64_t>(500, limit - done);
      ASSERT_TRUE(log.read(p, folder->next_offset(p), want, &batch).ok());
      if (batch.records.empty()) break;
      for (const auto& rec : batch.records) ASSERT_TRUE(folder->fold_record(rec).ok());
      done += batch.records.size();
    }
  }
  ASSERT_TRUE(folder->commit().ok());
}

TEST(ScaleOut, InstancesOwningDisjointPartitionsMergeToTheSingleFold) {
  Books single;
  auto events = generated(6000);
  single.append(events);
  single.fold();
  TempDir a_dir, b_dir;
  auto a = Store::open(a_dir.path(), false).value();
  auto b = Store::open(b_dir.path(), false).value();
  fold_partitions(*a, single.log(), {0, 2});
  fold_partitions(*b, single.log(), {1, 3});
  projections::Stores both{a.get(), b.get()};
  EXPECT_EQ(projections::projection_digest(both).value(), single.digest());
  auto merged = projections::list_balances(both, "psp:").value();
  auto whole = projections::list_balances(single.store(), "psp:").value();
  ASSERT_EQ(merged.size(), whole.size());
  for (size_t i = 0; i < merged.size(); ++i) {
    EXPECT_EQ(merged[i].account, whole[i].account);
    EXPECT_EQ(merged[i].balance, whole[i].balance) << merged[i].account << " " << merged[i].asset;
  }
  EXPECT_TRUE(projections::trial_balance(both)->balanced());
  // One instance alone is not the whole: its digest differs.
  EXPECT_NE(projections::projection_digest(*a).value(), single.digest());
}

TEST(ScaleOut, APartitionHeldTwiceIsTakenFromTheStoreThatFoldedItFurthest) {
  Books single;
  single.append(generated(4000));
  single.fold();
  TempDir a_dir, b_dir;
  auto a = Store::open(a_dir.path(), false).value();
  auto b = Store::open(b_dir.path(), false).value();
  // Partition 1 moved from A to B: A's copy stopped at 100 records, B's is complete.
  fold_partitions(*a, single.log(), {0});
  fold_partitions(*a, single.log(), {1}, 100);
  fold_partitions(*b, single.log(), {1, 2, 3});
  EXPECT_EQ(projections::projection_digest(projections::Stores{a.get(), b.get()}).value(),
            single.digest());
  EXPECT_EQ(projections::projection_digest(projections::Stores{b.get(), a.get()}).value(),
            single.digest());
  auto owners = projections::partition_owners(projections::Stores{a.get(), b.get()}).value();
  EXPECT_EQ(owners.at(0), 0u);
  EXPECT_EQ(owners.at(1), 1u);
  EXPECT_TRUE(projections::trial_balance(projections::Stores{a.get(), b.get()})->balanced());
}

TEST(ScaleOut, DroppedPartitionsAreRefoldedFromTheLog) {
  Books books;
  books.append(generated(4000));
  books.fold();
  std::string digest = books.digest();
  ASSERT_TRUE(books.store().drop_partitions({1, 3}).ok());
  EXPECT_NE(books.digest(), digest);
  auto offsets = books.store().load_offsets(4).value();
  EXPECT_FALSE(offsets[1].has_value());
  EXPECT_TRUE(offsets[0].has_value());
  EXPECT_EQ(books.fold().records, *books.log().end_offset(1) + *books.log().end_offset(3));
  EXPECT_EQ(books.digest(), digest);
}

}  // namespace
}  // namespace payledger::testing

namespace payledger::testing {
namespace {

TEST(Store, AStoreOfAnotherLayoutVersionIsRefusedWithAdvice) {
  TempDir dir;
  {
    auto store = Store::open(dir.path(), false).value();
    projections::StoreBatch wb(*store);
    wb.put(projections::Cf::kMeta, projections::kFormatKey, projections::be32_string(99));
    ASSERT_TRUE(store->write(wb, false).ok());
  }
  for (bool read_only : {false, true}) {
    auto reopened = Store::open(dir.path(), read_only);
    ASSERT_FALSE(reopened.ok());
    EXPECT_EQ(reopened.error().code, Code::kCorrupt);
    EXPECT_NE(reopened.error().reason.find("payledger rebuild"), std::string::npos);
  }
}

}  // namespace
}  // namespace payledger::testing
