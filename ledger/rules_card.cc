// Posting rules for cards: authorisation holds, captures, voids, expiry, refunds, the
// chargeback lifecycle and scheme settlement.
#include "ledger/rules_internal.h"

namespace payledger::ledger::internal {

// Authorisation holds funds: pending receivable from the scheme, pending payable to the
// merchant. No money has moved yet.
Result<Effects> on_card_authorised(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.card_authorised();
  auto amount = parse_money(b.amount(), b.has_amount(), "card_authorised.amount");
  if (!amount) return amount.error();
  if (Status s = fresh(view, e, b.payment_id(), "card_authorised.payment_id"); !s) {
    return s.error();
  }
  int64_t expires = b.has_expires_at() ? b.expires_at().seconds() : 0;
  if (b.has_expires_at() && expires <= event_time(e)) {
    return make_error(Code::kExpired, "authorisation expires before it was made");
  }
  Effects fx = with_payment(b.payment_id(), card_authorise(*amount, event_time(e), expires));
  post(fx.entry, Chart::clearing_card(), Chart::merchant_payable(e.merchant_id()), *amount,
       Bucket::kPending);
  return finish(std::move(fx));
}

// Capture turns part of the hold into money owed: release that part of the pending hold
// and post it as a receivable from the scheme and a payable to the merchant.
Result<Effects> on_card_captured(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.card_captured();
  auto amount = parse_money(b.amount(), b.has_amount(), "card_captured.amount");
  if (!amount) return amount.error();
  auto state = existing(view, e, b.payment_id(), "card_captured.payment_id");
  if (!state) return state.error();
  if (Status s = check_business_id(**state, BusinessId::kCapture, b.capture_id(),
                                   "card_captured.capture_id");
      !s) {
    return s.error();
  }
  auto next = card_capture(**state, *amount, event_time(e));
  if (!next) return next.error();
  if (Status s = record_business_id(**state, *next, BusinessId::kCapture, b.capture_id(),
                                    "card_captured.capture_id");
      !s) {
    return s.error();
  }
  PAYLEDGER_CHECK(next->captured <= next->authorised, "captured never exceeds authorised");
  Effects fx = with_payment(b.payment_id(), std::move(next).value());
  AccountId payable = Chart::merchant_payable(e.merchant_id());
  release(fx.entry, Chart::clearing_card(), payable, *amount);
  post(fx.entry, Chart::clearing_card(), payable, *amount, Bucket::kPosted);
  return finish(std::move(fx));
}

// Void and expiry release whatever hold remains; captured money is untouched.
Result<Effects> release_hold(const v1::Envelope& e, const std::string& payment_id,
                             const PaymentState& before, PaymentState after) {
  Effects fx = with_payment(payment_id, std::move(after));
  release(fx.entry, Chart::clearing_card(), Chart::merchant_payable(e.merchant_id()),
          Amount::from_minor(before.asset, before.held()));
  return finish(std::move(fx));
}

Result<Effects> on_card_voided(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.card_voided();
  auto state = existing(view, e, b.payment_id(), "card_voided.payment_id");
  if (!state) return state.error();
  auto next = card_void(**state);
  if (!next) return next.error();
  return release_hold(e, b.payment_id(), **state, std::move(next).value());
}

Result<Effects> on_card_expired(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.card_authorisation_expired();
  auto state = existing(view, e, b.payment_id(), "card_authorisation_expired.payment_id");
  if (!state) return state.error();
  auto next = card_expire(**state, event_time(e));
  if (!next) return next.error();
  return release_hold(e, b.payment_id(), **state, std::move(next).value());
}

// A refund reduces what the PSP owes the merchant and what the scheme owes the PSP.
Result<Effects> on_card_refunded(const v1::Envelope& e, const LedgerView& view) {
  return refund_rule(
      e, view, e.card_refunded(), "card_refunded",
      [](const PaymentState& s, const Amount& a) -> Result<PaymentState> {
        if (s.kind != PaymentKind::kCard) {
          return make_error(Code::kIllegalTransition, "card refund of a payment that is not a card");
        }
        return payment_refund(s, a);
      },
      [](const PaymentState&) -> Result<AccountId> { return Chart::clearing_card(); });
}

// The scheme takes the disputed amount back from the PSP; the PSP debits the merchant
// provisionally, plus the dispute fee (which it keeps whatever the outcome).
Result<Effects> on_chargeback_opened(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.chargeback_opened();
  if (b.chargeback_id().empty()) return missing("chargeback_opened.chargeback_id");
  auto amount = parse_money(b.amount(), b.has_amount(), "chargeback_opened.amount");
  if (!amount) return amount.error();
  auto state = existing(view, e, b.payment_id(), "chargeback_opened.payment_id");
  if (!state) return state.error();
  if (Status s = check_business_id(**state, BusinessId::kChargeback, b.chargeback_id(),
                                   "chargeback_opened.chargeback_id");
      !s) {
    return s.error();
  }
  auto next = chargeback_open(**state, *amount);
  if (!next) return next.error();
  if (Status s = record_business_id(**state, *next, BusinessId::kChargeback, b.chargeback_id(),
                                    "chargeback_opened.chargeback_id");
      !s) {
    return s.error();
  }
  PAYLEDGER_CHECK(next->refunded + next->charged_back <= next->captured,
                  "refunds and disputes never exceed captured");
  Effects fx = with_payment(b.payment_id(), std::move(next).value());
  AccountId payable = Chart::merchant_payable(e.merchant_id());
  post(fx.entry, payable, Chart::clearing_card(), *amount, Bucket::kPosted);
  if (b.has_fee()) {
    auto fee = parse_money(b.fee(), true, "chargeback_opened.fee");
    if (!fee) return fee.error();
    if (!(fee->asset() == amount->asset())) {
      return make_error(Code::kCurrencyMismatch, "dispute fee in another currency");
    }
    post(fx.entry, payable, Chart::revenue_dispute_fees(), *fee, Bucket::kPosted);
  }
  return finish(std::move(fx));
}

Result<Effects> on_chargeback_represented(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.chargeback_represented();
  auto state = existing(view, e, b.payment_id(), "chargeback_represented.payment_id");
  if (!state) return state.error();
  auto next = chargeback_represent(**state);
  if (!next) return next.error();
  return finish(with_payment(b.payment_id(), std::move(next).value()));  // state only
}

// Won: the scheme returns the amount and the merchant is reinstated. Lost: nothing moves,
// the provisional debit becomes final.
Result<Effects> on_chargeback_resolved(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.chargeback_resolved();
  auto state = existing(view, e, b.payment_id(), "chargeback_resolved.payment_id");
  if (!state) return state.error();
  auto next = chargeback_resolve(**state, b.won());
  if (!next) return next.error();
  Amount disputed = Amount::from_minor((*state)->asset, (*state)->dispute_amount);
  Effects fx = with_payment(b.payment_id(), std::move(next).value());
  if (b.won()) {
    post(fx.entry, Chart::clearing_card(), Chart::merchant_payable(e.merchant_id()), disputed,
         Bucket::kPosted);
  }
  return finish(std::move(fx));
}

// Scheme settlement: the receivable from the scheme becomes cash at the bank.
Result<Effects> on_scheme_settlement(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.card_scheme_settlement_received();
  if (b.settlement_id().empty()) return missing("card_scheme_settlement_received.settlement_id");
  auto amount = parse_money(b.amount(), b.has_amount(), "card_scheme_settlement_received.amount");
  if (!amount) return amount.error();
  Effects fx;
  if (Status s =
          merchant_business_id(view, e, MerchantId::kSchemeSettlement, b.settlement_id(), fx);
      !s) {
    return s.error();
  }
  post(fx.entry, Chart::bank_operating(), Chart::clearing_card(), *amount, Bucket::kPosted);
  return finish(std::move(fx));
}

}  // namespace payledger::ledger::internal
