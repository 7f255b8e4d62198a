#include "ledger/amount.h"

#include <algorithm>
#include <array>
#include <stdexcept>

#include <fmt/format.h>

#include "events/schema/check.h"

namespace payledger::ledger {
namespace {

constexpr int kPow10Max = 38;

std::array<Int128, kPow10Max + 1> make_pow10() {
  std::array<Int128, kPow10Max + 1> table;
  table[0] = 1;
  for (int i = 1; i <= kPow10Max; ++i) table[i] = table[i - 1] * 10;
  return table;
}

Error bad(std::string_view text, std::string_view why) {
  return make_error(Code::kBadAmount, fmt::format("amount '{}' {}", text, why));
}

// Decimal digits of |value|. Hand-rolled on unsigned __int128: boost's str() trips a GCC 12
// -Wrestrict false positive and is slower.
std::string magnitude_digits(const Int128& value) {
  unsigned __int128 v = int128_magnitude(value);
  char buf[40];
  char* end = buf + sizeof buf;
  char* p = end;
  do {
    *--p = static_cast<char>('0' + static_cast<int>(v % 10));
    v /= 10;
  } while (v != 0);
  return std::string(p, end);
}

}  // namespace

const Int128& pow10_128(int n) {
  static const std::array<Int128, kPow10Max + 1> table = make_pow10();
  PAYLEDGER_CHECK(n >= 0 && n <= kPow10Max);
  return table[n];
}

Int128 amount_minor_max(Asset asset) {
  int digits = std::min(kAmountMajorDigitsMax + asset.exponent(), kAmountMinorDigitsMax);
  return pow10_128(digits) - 1;
}

Result<Int128> parse_scaled(std::string_view text, int exponent) {
  PAYLEDGER_CHECK(exponent >= 0 && exponent <= kAssetExponentMax);
  if (text.empty()) return bad(text, "is empty");
  if (text.size() > kDecimalLengthMax) return bad(text, "is too long");
  size_t i = 0;
  bool negative = false;
  if (text[0] == '-') {
    negative = true;
    i = 1;
  }
  Int128 value = 0;
  int int_digits = 0;
  int frac_digits = 0;
  bool seen_point = false;
  try {
    for (; i < text.size(); ++i) {
      char c = text[i];
      if (c == '.') {
        if (seen_point) return bad(text, "has two decimal points");
        seen_point = true;
        continue;
      }
      if (c < '0' || c > '9') return bad(text, fmt::format("has invalid character '{}'", c));
      if (seen_point) {
        if (++frac_digits > exponent) {
          return bad(text, fmt::format("has more than {} decimal places", exponent));
        }
      } else {
        ++int_digits;
      }
      value = value * 10 + (c - '0');
    }
    if (int_digits == 0) return bad(text, "has no digits before the decimal point");
    if (seen_point && frac_digits == 0) return bad(text, "has no digits after the decimal point");
    value *= pow10_128(exponent - frac_digits);
  } catch (const std::overflow_error&) {
    return make_error(Code::kOverflow, fmt::format("amount '{}' exceeds 128 bits", text));
  }
  return negative ? Int128(-value) : value;
}

std::string format_scaled(const Int128& value, int exponent) {
  PAYLEDGER_CHECK(exponent >= 0 && exponent <= kAssetExponentMax);
  std::string digits = magnitude_digits(value);
  size_t exp = static_cast<size_t>(exponent);
  size_t pad = digits.size() <= exp ? exp + 1 - digits.size() : 0;  // leading zeros: "0.05"
  size_t int_digits = digits.size() + pad - exp;
  std::string out;
  out.reserve(digits.size() + pad + 2);
  if (value.sign() < 0) out.push_back('-');
  for (size_t i = 0; i < digits.size() + pad; ++i) {
    if (i == int_digits) out.push_back('.');
    out.push_back(i < pad ? '0' : digits[i - pad]);
  }
  return out;
}

Result<Amount> Amount::parse(std::string_view text, Asset asset) {
  auto scaled = parse_scaled(text, asset.exponent());
  if (!scaled) return scaled.error();
  return Amount(asset, std::move(scaled).value());
}

Result<Amount> Amount::plus(const Amount& other) const {
  if (!(asset_ == other.asset_)) {
    return make_error(Code::kCurrencyMismatch,
                      fmt::format("cannot add {} to {}", other.asset_.code(), asset_.code()));
  }
  try {
    return Amount(asset_, minor_ + other.minor_);
  } catch (const std::overflow_error&) {
    return make_error(Code::kOverflow, fmt::format("{} + {} {} exceeds 128 bits", to_string(),
                                                   other.to_string(), asset_.code()));
  }
}

Result<Amount> Amount::minus(const Amount& other) const { return plus(other.negated()); }

}  // namespace payledger::ledger
