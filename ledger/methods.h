// Payment-method facts in one table: each method's id, display name, family, settlement
// currency, local time zone, fee policy and windows. The rules, the state machines, the
// generator and the reports read them from here; nothing else spells them out again.
// docs/architecture.md, "Payment-method facts".
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "ledger/local_time.h"
#include "payledger/v1/events.pb.h"

namespace payledger::ledger {

// The family of state machine a payment follows (payment.h).
enum class PaymentKind : uint8_t {
  kCard = 1,
  kBankTransfer = 2,
  kVoucher = 3,
  kEWallet = 4,
  kPayByBank = 5,
  kBnpl = 6,
};

// Rails and voucher methods, stored in PaymentState::method (values are stored: never
// renumber).
enum class Method : uint8_t {
  kCard = 0,
  kPix = 1,
  kUpi = 2,
  kKonbini = 3,
  kBoleto = 4,
  kOxxo = 5,
  kGcash = 6,
  kDana = 7,
  kTrueMoney = 8,
  kPayByBank = 9,
  kBnpl = 10,
};

inline constexpr int64_t kDaySeconds = 86400;

struct MethodFacts {
  Method method;
  // The id in contracts, checkouts, account names and reports ("pix").
  std::string_view name;
  // How people write it ("PIX"), for messages.
  std::string_view display;
  PaymentKind kind;
  // The one currency the method settles in; empty for multi-currency methods (cards,
  // pay-by-bank, BNPL).
  std::string_view currency;
  // The zone whose local days the method's rules count in: voucher expiry dates, same-day
  // e-wallet voids. Empty where no rule reads local time.
  std::optional<Zone> zone;
  // Fee policy: money-in is charged the merchant's contract (MDR). BNPL's fee is the
  // provider's, carried on the event, so BNPL takes no contract.
  bool contract_fees = true;
  // Whether a refund may return part of the payment (TrueMoney refunds the whole only).
  bool partial_refunds = true;
  // Refunds later than this after receipt are refused; 0 = no limit (PIX: 90 days).
  int64_t refund_window_s = 0;
  // Voids are accepted the same local day until this local second; 0 = no same-day void
  // window (Xendit's e-wallets: 23:50).
  int64_t void_until_local_s = 0;
  // A payment still pending this long after it began lapses by itself (deadlines.h); 0 = only
  // an explicit event ends it (UPI: NPCI resolves; vouchers: their own expiry date). Cards:
  // the schemes' card-not-present authorisation validity, used when expires_at is not given;
  // pay-by-bank: consents are authorised within minutes, a day covers bank outages.
  int64_t pending_timeout_s = 0;
};

inline constexpr int64_t kPixRefundWindowDays = 90;
inline constexpr int64_t kEWalletVoidUntil = 23 * 3600 + 50 * 60;  // 23:50 local
inline constexpr int64_t kCardAuthorisationDays = 7;

// Indexed by Method's value (checked in methods.cc).
inline constexpr std::array<MethodFacts, 11> kMethodFacts = {{
    {Method::kCard, "card", "card", PaymentKind::kCard, "", std::nullopt, true, true, 0, 0,
     kCardAuthorisationDays * kDaySeconds},
    {Method::kPix, "pix", "PIX", PaymentKind::kBankTransfer, "BRL", Zone::kAmericaSaoPaulo, true,
     true, kPixRefundWindowDays * kDaySeconds},
    {Method::kUpi, "upi", "UPI", PaymentKind::kBankTransfer, "INR", std::nullopt},
    {Method::kKonbini, "konbini", "Konbini", PaymentKind::kVoucher, "JPY", Zone::kAsiaTokyo},
    {Method::kBoleto, "boleto", "Boleto", PaymentKind::kVoucher, "BRL", Zone::kAmericaSaoPaulo},
    {Method::kOxxo, "oxxo", "OXXO", PaymentKind::kVoucher, "MXN", Zone::kAmericaMexicoCity},
    {Method::kGcash, "gcash", "GCash", PaymentKind::kEWallet, "PHP", Zone::kAsiaManila, true,
     true, 0, kEWalletVoidUntil},
    {Method::kDana, "dana", "DANA", PaymentKind::kEWallet, "IDR", Zone::kAsiaJakarta, true, true,
     0, kEWalletVoidUntil},
    {Method::kTrueMoney, "truemoney", "TrueMoney", PaymentKind::kEWallet, "THB",
     Zone::kAsiaBangkok, true, false, 0, kEWalletVoidUntil},
    {Method::kPayByBank, "pay_by_bank", "pay-by-bank", PaymentKind::kPayByBank, "",
     std::nullopt, true, true, 0, 0, kDaySeconds},
    {Method::kBnpl, "bnpl", "BNPL", PaymentKind::kBnpl, "", std::nullopt, false},
}};

// The facts of a method. A value outside the enum (never produced by this code) is a bug.
const MethodFacts& method_facts(Method method);
// The method's id ("pix"), or "unknown" for a value outside the enum (a damaged record).
std::string_view method_name(Method method);
// The method with this id, or nullptr.
const MethodFacts* find_method(std::string_view name);

// The method an event's rail, voucher method or wallet names, or nullopt if unspecified.
std::optional<Method> method_of(payledger::v1::BankRail rail);
std::optional<Method> method_of(payledger::v1::VoucherMethod voucher);
std::optional<Method> method_of(payledger::v1::Wallet wallet);

}  // namespace payledger::ledger
