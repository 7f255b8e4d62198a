#include "ledger/rules.h"

#include <algorithm>

#include "ledger/rules_internal.h"

namespace payledger::ledger {
namespace internal {

Result<const PaymentState*> existing(const LedgerView& view, const v1::Envelope& e,
                                     const std::string& payment_id, std::string_view field) {
  if (payment_id.empty()) return missing(field);
  const PaymentState* state = view.find_payment(e.merchant_id(), payment_id);
  if (state == nullptr) {
    return make_error(Code::kUnknownPayment,
                      fmt::format("merchant {} has no payment '{}'", e.merchant_id(), payment_id));
  }
  return state;
}

Status fresh(const LedgerView& view, const v1::Envelope& e, const std::string& payment_id,
             std::string_view field) {
  if (payment_id.empty()) return missing(field);
  if (view.find_payment(e.merchant_id(), payment_id) != nullptr) {
    return make_error(Code::kPaymentExists, fmt::format("payment '{}' already exists", payment_id));
  }
  return Status::Ok();
}

Result<Effects> finish(Effects effects) {
  if (!effects.entry.lines.empty()) {
    if (Status s = check_balanced(effects.entry); !s) return s.error();
  }
  return effects;
}

Effects with_payment(std::string payment_id, PaymentState state) {
  Effects fx;
  fx.payment = PaymentUpdate{std::move(payment_id), std::move(state)};
  return fx;
}

namespace {

// Fees are deducted from what the merchant is owed and earned by the PSP.
Result<Effects> on_fee(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.fee_assessed();
  auto amount = parse_money(b.amount(), b.has_amount(), "fee_assessed.amount");
  if (!amount) return amount.error();
  if (!b.payment_id().empty()) {
    auto state = existing(view, e, b.payment_id(), "fee_assessed.payment_id");
    if (!state) return state.error();
    if (!((*state)->asset == amount->asset())) {
      return make_error(Code::kCurrencyMismatch,
                        fmt::format("fee in {} on a payment in {}", amount->asset().code(),
                                    (*state)->asset.code()));
    }
  }
  Effects fx;
  post(fx.entry, Chart::merchant_payable(e.merchant_id()), Chart::revenue_fees(), *amount,
       Bucket::kPosted);
  return finish(std::move(fx));
}

// A payout pays the merchant's available (posted) balance out of the operating account;
// it may never exceed that balance: pending holds are not the merchant's money yet.
Result<Effects> on_payout(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.payout_sent();
  if (b.payout_id().empty()) return missing("payout_sent.payout_id");
  auto amount = parse_money(b.amount(), b.has_amount(), "payout_sent.amount");
  if (!amount) return amount.error();
  AccountId payable = Chart::merchant_payable(e.merchant_id());
  Int128 available = view.balance(payable, amount->asset()).posted_net(Side::kCredit);
  if (amount->minor() > available) {
    return make_error(Code::kInsufficientFunds,
                      fmt::format("payout of {} {} exceeds available {} {}", amount->to_string(),
                                  amount->asset().code(),
                                  format_scaled(available, amount->asset().exponent()),
                                  amount->asset().code()));
  }
  Effects fx;
  post(fx.entry, payable, Chart::bank_operating(), *amount, Bucket::kPosted);
  return finish(std::move(fx));
}

// A contract replaces the previous one for the merchant and method.
Result<Effects> on_contract_set(const v1::Envelope& e, const LedgerView&) {
  const auto& b = e.merchant_contract_set();
  static constexpr std::string_view kMethods[] = {"card",   "pix",  "upi",       "konbini",
                                                  "boleto", "oxxo", "gcash",     "dana",
                                                  "truemoney", "pay_by_bank"};
  if (std::find(std::begin(kMethods), std::end(kMethods), b.method()) == std::end(kMethods)) {
    return make_error(Code::kMalformed,
                      fmt::format("merchant_contract_set.method '{}' is not a payment method",
                                  b.method()));
  }
  std::optional<Amount> fixed;
  if (b.has_fixed()) {
    auto f = parse_money(b.fixed(), true, "merchant_contract_set.fixed");
    if (!f) return f.error();
    fixed = *f;
  }
  if (b.percent().empty()) return missing("merchant_contract_set.percent");
  auto contract = make_contract(b.percent(), fixed, b.refund_fees());
  if (!contract) return contract.error();
  Effects fx;
  fx.contract = ContractUpdate{b.method(), std::move(contract).value()};
  return fx;
}

// The merchant discount rate of the merchant's contract for the payment's method: charged on
// every money-in (capture, receipt, voucher paid in time, UPI success, pay-by-bank completed)
// and returned on refunds when the contract says so, never more than was charged.
Result<Effects> apply_contract(const v1::Envelope& e, const LedgerView& view, Effects fx) {
  if (!fx.payment) return fx;
  PaymentState& after = fx.payment->state;
  if (after.kind == PaymentKind::kBnpl) return fx;  // the BNPL provider charges its own fee
  const Contract* contract = view.find_contract(e.merchant_id(), method_name(after.method));
  if (contract == nullptr) return fx;
  const PaymentState* before = view.find_payment(e.merchant_id(), fx.payment->payment_id);
  Int128 captured_before = before != nullptr ? before->captured : Int128(0);
  Int128 refunded_before = before != nullptr ? before->refunded : Int128(0);
  bool explicit_fee = e.has_ewallet_payment_completed() && e.ewallet_payment_completed().has_fee();
  bool money_in = after.captured > captured_before && after.status != PaymentStatus::kPaidLate &&
                  !explicit_fee;
  bool refund = after.refunded > refunded_before;
  if (!money_in && !refund) return fx;
  AccountId payable = Chart::merchant_payable(e.merchant_id());
  if (money_in) {
    auto fee = contract_fee(*contract, Amount::from_minor(after.asset, after.captured - captured_before),
                            captured_before.is_zero());
    if (!fee) return fee.error();
    if (fee->sign() > 0) {
      post(fx.entry, payable, Chart::revenue_fees(), *fee, Bucket::kPosted);
      after.fee = after.fee + fee->minor();
    }
  }
  if (refund && contract->refund_fees) {
    auto back = contract->rate.apply(Amount::from_minor(after.asset, after.refunded - refunded_before),
                                     RoundingMode::kHalfEven);
    if (!back) return back.error();
    Int128 amount = std::min(back->minor(), after.fee);
    if (amount.sign() > 0) {
      post(fx.entry, Chart::revenue_fees(), payable, Amount::from_minor(after.asset, amount),
           Bucket::kPosted);
      after.fee = after.fee - amount;
    }
  }
  return finish(std::move(fx));
}

}  // namespace
}  // namespace internal

Result<Amount> parse_money(const v1::Money& money, bool present, std::string_view field) {
  if (!present || money.currency().empty()) {
    return internal::missing(fmt::format("{}.currency", field));
  }
  if (money.amount().empty()) return internal::missing(fmt::format("{}.amount", field));
  auto asset = Asset::find(money.currency());
  if (!asset) return asset.error();
  auto amount = Amount::parse(money.amount(), *asset);
  if (!amount) {
    return make_error(amount.error().code,
                      fmt::format("{}: {} ({})", field, amount.error().reason, asset->code()));
  }
  if (amount->sign() <= 0) {
    return make_error(Code::kNonPositiveAmount,
                      fmt::format("{} must be greater than zero, got {}", field, money.amount()));
  }
  return amount;
}

namespace {

Result<Effects> dispatch(const v1::Envelope& event, const LedgerView& view) {
  using namespace internal;
  using E = v1::Envelope;
  switch (event.body_case()) {
    case E::kCardAuthorised: return on_card_authorised(event, view);
    case E::kCardCaptured: return on_card_captured(event, view);
    case E::kCardVoided: return on_card_voided(event, view);
    case E::kCardRefunded: return on_card_refunded(event, view);
    case E::kCardAuthorisationExpired: return on_card_expired(event, view);
    case E::kChargebackOpened: return on_chargeback_opened(event, view);
    case E::kChargebackRepresented: return on_chargeback_represented(event, view);
    case E::kChargebackResolved: return on_chargeback_resolved(event, view);
    case E::kCardSchemeSettlementReceived: return on_scheme_settlement(event, view);
    case E::kBankTransferReceived: return on_bank_transfer(event, view);
    case E::kBankTransferRefunded: return on_bank_transfer_refunded(event, view);
    case E::kUpiPaymentPending: return on_upi_pending(event, view);
    case E::kUpiPaymentResolved: return on_upi_resolved(event, view);
    case E::kVoucherIssued: return on_voucher_issued(event, view);
    case E::kVoucherPaid: return on_voucher_paid(event, view);
    case E::kVoucherExpired: return on_voucher_expired(event, view);
    case E::kVoucherCollectorSettled: return on_voucher_settled(event, view);
    case E::kEwalletPaymentCompleted: return on_ewallet_completed(event, view);
    case E::kEwalletPaymentVoided: return on_ewallet_voided(event, view);
    case E::kEwalletPaymentRefunded: return on_ewallet_refunded(event, view);
    case E::kPayByBankInitiated: return on_pay_by_bank_initiated(event, view);
    case E::kPayByBankCompleted: return on_pay_by_bank_completed(event, view);
    case E::kPayByBankFailed: return on_pay_by_bank_failed(event, view);
    case E::kPayByBankExpired: return on_pay_by_bank_expired(event, view);
    case E::kPayByBankRefundSent: return on_pay_by_bank_refund(event, view);
    case E::kBnplOrderApproved: return on_bnpl_approved(event, view);
    case E::kBnplInstalmentCollected: return on_bnpl_instalment(event, view);
    case E::kBnplOrderCancelled: return on_bnpl_cancelled(event, view);
    case E::kBnplRefunded: return on_bnpl_refunded(event, view);
    case E::kCouponApplied: return on_coupon_applied(event, view);
    case E::kCheckoutStarted: return on_checkout_started(event, view);
    case E::kCheckoutCompleted: return on_checkout_completed(event, view);
    case E::kCheckoutAbandoned: return on_checkout_abandoned(event, view);
    case E::kMerchantContractSet: return on_contract_set(event, view);
    case E::kFeeAssessed: return on_fee(event, view);
    case E::kPayoutSent: return on_payout(event, view);
    case E::BODY_NOT_SET: break;
  }
  return make_error(Code::kUnknownBody, "event has no body this ledger knows");
}

}  // namespace

Result<Effects> apply_event(const v1::Envelope& event, const LedgerView& view) {
  auto fx = dispatch(event, view);
  if (!fx) return fx;
  return internal::apply_contract(event, view, std::move(fx).value());
}

}  // namespace payledger::ledger
