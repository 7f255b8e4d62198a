// The settlement run (`payledger settle --as-of T`, docs/settlement.md "Settling"): from the
// folded books, what each merchant with a settlement policy is paid now, as events to append.
// Nothing is decided from hidden state: the instruction id is the cycle's (schedule.h), so a
// second run for the same cycle finds the instruction booked and appends nothing, and the
// fold books exactly what the log says.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "events/schema/result.h"
#include "ledger/amount.h"
#include "ledger/settlement.h"
#include "payledger/v1/events.pb.h"
#include "projections/queries.h"

namespace payledger::settlement {

enum class Outcome : uint8_t {
  kInstructed,         // a payout instruction (and, tokenised, its mint and transfer)
  kAlreadyInstructed,  // this cycle's instruction is booked already: nothing to do
  kNothingPayable,     // the available payable is zero or negative
  kBelowMinimum,       // less than the policy's minimum payout: carried to the next cycle
  kNotDue,             // batch: no cut-off on the run's local day at or before it
  kFailed,             // no decision possible (a calendar that does not cover the date, ...)
};
std::string_view outcome_name(Outcome outcome);

// What the run decided for one merchant and currency.
struct Decision {
  std::string merchant;
  std::string currency;
  ledger::Rail rail = ledger::Rail::kBatch;
  Outcome outcome = Outcome::kNothingPayable;
  std::string instruction_id;    // the cycle's
  ledger::Int128 available = 0;  // payable now, plus reserves released by this run
  ledger::Int128 released = 0;   // reserves this run releases
  ledger::Int128 amount = 0;     // paid
  ledger::Int128 reserve = 0;    // held back
  std::string value_date;        // YYYY-MM-DD
  std::string reason;            // kFailed: why
};

struct Plan {
  std::vector<payledger::v1::Envelope> events;  // in the order to append
  std::vector<Decision> decisions;              // by merchant, currency
  size_t failed = 0;
};

// Decides at `as_of_s` for every policy (or only `merchant`'s): reserves due by then are
// released; the available payable less the reserve (policy percent, rounded half-even once)
// is instructed under the id of the last cycle at or before `as_of_s` if that cycle has none
// yet and it reaches the minimum payout — for the batch rail only on the local day of that
// cycle's cut-off (run `settle` after each cut-off); a tokenised instruction is minted for and
// transferred at once. Events carry occurred_at = as_of_s and deterministic event ids.
// kInvalidArgument if the books hold an event after `as_of_s` (they are the books as folded,
// not as of a past moment).
Result<Plan> plan_settlement(const projections::Stores& stores, int64_t as_of_s,
                             std::string_view merchant);

}  // namespace payledger::settlement
