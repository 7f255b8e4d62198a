// Money rules that must never create or keep money wrongly (issue 8 item 5): coupons,
// business-id idempotency, contract fee currency, overflow, the fee policy on reversals,
// BNPL limits, zero-percent and ended contracts, the amount ceiling. Expected amounts are
// computed by hand in the comments, never by the code under test.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <limits>
#include <string>

#include "events/codec.h"
#include "events/embedded_log.h"
#include "ledger/rules.h"
#include "projections/fold.h"
#include "projections/queries.h"
#include "projections/store.h"
#include "test_util.h"

// GCC 12 reports a false -Wrestrict on std::string operator+ chains once inlined at -O3
// (GCC bug 105329); the events below are built by concatenation for readability.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wrestrict"
#endif

namespace payledger::testing {
namespace {

using ledger::Asset;
using ledger::Chart;
using ledger::Int128;
using ledger::Side;


std::string payable(const MemoryLedger& l, const std::string& currency) {
  return posted(l, Chart::merchant_payable("m1"), currency);
}

std::string fees(const MemoryLedger& l, const std::string& currency) {
  return posted(l, Chart::revenue_fees(), currency);
}

// Applies a JSON event; the code name of the rejection, or "ok".
std::string apply_json(MemoryLedger& l, const std::string& json) {
  Status s = l.apply(json_event(json));
  return s.ok() ? "ok" : std::string(code_name(s.error().code));
}

// A unique event id per call, so two events differ only in what the test says. (Strings are
// built with fmt: GCC 12 warns falsely (-Wrestrict) on chains of "literal" + std::string.)
std::string eid() {
  static int n = 0;
  return fmt::format("\"event_id\":\"t{}\"", ++n);
}

std::string money(const std::string& currency, const std::string& amount) {
  return fmt::format(R"({{"currency":"{}","amount":"{}"}})", currency, amount);
}

std::string body(const std::string& name, const std::string& fields) {
  return fmt::format(R"({{{},"{}":{{{}}}}})", eid(), name, fields);
}

std::string gcash(const std::string& payment, const std::string& amount) {
  return body("ewallet_payment_completed",
              fmt::format(R"("payment_id":"{}","wallet":"WALLET_GCASH","amount":{})", payment,
                          money("PHP", amount)));
}

std::string coupon(const std::string& payment, const std::string& id, const std::string& amount,
                   const std::string& currency = "PHP") {
  return body("coupon_applied",
              fmt::format(R"("payment_id":"{}","coupon_id":"{}","amount":{},)"
                          R"("funded_by":"COUPON_FUNDER_PSP")",
                          payment, id, money(currency, amount)));
}

std::string contract(const std::string& method, const std::string& percent,
                     const std::string& fixed_json = "", bool refund_fees = false) {
  return body("merchant_contract_set",
              fmt::format(R"("method":"{}","percent":"{}"{}{})", method, percent,
                          fixed_json.empty() ? "" : fmt::format(R"(,"fixed":{})", fixed_json),
                          refund_fees ? R"(,"refund_fees":true)" : ""));
}

std::string auth(const std::string& payment, const std::string& amount,
                 const std::string& currency = "USD") {
  return body("card_authorised",
              fmt::format(R"("payment_id":"{}","amount":{})", payment, money(currency, amount)));
}

std::string capture(const std::string& payment, const std::string& amount,
                    const std::string& currency = "USD", const std::string& capture_id = "") {
  return body("card_captured",
              fmt::format(R"("payment_id":"{}","amount":{}{})", payment, money(currency, amount),
                          capture_id.empty() ? ""
                                             : fmt::format(R"(,"capture_id":"{}")", capture_id)));
}

std::string card_refund(const std::string& payment, const std::string& amount,
                        const std::string& refund_id, const std::string& currency = "USD") {
  return body("card_refunded", fmt::format(R"("payment_id":"{}","refund_id":"{}","amount":{})",
                                           payment, refund_id, money(currency, amount)));
}

// ------------------------------------------------------------------------------- coupons

TEST(MoneyRules, TheSameCouponIdAppliesOnceToAPayment) {
  // The issue's case: GCash 500.00 and two PSP-funded coupons of 400.00 with the same id.
  MemoryLedger l;
  ASSERT_EQ(apply_json(l, gcash("w1", "500.00")), "ok");
  ASSERT_EQ(apply_json(l, coupon("w1", "WELCOME", "400.00")), "ok");
  EXPECT_EQ(apply_json(l, coupon("w1", "WELCOME", "400.00")), "duplicate_business_id");
  // 500.00 + 400.00 = 900.00, not 1,300.00.
  EXPECT_EQ(payable(l, "PHP"), "900.00");
  EXPECT_EQ(posted(l, Chart::expense_marketing(), "PHP", Side::kDebit), "400.00");
}

TEST(MoneyRules, CouponsTogetherNeverExceedThePayment) {
  MemoryLedger l;
  ASSERT_EQ(apply_json(l, gcash("w1", "500.00")), "ok");
  ASSERT_EQ(apply_json(l, coupon("w1", "A", "400.00")), "ok");
  // 400.00 + 400.00 = 800.00 > 500.00: only 100.00 is left to take.
  EXPECT_EQ(apply_json(l, coupon("w1", "B", "400.00")), "bad_amount");
  EXPECT_EQ(apply_json(l, coupon("w1", "C", "100.00")), "ok");
  EXPECT_EQ(apply_json(l, coupon("w1", "D", "0.01")), "bad_amount");  // 500.00 used up
  // 500.00 + 400.00 + 100.00 = 1000.00
  EXPECT_EQ(payable(l, "PHP"), "1000.00");
}

TEST(MoneyRules, CouponsOnPaymentsThatAreNotLiveAreRejected) {
  MemoryLedger l;
  ASSERT_EQ(apply_json(l, gcash("w1", "500.00")), "ok");
  ASSERT_EQ(apply_json(l, body("ewallet_payment_voided", "\"payment_id\":\"w1\"")), "ok");
  EXPECT_EQ(apply_json(l, coupon("w1", "A", "10.00")), "illegal_transition");
  ASSERT_EQ(apply_json(l, auth("c1", "100.00")), "ok");
  ASSERT_EQ(apply_json(l, body("card_voided", "\"payment_id\":\"c1\"")), "ok");
  EXPECT_EQ(apply_json(l, coupon("c1", "A", "10.00", "USD")), "illegal_transition");
  ASSERT_EQ(apply_json(l, body("pay_by_bank_initiated", "\"payment_id\":\"b1\",\"amount\":" +
                                                            money("GBP", "20.00"))),
            "ok");
  ASSERT_EQ(apply_json(l, body("pay_by_bank_failed", "\"payment_id\":\"b1\"")), "ok");
  EXPECT_EQ(apply_json(l, coupon("b1", "A", "1.00", "GBP")), "illegal_transition");
  // Nothing was posted for the rejected coupons: 500.00 - 500.00 voided = 0.00.
  EXPECT_EQ(payable(l, "PHP"), "0.00");
  EXPECT_EQ(posted(l, Chart::expense_marketing(), "PHP", Side::kDebit), "0.00");
}

// --------------------------------------------------------------------------- business ids

TEST(MoneyRules, ARefundIdIsAppliedOnceWhateverTheEventId) {
  MemoryLedger l;
  ASSERT_EQ(apply_json(l, auth("p1", "100.00")), "ok");
  ASSERT_EQ(apply_json(l, capture("p1", "100.00")), "ok");
  ASSERT_EQ(apply_json(l, card_refund("p1", "30.00", "r1")), "ok");
  EXPECT_EQ(apply_json(l, card_refund("p1", "30.00", "r1")), "duplicate_business_id");
  ASSERT_EQ(apply_json(l, card_refund("p1", "30.00", "r2")), "ok");
  // 100.00 - 30.00 - 30.00 = 40.00
  EXPECT_EQ(payable(l, "USD"), "40.00");
  // The same refund id on another payment is another refund.
  ASSERT_EQ(apply_json(l, auth("p2", "10.00")), "ok");
  ASSERT_EQ(apply_json(l, capture("p2", "10.00")), "ok");
  EXPECT_EQ(apply_json(l, card_refund("p2", "10.00", "r1")), "ok");
}

TEST(MoneyRules, ACaptureIdIsAppliedOnce) {
  MemoryLedger l;
  ASSERT_EQ(apply_json(l, auth("p1", "100.00")), "ok");
  ASSERT_EQ(apply_json(l, capture("p1", "40.00", "USD", "cap1")), "ok");
  EXPECT_EQ(apply_json(l, capture("p1", "40.00", "USD", "cap1")), "duplicate_business_id");
  EXPECT_EQ(payable(l, "USD"), "40.00");
}

TEST(MoneyRules, EveryRefundKindAndAChargebackIdAreIdempotencyKeys) {
  MemoryLedger l;
  // PIX
  ASSERT_EQ(apply_json(l, body("bank_transfer_received", "\"payment_id\":\"x1\",\"rail\":"
                                                         "\"BANK_RAIL_PIX\",\"amount\":" +
                                                             money("BRL", "100.00"))),
            "ok");
  std::string pix = "\"payment_id\":\"x1\",\"refund_id\":\"d1\",\"amount\":" + money("BRL", "10.00");
  ASSERT_EQ(apply_json(l, body("bank_transfer_refunded", pix)), "ok");
  EXPECT_EQ(apply_json(l, body("bank_transfer_refunded", pix)), "duplicate_business_id");
  // E-wallet
  ASSERT_EQ(apply_json(l, gcash("w1", "50.00")), "ok");
  std::string wr = "\"payment_id\":\"w1\",\"refund_id\":\"d1\",\"amount\":" + money("PHP", "5.00");
  ASSERT_EQ(apply_json(l, body("ewallet_payment_refunded", wr)), "ok");
  EXPECT_EQ(apply_json(l, body("ewallet_payment_refunded", wr)), "duplicate_business_id");
  // Pay-by-bank
  ASSERT_EQ(apply_json(l, body("pay_by_bank_initiated",
                               "\"payment_id\":\"b1\",\"amount\":" + money("GBP", "20.00"))),
            "ok");
  ASSERT_EQ(apply_json(l, body("pay_by_bank_completed", "\"payment_id\":\"b1\"")), "ok");
  std::string br = "\"payment_id\":\"b1\",\"refund_id\":\"d1\",\"amount\":" + money("GBP", "1.00");
  ASSERT_EQ(apply_json(l, body("pay_by_bank_refund_sent", br)), "ok");
  EXPECT_EQ(apply_json(l, body("pay_by_bank_refund_sent", br)), "duplicate_business_id");
  // BNPL
  ASSERT_EQ(apply_json(l, body("bnpl_order_approved",
                               "\"payment_id\":\"n1\",\"provider\":\"klarna\",\"amount\":" +
                                   money("USD", "90.00") + ",\"fee\":" + money("USD", "3.00") +
                                   ",\"instalments\":3")),
            "ok");
  std::string nr = "\"payment_id\":\"n1\",\"refund_id\":\"d1\",\"amount\":" + money("USD", "9.00");
  ASSERT_EQ(apply_json(l, body("bnpl_refunded", nr)), "ok");
  EXPECT_EQ(apply_json(l, body("bnpl_refunded", nr)), "duplicate_business_id");
  // Chargeback: a second dispute with the first one's id, after the first was resolved.
  ASSERT_EQ(apply_json(l, auth("c1", "100.00")), "ok");
  ASSERT_EQ(apply_json(l, capture("c1", "100.00")), "ok");
  std::string cb = "\"payment_id\":\"c1\",\"chargeback_id\":\"cb1\",\"amount\":" +
                   money("USD", "10.00");
  ASSERT_EQ(apply_json(l, body("chargeback_opened", cb)), "ok");
  ASSERT_EQ(apply_json(l, body("chargeback_resolved", "\"payment_id\":\"c1\",\"won\":true")), "ok");
  EXPECT_EQ(apply_json(l, body("chargeback_opened", cb)), "duplicate_business_id");
}

TEST(MoneyRules, AnOverlongBusinessIdIsRejectedNotStored) {
  MemoryLedger l;
  ASSERT_EQ(apply_json(l, auth("p1", "100.00")), "ok");
  ASSERT_EQ(apply_json(l, capture("p1", "100.00")), "ok");
  // 70,000 bytes would not fit a stored id's 16-bit length (built in protobuf: the JSON
  // decoder has its own limits).
  std::string long_id(70000, 'r');
  v1::Envelope refund = json_event(card_refund("p1", "1.00", "x"));
  refund.mutable_card_refunded()->set_refund_id(long_id);
  Status s = l.apply(refund);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code::kMalformed);
  v1::Envelope po = json_event(body("payout_sent", "\"payout_id\":\"x\",\"amount\":" +
                                                       money("USD", "1.00")));
  po.mutable_payout_sent()->set_payout_id(long_id);
  s = l.apply(po);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code::kMalformed);
  EXPECT_EQ(apply_json(l, card_refund("p1", "1.00", std::string(64, 'r'))), "ok");
}

TEST(MoneyRules, PayoutFeeAndSettlementIdsAreIdempotencyKeysPerMerchant) {
  MemoryLedger l;
  ASSERT_EQ(apply_json(l, auth("p1", "100.00")), "ok");
  ASSERT_EQ(apply_json(l, capture("p1", "100.00")), "ok");
  std::string po = "\"payout_id\":\"po1\",\"amount\":" + money("USD", "10.00");
  ASSERT_EQ(apply_json(l, body("payout_sent", po)), "ok");
  EXPECT_EQ(apply_json(l, body("payout_sent", po)), "duplicate_business_id");
  std::string fee = "\"fee_id\":\"f1\",\"amount\":" + money("USD", "1.00");
  ASSERT_EQ(apply_json(l, body("fee_assessed", fee)), "ok");
  EXPECT_EQ(apply_json(l, body("fee_assessed", fee)), "duplicate_business_id");
  std::string st = "\"settlement_id\":\"s1\",\"scheme\":\"visa\",\"amount\":" + money("USD", "5.00");
  ASSERT_EQ(apply_json(l, body("card_scheme_settlement_received", st)), "ok");
  EXPECT_EQ(apply_json(l, body("card_scheme_settlement_received", st)), "duplicate_business_id");
  std::string vs = "\"settlement_id\":\"s1\",\"method\":\"VOUCHER_METHOD_OXXO\",\"amount\":" +
                   money("MXN", "5.00");
  ASSERT_EQ(apply_json(l, body("voucher_collector_settled", vs)), "ok");
  EXPECT_EQ(apply_json(l, body("voucher_collector_settled", vs)), "duplicate_business_id");
  // 100.00 - 10.00 payout - 1.00 fee = 89.00
  EXPECT_EQ(payable(l, "USD"), "89.00");
  // Another merchant may use the same payout id.
  ASSERT_EQ(apply_json(l, "{" + eid() + ",\"merchant_id\":\"m2\",\"bank_transfer_received\":{"
                          "\"payment_id\":\"x\",\"rail\":\"BANK_RAIL_UPI\",\"amount\":" +
                              money("INR", "50.00") + "}}"),
            "ok");
  EXPECT_EQ(apply_json(l, "{" + eid() + ",\"merchant_id\":\"m2\",\"payout_sent\":{" +
                              "\"payout_id\":\"po1\",\"amount\":" + money("INR", "5.00") + "}}"),
            "ok");
}

// The fold remembers merchant-level ids in the store: a duplicate payout after a restart
// (a new fold over a reopened store) is still rejected.
TEST(MoneyRules, APayoutIdIsRememberedAcrossFoldRestarts) {
  TempDir dir;
  events::EmbeddedLogOptions lo;
  lo.sync = false;
  auto log = events::EmbeddedLog::open(dir.path() + "/log", lo).value();
  auto append = [&](const std::string& json) {
    v1::Envelope e = json_event(json);
    std::vector<events::AppendRecord> records{events::event_record(e)};
    ASSERT_TRUE(log->append(records).ok());
  };
  projections::FoldOptions fo;
  fo.sync = false;
  append(auth("p1", "100.00"));
  append(capture("p1", "100.00"));
  append(body("payout_sent", "\"payout_id\":\"po1\",\"amount\":" + money("USD", "60.00")));
  {
    auto store = projections::Store::open(dir.path() + "/projections", false).value();
    auto stats = projections::fold(*store, *log, fo);
    ASSERT_TRUE(stats.ok());
    EXPECT_EQ(stats->applied, 3u);
  }
  append(body("payout_sent", "\"payout_id\":\"po1\",\"amount\":" + money("USD", "40.00")));
  auto store = projections::Store::open(dir.path() + "/projections", false).value();
  auto stats = projections::fold(*store, *log, fo);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->applied, 0u);
  EXPECT_EQ(stats->rejected, 1u);
  auto rejects = projections::list_rejects(*store, 0).value();
  ASSERT_EQ(rejects.size(), 1u);
  EXPECT_EQ(code_name(rejects[0].code), "duplicate_business_id");
}

// ---------------------------------------------------------------------- contracts, overflow

TEST(MoneyRules, AFixedFeeInAnotherCurrencyIsRejectedAtContractTime) {
  MemoryLedger l;
  // GCash pays in PHP only: a USD fixed fee could never apply.
  EXPECT_EQ(apply_json(l, contract("gcash", "2.5", money("USD", "0.30"))), "currency_mismatch");
  EXPECT_EQ(apply_json(l, contract("gcash", "2.5", money("PHP", "5.00"))), "ok");
}

TEST(MoneyRules, ACardPaymentInAnotherCurrencyThanTheFixedFeeIsRejectedNotChargedNothing) {
  MemoryLedger l;
  ASSERT_EQ(apply_json(l, contract("card", "2.9", money("USD", "0.30"))), "ok");
  ASSERT_EQ(apply_json(l, auth("e1", "100.00", "EUR")), "ok");
  EXPECT_EQ(apply_json(l, capture("e1", "100.00", "EUR")), "currency_mismatch");
  EXPECT_EQ(payable(l, "EUR"), "0.00");
  ASSERT_EQ(apply_json(l, auth("u1", "100.00")), "ok");
  ASSERT_EQ(apply_json(l, capture("u1", "100.00")), "ok");
  // 2.9 % x 100.00 = 2.90, + 0.30 fixed = 3.20
  EXPECT_EQ(fees(l, "USD"), "3.20");
}

TEST(MoneyRules, AnAbsurdFixedFeeIsRejectedAsOverflowAndLaterEventsApply) {
  MemoryLedger l;
  EXPECT_EQ(apply_json(l, contract("card", "2.9", money("USD", "1" + std::string(36, '0')))),
            "overflow");
  ASSERT_EQ(apply_json(l, auth("p1", "100.00")), "ok");
  ASSERT_EQ(apply_json(l, capture("p1", "100.00")), "ok");
  EXPECT_EQ(payable(l, "USD"), "100.00");  // no contract took effect: no fee
}

TEST(MoneyRules, AFeeSumPastTheInt128EdgeIsARejectionNotAThrow) {
  MemoryLedger l;
  ASSERT_EQ(apply_json(l, contract("card", "2.9")), "ok");
  ASSERT_EQ(apply_json(l, auth("p1", "100.00")), "ok");
  // A payment whose recorded fee is at the edge (as a corrupt or hostile state would be):
  // adding 2.9 % of 10.00 = 0.29 to it must not throw out of the rules.
  l.payments.at(std::string("m1") + '\0' + "p1").fee = std::numeric_limits<Int128>::max();
  MemoryLedger before = l;
  EXPECT_EQ(apply_json(l, capture("p1", "10.00")), "overflow");
  EXPECT_EQ(payable(l, "USD"), payable(before, "USD"));
  // The next event still applies.
  EXPECT_EQ(apply_json(l, auth("p2", "5.00")), "ok");
}

TEST(MoneyRules, AZeroPercentContractIsExpressible) {
  MemoryLedger l;
  ASSERT_EQ(apply_json(l, contract("card", "0", money("USD", "0.25"))), "ok");
  ASSERT_EQ(apply_json(l, auth("p1", "10.00")), "ok");
  ASSERT_EQ(apply_json(l, capture("p1", "10.00")), "ok");
  EXPECT_EQ(fees(l, "USD"), "0.25");  // 0 % x 10.00 + 0.25 fixed
  ASSERT_EQ(apply_json(l, contract("pix", "0.00")), "ok");
  EXPECT_EQ(apply_json(l, contract("pix", "-1")), "bad_amount");
  EXPECT_EQ(apply_json(l, contract("pix", "100.01")), "bad_amount");
}

TEST(MoneyRules, AnEndedContractChargesNothingAndCannotEndTwice) {
  MemoryLedger l;
  ASSERT_EQ(apply_json(l, contract("card", "2.0")), "ok");
  ASSERT_EQ(apply_json(l, body("merchant_contract_ended", "\"method\":\"card\"")), "ok");
  EXPECT_EQ(apply_json(l, body("merchant_contract_ended", "\"method\":\"card\"")),
            "illegal_transition");
  EXPECT_EQ(apply_json(l, body("merchant_contract_ended", "\"method\":\"pix\"")),
            "illegal_transition");
  ASSERT_EQ(apply_json(l, auth("p1", "100.00")), "ok");
  ASSERT_EQ(apply_json(l, capture("p1", "100.00")), "ok");
  EXPECT_EQ(fees(l, "USD"), "0.00");
  EXPECT_EQ(payable(l, "USD"), "100.00");
  // A new contract applies again: 2.0 % x 50.00 = 1.00
  ASSERT_EQ(apply_json(l, contract("card", "2.0")), "ok");
  ASSERT_EQ(apply_json(l, auth("p2", "50.00")), "ok");
  ASSERT_EQ(apply_json(l, capture("p2", "50.00")), "ok");
  EXPECT_EQ(fees(l, "USD"), "1.00");
}

// --------------------------------------------------------------------------- fee policy

TEST(MoneyRules, RefundsReturnTheFeeChargedProRataAndTheFixedPartOnlyWhenFull) {
  MemoryLedger l;
  ASSERT_EQ(apply_json(l, contract("card", "2.9", money("USD", "0.30"), true)), "ok");
  ASSERT_EQ(apply_json(l, auth("p1", "100.00")), "ok");
  ASSERT_EQ(apply_json(l, capture("p1", "100.00")), "ok");
  EXPECT_EQ(fees(l, "USD"), "3.20");  // 2.90 + 0.30
  // Today's contract is another one: refunds still use what was charged.
  ASSERT_EQ(apply_json(l, contract("card", "10", "", false)), "ok");
  ASSERT_EQ(apply_json(l, card_refund("p1", "40.00", "r1")), "ok");
  // 2.90 x 40/100 = 1.16 returned; 3.20 - 1.16 = 2.04 kept
  EXPECT_EQ(fees(l, "USD"), "2.04");
  ASSERT_EQ(apply_json(l, card_refund("p1", "60.00", "r2")), "ok");
  // Full refund: the rest, 2.04 (1.74 variable + 0.30 fixed), comes back.
  EXPECT_EQ(fees(l, "USD"), "0.00");
  // 100.00 - 3.20 - 40.00 + 1.16 - 60.00 + 2.04 = 0.00
  EXPECT_EQ(payable(l, "USD"), "0.00");
}

TEST(MoneyRules, ManySmallRefundsNeverReturnMoreThanTheVariableFee) {
  MemoryLedger l;
  ASSERT_EQ(apply_json(l, contract("card", "1", money("USD", "0.30"), true)), "ok");
  ASSERT_EQ(apply_json(l, auth("p1", "10.00")), "ok");
  ASSERT_EQ(apply_json(l, capture("p1", "10.00")), "ok");
  EXPECT_EQ(fees(l, "USD"), "0.40");  // 1 % x 10.00 = 0.10, + 0.30
  // Six refunds of 1.50 (9.00): cumulative 0.10 x 9.00/10.00 = 0.09 back (rounded down at
  // each step: 0.01, 0.03, 0.04, 0.06, 0.07, 0.09). Per-refund 1 % x 1.50 = 0.015 -> 0.02
  // six times would be 0.12, eating into the fixed 0.30.
  for (int i = 0; i < 6; ++i) {
    ASSERT_EQ(apply_json(l, card_refund("p1", "1.50", "r" + std::to_string(i))), "ok");
  }
  EXPECT_EQ(fees(l, "USD"), "0.31");  // 0.40 - 0.09
  ASSERT_EQ(apply_json(l, card_refund("p1", "1.00", "last")), "ok");
  EXPECT_EQ(fees(l, "USD"), "0.00");  // full: the remaining 0.01 + 0.30 fixed
}

TEST(MoneyRules, WithoutRefundTermsRefundsReturnNoFee) {
  MemoryLedger l;
  ASSERT_EQ(apply_json(l, contract("card", "3")), "ok");
  ASSERT_EQ(apply_json(l, auth("p1", "100.00")), "ok");
  ASSERT_EQ(apply_json(l, capture("p1", "100.00")), "ok");
  // Today's contract returns fees, but the payment was charged under terms that did not.
  ASSERT_EQ(apply_json(l, contract("card", "3", "", true)), "ok");
  ASSERT_EQ(apply_json(l, card_refund("p1", "100.00", "r1")), "ok");
  EXPECT_EQ(fees(l, "USD"), "3.00");  // 3 % x 100.00, kept
}

TEST(MoneyRules, AUpiReversalReturnsTheFeeChargedLikeAWalletVoid) {
  MemoryLedger l;
  ASSERT_EQ(apply_json(l, contract("upi", "2")), "ok");
  ASSERT_EQ(apply_json(l, body("upi_payment_pending",
                               "\"payment_id\":\"u1\",\"amount\":" + money("INR", "1000.00"))),
            "ok");
  ASSERT_EQ(apply_json(l, body("upi_payment_resolved",
                               "\"payment_id\":\"u1\",\"outcome\":\"UPI_OUTCOME_SUCCESS\"")),
            "ok");
  EXPECT_EQ(fees(l, "INR"), "20.00");  // 2 % x 1000.00
  ASSERT_EQ(apply_json(l, body("upi_payment_resolved",
                               "\"payment_id\":\"u1\",\"outcome\":\"UPI_OUTCOME_REVERSED\"")),
            "ok");
  // The payment did not happen: 1000.00 - 20.00 - 1000.00 + 20.00 = 0.00
  EXPECT_EQ(fees(l, "INR"), "0.00");
  EXPECT_EQ(payable(l, "INR"), "0.00");
  // Same for a wallet void under a contract: 2.5 % x 200.00 = 5.00 charged, then returned.
  ASSERT_EQ(apply_json(l, contract("gcash", "2.5")), "ok");
  ASSERT_EQ(apply_json(l, gcash("w1", "200.00")), "ok");
  EXPECT_EQ(fees(l, "PHP"), "5.00");
  ASSERT_EQ(apply_json(l, body("ewallet_payment_voided", "\"payment_id\":\"w1\"")), "ok");
  EXPECT_EQ(fees(l, "PHP"), "0.00");
  EXPECT_EQ(payable(l, "PHP"), "0.00");
}

TEST(MoneyRules, ACardVoidReturnsNoFeeOnTheCapturedPart) {
  MemoryLedger l;
  ASSERT_EQ(apply_json(l, contract("card", "3", "", true)), "ok");
  ASSERT_EQ(apply_json(l, auth("p1", "100.00")), "ok");
  ASSERT_EQ(apply_json(l, capture("p1", "50.00")), "ok");
  ASSERT_EQ(apply_json(l, body("card_voided", "\"payment_id\":\"p1\"")), "ok");
  // 3 % x 50.00 = 1.50 on the captured half, which stays captured; the void released a hold
  // on which nothing was charged.
  EXPECT_EQ(fees(l, "USD"), "1.50");
  EXPECT_EQ(payable(l, "USD"), "48.50");  // 50.00 - 1.50
}

TEST(MoneyRules, APayByBankRefundReturnsTheVariableFeeProRata) {
  MemoryLedger l;
  ASSERT_EQ(apply_json(l, contract("pay_by_bank", "1.0", money("GBP", "0.20"), true)), "ok");
  ASSERT_EQ(apply_json(l, body("pay_by_bank_initiated",
                               "\"payment_id\":\"b1\",\"amount\":" + money("GBP", "50.00"))),
            "ok");
  ASSERT_EQ(apply_json(l, body("pay_by_bank_completed", "\"payment_id\":\"b1\"")), "ok");
  EXPECT_EQ(fees(l, "GBP"), "0.70");  // 1 % x 50.00 = 0.50, + 0.20
  ASSERT_EQ(apply_json(l, body("pay_by_bank_refund_sent", "\"payment_id\":\"b1\",\"refund_id\":"
                                                          "\"r1\",\"amount\":" +
                                                              money("GBP", "25.00"))),
            "ok");
  EXPECT_EQ(fees(l, "GBP"), "0.45");  // 0.50 x 25/50 = 0.25 back; the fixed 0.20 stays
}

// ------------------------------------------------------------------------------------ BNPL

std::string bnpl(const std::string& payment, const std::string& amount, const std::string& fee,
                 int instalments) {
  return body("bnpl_order_approved", "\"payment_id\":\"" + payment +
                                         "\",\"provider\":\"afterpay\",\"amount\":" +
                                         money("USD", amount) + ",\"fee\":" + money("USD", fee) +
                                         ",\"instalments\":" + std::to_string(instalments));
}

TEST(MoneyRules, ABnplOrderSmallerThanItsInstalmentsIsRejected) {
  MemoryLedger l;
  // 0.02 USD = 2 minor units cannot be split into 3 instalments of at least 0.01.
  EXPECT_EQ(apply_json(l, bnpl("n1", "0.02", "0.01", 3)), "bad_amount");
  EXPECT_EQ(apply_json(l, bnpl("n2", "0.03", "0.01", 3)), "ok");  // 0.01 x 3
}

TEST(MoneyRules, ABnplFullRefundReturnsTheProviderFeeAndStopsInstalments) {
  MemoryLedger l;
  ASSERT_EQ(apply_json(l, bnpl("n1", "100.00", "6.00", 4)), "ok");
  EXPECT_EQ(payable(l, "USD"), "94.00");  // 100.00 - 6.00
  ASSERT_EQ(apply_json(l, body("bnpl_refunded", "\"payment_id\":\"n1\",\"refund_id\":\"r1\","
                                                "\"amount\":" +
                                                    money("USD", "100.00"))),
            "ok");
  // Full refund of the order: 100.00 less the whole 6.00 fee = 94.00 clawed back.
  EXPECT_EQ(payable(l, "USD"), "0.00");
  EXPECT_EQ(apply_json(l, body("bnpl_instalment_collected", "\"payment_id\":\"n1\",\"number\":1,"
                                                            "\"amount\":" +
                                                                money("USD", "25.00"))),
            "illegal_transition");
}

// --------------------------------------------------------------------------- the ceiling

TEST(MoneyRules, AmountsAboveThePerAssetCeilingAreRejectedAtParseTime) {
  auto parse = [](const std::string& currency, const std::string& amount) {
    v1::Money m;
    m.set_currency(currency);
    m.set_amount(amount);
    auto r = ledger::parse_money(m, true, "amount");
    return r.ok() ? std::string("ok") : std::string(code_name(r.error().code));
  };
  EXPECT_EQ(parse("USD", "1" + std::string(36, '0')), "overflow");  // 10^36
  EXPECT_EQ(parse("USD", "999999999999999.99"), "ok");  // 10^15 - 0.01: the USD maximum
  EXPECT_EQ(parse("USD", "1000000000000000.00"), "overflow");  // 10^15
  EXPECT_EQ(parse("JPY", "999999999999999"), "ok");
  EXPECT_EQ(parse("JPY", "1000000000000000"), "overflow");
  // An 18-decimal token: at most 10^24 - 1 minor units, below one million tokens.
  ASSERT_TRUE(Asset::register_token("TST.CEIL", 18).ok());
  EXPECT_EQ(parse("TST.CEIL", "999999.999999999999999999"), "ok");
  EXPECT_EQ(parse("TST.CEIL", "1000000"), "overflow");
}

TEST(MoneyRules, A10To36AmountIsRejectedAndTheSameAccountStillFolds) {
  MemoryLedger l;
  EXPECT_EQ(apply_json(l, auth("p1", "1" + std::string(36, '0'))), "overflow");
  ASSERT_EQ(apply_json(l, auth("p2", "25.00")), "ok");
  ASSERT_EQ(apply_json(l, capture("p2", "25.00")), "ok");
  EXPECT_EQ(payable(l, "USD"), "25.00");
}

}  // namespace
}  // namespace payledger::testing
