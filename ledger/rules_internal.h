// Helpers shared by the posting-rule files (not a public header).
#pragma once

#include <string>
#include <string_view>

#include <fmt/format.h>

#include "ledger/methods.h"
#include "ledger/rules.h"

namespace payledger::ledger::internal {

namespace v1 = payledger::v1;

// Dr `debit` / Cr `credit` for `amount` in `bucket`.
inline void post(JournalEntry& entry, const AccountId& debit, const AccountId& credit,
                 const Amount& amount, Bucket bucket) {
  entry.lines.push_back(Line{debit, amount.asset(), Side::kDebit, bucket, amount.minor()});
  entry.lines.push_back(Line{credit, amount.asset(), Side::kCredit, bucket, amount.minor()});
}

// Releases `amount` of a pending hold posted as Dr `debit` / Cr `credit`.
inline void release(JournalEntry& entry, const AccountId& debit, const AccountId& credit,
                    const Amount& amount) {
  if (!amount.is_zero()) post(entry, credit, debit, amount, Bucket::kPending);
}

inline Error missing(std::string_view field) {
  return make_error(Code::kMissingField, fmt::format("{} is required", field));
}

inline int64_t event_time(const v1::Envelope& e) { return e.occurred_at().seconds(); }

// The payment an event refers to, or kMissingField / kUnknownPayment.
Result<const PaymentState*> existing(const LedgerView& view, const v1::Envelope& e,
                                     const std::string& payment_id, std::string_view field);
// kPaymentExists if the merchant already has this payment id.
Status fresh(const LedgerView& view, const v1::Envelope& e, const std::string& payment_id,
             std::string_view field);
// Checks the entry (if any) balances; effects may be state-only (no lines).
Result<Effects> finish(Effects effects);
// Effects that update a payment.
Effects with_payment(std::string payment_id, PaymentState state);

// Method facts (methods.h) as the rules need them. The method an event's enum field names
// (a BankRail, VoucherMethod or Wallet), or kMissingField naming `field`.
template <typename MethodEnum>
Result<const MethodFacts*> named_method(MethodEnum value, std::string_view field) {
  std::optional<Method> method = method_of(value);
  if (!method) return missing(field);
  return &method_facts(*method);
}
// The facts of an existing payment's method if it is of `kind`; else kIllegalTransition
// `not_kind` (the event is for another family's payment).
inline Result<const MethodFacts*> method_of_kind(Method method, PaymentKind kind,
                                                 std::string_view not_kind) {
  const MethodFacts& facts = method_facts(method);
  if (facts.kind != kind) return make_error(Code::kIllegalTransition, std::string(not_kind));
  return &facts;
}
// kCurrencyMismatch unless `amount` is in the method's one currency; the reason reads
// "<method> <what> <currency> only, not <amount's currency>".
inline Status method_currency(const MethodFacts& facts, const Amount& amount,
                              std::string_view what) {
  if (facts.currency.empty() || amount.asset().code() == facts.currency) return Status::Ok();
  return make_error(Code::kCurrencyMismatch, fmt::format("{} {} {} only, not {}", facts.name, what,
                                                         facts.currency, amount.asset().code()));
}

// A business id (refund, capture, chargeback, coupon id) new on the payment, recorded in
// `next`: kDuplicateBusinessId if the payment has seen it. Empty ids (optional keys) pass.
inline Status record_business_id(const PaymentState& before, PaymentState& next, BusinessId kind,
                                 std::string_view id, std::string_view field) {
  if (Status s = check_business_id(before, kind, id, field); !s) return s;
  if (id.empty()) return Status::Ok();
  return remember_business_id(next, kind, id);
}

// Kinds of business id remembered per merchant (not per payment): payouts, fees and
// settlements. Stored as the letter + id.
enum class MerchantId : char {
  kPayout = 'p',
  kFee = 'f',
  kSchemeSettlement = 's',
  kCollectorSettlement = 'v',
  kConversion = 'x',
  kRevaluation = 'r',
  kMint = 'm',
  kRedemption = 'd',
};
inline std::string_view merchant_id_name(MerchantId kind) {
  switch (kind) {
    case MerchantId::kPayout: return "payout_id";
    case MerchantId::kFee: return "fee_id";
    case MerchantId::kSchemeSettlement: return "card_scheme_settlement_received.settlement_id";
    case MerchantId::kCollectorSettlement: return "voucher_collector_settled.settlement_id";
    case MerchantId::kConversion: return "fx_conversion_executed.conversion_id";
    case MerchantId::kRevaluation: return "fx_revaluation_run (as_of, reporting_currency)";
    case MerchantId::kMint: return "token_minted.mint_id";
    case MerchantId::kRedemption: return "token_redeemed.redemption_id";
  }
  return "id";
}
// kDuplicateBusinessId if the merchant already applied `id` of this kind; otherwise sets
// fx.merchant_business_id so the fold remembers it. Empty ids (optional keys) pass.
Status merchant_business_id(const LedgerView& view, const v1::Envelope& e, MerchantId kind,
                            std::string_view id, Effects& fx);

// The shape every refund shares: the amount and payment are checked, the refund id is new
// on the payment, the payment's own refund transition runs, then Dr merchant payable / Cr
// the account the money leaves by (`source(state)`, a Result<AccountId>). Callers check
// that a refund id is present where it is required.
template <typename Body, typename Transition, typename Source>
Result<Effects> refund_rule(const v1::Envelope& e, const LedgerView& view, const Body& b,
                            std::string_view name, Transition transition, Source source) {
  auto amount = parse_money(b.amount(), b.has_amount(), fmt::format("{}.amount", name));
  if (!amount) return amount.error();
  auto state = existing(view, e, b.payment_id(), fmt::format("{}.payment_id", name));
  if (!state) return state.error();
  if (Status s = check_business_id(**state, BusinessId::kRefund, b.refund_id(),
                                   fmt::format("{}.refund_id", name));
      !s) {
    return s.error();
  }
  Result<AccountId> to = source(**state);
  if (!to) return to.error();
  Result<PaymentState> next = transition(**state, *amount);
  if (!next) return next.error();
  if (Status s = record_business_id(**state, *next, BusinessId::kRefund, b.refund_id(),
                                    fmt::format("{}.refund_id", name));
      !s) {
    return s.error();
  }
  PAYLEDGER_CHECK(next->refunded + next->charged_back <= next->captured,
                  "refunds and disputes never exceed captured");
  Effects fx = with_payment(b.payment_id(), std::move(next).value());
  post(fx.entry, Chart::merchant_payable(e.merchant_id()), *to, *amount, Bucket::kPosted);
  return finish(std::move(fx));
}

// The account a PSP- or partner-funded coupon is paid from (debited when it applies,
// credited when it goes back): the PSP's marketing budget or the partner's receivable.
inline AccountId coupon_funder_account(CouponFunder funder, std::string_view partner) {
  PAYLEDGER_CHECK(funder != CouponFunder::kMerchant, "a merchant's own coupon posts nothing");
  if (funder == CouponFunder::kPsp) return Chart::expense_marketing();
  return Chart::receivable(fmt::format("partner-{}", partner));
}

// The rules. Each posts only the event's own money and returns the payment it changed;
// apply_event (rules.cc) then runs the same steps after every rule: charge_mdr (money-in
// pays the merchant's contract), return_fees (refunds and reversals give their share back),
// apply_coupons. A rule never charges or returns a contract fee itself.
// Card rules (rules_card.cc).
Result<Effects> on_card_authorised(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_card_captured(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_card_voided(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_card_expired(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_card_refunded(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_chargeback_opened(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_chargeback_represented(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_chargeback_resolved(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_scheme_settlement(const v1::Envelope& e, const LedgerView& view);
// Bank transfers (rules_bank.cc).
Result<Effects> on_bank_transfer(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_bank_transfer_refunded(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_upi_pending(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_upi_resolved(const v1::Envelope& e, const LedgerView& view);
// Cash vouchers (rules_voucher.cc).
Result<Effects> on_voucher_issued(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_voucher_paid(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_voucher_expired(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_voucher_settled(const v1::Envelope& e, const LedgerView& view);
// E-wallets, pay-by-bank, BNPL, coupons (rules_wallet.cc).
Result<Effects> on_ewallet_completed(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_ewallet_voided(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_ewallet_refunded(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_pay_by_bank_initiated(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_pay_by_bank_completed(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_pay_by_bank_failed(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_pay_by_bank_expired(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_pay_by_bank_refund(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_bnpl_approved(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_bnpl_instalment(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_bnpl_cancelled(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_bnpl_refunded(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_coupon_applied(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_contract_set(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_contract_ended(const v1::Envelope& e, const LedgerView& view);
// rules_fx.cc
Result<Effects> on_fx_rate_published(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_fx_quote_locked(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_fx_conversion(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_fx_forward_booked(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_fx_forward_settled(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_fx_revaluation_run(const v1::Envelope& e, const LedgerView& view);
// After the event's own rule, fees and coupons: converts what a payment of a merchant settling
// in another asset posts to the merchant (docs/fx.md).
Result<Effects> settle_in_contract_currency(const v1::Envelope& e, const LedgerView& view,
                                            Effects fx);
// rules_settlement.cc
Result<Effects> on_settlement_policy_set(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_settlement_instructed(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_settlement_sent(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_settlement_confirmed(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_settlement_returned(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_reserve_released(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_token_minted(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_token_transferred(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_token_redeemed(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_settlement_run_started(const v1::Envelope& e, const LedgerView& view);
// After every rule (the fold's invariant): the tokens in circulation equal the deposits set
// aside for them, per currency, once the entry is posted. A failure is a bug in the rules
// (PAYLEDGER_CHECK), never bad input: only mints and redemptions move either, together.
void check_token_supply(const LedgerView& view, const JournalEntry& entry);
Result<Effects> on_checkout_started(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_checkout_completed(const v1::Envelope& e, const LedgerView& view);
Result<Effects> on_checkout_abandoned(const v1::Envelope& e, const LedgerView& view);

}  // namespace payledger::ledger::internal
