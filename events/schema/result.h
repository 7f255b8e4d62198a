// Result<T>: the value of an operation that can fail for an expected reason (bad input, a
// rejected transition, overflow, I/O). Carries a machine-readable code and a human reason.
// Exceptions are kept for programmer errors and the CLI edge (CONVENTIONS.md).
#pragma once

#include "events/schema/check.h"
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace payledger {

// Stable, machine-readable rejection and failure codes. Their names (code_name) appear in
// `payledger rejects --json` and must not change once released.
enum class Code : unsigned char {
  kOk = 0,
  kMalformed,             // bytes or JSON that do not decode
  kUnknownSchemaVersion,  // envelope.schema_version we do not speak
  kMissingField,          // a required field is empty
  kUnknownBody,           // envelope with no body we know
  kUnknownAsset,          // currency/token not in the asset table
  kBadAmount,             // not a decimal number, or too many decimals for the asset
  kNonPositiveAmount,     // zero or negative where a positive amount is required
  kOverflow,              // 128-bit arithmetic would overflow
  kUnknownPayment,        // event refers to a payment we have not seen
  kPaymentExists,         // a second "create" for the same payment id
  kIllegalTransition,     // e.g. capture after void
  kExceedsAuthorised,     // capture beyond the authorised amount
  kExceedsCaptured,       // refund beyond captured minus refunded
  kCurrencyMismatch,      // amount in another asset than the payment's
  kInsufficientFunds,     // payout beyond the merchant's available balance
  kUnbalanced,            // a journal entry whose debits and credits differ per asset
  kIo,                    // the filesystem or a store failed
  kCorrupt,               // stored data fails its own checks
  kInvalidArgument,       // a caller passed something unusable
  kExpired,               // the authorisation or voucher had expired at the event's time
  kRefundWindowExpired,   // e.g. a PIX refund more than 90 days after receipt
  kDisputeOpen,           // a second chargeback while one is open
  kNotYetExpired,         // an expiry event before the expiry time
  kConflictingDuplicate,  // an event id already applied, with different content
  kDuplicateBusinessId,   // a refund/capture/payout/... id already applied by another event
  kPanDetected,           // a card number (PAN) in an event: never stored, only masked
  kIncomplete,            // the books are short: partitions missing or behind their log
  kClockSkew,             // occurred_at too far after the latest event of its partition
  kUnknownQuote,          // a payment names an FX quote the merchant never locked
  kQuoteUsed,             // an FX quote another payment already converted at
  kNoRate,                // no published rate of the pair at or before the event's time
  kStaleRate,             // the latest published rate is older than the contract allows
  kUnknownForward,        // a forward settlement names a forward the house never booked
  kUnknownInstruction,    // a settlement answer names an instruction never booked
  kNoSettlementPolicy,    // a settlement instruction in a currency with no policy
  kNoBalance,             // a settlement in a currency the merchant never had a balance in
};

// The last code (for loops over every code).
inline constexpr Code kLastCode = Code::kNoBalance;

constexpr std::string_view code_name(Code code) {
  switch (code) {
    case Code::kOk: return "ok";
    case Code::kMalformed: return "malformed";
    case Code::kUnknownSchemaVersion: return "unknown_schema_version";
    case Code::kMissingField: return "missing_field";
    case Code::kUnknownBody: return "unknown_body";
    case Code::kUnknownAsset: return "unknown_asset";
    case Code::kBadAmount: return "bad_amount";
    case Code::kNonPositiveAmount: return "non_positive_amount";
    case Code::kOverflow: return "overflow";
    case Code::kUnknownPayment: return "unknown_payment";
    case Code::kPaymentExists: return "payment_exists";
    case Code::kIllegalTransition: return "illegal_transition";
    case Code::kExceedsAuthorised: return "exceeds_authorised";
    case Code::kExceedsCaptured: return "exceeds_captured";
    case Code::kCurrencyMismatch: return "currency_mismatch";
    case Code::kInsufficientFunds: return "insufficient_funds";
    case Code::kUnbalanced: return "unbalanced";
    case Code::kIo: return "io";
    case Code::kCorrupt: return "corrupt";
    case Code::kInvalidArgument: return "invalid_argument";
    case Code::kExpired: return "expired";
    case Code::kRefundWindowExpired: return "refund_window_expired";
    case Code::kDisputeOpen: return "dispute_open";
    case Code::kNotYetExpired: return "not_yet_expired";
    case Code::kConflictingDuplicate: return "conflicting_duplicate";
    case Code::kDuplicateBusinessId: return "duplicate_business_id";
    case Code::kPanDetected: return "pan_detected";
    case Code::kIncomplete: return "incomplete";
    case Code::kClockSkew: return "clock_skew";
    case Code::kUnknownQuote: return "unknown_quote";
    case Code::kQuoteUsed: return "quote_used";
    case Code::kNoRate: return "no_rate";
    case Code::kStaleRate: return "stale_rate";
    case Code::kUnknownForward: return "unknown_forward";
    case Code::kUnknownInstruction: return "unknown_instruction";
    case Code::kNoSettlementPolicy: return "no_settlement_policy";
    case Code::kNoBalance: return "no_balance";
  }
  return "unknown";
}

struct Error {
  Code code = Code::kOk;
  std::string reason;
};

// A success value of type T, or an Error. Result<void> is spelled Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {
    PAYLEDGER_CHECK(std::get<Error>(v_).code != Code::kOk, "an error needs a code");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  const T& value() const& { return std::get<T>(v_); }
  T& value() & { return std::get<T>(v_); }
  T value() && { return std::get<T>(std::move(v_)); }  // by value: safe in range-for
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }
  const Error& error() const { return std::get<Error>(v_); }

 private:
  std::variant<T, Error> v_;
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design
  static Status Ok() { return {}; }
  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return *error_; }

 private:
  std::optional<Error> error_;
};

inline Error make_error(Code code, std::string reason) { return Error{code, std::move(reason)}; }

}  // namespace payledger
