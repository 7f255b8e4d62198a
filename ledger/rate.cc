#include "ledger/rate.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace payledger::ledger {
namespace {

constexpr std::pair<RoundingMode, std::string_view> kModeNames[] = {
    {RoundingMode::kHalfEven, "half-even"}, {RoundingMode::kHalfUp, "half-up"},
    {RoundingMode::kHalfDown, "half-down"}, {RoundingMode::kDown, "down"},
    {RoundingMode::kUp, "up"},              {RoundingMode::kFloor, "floor"},
    {RoundingMode::kCeiling, "ceiling"},
};

// Whether a truncated quotient q (remainder r != 0, sign of the exact value `negative`)
// moves one step away from zero under `mode`; `twice_r_vs_d` compares 2|r| with |d|.
bool round_away(RoundingMode mode, bool negative, int twice_r_vs_d, bool q_odd) {
  switch (mode) {
    case RoundingMode::kHalfEven: return twice_r_vs_d > 0 || (twice_r_vs_d == 0 && q_odd);
    case RoundingMode::kHalfUp: return twice_r_vs_d >= 0;
    case RoundingMode::kHalfDown: return twice_r_vs_d > 0;
    case RoundingMode::kDown: return false;
    case RoundingMode::kUp: return true;
    case RoundingMode::kFloor: return negative;
    case RoundingMode::kCeiling: return !negative;
  }
  return false;
}

}  // namespace

Int256 pow10_256(int n) {
  Int256 v = 1;
  for (int i = 0; i < n; ++i) v *= 10;
  return v;
}

std::string_view rounding_mode_name(RoundingMode mode) {
  for (const auto& [m, name] : kModeNames) {
    if (m == mode) return name;
  }
  return "unknown";
}

Result<RoundingMode> parse_rounding_mode(std::string_view name) {
  for (const auto& [m, n] : kModeNames) {
    if (n == name) return m;
  }
  return make_error(Code::kInvalidArgument, fmt::format("unknown rounding mode '{}'", name));
}

Result<Int128> divide_rounded(const Int256& numerator, const Int256& denominator,
                              RoundingMode mode) {
  if (denominator.sign() <= 0) {
    return make_error(Code::kInvalidArgument, "rounding division needs a positive denominator");
  }
  Int256 q = numerator / denominator;  // truncates toward zero
  Int256 r = numerator % denominator;  // same sign as numerator
  if (!r.is_zero()) {
    Int256 twice_r = boost::multiprecision::abs(r) * 2;
    int cmp = twice_r < denominator ? -1 : (twice_r == denominator ? 0 : 1);
    bool negative = numerator.sign() < 0;
    bool q_odd = bit_test(boost::multiprecision::abs(q), 0);
    if (round_away(mode, negative, cmp, q_odd)) q += negative ? -1 : 1;
  }
  if (boost::multiprecision::abs(q) > Int256(std::numeric_limits<Int128>::max())) {
    return make_error(Code::kOverflow, "rounded result exceeds 128 bits");
  }
  return Int128(q);
}

Result<Rate> Rate::parse(std::string_view text) {
  size_t point = text.find('.');
  int scale = point == std::string_view::npos ? 0 : static_cast<int>(text.size() - point - 1);
  if (scale > kRateScaleMax) {
    return make_error(Code::kBadAmount,
                      fmt::format("rate '{}' has more than {} decimals", text, kRateScaleMax));
  }
  auto mantissa = parse_scaled(text, scale);
  if (!mantissa) return mantissa.error();
  return from_parts(std::move(mantissa).value(), scale);
}

Result<Rate> Rate::from_parts(Int128 mantissa, int scale) {
  if (mantissa.sign() <= 0) {
    return make_error(Code::kBadAmount, "a rate must be greater than zero");
  }
  if (scale < 0 || scale > kRateScaleMax) {
    return make_error(Code::kBadAmount, fmt::format("rate scale {} outside 0..{}", scale,
                                                    kRateScaleMax));
  }
  return Rate(std::move(mantissa), scale);
}

int compare(const Rate& a, const Rate& b) {
  // Both at the larger scale: exact in 256 bits (a mantissa < 2^127, times 10^18 < 2^60).
  const int scale = std::max(a.scale(), b.scale());
  Int256 x = Int256(a.mantissa()) * pow10_256(scale - a.scale());
  Int256 y = Int256(b.mantissa()) * pow10_256(scale - b.scale());
  return x < y ? -1 : (x > y ? 1 : 0);
}

Result<Amount> rounded_amount(Int256 numerator, Int256 denominator, int from_exponent, Asset to,
                              RoundingMode mode) {
  int shift = to.exponent() - from_exponent;
  if (shift >= 0) {
    numerator *= pow10_256(shift);
  } else {
    denominator *= pow10_256(-shift);
  }
  auto rounded = divide_rounded(numerator, denominator, mode);
  if (!rounded) return rounded.error();
  return Amount::from_minor(to, std::move(rounded).value());
}

Result<Amount> Rate::convert(const Amount& amount, Asset to, RoundingMode mode) const {
  // minor_to = minor_from * mantissa * 10^(exp_to - exp_from) / 10^scale
  try {
    return rounded_amount(Int256(amount.minor()) * Int256(mantissa_), pow10_256(scale_),
                          amount.asset().exponent(), to, mode);
  } catch (const std::overflow_error&) {
    return make_error(Code::kOverflow, fmt::format("{} {} x {} exceeds 256 bits",
                                                   amount.to_string(), amount.asset().code(),
                                                   to_string()));
  }
}

}  // namespace payledger::ledger
