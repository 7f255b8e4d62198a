#include "ledger/checkout.h"

#include <fmt/format.h>

#include "events/schema/ids.h"

namespace payledger::ledger {

std::string_view checkout_status_name(CheckoutStatus status) {
  switch (status) {
    case CheckoutStatus::kStarted: return "started";
    case CheckoutStatus::kCompleted: return "completed";
    case CheckoutStatus::kAbandoned: return "abandoned";
  }
  return "unknown";
}

Result<CheckoutState> checkout_start(std::string_view method, std::string_view market) {
  if (!valid_id(method)) {
    return make_error(Code::kMalformed, fmt::format("checkout method '{}' is not an id", method));
  }
  if (market.size() != 2 || market[0] < 'A' || market[0] > 'Z' || market[1] < 'A' ||
      market[1] > 'Z') {
    return make_error(Code::kMalformed,
                      fmt::format("checkout market '{}' is not a country code like BR", market));
  }
  return CheckoutState{CheckoutStatus::kStarted, std::string(method), std::string(market)};
}

Result<CheckoutState> checkout_end(const CheckoutState& state, CheckoutStatus outcome) {
  if (state.status != CheckoutStatus::kStarted) {
    return make_error(Code::kIllegalTransition,
                      fmt::format("checkout already {}", checkout_status_name(state.status)));
  }
  CheckoutState next = state;
  next.status = outcome;
  return next;
}

}  // namespace payledger::ledger
