// Posting rules for cash vouchers (Konbini, Boleto, OXXO): issued = a pending receivable;
// paid in time = owed to the merchant, receivable from the collector; paid late = the
// customer's money in suspense; the collector's settlement is a separate, later step.
#include "ledger/rules_internal.h"

namespace payledger::ledger::internal {
namespace {

// The voucher method of an existing payment, or kIllegalTransition.
Result<const MethodFacts*> voucher_method(Method m) {
  return method_of_kind(m, PaymentKind::kVoucher, "not a voucher payment");
}

}  // namespace

Result<Effects> on_voucher_issued(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.voucher_issued();
  auto info = named_method(b.method(), "voucher_issued.method");
  if (!info) return info.error();
  const MethodFacts& method = **info;
  auto amount = parse_money(b.amount(), b.has_amount(), "voucher_issued.amount");
  if (!amount) return amount.error();
  if (Status s = method_currency(method, *amount, "vouchers are in"); !s) return s.error();
  if (b.expires_on().empty()) return missing("voucher_issued.expires_on");
  auto expires = end_of_local_day(b.expires_on(), *method.zone);
  if (!expires) return make_error(Code::kMalformed, "voucher_issued.expires_on: " + expires.error().reason);
  if (*expires <= event_time(e)) {
    return make_error(Code::kExpired, fmt::format("voucher expires ({} {}) before it was issued",
                                                  b.expires_on(), zone_name(*method.zone)));
  }
  if (Status s = fresh(view, e, b.payment_id(), "voucher_issued.payment_id"); !s) return s.error();
  Effects fx = with_payment(b.payment_id(),
                            voucher_issue(*amount, method.method, event_time(e), *expires));
  post(fx.entry, Chart::receivable(method.name), Chart::merchant_payable(e.merchant_id()), *amount,
       Bucket::kPending);
  return finish(std::move(fx));
}

// Paid in time: the merchant is owed it (receivable from the collector). Paid at or after
// the voucher's end: the money belongs to the customer, held in suspense for a refund.
Result<Effects> on_voucher_paid(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.voucher_paid();
  auto state = existing(view, e, b.payment_id(), "voucher_paid.payment_id");
  if (!state) return state.error();
  const PaymentState& before = **state;
  auto info = voucher_method(before.method);
  if (!info) return info.error();
  const MethodFacts& method = **info;
  auto next = voucher_pay(before, event_time(e));
  if (!next) return next.error();
  bool late = next->status == PaymentStatus::kPaidLate;
  Amount amount = Amount::from_minor(before.asset, before.authorised);
  AccountId receivable = Chart::receivable(method.name);
  AccountId payable = Chart::merchant_payable(e.merchant_id());
  Effects fx = with_payment(b.payment_id(), std::move(next).value());
  if (before.status == PaymentStatus::kPending) release(fx.entry, receivable, payable, amount);
  post(fx.entry, receivable, late ? Chart::suspense_voucher_refunds() : payable, amount,
       Bucket::kPosted);
  return finish(std::move(fx));
}

// Expiry releases the pending receivable; no money moved.
Result<Effects> on_voucher_expired(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.voucher_expired();
  auto state = existing(view, e, b.payment_id(), "voucher_expired.payment_id");
  if (!state) return state.error();
  const PaymentState& before = **state;
  auto info = voucher_method(before.method);
  if (!info) return info.error();
  const MethodFacts& method = **info;
  auto next = voucher_expire(before, event_time(e));
  if (!next) return next.error();
  Effects fx = with_payment(b.payment_id(), std::move(next).value());
  release(fx.entry, Chart::receivable(method.name), Chart::merchant_payable(e.merchant_id()),
          Amount::from_minor(before.asset, before.authorised));
  return finish(std::move(fx));
}

// The collector pays a batch of vouchers: its receivable becomes cash at the bank.
Result<Effects> on_voucher_settled(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.voucher_collector_settled();
  if (b.settlement_id().empty()) return missing("voucher_collector_settled.settlement_id");
  auto info = named_method(b.method(), "voucher_collector_settled.method");
  if (!info) return info.error();
  const MethodFacts& method = **info;
  auto amount = parse_money(b.amount(), b.has_amount(), "voucher_collector_settled.amount");
  if (!amount) return amount.error();
  Effects fx;
  if (Status s = merchant_business_id(view, e, MerchantId::kCollectorSettlement, b.settlement_id(),
                                      fx);
      !s) {
    return s.error();
  }
  post(fx.entry, Chart::bank_operating(), Chart::receivable(method.name), *amount, Bucket::kPosted);
  return finish(std::move(fx));
}

}  // namespace payledger::ledger::internal
