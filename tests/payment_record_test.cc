// Pair assertions for the stored payment and contract encodings (projections/records.cc):
// what the fold writes decodes to the same state, and a decoded state that breaks the money
// invariants is refused as corrupt.
#include <gtest/gtest.h>

#include "ledger/payment.h"
#include "projections/records.h"

namespace payledger::projections {
namespace {

using ledger::Amount;
using ledger::Asset;
using ledger::Int128;
using ledger::PaymentState;

PaymentState sample() {
  PaymentState p = ledger::card_authorise(
      Amount::from_minor(Asset::find("USD").value(), Int128(10000)), 1767225600, 1767830400);
  p.captured = 8000;
  p.refunded = 3000;
  p.fee = 262;  // 2.9 % x 80.00 = 2.32, + 0.30
  p.fee_fixed = 30;
  p.fee_returned = 87;
  p.fee_refundable = true;
  // Coupons 5.00 in all: 3.00 by the PSP, 2.00 by a wallet partner; 30 of 80 captured
  // were refunded, so floor(300 x 30 / 100) = 90 and floor(200 x 30 / 100) = 60 went back.
  ledger::add_coupon(p, ledger::CouponFunder::kPartner, "promo", 200);
  ledger::add_coupon(p, ledger::CouponFunder::kPsp, "", 300);
  p.coupon_funding[0].returned = 90;
  p.coupon_funding[1].returned = 60;
  EXPECT_TRUE(ledger::remember_business_id(p, ledger::BusinessId::kRefund, "r-2").ok());
  EXPECT_TRUE(ledger::remember_business_id(p, ledger::BusinessId::kCapture, "cap-1").ok());
  EXPECT_TRUE(ledger::remember_business_id(p, ledger::BusinessId::kRefund, "r-1").ok());
  return p;
}

TEST(PaymentRecord, RoundTripsEveryField) {
  PaymentState p = sample();
  auto decoded = decode_payment(encode_payment(p));
  ASSERT_TRUE(decoded.ok()) << decoded.error().reason;
  EXPECT_EQ(*decoded, p);
  ASSERT_EQ(decoded->business_ids.size(), 3u);
  EXPECT_EQ(decoded->business_ids[0], "ccap-1");  // sorted: kind letter + id
  EXPECT_FALSE(ledger::check_business_id(*decoded, ledger::BusinessId::kRefund, "r-1", "f").ok());
  EXPECT_TRUE(ledger::check_business_id(*decoded, ledger::BusinessId::kCoupon, "r-1", "f").ok());
}

TEST(PaymentRecord, MoreFeeReturnedThanChargedIsCorrupt) {
  PaymentState p = sample();
  p.fee_returned = p.fee + 1;
  auto decoded = decode_payment(encode_payment(p));
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code, Code::kCorrupt);
}

TEST(PaymentRecord, CouponsAboveThePaymentAreCorrupt) {
  PaymentState p = sample();
  p.coupons = p.authorised + 1;
  auto decoded = decode_payment(encode_payment(p));
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code, Code::kCorrupt);
}

TEST(PaymentRecord, CouponFundersRoundTripSortedAndTheirSumIsCoupons) {
  PaymentState p = sample();
  EXPECT_EQ(p.coupons, Int128(500));  // 300 + 200
  ASSERT_EQ(p.coupon_funding.size(), 2u);
  EXPECT_EQ(p.coupon_funding[0].funder, ledger::CouponFunder::kPsp);  // sorted by funder
  auto decoded = decode_payment(encode_payment(p));
  ASSERT_TRUE(decoded.ok()) << decoded.error().reason;
  EXPECT_EQ(decoded->coupon_funding, p.coupon_funding);
}

TEST(PaymentRecord, MoreCouponReturnedThanFundedIsCorrupt) {
  PaymentState p = sample();
  p.coupon_funding[1].returned = 201;  // the partner funded 200
  auto decoded = decode_payment(encode_payment(p));
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code, Code::kCorrupt);
}

TEST(PaymentRecord, CouponsWithoutTheirFundersAreCorrupt) {
  PaymentState p = sample();
  p.coupons = 600;  // funders hold 300 + 200 = 500
  auto decoded = decode_payment(encode_payment(p));
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code, Code::kCorrupt);
}

TEST(PaymentRecord, UnsortedBusinessIdsAreCorrupt) {
  PaymentState p = sample();
  std::swap(p.business_ids[0], p.business_ids[2]);
  EXPECT_FALSE(decode_payment(encode_payment(p)).ok());
}

TEST(ContractRecord, ZeroPercentAndEndedContractsRoundTrip) {
  auto c = ledger::make_contract("0", Amount::from_minor(Asset::find("EUR").value(), 25), true);
  ASSERT_TRUE(c.ok()) << c.error().reason;
  EXPECT_FALSE(c->rate.has_value());
  auto decoded = decode_contract(encode_contract(*c));
  ASSERT_TRUE(decoded.ok()) << decoded.error().reason;
  EXPECT_FALSE(decoded->rate.has_value());
  ASSERT_TRUE(decoded->fixed.has_value());
  EXPECT_EQ(*decoded->fixed, *c->fixed);
  EXPECT_TRUE(decoded->refund_fees);
  EXPECT_FALSE(decoded->ended);
  ledger::Contract ended;
  ended.ended = true;
  auto e = decode_contract(encode_contract(ended));
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->ended);
  auto pct = ledger::make_contract("2.9", std::nullopt, false);
  ASSERT_TRUE(pct.ok());
  auto p = decode_contract(encode_contract(*pct));
  ASSERT_TRUE(p.ok() && p->rate.has_value());
  EXPECT_TRUE(p->rate->mantissa() == Int128(29));  // 2.9 % = 0.029: mantissa 29, scale 3
  EXPECT_EQ(p->rate->scale(), 3);
}

}  // namespace
}  // namespace payledger::projections
