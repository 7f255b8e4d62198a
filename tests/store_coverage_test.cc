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
      out.push_back({e.merchant_id(), events::encode(e)});
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

}  // namespace
}  // namespace payledger::testing
