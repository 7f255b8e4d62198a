// Merchant contracts: the merchant discount rate (MDR) per payment method, as an exact
// percentage plus an optional fixed amount per payment, and whether refunds return the
// proportional fee. Contract fees are posted automatically when money comes in.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "events/schema/result.h"
#include "ledger/rate.h"

namespace payledger::ledger {

struct Contract {
  Rate rate;                    // the percentage as a fraction: "2.9" % -> 0.029
  std::optional<Amount> fixed;  // per payment, charged with its first money-in, in its asset
  bool refund_fees = false;     // refunds return rate x refund (never more than charged)
};

// `percent` is an exact decimal percentage ("2.9"); kBadAmount if it is not one, or is
// above 100.
Result<Contract> make_contract(std::string_view percent, std::optional<Amount> fixed,
                               bool refund_fees);

// The fee on `amount` money-in: rate x amount rounded half-even, plus the fixed part when
// `first` (the payment's first money-in) and the assets match.
Result<Amount> contract_fee(const Contract& c, const Amount& amount, bool first);

}  // namespace payledger::ledger
