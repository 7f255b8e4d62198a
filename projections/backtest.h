// FX back-test (payledger fx-backtest; docs/fx.md "Back-test"): the PSP's currency flows
// from its merchants (the moves of `psp:fx:position` that no treasury trade of the house
// made) replayed under three hedging policies, and what each costs against the mid at the
// moment the money came in. Money exact in minor units; each conversion rounded once,
// half-even. Only the forecast of the forward policy is in doubles, rounded once into minor
// units before it is booked in the simulation.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "events/schema/result.h"
#include "ledger/amount.h"
#include "ledger/asset.h"
#include "projections/queries.h"

namespace payledger::projections {

enum class HedgePolicy {
  kSpotAtSettlement,  // each UTC day's net converted at the next day's fix, bid/ask side
  kLockAtCheckout,    // each flow converted when it comes in, at the rate then, bid/ask side
  kForecastForwards,  // weekly forward of the forecast week's net at the booking's bid/ask,
                      // the rest at the fix after the week
};
inline constexpr HedgePolicy kHedgePolicies[] = {
    HedgePolicy::kSpotAtSettlement, HedgePolicy::kLockAtCheckout, HedgePolicy::kForecastForwards};
std::string_view hedge_policy_name(HedgePolicy p);

struct PolicyResult {
  ledger::Int128 proceeds = 0;  // reporting minor units obtained for the flows
  ledger::Int128 cost() const;  // benchmark - proceeds (set by the back-test)
  ledger::Int128 benchmark = 0;
  uint64_t conversions = 0;  // trades the policy made
};

struct BacktestCurrency {
  std::string asset;
  int exponent = 0;
  uint64_t flows = 0;         // merchant-driven moves included
  ledger::Int128 bought = 0;  // sum of the positive moves (the PSP took the currency in)
  ledger::Int128 sold = 0;    // sum of the negative moves, as a positive number
  // The flows valued at the mid in force when each came in (reporting minor units, each
  // rounded once): what they were worth; a policy's cost is this minus its proceeds.
  ledger::Int128 benchmark = 0;
  uint64_t excluded = 0;  // flows of days with no fix after them yet (left open, in no policy)
  uint64_t unpriced = 0;  // flows with no rate at their time (in no policy)
  std::vector<PolicyResult> policies;  // by kHedgePolicies
  uint32_t weeks = 0;                  // forward policy: weeks simulated
  uint32_t weeks_with_forecast = 0;    // of which a forecast (>= 1 day of history) booked a
                                       // forward (a rate in force, a non-zero forecast)
};

struct Backtest {
  std::string reporting;
  int reporting_exponent = 2;
  int64_t first_s = 0, last_s = 0;           // the flows' time span
  std::vector<BacktestCurrency> currencies;  // by asset code
};

Result<Backtest> fx_backtest(const Stores& stores, ledger::Asset reporting);

}  // namespace payledger::projections
