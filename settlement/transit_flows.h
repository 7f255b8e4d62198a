// The payable flows of a store's history for the rails comparison (settlement/transit.h): every
// posted change of merchant:<id>:payable that is not settlement itself.
#pragma once

#include <cstdint>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "events/schema/result.h"
#include "projections/queries.h"
#include "projections/store.h"
#include "settlement/transit.h"

namespace payledger::settlement {

// What payable_flows left out, so a report can say it.
struct PayableFlowsRead {
  uint64_t events = 0;             // events with a non-zero net change of payable (the flows)
  uint64_t settlement_events = 0;  // left out: they also post to merchant:<id>:settling or
                                   // merchant:<id>:reserve (instructions, returns, reserves)
  uint64_t payout_events = 0;      // left out: payout_sent (Dr payable, Cr bank operating)
  uint64_t conversion_events = 0;  // left out: fx_conversion_executed (money already payable,
                                   // re-denominated)
  uint64_t zero_events = 0;        // left out: their payable lines net to zero
};

// One flow per (event, currency) that moved merchant:<id>:payable: the posted credits minus
// debits of its lines on that account, at the event's occurred_at. Left out: pending (held)
// lines; every line of an event that also posts to the merchant's settling or reserve account
// (the settlement events); payout_sent (identified by the body that posted the line). In
// (occurred_at, partition, offset) order. `merchant` keeps one merchant; empty: all.
Result<std::vector<PayableFlow>> payable_flows(const projections::Stores& stores,
                                               std::string_view merchant = {},
                                               PayableFlowsRead* read = nullptr);
Result<std::vector<PayableFlow>> payable_flows(projections::Store& store,
                                               std::string_view merchant = {},
                                               PayableFlowsRead* read = nullptr);

// An event's identity in the store: (partition, log offset).
using StoredEvent = std::pair<uint32_t, uint64_t>;

// The step payable_flows takes per merchant, on its own for tests: the flows of `merchant`
// from the statement of its payable account, leaving out the lines of `settlement_events`
// (the events that posted to its settling or reserve account) and of payout_sent, in
// statement order (asset, partition, offset); adds to `*read`'s counts. kOverflow past 128
// bits.
Result<std::vector<PayableFlow>> flows_from_statement(
    std::string_view merchant, const std::vector<projections::StatementLine>& payable,
    const std::set<StoredEvent>& settlement_events, PayableFlowsRead* read);

}  // namespace payledger::settlement
