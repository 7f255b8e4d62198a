// Bounded memory of long folds (issue 9; docs/architecture.md, "Bounded memory of long
// folds"): the fold's caches hold at most their budget whatever the history length, and a
// small budget gives the same books as a large one.
#include <gtest/gtest.h>

#include "projections/fold.h"
#include "projections/queries.h"
#include "testlib.h"

namespace payledger::testing {
namespace {

using projections::FoldOptions;

TEST(FoldMemory, SmallCacheBudgetGivesTheSameBooksAndHoldsTheBound) {
  auto events = generated(20000);
  Books large, small;
  large.append(events);
  small.append(events);
  FoldOptions big;
  big.batch_events_max = 250;
  big.payment_cache_max = 10'000'000;
  auto large_stats = large.fold(big);
  // With no cap hit, the peak is every payment and checkout of the stream: far above 500.
  EXPECT_GT(large_stats.cache_entries_max, 2000u);

  FoldOptions tight = big;
  tight.payment_cache_max = 500;
  tight.business_ids_memory_max = 1;
  auto small_stats = small.fold(tight);
  EXPECT_EQ(small_stats.applied, large_stats.applied);
  EXPECT_EQ(small_stats.rejected, large_stats.rejected);
  EXPECT_EQ(large.digest(), small.digest());
  // The budget was reached (the drop path ran) and never exceeded by more than one batch:
  // each event adds at most one payment and one checkout, so 500 + 2 x 250 = 1000.
  EXPECT_GT(small_stats.cache_entries_max, 500u);
  EXPECT_LE(small_stats.cache_entries_max, 1000u);
}

// Business ids are no longer all in memory: with none kept after a commit, a payout id reused
// by a later event of the same run is still caught, from the store.
TEST(FoldMemory, BusinessIdDroppedFromMemoryIsStillADuplicate) {
  auto events = generated(5000);
  const v1::Envelope* payout = nullptr;
  for (const auto& e : events) {
    if (e.has_payout_sent()) {
      payout = &e;
      break;
    }
  }
  ASSERT_NE(payout, nullptr) << "the generated stream has no payout";
  v1::Envelope again = *payout;
  again.set_event_id(payout->event_id() + "-again");  // a new event reusing the payout id
  events.push_back(again);
  Books books;
  books.append(events);
  FoldOptions options;
  options.batch_events_max = 100;
  options.business_ids_memory_max = 0;
  auto stats = books.fold(options);
  EXPECT_EQ(stats.rejected, 1u);
  auto rejects = books.rejects();
  ASSERT_EQ(rejects.size(), 1u);
  EXPECT_EQ(code_name(rejects[0].code), "duplicate_business_id");
}

}  // namespace
}  // namespace payledger::testing
