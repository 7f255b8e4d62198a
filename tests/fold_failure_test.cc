// A commit that fails (here: its before_commit hook, as when dead letters were not delivered)
// leaves the folder refusing every later call with the same error: a retry must never write
// the half-built batch (its entry lines are cleared while the WriteBatch is built). The store
// keeps its last good batch and a new folder refolds to the books of a clean fold.
#include <gtest/gtest.h>

#include "events/codec.h"
#include "events/embedded_log.h"
#include "projections/fold.h"
#include "projections/queries.h"
#include "test_util.h"
#include "tools/generator.h"

namespace payledger::testing {
namespace {

using projections::Folder;
using projections::FoldOptions;
using projections::Store;

constexpr uint32_t kPartitions = 4;
constexpr uint64_t kEvents = 3000;

std::unique_ptr<events::EmbeddedLog> generated_log(const std::string& dir) {
  events::EmbeddedLogOptions o;
  o.partitions = kPartitions;
  o.sync = false;
  auto log = events::EmbeddedLog::open(dir, o).value();
  tools::Generator gen({kEvents, 5, 30, ""});
  std::vector<events::AppendRecord> records;
  v1::Envelope e;
  while (gen.next(&e)) records.push_back(events::event_record(e));
  EXPECT_TRUE(log->append(records).ok());
  return log;
}

TEST(FoldFailure, AFailedCommitIsNeverRetriedAndTheRefoldMatchesACleanFold) {
  TempDir dir;
  auto log = generated_log(dir.path() + "/log");
  std::string clean;
  {
    auto store = Store::open(dir.path() + "/clean", false).value();
    FoldOptions o;
    o.sync = false;
    ASSERT_TRUE(projections::fold(*store, *log, o).ok());
    clean = projections::projection_digest(*store).value();
  }
  auto store = Store::open(dir.path() + "/books", false).value();
  int hook_calls = 0;
  FoldOptions o;
  o.sync = false;
  o.batch_events_max = kEvents * 2;  // one batch: everything is uncommitted at the end
  o.before_commit = [&]() -> Status {
    // The first commit fails (e.g. "dead letters not delivered"); a retry would pass.
    return ++hook_calls == 1 ? Status(make_error(Code::kIo, "dead letters not delivered"))
                             : Status::Ok();
  };
  {
    auto folder = Folder::open(*store, kPartitions, o).value();
    events::ReadBatch batch;
    uint64_t folded = 0;
    for (uint32_t p = 0; p < kPartitions; ++p) {
      for (uint64_t at = 0;; at += batch.records.size()) {
        ASSERT_TRUE(log->read(p, at, 4096, &batch).ok());
        if (batch.records.empty()) break;
        for (const auto& rec : batch.records) ASSERT_TRUE(folder->fold_record(rec).ok());
        folded += batch.records.size();
      }
    }
    ASSERT_EQ(folded, kEvents);
    Status first = folder->commit();
    ASSERT_FALSE(first.ok());
    EXPECT_EQ(first.error().reason, "dead letters not delivered");
    Status retry = folder->commit();  // what a revoke callback would do after the failure
    ASSERT_FALSE(retry.ok()) << "a failed commit was retried and written";
    EXPECT_EQ(retry.error().reason, "dead letters not delivered");
    EXPECT_EQ(hook_calls, 1);  // the retry never got as far as the hook
  }
  // Nothing of the failed batch is stored: every partition is still at offset 0.
  for (const auto& offset : store->load_offsets(kPartitions).value()) {
    EXPECT_EQ(offset.value_or(0), 0u);
  }
  FoldOptions again;
  again.sync = false;
  auto stats = projections::fold(*store, *log, again);
  ASSERT_TRUE(stats.ok()) << stats.error().reason;
  EXPECT_EQ(stats->records, kEvents);
  EXPECT_EQ(projections::projection_digest(*store).value(), clean);
}

}  // namespace
}  // namespace payledger::testing
