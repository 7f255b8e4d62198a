// A fold really killed (SIGKILL) while it holds folded records that are not committed yet:
// the store keeps its last committed batch, the uncommitted records are lost, and a resumed
// fold refolds exactly those and reaches the books of a clean fold. (Fold.DigestDoesNot
// DependOnBatchingOrCleanStops only stops cleanly; scripts/crash-campaign kills the CLI.)
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "events/codec.h"
#include "events/embedded_log.h"
#include "projections/fold.h"
#include "projections/queries.h"
#include "test_util.h"
#include "tools/generator.h"

namespace payledger::testing {
namespace {

using projections::FoldOptions;
using projections::Store;

constexpr uint32_t kPartitions = 4;
constexpr uint64_t kEvents = 6000;
constexpr size_t kBatch = 1000;        // records per committed WriteBatch
constexpr uint64_t kStopAfter = 2600;  // the child blocks once it has folded this many

std::unique_ptr<events::EmbeddedLog> open_log(const std::string& dir, bool writer) {
  events::EmbeddedLogOptions o;
  o.partitions = kPartitions;
  o.sync = false;
  o.writer = writer;
  return events::EmbeddedLog::open(dir, o).value();
}

uint64_t committed_records(const std::string& store_dir) {
  auto store = Store::open(store_dir, /*read_only=*/true).value();
  uint64_t sum = 0;
  for (const auto& offset : store->load_offsets(kPartitions).value()) sum += offset.value_or(0);
  return sum;
}

TEST(FoldCrash, SigkillLosesTheUncommittedBatchAndTheResumedFoldMatchesACleanFold) {
  TempDir dir;
  const std::string log_dir = dir.path() + "/log";
  {
    tools::Generator gen({kEvents, 11, 40, ""});
    std::vector<events::AppendRecord> records;
    v1::Envelope e;
    while (gen.next(&e)) records.push_back(events::event_record(e));
    ASSERT_EQ(records.size(), kEvents);
    ASSERT_TRUE(open_log(log_dir, true)->append(records).ok());
  }
  std::string clean_digest;
  {
    auto store = Store::open(dir.path() + "/clean", false).value();
    auto log = open_log(log_dir, false);
    FoldOptions options;
    options.sync = false;
    ASSERT_TRUE(projections::fold(*store, *log, options).ok());
    clean_digest = projections::projection_digest(*store).value();
  }

  // The child folds in batches of kBatch and, once it has folded kStopAfter records (more
  // than it has committed), reports the count on a pipe and blocks inside the fold.
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const std::string crash_dir = dir.path() + "/crash";
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(pipe_fds[0]);
    auto store = Store::open(crash_dir, false);
    if (!store) ::_exit(3);
    auto log = open_log(log_dir, false);
    FoldOptions options;
    options.sync = true;  // what was committed is on disk, as in production
    options.batch_events_max = kBatch;
    options.read_records_max = 250;
    options.on_progress = [&](const projections::FoldProgress& p) {
      if (p.events_done < kStopAfter) return;
      uint64_t done = p.events_done;
      if (::write(pipe_fds[1], &done, sizeof done) != sizeof done) ::_exit(4);
      for (;;) ::pause();  // mid-fold, with folded records not committed: wait for SIGKILL
    };
    (void)projections::fold(**store, *log, options);
    ::_exit(5);  // the fold finished without ever blocking: the parent sees EOF
  }
  ::close(pipe_fds[1]);
  uint64_t folded = 0;
  ssize_t got = ::read(pipe_fds[0], &folded, sizeof folded);  // waits for the child's progress
  ::close(pipe_fds[0]);
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_EQ(got, static_cast<ssize_t>(sizeof folded)) << "the child never reported progress";
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
  ASSERT_GE(folded, kStopAfter);

  // The store holds whole batches only: 2 of 1000 (2000 <= 2600 folded < 3000).
  uint64_t committed = committed_records(crash_dir);
  EXPECT_EQ(committed, 2000u);
  EXPECT_LT(committed, folded) << "nothing uncommitted was lost: not a crash mid-batch";

  auto store = Store::open(crash_dir, false).value();
  auto log = open_log(log_dir, false);
  FoldOptions options;
  options.sync = false;
  auto resumed = projections::fold(*store, *log, options);
  ASSERT_TRUE(resumed.ok()) << resumed.error().reason;
  EXPECT_EQ(resumed->records, kEvents - 2000);  // the lost batch is refolded, nothing else
  EXPECT_EQ(resumed->duplicates, 0u);           // nothing of it had been committed
  EXPECT_EQ(projections::projection_digest(*store).value(), clean_digest);
}

}  // namespace
}  // namespace payledger::testing
