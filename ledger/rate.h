// Exact decimal rates (FX rates, fee percentages) and the one named rounding step.
// A rate is mantissa / 10^scale; products are formed in 256-bit integers and rounded once.
#pragma once

#include <string>
#include <string_view>

#include "events/schema/result.h"
#include "ledger/amount.h"

namespace payledger::ledger {

// Largest number of decimals a rate may carry (EU 1103/97 rates have 6 significant figures;
// market rates rarely exceed 10 decimals).
inline constexpr int kRateScaleMax = 18;

enum class RoundingMode : uint8_t {
  kHalfEven,  // banker's rounding: 2.345 -> 2.34 (the default)
  kHalfUp,    // halves away from zero: 2.345 -> 2.35 (EU 1103/97 art. 5)
  kHalfDown,  // halves toward zero
  kDown,      // truncate toward zero
  kUp,        // away from zero
  kFloor,     // toward -infinity
  kCeiling,   // toward +infinity
};

std::string_view rounding_mode_name(RoundingMode mode);
Result<RoundingMode> parse_rounding_mode(std::string_view name);

// 10^n for 0 <= n <= 76, as a 256-bit integer.
Int256 pow10_256(int n);

// numerator / denominator rounded by `mode`. Requires denominator > 0.
Result<Int128> divide_rounded(const Int256& numerator, const Int256& denominator,
                              RoundingMode mode);

// numerator / denominator, a value in minor units of an asset of `from_exponent`, as an
// amount of `to`, rounded once by `mode`: the one rounding step of every conversion. The
// exponent shift multiplies the numerator or the denominator, so nothing is rounded before the
// division. Past 256 bits it throws std::overflow_error, like the products that formed it.
Result<Amount> rounded_amount(Int256 numerator, Int256 denominator, int from_exponent, Asset to,
                              RoundingMode mode);

class Rate;
// a < b: negative, equal values (1.5 and 1.50): 0, a > b: positive.
int compare(const Rate& a, const Rate& b);

class Rate {
 public:
  // "5.4321" -> mantissa 54321, scale 4. Must be > 0; kBadAmount otherwise.
  static Result<Rate> parse(std::string_view text);
  static Result<Rate> from_parts(Int128 mantissa, int scale);

  const Int128& mantissa() const { return mantissa_; }
  int scale() const { return scale_; }
  std::string to_string() const { return format_scaled(mantissa_, scale_); }

  // amount x rate, expressed in `to` (exponents reconciled), rounded once by `mode`.
  Result<Amount> convert(const Amount& amount, Asset to, RoundingMode mode) const;
  // amount x rate in the same asset (e.g. a percentage fee), rounded once by `mode`.
  Result<Amount> apply(const Amount& amount, RoundingMode mode) const {
    return convert(amount, amount.asset(), mode);
  }

 private:
  Rate(Int128 mantissa, int scale) : mantissa_(std::move(mantissa)), scale_(scale) {}
  Int128 mantissa_;
  int scale_;
};

}  // namespace payledger::ledger
