// FX back-test (issue 10 item 6, docs/fx.md "Back-test"): the merchant-driven flows of the
// house's position replayed under three policies. Expected amounts by hand, arithmetic beside.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <string>
#include <vector>

#include "events/codec.h"
#include "projections/backtest.h"
#include "test_util.h"
#include "testlib.h"

namespace payledger::testing {
namespace {

int next_id = 0;

std::string day_time(int day, const std::string& hms) {
  return fmt::format("2026-01-{:02}T{}Z", day + 1, hms);
}

v1::Envelope fix(int day, const std::string& mid, const std::string& bid, const std::string& ask) {
  const std::string t = day_time(day, "16:00:00");
  return json_event(fmt::format(
      R"({{"event_id":"r{}","merchant_id":"","occurred_at":"{}","fx_rate_published":)"
      R"({{"pair":"USD/BRL","mid":"{}","bid":"{}","ask":"{}","source":"ECB","as_of":"{}"}}}})",
      next_id++, t, mid, bid, ask, t));
}

v1::Envelope pix(const std::string& brl, const std::string& at) {
  return json_event(fmt::format(
      R"({{"event_id":"e{}","merchant_id":"m1","occurred_at":"{}","bank_transfer_received":)"
      R"({{"payment_id":"p{}","rail":"BANK_RAIL_PIX","amount":{{"currency":"BRL","amount":"{}"}}}}}})",
      next_id, at, next_id++, brl));
}

v1::Envelope convert(const std::string& merchant, const std::string& brl, const std::string& at,
                     const std::string& extra = "") {
  return json_event(fmt::format(
      R"({{"event_id":"e{}","merchant_id":"{}","occurred_at":"{}","fx_conversion_executed":)"
      R"({{"conversion_id":"x{}","from":{{"currency":"BRL","amount":"{}"}},"to_currency":"USD"{}}}}})",
      next_id, merchant, at, next_id++, brl, extra));
}

std::string money(const ledger::Int128& v) { return ledger::format_scaled(v, 2); }

// "flows benchmark | cost/conversions per policy"
std::string render(const projections::BacktestCurrency& c) {
  std::string out = fmt::format("{} {} {} |", c.asset, c.flows, money(c.benchmark));
  for (const auto& p : c.policies) out += fmt::format(" {}/{}", money(p.cost()), p.conversions);
  return out;
}

projections::Backtest run(Books& books) {
  return projections::fx_backtest(projections::Stores{&books.store()},
                                  ledger::Asset::find("USD").value())
      .value();
}

// Two days of merchant conversions while BRL strengthens; a treasury trade and a flow with no
// fix after its day are left out.
TEST(FxBacktest, ThreePoliciesOnTwoDaysByHand) {
  Books books(2);
  books.append({fix(0, "5.0", "4.9", "5.1"), pix("1000.00", day_time(0, "16:30:00")),
                convert("m1", "500.00", day_time(0, "18:00:00")),  // +500 BRL at 5.0
                fix(1, "4.0", "3.9", "4.1"),
                convert("m1", "200.00", day_time(1, "17:00:00")),  // +200 BRL at 4.0
                convert("psp", "300.00", day_time(1, "18:00:00")),  // treasury: not a flow
                fix(2, "5.0", "4.95", "5.05"),
                convert("m1", "100.00", day_time(2, "17:00:00"))});  // no fix after 01-03
  EXPECT_EQ(books.fold().rejected, 0u);
  auto bt = run(books);
  ASSERT_EQ(bt.currencies.size(), 1u);
  const auto& brl = bt.currencies[0];
  // Benchmark: 500 / 5.0 = 100.00 and 200 / 4.0 = 50.00: 150.00.
  // spot_at_settlement: day 1's 500 at day 2's ask 4.1 = 121.9512 -> 121.95; day 2's 200 at
  //   day 3's ask 5.05 = 39.6039 -> 39.60; 161.55: cost 150.00 - 161.55 = -11.55 (a gain).
  // lock_at_checkout: 500 / 5.1 = 98.0392 -> 98.04 and 200 / 4.1 = 48.7804 -> 48.78:
  //   146.82, cost 3.18.
  // forecast_forwards: one (partial) week, no history before it: no forward; the week's 700
  //   at the fix after its last day (day 3, ask 5.05): 138.6138 -> 138.61, cost 11.39.
  EXPECT_EQ(render(brl), "BRL 2 150.00 | -11.55/2 3.18/2 11.39/1");
  EXPECT_EQ(brl.excluded, 1u);
  EXPECT_EQ(brl.unpriced, 0u);
  EXPECT_EQ(brl.weeks, 1u);
  EXPECT_EQ(brl.weeks_with_forecast, 0u);
  EXPECT_EQ(money(brl.bought), "700.00");
}

// 100.00 BRL a day for 14 days at a constant fix: week 2's forecast (Holt on 7 flat days) is
// exactly 100.00 a day, so its forward covers its 700.00 and nothing is left for spot.
TEST(FxBacktest, AForecastForwardCoversAFlatWeek) {
  Books books(2);
  std::vector<v1::Envelope> events{pix("1400.00", day_time(0, "15:00:00"))};
  for (int d = 0; d <= 14; ++d) {
    events.push_back(fix(d, "5.0", "4.9", "5.1"));
    if (d < 14) events.push_back(convert("m1", "100.00", day_time(d, "17:00:00")));
  }
  books.append(events);
  EXPECT_EQ(books.fold().rejected, 0u);
  const auto bt = run(books);
  const auto& brl = bt.currencies.at(0);
  // Benchmark 14 x 100 / 5.0 = 280.00. Each 100 sold at the ask 5.1: 19.6078 -> 19.61.
  // spot (14 daily conversions) and lock (14 flows): 14 x 19.61 = 274.54, cost 5.46.
  // forwards: week 1 has no history: its 700 at the fix after it, 700 / 5.1 = 137.2549 ->
  //   137.25; week 2 (the last, 7 days): forward of 7 x 100 = 700 at 5.1: 137.25, nothing left.
  //   274.50, cost 5.50, 2 conversions.
  EXPECT_EQ(render(brl), "BRL 14 280.00 | 5.46/14 5.46/14 5.50/2");
  EXPECT_EQ(brl.weeks, 2u);
  EXPECT_EQ(brl.weeks_with_forecast, 1u);
}

TEST(FxBacktest, NoFlowsNoCurrencies) {
  Books books(1);
  books.append({fix(0, "5.0", "4.9", "5.1"), pix("10.00", day_time(0, "17:00:00"))});
  books.fold();
  EXPECT_TRUE(run(books).currencies.empty());
}

}  // namespace
}  // namespace payledger::testing
