// Foreign exchange arithmetic (issue 10): currency pairs in one canonical direction,
// conversions in either direction with one named rounding, FX positions at weighted average
// cost with realised and unrealised P&L, and the mark-to-market of a forward. Pure: no state,
// no I/O; every number is an integer in minor units or an exact decimal Rate, and each
// derived number is rounded once (docs/fx.md).
#pragma once

#include <string>
#include <string_view>

#include "events/schema/result.h"
#include "ledger/amount.h"
#include "ledger/rate.h"

namespace payledger::ledger {

// A rate locked for one of a merchant's customers (fx_quote_locked), kept per merchant and
// quote id. Pair and rate as their canonical text, parsed again where a payment uses them.
struct FxQuote {
  std::string pair;  // canonical, e.g. "USD/BRL"
  std::string rate;  // exact decimal, quote per base
  int64_t locked_at_s = 0;
  int64_t expires_at_s = 0;
  std::string used_by;  // the payment that converted at it; empty while unused
  friend bool operator==(const FxQuote&, const FxQuote&) = default;
};

// A published market rate (fx_rate_published), kept per partition, pair and as-of. Rates as
// their canonical text (empty when not published: mid, or bid and ask, or all three).
struct FxRate {
  std::string pair;  // canonical, e.g. "USD/BRL"
  int64_t as_of_s = 0;
  std::string mid;
  std::string bid;
  std::string ask;
  std::string source;
  std::string event_id;  // the publication, for a duplicate's reason
  friend bool operator==(const FxRate&, const FxRate&) = default;
};

// A forward the house booked (fx_forward_booked), kept per forward id: on its value date it
// exchanges `notional` minor units of the pair's base at `rate` (quote per base), buying the
// base when `buy`. Off balance sheet until settled (settled_at_s, 0 while open).
struct FxForward {
  std::string pair;  // canonical
  bool buy = true;
  Int128 notional = 0;
  std::string rate;
  int64_t booked_at_s = 0;
  int64_t value_date_s = 0;
  int64_t settled_at_s = 0;
  friend bool operator==(const FxForward&, const FxForward&) = default;
};

// A revaluation run (fx_revaluation_run): the positions as of `as_of_s` valued in `reporting`.
struct FxRevaluation {
  int64_t as_of_s = 0;
  std::string reporting;  // asset code
  int64_t run_at_s = 0;   // the event's occurred_at
  std::string event_id;
  friend bool operator==(const FxRevaluation&, const FxRevaluation&) = default;
};

// The rate a published fix converts and values at: its mid, else exactly halfway between bid
// and ask ((bid + ask) x 5 with one more decimal). kNoRate if that needs more than
// kRateScaleMax decimals.
Result<Rate> mid_rate(const FxRate& r);

// A currency pair in its canonical direction: one unit of `base` costs `rate` units of
// `quote` ("USD/JPY 151.235": 1 USD = 151.235 JPY). The canonical direction follows market
// convention: the base is the one earlier in EUR, GBP, AUD, NZD, USD, CAD, CHF, JPY; between
// two others, the alphabetically first (USD/BRL, EUR/INR, BRL/MXN).
class CurrencyPair {
 public:
  // "USD/JPY". kInvalidArgument for another shape, the same asset twice, or the
  // non-canonical direction (the reason names the canonical one); kUnknownAsset for codes.
  static Result<CurrencyPair> parse(std::string_view text);
  // The canonical pair of two different assets, whatever their order.
  static Result<CurrencyPair> of(Asset a, Asset b);

  Asset base() const { return base_; }
  Asset quote() const { return quote_; }
  bool has(Asset a) const { return a == base_ || a == quote_; }
  std::string to_string() const { return base_.code() + "/" + quote_.code(); }
  friend bool operator==(const CurrencyPair& a, const CurrencyPair& b) {
    return a.base_ == b.base_ && a.quote_ == b.quote_;
  }

 private:
  CurrencyPair(Asset base, Asset quote) : base_(base), quote_(quote) {}
  Asset base_;
  Asset quote_;
};

// `amount` (in either asset of `pair`) converted into the other asset at `rate` (quote per
// base): base -> quote is amount x rate, quote -> base is amount / rate, each formed exactly
// and rounded once by `mode` into the target's minor units. kCurrencyMismatch if the amount
// is in neither asset.
Result<Amount> convert(const Amount& amount, const CurrencyPair& pair, const Rate& rate,
                       RoundingMode mode);

// 1 / rate to `scale` decimals, rounded once by `mode` (for showing the other direction;
// conversions use convert(), which never rounds an inverse first). kBadAmount if the inverse
// rounds to zero at that scale.
Result<Rate> inverse(const Rate& rate, int scale, RoundingMode mode);

// An amount of one asset held (positive) or owed (negative), valued in a reporting currency
// at weighted average cost. `cost` has the sign of `amount` and is what was paid for what is
// held (or received for what is owed); `realised` is the P&L closed so far. All in minor
// units: amount of the asset, cost and realised of the reporting currency.
struct Position {
  Int128 amount = 0;
  Int128 cost = 0;
  Int128 realised = 0;
  friend bool operator==(const Position&, const Position&) = default;
};

// A trade into `p`: `quantity` of the asset (positive bought/received, negative sold/paid)
// for `value` in the reporting currency (the same sign: +110.00 USD paid for +100.00 EUR,
// -108.00 USD received for -100.00 EUR). A trade in the direction of the position (or from
// flat) adds to amount and cost. A trade against it first closes up to the position's size:
// the cost of the closed part leaves at the average (cost x closed / amount, rounded by
// `mode`) and realised gains value-of-the-closed-part minus that cost; what is left of the
// trade opens a position the other way at its own value (a trade crossing zero splits its
// value pro rata, rounded by `mode`). kInvalidArgument if value's sign differs from
// quantity's; kOverflow past 128 bits.
Result<Position> trade(const Position& p, const Int128& quantity, const Int128& value,
                       RoundingMode mode);

// Unrealised P&L of `p` at `rate` (reporting per asset, i.e. the pair asset/reporting in
// either canonical direction): market value (amount converted at the rate, rounded once by
// `mode`) minus cost, in reporting minor units.
Result<Int128> unrealised(const Position& p, Asset asset, Asset reporting,
                          const CurrencyPair& pair, const Rate& rate, RoundingMode mode);

// Mark-to-market of a forward that buys `notional` (in the pair's base; negative: sells) at
// `contract` (quote per base), at today's forward rate for the same value date, discounted by
// dividing by `accrual` = (1 + r)^t, the growth of one unit of the quote currency from today
// to the value date (1 on the value date; a divisor, so that it stays an exact decimal where
// the discount factor 1 / accrual would not): notional x (forward - contract) / accrual, in the
// quote's minor units, rounded once by `mode`. Positive: the forward is an asset.
Result<Amount> forward_mark(const Amount& notional, const CurrencyPair& pair,
                            const Rate& contract, const Rate& forward, const Rate& accrual,
                            RoundingMode mode);

}  // namespace payledger::ledger
