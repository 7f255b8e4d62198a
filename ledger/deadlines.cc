#include "ledger/deadlines.h"

#include <fmt/format.h>

#include "events/schema/check.h"
#include "events/schema/ids.h"

namespace payledger::ledger {
namespace {

namespace v1 = payledger::v1;

// The one payment a deadline concerns, as the expiry rules see it. Expiries read no
// balance, charge no fee and book no merchant-level business id, so the view holds nothing
// else.
class OnePayment final : public EmptyLedgerView {
 public:
  OnePayment(std::string_view merchant_id, std::string_view payment_id, const PaymentState& s)
      : merchant_id_(merchant_id), payment_id_(payment_id), state_(s) {}
  const PaymentState* find_payment(std::string_view merchant_id,
                                   std::string_view payment_id) const override {
    return merchant_id == merchant_id_ && payment_id == payment_id_ ? &state_ : nullptr;
  }

 private:
  std::string_view merchant_id_;
  std::string_view payment_id_;
  const PaymentState& state_;
};

}  // namespace

std::string_view deadline_kind_name(DeadlineKind kind) {
  switch (kind) {
    case DeadlineKind::kCardAuthorisation: return "card_authorisation";
    case DeadlineKind::kVoucher: return "voucher";
    case DeadlineKind::kPayByBank: return "pay_by_bank";
  }
  return "unknown";
}

std::optional<Deadline> deadline_of(const PaymentState& s) {
  switch (s.kind) {
    case PaymentKind::kCard:
      if (s.held().sign() <= 0) return std::nullopt;  // voided, expired or captured in full
      return Deadline{s.expires_at_s != 0 ? s.expires_at_s
                                          : s.created_at_s + kCardAuthorisationDefaultSeconds,
                      DeadlineKind::kCardAuthorisation};
    case PaymentKind::kVoucher:
      if (s.status != PaymentStatus::kPending) return std::nullopt;
      return Deadline{s.expires_at_s, DeadlineKind::kVoucher};
    case PaymentKind::kPayByBank:
      if (s.status != PaymentStatus::kPending) return std::nullopt;
      return Deadline{s.created_at_s + kPayByBankTimeoutSeconds, DeadlineKind::kPayByBank};
    case PaymentKind::kBankTransfer:  // UPI pending: resolved by NPCI, no deadline
    case PaymentKind::kEWallet:
    case PaymentKind::kBnpl:
      return std::nullopt;
  }
  return std::nullopt;
}

std::string deadline_event_id(std::string_view payment_id, DeadlineKind kind) {
  return fmt::format("{}{}:{}", kDeadlineEventIdPrefix, payment_id, deadline_kind_name(kind));
}

Result<DeadlineFired> fire_deadline(std::string_view merchant_id, std::string_view payment_id,
                                    const PaymentState& state, int64_t watermark_s) {
  std::optional<Deadline> due = deadline_of(state);
  PAYLEDGER_CHECK(due.has_value() && due->at_s <= watermark_s,
                  fmt::format("deadline of payment {} fired before it was due", payment_id));
  DeadlineFired out;
  v1::Envelope& e = out.event;
  e.set_event_id(deadline_event_id(payment_id, due->kind));
  e.set_merchant_id(std::string(merchant_id));
  e.set_schema_version(1);
  e.mutable_occurred_at()->set_seconds(due->at_s);
  PaymentState as_seen = state;
  switch (due->kind) {
    case DeadlineKind::kCardAuthorisation:
      // The default validity becomes the authorisation's stated end, so the state (and
      // `payledger payment`) shows when it lapsed and card_expire accepts it.
      if (as_seen.expires_at_s == 0) as_seen.expires_at_s = due->at_s;
      e.mutable_card_authorisation_expired()->set_payment_id(std::string(payment_id));
      break;
    case DeadlineKind::kVoucher:
      e.mutable_voucher_expired()->set_payment_id(std::string(payment_id));
      break;
    case DeadlineKind::kPayByBank:
      e.mutable_pay_by_bank_expired()->set_payment_id(std::string(payment_id));
      break;
  }
  auto fx = apply_event(e, OnePayment(merchant_id, payment_id, as_seen));
  if (!fx) return fx.error();
  out.effects = std::move(fx).value();
  return out;
}

bool expiry_already_done(const v1::Envelope& e, const LedgerView& view) {
  const std::string* payment_id = nullptr;
  PaymentKind kind = PaymentKind::kCard;
  switch (e.body_case()) {
    case v1::Envelope::kCardAuthorisationExpired:
      payment_id = &e.card_authorisation_expired().payment_id();
      kind = PaymentKind::kCard;
      break;
    case v1::Envelope::kVoucherExpired:
      payment_id = &e.voucher_expired().payment_id();
      kind = PaymentKind::kVoucher;
      break;
    case v1::Envelope::kPayByBankExpired:
      payment_id = &e.pay_by_bank_expired().payment_id();
      kind = PaymentKind::kPayByBank;
      break;
    default:
      return false;
  }
  if (payment_id->empty()) return false;
  const PaymentState* state = view.find_payment(e.merchant_id(), *payment_id);
  return state != nullptr && state->kind == kind && state->status == PaymentStatus::kExpired;
}

}  // namespace payledger::ledger
