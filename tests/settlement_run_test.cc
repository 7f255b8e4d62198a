// Settlement schedules and the settlement run (issue 11, docs/settlement.md): cut-offs in a
// zone with DST, T+N over holiday calendars, tokenised sweeps; `settle` twice = once, reserves
// released on their day, rebuild reproduces every instruction, both rails pay the same total.
// Expected dates and amounts by hand, with the arithmetic beside them.
#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "events/codec.h"
#include "projections/queries.h"
#include "settlement/schedule.h"
#include "settlement/settle.h"
#include "test_util.h"
#include "testlib.h"

namespace payledger::testing {
namespace {

using settlement::Cycle;

int64_t at(const std::string& rfc3339) {
  v1::Envelope e = json_event(fmt::format(R"({{"event_id":"t","occurred_at":"{}"}})", rfc3339));
  return e.occurred_at().seconds();
}

std::string iso(int64_t s) {
  google::protobuf::Timestamp t;
  t.set_seconds(s);
  return google::protobuf::util::TimeUtil::ToString(t);
}

ledger::SettlementPolicy gbp_policy(ledger::Rail rail, uint32_t days = 1) {
  ledger::SettlementPolicy p;
  p.rail = rail;
  p.cutoff_minute = 17 * 60 + 30;  // 17:30 London
  p.time_zone = "Europe/London";
  p.settlement_days = days;
  p.sweep_minutes = 15;
  return p;
}

// Friday 2026-08-28 17:00 London (BST, 16:00 UTC): before the 17:30 cut-off, so Friday's
// cycle; T+1 business day skips the weekend and Monday 31 August (Summer bank holiday):
// value date Tuesday 1 September, funds from its start, 00:00 BST = Monday 23:00 UTC.
// The tokenised rail pays at the next 15-minute sweep: 16:00 UTC is one, so at once;
// 16:05 waits 10 minutes.
TEST(SettlementSchedule, FridayLondonCaptureUnderTPlus1WithMondayHolidayVsTokenised) {
  auto batch = settlement::next_batch_cycle(gbp_policy(ledger::Rail::kBatch), "GBP",
                                            at("2026-08-28T16:00:00Z"));
  ASSERT_TRUE(batch.ok()) << batch.error().reason;
  EXPECT_EQ(batch->cutoff_s, at("2026-08-28T16:30:00Z"));  // 17:30 BST
  EXPECT_EQ(batch->cycle_date.to_string(), "2026-08-28");
  EXPECT_EQ(batch->value_date.to_string(), "2026-09-01");
  EXPECT_EQ(batch->funds_s, at("2026-08-31T23:00:00Z"));
  // Time to funds: Fri 16:00 -> Mon 23:00 UTC = 3 d 7 h = 259,200 + 25,200 = 284,400 s.
  EXPECT_EQ(batch->funds_s - at("2026-08-28T16:00:00Z"), 284400);
  EXPECT_EQ(batch->instruction_id("GBP", ledger::Rail::kBatch), "stl-GBP-2026-08-28");

  auto policy = gbp_policy(ledger::Rail::kTokenised);
  Cycle now = settlement::next_sweep(policy, at("2026-08-28T16:00:00Z"));
  EXPECT_EQ(now.funds_s, at("2026-08-28T16:00:00Z"));  // 0 s
  Cycle later = settlement::next_sweep(policy, at("2026-08-28T16:05:00Z"));
  EXPECT_EQ(later.funds_s - at("2026-08-28T16:05:00Z"), 600);  // 16:15 - 16:05
  EXPECT_EQ(later.instruction_id("GBP", ledger::Rail::kTokenised), "stl-GBP-2026-08-28T1615");
}

// 17:45 London on that Friday misses the cut-off: the next open day is Tuesday (Monday is the
// holiday), its cut-off 17:30 BST = 16:30 UTC, T+1 = Wednesday 2 September.
TEST(SettlementSchedule, AfterTheCutOffTheNextBusinessDaysCycle) {
  auto batch = settlement::next_batch_cycle(gbp_policy(ledger::Rail::kBatch), "GBP",
                                            at("2026-08-28T16:45:00Z"));
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->cutoff_s, at("2026-09-01T16:30:00Z"));
  EXPECT_EQ(batch->value_date.to_string(), "2026-09-02");
  // The last cycle at or before Sunday noon is Friday's.
  auto last = settlement::last_batch_cycle(gbp_policy(ledger::Rail::kBatch), "GBP",
                                           at("2026-08-30T12:00:00Z"));
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->cycle_date.to_string(), "2026-08-28");
}

// In winter London is UTC+0: the 17:30 cut-off is 17:30 UTC. New York in summer is UTC-4:
// a 17:00 cut-off is 21:00 UTC; in winter (EST, UTC-5) 22:00 UTC.
TEST(SettlementSchedule, CutOffsFollowDaylightSaving) {
  auto winter = settlement::next_batch_cycle(gbp_policy(ledger::Rail::kBatch), "GBP",
                                             at("2026-12-01T10:00:00Z"));
  ASSERT_TRUE(winter.ok());
  EXPECT_EQ(winter->cutoff_s, at("2026-12-01T17:30:00Z"));
  ledger::SettlementPolicy ny;
  ny.rail = ledger::Rail::kBatch;
  ny.cutoff_minute = 17 * 60;
  ny.time_zone = "America/New_York";
  ny.settlement_days = 2;
  auto summer = settlement::next_batch_cycle(ny, "USD", at("2026-07-01T12:00:00Z"));
  ASSERT_TRUE(summer.ok());
  EXPECT_EQ(summer->cutoff_s, at("2026-07-01T21:00:00Z"));
  // Wed 1 July + 2 business days: Thu 2, Fri 3 (Fedwire open on 3 July 2026).
  EXPECT_EQ(summer->value_date.to_string(), "2026-07-03");
  auto est = settlement::next_batch_cycle(ny, "USD", at("2026-11-02T12:00:00Z"));
  ASSERT_TRUE(est.ok());
  EXPECT_EQ(est->cutoff_s, at("2026-11-02T22:00:00Z"));  // DST ended Sunday 1 November
}

TEST(SettlementSchedule, OutsideTheCalendarsYearsIsRefusedNotGuessed) {
  auto late = settlement::next_batch_cycle(gbp_policy(ledger::Rail::kBatch, 2), "GBP",
                                           at("2027-12-30T10:00:00Z"));
  ASSERT_FALSE(late.ok());  // Thu 30 Dec + 2 business days needs January 2028
  EXPECT_EQ(late.error().code, Code::kInvalidArgument);
  auto none = settlement::next_batch_cycle(gbp_policy(ledger::Rail::kBatch), "CHF",
                                           at("2026-12-01T10:00:00Z"));
  EXPECT_FALSE(none.ok());  // no CHF calendar
}

int next_id = 0;

v1::Envelope event(const std::string& merchant, const std::string& when, const std::string& body) {
  return json_event(fmt::format(R"({{"event_id":"e{}","merchant_id":"{}","occurred_at":"{}",{}}})",
                                next_id++, merchant, when, body));
}

// A GBP card payment captured at `when`: authorised a minute before.
std::vector<v1::Envelope> sale(const std::string& merchant, const std::string& amount,
                               const std::string& when) {
  const std::string p = fmt::format("p{}", next_id);
  const int64_t t = at(when);
  v1::Envelope auth = event(merchant, when,
                            fmt::format(R"("card_authorised":{{"payment_id":"{}",)"
                                        R"("amount":{{"currency":"GBP","amount":"{}"}},)"
                                        R"("expires_at":"2027-06-30T00:00:00Z"}})",
                                        p, amount));
  auth.mutable_occurred_at()->set_seconds(t - 60);
  return {auth, event(merchant, when,
                      fmt::format(R"("card_captured":{{"payment_id":"{}",)"
                                  R"("amount":{{"currency":"GBP","amount":"{}"}}}})",
                                  p, amount))};
}

v1::Envelope policy_event(const std::string& merchant, const std::string& rail,
                          const std::string& extra = "") {
  return event(merchant, "2026-01-01T00:00:00Z",
               fmt::format(R"("merchant_settlement_policy_set":{{"currency":"GBP",)"
                           R"("rail":"SETTLEMENT_RAIL_{}","cutoff_local":"17:30",)"
                           R"("time_zone":"Europe/London","settlement_days":1{}}})",
                           rail, extra.empty() ? "" : "," + extra));
}

// m1's GBP batch policy (with `extra` fields) and one sale of `amount` at `when`, folded.
void open_books(Books& books, const std::string& extra, const std::string& amount,
                const std::string& when) {
  std::vector<v1::Envelope> log = {policy_event("m1", "BATCH", extra)};
  for (auto& e : sale("m1", amount, when)) log.push_back(e);
  books.append(log);
  ASSERT_EQ(books.fold().rejected, 0u);
}

// Runs `settle` at `when` on the books: plans from the store, appends, folds. Returns the plan.
settlement::Plan settle(Books& books, const std::string& when) {
  auto plan = settlement::plan_settlement(projections::Stores{&books.store()}, at(when), "");
  EXPECT_TRUE(plan.ok()) << (plan.ok() ? "" : plan.error().reason);
  if (!plan.ok()) return {};
  books.append(plan->events);
  EXPECT_EQ(books.fold().rejected, 0u) << "at " << when;
  return std::move(plan).value();
}

std::string instructed(const settlement::Plan& plan) {
  std::string out;
  for (const auto& d : plan.decisions) {
    out += fmt::format("{} {} {} {}+{} {};", d.merchant, settlement::outcome_name(d.outcome),
                       d.instruction_id, ledger::format_scaled(d.amount, 2),
                       ledger::format_scaled(d.reserve, 2), d.value_date);
  }
  return out;
}

std::string stored_instructions(Books& books) {
  auto rows = projections::list_settlement(projections::Stores{&books.store()}, "").value();
  std::string out;
  for (const auto& r : rows.instructions) {
    out += fmt::format("{} {} {} {} {};", r.merchant, r.instruction_id,
                       ledger::format_scaled(r.instruction.amount, 2),
                       ledger::instruction_status_name(r.instruction.status),
                       r.instruction.value_date_s);
  }
  return out;
}

TEST(SettlementRun, TwiceIsOnceAndRebuildReproducesEveryPayout) {
  Books books(2);
  std::vector<v1::Envelope> log = {policy_event("m1", "BATCH"), policy_event("m2", "TOKENISED")};
  for (auto& e : sale("m1", "120.00", "2026-08-28T09:00:00Z")) log.push_back(e);
  for (auto& e : sale("m2", "80.00", "2026-08-28T09:10:00Z")) log.push_back(e);
  books.append(log);
  ASSERT_EQ(books.fold().rejected, 0u);
  // 16:40 UTC = 17:40 BST, after Friday's cut-off; the sweep at 16:30 is the tokenised cycle.
  auto first = settle(books, "2026-08-28T16:40:00Z");
  EXPECT_EQ(instructed(first),
            "m1 instructed stl-GBP-2026-08-28 120.00+0.00 2026-09-01;"
            "m2 instructed stl-GBP-2026-08-28T1630 80.00+0.00 2026-08-28;");
  EXPECT_EQ(first.events.size(), 4u);  // m1: instructed; m2: instructed, minted, transferred
  const std::string digest = books.digest();
  const std::string stored = stored_instructions(books);
  // Same moment again: both cycles are booked, nothing is appended, the books are the same.
  auto second = settle(books, "2026-08-28T16:40:00Z");
  EXPECT_TRUE(second.events.empty());
  EXPECT_EQ(instructed(second),
            "m1 already_instructed stl-GBP-2026-08-28 0.00+0.00 ;"
            "m2 already_instructed stl-GBP-2026-08-28T1630 0.00+0.00 ;");
  EXPECT_EQ(books.digest(), digest);
  // Rebuild from the log: the same instructions and the same digest.
  books.drop_store();
  ASSERT_EQ(books.fold().rejected, 0u);
  EXPECT_EQ(stored_instructions(books), stored);
  EXPECT_EQ(books.digest(), digest);
  EXPECT_NE(stored.find("m2 stl-GBP-2026-08-28T1630 80.00 transferred"), std::string::npos);
}

// 10% of each cycle's new money held for 7 days from the cut-off: Friday 28 August's 200.00
// pays 180.00 and holds 20.00 until Friday 4 September 16:30 UTC (17:30 BST, that day's
// cut-off). A run a minute before finds no cycle due (Thursday's cut-off was the day before)
// and nothing to release; the run at 16:40 releases it and pays it with that day's 50.00 sale:
// 70.00, of which 10% of the new 50.00 = 5.00 is held. A 30.00 sale at 16:35, after the
// cut-off, waits for Monday's cycle.
TEST(SettlementRun, ReserveIsHeldAndReleasedOnItsDay) {
  Books books(1);
  open_books(books, R"("reserve_percent":"10","reserve_days":7)", "200.00", "2026-08-28T09:00:00Z");
  EXPECT_EQ(instructed(settle(books, "2026-08-28T16:40:00Z")),
            "m1 instructed stl-GBP-2026-08-28 180.00+20.00 2026-09-01;");
  books.append(sale("m1", "50.00", "2026-09-04T09:00:00Z"));
  ASSERT_EQ(books.fold().rejected, 0u);
  auto early = settle(books, "2026-09-04T16:29:00Z");
  EXPECT_EQ(instructed(early), "m1 not_due  0.00+0.00 ;");
  EXPECT_TRUE(early.events.empty());  // the reserve is held until 16:30
  EXPECT_EQ(books.balance("merchant:m1:reserve", "GBP"), "20.00/0.00");
  books.append(sale("m1", "30.00", "2026-09-04T16:35:00Z"));
  ASSERT_EQ(books.fold().rejected, 0u);
  auto due = settle(books, "2026-09-04T16:40:00Z");
  // 50.00 + 20.00 released = 70.00 (the 30.00 came after the cut-off); reserve 10% x 50.00 =
  // 5.00; paid 65.00; value date T+1 = Monday 7 September.
  EXPECT_EQ(instructed(due), "m1 instructed stl-GBP-2026-09-04 65.00+5.00 2026-09-07;");
  ASSERT_EQ(due.decisions.size(), 1u);
  EXPECT_EQ(ledger::format_scaled(due.decisions[0].released, 2), "20.00");
  ASSERT_EQ(due.events.size(), 2u);
  EXPECT_EQ(due.events[0].body_case(), v1::Envelope::kSettlementReserveReleased);
  EXPECT_EQ(books.balance("merchant:m1:reserve", "GBP"), "5.00/0.00");   // 20 - 20 + 5
  EXPECT_EQ(books.balance("merchant:m1:payable", "GBP"), "30.00/0.00");  // the late sale
  // Saturday: no cut-off that day.
  EXPECT_EQ(instructed(settle(books, "2026-09-05T16:40:00Z")), "m1 not_due  0.00+0.00 ;");
  // Monday's cycle pays the 30.00: reserve 3.00, paid 27.00, value Tuesday 8 September.
  EXPECT_EQ(instructed(settle(books, "2026-09-07T16:40:00Z")),
            "m1 instructed stl-GBP-2026-09-07 27.00+3.00 2026-09-08;");
}

// A reserve is released at the same local cut-off N days on, across a clock change: held on
// Thursday 26 March 2026 (17:30 GMT = 17:30 UTC), due Thursday 2 April at 17:30 BST = 16:30
// UTC (not 17:30 UTC). The run at 16:40 UTC that day releases and pays it: 10.00, no new money
// so no reserve; T+1 from Thursday skips Good Friday (3 April) and Easter Monday (6 April):
// Tuesday 7 April.
TEST(SettlementRun, AReserveIsReleasedAtItsLocalCutOffAcrossTheClockChange) {
  Books books(1);
  open_books(books, R"("reserve_percent":"10","reserve_days":7)", "100.00",
             "2026-03-26T09:00:00Z");
  EXPECT_EQ(instructed(settle(books, "2026-03-26T17:40:00Z")),
            "m1 instructed stl-GBP-2026-03-26 90.00+10.00 2026-03-27;");
  auto rows = projections::list_settlement(projections::Stores{&books.store()}, "").value();
  ASSERT_EQ(rows.instructions.size(), 1u);
  EXPECT_EQ(rows.instructions[0].instruction.reserve_release_s, at("2026-04-02T16:30:00Z"));
  EXPECT_EQ(instructed(settle(books, "2026-04-02T16:40:00Z")),
            "m1 instructed stl-GBP-2026-04-02 10.00+0.00 2026-04-07;");
}

// A returned payout is payable again but is not new money: the next cycle pays it without
// holding a second reserve on it. 150.00 sale, 10%: 135.00 paid + 15.00 held; returned; the
// next business day's cycle pays the 135.00 with no reserve (reserve account stays 15.00).
TEST(SettlementRun, AReturnedPayoutIsNotReservedTwice) {
  Books books(1);
  open_books(books, R"("reserve_percent":"10","reserve_days":7)", "150.00", "2026-08-27T09:00:00Z");
  EXPECT_EQ(instructed(settle(books, "2026-08-27T16:40:00Z")),
            "m1 instructed stl-GBP-2026-08-27 135.00+15.00 2026-08-28;");
  books.append({event("m1", "2026-08-28T09:00:00Z",
                      R"("settlement_returned":{"instruction_id":"stl-GBP-2026-08-27",)"
                      R"("reason":"AC01 incorrect account number"})")});
  ASSERT_EQ(books.fold().rejected, 0u);
  EXPECT_EQ(instructed(settle(books, "2026-08-28T16:40:00Z")),
            "m1 instructed stl-GBP-2026-08-28 135.00+0.00 2026-09-01;");
  EXPECT_EQ(books.balance("merchant:m1:reserve", "GBP"), "15.00/0.00");
}

TEST(SettlementRun, BelowTheMinimumWaitsForTheNextCycle) {
  Books books(1);
  open_books(books, R"("minimum_payout":{"currency":"GBP","amount":"100.00"})", "60.00",
             "2026-08-27T09:00:00Z");
  EXPECT_EQ(instructed(settle(books, "2026-08-27T16:40:00Z")),
            "m1 below_minimum stl-GBP-2026-08-27 0.00+0.00 ;");
  books.append(sale("m1", "45.00", "2026-08-28T09:00:00Z"));
  ASSERT_EQ(books.fold().rejected, 0u);
  // 60.00 + 45.00 = 105.00 >= 100.00.
  EXPECT_EQ(instructed(settle(books, "2026-08-28T16:40:00Z")),
            "m1 instructed stl-GBP-2026-08-28 105.00+0.00 2026-09-01;");
}

// The same sales under each rail (two books, one policy each), settled by hourly runs over
// four days: the same total is paid; the tokenised rail pays each sale within the hour, the
// batch rail after the cut-off and T+1.
TEST(SettlementRun, BothRailsPayTheSameTotalOnlyLater) {
  Books batch(1), tokenised(1);
  const std::vector<std::pair<std::string, std::string>> sales = {
      {"25.00", "2026-08-27T08:15:00Z"},
      {"40.50", "2026-08-27T17:20:00Z"},
      {"9.99", "2026-08-28T11:00:00Z"},
      {"100.00", "2026-08-29T10:00:00Z"},
      {"0.51", "2026-08-31T12:00:00Z"}};
  batch.append({policy_event("m1", "BATCH")});
  tokenised.append({policy_event("m1", "TOKENISED")});
  size_t next_sale = 0;
  ledger::Int128 paid_batch = 0, paid_tokenised = 0;
  int64_t first_batch_payment = 0, first_token_payment = 0;
  for (int hour = 0; hour < 24 * 6; ++hour) {
    const int64_t now = at("2026-08-27T00:00:00Z") + hour * 3600;
    while (next_sale < sales.size() && at(sales[next_sale].second) <= now) {
      auto s = sale("m1", sales[next_sale].first, sales[next_sale].second);
      batch.append(s);
      tokenised.append(s);
      ++next_sale;
    }
    ASSERT_EQ(batch.fold().rejected, 0u);
    ASSERT_EQ(tokenised.fold().rejected, 0u);
    const std::string when = iso(now);
    for (auto* books : {&batch, &tokenised}) {
      auto plan = settle(*books, when);
      for (const auto& d : plan.decisions) {
        if (d.outcome != settlement::Outcome::kInstructed) continue;
        if (books == &batch) {
          paid_batch += d.amount;
          if (first_batch_payment == 0) first_batch_payment = now;
        } else {
          paid_tokenised += d.amount;
          if (first_token_payment == 0) first_token_payment = now;
        }
      }
    }
  }
  // 25.00 + 40.50 + 9.99 + 100.00 + 0.51 = 176.00 on both rails.
  EXPECT_EQ(ledger::format_scaled(paid_batch, 2), "176.00");
  EXPECT_EQ(ledger::format_scaled(paid_tokenised, 2), "176.00");
  EXPECT_EQ(batch.balance("merchant:m1:payable", "GBP"), "0.00/0.00");
  EXPECT_EQ(tokenised.balance("merchant:m1:payable", "GBP"), "0.00/0.00");
  // The first sale (08:15 UTC Thursday) is paid by the 09:00 run on the tokenised rail
  // (sweep 09:00), by the 17:00 run on the batch rail (cut-off 17:30 BST = 16:30 UTC; the
  // runs before it that day find no cycle due).
  EXPECT_EQ(first_token_payment, at("2026-08-27T09:00:00Z"));
  EXPECT_EQ(first_batch_payment, at("2026-08-27T17:00:00Z"));
}

}  // namespace
}  // namespace payledger::testing
