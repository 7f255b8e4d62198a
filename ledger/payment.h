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
#pragma once

#include <cstdint>
#include <string_view>

#include "events/schema/result.h"
#include "ledger/amount.h"

namespace payledger::ledger {

enum class PaymentKind : uint8_t { kCard = 1, kBankTransfer = 2, kVoucher = 3 };
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
};
enum class DisputeStatus : uint8_t { kNone = 0, kOpen = 1, kRepresented = 2, kWon = 3, kLost = 4 };

// Rails and voucher methods, stored in PaymentState::method.
enum class Method : uint8_t {
  kCard = 0,
  kPix = 1,
  kUpi = 2,
  kKonbini = 3,
  kBoleto = 4,
  kOxxo = 5,
};

std::string_view payment_kind_name(PaymentKind kind);
std::string_view payment_status_name(PaymentStatus status);
std::string_view dispute_status_name(DisputeStatus status);
std::string_view method_name(Method method);

// Most captures, refunds or disputes one payment may have: bounds state and catches loops.
inline constexpr uint32_t kPaymentOperationsMax = 1000;
// PIX refunds (devolucao) must be made within 90 days of receipt.
inline constexpr int64_t kPixRefundWindowSeconds = 90 * 86400;

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

  // Uncaptured card hold still pending (0 once voided, expired or fully captured).
  Int128 held() const;
  // What can still be refunded or disputed: captured minus refunded minus charged back.
  Int128 refundable() const { return captured - refunded - charged_back; }
  friend bool operator==(const PaymentState&, const PaymentState&) = default;
};

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

// Vouchers.
PaymentState voucher_issue(const Amount& amount, Method method, int64_t at_s,
                           int64_t expires_at_s);
// Paid at `at_s`: kPaid before expiry, kPaidLate at or after it.
Result<PaymentState> voucher_pay(const PaymentState& state, int64_t at_s);
Result<PaymentState> voucher_expire(const PaymentState& state, int64_t at_s);

}  // namespace payledger::ledger
