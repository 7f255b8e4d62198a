// Payment state machines. The card machine:
//
//   (none) --authorise--> authorised --capture*--> captured --refund*--> ...
//                            |  \                     |
//                            |   `--void--> voided <--'  (void releases the uncaptured hold)
//
// Captures total at most the authorised amount; refunds total at most the captured amount;
// nothing is captured after a void. Bank transfers (PIX, UPI) are settled on receipt.
#pragma once

#include <cstdint>
#include <string_view>

#include "events/schema/result.h"
#include "ledger/amount.h"

namespace payledger::ledger {

enum class PaymentKind : uint8_t { kCard = 1, kBankTransfer = 2 };
enum class PaymentStatus : uint8_t {
  kAuthorised = 1,  // hold in place, nothing captured yet
  kCaptured = 2,    // at least one capture; more may follow while a hold remains
  kVoided = 3,      // remaining hold released; no more captures
  kSettled = 4,     // money received in full (bank transfers)
};

std::string_view payment_kind_name(PaymentKind kind);
std::string_view payment_status_name(PaymentStatus status);

// Most captures or refunds one payment may have: bounds state size and catches loops.
inline constexpr uint32_t kPaymentOperationsMax = 1000;

struct PaymentState {
  PaymentKind kind = PaymentKind::kCard;
  PaymentStatus status = PaymentStatus::kAuthorised;
  Asset asset;
  Int128 authorised = 0;  // card: authorised; bank transfer: received
  Int128 captured = 0;    // card: captured so far; bank transfer: received
  Int128 refunded = 0;
  uint32_t captures = 0;
  uint32_t refunds = 0;

  // Uncaptured hold still pending (0 once voided or fully captured).
  Int128 held() const {
    return status == PaymentStatus::kVoided ? Int128(0) : Int128(authorised - captured);
  }
  friend bool operator==(const PaymentState&, const PaymentState&) = default;
};

// Transitions: each checks its precondition and returns the next state or a rejection
// (kIllegalTransition, kExceedsAuthorised, kExceedsCaptured, kCurrencyMismatch, kOverflow).
Result<PaymentState> card_authorise(const Amount& amount);
Result<PaymentState> card_capture(const PaymentState& state, const Amount& amount);
// Returns the new state; the released hold is state.held() before the call.
Result<PaymentState> card_void(const PaymentState& state);
Result<PaymentState> payment_refund(const PaymentState& state, const Amount& amount);
PaymentState bank_transfer_received(const Amount& amount);

}  // namespace payledger::ledger
