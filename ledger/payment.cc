#include "ledger/payment.h"

#include <algorithm>
#include <tuple>

#include <fmt/format.h>

#include "events/schema/check.h"
#include "events/schema/ids.h"

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
    case PaymentKind::kEWallet: return "ewallet";
    case PaymentKind::kPayByBank: return "pay_by_bank";
    case PaymentKind::kBnpl: return "bnpl";
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
    case PaymentStatus::kCancelled: return "cancelled";
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

namespace {
std::string business_key(BusinessId kind, std::string_view id) {
  std::string key(1, static_cast<char>(kind));
  key.append(id);
  return key;
}
std::string_view business_kind_name(BusinessId kind) {
  switch (kind) {
    case BusinessId::kCapture: return "capture_id";
    case BusinessId::kRefund: return "refund_id";
    case BusinessId::kChargeback: return "chargeback_id";
    case BusinessId::kCoupon: return "coupon_id";
  }
  return "id";
}
}  // namespace

Status check_business_id(const PaymentState& state, BusinessId kind, std::string_view id,
                         std::string_view field) {
  if (id.empty()) return Status::Ok();
  if (id.size() > kIdLengthMax) {
    // Remembered in the payment's state: bounded like every other id.
    return make_error(Code::kMalformed,
                      fmt::format("{} is {} bytes; ids are at most {}", field, id.size(),
                                  kIdLengthMax));
  }
  std::string key = business_key(kind, id);
  if (!std::binary_search(state.business_ids.begin(), state.business_ids.end(), key)) {
    return Status::Ok();
  }
  return make_error(Code::kDuplicateBusinessId,
                    fmt::format("{} '{}' was already applied to this payment ({}); a retry "
                                "must reuse the first event's event_id",
                                field, id, business_kind_name(kind)));
}

Status remember_business_id(PaymentState& state, BusinessId kind, std::string_view id) {
  PAYLEDGER_CHECK(!id.empty());
  if (state.business_ids.size() >= kPaymentBusinessIdsMax) {
    return illegal("too many captures, refunds, disputes and coupons on one payment");
  }
  std::string key = business_key(kind, id);
  auto at = std::lower_bound(state.business_ids.begin(), state.business_ids.end(), key);
  PAYLEDGER_CHECK(at == state.business_ids.end() || *at != key, "business id checked first");
  state.business_ids.insert(at, std::move(key));
  return Status::Ok();
}

bool payment_live(const PaymentState& state) {
  switch (state.status) {
    case PaymentStatus::kAuthorised:
    case PaymentStatus::kCaptured:
    case PaymentStatus::kSettled:
    case PaymentStatus::kPending:
    case PaymentStatus::kPaid:
      return true;
    case PaymentStatus::kVoided:
    case PaymentStatus::kExpired:
    case PaymentStatus::kFailed:
    case PaymentStatus::kReversed:
    case PaymentStatus::kPaidLate:
    case PaymentStatus::kCancelled:
      return false;
  }
  return false;
}

Int128 refund_fee_due(const PaymentState& state) {
  Int128 remaining = state.fee - state.fee_returned;
  if (!state.fee_refundable || remaining.sign() <= 0 || state.captured.sign() <= 0) return 0;
  if (state.refunded >= state.captured) return remaining;
  // variable x refunded / captured, rounded down; the product needs 256 bits (both factors
  // are below the amount ceiling times kPaymentOperationsMax).
  Int256 product = Int256(state.fee - state.fee_fixed) * Int256(state.refunded);
  Int128 target = Int128(product / Int256(state.captured));
  Int128 due = target - state.fee_returned;
  if (due.sign() <= 0) return 0;
  return due < remaining ? due : remaining;
}

std::string_view coupon_funder_name(CouponFunder funder) {
  switch (funder) {
    case CouponFunder::kPsp: return "psp";
    case CouponFunder::kPartner: return "partner";
    case CouponFunder::kMerchant: return "merchant";
  }
  return "unknown";
}

Int128 coupon_share_gone(const PaymentState& state) {
  Int128 taken = state.refunded + state.charged_back;
  switch (state.status) {
    case PaymentStatus::kVoided:
    case PaymentStatus::kExpired:
      // A card void or expiry releases the hold; what was captured is still sold.
      if (state.kind == PaymentKind::kCard) return state.authorised - state.captured + taken;
      return state.authorised;
    case PaymentStatus::kFailed:
    case PaymentStatus::kReversed:
    case PaymentStatus::kCancelled:
    case PaymentStatus::kPaidLate:  // the money is the customer's, held for a refund
      return state.authorised;
    case PaymentStatus::kAuthorised:
    case PaymentStatus::kCaptured:
    case PaymentStatus::kSettled:
    case PaymentStatus::kPending:
    case PaymentStatus::kPaid:
      return taken;
  }
  return taken;
}

Int128 coupon_return_target(const CouponFunding& f, const PaymentState& state) {
  Int128 gone = coupon_share_gone(state);
  PAYLEDGER_CHECK(gone.sign() >= 0 && gone <= state.authorised && state.authorised.sign() > 0,
                  "the share of a sale gone lies within the sale");
  if (gone == state.authorised) return f.applied;
  // Both factors are below the amount ceiling: the product needs 256 bits.
  return Int128((Int256(f.applied) * Int256(gone)) / Int256(state.authorised));
}

void add_coupon(PaymentState& state, CouponFunder funder, std::string_view partner,
                const Int128& amount) {
  PAYLEDGER_CHECK(amount.sign() > 0 && (funder == CouponFunder::kPartner) == !partner.empty(),
                  "a coupon has an amount, and a partner exactly when a partner funds it");
  auto key = [](const CouponFunding& f) { return std::tie(f.funder, f.partner); };
  CouponFunding wanted{funder, std::string(partner), 0, 0};
  auto& v = state.coupon_funding;
  auto at = std::lower_bound(v.begin(), v.end(), wanted,
                             [&](const auto& a, const auto& b) { return key(a) < key(b); });
  if (at == v.end() || key(*at) != key(wanted)) at = v.insert(at, std::move(wanted));
  at->applied = at->applied + amount;
  state.coupons = state.coupons + amount;
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
  const int64_t window = method_facts(Method::kPix).refund_window_s;
  if (at_s - state.created_at_s > window) {
    return make_error(Code::kRefundWindowExpired,
                      fmt::format("PIX refund {} days after receipt; the limit is {}",
                                  (at_s - state.created_at_s) / kDaySeconds,
                                  window / kDaySeconds));
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

// -------------------------------------------------------------------------------- e-wallet

PaymentState ewallet_complete(const Amount& amount, Method wallet, int64_t at_s,
                              const Int128& fee) {
  PaymentState s = base(PaymentKind::kEWallet, PaymentStatus::kSettled, amount, wallet, at_s);
  s.captured = amount.minor();
  s.fee = fee;
  return s;
}

Result<PaymentState> ewallet_void(const PaymentState& state, int64_t at_s) {
  if (Status s = require_kind(state, PaymentKind::kEWallet, "e-wallet void"); !s) return s.error();
  const MethodFacts& facts = method_facts(state.method);
  PAYLEDGER_CHECK(facts.zone && facts.void_until_local_s > 0, "an e-wallet has a void window");
  const int64_t zone_offset_s = zone_offset_seconds(*facts.zone);
  if (state.status != PaymentStatus::kSettled) {
    return illegal(fmt::format("void of a {} e-wallet payment", payment_status_name(state.status)));
  }
  if (!state.refunded.is_zero()) return illegal("void after a refund: voids are full only");
  auto local_day = [&](int64_t t) { return (t + zone_offset_s) / kDaySeconds; };
  int64_t local_second = (at_s + zone_offset_s) % kDaySeconds;
  if (local_day(at_s) != local_day(state.created_at_s) ||
      local_second >= facts.void_until_local_s) {
    return make_error(Code::kExpired,
                      fmt::format("e-wallet voids are same-day only (before {:02}:{:02} local)",
                                  facts.void_until_local_s / 3600,
                                  facts.void_until_local_s % 3600 / 60));
  }
  PaymentState next = state;
  next.status = PaymentStatus::kVoided;
  return next;
}

Result<PaymentState> ewallet_refund(const PaymentState& state, const Amount& amount) {
  if (Status s = require_kind(state, PaymentKind::kEWallet, "e-wallet refund"); !s) return s.error();
  if (state.status != PaymentStatus::kSettled) {
    return illegal(fmt::format("refund of a {} e-wallet payment", payment_status_name(state.status)));
  }
  if (const MethodFacts& facts = method_facts(state.method);
      !facts.partial_refunds && amount.minor() != state.refundable()) {
    return illegal(fmt::format("{} refunds are full only", facts.display));
  }
  return payment_refund(state, amount);
}

// ----------------------------------------------------------------------------- pay-by-bank

PaymentState pay_by_bank_initiate(const Amount& amount, int64_t at_s) {
  return base(PaymentKind::kPayByBank, PaymentStatus::kPending, amount, Method::kPayByBank, at_s);
}

Result<PaymentState> pay_by_bank_complete(const PaymentState& state) {
  if (Status s = require_kind(state, PaymentKind::kPayByBank, "pay-by-bank status"); !s) {
    return s.error();
  }
  if (state.status != PaymentStatus::kPending) {
    return illegal(fmt::format("completion of a {} pay-by-bank payment",
                               payment_status_name(state.status)));
  }
  PaymentState next = state;
  next.status = PaymentStatus::kSettled;
  next.captured = state.authorised;
  return next;
}

Result<PaymentState> pay_by_bank_end(const PaymentState& state, PaymentStatus status) {
  if (Status s = require_kind(state, PaymentKind::kPayByBank, "pay-by-bank status"); !s) {
    return s.error();
  }
  if (state.status != PaymentStatus::kPending) {
    return illegal(fmt::format("{} of a {} pay-by-bank payment", payment_status_name(status),
                               payment_status_name(state.status)));
  }
  PaymentState next = state;
  next.status = status;
  return next;
}

// ------------------------------------------------------------------------------------ bnpl

std::vector<Int128> split_instalments(const Int128& total, uint32_t parts) {
  Int128 share = total / parts;
  std::vector<Int128> out(parts, share);
  out[0] = total - share * (parts - 1);  // the remainder goes on the first instalment
  return out;
}

Result<PaymentState> bnpl_approve(const Amount& amount, const Amount& fee, uint32_t instalments,
                                  int64_t at_s) {
  if (instalments != 3 && instalments != 4) {
    return make_error(Code::kInvalidArgument,
                      fmt::format("BNPL plans have 3 or 4 instalments, not {}", instalments));
  }
  if (!(fee.asset() == amount.asset())) {
    return make_error(Code::kCurrencyMismatch, "BNPL fee in another currency");
  }
  if (fee.minor() >= amount.minor()) {
    return make_error(Code::kBadAmount, "BNPL fee must be below the order amount");
  }
  if (amount.minor() < instalments) {
    // Each instalment must be at least one minor unit: 0.02 in 3 cannot be collected.
    return make_error(Code::kBadAmount,
                      fmt::format("BNPL order of {} {} is smaller than its {} instalments",
                                  amount.to_string(), amount.asset().code(), instalments));
  }
  PaymentState s = base(PaymentKind::kBnpl, PaymentStatus::kSettled, amount, Method::kBnpl, at_s);
  // captured is the order amount (what refunds are measured against); the merchant was paid
  // captured - fee, the provider's fee, which refunds return pro rata (fee_refundable).
  s.captured = amount.minor();
  s.fee = fee.minor();
  s.fee_refundable = true;
  s.instalments = instalments;
  return s;
}

Result<PaymentState> bnpl_collect(const PaymentState& state, uint32_t number, const Amount& amount) {
  if (Status s = require_kind(state, PaymentKind::kBnpl, "instalment"); !s) return s.error();
  if (state.status == PaymentStatus::kCancelled) return illegal("instalment on a cancelled BNPL order");
  if (!state.captured.is_zero() && state.refunded >= state.captured) {
    return illegal("instalment on a fully refunded BNPL order");
  }
  if (number != state.instalments_collected + 1 || number > state.instalments) {
    return illegal(fmt::format("instalment {} out of order (next is {} of {})", number,
                               state.instalments_collected + 1, state.instalments));
  }
  if (Status s = same_asset(state, amount); !s) return s.error();
  Int128 due = split_instalments(state.authorised, state.instalments)[number - 1];
  if (amount.minor() != due) {
    return make_error(Code::kBadAmount, fmt::format("instalment {} is {}, not {}", number,
                                                    fmt_minor(due, state.asset),
                                                    amount.to_string()));
  }
  PaymentState next = state;
  next.instalments_collected = number;
  return next;
}

Result<PaymentState> bnpl_cancel(const PaymentState& state) {
  if (Status s = require_kind(state, PaymentKind::kBnpl, "BNPL cancellation"); !s) return s.error();
  if (state.status != PaymentStatus::kSettled) {
    return illegal(fmt::format("cancellation of a {} BNPL order", payment_status_name(state.status)));
  }
  PaymentState next = state;
  next.status = PaymentStatus::kCancelled;
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
