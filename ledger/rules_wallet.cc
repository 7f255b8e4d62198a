// Posting rules for e-wallets, pay-by-bank (Open Banking A2A), buy-now-pay-later and
// coupons applied at checkout.
#include "events/schema/ids.h"
#include "ledger/rules_internal.h"

namespace payledger::ledger::internal {
namespace {

// The wallet of an existing payment, or kIllegalTransition.
Result<const MethodFacts*> wallet_method(Method m) {
  return method_of_kind(m, PaymentKind::kEWallet, "not an e-wallet payment");
}

const AccountId& open_banking() {
  static const AccountId account = Chart::bank_rail("open-banking");
  return account;
}

Status valid_partner(std::string_view id, std::string_view field) {
  if (valid_id(id)) return Status::Ok();
  return make_error(Code::kMalformed, fmt::format("{} '{}' must be 1-64 chars of A-Z a-z 0-9 _ - .",
                                                  field, id));
}

}  // namespace

// ------------------------------------------------------------------------------ e-wallets

// The wallet owes the PSP (receivable), the PSP owes the merchant; the fee is earned now.
Result<Effects> on_ewallet_completed(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.ewallet_payment_completed();
  auto info = named_method(b.wallet(), "ewallet_payment_completed.wallet");
  if (!info) return info.error();
  const MethodFacts& method = **info;
  auto amount = parse_money(b.amount(), b.has_amount(), "ewallet_payment_completed.amount");
  if (!amount) return amount.error();
  if (Status s = method_currency(method, *amount, "pays in"); !s) return s.error();
  Amount fee = Amount::zero(amount->asset());
  if (b.has_fee()) {
    auto f = parse_money(b.fee(), true, "ewallet_payment_completed.fee");
    if (!f) return f.error();
    if (!(f->asset() == amount->asset()) || f->minor() > amount->minor()) {
      return make_error(Code::kBadAmount, "e-wallet fee must be in the payment's currency and "
                                          "not above it");
    }
    fee = *f;
  }
  if (Status s = fresh(view, e, b.payment_id(), "ewallet_payment_completed.payment_id"); !s) {
    return s.error();
  }
  Effects fx = with_payment(b.payment_id(), ewallet_complete(*amount, method.method,
                                                             event_time(e), fee.minor()));
  AccountId payable = Chart::merchant_payable(e.merchant_id());
  post(fx.entry, Chart::receivable(method.name), payable, *amount, Bucket::kPosted);
  if (!fee.is_zero()) post(fx.entry, payable, Chart::revenue_fees(), fee, Bucket::kPosted);
  return finish(std::move(fx));
}

// A same-day void undoes the payment in full; the fee charged is returned (a full reversal).
Result<Effects> on_ewallet_voided(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.ewallet_payment_voided();
  auto state = existing(view, e, b.payment_id(), "ewallet_payment_voided.payment_id");
  if (!state) return state.error();
  const PaymentState& before = **state;
  auto info = wallet_method(before.method);
  if (!info) return info.error();
  const MethodFacts& method = **info;
  auto next = ewallet_void(before, event_time(e));
  if (!next) return next.error();
  Effects fx = with_payment(b.payment_id(), std::move(next).value());
  AccountId payable = Chart::merchant_payable(e.merchant_id());
  // The fee comes back by the common reversal policy (rules.cc apply_fees).
  post(fx.entry, payable, Chart::receivable(method.name),
       Amount::from_minor(before.asset, before.captured), Bucket::kPosted);
  return finish(std::move(fx));
}

Result<Effects> on_ewallet_refunded(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.ewallet_payment_refunded();
  if (b.refund_id().empty()) return missing("ewallet_payment_refunded.refund_id");
  return refund_rule(
      e, view, b, "ewallet_payment_refunded", ewallet_refund,
      [](const PaymentState& s) -> Result<AccountId> {
        auto info = wallet_method(s.method);
        if (!info) return info.error();
        const MethodFacts& method = **info;
        return Chart::receivable(method.name);
      });
}

// ---------------------------------------------------------------------------- pay-by-bank

Result<Effects> on_pay_by_bank_initiated(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.pay_by_bank_initiated();
  auto amount = parse_money(b.amount(), b.has_amount(), "pay_by_bank_initiated.amount");
  if (!amount) return amount.error();
  if (Status s = fresh(view, e, b.payment_id(), "pay_by_bank_initiated.payment_id"); !s) {
    return s.error();
  }
  Effects fx = with_payment(b.payment_id(), pay_by_bank_initiate(*amount, event_time(e)));
  post(fx.entry, open_banking(), Chart::merchant_payable(e.merchant_id()), *amount,
       Bucket::kPending);
  return finish(std::move(fx));
}

// Completed: the pending amount becomes money received. Failed or expired: released.
Result<Effects> pay_by_bank_outcome(const v1::Envelope& e, const LedgerView& view,
                                    const std::string& payment_id, PaymentStatus outcome) {
  auto state = existing(view, e, payment_id, "pay_by_bank.payment_id");
  if (!state) return state.error();
  const PaymentState& before = **state;
  auto next = outcome == PaymentStatus::kSettled ? pay_by_bank_complete(before)
                                                 : pay_by_bank_end(before, outcome);
  if (!next) return next.error();
  Amount amount = Amount::from_minor(before.asset, before.authorised);
  AccountId payable = Chart::merchant_payable(e.merchant_id());
  Effects fx = with_payment(payment_id, std::move(next).value());
  release(fx.entry, open_banking(), payable, amount);
  if (outcome == PaymentStatus::kSettled) post(fx.entry, open_banking(), payable, amount, Bucket::kPosted);
  return finish(std::move(fx));
}

Result<Effects> on_pay_by_bank_completed(const v1::Envelope& e, const LedgerView& view) {
  return pay_by_bank_outcome(e, view, e.pay_by_bank_completed().payment_id(), PaymentStatus::kSettled);
}
Result<Effects> on_pay_by_bank_failed(const v1::Envelope& e, const LedgerView& view) {
  return pay_by_bank_outcome(e, view, e.pay_by_bank_failed().payment_id(), PaymentStatus::kFailed);
}
Result<Effects> on_pay_by_bank_expired(const v1::Envelope& e, const LedgerView& view) {
  return pay_by_bank_outcome(e, view, e.pay_by_bank_expired().payment_id(), PaymentStatus::kExpired);
}

// A refund is a new outbound payment from the PSP's account, out of what the merchant is owed.
Result<Effects> on_pay_by_bank_refund(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.pay_by_bank_refund_sent();
  if (b.refund_id().empty()) return missing("pay_by_bank_refund_sent.refund_id");
  return refund_rule(
      e, view, b, "pay_by_bank_refund_sent",
      [](const PaymentState& s, const Amount& a) -> Result<PaymentState> {
        if (s.kind != PaymentKind::kPayByBank || s.status != PaymentStatus::kSettled) {
          return make_error(Code::kIllegalTransition,
                            "refund of a pay-by-bank payment not completed");
        }
        return payment_refund(s, a);
      },
      [](const PaymentState&) -> Result<AccountId> { return open_banking(); });
}

// ------------------------------------------------------------------------------------ BNPL

// One receivable for all providers: the provider is in each event (and the merchant's
// statement); what the PSP is owed by BNPL providers is one balance per currency.
const AccountId& bnpl_receivable() {
  static const AccountId account = Chart::receivable(method_name(Method::kBnpl));
  return account;
}

// The provider pays the merchant the full amount up front less its fee: the merchant's
// statement shows the gross amount and the fee; the PSP is owed the net by the provider.
Result<Effects> on_bnpl_approved(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.bnpl_order_approved();
  if (Status s = valid_partner(b.provider(), "bnpl_order_approved.provider"); !s) return s.error();
  auto amount = parse_money(b.amount(), b.has_amount(), "bnpl_order_approved.amount");
  if (!amount) return amount.error();
  auto fee = parse_money(b.fee(), b.has_fee(), "bnpl_order_approved.fee");
  if (!fee) return fee.error();
  if (Status s = fresh(view, e, b.payment_id(), "bnpl_order_approved.payment_id"); !s) return s.error();
  auto state = bnpl_approve(*amount, *fee, b.instalments(), event_time(e));
  if (!state) return state.error();
  Amount net = Amount::from_minor(amount->asset(), amount->minor() - fee->minor());
  Effects fx = with_payment(b.payment_id(), std::move(state).value());
  AccountId payable = Chart::merchant_payable(e.merchant_id());
  fx.entry.lines.push_back(
      Line{bnpl_receivable(), net.asset(), Side::kDebit, Bucket::kPosted, net.minor()});
  fx.entry.lines.push_back(Line{payable, fee->asset(), Side::kDebit, Bucket::kPosted, fee->minor()});
  fx.entry.lines.push_back(
      Line{payable, amount->asset(), Side::kCredit, Bucket::kPosted, amount->minor()});
  return finish(std::move(fx));
}

// The customer's instalments are the provider's money: checked against the schedule, no
// posting on the PSP's books.
Result<Effects> on_bnpl_instalment(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.bnpl_instalment_collected();
  auto amount = parse_money(b.amount(), b.has_amount(), "bnpl_instalment_collected.amount");
  if (!amount) return amount.error();
  auto state = existing(view, e, b.payment_id(), "bnpl_instalment_collected.payment_id");
  if (!state) return state.error();
  auto next = bnpl_collect(**state, b.number(), *amount);
  if (!next) return next.error();
  return finish(with_payment(b.payment_id(), std::move(next).value()));
}

// Cancellation claws back from the merchant everything the provider paid and that was not
// refunded already.
Result<Effects> on_bnpl_cancelled(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.bnpl_order_cancelled();
  auto state = existing(view, e, b.payment_id(), "bnpl_order_cancelled.payment_id");
  if (!state) return state.error();
  auto next = bnpl_cancel(**state);
  if (!next) return next.error();
  // What the merchant still holds of this order: the gross not yet refunded, less the fee
  // not yet returned (a cancellation is a full reversal: the whole fee comes back).
  Int128 fee_due = reversal_fee_due(*next);
  Amount remaining = Amount::from_minor((*state)->asset, (*state)->refundable() - fee_due);
  PAYLEDGER_CHECK(remaining.sign() >= 0, "a BNPL claw-back is never negative");
  next->fee_returned = next->fee_returned + fee_due;
  Effects fx = with_payment(b.payment_id(), std::move(next).value());
  if (!remaining.is_zero()) {
    post(fx.entry, Chart::merchant_payable(e.merchant_id()), bnpl_receivable(), remaining,
         Bucket::kPosted);
  }
  return finish(std::move(fx));
}

// A refund after approval is clawed back from the merchant, less the provider's fee on it
// (the fee policy: returned pro rata, all of it on a full refund).
Result<Effects> on_bnpl_refunded(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.bnpl_refunded();
  if (b.refund_id().empty()) return missing("bnpl_refunded.refund_id");
  auto amount = parse_money(b.amount(), b.has_amount(), "bnpl_refunded.amount");
  if (!amount) return amount.error();
  auto state = existing(view, e, b.payment_id(), "bnpl_refunded.payment_id");
  if (!state) return state.error();
  const PaymentState& before = **state;
  if (before.kind != PaymentKind::kBnpl || before.status != PaymentStatus::kSettled) {
    return make_error(Code::kIllegalTransition, "refund of a BNPL order that is not active");
  }
  if (Status s = check_business_id(before, BusinessId::kRefund, b.refund_id(),
                                   "bnpl_refunded.refund_id");
      !s) {
    return s.error();
  }
  auto next = payment_refund(before, *amount);
  if (!next) return next.error();
  if (Status s = record_business_id(before, *next, BusinessId::kRefund, b.refund_id(),
                                    "bnpl_refunded.refund_id");
      !s) {
    return s.error();
  }
  Int128 fee_back = refund_fee_due(*next);
  next->fee_returned = next->fee_returned + fee_back;
  Amount claw = Amount::from_minor(amount->asset(), amount->minor() - fee_back);
  PAYLEDGER_CHECK(claw.sign() >= 0 && next->fee_returned <= next->fee,
                  "a BNPL refund returns at most the fee charged");
  PAYLEDGER_CHECK(next->refunded + next->charged_back <= next->captured,
                  "refunds never exceed the order");
  Effects fx = with_payment(b.payment_id(), std::move(next).value());
  if (!claw.is_zero()) {
    post(fx.entry, Chart::merchant_payable(e.merchant_id()), bnpl_receivable(), claw,
         Bucket::kPosted);
  }
  return finish(std::move(fx));
}

// ---------------------------------------------------------------------------------- coupons

// Who funds a coupon decides the postings: the PSP's marketing budget makes the merchant
// whole; a wallet partner's coupon is owed to the PSP by the partner; a merchant's own
// coupon moves no money (the price was simply lower).
Result<Effects> on_coupon_applied(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.coupon_applied();
  if (b.coupon_id().empty()) return missing("coupon_applied.coupon_id");
  auto amount = parse_money(b.amount(), b.has_amount(), "coupon_applied.amount");
  if (!amount) return amount.error();
  auto state = existing(view, e, b.payment_id(), "coupon_applied.payment_id");
  if (!state) return state.error();
  const PaymentState& before = **state;
  if (Status s = check_business_id(before, BusinessId::kCoupon, b.coupon_id(),
                                   "coupon_applied.coupon_id");
      !s) {
    return s.error();
  }
  if (!payment_live(before)) {
    return make_error(Code::kIllegalTransition,
                      fmt::format("coupon on a {} payment: coupons apply to live payments only",
                                  payment_status_name(before.status)));
  }
  if (!(before.asset == amount->asset())) {
    return make_error(Code::kCurrencyMismatch, "coupon in another currency than its payment");
  }
  // Coupons together never exceed what the payment can still take: its amount less what
  // was refunded or charged back and the coupons already applied.
  Int128 room = before.authorised - before.refunded - before.charged_back - before.coupons;
  if (amount->minor() > room) {
    return make_error(Code::kBadAmount,
                      fmt::format("coupon of {} {} exceeds what payment '{}' can still take ({} {})",
                                  amount->to_string(), amount->asset().code(), b.payment_id(),
                                  format_scaled(room.sign() > 0 ? room : Int128(0),
                                                amount->asset().exponent()),
                                  amount->asset().code()));
  }
  CouponFunder funder;
  switch (b.funded_by()) {
    case v1::COUPON_FUNDER_PSP: funder = CouponFunder::kPsp; break;
    case v1::COUPON_FUNDER_WALLET_PARTNER:
      if (Status s = valid_partner(b.partner(), "coupon_applied.partner"); !s) return s.error();
      funder = CouponFunder::kPartner;
      break;
    case v1::COUPON_FUNDER_MERCHANT: funder = CouponFunder::kMerchant; break;
    default: return missing("coupon_applied.funded_by");
  }
  PaymentState next = before;
  // Each funder's coupons are kept apart: voids and refunds give each its own back.
  add_coupon(next, funder, funder == CouponFunder::kPartner ? b.partner() : "", amount->minor());
  if (Status s = record_business_id(before, next, BusinessId::kCoupon, b.coupon_id(),
                                    "coupon_applied.coupon_id");
      !s) {
    return s.error();
  }
  PAYLEDGER_CHECK(next.coupons <= next.authorised, "coupons never exceed the payment");
  Effects fx = with_payment(b.payment_id(), std::move(next));
  // The merchant's own coupon is accepted (and counted against the payment), nothing posts.
  if (funder != CouponFunder::kMerchant) {
    post(fx.entry, coupon_funder_account(funder, b.partner()),
         Chart::merchant_payable(e.merchant_id()), *amount, Bucket::kPosted);
  }
  return finish(std::move(fx));
}

}  // namespace payledger::ledger::internal

namespace payledger::ledger::internal {

// ------------------------------------------------------------------------------ checkouts

Result<Effects> on_checkout_started(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.checkout_started();
  if (b.checkout_id().empty()) return missing("checkout_started.checkout_id");
  if (view.find_checkout(e.merchant_id(), b.checkout_id()) != nullptr) {
    return make_error(Code::kPaymentExists,
                      fmt::format("checkout '{}' already started", b.checkout_id()));
  }
  auto state = checkout_start(b.method(), b.market());
  if (!state) return state.error();
  Effects fx;
  fx.checkout = CheckoutUpdate{b.checkout_id(), std::move(state).value()};
  return fx;
}

Result<Effects> checkout_outcome(const v1::Envelope& e, const LedgerView& view,
                                 const std::string& checkout_id, CheckoutStatus outcome) {
  if (checkout_id.empty()) return missing("checkout_id");
  const CheckoutState* state = view.find_checkout(e.merchant_id(), checkout_id);
  if (state == nullptr) {
    return make_error(Code::kUnknownPayment,
                      fmt::format("merchant {} has no checkout '{}'", e.merchant_id(), checkout_id));
  }
  auto next = checkout_end(*state, outcome);
  if (!next) return next.error();
  Effects fx;
  fx.checkout = CheckoutUpdate{checkout_id, std::move(next).value()};
  return fx;
}

Result<Effects> on_checkout_completed(const v1::Envelope& e, const LedgerView& view) {
  return checkout_outcome(e, view, e.checkout_completed().checkout_id(), CheckoutStatus::kCompleted);
}

Result<Effects> on_checkout_abandoned(const v1::Envelope& e, const LedgerView& view) {
  return checkout_outcome(e, view, e.checkout_abandoned().checkout_id(), CheckoutStatus::kAbandoned);
}

}  // namespace payledger::ledger::internal
