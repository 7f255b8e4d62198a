// Amount: an integer number of minor units of one asset, in checked 128-bit arithmetic.
// Never a float. Decimal strings parse and format exactly; a string with more decimals
// than the asset's exponent is rejected rather than rounded.
#pragma once

#include <string>
#include <string_view>

#include <boost/multiprecision/cpp_int.hpp>

#include "events/schema/result.h"
#include "ledger/asset.h"

namespace payledger::ledger {

// Checked: any overflow throws std::overflow_error inside; Amount's API turns that into
// Code::kOverflow so callers see a rejection, never a wrapped value.
using Int128 = boost::multiprecision::checked_int128_t;
// Wide intermediate for products (amount x rate mantissa x power of ten).
using Int256 = boost::multiprecision::checked_int256_t;

// The sign and 128-bit magnitude of an Int128, for fast serialisation. checked_int128_t is
// a "trivial" cpp_int: one unsigned __int128 limb holding the magnitude, plus a sign.
static_assert(boost::multiprecision::backends::is_trivial_cpp_int<Int128::backend_type>::value);
inline bool int128_negative(const Int128& v) { return v.backend().sign(); }
inline unsigned __int128 int128_magnitude(const Int128& v) { return *v.backend().limbs(); }
inline Int128 int128_from(bool negative, unsigned __int128 magnitude) {
  Int128 v;
  v.backend() = magnitude;
  if (negative && magnitude != 0) v.backend().negate();
  return v;
}

// The largest amount one event may carry (the amount ceiling), per asset: below 10^15 major
// units and below 10^24 minor units, whichever is smaller (USD: at most 999,999,999,999,999.99;
// an 18-decimal token: below 10^6 tokens). Enforced by parse_money, so every amount on the
// fold path is bounded and account sums stay far from the 128-bit edge.
inline constexpr int kAmountMajorDigitsMax = 15;
inline constexpr int kAmountMinorDigitsMax = 24;
// Events one account may sum without any risk of overflow: 2^40 (10^12) at the ceiling.
inline constexpr int kAccountEventsLog2Max = 40;
constexpr unsigned __int128 pow10_u128(int n) {
  unsigned __int128 v = 1;
  for (int i = 0; i < n; ++i) v *= 10;
  return v;
}
// 2^40 events at the ceiling still leave 6 bits below the 127-bit magnitude of Int128.
static_assert((pow10_u128(kAmountMinorDigitsMax) << kAccountEventsLog2Max) <
                  (static_cast<unsigned __int128>(1) << 121),
              "the amount ceiling must keep 2^40 summed events far from 128 bits");

// Longest decimal string we parse (sign, 39 digits, point): bounds the work per field.
inline constexpr size_t kDecimalLengthMax = 48;

// Parses a decimal string ("-12.345", "7") into an integer scaled by 10^exponent.
// Rejects (kBadAmount) empty strings, '+', exponents, missing digits around '.', and more
// fraction digits than `exponent`; rejects values beyond 128 bits with kOverflow.
Result<Int128> parse_scaled(std::string_view text, int exponent);
// Formats value / 10^exponent as an exact decimal string with exactly `exponent` decimals.
std::string format_scaled(const Int128& value, int exponent);

class Amount {
 public:
  static Amount zero(Asset asset) { return Amount(asset, 0); }
  static Amount from_minor(Asset asset, Int128 minor) { return Amount(asset, std::move(minor)); }
  // Parses a decimal major-unit string for `asset` ("12.34" USD -> 1234 minor).
  static Result<Amount> parse(std::string_view text, Asset asset);

  Asset asset() const { return asset_; }
  const Int128& minor() const { return minor_; }
  int sign() const { return minor_.sign(); }
  bool is_zero() const { return minor_.is_zero(); }

  // Checked arithmetic; kCurrencyMismatch for different assets, kOverflow past 128 bits.
  Result<Amount> plus(const Amount& other) const;
  Result<Amount> minus(const Amount& other) const;
  Amount negated() const { return Amount(asset_, -minor_); }

  // "12.34", "-0.05", "1200" (JPY), "1.234" (BHD).
  std::string to_string() const { return format_scaled(minor_, asset_.exponent()); }

  friend bool operator==(const Amount& a, const Amount& b) {
    return a.asset_ == b.asset_ && a.minor_ == b.minor_;
  }

 private:
  Amount(Asset asset, Int128 minor) : asset_(asset), minor_(std::move(minor)) {}
  Asset asset_;
  Int128 minor_;
};

// 10^n for 0 <= n <= 38, as a 128-bit integer.
const Int128& pow10_128(int n);

// The largest amount, in minor units, one event may carry in `asset` (the amount ceiling).
Int128 amount_minor_max(Asset asset);

}  // namespace payledger::ledger
