#include "ledger/contract.h"

#include <fmt/format.h>

namespace payledger::ledger {

Result<Contract> make_contract(std::string_view percent, std::optional<Amount> fixed,
                               bool refund_fees) {
  auto pct = Rate::parse(percent);
  if (!pct) return make_error(Code::kBadAmount, fmt::format("percent: {}", pct.error().reason));
  if (pct->mantissa() > pow10_128(pct->scale()) * 100) {
    return make_error(Code::kBadAmount, fmt::format("percent {} is above 100", percent));
  }
  // percent / 100: the same mantissa with two more decimals.
  auto rate = Rate::from_parts(pct->mantissa(), pct->scale() + 2);
  if (!rate) return rate.error();
  if (fixed && fixed->sign() < 0) return make_error(Code::kNonPositiveAmount, "negative fixed fee");
  return Contract{std::move(rate).value(), std::move(fixed), refund_fees};
}

Result<Amount> contract_fee(const Contract& c, const Amount& amount, bool first) {
  auto fee = c.rate.apply(amount, RoundingMode::kHalfEven);
  if (!fee) return fee.error();
  if (first && c.fixed && c.fixed->asset() == amount.asset()) return fee->plus(*c.fixed);
  return fee;
}

}  // namespace payledger::ledger
