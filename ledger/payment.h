// Payment state machines, one per method family. Transitions check their precondition and
// return the next state or a rejection with a machine-readable code; they are pure.
//
// Card:   (none) -authorise-> authorised -capture*-> captured -refund*-> ...
//         authorised/captured -void-> voided   (releases the uncaptured hold)
//         authorised/captured -expire-> expired (at or after expires_at; releases the hold)
//         Several partial captures are allowed (multi-capture), in total at most the
//         authorised amount, and none after the authorisation's expiry.
//         Disputes: chargeback opened -> [represented] -> won (amount reinstated) | lost.
//         One open dispute at a time; disputes and refunds together never exceed captured.
// Bank transfer (PIX, UPI): received = settled. PIX refunds: several, total <= received,
//         within 90 days. UPI pending/deemed -> settled | failed | reversed; reversed is final.
// Voucher (Konbini, Boleto, OXXO): issued (pending) -> paid | expired; paid after expiry
//         -> paid_late (money to suspense for refund to the customer).
// E-wallet (GCash, DANA, TrueMoney): completed (settled) -> voided (same local day before
//         23:50, full amount, fee returned) | refunded* (partial for GCash and DANA; TrueMoney
//         full only).
// Pay-by-bank (Open Banking A2A): initiated (pending) -> completed | failed | expired;
//         refunds are new outbound payments; no disputes.
// BNPL: approved (merchant paid amount - fee up front) -> instalments collected 1..n (the
//         provider's money, exact split) | cancelled (claw back) ; refunds claw back.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/schema/result.h"
#include "ledger/amount.h"
#include "ledger/methods.h"

namespace payledger::ledger {

enum class PaymentStatus : uint8_t {
  kAuthorised = 1,  // card: hold in place, nothing captured yet
  kCaptured = 2,    // card: at least one capture; more may follow while a hold remains
  kVoided = 3,      // card: remaining hold released; no more captures
  kSettled = 4,     // bank transfer: money received
  kExpired = 5,     // card authorisation or voucher lapsed
  kPending = 6,     // UPI outcome unknown; voucher issued, not paid
  kFailed = 7,      // UPI declined
  kReversed = 8,    // UPI auto-reversed to the payer: final
  kPaid = 9,        // voucher paid in time
  kPaidLate = 10,   // voucher paid after expiry: the money is the customer's (suspense)
  kCancelled = 11,  // BNPL order cancelled: the provider clawed back the merchant's money
};
enum class DisputeStatus : uint8_t { kNone = 0, kOpen = 1, kRepresented = 2, kWon = 3, kLost = 4 };

std::string_view payment_kind_name(PaymentKind kind);
std::string_view payment_status_name(PaymentStatus status);
std::string_view dispute_status_name(DisputeStatus status);

// Most captures, refunds or disputes one payment may have: bounds state and catches loops.
inline constexpr uint32_t kPaymentOperationsMax = 1000;

// Who pays for a coupon: the PSP's marketing budget, a wallet partner, or the merchant (its
// own discount, which moves no money).
enum class CouponFunder : uint8_t { kPsp = 1, kPartner = 2, kMerchant = 3 };
std::string_view coupon_funder_name(CouponFunder funder);

// One funder's coupons on one payment.
struct CouponFunding {
  CouponFunder funder = CouponFunder::kPsp;
  std::string partner = {};  // the wallet partner (kPartner only)
  Int128 applied = 0;        // > 0
  Int128 returned = 0;       // given back so far; 0 <= returned <= applied
  friend bool operator==(const CouponFunding&, const CouponFunding&) = default;
};

// A payment of a merchant settling in another asset (docs/fx.md): the terms fixed at its
// first event, and how much of the payment's asset it has credited the merchant so far.
struct PaymentFx {
  std::string settle;      // code of the merchant's settlement asset
  std::string pair;        // canonical pair of the payment's asset and `settle`
  std::string rate;        // quote per base, fixed for the payment's life
  std::string markup;      // fraction of each converted amount the PSP keeps; "" = none
  std::string quote_id;    // the locked quote the rate came from; "" = a published rate
  Int128 posted = 0;       // net credit to the merchant's payable in the payment's asset
  Int128 pending = 0;      // the same, pending (holds)
  friend bool operator==(const PaymentFx&, const PaymentFx&) = default;
};

// A PaymentFx held out of line: most payments have none, and the state stays small (every
// cached payment carries this field; inline it made the fold ~5% slower). Copies are deep;
// equal when both are empty or both hold equal terms.
class PaymentFxBox {
 public:
  PaymentFxBox() = default;
  PaymentFxBox(const PaymentFxBox& o) : p_(o.p_ ? std::make_unique<PaymentFx>(*o.p_) : nullptr) {}
  PaymentFxBox(PaymentFxBox&&) noexcept = default;
  PaymentFxBox& operator=(const PaymentFxBox& o) {
    p_ = o.p_ ? std::make_unique<PaymentFx>(*o.p_) : nullptr;
    return *this;
  }
  PaymentFxBox& operator=(PaymentFxBox&&) noexcept = default;
  PaymentFxBox& operator=(PaymentFx fx) {
    p_ = std::make_unique<PaymentFx>(std::move(fx));
    return *this;
  }
  explicit operator bool() const { return p_ != nullptr; }
  PaymentFx& operator*() { return *p_; }
  const PaymentFx& operator*() const { return *p_; }
  PaymentFx* operator->() { return p_.get(); }
  const PaymentFx* operator->() const { return p_.get(); }
  friend bool operator==(const PaymentFxBox& a, const PaymentFxBox& b) {
    return a.p_ == nullptr ? b.p_ == nullptr : b.p_ != nullptr && *a.p_ == *b.p_;
  }

 private:
  std::unique_ptr<PaymentFx> p_;
};

struct PaymentState {
  PaymentKind kind = PaymentKind::kCard;
  PaymentStatus status = PaymentStatus::kAuthorised;
  Asset asset;
  Method method = Method::kCard;
  Int128 authorised = 0;    // card: authorised; others: the payment's amount
  Int128 captured = 0;      // card: captured so far; others: received
  Int128 refunded = 0;
  Int128 charged_back = 0;  // taken back by open or lost disputes
  Int128 dispute_amount = 0;  // the current (or last) dispute's amount
  DisputeStatus dispute = DisputeStatus::kNone;
  uint32_t captures = 0;
  uint32_t refunds = 0;
  uint32_t disputes = 0;
  int64_t created_at_s = 0;  // occurred_at of the creating event (UTC seconds)
  int64_t expires_at_s = 0;  // card authorisation / voucher expiry; 0 = none
  // Fee charged at money-in (contract MDR with its fixed part, an e-wallet's explicit fee,
  // a BNPL provider's fee), never decreased: refunds and reversals add to fee_returned.
  Int128 fee = 0;
  Int128 fee_fixed = 0;     // the fixed part of `fee`: returned only on a full refund/reversal
  Int128 fee_returned = 0;  // fee given back so far; fee_returned <= fee
  bool fee_refundable = false;  // the terms at money-in return the fee pro rata on refunds
  uint32_t instalments = 0;  // BNPL: instalment count (3 or 4)
  uint32_t instalments_collected = 0;
  Int128 coupons = 0;  // total of the coupons applied; coupons <= authorised
  // The coupons per funder (their applied amounts sum to `coupons`) and what each was given
  // back: docs/architecture.md, "Coupons on voids and refunds".
  std::vector<CouponFunding> coupon_funding = {};
  // Business ids seen on this payment (capture, refund, chargeback and coupon ids), each as
  // its kind letter + id, sorted: a second event with one of them is a duplicate.
  std::vector<std::string> business_ids = {};
  // Set when the merchant settles in another asset (converted at fx's rate).
  PaymentFxBox fx = {};

  // Uncaptured card hold still pending (0 once voided, expired or fully captured).
  Int128 held() const;
  // What can still be refunded or disputed: captured minus refunded minus charged back.
  Int128 refundable() const { return captured - refunded - charged_back; }
  friend bool operator==(const PaymentState&, const PaymentState&) = default;
};

// Kinds of business id remembered per payment (the letter prefixes the stored id).
enum class BusinessId : char {
  kCapture = 'c',
  kRefund = 'r',
  kChargeback = 'b',
  kCoupon = 'k',
};
// Most business ids one payment remembers: every capture, refund, dispute and coupon.
inline constexpr uint32_t kPaymentBusinessIdsMax = 4 * kPaymentOperationsMax;
// Ok if `id` is new on the payment (or empty: no key given); kDuplicateBusinessId if seen.
Status check_business_id(const PaymentState& state, BusinessId kind, std::string_view id,
                         std::string_view field);
// Records `id` (non-empty, unseen) on the payment; kIllegalTransition past the bound.
Status remember_business_id(PaymentState& state, BusinessId kind, std::string_view id);
// A payment coupons may still apply to: not voided, failed, expired, reversed, cancelled
// or paid late.
bool payment_live(const PaymentState& state);

// Coupon policy: a coupon pays for part of a sale, so it follows the sale. The part of the
// sale that no longer stands, out of `authorised`: everything once the payment ended without
// happening (voided, failed, expired, reversed, cancelled, paid late); for a card voided or
// expired after part captures, the released hold plus what was refunded or charged back;
// otherwise what was refunded or charged back (a won dispute lowers it again).
Int128 coupon_share_gone(const PaymentState& state);
// What `f` should have had back by now: floor(applied x gone / authorised), cumulative, so
// partial refunds never return more than one full one and a full one returns exactly
// `applied`. 0 <= result <= f.applied.
Int128 coupon_return_target(const CouponFunding& f, const PaymentState& state);
// Adds `amount` of coupons funded by `funder` (`partner` for kPartner) to the payment,
// keeping coupon_funding sorted by (funder, partner) with one entry per funder.
void add_coupon(PaymentState& state, CouponFunder funder, std::string_view partner,
                const Int128& amount);

// Fee policy on reversals: the fee charged is what is returned, pro rata, never more.
// After a refund has brought state.refunded to its current value, the fee now due back:
// nothing unless the terms at money-in said so (fee_refundable); the variable part
// (fee - fee_fixed) pro rata to refunded / captured, cumulative and rounded down; on a full
// refund (refunded == captured) everything not yet returned, the fixed part included.
// Always 0 <= due <= fee - fee_returned.
Int128 refund_fee_due(const PaymentState& state);
// A full reversal (UPI reversed after success, e-wallet void, BNPL cancellation) returns
// every fee not yet returned: the payment did not happen.
inline Int128 reversal_fee_due(const PaymentState& state) { return state.fee - state.fee_returned; }

// Card transitions. `at_s` is the event's occurred_at.
PaymentState card_authorise(const Amount& amount, int64_t at_s, int64_t expires_at_s);
Result<PaymentState> card_capture(const PaymentState& state, const Amount& amount,
                                  int64_t at_s);
// The released hold is state.held() before the call.
Result<PaymentState> card_void(const PaymentState& state);
Result<PaymentState> card_expire(const PaymentState& state, int64_t at_s);
Result<PaymentState> payment_refund(const PaymentState& state, const Amount& amount);
Result<PaymentState> chargeback_open(const PaymentState& state, const Amount& amount);
Result<PaymentState> chargeback_represent(const PaymentState& state);
Result<PaymentState> chargeback_resolve(const PaymentState& state, bool won);

// Bank transfers.
PaymentState bank_transfer_received(const Amount& amount, Method rail, int64_t at_s);
Result<PaymentState> pix_refund(const PaymentState& state, const Amount& amount, int64_t at_s);
PaymentState upi_pending(const Amount& amount, int64_t at_s);
Result<PaymentState> upi_settle(const PaymentState& state);
Result<PaymentState> upi_fail(const PaymentState& state);
// From pending (released) or settled (money returned to the payer).
Result<PaymentState> upi_reverse(const PaymentState& state);

// E-wallets. `zone_offset_s`: the wallet's time zone, for the same-day void rule.
PaymentState ewallet_complete(const Amount& amount, Method wallet, int64_t at_s,
                              const Int128& fee);
// Same local day (the wallet's zone) until its void_until_local_s (methods.h).
Result<PaymentState> ewallet_void(const PaymentState& state, int64_t at_s);
Result<PaymentState> ewallet_refund(const PaymentState& state, const Amount& amount);

// Pay-by-bank.
PaymentState pay_by_bank_initiate(const Amount& amount, int64_t at_s);
Result<PaymentState> pay_by_bank_complete(const PaymentState& state);
// `status`: kFailed or kExpired.
Result<PaymentState> pay_by_bank_end(const PaymentState& state, PaymentStatus status);

// BNPL: `fee` < amount; instalments 3 or 4; the amount at least one minor unit per
// instalment.
Result<PaymentState> bnpl_approve(const Amount& amount, const Amount& fee, uint32_t instalments,
                                  int64_t at_s);
Result<PaymentState> bnpl_collect(const PaymentState& state, uint32_t number, const Amount& amount);
Result<PaymentState> bnpl_cancel(const PaymentState& state);

// Splits `total` into `parts` instalments that add up exactly: equal shares, the remainder
// on the first (100.00 in 3 = 33.34 + 33.33 + 33.33). Requires parts > 0.
std::vector<Int128> split_instalments(const Int128& total, uint32_t parts);

// Vouchers.
PaymentState voucher_issue(const Amount& amount, Method method, int64_t at_s,
                           int64_t expires_at_s);
// Paid at `at_s`: kPaid before expiry, kPaidLate at or after it.
Result<PaymentState> voucher_pay(const PaymentState& state, int64_t at_s);
Result<PaymentState> voucher_expire(const PaymentState& state, int64_t at_s);

}  // namespace payledger::ledger
