// Exposure (docs/fx.md, "Exposure and forecast"): a small hand-built history folded by the
// real fold into a real store, and the exposure per currency and value-date week checked
// against amounts worked out by hand (arithmetic beside each).
#include "projections/exposure.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "projections/fold.h"
#include "test_util.h"
#include "testlib.h"

namespace payledger::testing {
namespace {

using projections::Exposure;
using projections::ExposureBucket;

int next_id = 0;

v1::Envelope ev(const std::string& merchant, const std::string& at, const std::string& body) {
  return json_event(fmt::format(R"({{"event_id":"x{}","merchant_id":"{}","occurred_at":"{}",{}}})",
                                next_id++, merchant, at, body));
}

std::string money(const std::string& currency, const std::string& amount) {
  return fmt::format(R"({{"currency":"{}","amount":"{}"}})", currency, amount);
}

v1::Envelope auth(const std::string& m, const std::string& at, const std::string& id,
                  const std::string& usd, const std::string& expires) {
  return ev(m, at, fmt::format(R"("card_authorised":{{"payment_id":"{}","amount":{},)"
                               R"("expires_at":"{}"}})",
                               id, money("USD", usd), expires));
}

v1::Envelope capture(const std::string& m, const std::string& at, const std::string& id,
                     const std::string& usd) {
  return ev(m, at, fmt::format(R"("card_captured":{{"payment_id":"{}","amount":{}}})", id,
                               money("USD", usd)));
}

v1::Envelope konbini(const std::string& at, const std::string& id, const std::string& jpy,
                     const std::string& expires_on) {
  return ev("m1", at, fmt::format(R"("voucher_issued":{{"payment_id":"{}",)"
                                  R"("method":"VOUCHER_METHOD_KONBINI","amount":{},)"
                                  R"("expires_on":"{}"}})",
                                  id, money("JPY", jpy), expires_on));
}

v1::Envelope paid(const std::string& at, const std::string& id) {
  return ev("m1", at, fmt::format(R"("voucher_paid":{{"payment_id":"{}"}})", id));
}

std::string fmt_minor(const ledger::Int128& v, int exponent) {
  return ledger::format_scaled(v, exponent);
}

const projections::CurrencyExposure& currency(const Exposure& x, const std::string& code) {
  for (const auto& c : x.currencies) {
    if (c.asset == code) return c;
  }
  ADD_FAILURE() << "no exposure in " << code;
  static projections::CurrencyExposure none;
  return none;
}

// "holds/vouchers outstanding/vouchers expected/bnpl/payables/net"
std::string row(const ExposureBucket& b, int e) {
  return fmt::format("{}/{}/{}/{}/{}/{}", fmt_minor(b.card_holds, e),
                     fmt_minor(b.vouchers_outstanding, e), fmt_minor(b.vouchers_expected, e),
                     fmt_minor(b.bnpl_upfronts, e), fmt_minor(b.payables, e),
                     fmt_minor(b.net(), e));
}

constexpr int64_t kAsOf = 1768046400;  // 2026-01-10T12:00:00Z

class ExposureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<v1::Envelope> events{
        // p1: USD 100.00 authorised, 30.00 captured: 70.00 still held, expiry 01-12 (2 days
        // after the as-of day: week 0).
        auth("m1", "2026-01-01T10:00:00Z", "p1", "100.00", "2026-01-12T00:00:00Z"),
        capture("m1", "2026-01-01T11:00:00Z", "p1", "30.00"),
        // p2: USD 50.00 held until 01-20 (10 days ahead: week 1).
        auth("m1", "2026-01-02T10:00:00Z", "p2", "50.00", "2026-01-20T00:00:00Z"),
        // p3: expires 01-05, before the books' end: the fold expires it, nothing held.
        auth("m1", "2026-01-02T11:00:00Z", "p3", "20.00", "2026-01-05T00:00:00Z"),
        // p4: expires 01-10 06:00, after the last event but before the as-of: lapsed.
        auth("m1", "2026-01-08T10:00:00Z", "p4", "10.00", "2026-01-10T06:00:00Z"),
        // m2 (another merchant, maybe another partition): USD 12.34 captured in full.
        auth("m2", "2026-01-03T09:00:00Z", "q1", "12.34", "2026-01-10T00:00:00Z"),
        capture("m2", "2026-01-03T10:00:00Z", "q1", "12.34"),
        // Konbini history: 3 of 4 ended vouchers paid in time.
        konbini("2026-01-01T01:00:00Z", "k1", "10000", "2026-01-04"),
        konbini("2026-01-01T02:00:00Z", "k2", "20000", "2026-01-04"),
        konbini("2026-01-01T03:00:00Z", "k3", "30000", "2026-01-04"),
        konbini("2026-01-01T04:00:00Z", "k4", "5000", "2026-01-04"),
        paid("2026-01-02T05:00:00Z", "k1"),
        paid("2026-01-03T05:00:00Z", "k2"),
        paid("2026-01-03T06:00:00Z", "k3"),
        ev("m1", "2026-01-05T00:00:00Z", R"("voucher_expired":{"payment_id":"k4"})"),
        // Outstanding: k5 expires at the end of 01-11 Tokyo time (01-11T14:59:59Z: week 0);
        // k6 on 01-30 (20 days ahead: beyond a 14-day horizon).
        konbini("2026-01-08T01:00:00Z", "k5", "1000", "2026-01-11"),
        konbini("2026-01-08T02:00:00Z", "k6", "3333", "2026-01-30"),
        // BNPL: USD 90.00 approved, fee 3.00: the provider owes 87.00; 30.00 refunded: the
        // merchant gives back 30.00 less the fee's share 3.00 x 30/90 = 1.00, i.e. 29.00.
        ev("m1", "2026-01-09T10:00:00Z",
           fmt::format(R"("bnpl_order_approved":{{"payment_id":"b1","provider":"klarna",)"
                       R"("amount":{},"fee":{},"instalments":3}})",
                       money("USD", "90.00"), money("USD", "3.00"))),
        ev("m1", "2026-01-09T11:00:00Z",
           fmt::format(R"("bnpl_refunded":{{"payment_id":"b1","refund_id":"r1","amount":{}}})",
                       money("USD", "30.00"))),
        // Quotes: one open at the as-of (expires 13:00), one expired by then (11:00).
        ev("m1", "2026-01-09T23:00:00Z",
           R"("fx_quote_locked":{"quote_id":"fq1","pair":"USD/JPY","rate":"150.25",)"
           R"("expires_at":"2026-01-10T13:00:00Z"})"),
        ev("m1", "2026-01-09T23:01:00Z",
           R"("fx_quote_locked":{"quote_id":"fq2","pair":"USD/JPY","rate":"150.30",)"
           R"("expires_at":"2026-01-10T11:00:00Z"})"),
        // The house's forwards: fw1 open at the as-of (buys USD 100.00 at 150.25: sells
        // 100 x 150.25 = 15025 JPY on 01-20); fw2 settled before it (not counted).
        ev("psp", "2026-01-09T12:00:00Z",
           R"("fx_forward_booked":{"forward_id":"fw1","pair":"USD/JPY","side":"FX_SIDE_BUY",)"
           R"("notional":{"currency":"USD","amount":"100.00"},"forward_rate":"150.25",)"
           R"("value_date":"2026-01-20T00:00:00Z"})"),
        ev("psp", "2026-01-09T12:01:00Z",
           R"("fx_forward_booked":{"forward_id":"fw2","pair":"USD/JPY","side":"FX_SIDE_SELL",)"
           R"("notional":{"currency":"USD","amount":"50.00"},"forward_rate":"150",)"
           R"("value_date":"2026-01-09T20:00:00Z"})"),
        ev("psp", "2026-01-09T20:00:00Z", R"("fx_forward_settled":{"forward_id":"fw2"})"),
    };
    // In time order, as a log would hold them: a partition's watermark fires the expiries
    // due by the latest event folded (an early event folded after a late one finds its
    // voucher or hold already expired).
    std::stable_sort(events.begin(), events.end(), [](const v1::Envelope& a, const v1::Envelope& b) {
      return a.occurred_at().seconds() < b.occurred_at().seconds();
    });
    books_.append(events);
    books_.fold();
    auto rejects = projections::list_rejects(books_.store(), 0).value();
    for (const auto& r : rejects) ADD_FAILURE() << "rejected: " << r.event_id << ": " << r.reason;
  }
  Books books_{2};
};

TEST_F(ExposureTest, AmountsPerCurrencyAndValueDateWeekAreExact) {
  auto x = projections::exposure(projections::Stores{&books_.store()}, kAsOf, 14);
  ASSERT_TRUE(x.ok()) << x.error().reason;
  EXPECT_EQ(x->horizon_days, 14);
  EXPECT_FALSE(x->as_of_from_books);
  ASSERT_EQ(x->currencies.size(), 2u);  // JPY, USD

  const auto& usd = currency(*x, "USD");
  ASSERT_EQ(usd.weeks.size(), 2u);  // 14 days: two weeks
  // Week 0: holds 70.00 (p1); BNPL 87.00 - 29.00 = 58.00; payables: m1 30.00 + 87.00 - 29.00
  // = 88.00 and m2 12.34, 100.34 (due the day after the as-of); net 70.00 + 58.00 - 100.34 =
  // 27.66.
  EXPECT_EQ(row(usd.weeks[0], 2), "70.00/0.00/0.00/58.00/100.34/27.66");
  // Week 1: p2's 50.00 hold.
  EXPECT_EQ(row(usd.weeks[1], 2), "50.00/0.00/0.00/0.00/0.00/50.00");
  EXPECT_EQ(row(usd.later, 2), "0.00/0.00/0.00/0.00/0.00/0.00");
  // Total: 70.00 + 50.00 held; net 27.66 + 50.00 = 77.66.
  EXPECT_EQ(row(usd.total, 2), "120.00/0.00/0.00/58.00/100.34/77.66");

  const auto& jpy = currency(*x, "JPY");
  // Konbini pays 3 of 4: k5's 1000 x 3/4 = 750 expected; payables 10000 + 20000 + 30000 =
  // 60000; net 750 - 60000 = -59250.
  EXPECT_EQ(row(jpy.weeks[0], 0), "0/1000/750/0/60000/-59250");
  EXPECT_EQ(row(jpy.weeks[1], 0), "0/0/0/0/0/0");
  // k6: 3333 x 3/4 = 2499.75, rounded half-even once: 2500.
  EXPECT_EQ(row(jpy.later, 0), "0/3333/2500/0/0/2500");

  ASSERT_EQ(x->voucher_rates.size(), 1u);
  EXPECT_EQ(x->voucher_rates[0].method, "konbini");
  EXPECT_EQ(x->voucher_rates[0].paid, 3u);
  EXPECT_EQ(x->voucher_rates[0].ended, 4u);
  EXPECT_EQ(x->voucher_rates[0].outstanding, 2u);
  EXPECT_EQ(x->lapsed_holds, 1u);  // p4
  EXPECT_EQ(x->lapsed_vouchers, 0u);

  // Hedged: fq1 only (fq2 expired at 11:00), in both of its currencies; forwards: fw1 only
  // (fw2 settled at 01-09 20:00), selling 15025 JPY and buying 100.00 USD.
  EXPECT_EQ(usd.open_quotes, (std::map<std::string, uint64_t>{{"USD/JPY", 1}}));
  EXPECT_EQ(jpy.open_quotes, (std::map<std::string, uint64_t>{{"USD/JPY", 1}}));
  ASSERT_TRUE(usd.forwards_hedged.has_value() && jpy.forwards_hedged.has_value());
  EXPECT_EQ(fmt_minor(*usd.forwards_hedged, 2), "-100.00");
  EXPECT_EQ(fmt_minor(*jpy.forwards_hedged, 0), "15025");

  // The BNPL rule matches the books: psp:receivable:bnpl holds 87.00 - 29.00 = 58.00.
  EXPECT_EQ(books_.balance("psp:receivable:bnpl", "USD"), "58.00/0.00");
}

TEST_F(ExposureTest, MoneyInHistoryIsThePostedDebitsPerDayAndFeedsTheForecast) {
  auto x = projections::exposure(projections::Stores{&books_.store()}, kAsOf, 14);
  ASSERT_TRUE(x.ok()) << x.error().reason;
  const auto& usd = currency(*x, "USD");
  // 01-01: capture 30.00; 01-03: m2's 12.34; 01-09: BNPL up-front 87.00 (the refund is a
  // credit: not money in). Days 01-01 .. 01-09 (the as-of day 01-10 is forecast).
  EXPECT_EQ(usd.history, (std::vector<double>{30.00, 0, 12.34, 0, 0, 0, 0, 0, 87.00}));
  EXPECT_EQ(usd.history_first_day, 20454);  // 2026-01-01 = 1767225600 / 86400
  // 9 days: fewer than two weeks, Holt.
  EXPECT_EQ(usd.fit.method, projections::ForecastMethod::kHolt);
  EXPECT_EQ(usd.forecast.size(), 14u);
  const auto& jpy = currency(*x, "JPY");
  // 01-02: k1 10000; 01-03: k2 + k3 = 50000; nothing after to 01-09.
  EXPECT_EQ(jpy.history, (std::vector<double>{10000, 50000, 0, 0, 0, 0, 0, 0}));
  for (const auto& p : jpy.forecast) EXPECT_TRUE(std::isfinite(p.mean) && std::isfinite(p.hi95));
}

TEST_F(ExposureTest, WithoutAsOfTheBooksLatestEventTimeIsUsed) {
  auto x = projections::exposure(projections::Stores{&books_.store()}, std::nullopt, 7);
  ASSERT_TRUE(x.ok()) << x.error().reason;
  EXPECT_TRUE(x->as_of_from_books);
  // 2026-01-09T23:01:00Z, the last event: 1767225600 (01-01) + 8 x 86400 + 23 x 3600 + 60.
  EXPECT_EQ(x->as_of_s, 1767999660);
  // p4 has not lapsed by then: its 10.00 is held to 01-10 (week 0 of a 7-day horizon), with
  // p1's 70.00: 80.00; p2's expiry 01-20 is beyond 7 days: later.
  const auto& usd = currency(*x, "USD");
  ASSERT_EQ(usd.weeks.size(), 1u);
  EXPECT_EQ(fmt_minor(usd.weeks[0].card_holds, 2), "80.00");
  EXPECT_EQ(fmt_minor(usd.later.card_holds, 2), "50.00");
  EXPECT_EQ(x->lapsed_holds, 0u);
  // Both quotes are open at 23:01 on 01-09.
  EXPECT_EQ(usd.open_quotes.at("USD/JPY"), 2u);
}

void fold_partitions(projections::Store& store, events::EventLog& log,
                     const std::vector<uint32_t>& partitions) {
  projections::FoldOptions options;
  options.sync = false;
  auto folder = projections::Folder::open(store, log.partition_count(), options).value();
  events::ReadBatch batch;
  for (uint32_t p : partitions) {
    for (;;) {
      ASSERT_TRUE(log.read(p, folder->next_offset(p), 500, &batch).ok());
      if (batch.records.empty()) break;
      for (const auto& rec : batch.records) ASSERT_TRUE(folder->fold_record(rec).ok());
    }
  }
  ASSERT_TRUE(folder->commit().ok());
}

// Everything exposure answers, as text, to compare two answers.
std::string describe(const Exposure& x) {
  std::string out = fmt::format("as-of {} lapsed {} {}\n", x.as_of_s, x.lapsed_holds,
                                x.lapsed_vouchers);
  for (const auto& c : x.currencies) {
    out += fmt::format("{}:", c.asset);
    for (const auto& w : c.weeks) out += fmt::format(" {}", row(w, c.exponent));
    out += fmt::format(" later {} total {}", row(c.later, c.exponent), row(c.total, c.exponent));
    for (const auto& [pair, n] : c.open_quotes) out += fmt::format(" {}x{}", pair, n);
    out += fmt::format(" history from {}:", c.history_first_day);
    for (double v : c.history) out += fmt::format(" {:.2f}", v);
    out += fmt::format(" {}:", projections::forecast_method_name(c.fit.method));
    for (const auto& p : c.forecast) out += fmt::format(" {:.6f}/{:.6f}", p.mean, p.hi95);
    out += "\n";
  }
  for (const auto& r : x.voucher_rates) {
    out += fmt::format("{} {}/{} {}\n", r.method, r.paid, r.ended, r.outstanding);
  }
  return out;
}

TEST(ExposureScaleOut, InstancesOwningDisjointPartitionsAnswerLikeTheSingleFold) {
  Books single(4);
  single.append(generated(8000));
  single.fold();
  TempDir a_dir, b_dir;
  auto a = projections::Store::open(a_dir.path(), false).value();
  auto b = projections::Store::open(b_dir.path(), false).value();
  fold_partitions(*a, single.log(), {0, 2});
  fold_partitions(*b, single.log(), {1, 3});
  auto latest = projections::exposure(projections::Stores{&single.store()}, std::nullopt, 30);
  auto latest_merged =
      projections::exposure(projections::Stores{a.get(), b.get()}, std::nullopt, 30);
  ASSERT_TRUE(latest.ok() && latest_merged.ok());
  EXPECT_EQ(describe(*latest_merged), describe(*latest));
  // Three days later: the books' days are history, some holds and vouchers have lapsed.
  const int64_t later = latest->as_of_s + 3 * projections::kDaySeconds;
  auto whole = projections::exposure(projections::Stores{&single.store()}, later, 30);
  auto merged = projections::exposure(projections::Stores{a.get(), b.get()}, later, 30);
  ASSERT_TRUE(whole.ok() && merged.ok());
  ASSERT_GE(whole->currencies.size(), 3u);
  ASSERT_FALSE(whole->currencies[0].history.empty());
  EXPECT_EQ(describe(*merged), describe(*whole));
  // One instance alone holds only its merchants' payables: not the same answer.
  auto half = projections::exposure(projections::Stores{a.get()}, later, 30);
  ASSERT_TRUE(half.ok());
  EXPECT_NE(describe(*half), describe(*whole));
}

TEST(ExposureRounding, HalfEvenOnce) {
  using projections::scale_half_even;
  EXPECT_EQ(scale_half_even(3333, 3, 4), 2500);  // 2499.75 -> 2500
  EXPECT_EQ(scale_half_even(10, 1, 4), 2);       // 2.5 -> 2 (even)
  EXPECT_EQ(scale_half_even(14, 1, 4), 4);       // 3.5 -> 4 (even)
  EXPECT_EQ(scale_half_even(13, 1, 4), 3);       // 3.25 -> 3
  EXPECT_EQ(scale_half_even(0, 1, 3), 0);
}

// Instructed payouts not yet sent still leave the bank (issue 11): payables count the
// merchants' settling money too, less what was sent already (psp:settlement:in-transit).
// Reserves are still owed too. m1 is owed USD 100.00; 40.00 is instructed (not sent) with 5.00
// held in reserve, 30.00 instructed and sent: payables 25.00 payable + 70.00 settling + 5.00
// reserve - 30.00 in transit = 70.00 still to leave (100.00 - the 30.00 sent).
TEST(ExposureSettlement, InstructedPayoutsNotYetSentAreStillPayables) {
  Books books(1);
  auto instruct = [](const std::string& id, const std::string& usd, const std::string& at,
                     const std::string& extra = "") {
    return ev("m1", at, fmt::format(R"("settlement_instructed":{{"instruction_id":"{}",)"
                                    R"("amount":{},"rail":"SETTLEMENT_RAIL_BATCH",)"
                                    R"("value_date":"2026-01-13T00:00:00Z"{}}})",
                                    id, money("USD", usd), extra));
  };
  books.append({ev("m1", "2026-01-01T00:00:00Z",
                   R"("merchant_settlement_policy_set":{"currency":"USD",)"
                   R"("rail":"SETTLEMENT_RAIL_BATCH","cutoff_local":"17:00",)"
                   R"("time_zone":"America/New_York","settlement_days":1})"),
                auth("m1", "2026-01-05T10:00:00Z", "p1", "100.00", "2026-01-20T00:00:00Z"),
                capture("m1", "2026-01-05T11:00:00Z", "p1", "100.00"),
                instruct("i1", "40.00", "2026-01-05T22:10:00Z",
                         fmt::format(R"(,"reserve":{},"reserve_release_at":)"
                                     R"("2026-01-12T22:00:00Z")",
                                     money("USD", "5.00"))),
                instruct("i2", "30.00", "2026-01-05T22:11:00Z"),
                ev("m1", "2026-01-05T22:30:00Z", R"("settlement_sent":{"instruction_id":"i2"})")});
  books.fold();
  ASSERT_TRUE(books.rejects().empty()) << books.rejects()[0].reason;
  auto x = projections::exposure(projections::Stores{&books.store()}, kAsOf, 7);
  ASSERT_TRUE(x.ok()) << x.error().reason;
  EXPECT_EQ(fmt_minor(currency(*x, "USD").total.payables, 2), "70.00");
}

}  // namespace
}  // namespace payledger::testing
