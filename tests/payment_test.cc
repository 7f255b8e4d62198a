#include <gtest/gtest.h>

#include "test_util.h"

namespace payledger::testing {
namespace {

using ledger::Int128;
using ledger::PaymentStatus;

class CardMachine : public ::testing::Test {
 protected:
  MemoryLedger ledger;
  const ledger::PaymentState& state() { return ledger.payments.at(std::string("m1\0p1", 5)); }
  Code rejection(const v1::Envelope& e) {
    Status s = ledger.apply(e);
    return s.ok() ? Code::kOk : s.error().code;
  }
};

TEST_F(CardMachine, AuthoriseThenSeveralPartialCaptures) {
  ASSERT_TRUE(ledger.apply(card_authorised("e1", "p1", "100.00")).ok());
  ASSERT_TRUE(ledger.apply(card_captured("e2", "p1", "30.00")).ok());
  ASSERT_TRUE(ledger.apply(card_captured("e3", "p1", "70.00")).ok());
  EXPECT_EQ(state().status, PaymentStatus::kCaptured);
  EXPECT_EQ(state().captured, Int128(10000));
  EXPECT_EQ(state().captures, 2u);
  EXPECT_EQ(state().held(), Int128(0));
}

TEST_F(CardMachine, CaptureMoreThanAuthorisedIsRejected) {
  ASSERT_TRUE(ledger.apply(card_authorised("e1", "p1", "100.00")).ok());
  ASSERT_TRUE(ledger.apply(card_captured("e2", "p1", "60.00")).ok());
  EXPECT_EQ(rejection(card_captured("e3", "p1", "40.01")), Code::kExceedsAuthorised);
  EXPECT_EQ(state().captured, Int128(6000));
}

TEST_F(CardMachine, CaptureAfterVoidIsRejected) {
  ASSERT_TRUE(ledger.apply(card_authorised("e1", "p1", "100.00")).ok());
  ASSERT_TRUE(ledger.apply(card_voided("e2", "p1")).ok());
  EXPECT_EQ(rejection(card_captured("e3", "p1", "1.00")), Code::kIllegalTransition);
  EXPECT_EQ(state().status, PaymentStatus::kVoided);
}

TEST_F(CardMachine, VoidTwiceIsRejected) {
  ASSERT_TRUE(ledger.apply(card_authorised("e1", "p1", "100.00")).ok());
  ASSERT_TRUE(ledger.apply(card_voided("e2", "p1")).ok());
  EXPECT_EQ(rejection(card_voided("e3", "p1")), Code::kIllegalTransition);
}

TEST_F(CardMachine, VoidOfAFullyCapturedPaymentIsRejected) {
  ASSERT_TRUE(ledger.apply(card_authorised("e1", "p1", "100.00")).ok());
  ASSERT_TRUE(ledger.apply(card_captured("e2", "p1", "100.00")).ok());
  EXPECT_EQ(rejection(card_voided("e3", "p1")), Code::kIllegalTransition);
}

TEST_F(CardMachine, RefundMoreThanCapturedIsRejected) {
  ASSERT_TRUE(ledger.apply(card_authorised("e1", "p1", "100.00")).ok());
  ASSERT_TRUE(ledger.apply(card_captured("e2", "p1", "50.00")).ok());
  ASSERT_TRUE(ledger.apply(card_refunded("e3", "p1", "20.00")).ok());
  EXPECT_EQ(rejection(card_refunded("e4", "p1", "30.01")), Code::kExceedsCaptured);
  ASSERT_TRUE(ledger.apply(card_refunded("e5", "p1", "30.00")).ok());
  EXPECT_EQ(state().refunded, Int128(5000));
  EXPECT_EQ(state().refunds, 2u);
}

TEST_F(CardMachine, RefundBeforeCaptureIsRejected) {
  ASSERT_TRUE(ledger.apply(card_authorised("e1", "p1", "100.00")).ok());
  EXPECT_EQ(rejection(card_refunded("e2", "p1", "1.00")), Code::kExceedsCaptured);
}

TEST_F(CardMachine, SecondAuthorisationOfTheSamePaymentIsRejected) {
  ASSERT_TRUE(ledger.apply(card_authorised("e1", "p1", "100.00")).ok());
  EXPECT_EQ(rejection(card_authorised("e2", "p1", "5.00")), Code::kPaymentExists);
}

TEST_F(CardMachine, EventForAnUnknownPaymentIsRejected) {
  EXPECT_EQ(rejection(card_captured("e1", "nope", "1.00")), Code::kUnknownPayment);
  EXPECT_EQ(rejection(card_voided("e2", "nope")), Code::kUnknownPayment);
}

TEST_F(CardMachine, CaptureInAnotherCurrencyIsRejected) {
  ASSERT_TRUE(ledger.apply(card_authorised("e1", "p1", "100.00")).ok());
  EXPECT_EQ(rejection(card_captured("e2", "p1", "10.00", "EUR")), Code::kCurrencyMismatch);
}

TEST_F(CardMachine, PaymentsOfDifferentMerchantsDoNotCollide) {
  ASSERT_TRUE(ledger.apply(card_authorised("e1", "p1", "100.00")).ok());
  v1::Envelope other = card_authorised("e2", "p1", "5.00");
  other.set_merchant_id("m2");
  EXPECT_TRUE(ledger.apply(other).ok());
}

}  // namespace
}  // namespace payledger::testing

namespace payledger::testing {
namespace {

// Builds JSON events tersely: ev("e1", "2026-01-01T00:00:00Z", R"("card_voided":{...})").
v1::Envelope ev(const std::string& id, const std::string& at, const std::string& body) {
  return json_event(R"({"event_id":")" + id + R"(","occurred_at":")" + at + R"(",)" + body + "}");
}

std::string money(const std::string& amount, const std::string& ccy) {
  return R"({"currency":")" + ccy + R"(","amount":")" + amount + R"("})";
}

class Methods : public ::testing::Test {
 protected:
  MemoryLedger ledger;
  Code code(const v1::Envelope& e) {
    Status s = ledger.apply(e);
    return s.ok() ? Code::kOk : s.error().code;
  }
  void ok(const v1::Envelope& e) { ASSERT_EQ(code(e), Code::kOk) << e.DebugString(); }
};

TEST_F(Methods, CaptureAfterTheAuthorisationExpiredIsRejected) {
  ok(ev("a", "2026-01-01T00:00:00Z", R"("card_authorised":{"payment_id":"p","amount":)" +
                                         money("10.00", "USD") +
                                         R"(,"expires_at":"2026-01-08T00:00:00Z"})"));
  EXPECT_EQ(code(ev("c", "2026-01-08T00:00:00Z", R"("card_captured":{"payment_id":"p","amount":)" +
                                                     money("1.00", "USD") + "}")),
            Code::kExpired);
  ok(ev("x", "2026-01-08T00:00:00Z", R"("card_authorisation_expired":{"payment_id":"p"})"));
  EXPECT_EQ(code(ev("x2", "2026-01-09T00:00:00Z", R"("card_authorisation_expired":{"payment_id":"p"})")),
            Code::kIllegalTransition);  // the hold is released exactly once
}

TEST_F(Methods, ExpiryBeforeTheEndIsRejected) {
  ok(ev("a", "2026-01-01T00:00:00Z", R"("card_authorised":{"payment_id":"p","amount":)" +
                                         money("10.00", "USD") +
                                         R"(,"expires_at":"2026-01-08T00:00:00Z"})"));
  EXPECT_EQ(code(ev("x", "2026-01-07T23:59:59Z", R"("card_authorisation_expired":{"payment_id":"p"})")),
            Code::kNotYetExpired);
}

TEST_F(Methods, ASecondChargebackWhileOneIsOpenIsRejected) {
  ok(card_authorised("a", "p1", "100.00"));
  ok(card_captured("c", "p1", "100.00"));
  ok(ev("cb1", "2026-01-02T00:00:00Z", R"("chargeback_opened":{"payment_id":"p1","chargeback_id":"1","amount":)" +
                                           money("10.00", "USD") + "}"));
  EXPECT_EQ(code(ev("cb2", "2026-01-02T00:00:00Z", R"("chargeback_opened":{"payment_id":"p1","chargeback_id":"2","amount":)" +
                                                       money("10.00", "USD") + "}")),
            Code::kDisputeOpen);
}

TEST_F(Methods, AChargebackOnAPartlyRefundedPaymentNeverReturnsMoneyTwice) {
  ok(card_authorised("a", "p1", "100.00"));
  ok(card_captured("c", "p1", "100.00"));
  ok(card_refunded("r", "p1", "70.00"));
  EXPECT_EQ(code(ev("cb", "2026-01-02T00:00:00Z", R"("chargeback_opened":{"payment_id":"p1","chargeback_id":"1","amount":)" +
                                                      money("30.01", "USD") + "}")),
            Code::kExceedsCaptured);
  ok(ev("cb2", "2026-01-02T00:00:00Z", R"("chargeback_opened":{"payment_id":"p1","chargeback_id":"2","amount":)" +
                                           money("30.00", "USD") + "}"));
  EXPECT_EQ(code(card_refunded("r2", "p1", "0.01")), Code::kExceedsCaptured);
}

TEST_F(Methods, PixRefundAfter90DaysIsRejected) {
  ok(ev("t", "2026-01-01T00:00:00Z", R"("bank_transfer_received":{"payment_id":"p","rail":"BANK_RAIL_PIX","amount":)" +
                                         money("10.00", "BRL") + "}"));
  EXPECT_EQ(code(ev("r", "2026-04-01T00:00:01Z", R"("bank_transfer_refunded":{"payment_id":"p","refund_id":"r","amount":)" +
                                                     money("1.00", "BRL") + "}")),
            Code::kRefundWindowExpired);
  ok(ev("r2", "2026-04-01T00:00:00Z", R"("bank_transfer_refunded":{"payment_id":"p","refund_id":"r2","amount":)" +
                                          money("1.00", "BRL") + "}"));  // exactly 90 days
}

TEST_F(Methods, UpiLateSuccessAfterReversalIsRejected) {
  ok(ev("p", "2026-01-01T00:00:00Z", R"("upi_payment_pending":{"payment_id":"u","amount":)" +
                                         money("10.00", "INR") + R"(,"npci_code":"RB"})"));
  ok(ev("r", "2026-01-06T00:00:00Z", R"("upi_payment_resolved":{"payment_id":"u","outcome":"UPI_OUTCOME_REVERSED"})"));
  EXPECT_EQ(code(ev("s", "2026-01-07T00:00:00Z", R"("upi_payment_resolved":{"payment_id":"u","outcome":"UPI_OUTCOME_SUCCESS"})")),
            Code::kIllegalTransition);
}

TEST_F(Methods, VoucherPaidAfterExpiryGoesToSuspense) {
  ok(ev("i", "2026-01-05T00:00:00Z", R"("voucher_issued":{"payment_id":"v","method":"VOUCHER_METHOD_OXXO","amount":)" +
                                         money("100.00", "MXN") + R"(,"expires_on":"2026-01-06"})"));
  ok(ev("p", "2026-01-07T06:00:00Z", R"("voucher_paid":{"payment_id":"v"})"));
  auto mxn = ledger::Asset::find("MXN").value();
  EXPECT_EQ(ledger.balance(ledger::Chart::suspense_voucher_refunds(), mxn).posted_net(ledger::Side::kCredit),
            ledger::Int128(10000));
  EXPECT_TRUE(ledger.balance(ledger::Chart::merchant_payable("m1"), mxn).posted_net(ledger::Side::kCredit).is_zero());
}

}  // namespace
}  // namespace payledger::testing

namespace payledger::ledger {
namespace {

TEST(Instalments, SplitExactlyWithTheRemainderOnTheFirst) {
  auto three = split_instalments(Int128(10000), 3);
  EXPECT_EQ(three, (std::vector<Int128>{3334, 3333, 3333}));  // 100.00 = 33.34 + 33.33 + 33.33
  auto four = split_instalments(Int128(10000), 4);
  EXPECT_EQ(four, (std::vector<Int128>{2500, 2500, 2500, 2500}));
  auto odd = split_instalments(Int128(1001), 4);  // JPY 1001 = 251 + 250 + 250 + 250
  EXPECT_EQ(odd, (std::vector<Int128>{251, 250, 250, 250}));
  for (int64_t total : {1, 2, 99, 12345, 99999999}) {
    for (uint32_t n : {3u, 4u}) {
      Int128 sum = 0;
      for (const auto& part : split_instalments(Int128(total), n)) sum += part;
      EXPECT_EQ(sum, Int128(total)) << total << " in " << n;
    }
  }
}

TEST(EWalletVoid, IsSameLocalDayBefore2350Only) {
  Amount php = Amount::parse("10.00", Asset::find("PHP").value()).value();
  // GCash counts days in Manila (UTC+8): completed 2026-02-01 23:00 local (15:00Z).
  PaymentState s = ewallet_complete(php, Method::kGcash, 1769958000, 0);
  EXPECT_TRUE(ewallet_void(s, 1769958000 + 49 * 60 + 59).ok());        // 23:49:59
  EXPECT_EQ(ewallet_void(s, 1769958000 + 50 * 60).error().code, Code::kExpired);  // 23:50
  EXPECT_EQ(ewallet_void(s, 1769958000 + 3600).error().code, Code::kExpired);  // next day
}

}  // namespace
}  // namespace payledger::ledger
