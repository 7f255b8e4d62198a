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
