// FoldOptions::write_behind and read_ahead (issue 9): each full batch is written on a second
// thread while the next one folds; the log is read and each record checked and fingerprinted
// on a reader thread. The books must be those of the one-thread fold, even when every write
// lands as late as it can (write_behind_when_waited): then any read of the store for a key of
// the batch in flight would see the state before it, and the digest or the counts would differ.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "events/codec.h"
#include "events/embedded_log.h"
#include "projections/fold.h"
#include "projections/queries.h"
#include "projections/store.h"
#include "test_util.h"
#include "tools/generator.h"

namespace payledger::testing {
namespace {

// A generated stream with exact retries of recent and old events (every 7th record repeats
// the event 5 records back, every 61st the event 400 back) and, every 97th record, an event
// that reuses an earlier id with other content (a conflicting duplicate).
std::vector<events::AppendRecord> stream_with_retries() {
  tools::Generator gen({6000, 11, 40, "", true});
  std::vector<v1::Envelope> events;
  v1::Envelope e;
  while (gen.next(&e)) events.push_back(e);
  std::vector<events::AppendRecord> records;
  for (size_t i = 0; i < events.size(); ++i) {
    records.push_back(events::event_record(events[i]));
    if (i % 7 == 6) records.push_back(events::event_record(events[i - 5]));
    if (i % 61 == 60 && i >= 400) {
      records.push_back(events::event_record(events[i - 400]));
    }
    if (i % 97 == 96) {
      v1::Envelope reuse = events[i - 50];
      reuse.mutable_occurred_at()->set_seconds(reuse.occurred_at().seconds() + 1);
      records.push_back(events::event_record(reuse));
    }
  }
  return records;
}

struct Folded {
  projections::FoldStats stats;
  std::string digest;
};

// Folds `records` into a fresh store with a tiny batch, a tiny idempotency window and a tiny
// payment cache, so ids leave memory and caches are dropped across many batch boundaries.
struct Threads {
  bool write_behind = false;
  bool read_ahead = false;
  uint64_t records_max = 0;
  bool late_writes = true;  // write_behind_when_waited
};

Folded fold_all(const std::vector<events::AppendRecord>& records, Threads threads) {
  TempDir dir;
  events::EmbeddedLogOptions lo;
  lo.partitions = 4;
  lo.sync = false;
  auto log = events::EmbeddedLog::open(dir.path() + "/log", lo).value();
  EXPECT_TRUE(log->append(records).ok());
  auto store = projections::Store::open(dir.path() + "/projections", false).value();
  projections::FoldOptions fo;
  fo.sync = false;
  fo.batch_events_max = 37;
  fo.read_records_max = 50;
  fo.dedupe_memory_ids_max = 16;  // 4 per partition: far fewer than one batch
  fo.payment_cache_max = 300;
  fo.write_behind = threads.write_behind;
  fo.write_behind_when_waited = threads.write_behind && threads.late_writes;
  fo.read_ahead = threads.read_ahead;
  fo.records_max = threads.records_max;
  auto stats = projections::fold(*store, *log, fo);
  EXPECT_TRUE(stats.ok()) << (stats.ok() ? "" : stats.error().reason);
  if (!stats.ok()) return {};
  auto digest = projections::projection_digest(*store);
  EXPECT_TRUE(digest.ok());
  return {*stats, digest.ok() ? *digest : ""};
}

void expect_same(const Folded& two, const Folded& one, const char* how) {
  SCOPED_TRACE(how);
  EXPECT_EQ(two.stats.records, one.stats.records);
  EXPECT_EQ(two.stats.applied, one.stats.applied);
  EXPECT_EQ(two.stats.duplicates, one.stats.duplicates);
  EXPECT_EQ(two.stats.rejected, one.stats.rejected);
  EXPECT_EQ(two.stats.batches, one.stats.batches);
  EXPECT_EQ(two.stats.keys_written, one.stats.keys_written);
  EXPECT_EQ(two.stats.bytes_written, one.stats.bytes_written);
  EXPECT_FALSE(one.digest.empty());
  EXPECT_EQ(two.digest, one.digest);
}

TEST(FoldWriteBehind, LateWritesGiveTheBooksOfTheOneThreadFold) {
  auto records = stream_with_retries();
  Folded one = fold_all(records, {});
  // The stream really exercises the window: many retries, some conflicting reuses.
  EXPECT_GT(one.stats.duplicates, 800u);
  EXPECT_GT(one.stats.rejected, 50u);
  EXPECT_GT(one.stats.batches, 150u);
  expect_same(fold_all(records, {.write_behind = true}), one, "write behind");
  expect_same(fold_all(records, {.read_ahead = true}), one, "read ahead");
  expect_same(fold_all(records, {.write_behind = true, .read_ahead = true}), one, "both");
  expect_same(fold_all(records, {.write_behind = true, .read_ahead = true, .late_writes = false}),
              one, "both, writes as soon as handed over");
}

// records_max (crash tests stop a fold there) stops the read-ahead fold at the same record.
TEST(FoldWriteBehind, ReadAheadStopsAtRecordsMaxLikeTheOneThreadFold) {
  auto records = stream_with_retries();
  Folded one = fold_all(records, {.records_max = 1234});
  EXPECT_EQ(one.stats.records, 1234u);
  expect_same(fold_all(records, {.write_behind = true, .read_ahead = true, .records_max = 1234}),
              one, "both, records_max");
}

// The fold's last commit waits for the write in flight: what fold() returns is in the store.
TEST(FoldWriteBehind, EveryBatchIsInTheStoreWhenFoldReturns) {
  TempDir dir;
  events::EmbeddedLogOptions lo;
  lo.partitions = 2;
  lo.sync = false;
  auto log = events::EmbeddedLog::open(dir.path() + "/log", lo).value();
  std::vector<events::AppendRecord> records;
  for (int i = 0; i < 100; ++i) {
    records.push_back({"m1", events::encode(card_authorised(fmt::format("a{}", i),
                                                            fmt::format("p{}", i), "1.00"))});
  }
  ASSERT_TRUE(log->append(records).ok());
  auto store = projections::Store::open(dir.path() + "/projections", false).value();
  projections::FoldOptions fo;
  fo.sync = false;
  fo.batch_events_max = 10;  // 100 records: the tenth batch fills and is handed off last
  fo.write_behind = true;
  fo.write_behind_when_waited = true;
  auto stats = projections::fold(*store, *log, fo);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->applied, 100u);
  const uint32_t p = events::partition_for_key("m1", 2);
  auto offsets = store->load_offsets(2).value();
  ASSERT_TRUE(offsets[p].has_value());
  EXPECT_EQ(*offsets[p], 100u);  // 100 records folded from m1's partition, all stored
}

}  // namespace
}  // namespace payledger::testing
