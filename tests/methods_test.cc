// The payment-method table (ledger/methods.h): its facts, written out here by hand, and the
// rules that read them.
#include <gtest/gtest.h>

#include <string>

#include "ledger/asset.h"
#include "ledger/deadlines.h"
#include "ledger/local_time.h"
#include "ledger/methods.h"
#include "ledger/payment.h"
#include "test_util.h"

namespace payledger::testing {
namespace {

using ledger::Method;
using ledger::MethodFacts;
using ledger::PaymentKind;
using ledger::Zone;

struct Expected {
  Method method;
  const char* name;
  PaymentKind kind;
  const char* currency;  // "" = any
};

constexpr Expected kExpected[] = {
    {Method::kCard, "card", PaymentKind::kCard, ""},
    {Method::kPix, "pix", PaymentKind::kBankTransfer, "BRL"},
    {Method::kUpi, "upi", PaymentKind::kBankTransfer, "INR"},
    {Method::kKonbini, "konbini", PaymentKind::kVoucher, "JPY"},
    {Method::kBoleto, "boleto", PaymentKind::kVoucher, "BRL"},
    {Method::kOxxo, "oxxo", PaymentKind::kVoucher, "MXN"},
    {Method::kGcash, "gcash", PaymentKind::kEWallet, "PHP"},
    {Method::kDana, "dana", PaymentKind::kEWallet, "IDR"},
    {Method::kTrueMoney, "truemoney", PaymentKind::kEWallet, "THB"},
    {Method::kPayByBank, "pay_by_bank", PaymentKind::kPayByBank, ""},
    {Method::kBnpl, "bnpl", PaymentKind::kBnpl, ""},
};

TEST(MethodFacts, EveryMethodHasItsNameKindAndCurrency) {
  ASSERT_EQ(ledger::kMethodFacts.size(), std::size(kExpected));
  for (const Expected& x : kExpected) {
    const MethodFacts& f = ledger::method_facts(x.method);
    EXPECT_EQ(f.method, x.method) << x.name;
    EXPECT_EQ(f.name, x.name);
    EXPECT_EQ(ledger::method_name(x.method), x.name);
    EXPECT_EQ(f.kind, x.kind) << x.name;
    EXPECT_EQ(f.currency, x.currency) << x.name;
    EXPECT_FALSE(f.display.empty()) << x.name;
    ASSERT_NE(ledger::find_method(x.name), nullptr) << x.name;
    EXPECT_EQ(ledger::find_method(x.name)->method, x.method);
    // A single-currency method's currency is one the ledger knows.
    if (!f.currency.empty()) {
      EXPECT_TRUE(ledger::Asset::find(std::string(f.currency)).ok()) << x.name;
    }
  }
  EXPECT_EQ(ledger::find_method("PIX"), nullptr);  // ids are lower case, as in contracts
  EXPECT_EQ(ledger::find_method("visa"), nullptr);
  EXPECT_EQ(ledger::method_name(static_cast<Method>(11)), "unknown");
}

// Vouchers' expiry dates and e-wallets' same-day voids count local days: each has a zone,
// and the local-time code ends its days at the zone's midnight. 2026-01-07 ends at
// 2026-01-08 00:00 local = days_from_civil(2026, 1, 8) * 86400 - offset.
TEST(MethodFacts, LocalTimeMethodsHaveTheirZone) {
  struct ZoneCase {
    Method method;
    Zone zone;
    int64_t offset_s;  // by hand: UTC+9 Tokyo, -3 Sao Paulo, -6 Mexico City, +8 Manila,
                       // +7 Jakarta and Bangkok
  };
  constexpr ZoneCase kCases[] = {
      {Method::kKonbini, Zone::kAsiaTokyo, 9 * 3600},
      {Method::kBoleto, Zone::kAmericaSaoPaulo, -3 * 3600},
      {Method::kOxxo, Zone::kAmericaMexicoCity, -6 * 3600},
      {Method::kGcash, Zone::kAsiaManila, 8 * 3600},
      {Method::kDana, Zone::kAsiaJakarta, 7 * 3600},
      {Method::kTrueMoney, Zone::kAsiaBangkok, 7 * 3600},
  };
  const int64_t jan8 = ledger::days_from_civil(2026, 1, 8) * 86400;  // 1767830400
  EXPECT_EQ(jan8, 1767830400);
  for (const ZoneCase& c : kCases) {
    const MethodFacts& f = ledger::method_facts(c.method);
    ASSERT_TRUE(f.zone.has_value()) << f.name;
    EXPECT_EQ(*f.zone, c.zone) << f.name;
    EXPECT_EQ(ledger::end_of_local_day("2026-01-07", *f.zone).value(), jan8 - c.offset_s)
        << f.name;
  }
  // Every kind that reads local time has a zone.
  for (const MethodFacts& f : ledger::kMethodFacts) {
    if (f.kind == PaymentKind::kVoucher || f.kind == PaymentKind::kEWallet) {
      EXPECT_TRUE(f.zone.has_value()) << f.name;
    }
  }
}

TEST(MethodFacts, WindowsAndFeePolicy) {
  // PIX devolucao: 90 days = 90 * 86400 = 7,776,000 s; no other method has a refund window.
  EXPECT_EQ(ledger::method_facts(Method::kPix).refund_window_s, 7776000);
  // Xendit e-wallet voids until 23:50 local = 23 * 3600 + 50 * 60 = 85,800 s.
  for (const MethodFacts& f : ledger::kMethodFacts) {
    bool pix = f.method == Method::kPix;
    bool wallet = f.kind == PaymentKind::kEWallet;
    EXPECT_EQ(f.refund_window_s, pix ? 7776000 : 0) << f.name;
    EXPECT_EQ(f.void_until_local_s, wallet ? 85800 : 0) << f.name;
    EXPECT_EQ(f.partial_refunds, f.method != Method::kTrueMoney) << f.name;
    EXPECT_EQ(f.contract_fees, f.method != Method::kBnpl) << f.name;
  }
  // Pending payments lapse: card authorisations after 7 days = 604,800 s, pay-by-bank after
  // 1 day = 86,400 s; the deadlines read these.
  for (const MethodFacts& f : ledger::kMethodFacts) {
    int64_t expected = f.method == Method::kCard        ? 604800
                       : f.method == Method::kPayByBank ? 86400
                                                        : 0;
    EXPECT_EQ(f.pending_timeout_s, expected) << f.name;
  }
  EXPECT_EQ(ledger::kCardAuthorisationDefaultSeconds, 604800);
  EXPECT_EQ(ledger::kPayByBankTimeoutSeconds, 86400);
}

TEST(MethodFacts, EventEnumsNameTheirMethod) {
  EXPECT_EQ(ledger::method_of(v1::BANK_RAIL_PIX), Method::kPix);
  EXPECT_EQ(ledger::method_of(v1::BANK_RAIL_UPI), Method::kUpi);
  EXPECT_EQ(ledger::method_of(v1::BANK_RAIL_UNSPECIFIED), std::nullopt);
  EXPECT_EQ(ledger::method_of(v1::VOUCHER_METHOD_KONBINI), Method::kKonbini);
  EXPECT_EQ(ledger::method_of(v1::VOUCHER_METHOD_BOLETO), Method::kBoleto);
  EXPECT_EQ(ledger::method_of(v1::VOUCHER_METHOD_OXXO), Method::kOxxo);
  EXPECT_EQ(ledger::method_of(v1::VOUCHER_METHOD_UNSPECIFIED), std::nullopt);
  EXPECT_EQ(ledger::method_of(v1::WALLET_GCASH), Method::kGcash);
  EXPECT_EQ(ledger::method_of(v1::WALLET_DANA), Method::kDana);
  EXPECT_EQ(ledger::method_of(v1::WALLET_TRUEMONEY), Method::kTrueMoney);
  EXPECT_EQ(ledger::method_of(v1::WALLET_UNSPECIFIED), std::nullopt);
}

// ------------------------------------------------------ the rules read their windows here

Status run(MemoryLedger& l, const std::string& json) { return l.apply(json_event(json)); }

// PIX received 2026-01-01T00:00:00Z (1767225600); the window is the table's 7,776,000 s, so
// the last second a refund is accepted is 1767225600 + 7776000 = 1775001600
// (2026-04-01T00:00:00Z) and one second later is refused.
TEST(MethodFacts, PixRefundWindowIsTheTables) {
  MemoryLedger l;
  ASSERT_TRUE(run(l, R"({"event_id":"t","occurred_at":"2026-01-01T00:00:00Z",
      "bank_transfer_received":{"payment_id":"p","rail":"BANK_RAIL_PIX",
      "amount":{"currency":"BRL","amount":"10.00"}}})").ok());
  Status late = run(l, R"({"event_id":"r1","occurred_at":"2026-04-01T00:00:01Z",
      "bank_transfer_refunded":{"payment_id":"p","refund_id":"r1",
      "amount":{"currency":"BRL","amount":"1.00"}}})");
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, Code::kRefundWindowExpired);
  EXPECT_NE(late.error().reason.find("the limit is 90"), std::string::npos) << late.error().reason;
  EXPECT_TRUE(run(l, R"({"event_id":"r2","occurred_at":"2026-04-01T00:00:00Z",
      "bank_transfer_refunded":{"payment_id":"p","refund_id":"r2",
      "amount":{"currency":"BRL","amount":"1.00"}}})").ok());
}

// DANA counts days in Jakarta (UTC+7): completed 2026-01-01T16:00:00Z = 23:00 local; a void
// at 16:49:59Z (23:49:59) is in time, at 16:50:00Z (23:50) too late.
TEST(MethodFacts, WalletVoidWindowIsTheTables) {
  for (const char* at : {"2026-01-01T16:49:59Z", "2026-01-01T16:50:00Z"}) {
    MemoryLedger l;
    ASSERT_TRUE(run(l, R"({"event_id":"w","occurred_at":"2026-01-01T16:00:00Z",
        "ewallet_payment_completed":{"payment_id":"p","wallet":"WALLET_DANA",
        "amount":{"currency":"IDR","amount":"50000.00"}}})").ok());
    Status v = run(l, std::string(R"({"event_id":"v","occurred_at":")") + at +
                            R"(","ewallet_payment_voided":{"payment_id":"p"}})");
    if (std::string(at).ends_with("49:59Z")) {
      EXPECT_TRUE(v.ok()) << at;
    } else {
      ASSERT_FALSE(v.ok()) << at;
      EXPECT_EQ(v.error().code, Code::kExpired);
      EXPECT_NE(v.error().reason.find("before 23:50 local"), std::string::npos);
    }
  }
}

// Each single-currency method refuses another currency; the reason names the table's one.
TEST(MethodFacts, RulesRefuseAnotherCurrencyThanTheTables) {
  MemoryLedger l;
  Status s = run(l, R"({"event_id":"a","ewallet_payment_completed":{"payment_id":"p",
      "wallet":"WALLET_GCASH","amount":{"currency":"USD","amount":"1.00"}}})");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code::kCurrencyMismatch);
  EXPECT_EQ(s.error().reason, "gcash pays in PHP only, not USD");
  s = run(l, R"({"event_id":"b","voucher_issued":{"payment_id":"p","method":
      "VOUCHER_METHOD_OXXO","expires_on":"2026-01-05","amount":{"currency":"BRL","amount":"1"}}})");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().reason, "oxxo vouchers are in MXN only, not BRL");
  s = run(l, R"({"event_id":"c","upi_payment_pending":{"payment_id":"p",
      "amount":{"currency":"USD","amount":"1.00"}}})");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().reason, "upi settles in INR only, not USD");
}

// Contracts: every method with contract fees takes one; BNPL (the provider's fee) does not;
// a fixed fee outside a single-currency method's currency could never apply.
TEST(MethodFacts, ContractsFollowTheFeePolicy) {
  MemoryLedger l;
  for (const MethodFacts& f : ledger::kMethodFacts) {
    Status s = run(l, R"({"event_id":"c-)" + std::string(f.name) +
                            R"(","merchant_contract_set":{"method":")" + std::string(f.name) +
                            R"(","percent":"1.5"}})");
    if (f.method == Method::kBnpl) {
      ASSERT_FALSE(s.ok());
      EXPECT_EQ(s.error().code, Code::kMalformed);
    } else {
      EXPECT_TRUE(s.ok()) << f.name;
    }
  }
  Status s = run(l, R"({"event_id":"x","merchant_contract_set":{"method":"konbini",
      "percent":"1","fixed":{"currency":"USD","amount":"0.30"}}})");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code::kCurrencyMismatch);
  EXPECT_TRUE(run(l, R"({"event_id":"y","merchant_contract_set":{"method":"konbini",
      "percent":"1","fixed":{"currency":"JPY","amount":"30"}}})").ok());
}

}  // namespace
}  // namespace payledger::testing
