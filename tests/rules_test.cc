#include <gtest/gtest.h>

#include <map>

#include "events/codec.h"
#include "ledger/rules.h"
#include "test_util.h"
#include "tools/generator.h"

namespace payledger::testing {
namespace {

using ledger::Bucket;
using ledger::Int128;
using ledger::Side;

Result<ledger::Effects> apply(const MemoryLedger& l, const v1::Envelope& e) {
  return ledger::apply_event(e, l);
}

// Sums every balance per (asset, bucket): debits minus credits must be zero.
void expect_books_balance(const MemoryLedger& l) {
  std::map<std::string, Int128> net;
  for (const auto& [key, b] : l.balances) {
    std::string asset = key.substr(key.find('\0') + 1);
    net[asset + "/posted"] += b.posted_debit - b.posted_credit;
    net[asset + "/pending"] += b.pending_debit - b.pending_credit;
  }
  for (const auto& [k, v] : net) EXPECT_EQ(v, Int128(0)) << k;
}

TEST(Rules, AuthorisationPostsABalancedPendingHold) {
  MemoryLedger l;
  auto fx = apply(l, card_authorised("e1", "p1", "25.50"));
  ASSERT_TRUE(fx.ok()) << fx.error().reason;
  ASSERT_EQ(fx->entry.lines.size(), 2u);
  for (const auto& line : fx->entry.lines) {
    EXPECT_EQ(line.bucket, Bucket::kPending);
    EXPECT_EQ(line.amount_minor, Int128(2550));
  }
  EXPECT_EQ(fx->entry.lines[0].account.name(), "psp:clearing:card");
  EXPECT_EQ(fx->entry.lines[0].side, Side::kDebit);
  EXPECT_EQ(fx->entry.lines[1].account.name(), "merchant:m1:payable");
  EXPECT_EQ(fx->entry.lines[1].side, Side::kCredit);
}

TEST(Rules, CaptureMovesMoneyFromPendingToPosted) {
  MemoryLedger l;
  ASSERT_TRUE(l.apply(card_authorised("e1", "p1", "100.00")).ok());
  ASSERT_TRUE(l.apply(card_captured("e2", "p1", "40.00")).ok());
  auto payable = l.balance(ledger::Chart::merchant_payable("m1"),
                           ledger::Asset::find("USD").value());
  EXPECT_EQ(payable.posted_net(Side::kCredit), Int128(4000));
  EXPECT_EQ(payable.pending_net(Side::kCredit), Int128(6000));
  ASSERT_TRUE(l.apply(card_voided("e3", "p1")).ok());
  payable = l.balance(ledger::Chart::merchant_payable("m1"), ledger::Asset::find("USD").value());
  EXPECT_EQ(payable.pending_net(Side::kCredit), Int128(0));
  EXPECT_EQ(payable.posted_net(Side::kCredit), Int128(4000));
  expect_books_balance(l);
}

TEST(Rules, PayoutBeyondAvailableIsRejectedAndPendingDoesNotCount) {
  MemoryLedger l;
  ASSERT_TRUE(l.apply(card_authorised("e1", "p1", "100.00")).ok());
  ASSERT_TRUE(l.apply(card_captured("e2", "p1", "40.00")).ok());
  Status s = l.apply(payout("e3", "40.01"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code::kInsufficientFunds);
  EXPECT_TRUE(l.apply(payout("e4", "40.00")).ok());
  expect_books_balance(l);
}

struct BadMoney {
  const char* amount;
  const char* currency;
  Code code;
};
void PrintTo(const BadMoney& c, std::ostream* os) { *os << "'" << c.amount << "' " << c.currency; }

class BadMoneyIsRejected : public ::testing::TestWithParam<BadMoney> {};

TEST_P(BadMoneyIsRejected, WithItsCode) {
  MemoryLedger l;
  auto fx = apply(l, card_authorised("e1", "p1", GetParam().amount, GetParam().currency));
  ASSERT_FALSE(fx.ok());
  EXPECT_EQ(fx.error().code, GetParam().code) << fx.error().reason;
}

INSTANTIATE_TEST_SUITE_P(Rules, BadMoneyIsRejected,
                         ::testing::Values(BadMoney{"-5.00", "USD", Code::kNonPositiveAmount},
                                           BadMoney{"0", "USD", Code::kNonPositiveAmount},
                                           BadMoney{"1.001", "USD", Code::kBadAmount},
                                           BadMoney{"1.5", "JPY", Code::kBadAmount},
                                           BadMoney{"1.0001", "BHD", Code::kBadAmount},
                                           BadMoney{"10", "ZZZ", Code::kUnknownAsset},
                                           BadMoney{"", "USD", Code::kMissingField},
                                           BadMoney{"abc", "USD", Code::kBadAmount}));

TEST(Rules, MissingAmountIsRejected) {
  MemoryLedger l;
  v1::Envelope e = envelope("e1");
  e.mutable_card_authorised()->set_payment_id("p1");
  auto fx = apply(l, e);
  ASSERT_FALSE(fx.ok());
  EXPECT_EQ(fx.error().code, Code::kMissingField);
}

TEST(Rules, PixMustBeInBrl) {
  MemoryLedger l;
  v1::Envelope e = envelope("e1");
  auto* b = e.mutable_bank_transfer_received();
  b->set_payment_id("p1");
  b->set_rail(v1::BANK_RAIL_PIX);
  b->mutable_amount()->set_currency("USD");
  b->mutable_amount()->set_amount("10.00");
  auto fx = apply(l, e);
  ASSERT_FALSE(fx.ok());
  EXPECT_EQ(fx.error().code, Code::kCurrencyMismatch);
  b->mutable_amount()->set_currency("BRL");
  EXPECT_TRUE(apply(l, e).ok());
}

TEST(Rules, OverflowingBalanceIsRejected) {
  MemoryLedger l;
  // The amount ceiling keeps events far from 2^127; a balance already at the edge (as if
  // summed over far more events than kAccountEventsLog2Max) still rejects, never wraps.
  l.balances[std::string("psp:clearing:card") + '\0' + "USD"].pending_debit =
      std::numeric_limits<Int128>::max() - 10;  // 2^127 - 11 minor units
  // 999,999,999,999,999.99 USD = 10^17 - 1 minor units, at the ceiling: the sum passes 2^127.
  Status s = l.apply(card_authorised("e1", "p1", "999999999999999.99"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code::kOverflow);
}

// Property: for every method family (one market's stream each, and all mixed), every event
// of random valid sequences applies, and the books balance per asset and bucket after each
// of many prefixes.
class GeneratedStreams : public ::testing::TestWithParam<std::string> {};

TEST_P(GeneratedStreams, AlwaysBalancePerAsset) {
  for (uint64_t seed : {1u, 7u, 12345u}) {
    tools::Generator gen({4000, seed, 13, GetParam()});
    MemoryLedger l;
    v1::Envelope e;
    size_t n = 0;
    while (gen.next(&e)) {
      Status s = l.apply(e);
      ASSERT_TRUE(s.ok()) << GetParam() << " seed " << seed << " event " << n << " ("
                          << events::body_name(e) << "): " << s.error().reason;
      if (++n % 500 == 0) expect_books_balance(l);
    }
    expect_books_balance(l);
  }
}

INSTANTIATE_TEST_SUITE_P(ByMarket, GeneratedStreams,
                         ::testing::Values("", "BR", "IN", "JP", "MX", "US", "DE", "GB", "BH",
                                           "PH", "ID", "TH"),
                         [](const auto& info) {
                           return info.param.empty() ? std::string("all") : info.param;
                         });

}  // namespace
}  // namespace payledger::testing
