// Merchant contracts: the merchant discount rate (MDR) per payment method, as an exact
// percentage (zero allowed) plus an optional fixed amount per payment, and whether refunds
// return the fee charged. Contract fees are posted automatically when money comes in; what
// was charged is remembered in the payment, so refunds never depend on today's contract.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "events/schema/result.h"
#include "ledger/rate.h"

namespace payledger::ledger {

// A published rate serves conversions for this long by default: a Friday 16:00 fix still
// converts Monday's payments before the next fix (72 h) with a day to spare.
inline constexpr uint32_t kRateMaxAgeHoursDefault = 96;

struct Contract {
  std::optional<Rate> rate;     // the percentage as a fraction ("2.9" % -> 0.029); none = 0 %
  std::optional<Amount> fixed;  // per payment, charged with its first money-in, in its asset
  bool refund_fees = false;     // refunds return the fee charged, pro rata (see rules.cc)
  bool ended = false;           // merchant_contract_ended: no contract from then on
  // Cross-currency settlement (docs/fx.md): payments in another asset credit the merchant in
  // this one; none = the payment's own asset. The markup is the fraction of the converted
  // amount the PSP keeps ("0.5" % -> 0.005; none = 0); a published rate older than
  // rate_max_age_h hours is stale.
  std::optional<Asset> settlement;
  std::optional<Rate> fx_markup;
  uint32_t rate_max_age_h = kRateMaxAgeHoursDefault;
};

// An exact decimal percentage ("2.9", "0") as a fraction (0.029); none for zero. kBadAmount
// if it is not one, is negative, is above 100 or has more than 16 decimals.
Result<std::optional<Rate>> percent_fraction(std::string_view percent);

// `percent` is an exact decimal percentage ("2.9", "0"); kBadAmount if it is not one, is
// negative or is above 100. A fixed fee must be positive.
Result<Contract> make_contract(std::string_view percent, std::optional<Amount> fixed,
                               bool refund_fees);

// The fee on `amount` money-in: rate x amount rounded half-even, plus the fixed part when
// `first` (the payment's first money-in). kCurrencyMismatch if that fixed part is in another
// asset than `amount` (never skipped silently), kOverflow past 128 bits.
Result<Amount> contract_fee(const Contract& c, const Amount& amount, bool first);

}  // namespace payledger::ledger
