// Cross-currency settlement (issue 10, docs/fx.md): a merchant whose contract names another
// settlement currency is credited in it, at the quote its payment locked or the latest
// published rate, and debited back at that same rate on refunds; the PSP's FX position takes
// the other side, its markup goes to FX revenue. Expected amounts by hand, arithmetic beside.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <string>

#include "events/codec.h"
#include "ledger/account.h"
#include "ledger/rules.h"
#include "test_util.h"
#include "testlib.h"

namespace payledger::testing {
namespace {

using ledger::AccountId;
using ledger::Chart;
using ledger::Side;

int next_id = 0;

// An event of merchant m1 at `at` (RFC 3339), with `extra` envelope fields.
v1::Envelope event(const std::string& body, const std::string& at = "2026-01-01T00:00:00Z",
                   const std::string& extra = "") {
  return json_event(fmt::format(R"({{"event_id":"e{}","occurred_at":"{}",{}{}}})", next_id++,
                                at, extra.empty() ? "" : extra + ",", body));
}

// "ok", or "code: reason".
std::string outcome(MemoryLedger& l, const v1::Envelope& e) {
  Status s = l.apply(e);
  return s.ok() ? "ok" : fmt::format("{}: {}", code_name(s.error().code), s.error().reason);
}

// Card contract of m1: no MDR, settling in EUR with a 0.5% FX markup.
v1::Envelope eur_contract(const std::string& extra = "") {
  return event(fmt::format(R"("merchant_contract_set":{{"method":"card","percent":"0",)"
                           R"("settlement_currency":"EUR","fx_markup_percent":"0.5"{}}})",
                           extra));
}

v1::Envelope lock(const std::string& id, const std::string& pair, const std::string& rate) {
  return event(fmt::format(R"("fx_quote_locked":{{"quote_id":"{}","pair":"{}","rate":"{}",)"
                           R"("expires_at":"2026-01-01T00:15:00Z"}})",
                           id, pair, rate));
}

v1::Envelope auth(const std::string& payment, const std::string& brl, const std::string& quote,
                  const std::string& at = "2026-01-01T00:05:00Z") {
  return event(fmt::format(R"("card_authorised":{{"payment_id":"{}","amount":)"
                           R"({{"currency":"BRL","amount":"{}"}}}})",
                           payment, brl),
               at, quote.empty() ? "" : fmt::format(R"("fx_quote_id":"{}")", quote));
}

v1::Envelope capture(const std::string& payment, const std::string& brl) {
  return event(fmt::format(R"("card_captured":{{"payment_id":"{}","amount":)"
                           R"({{"currency":"BRL","amount":"{}"}}}})",
                           payment, brl),
               "2026-01-01T01:00:00Z");
}

v1::Envelope refund(const std::string& payment, const std::string& id, const std::string& brl,
                    const std::string& at) {
  return event(fmt::format(R"("card_refunded":{{"payment_id":"{}","refund_id":"{}","amount":)"
                           R"({{"currency":"BRL","amount":"{}"}}}})",
                           payment, id, brl),
               at);
}

v1::Envelope publish(const std::string& pair, const std::string& mid, const std::string& as_of) {
  return json_event(fmt::format(
      R"({{"event_id":"r{}","occurred_at":"{}","fx_rate_published":{{"pair":"{}","mid":"{}",)"
      R"("source":"ECB","as_of":"{}"}}}})",
      next_id++, as_of, pair, mid, as_of));
}

const AccountId kPayable = Chart::merchant_payable("m1");

std::string pending(const MemoryLedger& l, const AccountId& account, const std::string& asset,
                    Side normal) {
  auto it = l.balances.find(account.name() + '\0' + asset);
  if (it == l.balances.end()) return "absent";
  const auto& b = it->second;
  return ledger::format_scaled(b.pending_net(normal), ledger::Asset::find(asset)->exponent());
}

// The issue's case: BRL 1,000.00 on card for a EUR-settled merchant at a locked EUR/BRL 6.2,
// captured, then BRL 300.00 refunded after the rate moved to 6.5.
TEST(FxSettlement, ALockedQuoteConvertsTheSaleAndARefundGoesBackAtTheSameRate) {
  MemoryLedger l;
  ASSERT_EQ(outcome(l, eur_contract()), "ok");
  ASSERT_EQ(outcome(l, lock("q1", "EUR/BRL", "6.2")), "ok");
  ASSERT_EQ(outcome(l, auth("p1", "1000.00", "q1")), "ok");
  // The hold: 1,000.00 BRL / 6.2 = 161.2903... -> 161.29 EUR; markup 0.5% x 161.29 =
  // 0.80645 -> 0.81; the merchant's pending 161.29 - 0.81 = 160.48 EUR, none in BRL.
  EXPECT_EQ(pending(l, kPayable, "EUR", Side::kCredit), "160.48");
  EXPECT_EQ(pending(l, kPayable, "BRL", Side::kCredit), "absent");
  EXPECT_EQ(l.quotes.at(std::string("m1") + '\0' + "q1").used_by, "p1");

  ASSERT_EQ(outcome(l, capture("p1", "1000.00")), "ok");
  EXPECT_EQ(posted(l, kPayable, "EUR"), "160.48");
  EXPECT_EQ(pending(l, kPayable, "EUR", Side::kCredit), "0.00");
  EXPECT_EQ(posted(l, Chart::revenue_fx(), "EUR"), "0.81");
  // The PSP is long the customer's BRL 1,000.00 and short the EUR 161.29 it converted them
  // to (position accounts: credit = long).
  EXPECT_EQ(posted(l, Chart::fx_position(), "BRL"), "1000.00");
  EXPECT_EQ(posted(l, Chart::fx_position(), "EUR"), "-161.29");

  // The market moves to 6.5; the refund still converts at the payment's 6.2.
  ASSERT_EQ(outcome(l, publish("EUR/BRL", "6.5", "2026-01-02T16:00:00Z")), "ok");
  ASSERT_EQ(outcome(l, refund("p1", "r1", "300.00", "2026-01-02T17:00:00Z")), "ok");
  // What stays: 700.00 / 6.2 = 112.9032... -> 112.90; markup 0.5% x 112.90 = 0.5645 ->
  // 0.56; the merchant keeps 112.90 - 0.56 = 112.34 EUR, so the refund took 160.48 - 112.34 =
  // 48.14 EUR (the difference of the two once-rounded totals, not 300.00 / 6.2 = 48.387 less
  // 0.5% = 48.145 rounded again: the merchant's total is what is converted), the
  // markup 0.81 - 0.56 = 0.25 went back, and the position gave 161.29 - 112.90 = 48.39.
  EXPECT_EQ(posted(l, kPayable, "EUR"), "112.34");
  EXPECT_EQ(posted(l, Chart::revenue_fx(), "EUR"), "0.56");
  EXPECT_EQ(posted(l, Chart::fx_position(), "BRL"), "700.00");
  EXPECT_EQ(posted(l, Chart::fx_position(), "EUR"), "-112.90");
  EXPECT_EQ(l.balances.count(kPayable.name() + '\0' + "BRL"), 0u) << "never posted in BRL";
  // The rate move is the PSP's: it holds BRL 700.00, worth 700 / 6.5 = 107.69 EUR now,
  // against the EUR 112.90 it owes for them (its FX P&L, the positions projection's job).

  // The rest refunded in two parts: the merchant ends at exactly zero, nothing left over.
  ASSERT_EQ(outcome(l, refund("p1", "r2", "350.01", "2026-01-03T00:00:00Z")), "ok");
  ASSERT_EQ(outcome(l, refund("p1", "r3", "349.99", "2026-01-03T00:00:01Z")), "ok");
  EXPECT_EQ(posted(l, kPayable, "EUR"), "0.00");
  EXPECT_EQ(posted(l, Chart::revenue_fx(), "EUR"), "0.00");
  EXPECT_EQ(posted(l, Chart::fx_position(), "EUR"), "0.00");
  EXPECT_EQ(posted(l, Chart::fx_position(), "BRL"), "0.00");
}

// Without a quote: the latest published rate at money-in; its bid/ask midpoint when it has
// no mid; a rate older than the contract allows is stale; none at all is no_rate.
TEST(FxSettlement, WithoutAQuoteTheLatestPublishedRateConverts) {
  MemoryLedger l;
  ASSERT_EQ(outcome(l, eur_contract(R"(,"fx_rate_max_age_hours":24)")), "ok");
  EXPECT_EQ(apply_code(l, auth("p0", "100.00", "")), "no_rate");
  ASSERT_EQ(outcome(l, json_event(
                          R"({"event_id":"fix1","occurred_at":"2025-12-31T16:00:00Z",)"
                          R"("fx_rate_published":{"pair":"EUR/BRL","bid":"6.19","ask":"6.20",)"
                          R"("source":"ECB","as_of":"2025-12-31T16:00:00Z"}})")),
            "ok");
  // 8 h 5 min after the fix: (6.19 + 6.20) / 2 = 6.195; 100.00 / 6.195 = 16.1420... ->
  // 16.14 EUR; markup 0.5% x 16.14 = 0.0807 -> 0.08; merchant pending 16.06.
  ASSERT_EQ(outcome(l, auth("p1", "100.00", "")), "ok");
  EXPECT_EQ(pending(l, kPayable, "EUR", Side::kCredit), "16.06");
  EXPECT_EQ(l.payments.at(std::string("m1") + '\0' + "p1").fx->rate, "6.195");
  // 24 h 5 min after the fix: stale under the contract's 24 h.
  v1::Envelope late = auth("p2", "100.00", "", "2026-01-01T16:05:00Z");
  Status s = l.apply(late);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code::kStaleRate);
  EXPECT_NE(s.error().reason.find("24 h old"), std::string::npos) << s.error().reason;
  EXPECT_EQ(l.payments.count(std::string("m1") + '\0' + "p2"), 0u);
}

TEST(FxSettlement, QuotesThatCannotBeUsedAreRejectedAndNothingMoves) {
  MemoryLedger l;
  ASSERT_EQ(outcome(l, eur_contract()), "ok");
  ASSERT_EQ(outcome(l, lock("q1", "EUR/BRL", "6.2")), "ok");
  ASSERT_EQ(outcome(l, lock("q2", "USD/BRL", "5.3")), "ok");
  ASSERT_EQ(outcome(l, auth("p1", "10.00", "q1")), "ok");
  const auto balances = l.balances;
  EXPECT_EQ(apply_code(l, auth("p2", "10.00", "q1")), "quote_used");
  EXPECT_EQ(apply_code(l, auth("p3", "10.00", "q9")), "unknown_quote");
  EXPECT_EQ(apply_code(l, auth("p4", "10.00", "q2")), "currency_mismatch");  // USD/BRL, not EUR
  ASSERT_EQ(outcome(l, lock("q3", "EUR/BRL", "6.2")), "ok");
  // At 00:15:00 the quote locked until 00:15:00 has expired.
  EXPECT_EQ(apply_code(l, auth("p5", "10.00", "q3", "2026-01-01T00:15:00Z")), "expired");
  // A quote on a later event of a payment, or on an event of no payment.
  EXPECT_EQ(apply_code(l, event(R"("card_captured":{"payment_id":"p1","amount":)"
                          R"({"currency":"BRL","amount":"10.00"}})",
                          "2026-01-01T00:06:00Z", R"("fx_quote_id":"q3")")),
            "illegal_transition");
  EXPECT_EQ(apply_code(l, event(R"("checkout_started":{"checkout_id":"c1","method":"card",)"
                          R"("market":"BR"})",
                          "2026-01-01T00:06:00Z", R"("fx_quote_id":"q3")")),
            "malformed");
  EXPECT_EQ(l.balances, balances) << "a rejected event moves nothing";
  EXPECT_EQ(l.quotes.at(std::string("m1") + '\0' + "q2").used_by, "") << "nor uses a quote";
  EXPECT_EQ(l.quotes.at(std::string("m1") + '\0' + "q3").used_by, "");
  // A merchant settling in the payment's own currency has nothing to convert.
  EXPECT_EQ(apply_code(l, event(R"("card_authorised":{"payment_id":"p6","amount":)"
                          R"({"currency":"EUR","amount":"10.00"}})",
                          "2026-01-01T00:06:00Z", R"("fx_quote_id":"q3")")),
            "illegal_transition");
}

TEST(FxSettlement, AContractsSettlementTermsAreChecked) {
  MemoryLedger l;
  EXPECT_EQ(apply_code(l, event(R"("merchant_contract_set":{"method":"card","percent":"0",)"
                          R"("settlement_currency":"XYZ"})")),
            "unknown_asset");
  EXPECT_EQ(apply_code(l, event(R"("merchant_contract_set":{"method":"card","percent":"0",)"
                          R"("fx_markup_percent":"0.5"})")),
            "missing_field");
  EXPECT_EQ(apply_code(l, event(R"("merchant_contract_set":{"method":"card","percent":"0",)"
                          R"("settlement_currency":"EUR","fx_markup_percent":"-1"})")),
            "bad_amount");
  EXPECT_TRUE(l.contracts.empty());
}

// A payment keeps the terms it started with: one created before the contract named a
// settlement currency stays in its own currency, one created after converts even once the
// contract changes again.
TEST(FxSettlement, APaymentKeepsTheTermsItStartedWith) {
  MemoryLedger l;
  ASSERT_EQ(outcome(l, event(R"("merchant_contract_set":{"method":"card","percent":"0"})")), "ok");
  ASSERT_EQ(outcome(l, auth("old", "10.00", "")), "ok");
  ASSERT_EQ(outcome(l, eur_contract()), "ok");
  ASSERT_EQ(outcome(l, lock("q1", "EUR/BRL", "5")), "ok");
  ASSERT_EQ(outcome(l, auth("new", "10.00", "q1")), "ok");
  ASSERT_EQ(outcome(l, event(R"("merchant_contract_set":{"method":"card","percent":"0"})")), "ok");
  ASSERT_EQ(outcome(l, capture("old", "10.00")), "ok");
  ASSERT_EQ(outcome(l, capture("new", "10.00")), "ok");
  // old: BRL 10.00 as it came. new: 10.00 / 5 = 2.00 EUR, markup 0.5% x 2.00 = 0.01.
  EXPECT_EQ(posted(l, kPayable, "BRL"), "10.00");
  EXPECT_EQ(posted(l, kPayable, "EUR"), "1.99");
}

}  // namespace
}  // namespace payledger::testing

namespace payledger::testing {
namespace {

// Through the fold and RocksDB: the payment's conversion terms are stored with it (a refund
// after a restart converts at them), the quote is marked used in the store, and a rebuild
// gives the same digest.
TEST(FxSettlement, TheFoldStoresTheTermsAndARebuildMatches) {
  Books books(2);
  books.append({eur_contract(), lock("q1", "EUR/BRL", "6.2"), auth("p1", "1000.00", "q1"),
                capture("p1", "1000.00")});
  auto first = books.fold();
  EXPECT_EQ(first.rejected, 0u);
  books.reopen_store();
  books.append({publish("EUR/BRL", "6.5", "2026-01-02T16:00:00Z"),
                refund("p1", "r1", "300.00", "2026-01-02T17:00:00Z"),
                auth("p2", "10.00", "q1")});  // the quote again: used, found in the store
  auto second = books.fold();
  EXPECT_EQ(second.rejected, 1u);
  auto rejects = projections::list_rejects(books.store(), 0).value();
  ASSERT_EQ(rejects.size(), 1u);
  EXPECT_EQ(rejects[0].code, Code::kQuoteUsed);
  // As in ALockedQuoteConvertsTheSaleAndARefundGoesBackAtTheSameRate: 112.34 EUR kept.
  EXPECT_EQ(books.balance("merchant:m1:payable", "EUR"), "112.34/0.00");
  EXPECT_EQ(books.balance("psp:revenue:fx", "EUR"), "0.56/0.00");
  EXPECT_EQ(books.balance("psp:fx:position", "BRL"), "700.00/0.00");
  EXPECT_EQ(books.balance("psp:fx:position", "EUR"), "-112.90/0.00");
  auto p1 = books.payment("m1", "p1");
  ASSERT_TRUE(p1 && p1->fx);
  EXPECT_EQ(*p1->fx, (ledger::PaymentFx{"EUR", "EUR/BRL", "6.2", "0.005", "q1", 70000, 0}));
  std::string digest = books.digest();
  books.drop_store();
  books.fold();
  EXPECT_EQ(books.digest(), digest);
}

}  // namespace
}  // namespace payledger::testing

namespace payledger::testing {
namespace {

// The contract's MDR is charged in the payment's asset (the PSP's fee revenue is BRL); the
// merchant's payable sees one converted line per bucket per event.
TEST(FxSettlement, TheFeeIsChargedInThePaymentsAssetAndTheNetConverts) {
  MemoryLedger l;
  ASSERT_EQ(outcome(l, event(R"("merchant_contract_set":{"method":"card","percent":"2.9",)"
                           R"("settlement_currency":"EUR"})")),
            "ok");
  ASSERT_EQ(outcome(l, lock("q1", "EUR/BRL", "5")), "ok");
  ASSERT_EQ(outcome(l, auth("p1", "100.00", "q1")), "ok");
  // Hold: 100.00 / 5 = 20.00 EUR pending, no markup.
  EXPECT_EQ(pending(l, kPayable, "EUR", Side::kCredit), "20.00");
  v1::Envelope cap = capture("p1", "100.00");
  auto fx = ledger::apply_event(cap, l);
  ASSERT_TRUE(fx.ok()) << fx.error().reason;
  int payable_lines = 0;
  for (const auto& line : fx->entry.lines) payable_lines += line.account == kPayable;
  // Released hold (pending) and the sale net of its fee (posted): one line each.
  EXPECT_EQ(payable_lines, 2);
  ASSERT_EQ(outcome(l, cap), "ok");
  // Fee 2.9% x 100.00 = 2.90 BRL; net 97.10 BRL / 5 = 19.42 EUR.
  EXPECT_EQ(posted(l, Chart::revenue_fees(), "BRL"), "2.90");
  EXPECT_EQ(posted(l, kPayable, "EUR"), "19.42");
  EXPECT_EQ(pending(l, kPayable, "EUR", Side::kCredit), "0.00");
  EXPECT_EQ(posted(l, Chart::fx_position(), "BRL"), "97.10");
  EXPECT_EQ(posted(l, Chart::fx_position(), "EUR"), "-19.42");
}

}  // namespace
}  // namespace payledger::testing

namespace payledger::testing {
namespace {

// A chargeback with a dispute fee takes the payment's net below zero: the merchant owes the
// converted debt plus the markup on it (the markup is never the PSP's loss); a fee assessed
// on a converted payment in its own asset is refused.
TEST(FxSettlement, ANegativeNetStillPaysTheMarkupAndAPaymentFeeIsRefused) {
  MemoryLedger l;
  ASSERT_EQ(outcome(l, eur_contract()), "ok");
  ASSERT_EQ(outcome(l, lock("q1", "EUR/BRL", "5")), "ok");
  ASSERT_EQ(outcome(l, auth("p1", "100.00", "q1")), "ok");
  ASSERT_EQ(outcome(l, capture("p1", "100.00")), "ok");
  ASSERT_EQ(outcome(l, event(R"("chargeback_opened":{"payment_id":"p1","chargeback_id":"cb1",)"
                           R"("amount":{"currency":"BRL","amount":"100.00"},)"
                           R"("fee":{"currency":"BRL","amount":"15.00"}})",
                           "2026-01-02T00:00:00Z")),
            "ok");
  // Net 100.00 - 100.00 - 15.00 = -15.00 BRL -> -15.00 / 5 = -3.00 EUR; markup 0.5% x 3.00 =
  // 0.015 -> 0.02 (half-even); the merchant owes 3.00 + 0.02 = 3.02 EUR.
  EXPECT_EQ(posted(l, kPayable, "EUR"), "-3.02");
  EXPECT_EQ(posted(l, Chart::revenue_fx(), "EUR"), "0.02");
  EXPECT_EQ(posted(l, Chart::fx_position(), "EUR"), "3.00");
  EXPECT_EQ(posted(l, Chart::fx_position(), "BRL"), "-15.00");
  Status s = l.apply(event(R"("fee_assessed":{"fee_id":"f1","payment_id":"p1",)"
                           R"("amount":{"currency":"BRL","amount":"1.00"}})",
                           "2026-01-02T00:01:00Z"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code::kCurrencyMismatch);
  EXPECT_NE(s.error().reason.find("settles in EUR"), std::string::npos) << s.error().reason;
}

// A stored rate whose value no longer matches its key is corruption the fold names, not a
// crash or a rate read wrongly.
TEST(FxSettlement, ACorruptStoredRateStopsTheFold) {
  Books books(1);
  books.append({publish("EUR/BRL", "6.2", "2026-01-01T00:00:00Z")});
  books.fold();
  {
    projections::StoreBatch wb(books.store());
    std::string key;
    projections::rate_key(&key, 0, "EUR/BRL", 1767225600);  // 2026-01-01T00:00:00Z
    // The value of a rate one minute later, under this key.
    wb.put(projections::Cf::kFxRates, key,
           projections::encode_rate({"EUR/BRL", 1767225660, "6.2", "", "", "ECB", "x"}));
    ASSERT_TRUE(books.store().write(wb, false).ok());
  }
  books.reopen_store();
  books.append({publish("EUR/BRL", "6.3", "2026-01-02T00:00:00Z")});
  projections::FoldOptions o;
  o.sync = false;
  auto stats = projections::fold(books.store(), books.log(), o);
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.error().code, Code::kCorrupt) << stats.error().reason;
  auto listed = projections::list_rates(projections::Stores{&books.store()}, "", std::nullopt,
                                        true);
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.error().code, Code::kCorrupt);
}

}  // namespace
}  // namespace payledger::testing
