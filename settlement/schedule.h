// When each rail pays (docs/settlement.md "Schedules"): the batch rail's daily cut-off in the
// merchant's zone and T+N business days of the currency's calendar; the tokenised rail's
// sweep every few minutes, any hour of any day. Shared by `settle` (what to instruct now) and
// the rails comparison (when money paid in would reach the merchant under each rail).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "events/schema/result.h"
#include "ledger/settlement.h"
#include "settlement/calendar.h"

namespace payledger::settlement {

// The tokenised rail's sweep interval when a policy names none.
inline constexpr uint32_t kSweepMinutesDefault = 15;

// One settlement cycle: the moment it closes (the money payable by then goes into it), the
// date it pays for and when the merchant has the funds.
struct Cycle {
  int64_t cutoff_s = 0;  // UTC seconds; batch: the cut-off; tokenised: the sweep
  CivilDate cycle_date;  // batch: the cut-off's local date; tokenised: the sweep's UTC date
  CivilDate value_date;  // batch: T+N business days after cycle_date; tokenised: cycle_date
  int64_t funds_s = 0;   // batch: the value date's local midnight; tokenised: the sweep
  // A deterministic id for what this cycle pays a merchant in `currency` (the instruction
  // id): "stl-GBP-2026-05-22" (batch), "stl-USD-2026-05-22T1715" (tokenised).
  std::string instruction_id(std::string_view currency, ledger::Rail rail) const;
};

// The batch cycle that money payable at `at_s` goes into: the first cut-off at or after
// `at_s` on a business day of `currency`, paying T+policy.settlement_days. kInvalidArgument
// (naming the calendar to extend) when a date falls outside the calendar's years; kUnknownAsset
// when the currency has no calendar.
Result<Cycle> next_batch_cycle(const ledger::SettlementPolicy& policy, std::string_view currency,
                               int64_t at_s);
// The latest batch cycle whose cut-off is at or before `at_s` (what a run at `at_s` pays).
Result<Cycle> last_batch_cycle(const ledger::SettlementPolicy& policy, std::string_view currency,
                               int64_t at_s);
// The tokenised sweep at or after `at_s` (next) or at or before it (last).
Cycle next_sweep(const ledger::SettlementPolicy& policy, int64_t at_s);
Cycle last_sweep(const ledger::SettlementPolicy& policy, int64_t at_s);

// The cycle of a policy's own rail, next or last.
Result<Cycle> next_cycle(const ledger::SettlementPolicy& policy, std::string_view currency,
                         int64_t at_s);
Result<Cycle> last_cycle(const ledger::SettlementPolicy& policy, std::string_view currency,
                         int64_t at_s);

}  // namespace payledger::settlement
