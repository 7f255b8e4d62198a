#include "ledger/payment.h"

#include <stdexcept>

#include <fmt/format.h>

namespace payledger::ledger {
namespace {

Status same_asset(const PaymentState& state, const Amount& amount) {
  if (state.asset == amount.asset()) return Status::Ok();
  return make_error(Code::kCurrencyMismatch,
                    fmt::format("payment is in {}, event amount is in {}", state.asset.code(),
                                amount.asset().code()));
}

std::string fmt_minor(const Int128& v, Asset asset) {
  return fmt::format("{} {}", format_scaled(v, asset.exponent()), asset.code());
}

}  // namespace

std::string_view payment_kind_name(PaymentKind kind) {
  switch (kind) {
    case PaymentKind::kCard: return "card";
    case PaymentKind::kBankTransfer: return "bank_transfer";
  }
  return "unknown";
}

std::string_view payment_status_name(PaymentStatus status) {
  switch (status) {
    case PaymentStatus::kAuthorised: return "authorised";
    case PaymentStatus::kCaptured: return "captured";
    case PaymentStatus::kVoided: return "voided";
    case PaymentStatus::kSettled: return "settled";
  }
  return "unknown";
}

Result<PaymentState> card_authorise(const Amount& amount) {
  return PaymentState{.kind = PaymentKind::kCard,
                      .status = PaymentStatus::kAuthorised,
                      .asset = amount.asset(),
                      .authorised = amount.minor()};
}

Result<PaymentState> card_capture(const PaymentState& state, const Amount& amount) {
  if (state.kind != PaymentKind::kCard) {
    return make_error(Code::kIllegalTransition, "capture of a payment that is not a card payment");
  }
  if (state.status == PaymentStatus::kVoided) {
    return make_error(Code::kIllegalTransition, "capture after void");
  }
  if (Status s = same_asset(state, amount); !s) return s.error();
  if (state.captures >= kPaymentOperationsMax) {
    return make_error(Code::kIllegalTransition, "too many captures on one payment");
  }
  if (amount.minor() > state.authorised - state.captured) {
    return make_error(Code::kExceedsAuthorised,
                      fmt::format("capture of {} exceeds the remaining authorisation {}",
                                  amount.to_string(),
                                  fmt_minor(state.authorised - state.captured, state.asset)));
  }
  PaymentState next = state;
  next.captured = state.captured + amount.minor();
  next.captures += 1;
  next.status = PaymentStatus::kCaptured;
  return next;
}

Result<PaymentState> card_void(const PaymentState& state) {
  if (state.kind != PaymentKind::kCard) {
    return make_error(Code::kIllegalTransition, "void of a payment that is not a card payment");
  }
  if (state.status == PaymentStatus::kVoided) {
    return make_error(Code::kIllegalTransition, "payment is already voided");
  }
  if (state.held().is_zero()) {
    return make_error(Code::kIllegalTransition, "nothing left to void: fully captured");
  }
  PaymentState next = state;
  next.status = PaymentStatus::kVoided;
  return next;
}

Result<PaymentState> payment_refund(const PaymentState& state, const Amount& amount) {
  if (Status s = same_asset(state, amount); !s) return s.error();
  if (state.refunds >= kPaymentOperationsMax) {
    return make_error(Code::kIllegalTransition, "too many refunds on one payment");
  }
  Int128 refundable = state.captured - state.refunded;
  if (amount.minor() > refundable) {
    return make_error(Code::kExceedsCaptured,
                      fmt::format("refund of {} exceeds captured minus refunded ({})",
                                  amount.to_string(), fmt_minor(refundable, state.asset)));
  }
  PaymentState next = state;
  next.refunded = state.refunded + amount.minor();
  next.refunds += 1;
  return next;
}

PaymentState bank_transfer_received(const Amount& amount) {
  return PaymentState{.kind = PaymentKind::kBankTransfer,
                      .status = PaymentStatus::kSettled,
                      .asset = amount.asset(),
                      .authorised = amount.minor(),
                      .captured = amount.minor()};
}

}  // namespace payledger::ledger
