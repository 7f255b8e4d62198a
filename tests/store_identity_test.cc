// A store records which log it folds and how far each partition's log was seen to reach,
// so projections of two logs never mix and merged queries can tell a partition is behind.
#include <gtest/gtest.h>

#include "events/codec.h"
#include "events/embedded_log.h"
#include "projections/fold.h"
#include "test_util.h"

namespace payledger::testing {
namespace {

using projections::Folder;
using projections::FoldOptions;
using projections::Store;

FoldOptions options_for(const std::string& identity) {
  FoldOptions o;
  o.sync = false;
  o.log_identity = identity;
  return o;
}

events::LogRecord record_of(const std::string& value, uint32_t partition, uint64_t offset) {
  events::LogRecord rec;
  rec.partition = partition;
  rec.offset = offset;
  rec.key = "m1";
  rec.value = value;
  return rec;
}

TEST(StoreIdentity, FirstCommitRecordsTheLogIdentity) {
  TempDir dir;
  auto store = Store::open(dir.path(), false).value();
  EXPECT_EQ(store->recorded_log_identity().value(), "");
  auto folder = Folder::open(*store, 4, options_for("embedded:log-a")).value();
  ASSERT_TRUE(folder->commit().ok());
  EXPECT_EQ(store->recorded_log_identity().value(), "embedded:log-a");
}

TEST(StoreIdentity, AStoreOfAnotherLogIsRefusedWithBothNames) {
  TempDir dir;
  auto store = Store::open(dir.path(), false).value();
  {
    auto folder = Folder::open(*store, 4, options_for("embedded:log-a")).value();
    ASSERT_TRUE(folder->commit().ok());
  }
  auto other = Folder::open(*store, 4, options_for("embedded:log-b"));
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, Code::kInvalidArgument);
  EXPECT_NE(other.error().reason.find("log-a"), std::string::npos) << other.error().reason;
  EXPECT_NE(other.error().reason.find("log-b"), std::string::npos) << other.error().reason;
  // The same log opens again.
  EXPECT_TRUE(Folder::open(*store, 4, options_for("embedded:log-a")).ok());
}

TEST(StoreIdentity, NotedLogEndsAreStoredAtCommitAndOnlyMoveForward) {
  TempDir dir;
  auto store = Store::open(dir.path(), false).value();
  auto folder = Folder::open(*store, 2, options_for("embedded:log-a")).value();
  std::string event = events::encode(card_authorised("e1", "p1", "10.00"));
  uint32_t home = events::partition_for_key("m1", 2);
  ASSERT_TRUE(folder->fold_record(record_of(event, home, 0)).ok());
  folder->note_log_end(home, 7);
  folder->note_log_end(home, 5);  // an older sighting never moves it back
  EXPECT_FALSE(store->load_log_ends(2).value()[home].has_value());  // not before the commit
  ASSERT_TRUE(folder->commit().ok());
  auto ends = store->load_log_ends(2).value();
  ASSERT_TRUE(ends[home].has_value());
  EXPECT_EQ(*ends[home], 7u);
  EXPECT_FALSE(ends[1 - home].has_value());
  ASSERT_TRUE(store->drop_partitions({home}).ok());
  EXPECT_FALSE(store->load_log_ends(2).value()[home].has_value());
}

}  // namespace
}  // namespace payledger::testing
