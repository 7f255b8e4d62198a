// Exposure: money not yet settled, per currency and expected value date, what of it is hedged,
// and a forecast of the money still to come in (payledger exposure; docs/fx.md, "Exposure and
// forecast"). Read-only over the stores through the public query and store APIs; house
// balances and lines are summed across partition stores like the other queries.
//
// Amounts are exact minor units (Int128). The forecast alone is in doubles (major units): it is
// never booked and never added to an amount.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "events/schema/result.h"
#include "ledger/amount.h"
#include "projections/forecast.h"
#include "projections/queries.h"

namespace payledger::projections {

inline constexpr int64_t kDaySeconds = 86400;
inline constexpr int kExposureHorizonMaxDays = 365;

// Money expected to move on value dates in one bucket, minor units of the currency.
struct ExposureBucket {
  ledger::Int128 card_holds = 0;            // authorised, not captured (in)
  ledger::Int128 vouchers_outstanding = 0;  // issued, unpaid: face value
  ledger::Int128 vouchers_expected = 0;     // face value x the method's observed pay rate (in)
  ledger::Int128 bnpl_upfronts = 0;         // owed by BNPL providers (in)
  ledger::Int128 payables = 0;              // merchants' posted payables (out)
  // Expected in minus out: card_holds + vouchers_expected + bnpl_upfronts - payables.
  ledger::Int128 net() const { return card_holds + vouchers_expected + bnpl_upfronts - payables; }
  void add(const ExposureBucket& o);
};

// A voucher method's observed pay rate: vouchers paid in time out of those that ended (paid,
// paid late or expired), counted in the same books.
struct VoucherPayRate {
  std::string method;
  uint64_t paid = 0;
  uint64_t ended = 0;
  uint64_t outstanding = 0;  // issued, unpaid, not lapsed at the as-of
};

struct CurrencyExposure {
  std::string asset;
  int exponent = 0;
  // Value dates in [as-of day + 7 w, as-of day + 7 w + 7), w = 0 .. ceil(horizon / 7) - 1,
  // cut at the horizon; an overdue value date counts in week 0.
  std::vector<ExposureBucket> weeks;
  ExposureBucket later;  // value date at or after the as-of day + horizon
  ExposureBucket total;  // weeks + later
  // Hedged: locked quotes unused and unexpired at the as-of, naming this currency (a quote
  // holds a rate, no notional, so they are counted, per pair).
  std::map<std::string, uint64_t> open_quotes;
  // Hedged by the house's FX forwards open at the as-of: the amount of this currency they sell
  // on their value dates (positive) less what they buy (docs/fx.md). Always set by
  // exposure() (0 when none).
  std::optional<ledger::Int128> forwards_hedged;
  // Daily money-in history (major units, complete UTC days before the as-of day, from the
  // first day with money in) and its forecast for the as-of day onwards (horizon days).
  int64_t history_first_day = 0;  // days since 1970-01-01
  std::vector<double> history;
  ForecastFit fit;
  std::vector<ForecastPoint> forecast;
};

struct Exposure {
  int64_t as_of_s = 0;
  bool as_of_from_books = false;  // no --as-of: the latest event time folded
  int horizon_days = 0;
  std::vector<CurrencyExposure> currencies;  // ordered by asset code
  std::vector<VoucherPayRate> voucher_rates;  // ordered by method
  uint64_t lapsed_holds = 0;     // card holds whose authorisation expired by the as-of
  uint64_t lapsed_vouchers = 0;  // unpaid vouchers expired by the as-of
  // The accounts whose posted debits make the money-in history.
  std::vector<std::string> money_in_accounts;
};

// Value-date assumptions where the books hold no date (docs/fx.md).
inline constexpr int64_t kCardHoldNoExpiryDays = 7;   // hold without an expiry: created + 7 d
inline constexpr int64_t kVoucherNoExpiryDays = 3;    // voucher without an expiry: created + 3 d
inline constexpr int64_t kBnplUpfrontDays = 1;        // provider pays the up-front: approved + 1 d
inline constexpr int64_t kPayableSettlementDays = 1;  // payables settle: the as-of day + 1

// Whether a PSP account's posted debits are payers' money coming in: psp:clearing:*,
// psp:bank:* and psp:receivable:*, except psp:bank:operating (the payout account) and
// psp:receivable:partner-wallet-rewards (coupon funding, not a payer's money).
bool money_in_account(std::string_view account);

// `as_of` (UTC seconds): nullopt = the latest event time in the books (max watermark).
// horizon_days 1..kExposureHorizonMaxDays (PAYLEDGER_CHECK: the CLI validates it).
Result<Exposure> exposure(const Stores& stores, std::optional<int64_t> as_of, int horizon_days);

// round_half_even(amount x num / den), den > 0, amount >= 0.
ledger::Int128 scale_half_even(const ledger::Int128& amount, uint64_t num, uint64_t den);

}  // namespace payledger::projections
