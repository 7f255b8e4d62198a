// Posting rules for real-time bank transfers: PIX and UPI receipts, PIX refunds
// (devolucao), and UPI's pending/deemed outcomes.
#include "ledger/rules_internal.h"

namespace payledger::ledger::internal {

// PIX and UPI settle instantly: cash is in the PSP's rail account and owed to the merchant.
Result<Effects> on_bank_transfer(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.bank_transfer_received();
  auto amount = parse_money(b.amount(), b.has_amount(), "bank_transfer_received.amount");
  if (!amount) return amount.error();
  auto rail = named_method(b.rail(), "bank_transfer_received.rail");
  if (!rail) return rail.error();
  if (Status s = method_currency(**rail, *amount, "settles in"); !s) return s.error();
  if (Status s = fresh(view, e, b.payment_id(), "bank_transfer_received.payment_id"); !s) {
    return s.error();
  }
  Effects fx = with_payment(b.payment_id(),
                            bank_transfer_received(*amount, (*rail)->method, event_time(e)));
  post(fx.entry, Chart::bank_rail((*rail)->name), Chart::merchant_payable(e.merchant_id()), *amount,
       Bucket::kPosted);
  return finish(std::move(fx));
}

// A PIX refund sends money back from the PSP's PIX account, out of what the merchant is owed.
Result<Effects> on_bank_transfer_refunded(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.bank_transfer_refunded();
  if (b.refund_id().empty()) return missing("bank_transfer_refunded.refund_id");
  int64_t at = event_time(e);
  return refund_rule(
      e, view, b, "bank_transfer_refunded",
      [at](const PaymentState& s, const Amount& a) { return pix_refund(s, a, at); },
      [](const PaymentState&) -> Result<AccountId> {
        return Chart::bank_rail(method_name(Method::kPix));
      });
}

// A UPI payment with an unknown outcome is money that may arrive: pending only.
Result<Effects> on_upi_pending(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.upi_payment_pending();
  auto amount = parse_money(b.amount(), b.has_amount(), "upi_payment_pending.amount");
  if (!amount) return amount.error();
  if (Status s = method_currency(method_facts(Method::kUpi), *amount, "settles in"); !s) {
    return s.error();
  }
  if (Status s = fresh(view, e, b.payment_id(), "upi_payment_pending.payment_id"); !s) {
    return s.error();
  }
  Effects fx = with_payment(b.payment_id(), upi_pending(*amount, event_time(e)));
  post(fx.entry, Chart::bank_rail(method_name(Method::kUpi)),
       Chart::merchant_payable(e.merchant_id()), *amount, Bucket::kPending);
  return finish(std::move(fx));
}

// Success posts the pending amount; failure or reversal releases it; a reversal after
// success takes the posted money back (the payer was repaid).
Result<Effects> on_upi_resolved(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.upi_payment_resolved();
  auto state = existing(view, e, b.payment_id(), "upi_payment_resolved.payment_id");
  if (!state) return state.error();
  const PaymentState& before = **state;
  Result<PaymentState> next = make_error(Code::kMissingField, "upi_payment_resolved.outcome is required");
  switch (b.outcome()) {
    case v1::UPI_OUTCOME_SUCCESS: next = upi_settle(before); break;
    case v1::UPI_OUTCOME_FAILED: next = upi_fail(before); break;
    case v1::UPI_OUTCOME_REVERSED: next = upi_reverse(before); break;
    default: break;
  }
  if (!next) return next.error();
  Amount amount = Amount::from_minor(before.asset, before.authorised);
  AccountId bank = Chart::bank_rail(method_name(Method::kUpi));
  AccountId payable = Chart::merchant_payable(e.merchant_id());
  bool was_pending = before.status == PaymentStatus::kPending;
  Effects fx = with_payment(b.payment_id(), std::move(next).value());
  if (was_pending) release(fx.entry, bank, payable, amount);
  if (b.outcome() == v1::UPI_OUTCOME_SUCCESS) post(fx.entry, bank, payable, amount, Bucket::kPosted);
  if (!was_pending && b.outcome() == v1::UPI_OUTCOME_REVERSED) {
    post(fx.entry, payable, bank, amount, Bucket::kPosted);
  }
  return finish(std::move(fx));
}

}  // namespace payledger::ledger::internal
