#include "ledger/fx.h"

#include <algorithm>
#include <array>
#include <stdexcept>

#include <fmt/format.h>

namespace payledger::ledger {
namespace {

// Market convention for the base of a pair: earlier here is the base.
constexpr std::array<std::string_view, 8> kBasePriority = {"EUR", "GBP", "AUD", "NZD",
                                                           "USD", "CAD", "CHF", "JPY"};

size_t priority(const Asset& a) {
  auto it = std::find(kBasePriority.begin(), kBasePriority.end(), a.code());
  return static_cast<size_t>(it - kBasePriority.begin());  // others: kBasePriority.size()
}

bool base_first(const Asset& a, const Asset& b) {
  size_t pa = priority(a), pb = priority(b);
  if (pa != pb) return pa < pb;
  return a.code() < b.code();
}

Int256 abs256(const Int256& v) { return boost::multiprecision::abs(v); }

// a x b / c rounded once by `mode` (c != 0; the quotient's sign is that of a x b / c).
Result<Int128> mul_div(const Int256& a, const Int256& b, const Int256& c, RoundingMode mode) {
  if (c.sign() < 0) return divide_rounded(-(a * b), -c, mode);
  return divide_rounded(a * b, c, mode);
}

Error overflow(std::string_view what) {
  return make_error(Code::kOverflow, fmt::format("{} exceeds 128 bits", what));
}

}  // namespace

Result<CurrencyPair> CurrencyPair::of(Asset a, Asset b) {
  if (a == b) {
    return make_error(Code::kInvalidArgument,
                      fmt::format("a currency pair needs two assets, not {} twice", a.code()));
  }
  return base_first(a, b) ? CurrencyPair(a, b) : CurrencyPair(b, a);
}

Result<CurrencyPair> CurrencyPair::parse(std::string_view text) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == text.size() ||
      text.find('/', slash + 1) != std::string_view::npos) {
    return make_error(Code::kInvalidArgument,
                      fmt::format("'{}' is not a currency pair like USD/JPY", text));
  }
  auto base = Asset::find(text.substr(0, slash));
  if (!base) return base.error();
  auto quote = Asset::find(text.substr(slash + 1));
  if (!quote) return quote.error();
  auto pair = of(*base, *quote);
  if (!pair) return pair.error();
  if (!(pair->base() == *base)) {
    return make_error(Code::kInvalidArgument,
                      fmt::format("{} is quoted the other way round: use {} (rates are published "
                                  "and stored in one direction per pair)",
                                  text, pair->to_string()));
  }
  return pair;
}

Result<Amount> convert(const Amount& amount, const CurrencyPair& pair, const Rate& rate,
                       RoundingMode mode) {
  if (amount.asset() == pair.base()) return rate.convert(amount, pair.quote(), mode);
  if (!(amount.asset() == pair.quote())) {
    return make_error(Code::kCurrencyMismatch,
                      fmt::format("{} {} cannot be converted at a {} rate", amount.to_string(),
                                  amount.asset().code(), pair.to_string()));
  }
  // base minor = quote minor x 10^scale x 10^(exp_base - exp_quote) / mantissa
  try {
    return rounded_amount(Int256(amount.minor()) * pow10_256(rate.scale()),
                          Int256(rate.mantissa()), amount.asset().exponent(), pair.base(), mode);
  } catch (const std::overflow_error&) {
    return overflow(fmt::format("{} {} / {}", amount.to_string(), amount.asset().code(),
                                rate.to_string()));
  }
}

Result<Rate> inverse(const Rate& rate, int scale, RoundingMode mode) {
  if (scale < 0 || scale > kRateScaleMax) {
    return make_error(Code::kBadAmount,
                      fmt::format("inverse scale {} outside 0..{}", scale, kRateScaleMax));
  }
  // 1 / (m / 10^s) = 10^s / m, to `scale` decimals: 10^(s + scale) / m.
  auto mantissa = divide_rounded(pow10_256(rate.scale() + scale), Int256(rate.mantissa()), mode);
  if (!mantissa) return mantissa.error();
  if (mantissa->is_zero()) {
    return make_error(Code::kBadAmount, fmt::format("1 / {} is zero at {} decimals",
                                                    rate.to_string(), scale));
  }
  return Rate::from_parts(std::move(mantissa).value(), scale);
}

Result<Position> trade(const Position& p, const Int128& quantity, const Int128& value,
                       RoundingMode mode) {
  if (quantity.is_zero()) {
    if (!value.is_zero()) {
      return make_error(Code::kInvalidArgument, "a trade with a value needs a quantity");
    }
    return p;
  }
  if (!value.is_zero() && value.sign() != quantity.sign()) {
    return make_error(Code::kInvalidArgument,
                      "a trade's value has the sign of its quantity (+ bought, - sold)");
  }
  try {
    Position out = p;
    if (p.amount.is_zero() || p.amount.sign() == quantity.sign()) {
      out.amount += quantity;
      out.cost += value;
      return out;
    }
    // Against the position: close up to its size at the average cost.
    const bool closes_all = abs256(Int256(quantity)) >= abs256(Int256(p.amount));
    const Int128 closed = closes_all ? Int128(-p.amount) : quantity;  // the sign of quantity
    Int128 cost_out = p.cost;
    if (!closes_all) {
      auto part = mul_div(Int256(p.cost), Int256(-closed), Int256(p.amount), mode);
      if (!part) return part.error();
      cost_out = *part;
    }
    Int128 value_closed = value;
    if (closed != quantity) {
      auto part = mul_div(Int256(value), Int256(closed), Int256(quantity), mode);
      if (!part) return part.error();
      value_closed = *part;
    }
    // Sold (value_closed < 0) for -value_closed against cost_out: proceeds minus cost; bought
    // back a short: what was received (-cost_out) minus what was paid (value_closed).
    out.realised += -value_closed - cost_out;
    out.amount += closed;
    out.cost -= cost_out;
    const Int128 rest = quantity - closed;
    if (!rest.is_zero()) {  // crossed zero: the rest opens the other way at its own value
      out.amount = rest;
      out.cost = value - value_closed;
    }
    return out;
  } catch (const std::overflow_error&) {
    return overflow("position");
  }
}

Result<Int128> unrealised(const Position& p, Asset asset, Asset reporting,
                          const CurrencyPair& pair, const Rate& rate, RoundingMode mode) {
  if (!pair.has(asset) || !pair.has(reporting) || asset == reporting) {
    return make_error(Code::kCurrencyMismatch,
                      fmt::format("a {} rate does not value {} in {}", pair.to_string(),
                                  asset.code(), reporting.code()));
  }
  auto market = convert(Amount::from_minor(asset, p.amount), pair, rate, mode);
  if (!market) return market.error();
  try {
    return Int128(market->minor() - p.cost);
  } catch (const std::overflow_error&) {
    return overflow("unrealised P&L");
  }
}

Result<Amount> forward_mark(const Amount& notional, const CurrencyPair& pair,
                            const Rate& contract, const Rate& forward, const Rate& accrual,
                            RoundingMode mode) {
  if (!(notional.asset() == pair.base())) {
    return make_error(Code::kCurrencyMismatch,
                      fmt::format("a {} forward's notional is in {}, not {}", pair.to_string(),
                                  pair.base().code(), notional.asset().code()));
  }
  // notional x (F - K) / (A_m / 10^A_s), with F - K at the common scale s:
  // quote minor = notional minor x diff x 10^(exp_q - exp_b) x 10^A_s / (10^s x A_m)
  try {
    const int s = std::max(contract.scale(), forward.scale());
    Int256 diff = Int256(forward.mantissa()) * pow10_256(s - forward.scale()) -
                  Int256(contract.mantissa()) * pow10_256(s - contract.scale());
    return rounded_amount(Int256(notional.minor()) * diff * pow10_256(accrual.scale()),
                          pow10_256(s) * Int256(accrual.mantissa()), notional.asset().exponent(),
                          pair.quote(), mode);
  } catch (const std::overflow_error&) {
    return overflow("forward mark");
  }
}

// The rate a published fix converts at: its mid, else halfway between bid and ask (exact:
// (bid + ask) x 5 with one more decimal).
Result<Rate> mid_rate(const FxRate& r) {
  if (!r.mid.empty()) return Rate::parse(r.mid);
  auto bid = Rate::parse(r.bid);
  if (!bid) return bid.error();
  auto ask = Rate::parse(r.ask);
  if (!ask) return ask.error();
  const int scale = std::max(bid->scale(), ask->scale());
  Int128 sum = bid->mantissa() * pow10_128(scale - bid->scale()) +
               ask->mantissa() * pow10_128(scale - ask->scale());
  if (scale + 1 > kRateScaleMax) {
    return make_error(Code::kNoRate,
                      fmt::format("{} as of {}s has no mid and its bid/ask midpoint needs more "
                                  "than {} decimals",
                                  r.pair, r.as_of_s, kRateScaleMax));
  }
  return Rate::from_parts(sum * 5, scale + 1);
}

}  // namespace payledger::ledger
