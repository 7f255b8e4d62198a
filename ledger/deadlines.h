// Deadlines: the time-driven transitions of a payment (a card hold lapses, an unpaid voucher
// expires, a pay-by-bank payment times out). They need no outside scheduler: the fold fires
// them from the log's own event time (see projections/fold.cc, "clock policy" in
// docs/architecture.md). Everything here is pure: no clock is read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "events/schema/result.h"
#include "ledger/payment.h"
#include "ledger/rules.h"

namespace payledger::ledger {

enum class DeadlineKind : uint8_t {
  kCardAuthorisation = 1,  // the uncaptured hold is released (card_authorisation_expired)
  kVoucher = 2,            // the unpaid voucher expires (voucher_expired)
  kPayByBank = 3,          // the pay-by-bank payment times out (pay_by_bank_expired)
};
std::string_view deadline_kind_name(DeadlineKind kind);

// A card authorisation without expires_at lapses after the card's pending_timeout_s (7 days,
// methods.h), so no hold stays pending forever.
inline constexpr int64_t kCardAuthorisationDefaultSeconds =
    kMethodFacts[static_cast<size_t>(Method::kCard)].pending_timeout_s;
// Pay-by-bank payments still pending after pay_by_bank's pending_timeout_s (24 hours,
// methods.h) expire.
inline constexpr int64_t kPayByBankTimeoutSeconds =
    kMethodFacts[static_cast<size_t>(Method::kPayByBank)].pending_timeout_s;
// UPI pending/deemed payments have no deadline: NPCI resolves them (success, failure or
// reversal) by an explicit event, which can come days later.

struct Deadline {
  int64_t at_s = 0;  // fires when the partition's watermark is >= at_s
  DeadlineKind kind = DeadlineKind::kCardAuthorisation;
  friend bool operator==(const Deadline&, const Deadline&) = default;
};

// The deadline still ahead of a payment in `state`, or nullopt (settled, captured in full,
// voided, already expired, or a kind without deadlines).
std::optional<Deadline> deadline_of(const PaymentState& state);

// The id of the synthetic event a fired deadline books: "deadline:<payment_id>:<kind>".
// A payment has at most one deadline of each kind, so the id is unique per merchant.
std::string deadline_event_id(std::string_view payment_id, DeadlineKind kind);

struct DeadlineFired {
  payledger::v1::Envelope event;  // the synthetic expiry event (occurred_at = the deadline)
  Effects effects;                // exactly what that explicit expiry event books
};

// Fires the deadline of payment `payment_id` of `merchant_id` in `state` at the partition's
// event-time `watermark_s`. Requires deadline_of(state) with at_s <= watermark_s. The effects
// are those of the explicit expiry event (same rules, same entries), stamped at the deadline.
Result<DeadlineFired> fire_deadline(std::string_view merchant_id, std::string_view payment_id,
                                    const PaymentState& state, int64_t watermark_s);

// Whether `event` is an explicit expiry (card_authorisation_expired, voucher_expired,
// pay_by_bank_expired) of a payment that has already expired: the fold records it as a no-op
// rather than a rejection, so producers that still send expiries after the deadline fired
// need no change.
bool expiry_already_done(const payledger::v1::Envelope& event, const LedgerView& view);

}  // namespace payledger::ledger
