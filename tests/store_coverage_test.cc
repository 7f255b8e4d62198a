// The books are never silently short or mixed: a fold refuses a log that lost records the
// store already holds (issue 8 item 3), and queries over several stores refuse stores of
// different logs and say which partitions are missing or behind their log (item 4).
#include <gtest/gtest.h>

#include <filesystem>

#include <fmt/format.h>

#include "events/codec.h"
#include "events/embedded_log.h"
#include "projections/fold.h"
#include "projections/queries.h"
#include "test_util.h"

namespace payledger::testing {
namespace {

using projections::FoldOptions;
using projections::Store;

constexpr uint32_t kPartitions = 4;

// Events of `merchants` merchants m0.., one authorisation each per round.
std::vector<events::AppendRecord> authorisations(int rounds, int merchants,
                                                 const std::string& tag) {
  std::vector<events::AppendRecord> out;
  for (int r = 0; r < rounds; ++r) {
    for (int m = 0; m < merchants; ++m) {
      v1::Envelope e = card_authorised(fmt::format("{}-{}-{}", tag, m, r),
                                       fmt::format("p-{}-{}-{}", tag, m, r), "10.00");
      e.set_merchant_id(fmt::format("m{}", m));
      out.push_back(events::event_record(e));
    }
  }
  return out;
}

// DIR/log and DIR/projections, like the CLI's data directory.
struct Data {
  TempDir dir;
  std::unique_ptr<events::EmbeddedLog> log;
  std::unique_ptr<Store> store;

  Data() { open(); }
  std::string log_dir() const { return dir.path() + "/log"; }
  void open() {
    events::EmbeddedLogOptions o;
    o.partitions = kPartitions;
    o.sync = false;
    log = events::EmbeddedLog::open(log_dir(), o).value();
    store = Store::open(dir.path() + "/projections", false).value();
  }
  void close() {
    log.reset();
    store.reset();
  }
  void append(const std::vector<events::AppendRecord>& records) {
    ASSERT_TRUE(log->append(records).ok());
  }
  Result<projections::FoldStats> fold(uint64_t records_max = 0) {
    FoldOptions o;
    o.sync = false;
    o.records_max = records_max;
    o.log_identity = log->identity();
    return projections::fold(*store, *log, o);
  }
};

TEST(LostLogTail, AFoldRefusesALogThatEndsBeforeTheStoredOffset) {
  Data data;
  data.append(authorisations(25, 8, "a"));  // 200 events
  std::string backup = data.dir.path() + "/log-backup";
  data.close();
  std::filesystem::copy(data.log_dir(), backup, std::filesystem::copy_options::recursive);
  data.open();
  data.append(authorisations(25, 8, "b"));
  ASSERT_TRUE(data.fold().ok());
  auto folded = data.store->load_offsets(kPartitions).value();
  // The log is restored from the older backup; new appends reuse the lost offsets.
  data.close();
  std::filesystem::remove_all(data.log_dir());
  std::filesystem::copy(backup, data.log_dir(), std::filesystem::copy_options::recursive);
  data.open();
  data.append(authorisations(25, 8, "c"));
  auto stats = data.fold();
  ASSERT_FALSE(stats.ok()) << "folded " << stats->records << " records, skipped the rest";
  EXPECT_EQ(stats.error().code, Code::kCorrupt);
  const std::string& why = stats.error().reason;
  // Names the partition, the stored next offset, the log end and what to do.
  uint32_t p = 0;
  while (p < kPartitions && !folded[p]) ++p;
  ASSERT_LT(p, kPartitions);
  uint64_t end = data.log->end_offset(p).value();
  EXPECT_NE(why.find(fmt::format("partition {}", p)), std::string::npos) << why;
  EXPECT_NE(why.find(fmt::format("folded to offset {}", *folded[p])), std::string::npos) << why;
  EXPECT_NE(why.find(fmt::format("log ends at offset {}", end)), std::string::npos) << why;
  EXPECT_NE(why.find("payledger rebuild"), std::string::npos) << why;
  // Nothing was folded: the stored offsets are those of before.
  EXPECT_EQ(data.store->load_offsets(kPartitions).value(), folded);
}

TEST(LostLogTail, AFoldRefusesALogShorterThanTheStoredOffset) {
  Data data;
  data.append(authorisations(25, 8, "a"));
  std::string backup = data.dir.path() + "/log-backup";
  data.close();
  std::filesystem::copy(data.log_dir(), backup, std::filesystem::copy_options::recursive);
  data.open();
  data.append(authorisations(25, 8, "b"));
  ASSERT_TRUE(data.fold().ok());
  data.close();
  std::filesystem::remove_all(data.log_dir());
  std::filesystem::copy(backup, data.log_dir(), std::filesystem::copy_options::recursive);
  data.open();
  auto stats = data.fold();
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.error().code, Code::kCorrupt);
  EXPECT_NE(stats.error().reason.find("the log is shorter"), std::string::npos)
      << stats.error().reason;
}

TEST(LostLogTail, TheEmbeddedFoldNotesEveryPartitionsLogEndEvenEmptyOnes) {
  Data data;
  data.append(authorisations(10, 1, "a"));  // one merchant: one partition holds 10 records
  ASSERT_TRUE(data.fold().ok());
  auto ends = data.store->load_log_ends(kPartitions).value();
  for (uint32_t p = 0; p < kPartitions; ++p) {
    ASSERT_TRUE(ends[p].has_value()) << "partition " << p;
    EXPECT_EQ(*ends[p], data.log->end_offset(p).value()) << "partition " << p;
  }
}

TEST(LostLogTail, AStopBeforeTheEndNotesTheLogEndItSaw) {
  Data data;
  data.append(authorisations(1, 1, "a"));
  uint32_t p = events::partition_for_key("m0", kPartitions);
  data.append(authorisations(99, 1, "b"));  // partition p: 100 records
  ASSERT_TRUE(data.fold(30).ok());
  EXPECT_EQ(data.store->load_offsets(kPartitions).value()[p], 30u);
  EXPECT_EQ(data.store->load_log_ends(kPartitions).value()[p], 100u);
}

// Folds only `partitions` of `log` into `store`, as one member of a scaled-out fold does,
// noting the log end of each partition it folds (as the Kafka fold does with watermarks).
void fold_partitions(Store& store, events::EmbeddedLog& log, std::vector<uint32_t> partitions,
                     uint64_t records_max = 0) {
  FoldOptions o;
  o.sync = false;
  o.log_identity = log.identity();
  auto folder = projections::Folder::open(store, log.partition_count(), o).value();
  events::ReadBatch batch;
  for (uint32_t p : partitions) {
    uint64_t end = log.end_offset(p).value();
    folder->note_log_end(p, end);
    uint64_t stop = records_max == 0 ? end : std::min(end, records_max);
    while (folder->next_offset(p) < stop) {
      ASSERT_TRUE(log.read(p, folder->next_offset(p), stop - folder->next_offset(p), &batch).ok());
      for (const auto& rec : batch.records) ASSERT_TRUE(folder->fold_record(rec).ok());
    }
  }
  ASSERT_TRUE(folder->commit().ok());
}

std::vector<uint64_t> ends_of(events::EmbeddedLog& log) {
  std::vector<uint64_t> ends;
  for (uint32_t p = 0; p < log.partition_count(); ++p) ends.push_back(log.end_offset(p).value());
  return ends;
}

TEST(MixedStores, StoresOfTwoDifferentLogsAreRefusedNamingBoth) {
  Data books, demo;
  books.append(authorisations(5, 8, "books"));
  demo.append(authorisations(7, 8, "demo"));
  ASSERT_TRUE(books.fold().ok());
  ASSERT_TRUE(demo.fold().ok());
  projections::Stores both{books.store.get(), demo.store.get()};
  for (const Error& e : {projections::partition_owners(both).error(),
                         projections::projection_digest(both).error(),
                         projections::list_balances(both, "").error()}) {
    EXPECT_EQ(e.code, Code::kInvalidArgument);
    EXPECT_NE(e.reason.find(books.store->dir()), std::string::npos) << e.reason;
    EXPECT_NE(e.reason.find(demo.store->dir()), std::string::npos) << e.reason;
    EXPECT_NE(e.reason.find(books.log->identity()), std::string::npos) << e.reason;
    EXPECT_NE(e.reason.find(demo.log->identity()), std::string::npos) << e.reason;
  }
}

TEST(MixedStores, StoresOfOneLogMergeAndAreComplete) {
  Data data;
  data.append(authorisations(10, 8, "a"));
  TempDir a_dir, b_dir;
  auto a = Store::open(a_dir.path(), false).value();
  auto b = Store::open(b_dir.path(), false).value();
  fold_partitions(*a, *data.log, {0, 1});
  fold_partitions(*b, *data.log, {2, 3});
  projections::Stores both{a.get(), b.get()};
  auto cov = projections::coverage(both, ends_of(*data.log)).value();
  EXPECT_TRUE(cov.complete()) << cov.gaps.size() << " gaps";
  EXPECT_EQ(cov.log_identity, data.log->identity());
  EXPECT_EQ(cov.partitions, kPartitions);
  EXPECT_TRUE(projections::coverage(both, std::nullopt).value().complete());
}

TEST(MixedStores, APartitionNoStoreFoldedIsMissing) {
  Data data;
  data.append(authorisations(10, 8, "a"));  // 80 events over the 4 partitions
  std::vector<uint64_t> ends = ends_of(*data.log);
  ASSERT_GT(ends[3], 0u);
  TempDir a_dir, b_dir;
  auto a = Store::open(a_dir.path(), false).value();
  auto b = Store::open(b_dir.path(), false).value();
  fold_partitions(*a, *data.log, {0, 1});
  fold_partitions(*b, *data.log, {2});  // partition 3: nobody
  projections::Stores both{a.get(), b.get()};
  // With the log at hand: partition 3 is missing, and how much of it is known.
  auto cov = projections::coverage(both, ends).value();
  ASSERT_EQ(cov.gaps.size(), 1u);
  EXPECT_EQ(cov.gaps[0].partition, 3u);
  EXPECT_FALSE(cov.gaps[0].store.has_value());
  EXPECT_FALSE(cov.gaps[0].folded.has_value());
  EXPECT_EQ(cov.gaps[0].log_end, ends[3]);
  // Without the log (e.g. Kafka): from the recorded partition count, end unknown.
  auto blind = projections::coverage(both, std::nullopt).value();
  ASSERT_EQ(blind.gaps.size(), 1u);
  EXPECT_EQ(blind.gaps[0].partition, 3u);
  EXPECT_FALSE(blind.gaps[0].log_end.has_value());
}

TEST(MixedStores, AStoreBehindItsLogIsShort) {
  Data data;
  data.append(authorisations(10, 8, "a"));
  ASSERT_TRUE(data.fold().ok());
  EXPECT_TRUE(projections::coverage({data.store.get()}, ends_of(*data.log)).value().complete());
  auto folded = data.store->load_offsets(kPartitions).value();
  data.append(authorisations(3, 8, "b"));  // 24 more events, not folded
  std::vector<uint64_t> ends = ends_of(*data.log);
  auto cov = projections::coverage({data.store.get()}, ends).value();
  uint64_t short_by = 0;
  for (const auto& gap : cov.gaps) {
    ASSERT_TRUE(gap.store.has_value());
    EXPECT_EQ(*gap.store, 0u);
    EXPECT_EQ(gap.folded, folded[gap.partition]);
    EXPECT_EQ(gap.log_end, ends[gap.partition]);
    short_by += *gap.log_end - *gap.folded;
  }
  EXPECT_EQ(short_by, 24u);  // 3 rounds x 8 merchants
}

TEST(MixedStores, AStoreBehindTheLogEndAnotherStoreNotedIsShortWithoutTheLog) {
  Data data;
  data.append(authorisations(20, 8, "a"));
  TempDir a_dir, b_dir;
  auto a = Store::open(a_dir.path(), false).value();
  auto b = Store::open(b_dir.path(), false).value();
  fold_partitions(*a, *data.log, {0, 1});
  fold_partitions(*b, *data.log, {2, 3}, 5);  // stopped after 5 records of each
  std::vector<uint64_t> ends = ends_of(*data.log);
  auto cov = projections::coverage({a.get(), b.get()}, std::nullopt).value();
  std::vector<uint32_t> short_partitions;
  for (const auto& gap : cov.gaps) {
    short_partitions.push_back(gap.partition);
    EXPECT_EQ(gap.folded, 5u);
    EXPECT_EQ(gap.log_end, ends[gap.partition]);
  }
  EXPECT_EQ(short_partitions, (std::vector<uint32_t>{2, 3}));
}

}  // namespace
}  // namespace payledger::testing
