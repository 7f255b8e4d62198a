// Working capital in transit, batch rail vs tokenised rail (issue 11 item 5; docs/settlement.md,
// "Working capital in transit (rails comparison)"): the same history of payable flows replayed
// under each rail's schedule, and how much money, for how long, sat between becoming payable
// and reaching the merchant.
//
// For the CLI (`payledger settle report --data DIR --compare-rails [--from T] [--to T]
// [--merchant M] [--json] [--plot FILE]`):
//   1. flows    = payable_flows(stores, merchant)            (settlement/transit_flows.h)
//   2. policies = the merchants' settlement policies, keyed by (merchant, currency)
//      without --from/--to: default_period(flows) (whole UTC days around the history)
//   3. report   = compare_rails(flows, policies, {from, to, by_merchant = !merchant.empty(),
//                                                  series = !plot.empty()})
//      an error (calendar year not covered, currency with no calendar, overflow) -> exit 1
//   4. print format_transit_table(report), or transit_json(report).dump(2) with --json
//   5. with --plot: plot_transit(report, FILE) (FILE.svg or FILE.png; anything else is a usage
//      error the CLI should refuse before any work: transit_chart_is_png() tells which).
//
// Money is integer minor units throughout (checked 128-bit, 256-bit for money-time); the
// only non-integer anything is gnuplot's own axis arithmetic.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "events/schema/result.h"
#include "ledger/amount.h"
#include "ledger/settlement.h"

namespace payledger::settlement {

// A signed change of what a merchant is owed in one currency: + money becoming payable
// (captures, receipts, FX conversions in), - refunds, fees, chargebacks. Settlement itself
// (payouts, instructions, returns, reserves) is not a flow.
struct PayableFlow {
  std::string merchant;
  std::string currency;
  int64_t at_s = 0;  // the event's occurred_at, UTC seconds
  ledger::Int128 minor = 0;
  friend bool operator==(const PayableFlow&, const PayableFlow&) = default;
};

// The merchants' settlement policies by (merchant, currency). Each policy carries both
// schedules (batch: cutoff_minute, time_zone, settlement_days; tokenised: sweep_minutes) and
// is replayed under each rail with only `rail` changed.
using SettlementPolicies = std::map<std::pair<std::string, std::string>, ledger::SettlementPolicy>;

struct TransitOptions {
  int64_t from_s = 0;  // the period [from_s, to_s), UTC seconds; from_s < to_s
  int64_t to_s = 0;
  bool by_merchant = false;  // also per merchant (CurrencyTransit::merchants)
  bool series = false;       // keep in-transit over time per rail (for the chart)
};

// One rail's numbers for one currency (or one merchant in it) over the period. "In the period"
// means at_s in [from_s, to_s).
struct TransitStats {
  uint64_t flows = 0;        // flows in the period
  ledger::Int128 net = 0;    // their sum (minor)
  ledger::Int128 paid = 0;   // the part of `net` some cycle paid (total paid)
  ledger::Int128 unpaid = 0;  // the part never paid: still carried (net <= 0 or below the
                              // minimum payout) when the history ends at to_s
  uint64_t payouts = 0;      // cycles that paid out, counting those paying a flow of the period
  // Sum of minor x seconds in transit inside [from_s, to_s) (flows before from_s count for
  // the part of their transit after it; an unpaid flow is in transit until to_s).
  ledger::Int256 money_time = 0;
  ledger::Int128 average = 0;  // money_time / (to_s - from_s), rounded half-even (minor)
  ledger::Int128 peak = 0;     // max over [from_s, to_s) of the money payable, not yet funded
  int64_t peak_at_s = 0;       // the first moment the peak was reached
  uint64_t timed_flows = 0;    // positive paid flows of the period: the time-to-funds sample
  int64_t ttf_average_s = 0;   // amount-weighted average time to funds (half-even, seconds)
  int64_t ttf_p95_s = 0;       // nearest-rank 95th percentile by count (seconds)
  friend bool operator==(const TransitStats&, const TransitStats&) = default;
};

// Money in transit from at_s until the next point's at_s (the last point holds until to_s).
struct TransitPoint {
  int64_t at_s = 0;
  ledger::Int128 minor = 0;
  friend bool operator==(const TransitPoint&, const TransitPoint&) = default;
};

struct RailTransit {
  TransitStats stats;
  std::vector<TransitPoint> series;  // with TransitOptions::series; starts at from_s
};

struct MerchantTransit {
  std::string merchant;
  TransitStats batch;
  TransitStats tokenised;
};

struct CurrencyTransit {
  std::string currency;
  int exponent = 0;
  RailTransit batch;
  RailTransit tokenised;
  std::vector<MerchantTransit> merchants;  // with TransitOptions::by_merchant, by merchant id
};

// Flows of the period whose (merchant, currency) has no settlement policy: not simulated,
// reported so that nothing is dropped silently.
struct SkippedFlows {
  std::string merchant;
  std::string currency;
  uint64_t flows = 0;
  ledger::Int128 net = 0;
};

struct TransitReport {
  int64_t from_s = 0;
  int64_t to_s = 0;
  std::vector<CurrencyTransit> currencies;  // by currency code, those with a policy and flows
  std::vector<SkippedFlows> skipped;        // by merchant, currency
};

// Replays `flows` (any order; those at or after to_s are ignored: the history is cut at the
// period's end) under the batch and the tokenised rail. kInvalidArgument for an empty or
// reversed period or a calendar that does not cover a date (naming merchant, currency and
// date); kUnknownAsset for a currency with no calendar or not in the asset table; kOverflow
// past 128 bits.
Result<TransitReport> compare_rails(const std::vector<PayableFlow>& flows,
                                    const SettlementPolicies& policies,
                                    const TransitOptions& options);

// The whole UTC days the flows span: from the first flow's day at 00:00Z to the day after the
// last flow's day at 00:00Z (so the last flow is inside the period); nullopt without flows.
std::optional<std::pair<int64_t, int64_t>> default_period(const std::vector<PayableFlow>& flows);

// numerator / denominator as a percentage with `decimals` decimals, rounded half-even, by
// integer arithmetic ("48.3"); nullopt if the denominator is not positive.
std::optional<std::string> percent(const ledger::Int128& numerator,
                                   const ledger::Int128& denominator, int decimals = 1);
// Seconds as hours with one decimal, rounded half-even ("79.2").
std::string hours_1dp(int64_t seconds);
// The tokenised/batch ratio of average in-transit capital for one currency, as percent().
std::optional<std::string> tokenised_vs_batch(const CurrencyTransit& c);

// Both rails side by side per currency (and per merchant when the report has them).
std::string format_transit_table(const TransitReport& report);
// The report as JSON: amounts as decimal strings in major units, money-time as a decimal
// string in minor-unit-seconds, times in seconds and RFC 3339.
nlohmann::ordered_json transit_json(const TransitReport& report);

// Whether `file` names a PNG (true) or an SVG (false) chart; nullopt for any other extension.
std::optional<bool> transit_chart_is_png(const std::string& file);
// Draws in-transit capital over the period for each rail, one panel per currency, with
// gnuplot into `file` (.png or .svg, else kInvalidArgument). Needs a report made with
// TransitOptions::series.
Status plot_transit(const TransitReport& report, const std::string& file);
// The gnuplot script plot_transit runs, writing its data files into `work_dir` (for tests).
Result<std::string> transit_chart_script(const TransitReport& report, const std::string& file,
                                         const std::string& work_dir);

}  // namespace payledger::settlement
