// Coupons go back to their funders (issue 8, item 2; docs/architecture.md, "Coupons on voids
// and refunds"): a payment that ends without happening (void, reversal, cancellation,
// expiry, failure, a voucher paid late) gives every coupon back; refunds and chargebacks give
// them back pro rata, cumulatively, so a full refund returns exactly what was applied.
// Expected amounts are computed by hand in the comments, never by the code under test.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <map>
#include <string>

#include "events/codec.h"
#include "events/embedded_log.h"
#include "ledger/rules.h"
#include "projections/fold.h"
#include "projections/queries.h"
#include "projections/records.h"
#include "projections/store.h"
#include "test_util.h"
#include "tools/generator.h"

namespace payledger::testing {
namespace {

using ledger::Asset;
using ledger::Chart;
using ledger::Int128;
using ledger::Side;

std::string pending(const MemoryLedger& l, const ledger::AccountId& account,
                    const std::string& currency) {
  Asset asset = Asset::find(currency).value();
  return ledger::format_scaled(l.balance(account, asset).pending_net(Side::kCredit),
                               asset.exponent());
}
std::string payable(const MemoryLedger& l, const std::string& currency) {
  return posted(l, Chart::merchant_payable("m1"), currency);
}
std::string marketing(const MemoryLedger& l, const std::string& currency) {
  return posted(l, Chart::expense_marketing(), currency, Side::kDebit);
}
std::string partner(const MemoryLedger& l, const std::string& currency,
                    const std::string& name = "promo") {
  return posted(l, Chart::receivable("partner-" + name), currency, Side::kDebit);
}

// Every asset's debits equal its credits, posted and pending (the trial balance).
void expect_trial_balance(const MemoryLedger& l) {
  std::map<std::string, Int128> net;
  for (const auto& [key, b] : l.balances) {
    std::string asset = key.substr(key.find('\0') + 1);
    net[asset + "/posted"] += b.posted_debit - b.posted_credit;
    net[asset + "/pending"] += b.pending_debit - b.pending_credit;
  }
  for (const auto& [k, v] : net) EXPECT_EQ(v, Int128(0)) << k;
}

std::string apply_json(MemoryLedger& l, const std::string& json) {
  Status s = l.apply(json_event(json));
  return s.ok() ? "ok" : std::string(code_name(s.error().code)) + ": " + s.error().reason;
}

std::string eid() {
  static int n = 0;
  return fmt::format("\"event_id\":\"cpn-t{}\"", ++n);
}
std::string money(const std::string& currency, const std::string& amount) {
  return fmt::format(R"({{"currency":"{}","amount":"{}"}})", currency, amount);
}
std::string body(const std::string& name, const std::string& fields,
                 const std::string& at = "2026-01-01T00:00:00Z") {
  return fmt::format(R"({{{},"occurred_at":"{}","{}":{{{}}}}})", eid(), at, name, fields);
}
std::string pid(const std::string& payment) {
  return fmt::format(R"("payment_id":"{}")", payment);
}

enum class Funder { kPsp, kPartner, kMerchant };
std::string coupon(const std::string& payment, const std::string& id, const std::string& currency,
                   const std::string& amount, Funder funder = Funder::kPsp) {
  std::string by = funder == Funder::kPsp       ? R"("funded_by":"COUPON_FUNDER_PSP")"
                   : funder == Funder::kPartner ? R"("funded_by":"COUPON_FUNDER_WALLET_PARTNER",)"
                                                  R"("partner":"promo")"
                                                : R"("funded_by":"COUPON_FUNDER_MERCHANT")";
  return body("coupon_applied", fmt::format(R"({},"coupon_id":"{}","amount":{},{})", pid(payment),
                                            id, money(currency, amount), by));
}
std::string gcash(const std::string& payment, const std::string& amount) {
  return body("ewallet_payment_completed",
              fmt::format(R"({},"wallet":"WALLET_GCASH","amount":{})", pid(payment),
                          money("PHP", amount)));
}
std::string gcash_refund(const std::string& payment, const std::string& id,
                         const std::string& amount) {
  return body("ewallet_payment_refunded", fmt::format(R"({},"refund_id":"{}","amount":{})",
                                                      pid(payment), id, money("PHP", amount)));
}
std::string auth(const std::string& payment, const std::string& amount,
                 const std::string& expires_at = "") {
  return body("card_authorised",
              fmt::format(R"({},"amount":{}{})", pid(payment), money("USD", amount),
                          expires_at.empty()
                              ? ""
                              : fmt::format(R"(,"expires_at":"{}")", expires_at)));
}
std::string capture(const std::string& payment, const std::string& amount) {
  return body("card_captured",
              fmt::format(R"({},"amount":{})", pid(payment), money("USD", amount)));
}
std::string card_refund(const std::string& payment, const std::string& id,
                        const std::string& amount) {
  return body("card_refunded", fmt::format(R"({},"refund_id":"{}","amount":{})", pid(payment), id,
                                           money("USD", amount)));
}
std::string voucher(const std::string& payment, const std::string& method,
                    const std::string& currency, const std::string& amount) {
  // Issued 2026-01-01T00:00Z, valid to the end of 2026-01-03 local time.
  return body("voucher_issued",
              fmt::format(R"({},"method":"VOUCHER_METHOD_{}","amount":{},)"
                          R"("expires_on":"2026-01-03")",
                          pid(payment), method, money(currency, amount)));
}

// ------------------------------------------------------------------------------ voids

TEST(CouponIntegrity, AWalletVoidGivesAPspCouponBackToThePsp) {
  MemoryLedger l;
  ASSERT_EQ(apply_json(l, gcash("w1", "500.00")), "ok");
  ASSERT_EQ(apply_json(l, coupon("w1", "A", "PHP", "50.00")), "ok");
  // payable 500.00 + 50.00 = 550.00; the PSP's marketing budget paid 50.00.
  ASSERT_EQ(payable(l, "PHP"), "550.00");
  ASSERT_EQ(apply_json(l, body("ewallet_payment_voided", pid("w1"))), "ok");
  // 550.00 - 500.00 voided - 50.00 coupon back = 0.00; marketing 50.00 - 50.00 = 0.00.
  EXPECT_EQ(payable(l, "PHP"), "0.00");
  EXPECT_EQ(marketing(l, "PHP"), "0.00");
  expect_trial_balance(l);
}

TEST(CouponIntegrity, AWalletVoidGivesAPartnerCouponBackToThePartner) {
  MemoryLedger l;
  ASSERT_EQ(apply_json(l, gcash("w1", "500.00")), "ok");
  ASSERT_EQ(apply_json(l, coupon("w1", "A", "PHP", "30.00", Funder::kPartner)), "ok");
  ASSERT_EQ(partner(l, "PHP"), "30.00");  // the partner owes the PSP 30.00
  ASSERT_EQ(apply_json(l, body("ewallet_payment_voided", pid("w1"))), "ok");
  // payable 500.00 + 30.00 - 500.00 - 30.00 = 0.00; the partner owes 30.00 - 30.00 = 0.00.
  EXPECT_EQ(payable(l, "PHP"), "0.00");
  EXPECT_EQ(partner(l, "PHP"), "0.00");
  expect_trial_balance(l);
}

TEST(CouponIntegrity, AVoidReturnsEachFunderItsOwnShareAndTheMerchantsOwnCouponMovesNothing) {
  MemoryLedger l;
  ASSERT_EQ(apply_json(l, gcash("w1", "500.00")), "ok");
  ASSERT_EQ(apply_json(l, coupon("w1", "P", "PHP", "40.00", Funder::kPsp)), "ok");
  ASSERT_EQ(apply_json(l, coupon("w1", "W", "PHP", "30.00", Funder::kPartner)), "ok");
  ASSERT_EQ(apply_json(l, coupon("w1", "M", "PHP", "20.00", Funder::kMerchant)), "ok");
  // payable 500.00 + 40.00 + 30.00 (the merchant's own 20.00 posts nothing) = 570.00
  ASSERT_EQ(payable(l, "PHP"), "570.00");
  ASSERT_EQ(apply_json(l, body("ewallet_payment_voided", pid("w1"))), "ok");
  // 570.00 - 500.00 - 40.00 (to the PSP) - 30.00 (to the partner) = 0.00
  EXPECT_EQ(payable(l, "PHP"), "0.00");
  EXPECT_EQ(marketing(l, "PHP"), "0.00");
  EXPECT_EQ(partner(l, "PHP"), "0.00");
  expect_trial_balance(l);
}

TEST(CouponIntegrity, ACardVoidBeforeAnyCaptureGivesTheCouponBack) {
  MemoryLedger l;
  ASSERT_EQ(apply_json(l, auth("c1", "100.00")), "ok");
  ASSERT_EQ(apply_json(l, coupon("c1", "A", "USD", "10.00", Funder::kPartner)), "ok");
  ASSERT_EQ(apply_json(l, body("card_voided", pid("c1"))), "ok");
  // posted payable 10.00 - 10.00 = 0.00; the 100.00 hold is released (pending 0.00).
  EXPECT_EQ(payable(l, "USD"), "0.00");
  EXPECT_EQ(pending(l, Chart::merchant_payable("m1"), "USD"), "0.00");
  EXPECT_EQ(partner(l, "USD"), "0.00");
  expect_trial_balance(l);
}

TEST(CouponIntegrity, ACardVoidAfterAPartCaptureReturnsTheReleasedShareThenRefundsTheRest) {
  MemoryLedger l;
  ASSERT_EQ(apply_json(l, auth("c1", "100.00")), "ok");
  ASSERT_EQ(apply_json(l, coupon("c1", "A", "USD", "10.00")), "ok");
  ASSERT_EQ(apply_json(l, capture("c1", "60.00")), "ok");
  ASSERT_EQ(apply_json(l, body("card_voided", pid("c1"))), "ok");
  // The sale shrank to the 60.00 captured: 40.00 of 100.00 released, so
  // 10.00 x 40 / 100 = 4.00 goes back. payable 60.00 + 10.00 - 4.00 = 66.00,
  // marketing 10.00 - 4.00 = 6.00.
  EXPECT_EQ(payable(l, "USD"), "66.00");
  EXPECT_EQ(marketing(l, "USD"), "6.00");
  ASSERT_EQ(apply_json(l, card_refund("c1", "r1", "60.00")), "ok");
  // Refunding all that was captured: the rest, 10.00 - 4.00 = 6.00, goes back too.
  // payable 66.00 - 60.00 - 6.00 = 0.00.
  EXPECT_EQ(payable(l, "USD"), "0.00");
  EXPECT_EQ(marketing(l, "USD"), "0.00");
  expect_trial_balance(l);
}

TEST(CouponIntegrity, ACardAuthorisationExpiryGivesTheCouponBack) {
  MemoryLedger l;
  ASSERT_EQ(apply_json(l, auth("c1", "80.00", "2026-01-02T00:00:00Z")), "ok");
  ASSERT_EQ(apply_json(l, coupon("c1", "A", "USD", "8.00")), "ok");
  ASSERT_EQ(apply_json(l, body("card_authorisation_expired", pid("c1"), "2026-01-02T00:00:00Z")),
            "ok");
  // posted payable 8.00 - 8.00 = 0.00; marketing 8.00 - 8.00 = 0.00.
  EXPECT_EQ(payable(l, "USD"), "0.00");
  EXPECT_EQ(marketing(l, "USD"), "0.00");
  expect_trial_balance(l);
}

// --------------------------------------------------------------------------- refunds

TEST(CouponIntegrity, AFullRefundGivesTheWholeCouponBack) {
  MemoryLedger l;
  ASSERT_EQ(apply_json(l, gcash("w1", "500.00")), "ok");
  ASSERT_EQ(apply_json(l, coupon("w1", "A", "PHP", "400.00")), "ok");
  ASSERT_EQ(apply_json(l, gcash_refund("w1", "r1", "500.00")), "ok");
  // 500.00 + 400.00 - 500.00 refunded - 400.00 coupon back = 0.00
  EXPECT_EQ(payable(l, "PHP"), "0.00");
  EXPECT_EQ(marketing(l, "PHP"), "0.00");
  expect_trial_balance(l);
}

TEST(CouponIntegrity, TwoPartialRefundsReturnCouponsProRataCumulativelyAndExactlyInTheEnd) {
  MemoryLedger l;
  ASSERT_EQ(apply_json(l, gcash("w1", "100.00")), "ok");
  ASSERT_EQ(apply_json(l, coupon("w1", "P", "PHP", "33.33", Funder::kPsp)), "ok");
  ASSERT_EQ(apply_json(l, coupon("w1", "W", "PHP", "33.34", Funder::kPartner)), "ok");
  ASSERT_EQ(apply_json(l, coupon("w1", "M", "PHP", "10.00", Funder::kMerchant)), "ok");
  // payable 100.00 + 33.33 + 33.34 = 166.67
  ASSERT_EQ(payable(l, "PHP"), "166.67");
  ASSERT_EQ(apply_json(l, gcash_refund("w1", "r1", "33.33")), "ok");
  // 33.33 of 100.00 refunded, rounded down per funder:
  //   PSP     floor(3333 x 3333 / 10000) = floor(1110.8889) = 1110 -> 11.10
  //   partner floor(3334 x 3333 / 10000) = floor(1111.2222) = 1111 -> 11.11
  // payable 166.67 - 33.33 - 11.10 - 11.11 = 111.13
  EXPECT_EQ(payable(l, "PHP"), "111.13");
  EXPECT_EQ(marketing(l, "PHP"), "22.23");  // 33.33 - 11.10
  EXPECT_EQ(partner(l, "PHP"), "22.23");    // 33.34 - 11.11
  ASSERT_EQ(apply_json(l, gcash_refund("w1", "r2", "66.67")), "ok");
  // 33.33 + 66.67 = 100.00: everything left goes back, 22.23 to each funder (rounding each
  // refund on its own would give the PSP floor(3333 x 6667 / 10000) = 22.22: 0.01 short).
  // payable 111.13 - 66.67 - 22.23 - 22.23 = 0.00
  EXPECT_EQ(payable(l, "PHP"), "0.00");
  EXPECT_EQ(marketing(l, "PHP"), "0.00");
  EXPECT_EQ(partner(l, "PHP"), "0.00");
  expect_trial_balance(l);
}

TEST(CouponIntegrity, ManySmallRefundsNeverReturnMoreThanTheCoupon) {
  MemoryLedger l;
  ASSERT_EQ(apply_json(l, gcash("w1", "1.00")), "ok");
  ASSERT_EQ(apply_json(l, coupon("w1", "A", "PHP", "0.99")), "ok");
  for (int i = 0; i < 99; ++i) {
    ASSERT_EQ(apply_json(l, gcash_refund("w1", fmt::format("r{}", i), "0.01")), "ok");
  }
  // refunded 0.99 of 1.00: floor(99 x 99 / 100) = floor(98.01) = 98 -> 0.98 back,
  // marketing 0.99 - 0.98 = 0.01; payable 1.00 + 0.99 - 0.99 - 0.98 = 0.02.
  EXPECT_EQ(marketing(l, "PHP"), "0.01");
  EXPECT_EQ(payable(l, "PHP"), "0.02");
  ASSERT_EQ(apply_json(l, gcash_refund("w1", "last", "0.01")), "ok");
  // the last cent: 0.01 more back, exactly 0.99 in all; payable 0.02 - 0.01 - 0.01 = 0.00.
  EXPECT_EQ(marketing(l, "PHP"), "0.00");
  EXPECT_EQ(payable(l, "PHP"), "0.00");
  expect_trial_balance(l);
}

TEST(CouponIntegrity, ACouponAppliedAfterAPartialRefundStillComesBackExactlyOnTheFullRefund) {
  MemoryLedger l;
  ASSERT_EQ(apply_json(l, gcash("w1", "100.00")), "ok");
  ASSERT_EQ(apply_json(l, gcash_refund("w1", "r1", "40.00")), "ok");
  // room 100.00 - 40.00 refunded = 60.00 >= 30.00
  ASSERT_EQ(apply_json(l, coupon("w1", "A", "PHP", "30.00", Funder::kPartner)), "ok");
  ASSERT_EQ(apply_json(l, gcash_refund("w1", "r2", "60.00")), "ok");
  // 40.00 + 60.00 = 100.00: all 30.00 back; payable 100.00 - 40.00 + 30.00 - 60.00 - 30.00
  EXPECT_EQ(payable(l, "PHP"), "0.00");
  EXPECT_EQ(partner(l, "PHP"), "0.00");
  const ledger::PaymentState* p = l.find_payment("m1", "w1");
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(p->coupon_funding.size(), 1u);
  EXPECT_EQ(p->coupon_funding[0].applied, Int128(3000));
  EXPECT_EQ(p->coupon_funding[0].returned, Int128(3000));
  expect_trial_balance(l);
}

TEST(CouponIntegrity, ThePaymentRemembersWhatWentBackToEachFunder) {
  MemoryLedger l;
  ASSERT_EQ(apply_json(l, gcash("w1", "100.00")), "ok");
  ASSERT_EQ(apply_json(l, coupon("w1", "P", "PHP", "33.33", Funder::kPsp)), "ok");
  ASSERT_EQ(apply_json(l, coupon("w1", "W", "PHP", "33.34", Funder::kPartner)), "ok");
  ASSERT_EQ(apply_json(l, coupon("w1", "M", "PHP", "10.00", Funder::kMerchant)), "ok");
  ASSERT_EQ(apply_json(l, gcash_refund("w1", "r1", "33.33")), "ok");
  const ledger::PaymentState* p = l.find_payment("m1", "w1");
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(p->coupon_funding.size(), 3u);  // sorted: PSP, partner, merchant
  // floor(3333 x 3333 / 10000) = 1110; floor(3334 x 3333 / 10000) = 1111;
  // floor(1000 x 3333 / 10000) = 333 (the merchant's own: counted, nothing posted)
  EXPECT_EQ(p->coupon_funding[0].returned, Int128(1110));
  EXPECT_EQ(p->coupon_funding[1].returned, Int128(1111));
  EXPECT_EQ(p->coupon_funding[1].partner, "promo");
  EXPECT_EQ(p->coupon_funding[2].returned, Int128(333));
  EXPECT_EQ(p->coupons, Int128(7667));  // 3333 + 3334 + 1000
}

// ------------------------------------------------------------------------ chargebacks

std::string chargeback(const std::string& payment, const std::string& id,
                       const std::string& amount) {
  return body("chargeback_opened", fmt::format(R"({},"chargeback_id":"{}","amount":{})",
                                               pid(payment), id, money("USD", amount)));
}

TEST(CouponIntegrity, AChargebackReturnsCouponsProRataAndALostOneKeepsThemReturned) {
  MemoryLedger l;
  ASSERT_EQ(apply_json(l, auth("c1", "200.00")), "ok");
  ASSERT_EQ(apply_json(l, capture("c1", "200.00")), "ok");
  ASSERT_EQ(apply_json(l, coupon("c1", "A", "USD", "50.00")), "ok");
  ASSERT_EQ(apply_json(l, chargeback("c1", "cb1", "80.00")), "ok");
  // 50.00 x 80 / 200 = 20.00 back; payable 200.00 + 50.00 - 80.00 - 20.00 = 150.00
  EXPECT_EQ(payable(l, "USD"), "150.00");
  EXPECT_EQ(marketing(l, "USD"), "30.00");  // 50.00 - 20.00
  ASSERT_EQ(apply_json(l, body("chargeback_resolved", pid("c1") + R"(,"won":false)")), "ok");
  // Lost: nothing moves.
  EXPECT_EQ(payable(l, "USD"), "150.00");
  EXPECT_EQ(marketing(l, "USD"), "30.00");
  ASSERT_EQ(apply_json(l, card_refund("c1", "r1", "120.00")), "ok");
  // 80.00 charged back + 120.00 refunded = 200.00: the other 30.00 goes back;
  // payable 150.00 - 120.00 - 30.00 = 0.00.
  EXPECT_EQ(payable(l, "USD"), "0.00");
  EXPECT_EQ(marketing(l, "USD"), "0.00");
  expect_trial_balance(l);
}

TEST(CouponIntegrity, AWonChargebackReinstatesTheCouponWithTheMoney) {
  MemoryLedger l;
  ASSERT_EQ(apply_json(l, auth("c1", "200.00")), "ok");
  ASSERT_EQ(apply_json(l, capture("c1", "200.00")), "ok");
  ASSERT_EQ(apply_json(l, coupon("c1", "A", "USD", "50.00", Funder::kPartner)), "ok");
  ASSERT_EQ(apply_json(l, chargeback("c1", "cb1", "200.00")), "ok");
  // all 200.00 disputed: 50.00 back to the partner; payable 250.00 - 200.00 - 50.00 = 0.00
  EXPECT_EQ(payable(l, "USD"), "0.00");
  EXPECT_EQ(partner(l, "USD"), "0.00");
  ASSERT_EQ(apply_json(l, body("chargeback_resolved", pid("c1") + R"(,"won":true)")), "ok");
  // Won: the 200.00 and the partner's 50.00 come back; payable 250.00, partner owes 50.00.
  EXPECT_EQ(payable(l, "USD"), "250.00");
  EXPECT_EQ(partner(l, "USD"), "50.00");
  expect_trial_balance(l);
}

// -------------------------------------------------------- pending payments that never paid

TEST(CouponIntegrity, AnExpiredKonbiniVoucherGivesTheCouponBack) {
  MemoryLedger l;
  ASSERT_EQ(apply_json(l, voucher("v1", "KONBINI", "JPY", "5000")), "ok");
  ASSERT_EQ(apply_json(l, coupon("v1", "A", "JPY", "500")), "ok");
  ASSERT_EQ(payable(l, "JPY"), "500");
  ASSERT_EQ(apply_json(l, body("voucher_expired", pid("v1"), "2026-01-05T00:00:00Z")), "ok");
  // posted payable 500 - 500 = 0; the 5000 pending receivable is released.
  EXPECT_EQ(payable(l, "JPY"), "0");
  EXPECT_EQ(pending(l, Chart::merchant_payable("m1"), "JPY"), "0");
  EXPECT_EQ(marketing(l, "JPY"), "0");
  expect_trial_balance(l);
}

TEST(CouponIntegrity, AnExpiredBoletoGivesAPartnerCouponBack) {
  MemoryLedger l;
  ASSERT_EQ(apply_json(l, voucher("v1", "BOLETO", "BRL", "100.00")), "ok");
  ASSERT_EQ(apply_json(l, coupon("v1", "A", "BRL", "10.00", Funder::kPartner)), "ok");
  ASSERT_EQ(apply_json(l, body("voucher_expired", pid("v1"), "2026-01-05T00:00:00Z")), "ok");
  // payable 10.00 - 10.00 = 0.00; the partner owes 10.00 - 10.00 = 0.00.
  EXPECT_EQ(payable(l, "BRL"), "0.00");
  EXPECT_EQ(partner(l, "BRL"), "0.00");
  expect_trial_balance(l);
}

TEST(CouponIntegrity, AnOxxoVoucherPaidLateGivesTheCouponBack) {
  MemoryLedger l;
  ASSERT_EQ(apply_json(l, voucher("v1", "OXXO", "MXN", "200.00")), "ok");
  ASSERT_EQ(apply_json(l, coupon("v1", "A", "MXN", "20.00")), "ok");
  // Paid after the end of its day: the money is the customer's (suspense), no sale.
  ASSERT_EQ(apply_json(l, body("voucher_paid", pid("v1"), "2026-01-05T00:00:00Z")), "ok");
  // payable 20.00 - 20.00 = 0.00; suspense holds the 200.00 for the customer.
  EXPECT_EQ(payable(l, "MXN"), "0.00");
  EXPECT_EQ(marketing(l, "MXN"), "0.00");
  EXPECT_EQ(posted(l, Chart::suspense_voucher_refunds(), "MXN"), "200.00");
  expect_trial_balance(l);
}

TEST(CouponIntegrity, AFailedPayByBankOrUpiPaymentGivesTheCouponBack) {
  MemoryLedger l;
  ASSERT_EQ(apply_json(l, body("pay_by_bank_initiated",
                               pid("b1") + R"(,"amount":)" + money("GBP", "20.00"))),
            "ok");
  ASSERT_EQ(apply_json(l, coupon("b1", "A", "GBP", "2.00")), "ok");
  ASSERT_EQ(apply_json(l, body("pay_by_bank_failed", pid("b1") + R"(,"reason":"NO_CONSENT")")),
            "ok");
  // payable 2.00 - 2.00 = 0.00
  EXPECT_EQ(payable(l, "GBP"), "0.00");
  EXPECT_EQ(marketing(l, "GBP"), "0.00");
  ASSERT_EQ(apply_json(l, body("upi_payment_pending",
                               pid("u1") + R"(,"amount":)" + money("INR", "900.00"))),
            "ok");
  ASSERT_EQ(apply_json(l, coupon("u1", "A", "INR", "90.00", Funder::kPartner)), "ok");
  ASSERT_EQ(apply_json(l, body("upi_payment_resolved",
                               pid("u1") + R"(,"outcome":"UPI_OUTCOME_FAILED")")),
            "ok");
  // payable 90.00 - 90.00 = 0.00; the partner owes 0.00.
  EXPECT_EQ(payable(l, "INR"), "0.00");
  EXPECT_EQ(partner(l, "INR"), "0.00");
  expect_trial_balance(l);
}

// ------------------------------------------------------------------------------- BNPL

TEST(CouponIntegrity, BnplRefundsReturnCouponsProRataAndACancellationTheRest) {
  MemoryLedger l;
  ASSERT_EQ(apply_json(l, body("bnpl_order_approved",
                               pid("n1") + R"(,"provider":"klarna","amount":)" +
                                   money("USD", "300.00") + R"(,"fee":)" + money("USD", "18.00") +
                                   R"(,"instalments":3)")),
            "ok");
  ASSERT_EQ(apply_json(l, coupon("n1", "A", "USD", "30.00")), "ok");
  // payable 300.00 - 18.00 fee + 30.00 coupon = 312.00
  ASSERT_EQ(payable(l, "USD"), "312.00");
  ASSERT_EQ(apply_json(l, body("bnpl_refunded", pid("n1") + R"(,"refund_id":"r1","amount":)" +
                                                    money("USD", "100.00"))),
            "ok");
  // fee back 18.00 x 100 / 300 = 6.00, claw-back 100.00 - 6.00 = 94.00;
  // coupon back 30.00 x 100 / 300 = 10.00; payable 312.00 - 94.00 - 10.00 = 208.00
  EXPECT_EQ(payable(l, "USD"), "208.00");
  EXPECT_EQ(marketing(l, "USD"), "20.00");
  ASSERT_EQ(apply_json(l, body("bnpl_order_cancelled", pid("n1"))), "ok");
  // claw-back 200.00 - (18.00 - 6.00) = 188.00, coupon 30.00 - 10.00 = 20.00 back;
  // payable 208.00 - 188.00 - 20.00 = 0.00
  EXPECT_EQ(payable(l, "USD"), "0.00");
  EXPECT_EQ(marketing(l, "USD"), "0.00");
  expect_trial_balance(l);
}

// ------------------------------------------------------------------- through the fold

// A voucher that lapses by its deadline (no explicit expiry: a later event of the partition
// moves the watermark past it) gives its coupon back in the fold, whose books stay balanced;
// and a refunded, couponed payment's state survives the store.
TEST(CouponIntegrity, TheFoldReturnsCouponsOnADeadlineExpiryAndTheTrialBalanceBalances) {
  TempDir dir;
  events::EmbeddedLogOptions o;
  o.partitions = 1;
  o.sync = false;
  auto log = events::EmbeddedLog::open(dir.path() + "/log", o).value();
  std::vector<events::AppendRecord> records;
  for (const std::string& json :
       {voucher("v1", "KONBINI", "JPY", "5000"), coupon("v1", "A", "JPY", "500"),
        body("ewallet_payment_completed",
             R"("payment_id":"w1","wallet":"WALLET_GCASH","amount":)" + money("PHP", "100.00")),
        coupon("w1", "B", "PHP", "33.33", Funder::kPartner),
        gcash_refund("w1", "r1", "33.33"),
        // 2026-01-05: past the voucher's end (2026-01-03 23:59:59 Asia/Tokyo).
        body("payout_sent", R"("payout_id":"po1","amount":)" + money("PHP", "1.00") +
                                R"(,"destination":"bank")",
             "2026-01-05T00:00:00Z")}) {
    records.push_back({"m1", events::encode(json_event(json))});
  }
  ASSERT_TRUE(log->append(records).ok());
  auto store = projections::Store::open(dir.path() + "/projections", false).value();
  projections::FoldOptions options;
  options.sync = false;
  auto stats = projections::fold(*store, *log, options);
  ASSERT_TRUE(stats.ok()) << stats.error().reason;
  EXPECT_EQ(stats->rejected, 0u);
  std::map<std::string, std::string> net;
  for (const auto& row : projections::list_balances(*store, "").value()) {
    net[row.account + "/" + row.asset] = ledger::format_scaled(
        row.balance.posted_net(row.normal), row.exponent);
  }
  // JPY: coupon 500 - 500 back at the deadline = 0.
  EXPECT_EQ(net["merchant:m1:payable/JPY"], "0");
  // PHP: 100.00 + 33.33 - 33.33 refunded - floor(3333 x 3333 / 10000) = 11.10 back
  //      - 1.00 paid out = 87.90; the partner owes 33.33 - 11.10 = 22.23.
  EXPECT_EQ(net["merchant:m1:payable/PHP"], "87.90");
  EXPECT_EQ(net["psp:receivable:partner-promo/PHP"], "22.23");
  auto tb = projections::trial_balance(*store).value();
  EXPECT_TRUE(tb.balanced());
  for (const auto& row : tb.assets) EXPECT_EQ(row.debit, row.credit) << row.asset;
}

// Payment records gained the coupon funders (record v5): a store written by the previous
// layout (format 4) is refused with the advice to rebuild, not misread.
TEST(CouponIntegrity, AStoreOfTheFormatBeforeCouponFundersIsRefusedWithAdvice) {
  TempDir dir;
  {
    auto store = projections::Store::open(dir.path(), false).value();
    projections::StoreBatch wb(*store);
    wb.put(projections::Cf::kMeta, projections::kFormatKey, projections::be32_string(4));
    ASSERT_TRUE(store->write(wb, false).ok());
  }
  for (bool read_only : {false, true}) {
    auto reopened = projections::Store::open(dir.path(), read_only);
    ASSERT_FALSE(reopened.ok());
    EXPECT_EQ(reopened.error().code, Code::kCorrupt);
    EXPECT_NE(reopened.error().reason.find("it has format 4"), std::string::npos)
        << reopened.error().reason;
    EXPECT_NE(reopened.error().reason.find("payledger rebuild"), std::string::npos);
  }
}

// The demo and the benches run the rule: the generator couponed card, voucher, wallet,
// pay-by-bank and BNPL payments, and some of them end or are refunded, giving coupons back.
TEST(CouponIntegrity, TheGeneratorGivesCouponsBackOnVoidsExpiriesAndRefunds) {
  tools::Generator gen({200000, 3, 40, ""});
  MemoryLedger l;
  std::map<std::string, int> returns;  // event kind -> events that gave a coupon back
  v1::Envelope e;
  while (gen.next(&e)) {
    auto fx = ledger::apply_event(e, l);
    ASSERT_TRUE(fx.ok()) << events::body_name(e) << ": " << fx.error().reason;
    for (const auto& line : fx->entry.lines) {
      bool funder = line.account == Chart::expense_marketing() ||
                    line.account == Chart::receivable("partner-wallet-rewards");
      if (funder && line.side == Side::kCredit) {
        ++returns[std::string(events::body_name(e))];
        break;
      }
    }
    ASSERT_TRUE(l.apply(e).ok());
  }
  expect_trial_balance(l);
  // 200,000 events span about 4.6 days of event time: vouchers (3 days) lapse too.
  for (const char* kind :
       {"card_voided", "card_refunded", "chargeback_opened", "ewallet_payment_voided",
        "ewallet_payment_refunded", "voucher_expired", "pay_by_bank_failed", "bnpl_refunded",
        "bnpl_order_cancelled"}) {
    EXPECT_GT(returns[kind], 0) << kind;
  }
}

}  // namespace
}  // namespace payledger::testing
