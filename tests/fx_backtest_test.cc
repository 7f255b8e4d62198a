// FX back-test (issue 10 item 6, docs/fx.md "Back-test"): the merchant-driven flows of the
// house's position replayed under three policies. Expected amounts by hand, arithmetic beside.
#include <fmt/format.h>
#include <gtest/gtest.h>

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
                convert("m1", "200.00", day_time(1, "17:00:00")),   // +200 BRL at 4.0
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

// 100.00 BRL a day for 14 days; the fix is 5.0 (bid 4.9, ask 5.1) for the first week and 4.0
// (3.9 / 4.1) from day 7. Week 2's forecast (Holt on 7 flat days) is exactly 100.00 a day, so
// its forward of 700.00, booked at week 2's start at the rate then in force (day 6's 5.1),
// covers the week and nothing is left for the fix after it (4.1): a forward not booked, or
// booked at another moment, gives another cost.
TEST(FxBacktest, AForecastForwardIsBookedAtTheWeeksStartAndCoversAFlatWeek) {
  Books books(2);
  std::vector<v1::Envelope> events{pix("1400.00", day_time(0, "15:00:00"))};
  for (int d = 0; d <= 14; ++d) {
    events.push_back(d < 7 ? fix(d, "5.0", "4.9", "5.1") : fix(d, "4.0", "3.9", "4.1"));
    if (d < 14) events.push_back(convert("m1", "100.00", day_time(d, "17:00:00")));
  }
  books.append(events);
  EXPECT_EQ(books.fold().rejected, 0u);
  const auto bt = run(books);
  const auto& brl = bt.currencies.at(0);
  // Benchmark: days 0-6 at 5.0: 7 x 20.00 = 140.00; days 7-13 at 4.0: 7 x 25.00 = 175.00;
  //   315.00.
  // lock: 100 / 5.1 = 19.6078 -> 19.61 (x 7 = 137.27) and 100 / 4.1 = 24.3902 -> 24.39
  //   (x 7 = 170.73): 308.00, cost 7.00.
  // spot: days 0-5 settle at the next day's 5.1: 6 x 19.61 = 117.66; days 6-13 at 4.1:
  //   8 x 24.39 = 195.12; 312.78, cost 2.22.
  // forwards: week 1 (no history): its 700 at the fix after it, day 7's ask 4.1:
  //   170.7317 -> 170.73; week 2: a forward of 700 at day 6's ask 5.1: 137.2549 -> 137.25,
  //   nothing left; 307.98, cost 7.02 (without the forward: 700 at day 14's 4.1, cost -26.46).
  EXPECT_EQ(render(brl), "BRL 14 315.00 | 2.22/14 7.00/14 7.02/2");
  EXPECT_EQ(brl.weeks, 2u);
  EXPECT_EQ(brl.weeks_with_forecast, 1u);
}

// EUR is the base of EUR/USD: taking EUR in sells the base (bid), a refund buys it (ask); a
// day's net can be negative.
TEST(FxBacktest, ABaseCurrencyAndANegativeDay) {
  Books books(1);
  auto eur_fix = [](int day, const std::string& mid, const std::string& bid,
                    const std::string& ask) {
    const std::string t = day_time(day, "16:00:00");
    return json_event(fmt::format(
        R"({{"event_id":"r{}","merchant_id":"","occurred_at":"{}","fx_rate_published":)"
        R"({{"pair":"EUR/USD","mid":"{}","bid":"{}","ask":"{}","source":"ECB","as_of":"{}"}}}})",
        next_id++, t, mid, bid, ask, t));
  };
  auto eur_convert = [](const std::string& from, const std::string& amount, const std::string& to,
                        const std::string& at) {
    return json_event(fmt::format(
        R"({{"event_id":"e{}","merchant_id":"m1","occurred_at":"{}","fx_conversion_executed":)"
        R"({{"conversion_id":"x{}","from":{{"currency":"{}","amount":"{}"}},)"
        R"("to_currency":"{}"}}}})",
        next_id, at, next_id++, from, amount, to));
  };
  // m1 is paid 500.00 USD by card, then converts both ways.
  books.append(
      {eur_fix(0, "1.10", "1.09", "1.11"),
       json_event(
           fmt::format(R"({{"event_id":"e{}","merchant_id":"m1","occurred_at":"{}",)"
                       R"("card_authorised":{{"payment_id":"pu","amount":{{"currency":"USD",)"
                       R"("amount":"500.00"}},"expires_at":"{}"}}}})",
                       next_id++, day_time(0, "16:20:00"), day_time(5, "00:00:00"))),
       json_event(fmt::format(R"({{"event_id":"e{}","merchant_id":"m1","occurred_at":"{}",)"
                              R"("card_captured":{{"payment_id":"pu","amount":{{"currency":"USD",)"
                              R"("amount":"500.00"}}}}}})",
                              next_id++, day_time(0, "16:30:00"))),
       // Day 0: m1 buys 110.00 USD worth of EUR: 110 / 1.10 = 100.00 EUR to m1, so
       // the PSP gives EUR: a flow of -100.00 EUR.
       eur_convert("USD", "110.00", "EUR", day_time(0, "17:00:00")),
       eur_fix(1, "1.20", "1.19", "1.21"),
       // Day 1: m1 sells 40.00 EUR back for USD at 1.20: the PSP takes +40.00 EUR.
       eur_convert("EUR", "40.00", "USD", day_time(1, "17:00:00")),
       eur_fix(2, "1.00", "0.99", "1.01")});
  EXPECT_EQ(books.fold().rejected, 0u);
  const auto bt = run(books);
  ASSERT_EQ(bt.currencies.size(), 1u);
  const auto& eur = bt.currencies[0];
  // Benchmark: -100.00 x 1.10 = -110.00 and +40.00 x 1.20 = 48.00: -62.00.
  // lock: buying 100 EUR (the base) at the ask 1.11: -111.00; selling 40 at the bid 1.19:
  //   47.60; -63.40, cost -62.00 + 63.40 = 1.40.
  // spot: day 0's -100 at day 1's ask 1.21: -121.00; day 1's +40 at day 2's bid 0.99: 39.60;
  //   -81.40, cost 19.40.
  // forwards: one partial week, no history: the week's -60 at the fix after its last day
  //   (day 2's ask 1.01): -60.60, cost -1.40.
  EXPECT_EQ(render(eur), "EUR 2 -62.00 | 19.40/2 1.40/2 -1.40/1");
  EXPECT_EQ(money(eur.sold), "100.00");
  EXPECT_EQ(money(eur.bought), "40.00");
}

// An expiry the fold books when a later record passes its deadline sits at that record's log
// offset. Here the record is m2's payout (it moves psp:bank:operating, like the house's trades):
// the expiry's flow is still m1's, not a treasury trade, and not part of the payout's event.
TEST(FxBacktest, AnExpiryFiredByAPayoutIsAMerchantFlow) {
  Books books(1);
  books.append({
      json_event(R"({"event_id":"k1","merchant_id":"m1","occurred_at":"2026-01-01T00:00:00Z",)"
                 R"("merchant_contract_set":{"method":"card","percent":"0",)"
                 R"("settlement_currency":"EUR","fx_markup_percent":"0.5"}})"),
      json_event(R"({"event_id":"r1","merchant_id":"","occurred_at":"2026-01-01T00:00:00Z",)"
                 R"("fx_rate_published":{"pair":"EUR/BRL","mid":"5.0","source":"ECB",)"
                 R"("as_of":"2026-01-01T00:00:00Z"}})"),
      json_event(R"({"event_id":"r2","merchant_id":"","occurred_at":"2026-01-01T00:00:00Z",)"
                 R"("fx_rate_published":{"pair":"USD/BRL","mid":"5.0","source":"ECB",)"
                 R"("as_of":"2026-01-01T00:00:00Z"}})"),
      json_event(R"({"event_id":"a1","merchant_id":"m1","occurred_at":"2026-01-01T01:00:00Z",)"
                 R"("card_authorised":{"payment_id":"p1","amount":{"currency":"BRL",)"
                 R"("amount":"100.00"},"expires_at":"2026-01-01T02:00:00Z"}})"),
      // A PSP-funded coupon: +10.00 BRL posted into the house's position (converted for m1).
      json_event(R"({"event_id":"c1","merchant_id":"m1","occurred_at":"2026-01-01T01:01:00Z",)"
                 R"("coupon_applied":{"payment_id":"p1","coupon_id":"X","amount":)"
                 R"({"currency":"BRL","amount":"10.00"},"funded_by":"COUPON_FUNDER_PSP"}})"),
      json_event(R"({"event_id":"t2","merchant_id":"m2","occurred_at":"2026-01-01T01:02:00Z",)"
                 R"("bank_transfer_received":{"payment_id":"q1","rail":"BANK_RAIL_PIX",)"
                 R"("amount":{"currency":"BRL","amount":"100.00"}}})"),
      // The payout passes p1's expiry (02:00): the coupon goes back, -10.00 BRL, booked at the
      // payout's offset.
      json_event(R"({"event_id":"o2","merchant_id":"m2","occurred_at":"2026-01-01T03:00:00Z",)"
                 R"("payout_sent":{"payout_id":"o1","amount":{"currency":"BRL","amount":"50.00"},)"
                 R"("destination":"b"}})"),
      json_event(R"({"event_id":"r3","merchant_id":"","occurred_at":"2026-01-02T00:00:00Z",)"
                 R"("fx_rate_published":{"pair":"USD/BRL","mid":"5.0","source":"ECB",)"
                 R"("as_of":"2026-01-02T00:00:00Z"}})"),
  });
  EXPECT_EQ(books.fold().rejected, 0u);
  const auto bt = run(books);
  ASSERT_EQ(bt.currencies.size(), 2u);  // BRL, and EUR (no EUR/USD rate: unpriced)
  EXPECT_EQ(bt.currencies[1].asset, "EUR");
  EXPECT_EQ(bt.currencies[1].unpriced, 2u);  // the position's -2.00 and +2.00 EUR
  // Two flows: +10.00 and -10.00 BRL at 5.0 (no bid/ask: the mid): benchmark 2.00 - 2.00 = 0;
  // lock converts each (2 conversions, 0 cost); the day nets to zero: spot and forwards trade
  // nothing. (Taking the expiry for the payout's treasury trade would leave one flow of 2.00.)
  EXPECT_EQ(render(bt.currencies[0]), "BRL 2 0.00 | 0.00/0 0.00/2 0.00/0");
}

TEST(FxBacktest, NoFlowsNoCurrencies) {
  Books books(1);
  books.append({fix(0, "5.0", "4.9", "5.1"), pix("10.00", day_time(0, "17:00:00"))});
  books.fold();
  EXPECT_TRUE(run(books).currencies.empty());
}

}  // namespace
}  // namespace payledger::testing
