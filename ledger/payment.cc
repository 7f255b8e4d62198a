#include "ledger/payment.h"

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

Error illegal(std::string_view what) { return make_error(Code::kIllegalTransition, std::string(what)); }

Status require_kind(const PaymentState& s, PaymentKind kind, std::string_view what) {
  if (s.kind == kind) return Status::Ok();
  return illegal(fmt::format("{} on a {} payment", what, payment_kind_name(s.kind)));
}

Status require_method(const PaymentState& s, Method method, std::string_view what) {
  if (s.method == method) return Status::Ok();
  return illegal(fmt::format("{} on a {} payment", what, method_name(s.method)));
}

PaymentState base(PaymentKind kind, PaymentStatus status, const Amount& amount, Method method,
                  int64_t at_s) {
  return PaymentState{.kind = kind,
                      .status = status,
                      .asset = amount.asset(),
                      .method = method,
                      .authorised = amount.minor(),
                      .created_at_s = at_s};
}

}  // namespace

std::string_view payment_kind_name(PaymentKind kind) {
  switch (kind) {
    case PaymentKind::kCard: return "card";
    case PaymentKind::kBankTransfer: return "bank_transfer";
    case PaymentKind::kVoucher: return "voucher";
  }
  return "unknown";
}

std::string_view payment_status_name(PaymentStatus status) {
  switch (status) {
    case PaymentStatus::kAuthorised: return "authorised";
    case PaymentStatus::kCaptured: return "captured";
    case PaymentStatus::kVoided: return "voided";
    case PaymentStatus::kSettled: return "settled";
    case PaymentStatus::kExpired: return "expired";
    case PaymentStatus::kPending: return "pending";
    case PaymentStatus::kFailed: return "failed";
    case PaymentStatus::kReversed: return "reversed";
    case PaymentStatus::kPaid: return "paid";
    case PaymentStatus::kPaidLate: return "paid_late";
  }
  return "unknown";
}

std::string_view dispute_status_name(DisputeStatus status) {
  switch (status) {
    case DisputeStatus::kNone: return "none";
    case DisputeStatus::kOpen: return "open";
    case DisputeStatus::kRepresented: return "represented";
    case DisputeStatus::kWon: return "won";
    case DisputeStatus::kLost: return "lost";
  }
  return "unknown";
}

std::string_view method_name(Method method) {
  switch (method) {
    case Method::kCard: return "card";
    case Method::kPix: return "pix";
    case Method::kUpi: return "upi";
    case Method::kKonbini: return "konbini";
    case Method::kBoleto: return "boleto";
    case Method::kOxxo: return "oxxo";
  }
  return "unknown";
}

Int128 PaymentState::held() const {
  if (kind != PaymentKind::kCard) return 0;
  if (status != PaymentStatus::kAuthorised && status != PaymentStatus::kCaptured) return 0;
  return authorised - captured;
}

// ------------------------------------------------------------------------------------ card

PaymentState card_authorise(const Amount& amount, int64_t at_s, int64_t expires_at_s) {
  PaymentState s = base(PaymentKind::kCard, PaymentStatus::kAuthorised, amount, Method::kCard,
                        at_s);
  s.expires_at_s = expires_at_s;
  return s;
}

Result<PaymentState> card_capture(const PaymentState& state, const Amount& amount,
                                  int64_t at_s) {
  if (Status s = require_kind(state, PaymentKind::kCard, "capture"); !s) return s.error();
  if (state.status == PaymentStatus::kVoided) return illegal("capture after void");
  if (state.status == PaymentStatus::kExpired) {
    return make_error(Code::kExpired, "capture after the authorisation expired");
  }
  if (state.expires_at_s != 0 && at_s >= state.expires_at_s) {
    return make_error(Code::kExpired,
                      fmt::format("capture at {} but the authorisation expired at {}", at_s,
                                  state.expires_at_s));
  }
  if (Status s = same_asset(state, amount); !s) return s.error();
  if (state.captures >= kPaymentOperationsMax) return illegal("too many captures on one payment");
  if (amount.minor() > state.held()) {
    return make_error(Code::kExceedsAuthorised,
                      fmt::format("capture of {} exceeds the remaining authorisation {}",
                                  amount.to_string(), fmt_minor(state.held(), state.asset)));
  }
  PaymentState next = state;
  next.captured = state.captured + amount.minor();
  next.captures += 1;
  next.status = PaymentStatus::kCaptured;
  return next;
}

Result<PaymentState> card_void(const PaymentState& state) {
  if (Status s = require_kind(state, PaymentKind::kCard, "void"); !s) return s.error();
  if (state.status == PaymentStatus::kVoided) return illegal("payment is already voided");
  if (state.status == PaymentStatus::kExpired) return illegal("void after the authorisation expired");
  if (state.held().is_zero()) return illegal("nothing left to void: fully captured");
  PaymentState next = state;
  next.status = PaymentStatus::kVoided;
  return next;
}

Result<PaymentState> card_expire(const PaymentState& state, int64_t at_s) {
  if (Status s = require_kind(state, PaymentKind::kCard, "authorisation expiry"); !s) {
    return s.error();
  }
  if (state.status == PaymentStatus::kExpired) return illegal("authorisation already expired");
  if (state.status == PaymentStatus::kVoided) return illegal("authorisation was voided");
  if (state.expires_at_s == 0) return illegal("authorisation has no expiry");
  if (at_s < state.expires_at_s) {
    return make_error(Code::kNotYetExpired,
                      fmt::format("expiry at {} before the authorisation's end {}", at_s,
                                  state.expires_at_s));
  }
  if (state.held().is_zero()) return illegal("nothing held: fully captured");
  PaymentState next = state;
  next.status = PaymentStatus::kExpired;
  return next;
}

Result<PaymentState> payment_refund(const PaymentState& state, const Amount& amount) {
  if (Status s = same_asset(state, amount); !s) return s.error();
  if (state.refunds >= kPaymentOperationsMax) return illegal("too many refunds on one payment");
  if (amount.minor() > state.refundable()) {
    return make_error(Code::kExceedsCaptured,
                      fmt::format("refund of {} exceeds captured minus refunded and charged "
                                  "back ({})",
                                  amount.to_string(), fmt_minor(state.refundable(), state.asset)));
  }
  PaymentState next = state;
  next.refunded = state.refunded + amount.minor();
  next.refunds += 1;
  return next;
}

Result<PaymentState> chargeback_open(const PaymentState& state, const Amount& amount) {
  if (Status s = require_kind(state, PaymentKind::kCard, "chargeback"); !s) return s.error();
  if (state.dispute == DisputeStatus::kOpen || state.dispute == DisputeStatus::kRepresented) {
    return make_error(Code::kDisputeOpen, "a chargeback is already open on this payment");
  }
  if (Status s = same_asset(state, amount); !s) return s.error();
  if (state.disputes >= kPaymentOperationsMax) return illegal("too many disputes on one payment");
  // A partly refunded payment can only be disputed for what the cardholder has not got back.
  if (amount.minor() > state.refundable()) {
    return make_error(Code::kExceedsCaptured,
                      fmt::format("chargeback of {} exceeds captured minus refunded and charged "
                                  "back ({})",
                                  amount.to_string(), fmt_minor(state.refundable(), state.asset)));
  }
  PaymentState next = state;
  next.charged_back = state.charged_back + amount.minor();
  next.dispute_amount = amount.minor();
  next.dispute = DisputeStatus::kOpen;
  next.disputes += 1;
  return next;
}

Result<PaymentState> chargeback_represent(const PaymentState& state) {
  if (state.dispute != DisputeStatus::kOpen) {
    return illegal(fmt::format("representment with the dispute {}",
                               dispute_status_name(state.dispute)));
  }
  PaymentState next = state;
  next.dispute = DisputeStatus::kRepresented;
  return next;
}

Result<PaymentState> chargeback_resolve(const PaymentState& state, bool won) {
  if (state.dispute != DisputeStatus::kOpen && state.dispute != DisputeStatus::kRepresented) {
    return illegal(fmt::format("dispute resolution with the dispute {}",
                               dispute_status_name(state.dispute)));
  }
  PaymentState next = state;
  next.dispute = won ? DisputeStatus::kWon : DisputeStatus::kLost;
  if (won) next.charged_back = state.charged_back - state.dispute_amount;
  return next;
}

// ------------------------------------------------------------------------------------ bank

PaymentState bank_transfer_received(const Amount& amount, Method rail, int64_t at_s) {
  PaymentState s = base(PaymentKind::kBankTransfer, PaymentStatus::kSettled, amount, rail, at_s);
  s.captured = amount.minor();
  return s;
}

Result<PaymentState> pix_refund(const PaymentState& state, const Amount& amount, int64_t at_s) {
  if (Status s = require_method(state, Method::kPix, "PIX refund"); !s) return s.error();
  if (at_s - state.created_at_s > kPixRefundWindowSeconds) {
    return make_error(Code::kRefundWindowExpired,
                      fmt::format("PIX refund {} days after receipt; the limit is 90",
                                  (at_s - state.created_at_s) / 86400));
  }
  return payment_refund(state, amount);
}

PaymentState upi_pending(const Amount& amount, int64_t at_s) {
  return base(PaymentKind::kBankTransfer, PaymentStatus::kPending, amount, Method::kUpi, at_s);
}

Result<PaymentState> upi_settle(const PaymentState& state) {
  if (Status s = require_method(state, Method::kUpi, "UPI status"); !s) return s.error();
  if (state.status == PaymentStatus::kReversed) {
    // The payer already got the money back: a late success must not credit the merchant.
    return illegal("UPI success after the payment was reversed");
  }
  if (state.status != PaymentStatus::kPending) {
    return illegal(fmt::format("UPI success on a {} payment", payment_status_name(state.status)));
  }
  PaymentState next = state;
  next.status = PaymentStatus::kSettled;
  next.captured = state.authorised;
  return next;
}

Result<PaymentState> upi_fail(const PaymentState& state) {
  if (Status s = require_method(state, Method::kUpi, "UPI status"); !s) return s.error();
  if (state.status != PaymentStatus::kPending) {
    return illegal(fmt::format("UPI failure on a {} payment", payment_status_name(state.status)));
  }
  PaymentState next = state;
  next.status = PaymentStatus::kFailed;
  return next;
}

Result<PaymentState> upi_reverse(const PaymentState& state) {
  if (Status s = require_method(state, Method::kUpi, "UPI reversal"); !s) return s.error();
  if (state.status != PaymentStatus::kPending && state.status != PaymentStatus::kSettled) {
    return illegal(fmt::format("UPI reversal of a {} payment", payment_status_name(state.status)));
  }
  if (state.status == PaymentStatus::kSettled && !state.refunded.is_zero()) {
    return illegal("UPI reversal of a partly refunded payment");
  }
  PaymentState next = state;
  next.status = PaymentStatus::kReversed;
  return next;
}

// --------------------------------------------------------------------------------- voucher

PaymentState voucher_issue(const Amount& amount, Method method, int64_t at_s,
                           int64_t expires_at_s) {
  PaymentState s = base(PaymentKind::kVoucher, PaymentStatus::kPending, amount, method, at_s);
  s.expires_at_s = expires_at_s;
  return s;
}

Result<PaymentState> voucher_pay(const PaymentState& state, int64_t at_s) {
  if (Status s = require_kind(state, PaymentKind::kVoucher, "voucher payment"); !s) {
    return s.error();
  }
  if (state.status != PaymentStatus::kPending && state.status != PaymentStatus::kExpired) {
    return illegal(fmt::format("voucher payment on a {} voucher",
                               payment_status_name(state.status)));
  }
  PaymentState next = state;
  next.captured = state.authorised;
  next.status = state.status == PaymentStatus::kPending && at_s < state.expires_at_s
                    ? PaymentStatus::kPaid
                    : PaymentStatus::kPaidLate;
  return next;
}

Result<PaymentState> voucher_expire(const PaymentState& state, int64_t at_s) {
  if (Status s = require_kind(state, PaymentKind::kVoucher, "voucher expiry"); !s) {
    return s.error();
  }
  if (state.status != PaymentStatus::kPending) {
    return illegal(fmt::format("expiry of a {} voucher", payment_status_name(state.status)));
  }
  if (at_s < state.expires_at_s) {
    return make_error(Code::kNotYetExpired,
                      fmt::format("voucher expiry at {} before its end {}", at_s,
                                  state.expires_at_s));
  }
  PaymentState next = state;
  next.status = PaymentStatus::kExpired;
  return next;
}

}  // namespace payledger::ledger
