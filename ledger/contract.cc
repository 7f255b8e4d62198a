#include "ledger/contract.h"

#include <fmt/format.h>

namespace payledger::ledger {

Result<std::optional<Rate>> percent_fraction(std::string_view percent) {
  size_t point = percent.find('.');
  int scale = point == std::string_view::npos ? 0 : static_cast<int>(percent.size() - point - 1);
  if (scale > kRateScaleMax - 2) {
    return make_error(Code::kBadAmount, fmt::format("percent '{}' has more than {} decimals",
                                                    percent, kRateScaleMax - 2));
  }
  auto pct = parse_scaled(percent, scale);
  if (!pct) return make_error(Code::kBadAmount, fmt::format("percent: {}", pct.error().reason));
  if (pct->sign() < 0) {
    return make_error(Code::kBadAmount, fmt::format("percent {} is negative", percent));
  }
  if (*pct > pow10_128(scale) * 100) {
    return make_error(Code::kBadAmount, fmt::format("percent {} is above 100", percent));
  }
  if (pct->is_zero()) return std::optional<Rate>();
  // percent / 100: the same mantissa with two more decimals.
  auto rate = Rate::from_parts(std::move(pct).value(), scale + 2);
  if (!rate) return rate.error();
  return std::optional<Rate>(std::move(rate).value());
}

Result<Contract> make_contract(std::string_view percent, std::optional<Amount> fixed,
                               bool refund_fees) {
  auto rate = percent_fraction(percent);
  if (!rate) return rate.error();
  if (fixed && fixed->sign() <= 0) {
    return make_error(Code::kNonPositiveAmount, "fixed fee must be greater than zero");
  }
  Contract c;
  c.fixed = std::move(fixed);
  c.refund_fees = refund_fees;
  c.rate = std::move(rate).value();
  return c;
}

Result<Amount> contract_fee(const Contract& c, const Amount& amount, bool first) {
  Amount fee = Amount::zero(amount.asset());
  if (c.rate) {
    auto variable = c.rate->apply(amount, RoundingMode::kHalfEven);
    if (!variable) return variable.error();
    fee = *variable;
  }
  if (!first || !c.fixed) return fee;
  if (!(c.fixed->asset() == amount.asset())) {
    return make_error(Code::kCurrencyMismatch,
                      fmt::format("the merchant's contract has a fixed fee in {} but the payment "
                                  "is in {}: set a contract whose fixed fee is in {} (or none), "
                                  "then replay this event",
                                  c.fixed->asset().code(), amount.asset().code(),
                                  amount.asset().code()));
  }
  return fee.plus(*c.fixed);
}

}  // namespace payledger::ledger
