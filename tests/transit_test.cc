// Working capital in transit, batch vs tokenised (docs/settlement.md, "Working capital in
// transit (rails comparison)"): small histories replayed under both rails, every expected value
// worked out by hand (the arithmetic beside it), and the payable flows read back from a store
// the real fold built.
#include "settlement/transit.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "settlement/transit_flows.h"
#include "test_util.h"
#include "testlib.h"

namespace payledger::testing {
namespace {

using ledger::Int128;
using settlement::compare_rails;
using settlement::CurrencyTransit;
using settlement::PayableFlow;
using settlement::SettlementPolicies;
using settlement::TransitOptions;
using settlement::TransitPoint;
using settlement::TransitReport;

constexpr int64_t kM = 60;
constexpr int64_t kH = 3600;
constexpr int64_t kD = 86400;
// Friday 2026-08-28T00:00:00Z (London is on BST, UTC+1). Monday 31 August 2026 is the Summer
// bank holiday in GBP.txt.
constexpr int64_t kFri = 1787875200;
// Wednesday 2026-09-02T00:00:00Z = Friday + 5 days.
constexpr int64_t kWed = kFri + 5 * kD;

// Cut-off 17:30 Europe/London, T+1; sweep every 15 minutes; no minimum unless given.
ledger::SettlementPolicy gbp_policy(int64_t minimum_minor = 0) {
  ledger::SettlementPolicy p;
  p.rail = ledger::Rail::kBatch;  // replaced by each rail in turn
  p.cutoff_minute = 17 * 60 + 30;
  p.time_zone = "Europe/London";
  p.settlement_days = 1;
  p.sweep_minutes = 15;
  p.minimum_payout = minimum_minor;
  return p;
}

const CurrencyTransit& currency(const TransitReport& r, const std::string& code) {
  for (const auto& c : r.currencies) {
    if (c.currency == code) return c;
  }
  ADD_FAILURE() << "no " << code << " in the report";
  static CurrencyTransit none;
  return none;
}

// Scenario A (one GBP merchant, the issue's Friday before a Monday bank holiday):
//   f1 +100.00 at Fri 16:05Z (17:05 BST, before the 17:30 cut-off)
//   f2  +50.00 at Fri 16:47Z (17:47 BST, after it)
// Batch: f1 is in Friday's cycle; T+1 skips Sat, Sun and the Monday holiday: value date
// Tuesday 1 Sep, funds at its London midnight = Mon 31 Aug 23:00Z = Fri + 3d 23h.
// f2 misses Friday's cut-off; Sat, Sun, Mon are closed, so its cycle is Tuesday's 17:30 BST
// cut-off, value date Wednesday 2 Sep, funds Tue 1 Sep 23:00Z = Fri + 4d 23h.
// Tokenised (sweep 15 min): f1 funds at 16:15Z, f2 at 17:00Z (16:47 is no sweep boundary).
constexpr int64_t kF1 = kFri + 16 * kH + 5 * kM;
constexpr int64_t kF2 = kFri + 16 * kH + 47 * kM;
constexpr int64_t kF1BatchFunds = kFri + 3 * kD + 23 * kH;
constexpr int64_t kF2BatchFunds = kFri + 4 * kD + 23 * kH;

std::vector<PayableFlow> scenario_a() {
  return {{"m1", "GBP", kF1, 10000}, {"m1", "GBP", kF2, 5000}};
}

SettlementPolicies gbp_policies(const std::string& merchant, int64_t minimum_minor = 0) {
  return {{{merchant, "GBP"}, gbp_policy(minimum_minor)}};
}

TEST(Transit, IssueExampleFridayBeforeBankHolidayBatchVsTokenised) {
  // One flow exactly at 17:00 BST = 16:00Z Friday, the issue's capture.
  const int64_t at = kFri + 16 * kH;
  auto r = compare_rails({{"m1", "GBP", at, 10000}}, gbp_policies("m1"),
                         TransitOptions{kFri, kFri + 7 * kD});
  ASSERT_TRUE(r.ok()) << r.error().reason;
  const auto& c = currency(*r, "GBP");
  // batch: funds Mon 31 Aug 23:00Z (= Tue 1 Sep 00:00 BST); Fri 16:00Z -> Mon 23:00Z is
  // 3 days 7 hours = 3 x 86,400 + 7 x 3,600 = 259,200 + 25,200 = 284,400 s.
  EXPECT_EQ(c.batch.stats.ttf_average_s, 284400);
  EXPECT_EQ(c.batch.stats.ttf_p95_s, 284400);
  // tokenised: 16:00Z is a sweep boundary (16:00 = 64 x 15 min): that sweep pays it, 0 s.
  EXPECT_EQ(c.tokenised.stats.ttf_average_s, 0);
  EXPECT_EQ(c.tokenised.stats.ttf_p95_s, 0);
  EXPECT_EQ(c.tokenised.stats.average, 0);
  EXPECT_EQ(c.tokenised.stats.peak, 0);  // never in transit
  EXPECT_EQ(c.batch.stats.paid, 10000);
  EXPECT_EQ(c.tokenised.stats.paid, 10000);
}

TEST(Transit, MoneyTimeAverageAndPeakPerRail) {
  // Period: Fri 00:00Z .. Wed 00:00Z = 5 days = 432,000 s.
  auto r = compare_rails(scenario_a(), gbp_policies("m1"), TransitOptions{kFri, kWed});
  ASSERT_TRUE(r.ok()) << r.error().reason;
  ASSERT_EQ(r->currencies.size(), 1u);
  const auto& c = currency(*r, "GBP");
  EXPECT_EQ(c.exponent, 2);
  const auto& b = c.batch.stats;
  const auto& t = c.tokenised.stats;
  EXPECT_EQ(b.flows, 2u);
  EXPECT_EQ(t.flows, 2u);
  EXPECT_EQ(b.net, 15000);   // 10000 + 5000
  EXPECT_EQ(b.paid, 15000);  // both rails pay everything: only the timing differs
  EXPECT_EQ(t.paid, 15000);
  EXPECT_EQ(b.unpaid, 0);
  EXPECT_EQ(b.payouts, 2u);  // Friday's and Tuesday's cycles
  EXPECT_EQ(t.payouts, 2u);  // the 16:15Z and 17:00Z sweeps
  // batch time to funds: f1 Fri 16:05Z -> Mon 23:00Z = 3d 6h 55m = 259,200 + 21,600 + 3,300
  // = 284,100 s; f2 Fri 16:47Z -> Tue 23:00Z = 4d 6h 13m = 345,600 + 21,600 + 780 = 367,980 s.
  ASSERT_EQ(kF1BatchFunds - kF1, 284100);
  ASSERT_EQ(kF2BatchFunds - kF2, 367980);
  // money-time = 10000 x 284,100 + 5000 x 367,980 = 2,841,000,000 + 1,839,900,000
  //            = 4,680,900,000 minor-seconds (both funded before Wed 00:00Z: nothing clipped)
  EXPECT_EQ(b.money_time, ledger::Int256(4680900000LL));
  // average = 4,680,900,000 / 432,000 = 10,835.42 -> 10,835 minor = 108.35 GBP
  EXPECT_EQ(b.average, 10835);
  // peak: from f2 (Fri 16:47Z) both are in transit until Mon 23:00Z: 100.00 + 50.00
  EXPECT_EQ(b.peak, 15000);
  EXPECT_EQ(b.peak_at_s, kF2);
  // amount-weighted average time to funds = 4,680,900,000 / 15,000 = 312,060 s exactly
  EXPECT_EQ(b.ttf_average_s, 312060);
  // p95 nearest rank of 2 flows: rank ceil(0.95 x 2) = 2 -> the larger, 367,980 s
  EXPECT_EQ(b.ttf_p95_s, 367980);
  EXPECT_EQ(b.timed_flows, 2u);
  // tokenised: f1 16:05 -> 16:15 = 600 s, f2 16:47 -> 17:00 = 780 s
  // money-time = 10000 x 600 + 5000 x 780 = 6,000,000 + 3,900,000 = 9,900,000
  EXPECT_EQ(t.money_time, ledger::Int256(9900000));
  // average = 9,900,000 / 432,000 = 22.92 -> 23 minor = 0.23 GBP
  EXPECT_EQ(t.average, 23);
  // peak: f1 alone (16:05-16:15), then f2 alone (16:47-17:00): 100.00 from 16:05Z
  EXPECT_EQ(t.peak, 10000);
  EXPECT_EQ(t.peak_at_s, kF1);
  // weighted average = 9,900,000 / 15,000 = 660 s; p95 = the larger = 780 s
  EXPECT_EQ(t.ttf_average_s, 660);
  EXPECT_EQ(t.ttf_p95_s, 780);
  // ratio tokenised / batch = 23 / 10,835 = 0.2123% -> "0.2"
  EXPECT_EQ(settlement::tokenised_vs_batch(c), "0.2");
}

TEST(Transit, SeriesIsInTransitOverTime) {
  auto r = compare_rails(scenario_a(), gbp_policies("m1"), TransitOptions{kFri, kWed, false, true});
  ASSERT_TRUE(r.ok()) << r.error().reason;
  const auto& c = currency(*r, "GBP");
  // tokenised: 0 at the start, 100.00 from 16:05Z, 0 at the 16:15Z sweep, 50.00 from 16:47Z,
  // 0 at the 17:00Z sweep
  EXPECT_EQ(c.tokenised.series,
            (std::vector<TransitPoint>{{kFri, 0},
                                       {kF1, 10000},
                                       {kFri + 16 * kH + 15 * kM, 0},
                                       {kF2, 5000},
                                       {kFri + 17 * kH, 0}}));
  // batch: 100.00, then 150.00, then 50.00 after Monday 23:00Z, then 0 after Tuesday 23:00Z
  EXPECT_EQ(c.batch.series, (std::vector<TransitPoint>{{kFri, 0},
                                                       {kF1, 10000},
                                                       {kF2, 15000},
                                                       {kF1BatchFunds, 5000},
                                                       {kF2BatchFunds, 0}}));
}

TEST(Transit, FlowsBeforeThePeriodCountOnlyForTheirTimeInsideIt) {
  // Period Mon 31 Aug 00:00Z .. Wed 00:00Z = 2 days = 172,800 s; both flows came before it.
  const int64_t from = kFri + 3 * kD;
  auto r = compare_rails(scenario_a(), gbp_policies("m1"), TransitOptions{from, kWed});
  ASSERT_TRUE(r.ok()) << r.error().reason;
  const auto& b = currency(*r, "GBP").batch.stats;
  EXPECT_EQ(b.flows, 0u);  // none of the period's own
  EXPECT_EQ(b.timed_flows, 0u);
  EXPECT_EQ(b.payouts, 0u);  // the cycles paid only flows from before the period
  // f1: 10000 x (Mon 23:00Z - Mon 00:00Z = 82,800) = 828,000,000
  // f2: 5000 x (Tue 23:00Z - Mon 00:00Z = 86,400 + 82,800 = 169,200) = 846,000,000
  // money-time = 1,674,000,000; average = 1,674,000,000 / 172,800 = 9,687.5 -> half-even
  // 9,688 (9,687 is odd)
  EXPECT_EQ(b.money_time, ledger::Int256(1674000000LL));
  EXPECT_EQ(b.average, 9688);
  // at the period's start both are still in transit: peak 150.00 at `from`
  EXPECT_EQ(b.peak, 15000);
  EXPECT_EQ(b.peak_at_s, from);
  const auto& t = currency(*r, "GBP").tokenised.stats;
  EXPECT_EQ(t.average, 0);
  EXPECT_EQ(t.peak, 0);
  // 0 / 9,688 = 0.0%
  EXPECT_EQ(settlement::tokenised_vs_batch(currency(*r, "GBP")), "0.0");
}

// Scenario B, tokenised (sweep 15 min) with a minimum payout of 50.00, Wednesday 2 Sep:
//   g1 +30.00 10:01Z  -> 10:15 sweep: 30.00 < 50.00, carried
//   g2 +30.00 10:20Z  -> 10:30 sweep: 30 + 30 = 60.00 >= 50.00: pays g1 and g2
//   g3 -10.00 10:40Z  -> 10:45 sweep: -10.00, not positive: carried
//   g4 +40.00 10:50Z  -> 11:00 sweep: -10 + 40 = 30.00 < 50.00: carried
//   g5 +25.00 11:05Z  -> 11:15 sweep: 30 + 25 = 55.00: pays g3, g4, g5
//   g6  +1.00 11:20Z  -> 11:30 sweep: 1.00 < 50.00: carried, never paid before 12:00Z
// Batch (17:30 BST = 16:30Z cut-off, T+1): one cycle, 116.00 >= 50.00, value date Thu 3 Sep,
// funds Wed 23:00Z, after the period's end at 12:00Z.
std::vector<PayableFlow> scenario_b() {
  return {{"m2", "GBP", kWed + 10 * kH + 1 * kM, 3000},
          {"m2", "GBP", kWed + 10 * kH + 20 * kM, 3000},
          {"m2", "GBP", kWed + 10 * kH + 40 * kM, -1000},
          {"m2", "GBP", kWed + 10 * kH + 50 * kM, 4000},
          {"m2", "GBP", kWed + 11 * kH + 5 * kM, 2500},
          {"m2", "GBP", kWed + 11 * kH + 20 * kM, 100}};
}

TEST(Transit, MinimumPayoutAndNegativeCyclesCarryIntoTheNextCycle) {
  // Period Wed 10:00Z .. 12:00Z = 7,200 s.
  const int64_t from = kWed + 10 * kH;
  const int64_t to = kWed + 12 * kH;
  auto r = compare_rails(scenario_b(), gbp_policies("m2", 5000), TransitOptions{from, to});
  ASSERT_TRUE(r.ok()) << r.error().reason;
  const auto& t = currency(*r, "GBP").tokenised.stats;
  EXPECT_EQ(t.flows, 6u);
  EXPECT_EQ(t.net, 11600);    // 3000 + 3000 - 1000 + 4000 + 2500 + 100
  EXPECT_EQ(t.paid, 11500);   // all but g6
  EXPECT_EQ(t.unpaid, 100);   // g6
  EXPECT_EQ(t.payouts, 2u);   // 10:30 and 11:15
  // in transit: g1 10:01 -> 10:30 (1,740 s) x 3000 = 5,220,000
  //             g2 10:20 -> 10:30 (600 s)   x 3000 = 1,800,000
  //             g3 10:40 -> 11:15 (2,100 s) x -1000 = -2,100,000
  //             g4 10:50 -> 11:15 (1,500 s) x 4000 = 6,000,000
  //             g5 11:05 -> 11:15 (600 s)   x 2500 = 1,500,000
  //             g6 11:20 -> 12:00 (period end: unpaid, 2,400 s) x 100 = 240,000
  // money-time = 5,220,000 + 1,800,000 - 2,100,000 + 6,000,000 + 1,500,000 + 240,000
  //            = 12,660,000; average = 12,660,000 / 7,200 = 1,758.3 -> 1,758
  EXPECT_EQ(t.money_time, ledger::Int256(12660000));
  EXPECT_EQ(t.average, 1758);
  // levels: 30.00, 60.00 (10:20), 0 (10:30), -10.00, 30.00, 55.00 (11:05), 0, 1.00
  EXPECT_EQ(t.peak, 6000);
  EXPECT_EQ(t.peak_at_s, kWed + 10 * kH + 20 * kM);
  // time to funds over positive paid flows g1, g2, g4, g5:
  // (3000 x 1,740 + 3000 x 600 + 4000 x 1,500 + 2500 x 600) / (3000 + 3000 + 4000 + 2500)
  // = (5,220,000 + 1,800,000 + 6,000,000 + 1,500,000) / 12,500 = 14,520,000 / 12,500
  // = 1,161.6 -> 1,162 s; p95 of {600, 600, 1,500, 1,740}: rank ceil(3.8) = 4 -> 1,740 s
  EXPECT_EQ(t.timed_flows, 4u);
  EXPECT_EQ(t.ttf_average_s, 1162);
  EXPECT_EQ(t.ttf_p95_s, 1740);

  const auto& b = currency(*r, "GBP").batch.stats;
  EXPECT_EQ(b.paid, 11600);  // one cycle pays all 116.00 (>= 50.00)
  EXPECT_EQ(b.unpaid, 0);
  EXPECT_EQ(b.payouts, 1u);
  // all in transit until 12:00Z (funds at 23:00Z are clipped to the period's end):
  // 3000 x 7,140 + 3000 x 6,000 - 1000 x 4,800 + 4000 x 4,200 + 2500 x 3,300 + 100 x 2,400
  // = 21,420,000 + 18,000,000 - 4,800,000 + 16,800,000 + 8,250,000 + 240,000 = 59,910,000
  // average = 59,910,000 / 7,200 = 8,320.8 -> 8,321
  EXPECT_EQ(b.money_time, ledger::Int256(59910000));
  EXPECT_EQ(b.average, 8321);
  // levels 30, 60, 50, 90, 115, 116.00: the peak is the last, at g6's 11:20Z
  EXPECT_EQ(b.peak, 11600);
  EXPECT_EQ(b.peak_at_s, kWed + 11 * kH + 20 * kM);
  // batch time to funds: all to Wed 23:00Z: g1 12h59m = 46,740, g2 12h40m = 45,600, g4
  // 12h10m = 43,800, g5 11h55m = 42,900, g6 11h40m = 42,000 s (g6 is paid on this rail).
  // Weighted: (3000 x 46,740 + 3000 x 45,600 + 4000 x 43,800 + 2500 x 42,900 + 100 x 42,000)
  // / 12,600 = (140,220,000 + 136,800,000 + 175,200,000 + 107,250,000 + 4,200,000) / 12,600
  // = 563,670,000 / 12,600 = 44,735.7 -> 44,736; p95 of 5: rank ceil(4.75) = 5 -> 46,740
  EXPECT_EQ(b.timed_flows, 5u);
  EXPECT_EQ(b.ttf_average_s, 44736);
  EXPECT_EQ(b.ttf_p95_s, 46740);
}

TEST(Transit, SameDayValueFundsAtTheCutOffNotBeforeIt) {
  // T+0: a flow Wed 10:00Z (11:00 BST) goes into Wednesday's 17:30 BST = 16:30Z cut-off with
  // value date Wednesday itself, whose London midnight (Tue 23:00Z) is before the flow; the
  // money arrives at the cut-off: 16:30 - 10:00 = 6.5 h = 23,400 s.
  SettlementPolicies policies = gbp_policies("m1");
  policies.begin()->second.settlement_days = 0;
  auto r = compare_rails({{"m1", "GBP", kWed + 10 * kH, 1000}}, policies,
                         TransitOptions{kWed, kWed + kD});
  ASSERT_TRUE(r.ok()) << r.error().reason;
  EXPECT_EQ(currency(*r, "GBP").batch.stats.ttf_average_s, 23400);
  // money-time 1000 x 23,400 = 23,400,000; / 86,400 = 270.8 -> 271
  EXPECT_EQ(currency(*r, "GBP").batch.stats.average, 271);
}

TEST(Transit, HistoryAfterThePeriodIsCutOff) {
  // The same scenario B with the period ending at 11:10Z: g6 (11:20Z) is not replayed, and the
  // 11:15 sweep sees only what came before 11:10Z. So g3, g4, g5 still pay at 11:15 (55.00).
  const int64_t from = kWed + 10 * kH;
  const int64_t to = kWed + 11 * kH + 10 * kM;
  auto r = compare_rails(scenario_b(), gbp_policies("m2", 5000), TransitOptions{from, to});
  ASSERT_TRUE(r.ok()) << r.error().reason;
  const auto& t = currency(*r, "GBP").tokenised.stats;
  EXPECT_EQ(t.flows, 5u);
  EXPECT_EQ(t.paid, 11500);
  EXPECT_EQ(t.unpaid, 0);
  // g5's 11:15 funds are clipped to 11:10: g3 -1000 x 1,800 + g4 4000 x 1,200 + g5 2500 x 300
  // = -1,800,000 + 4,800,000 + 750,000 = 3,750,000; plus g1 5,220,000 and g2 1,800,000
  // = 10,770,000
  EXPECT_EQ(t.money_time, ledger::Int256(10770000));
}

TEST(Transit, FlowsWithoutPolicyAreSkippedAndReported) {
  std::vector<PayableFlow> flows = scenario_a();
  flows.push_back({"m3", "USD", kFri + 9 * kH, 2500});
  flows.push_back({"m3", "USD", kFri + 10 * kH, -500});
  flows.push_back({"m3", "USD", kFri - kD, 999});  // before the period: not counted
  flows.push_back({"m1", "EUR", kFri + 11 * kH, 700});  // m1 has a GBP policy only
  auto r = compare_rails(flows, gbp_policies("m1"), TransitOptions{kFri, kWed});
  ASSERT_TRUE(r.ok()) << r.error().reason;
  ASSERT_EQ(r->currencies.size(), 1u);  // GBP only
  ASSERT_EQ(r->skipped.size(), 2u);     // by merchant, currency
  EXPECT_EQ(r->skipped[0].merchant, "m1");
  EXPECT_EQ(r->skipped[0].currency, "EUR");
  EXPECT_EQ(r->skipped[0].flows, 1u);
  EXPECT_EQ(r->skipped[0].net, 700);
  EXPECT_EQ(r->skipped[1].merchant, "m3");
  EXPECT_EQ(r->skipped[1].currency, "USD");
  EXPECT_EQ(r->skipped[1].flows, 2u);
  EXPECT_EQ(r->skipped[1].net, 2000);  // 2500 - 500
  const std::string table = settlement::format_transit_table(*r);
  EXPECT_NE(table.find("m3 USD: 2 flows, net 20.00"), std::string::npos) << table;
  const auto j = settlement::transit_json(*r);
  EXPECT_EQ(j["skipped_no_policy"][1]["net"], "20.00");
}

TEST(Transit, PerMerchantRows) {
  std::vector<PayableFlow> flows = scenario_a();
  flows.push_back({"m0", "GBP", kF1, 20000});  // same moment as f1, twice the amount
  SettlementPolicies policies = gbp_policies("m1");
  policies[{"m0", "GBP"}] = gbp_policy();
  auto r = compare_rails(flows, policies, TransitOptions{kFri, kWed, true});
  ASSERT_TRUE(r.ok()) << r.error().reason;
  const auto& c = currency(*r, "GBP");
  ASSERT_EQ(c.merchants.size(), 2u);
  EXPECT_EQ(c.merchants[0].merchant, "m0");
  // m0: 20000 x 284,100 = 5,682,000,000; / 432,000 = 13,152.8 -> 13,153
  EXPECT_EQ(c.merchants[0].batch.average, 13153);
  EXPECT_EQ(c.merchants[0].batch.payouts, 1u);
  // m1 alone is scenario A: 10,835
  EXPECT_EQ(c.merchants[1].batch.average, 10835);
  // the currency: 4,680,900,000 + 5,682,000,000 = 10,362,900,000 / 432,000 = 23,988.2 ->
  // 23,988 (rounded once from the currency's money-time; equal to 13,153 + 10,835 here)
  EXPECT_EQ(c.batch.stats.average, 23988);
  EXPECT_EQ(c.batch.stats.payouts, 3u);  // m0's Friday, m1's Friday and Tuesday
  // peak: m0 + f1 + f2 = 350.00 from f2's 16:47Z
  EXPECT_EQ(c.batch.stats.peak, 35000);
}

TEST(Transit, CalendarGapsAreErrorsNamingCurrencyAndDate) {
  // 2028 is outside the GBP calendar (2026-2027): refused, never guessed.
  const int64_t jan3_2028 = 1830513600;  // 2028-01-03T12:00:00Z
  auto r = compare_rails({{"m1", "GBP", jan3_2028, 100}}, gbp_policies("m1"),
                         TransitOptions{jan3_2028 - kD, jan3_2028 + kD});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::kInvalidArgument);
  EXPECT_NE(r.error().reason.find("GBP"), std::string::npos) << r.error().reason;
  EXPECT_NE(r.error().reason.find("2028-01-03"), std::string::npos) << r.error().reason;
  EXPECT_NE(r.error().reason.find("m1"), std::string::npos) << r.error().reason;

  // A currency with no business-day calendar (CHF): kUnknownAsset naming it.
  SettlementPolicies chf{{{"m1", "CHF"}, gbp_policy()}};
  auto c = compare_rails({{"m1", "CHF", kF1, 100}}, chf, TransitOptions{kFri, kWed});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, Code::kUnknownAsset);
  EXPECT_NE(c.error().reason.find("CHF"), std::string::npos) << c.error().reason;

  auto empty = compare_rails({}, gbp_policies("m1"), TransitOptions{kWed, kWed});
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, Code::kInvalidArgument);
}

TEST(Transit, DefaultPeriodIsTheWholeDaysOfTheHistory) {
  EXPECT_EQ(settlement::default_period({}), std::nullopt);
  // f2 (Fri 16:47Z) and f1 (Fri 16:05Z), and one on Wednesday 00:00:00Z exactly: Friday 00:00Z
  // to Thursday 00:00Z (the day after Wednesday).
  std::vector<PayableFlow> flows = scenario_a();
  std::swap(flows[0], flows[1]);
  flows.push_back({"m1", "GBP", kWed, 1});
  EXPECT_EQ(settlement::default_period(flows), (std::pair<int64_t, int64_t>{kFri, kWed + kD}));
}

TEST(Transit, PercentAndHoursUseOneHalfEvenRounding) {
  EXPECT_EQ(settlement::percent(5, 8), "62.5");   // 0.625 exactly
  EXPECT_EQ(settlement::percent(1, 16), "6.2");   // 6.25 -> half-even 6.2 (half-up: 6.3)
  EXPECT_EQ(settlement::percent(3, 16), "18.8");  // 18.75 -> 18.8 (7 is odd)
  EXPECT_EQ(settlement::percent(1, 3, 2), "33.33");
  EXPECT_EQ(settlement::percent(-1, 4), "-25.0");
  EXPECT_EQ(settlement::percent(1, 0), std::nullopt);
  EXPECT_EQ(settlement::hours_1dp(312100), "86.7");   // 86.694...
  EXPECT_EQ(settlement::hours_1dp(368100), "102.2");  // 102.25 -> half-even 102.2
  EXPECT_EQ(settlement::hours_1dp(900), "0.2");       // 0.25 -> 0.2
  EXPECT_EQ(settlement::hours_1dp(0), "0.0");
}

TEST(Transit, TableAndJsonShowBothRails) {
  auto r = compare_rails(scenario_a(), gbp_policies("m1"), TransitOptions{kFri, kWed});
  ASSERT_TRUE(r.ok()) << r.error().reason;
  const std::string table = settlement::format_transit_table(*r);
  // average 108.35 vs 0.23; peak 150.00 vs 100.00; hours: 312,060 s = 86.68 -> 86.7 vs 660 s
  // = 0.18 -> 0.2, p95 367,980 s = 102.22 -> 102.2 vs 780 s = 0.22 -> 0.2
  for (const char* want : {"108.35", "0.23", "150.00", "100.00", "86.7", "102.2",
                           "tokenised / batch, average in transit: 0.2%"}) {
    EXPECT_NE(table.find(want), std::string::npos) << want << " in\n" << table;
  }
  const auto j = settlement::transit_json(*r);
  EXPECT_EQ(j["from"], "2026-08-28T00:00:00Z");
  EXPECT_EQ(j["to"], "2026-09-02T00:00:00Z");
  EXPECT_EQ(j["period_s"], 432000);
  const auto& g = j["currencies"][0];
  EXPECT_EQ(g["currency"], "GBP");
  EXPECT_EQ(g["batch"]["in_transit_average"], "108.35");
  EXPECT_EQ(g["batch"]["in_transit_peak"], "150.00");
  EXPECT_EQ(g["batch"]["in_transit_peak_at"], "2026-08-28T16:47:00Z");
  EXPECT_EQ(g["batch"]["money_time_minor_seconds"], "4680900000");
  EXPECT_EQ(g["batch"]["time_to_funds_p95_s"], 367980);
  EXPECT_EQ(g["tokenised"]["in_transit_average"], "0.23");
  EXPECT_EQ(g["tokenised"]["time_to_funds_average_s"], 660);
  EXPECT_EQ(g["tokenised_vs_batch_average_percent"], "0.2");
}

TEST(Transit, ChartIsDrawnByGnuplot) {
  auto r = compare_rails(scenario_a(), gbp_policies("m1"), TransitOptions{kFri, kWed, false, true});
  ASSERT_TRUE(r.ok()) << r.error().reason;
  TempDir dir;
  EXPECT_EQ(settlement::transit_chart_is_png(dir.path() + "/c.png"), true);
  EXPECT_EQ(settlement::transit_chart_is_png(dir.path() + "/c.svg"), false);
  EXPECT_EQ(settlement::transit_chart_is_png(dir.path() + "/c.pdf"), std::nullopt);
  auto script = settlement::transit_chart_script(*r, dir.path() + "/c.svg", dir.path());
  ASSERT_TRUE(script.ok()) << script.error().reason;
  EXPECT_NE(script->find("with steps"), std::string::npos) << *script;
  // The batch data: the step levels in major units, held until the period's end.
  std::ifstream data(dir.path() + "/GBP_batch.dat");
  std::stringstream text;
  text << data.rdbuf();
  EXPECT_EQ(text.str(), fmt::format("{} 0.00\n{} 100.00\n{} 150.00\n{} 50.00\n{} 0.00\n{} 0.00\n",
                                    kFri, kF1, kF2, kF1BatchFunds, kF2BatchFunds, kWed));
  if (std::system("gnuplot --version > /dev/null 2>&1") != 0) {
    GTEST_SKIP() << "gnuplot is not installed";
  }
  const std::string svg = dir.path() + "/transit.svg";
  Status s = settlement::plot_transit(*r, svg);
  ASSERT_TRUE(s.ok()) << s.error().reason;
  std::ifstream in(svg);
  std::stringstream chart;
  chart << in.rdbuf();
  EXPECT_NE(chart.str().find("<svg"), std::string::npos);
  EXPECT_NE(chart.str().find("tokenised"), std::string::npos);
  EXPECT_FALSE(settlement::plot_transit(*r, dir.path() + "/c.pdf").ok());
}

// The per-merchant step on hand-built statement lines: the settlement events (which the
// lead's settlement_instructed/returned/reserve events will be: they also post to
// merchant:<id>:settling or :reserve) and payout_sent are left out, lines of one event are
// netted per currency, pending lines and zero-net events are no flows.
TEST(TransitFlows, StatementLinesNetPerEventAndLeaveOutSettlement) {
  auto line = [](const std::string& asset, uint32_t partition, uint64_t offset,
                 ledger::Side side, Int128 minor, int64_t at,
                 ledger::Bucket bucket = ledger::Bucket::kPosted,
                 uint8_t body = static_cast<uint8_t>(v1::Envelope::kCardCaptured)) {
    projections::StatementLine l;
    l.asset = asset;
    l.partition = partition;
    l.line.offset = offset;
    l.line.side = side;
    l.line.bucket = bucket;
    l.line.amount_minor = minor;
    l.line.body_case = body;
    l.line.event_id = fmt::format("e{}", offset);
    l.line.occurred_at_s = at;
    return l;
  };
  using ledger::Side;
  const std::vector<projections::StatementLine> lines{
      // offset 1: capture 100.00 credited, fee 2.50 debited -> +97.50
      line("GBP", 0, 1, Side::kCredit, 10000, kF1),
      line("GBP", 0, 1, Side::kDebit, 250, kF1),
      // offset 2: a settlement instruction (Dr payable, Cr settling): left out
      line("GBP", 0, 2, Side::kDebit, 9750, kF1 + kH),
      // offset 3: payout_sent: left out
      line("GBP", 0, 3, Side::kDebit, 1000, kF1 + 2 * kH, ledger::Bucket::kPosted,
           static_cast<uint8_t>(v1::Envelope::kPayoutSent)),
      // offset 4: a settlement return (Dr settling, Cr payable): left out
      line("GBP", 0, 4, Side::kCredit, 9750, kF1 + 3 * kH),
      // offset 5: refund -30.00
      line("GBP", 0, 5, Side::kDebit, 3000, kF1 + 4 * kH),
      // offset 6: a pending line (a hold) and nothing posted: no flow
      line("GBP", 0, 6, Side::kCredit, 500, kF1 + 5 * kH, ledger::Bucket::kPending),
      // offset 7: credited and debited the same: nets to zero
      line("GBP", 0, 7, Side::kCredit, 400, kF1 + 6 * kH),
      line("GBP", 0, 7, Side::kDebit, 400, kF1 + 6 * kH),
      // offset 8 in USD: +12.00
      line("USD", 0, 8, Side::kCredit, 1200, kF1 + 7 * kH),
  };
  const std::set<settlement::StoredEvent> settlement_events{{0, 2}, {0, 4}};
  settlement::PayableFlowsRead read;
  auto flows = settlement::flows_from_statement("m1", lines, settlement_events, &read);
  ASSERT_TRUE(flows.ok()) << flows.error().reason;
  EXPECT_EQ(*flows, (std::vector<PayableFlow>{{"m1", "GBP", kF1, 9750},  // 10000 - 250
                                              {"m1", "GBP", kF1 + 4 * kH, -3000},
                                              {"m1", "USD", kF1 + 7 * kH, 1200}}));
  EXPECT_EQ(read.events, 3u);
  EXPECT_EQ(read.settlement_events, 2u);
  EXPECT_EQ(read.payout_events, 1u);
  EXPECT_EQ(read.zero_events, 1u);
}

// Payable flows read from a store the real fold built: captures and refunds are flows, a
// payout is left out.
TEST(TransitFlows, PayableFlowsFromTheStore) {
  Books books(2);
  int n = 0;
  auto ev = [&](const std::string& merchant, const std::string& at, const std::string& body) {
    return json_event(fmt::format(
        R"({{"event_id":"t{}","merchant_id":"{}","occurred_at":"{}",{}}})", n++, merchant, at,
        body));
  };
  auto money = [](const std::string& ccy, const std::string& amount) {
    return fmt::format(R"({{"currency":"{}","amount":"{}"}})", ccy, amount);
  };
  books.append({
      ev("m1", "2026-08-28T15:00:00Z",
         fmt::format(R"("card_authorised":{{"payment_id":"p1","amount":{},)"
                     R"("expires_at":"2026-09-05T00:00:00Z"}})",
                     money("GBP", "100.00"))),
      ev("m1", "2026-08-28T16:00:00Z",
         fmt::format(R"("card_captured":{{"payment_id":"p1","amount":{}}})",
                     money("GBP", "100.00"))),
      ev("m1", "2026-08-29T09:00:00Z",
         fmt::format(R"("card_refunded":{{"payment_id":"p1","refund_id":"r1","amount":{}}})",
                     money("GBP", "30.00"))),
      ev("m1", "2026-08-30T09:00:00Z",
         fmt::format(R"("payout_sent":{{"payout_id":"po1","amount":{}}})",
                     money("GBP", "50.00"))),
      ev("m2", "2026-08-28T12:00:00Z",
         fmt::format(R"("card_authorised":{{"payment_id":"q1","amount":{},)"
                     R"("expires_at":"2026-09-05T00:00:00Z"}})",
                     money("USD", "20.00"))),
      ev("m2", "2026-08-28T13:00:00Z",
         fmt::format(R"("card_captured":{{"payment_id":"q1","amount":{}}})",
                     money("USD", "20.00"))),
  });
  books.fold();
  for (const auto& r : books.rejects()) ADD_FAILURE() << r.event_id << ": " << r.reason;
  // Sanity: the payout was booked (payable 100 - 30 - 50 = 20.00).
  EXPECT_EQ(books.balance("merchant:m1:payable", "GBP"), "20.00/0.00");

  settlement::PayableFlowsRead read;
  auto flows = settlement::payable_flows(books.store(), "", &read);
  ASSERT_TRUE(flows.ok()) << flows.error().reason;
  // The authorisations hold nothing on payable; capture +100.00 GBP at 16:00Z, refund -30.00
  // at 09:00Z Saturday, m2's capture +20.00 USD at 13:00Z; in occurred_at order.
  const int64_t capture_m1 = kFri + 16 * kH;
  const int64_t refund_m1 = kFri + kD + 9 * kH;
  const int64_t capture_m2 = kFri + 13 * kH;
  EXPECT_EQ(*flows, (std::vector<PayableFlow>{{"m2", "USD", capture_m2, 2000},
                                              {"m1", "GBP", capture_m1, 10000},
                                              {"m1", "GBP", refund_m1, -3000}}));
  EXPECT_EQ(read.events, 3u);
  EXPECT_EQ(read.payout_events, 1u);
  EXPECT_EQ(read.settlement_events, 0u);

  auto only_m2 = settlement::payable_flows(books.store(), "m2");
  ASSERT_TRUE(only_m2.ok()) << only_m2.error().reason;
  EXPECT_EQ(*only_m2, (std::vector<PayableFlow>{{"m2", "USD", capture_m2, 2000}}));

  // Fed to the comparison with a GBP policy for m1 only: m2's USD is skipped. The capture is
  // paid on both rails (batch: Friday's 16:30Z cut-off; tokenised: the 16:00Z sweep); the
  // Saturday refund makes its cycle negative (-30.00), so it is carried and still unpaid at
  // the end: paid 100.00, unpaid -30.00.
  auto r = compare_rails(*flows, gbp_policies("m1"), TransitOptions{kFri, kWed});
  ASSERT_TRUE(r.ok()) << r.error().reason;
  EXPECT_EQ(currency(*r, "GBP").batch.stats.paid, 10000);
  EXPECT_EQ(currency(*r, "GBP").batch.stats.unpaid, -3000);
  EXPECT_EQ(currency(*r, "GBP").tokenised.stats.paid, 10000);
  EXPECT_EQ(currency(*r, "GBP").tokenised.stats.unpaid, -3000);
  ASSERT_EQ(r->skipped.size(), 1u);
  EXPECT_EQ(r->skipped[0].merchant, "m2");
}

}  // namespace
}  // namespace payledger::testing
