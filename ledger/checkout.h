// The checkout funnel: started -> completed | abandoned. Checkouts move no money; they feed
// the conversion report (abandonment rate by payment method and market).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "events/schema/result.h"

namespace payledger::ledger {

enum class CheckoutStatus : uint8_t { kStarted = 1, kCompleted = 2, kAbandoned = 3 };

std::string_view checkout_status_name(CheckoutStatus status);

struct CheckoutState {
  CheckoutStatus status = CheckoutStatus::kStarted;
  std::string method;  // "card", "pix", ...: a valid id
  std::string market;  // two upper-case letters
  friend bool operator==(const CheckoutState&, const CheckoutState&) = default;
};

// kMalformed unless method is a valid id and market two letters A-Z.
Result<CheckoutState> checkout_start(std::string_view method, std::string_view market);
// Only a started checkout completes or is abandoned (kIllegalTransition otherwise).
Result<CheckoutState> checkout_end(const CheckoutState& state, CheckoutStatus outcome);

}  // namespace payledger::ledger
