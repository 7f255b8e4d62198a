// The dedupe filter (issue 9, rebuild speed): a fold that started on a partition without
// stored ids knows an id it never applied without probing RocksDB, and still catches retries of
// ids long gone from the in-memory window (the filter says "maybe", the store answers).
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "events/codec.h"
#include "events/embedded_log.h"
#include "projections/dedupe_window.h"
#include "projections/fold.h"
#include "projections/queries.h"
#include "test_util.h"

namespace payledger::testing {
namespace {

uint64_t id_hash(std::string_view prefix, uint64_t i) {
  return projections::DedupeWindow::hash_of(fmt::format("{}{}", prefix, i));
}

TEST(IdFilter, NeverForgetsAnIdAndRarelyInventsOne) {
  projections::IdFilter filter(1 << 20);  // 1 MiB: ~84 bits per id below
  auto partition = [](uint64_t i) { return static_cast<uint32_t>(i % 8); };
  for (uint64_t i = 0; i < 100000; ++i) filter.add(partition(i), id_hash("m1-e", i));
  for (uint64_t i = 0; i < 100000; ++i) {
    ASSERT_TRUE(filter.may_contain(partition(i), id_hash("m1-e", i))) << i;
  }
  size_t false_positives = 0;
  for (uint64_t i = 100000; i < 200000; ++i) {
    false_positives += filter.may_contain(partition(i), id_hash("m1-e", i));
  }
  EXPECT_LT(false_positives, 100u);  // < 0.1% of 100,000 ids never added
  // The same id in another partition is another id.
  size_t other_partition = 0;
  for (uint64_t i = 0; i < 100000; ++i) {
    other_partition += filter.may_contain(partition(i) + 100, id_hash("m1-e", i));
  }
  EXPECT_LT(other_partition, 100u);
}

TEST(IdFilter, AFullFilterOnlyAnswersMaybeMoreOften) {
  projections::IdFilter tiny(1024);  // 16 blocks for 10,000 ids: nearly every bit set
  EXPECT_EQ(tiny.bytes(), 1024u);
  for (uint64_t i = 0; i < 10000; ++i) tiny.add(0, id_hash("x", i));
  for (uint64_t i = 0; i < 10000; ++i) ASSERT_TRUE(tiny.may_contain(0, id_hash("x", i))) << i;
  size_t maybe = 0;
  for (uint64_t i = 10000; i < 11000; ++i) maybe += tiny.may_contain(0, id_hash("x", i));
  EXPECT_GT(maybe, 900u);  // overfull: "maybe" for nearly everything, never "no" for an id added
}

struct LogAndStore {
  std::unique_ptr<events::EmbeddedLog> log;
  std::unique_ptr<projections::Store> store;
};

// 3,000 authorisations a0..a2999 of merchant m1, one partition.
LogAndStore authorisations(const TempDir& dir) {
  events::EmbeddedLogOptions lo;
  lo.partitions = 1;
  lo.sync = false;
  LogAndStore r;
  r.log = events::EmbeddedLog::open(dir.path() + "/log", lo).value();
  std::vector<events::AppendRecord> records;
  for (int i = 0; i < 3000; ++i) {
    records.push_back({"m1", events::encode(card_authorised(fmt::format("a{}", i),
                                                            fmt::format("p{}", i), "1.00"))});
  }
  EXPECT_TRUE(r.log->append(records).ok());
  r.store = projections::Store::open(dir.path() + "/projections", false).value();
  return r;
}

projections::FoldOptions small_window(size_t filter_bytes) {
  projections::FoldOptions fo;
  fo.sync = false;
  fo.batch_events_max = 10;
  fo.dedupe_memory_ids_max = 100;
  fo.dedupe_filter_bytes = filter_bytes;
  return fo;
}

TEST(DedupeFilter, AFreshFoldProbesTheStoreOnlyWithoutTheFilter) {
  TempDir with_dir, without_dir;
  LogAndStore with = authorisations(with_dir), without = authorisations(without_dir);
  auto a = projections::fold(*with.store, *with.log, small_window(size_t{1} << 20));
  auto b = projections::fold(*without.store, *without.log, small_window(0));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->applied, 3000u);
  EXPECT_EQ(b->applied, 3000u);
  // Batches of 10, window of 100: the first commit past 100 ids (after 110) drops the oldest;
  // from then on each new id (a110..a2999: 2,890 of them) is looked up in the store, unless the
  // filter, seeded then with the 110 ids held, says it was never applied.
  EXPECT_EQ(b->dedupe_probes, 2890u);
  EXPECT_EQ(a->dedupe_probes, 0u);
  EXPECT_EQ(projections::projection_digest(*with.store).value(),
            projections::projection_digest(*without.store).value());
}

// Same process, filter on: the exact retry of a0 (dropped from the window 2,900 ids ago) is a
// duplicate, another event reusing a1 is a conflicting duplicate: the filter's "maybe" sends
// both to the store.
TEST(DedupeFilter, OldRetriesInTheSameFoldAreStillCaught) {
  TempDir dir;
  LogAndStore r = authorisations(dir);
  auto folder = projections::Folder::open(*r.store, 1, small_window(size_t{1} << 20)).value();
  events::ReadBatch batch;
  ASSERT_TRUE(r.log->read(0, 0, 5000, &batch).ok());
  for (const auto& rec : batch.records) ASSERT_TRUE(folder->fold_record(rec).ok());
  ASSERT_TRUE(folder->commit().ok());
  EXPECT_EQ(folder->stats().dedupe_probes, 0u);
  std::vector<events::AppendRecord> late{
      {"m1", events::encode(card_authorised("a0", "p0", "1.00"))},
      {"m1", events::encode(card_authorised("a1", "p9999", "2.00"))},
      {"m1", events::encode(card_authorised("a3000", "p3000", "1.00"))}};
  ASSERT_TRUE(r.log->append(late).ok());
  ASSERT_TRUE(r.log->read(0, 3000, 10, &batch).ok());
  ASSERT_EQ(batch.records.size(), 3u);
  for (const auto& rec : batch.records) ASSERT_TRUE(folder->fold_record(rec).ok());
  ASSERT_TRUE(folder->commit().ok());
  EXPECT_EQ(folder->stats().duplicates, 1u);   // a0
  EXPECT_EQ(folder->stats().rejected, 1u);     // a1 with other content
  EXPECT_EQ(folder->stats().applied, 3001u);   // a3000, new
  EXPECT_EQ(folder->stats().dedupe_probes, 2u);  // a0 and a1 only: a3000 never seen
}

}  // namespace
}  // namespace payledger::testing
