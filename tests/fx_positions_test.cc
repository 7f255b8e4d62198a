// FX conversions, forwards, revaluation runs and the positions query (issue 10, docs/fx.md).
// Expected amounts by hand, with the arithmetic beside them.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>

#include "events/codec.h"
#include "ledger/account.h"
#include "ledger/rules.h"
#include "projections/positions.h"
#include "test_util.h"
#include "testlib.h"

namespace payledger::testing {
namespace {

using ledger::Chart;

int next_id = 0;

v1::Envelope event(const std::string& merchant, const std::string& at, const std::string& body) {
  return json_event(fmt::format(R"({{"event_id":"e{}","merchant_id":"{}","occurred_at":"{}",{}}})",
                                next_id++, merchant, at, body));
}

v1::Envelope publish(const std::string& pair, const std::string& rates, const std::string& as_of) {
  return json_event(
      fmt::format(R"({{"event_id":"r{}","merchant_id":"","occurred_at":"{}","fx_rate_published":)"
                  R"({{"pair":"{}",{},"source":"ECB","as_of":"{}"}}}})",
                  next_id++, as_of, pair, rates, as_of));
}

v1::Envelope pix(const std::string& merchant, const std::string& payment, const std::string& brl,
                 const std::string& at) {
  return event(merchant, at,
               fmt::format(R"("bank_transfer_received":{{"payment_id":"{}","rail":"BANK_RAIL_PIX",)"
                           R"("amount":{{"currency":"BRL","amount":"{}"}}}})",
                           payment, brl));
}

// fx_conversion_executed of `merchant` ("psp": the house) with extra body fields.
v1::Envelope convert(const std::string& merchant, const std::string& id, const std::string& from,
                     const std::string& amount, const std::string& to, const std::string& extra,
                     const std::string& at) {
  return event(merchant, at,
               fmt::format(R"("fx_conversion_executed":{{"conversion_id":"{}","from":)"
                           R"({{"currency":"{}","amount":"{}"}},"to_currency":"{}"{}}})",
                           id, from, amount, to, extra.empty() ? "" : "," + extra));
}

v1::Envelope forward(const std::string& id, const std::string& side, const std::string& notional,
                     const std::string& currency, const std::string& rate,
                     const std::string& value_date, const std::string& at,
                     const std::string& merchant = "psp") {
  return event(merchant, at,
               fmt::format(R"("fx_forward_booked":{{"forward_id":"{}","pair":"USD/BRL",)"
                           R"("side":"{}","notional":{{"currency":"{}","amount":"{}"}},)"
                           R"("forward_rate":"{}","value_date":"{}"}})",
                           id, side, currency, notional, rate, value_date));
}

v1::Envelope settle(const std::string& id, const std::string& at) {
  return event("psp", at, fmt::format(R"("fx_forward_settled":{{"forward_id":"{}"}})", id));
}

const std::string kRate5 = R"("mid":"5.0","bid":"4.9","ask":"5.1")";

// m1 has BRL 1,000.00 from a PIX payment; USD/BRL mid 5.0 (bid 4.9, ask 5.1).
MemoryLedger merchant_with_brl() {
  MemoryLedger l;
  EXPECT_EQ(apply_code(l, publish("USD/BRL", kRate5, "2026-01-01T16:00:00Z")), "ok");
  EXPECT_EQ(apply_code(l, pix("m1", "p1", "1000.00", "2026-01-02T10:00:00Z")), "ok");
  return l;
}

TEST(FxConversion, AMerchantConvertsAtThePublishedMidLessTheMarkup) {
  MemoryLedger l = merchant_with_brl();
  ASSERT_EQ(apply_code(l, convert("m1", "x1", "BRL", "500.00", "USD", R"("markup_percent":"1")",
                             "2026-01-02T11:00:00Z")),
            "ok");
  // 500.00 BRL / 5.0 = 100.00 USD; markup 1% = 1.00; merchant 100.00 - 1.00 = 99.00.
  EXPECT_EQ(posted(l, Chart::merchant_payable("m1"), "BRL"), "500.00");  // 1000 - 500
  EXPECT_EQ(posted(l, Chart::merchant_payable("m1"), "USD"), "99.00");
  EXPECT_EQ(posted(l, Chart::revenue_fx(), "USD"), "1.00");
  EXPECT_EQ(posted(l, Chart::fx_position(), "BRL"), "500.00");   // long BRL
  EXPECT_EQ(posted(l, Chart::fx_position(), "USD"), "-100.00");  // short USD
}

TEST(FxConversion, AMerchantConvertsAtItsQuoteOnce) {
  MemoryLedger l = merchant_with_brl();
  ASSERT_EQ(apply_code(l, event("m1", "2026-01-02T10:30:00Z",
                           R"("fx_quote_locked":{"quote_id":"q1","pair":"USD/BRL","rate":"4.0",)"
                           R"("expires_at":"2026-01-02T10:45:00Z"})")),
            "ok");
  ASSERT_EQ(apply_code(l, convert("m1", "x1", "BRL", "100.00", "USD", R"("quote_id":"q1")",
                             "2026-01-02T10:31:00Z")),
            "ok");
  // 100.00 BRL / 4.0 = 25.00 USD, no markup.
  EXPECT_EQ(posted(l, Chart::merchant_payable("m1"), "USD"), "25.00");
  EXPECT_EQ(apply_reason(l, convert("m1", "x2", "BRL", "100.00", "USD", R"("quote_id":"q1")",
                              "2026-01-02T10:32:00Z")),
            "FX quote q1 was already used by conversion x1");
  EXPECT_EQ(posted(l, Chart::merchant_payable("m1"), "USD"), "25.00");  // nothing moved
}

TEST(FxConversion, BadConversionsAreRejectedAndNothingMoves) {
  MemoryLedger l = merchant_with_brl();
  const std::string t = "2026-01-02T11:00:00Z";
  EXPECT_EQ(apply_code(l, convert("m1", "x1", "BRL", "10.00", "BRL", "", t)), "malformed");
  EXPECT_EQ(apply_code(l, convert("m1", "x1", "BRL", "10.00", "XYZ", "", t)), "unknown_asset");
  EXPECT_EQ(apply_code(l, convert("m1", "x1", "BRL", "1000.01", "USD", "", t)), "insufficient_funds");
  EXPECT_EQ(apply_code(l, convert("m1", "x1", "BRL", "10.00", "USD", R"("rate":"5")", t)),
            "malformed");  // a dealt rate is the house's
  EXPECT_EQ(apply_code(l, convert("m1", "x1", "BRL", "10.00", "USD", R"("markup_percent":"101")", t)),
            "bad_amount");
  EXPECT_EQ(apply_code(l, convert("m1", "x1", "BRL", "10.00", "USD", R"("quote_id":"nope")", t)),
            "unknown_quote");
  EXPECT_EQ(apply_code(l, convert("m1", "x1", "BRL", "10.00", "EUR", "", t)), "no_rate");
  // 0.01 BRL / 5.0 = 0.002 USD -> 0.00: nothing to convert into.
  EXPECT_EQ(apply_code(l, convert("m1", "x1", "BRL", "0.01", "USD", "", t)), "non_positive_amount");
  // The 2026-01-01 16:00 fix is 96 h old at 2026-01-05 16:00 and stale one second later.
  EXPECT_EQ(apply_code(l, convert("m1", "x1", "BRL", "10.00", "USD", "", "2026-01-05T16:00:01Z")),
            "stale_rate");
  EXPECT_EQ(posted(l, Chart::merchant_payable("m1"), "BRL"), "1000.00");
  EXPECT_EQ(posted(l, Chart::fx_position(), "USD"), "0.00");
  EXPECT_TRUE(l.business_ids.empty());
  ASSERT_EQ(apply_code(l, convert("m1", "x1", "BRL", "10.00", "USD", "", t)), "ok");
  EXPECT_EQ(apply_code(l, convert("m1", "x1", "BRL", "10.00", "USD", "", t)), "duplicate_business_id");
  // The house names no quote or markup.
  EXPECT_EQ(apply_code(l, convert("psp", "h1", "BRL", "10.00", "USD", R"("markup_percent":"1")", t)),
            "malformed");
}

TEST(FxConversion, TheHouseDealsAtTheBidOrAskOrItsDealtRate) {
  MemoryLedger l = merchant_with_brl();
  const std::string t = "2026-01-02T11:00:00Z";
  // Selling BRL buys the base (USD) at the ask: 500.00 / 5.1 = 98.0392... -> 98.04 USD.
  ASSERT_EQ(apply_code(l, convert("psp", "h1", "BRL", "500.00", "USD", "", t)), "ok");
  EXPECT_EQ(posted(l, Chart::fx_position(), "BRL"), "-500.00");
  EXPECT_EQ(posted(l, Chart::fx_position(), "USD"), "98.04");
  EXPECT_EQ(posted(l, Chart::bank_operating(), "BRL", ledger::Side::kDebit), "-500.00");
  EXPECT_EQ(posted(l, Chart::bank_operating(), "USD", ledger::Side::kDebit), "98.04");
  // Selling USD (the base) at the bid: 100.00 x 4.9 = 490.00 BRL.
  ASSERT_EQ(apply_code(l, convert("psp", "h2", "USD", "100.00", "BRL", "", t)), "ok");
  EXPECT_EQ(posted(l, Chart::fx_position(), "BRL"), "-10.00");  // -500 + 490
  // A dealt rate: 100.00 USD x 4.95 = 495.00 BRL.
  ASSERT_EQ(apply_code(l, convert("psp", "h3", "USD", "100.00", "BRL", R"("rate":"4.95")", t)), "ok");
  EXPECT_EQ(posted(l, Chart::fx_position(), "BRL"), "485.00");   // -10 + 495
  EXPECT_EQ(posted(l, Chart::fx_position(), "USD"), "-101.96");  // 98.04 - 100 - 100
}

TEST(FxForward, BookedThenSettledOnItsValueDate) {
  MemoryLedger l = merchant_with_brl();
  const std::string vd = "2026-02-02T00:00:00Z";
  const std::string t = "2026-01-02T12:00:00Z";
  EXPECT_EQ(apply_code(l, forward("f1", "FX_SIDE_BUY", "100.00", "BRL", "4.5", vd, t)),
            "currency_mismatch");  // notional in the base (USD)
  EXPECT_EQ(apply_code(l, forward("f1", "FX_SIDE_UNSPECIFIED", "100.00", "USD", "4.5", vd, t)),
            "missing_field");
  EXPECT_EQ(apply_code(l, forward("f1", "FX_SIDE_BUY", "100.00", "USD", "4.5", t, t)), "expired");
  EXPECT_EQ(apply_code(l, forward("f1", "FX_SIDE_BUY", "100.00", "USD", "0", vd, t)),
            "non_positive_amount");
  EXPECT_EQ(apply_code(l, forward("f1", "FX_SIDE_BUY", "100.00", "USD", "4.5", vd, t, "m1")),
            "malformed");  // forwards are the house's
  ASSERT_EQ(apply_code(l, forward("f1", "FX_SIDE_BUY", "100.00", "USD", "4.5", vd, t)), "ok");
  EXPECT_EQ(apply_code(l, forward("f1", "FX_SIDE_BUY", "1.00", "USD", "4.5", vd, t)),
            "duplicate_business_id");
  EXPECT_EQ(l.balances.size(), 2u);  // booking posts nothing: m1's and the PIX account's BRL
  EXPECT_EQ(apply_code(l, settle("f2", vd)), "unknown_forward");
  EXPECT_EQ(apply_code(l, settle("f1", "2026-02-01T23:59:59Z")), "illegal_transition");
  ASSERT_EQ(apply_code(l, settle("f1", vd)), "ok");
  // Buys 100.00 USD at 4.5: pays 450.00 BRL.
  EXPECT_EQ(posted(l, Chart::fx_position(), "USD"), "100.00");
  EXPECT_EQ(posted(l, Chart::fx_position(), "BRL"), "-450.00");
  EXPECT_EQ(posted(l, Chart::bank_operating(), "USD", ledger::Side::kDebit), "100.00");
  EXPECT_EQ(posted(l, Chart::bank_operating(), "BRL", ledger::Side::kDebit), "-450.00");
  EXPECT_EQ(apply_code(l, settle("f1", vd)), "illegal_transition");  // once
}

TEST(FxRevaluation, ARunIsKeptOncePerMomentAndCurrency) {
  MemoryLedger l;
  auto run = [](const std::string& as_of, const std::string& ccy, const std::string& at) {
    return event("psp", at,
                 fmt::format(R"("fx_revaluation_run":{{"as_of":"{}","reporting_currency":"{}"}})",
                             as_of, ccy));
  };
  EXPECT_EQ(apply_code(l, run("2026-02-01T00:00:00Z", "USD", "2026-01-31T23:00:00Z")), "malformed");
  EXPECT_EQ(apply_code(l, run("2026-01-31T00:00:00Z", "XYZ", "2026-02-01T00:00:00Z")), "unknown_asset");
  ASSERT_EQ(apply_code(l, run("2026-01-31T00:00:00Z", "USD", "2026-02-01T00:00:00Z")), "ok");
  EXPECT_EQ(apply_code(l, run("2026-01-31T00:00:00Z", "USD", "2026-02-01T00:01:00Z")),
            "duplicate_business_id");
  ASSERT_EQ(apply_code(l, run("2026-01-31T00:00:00Z", "EUR", "2026-02-01T00:01:00Z")), "ok");
  ASSERT_EQ(l.revaluations.size(), 2u);
  EXPECT_EQ(apply_code(l, event("m1", "2026-02-01T00:00:00Z",
                           R"("fx_revaluation_run":{"as_of":"2026-01-31T00:00:00Z",)"
                           R"("reporting_currency":"USD"})")),
            "malformed");  // the house's only
}

// The scenario of docs/fx.md "Positions", folded: m1 takes BRL 1,000.00 at 5.0, converts
// half at 4.0 less 1%; the house sells the BRL it took at a dealt 4.2; a forward sells
// USD 100.00 at 4.5.
std::vector<v1::Envelope> scenario() {
  return {publish("USD/BRL", R"("mid":"5.0")", "2026-01-01T16:00:00Z"),
          pix("m1", "p1", "1000.00", "2026-01-02T10:00:00Z"),
          publish("USD/BRL", R"("mid":"4.0","bid":"3.9","ask":"4.1")", "2026-01-03T16:00:00Z"),
          convert("m1", "x1", "BRL", "500.00", "USD", R"("markup_percent":"1")",
                  "2026-01-04T10:00:00Z"),
          convert("psp", "h1", "BRL", "500.00", "USD", R"("rate":"4.2")", "2026-01-05T10:00:00Z"),
          forward("fw1", "FX_SIDE_SELL", "100.00", "USD", "4.5", "2026-02-05T00:00:00Z",
                  "2026-01-05T11:00:00Z")};
}

// "owner asset amount cost realised unrealised trades/unpriced" per row, and the forwards.
std::string render(const projections::PositionsAnswer& a) {
  std::string out;
  auto opt = [](const std::optional<ledger::Int128>& v, int e) {
    return v ? ledger::format_scaled(*v, e) : std::string("-");
  };
  const int r = a.reporting.exponent();
  for (const auto& row : a.rows) {
    const int e = row.asset.exponent();
    out += fmt::format("{} {} {} {} {} {} {}/{}\n", row.owner, row.asset.code(),
                       ledger::format_scaled(row.end.position.amount, e),
                       ledger::format_scaled(row.end.position.cost, r),
                       ledger::format_scaled(row.end.position.realised, r),
                       opt(row.end.unrealised, r), row.end.trades, row.end.unpriced);
  }
  for (const auto& f : a.forwards) {
    out += fmt::format("forward {} {} {} {}\n", f.row.forward_id, f.settled ? "settled" : "open",
                       opt(f.mark_quote, 2), opt(f.mark_reporting, r));
  }
  return out;
}

projections::PositionsAnswer positions_of(projections::Store& store,
                                          std::optional<int64_t> as_of = std::nullopt) {
  projections::PositionsRequest request(ledger::Asset::find("USD").value());
  request.as_of = as_of;
  return projections::positions(projections::Stores{&store}, request).value();
}

int64_t at(const std::string& rfc3339) {
  return json_event(
             fmt::format(R"({{"event_id":"t","occurred_at":"{}","payout_sent":{{}}}})", rfc3339))
      .occurred_at()
      .seconds();
}

TEST(FxPositions, CostRealisedUnrealisedAndForwardMarksByHand) {
  Books books(2);
  books.append(scenario());
  EXPECT_EQ(books.fold().rejected, 0u);
  // m1: +1000.00 BRL at 5.0 costs 200.00 USD. -500.00 BRL for 123.75 USD (500 / 4.0 = 125.00
  // less 1.25 markup): half the cost leaves (100.00), realised 123.75 - 100.00 = 23.75.
  // Left: 500.00 BRL costing 100.00, worth 500 / 4.0 = 125.00: unrealised 25.00.
  // House: +500.00 BRL from m1's conversion, paid 125.00 USD; sold at 4.2 for
  // 500 / 4.2 = 119.0476 -> 119.05 USD: realised 119.05 - 125.00 = -5.95, flat.
  // Forward: sells 100.00 USD at 4.5 with spot 4.0: -100 x (4.0 - 4.5) = +50.00 BRL,
  // / 4.0 = 12.50 USD.
  EXPECT_EQ(render(positions_of(books.store())),
            "house BRL 0.00 0.00 -5.95 0.00 2/0\n"
            "m1 BRL 500.00 100.00 23.75 25.00 2/0\n"
            "forward fw1 open 50.00 12.50\n");
  // As of 2026-01-03 00:00 only the payment: 1000.00 BRL costing 200.00, at 5.0 worth 200.00.
  EXPECT_EQ(render(positions_of(books.store(), at("2026-01-03T00:00:00Z"))),
            "m1 BRL 1000.00 200.00 0.00 0.00 1/0\n");
  // The rate moves back to 5.0: m1's 500.00 BRL are worth 100.00 = cost (unrealised 0.00);
  // the forward is marked -100 x (5.0 - 4.5) = -50.00 BRL = -10.00 USD.
  books.append({publish("USD/BRL", R"("mid":"5.0")", "2026-01-07T16:00:00Z")});
  books.fold();
  EXPECT_EQ(render(positions_of(books.store())),
            "house BRL 0.00 0.00 -5.95 0.00 2/0\n"
            "m1 BRL 500.00 100.00 23.75 0.00 2/0\n"
            "forward fw1 open -50.00 -10.00\n");
  // Settled on its value date with spot 5.0: the mark stays as it was then. The house then
  // holds +450.00 BRL (100.00 USD x 4.5) for 100.00 USD paid... as a sale of USD: it gives
  // 100.00 USD and gets 450.00 BRL, valued at the USD it gave: cost 100.00.
  books.append({settle("fw1", "2026-02-05T00:00:00Z")});
  books.fold();
  EXPECT_EQ(render(positions_of(books.store())),
            "house BRL 450.00 100.00 -5.95 -10.00 3/0\n"
            "m1 BRL 500.00 100.00 23.75 0.00 2/0\n"
            "forward fw1 settled -50.00 -10.00\n");
}

// The house's position moves in every partition (each merchant's conversions) and in its own
// (treasury trades): it is one position, replayed in event-time order, not a sum of
// per-partition averages.
TEST(FxPositions, TheHousesPositionIsOneAcrossPartitions) {
  std::string merchant;
  for (int i = 1; merchant.empty(); ++i) {
    std::string id = fmt::format("m{}", i);
    if (events::partition_for_key(id, 2) != events::partition_for_key("psp", 2)) merchant = id;
  }
  Books books(2);
  books.append(
      {publish("USD/BRL", R"("mid":"4.0")", "2026-01-01T16:00:00Z"),
       pix(merchant, "p1", "1000.00", "2026-01-02T10:00:00Z"),
       convert(merchant, "x1", "BRL", "500.00", "USD", "", "2026-01-02T11:00:00Z"),
       convert("psp", "h1", "BRL", "500.00", "USD", R"("rate":"4.2")", "2026-01-02T12:00:00Z")});
  EXPECT_EQ(books.fold().rejected, 0u);
  // The house takes 500.00 BRL for 125.00 USD (500 / 4.0) in the merchant's partition and
  // sells them at 4.2 for 119.05 USD in its own: flat, realised 119.05 - 125.00 = -5.95.
  // (Summed per partition it would read: flat, cost 125.00 - 119.05 = 5.95, realised 0.00.)
  // m1: 1000.00 BRL for 250.00 USD, half sold for 125.00 (no markup): realised 0.00.
  EXPECT_EQ(render(positions_of(books.store())), "house BRL 0.00 0.00 -5.95 0.00 2/0\n" + merchant +
                                                     " BRL 500.00 125.00 0.00 0.00 2/0\n");
}

TEST(FxPositions, ATradeWithNoRateLeavesCostUnknownNotWrong) {
  Books books(1);
  books.append({pix("m1", "p1", "1000.00", "2026-01-02T10:00:00Z"),
                publish("USD/BRL", R"("mid":"5.0")", "2026-01-03T16:00:00Z")});
  books.fold();
  // The payment came before any USD/BRL rate: 1 trade unpriced.
  EXPECT_EQ(render(positions_of(books.store())), "m1 BRL 1000.00 0.00 0.00 200.00 1/1\n");
  auto a = positions_of(books.store());
  ASSERT_EQ(a.rows.size(), 1u);
  EXPECT_FALSE(a.rows[0].end.priced());
}

TEST(FxPositions, PositionsAfterARebuildEqualTheLiveFold) {
  Books books(2);
  auto events = scenario();
  books.append({events.begin(), events.begin() + 3});
  books.fold();
  books.reopen_store();
  books.append({events.begin() + 3, events.end()});
  projections::FoldOptions small;
  small.batch_events_max = 2;
  books.fold(small);
  const std::string live = render(positions_of(books.store()));
  const std::string digest = books.digest();
  ASSERT_NE(live.find("m1 BRL 500.00"), std::string::npos);
  books.drop_store();
  books.fold();
  EXPECT_EQ(render(positions_of(books.store())), live);
  EXPECT_EQ(books.digest(), digest);
}

}  // namespace
}  // namespace payledger::testing
