// The books at a past point (issue 12, docs/audit.md), answered from the kept history, never
// by refolding: balances, trial balances and statements as of an event time, as known at log
// positions, or both; and the journal (each applied event with its lines).
//
// Two clocks (bi-temporal): event time is when a thing happened (occurred_at); log position is
// when the ledger learned of it. An event that occurred before T but arrived after the log
// positions P is in "as of T" (today's knowledge of T) and not in "at P" (what the books said
// then); "as of T at P" is what the books, as they stood at P, said about T.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/schema/result.h"
#include "projections/history.h"
#include "projections/queries.h"

namespace payledger::projections {

struct PointInTime {
  // Lines whose event occurred at or before this moment (seconds since the epoch, UTC).
  std::optional<int64_t> as_of_s;
  // Per partition, the next offset: only records before it count. Partitions not named count
  // whole (as far as folded).
  std::map<uint32_t, uint64_t> at_offsets;
  bool now() const { return !as_of_s && at_offsets.empty(); }
};

// Parses "P:O,P:O,..." (what `digest` prints as positions). kInvalidArgument naming the bad
// part, a partition given twice or a partition not below `partitions`.
Result<std::map<uint32_t, uint64_t>> parse_positions(std::string_view text, uint32_t partitions);

// Balances of every account starting with `prefix` at `at` (list_balances when at.now()),
// ordered by account, asset; accounts that held nothing yet at that point are left out.
Result<std::vector<BalanceRow>> balances_at(const Stores& stores, std::string_view prefix,
                                            const PointInTime& at);

// The earliest event time folded (nullopt: nothing folded).
Result<std::optional<int64_t>> earliest_event_time(const Stores& stores, const Owners& owners);

// One line of an account statement in event-time order, named after its event.
struct TimedLine {
  std::string asset;
  uint32_t partition = 0;
  EntryLine line;
  std::string merchant;     // from the journal
  std::string payment;      // the payment the event changed, if any
  std::string reference;    // payment, instruction or business id
  bool fired = false;       // an expiry the fold fired
  ledger::Balance running;  // the account's balance in `asset` after this line
};
struct AssetStatement {
  std::string asset;
  int exponent = 0;
  ledger::Balance opening;  // before the first line in range
  ledger::Balance closing;  // after the last line in range
  size_t lines = 0;         // lines in range (the statement may hold fewer: limit)
};
struct AccountStatement {
  std::string account;
  ledger::Side normal = ledger::Side::kDebit;
  std::vector<AssetStatement> assets;  // ordered by asset
  std::vector<TimedLine> lines;        // by asset, then (event time, partition, offset)
};
// The account's lines with from_s <= occurred_at <= to_s (either unset: open), as known at
// `at.at_offsets` (at.as_of_s, if set, caps to_s), each asset's opening balance and a running
// balance; at most `limit` lines in all (0 = all), the first ones.
Result<AccountStatement> statement_between(const Stores& stores, std::string_view account,
                                           std::optional<int64_t> from_s,
                                           std::optional<int64_t> to_s, const PointInTime& at,
                                           size_t limit);

// Applied events in (partition, offset, seq) order, from `stores`' owning stores; stops early
// when `visit` returns an error.
Status for_each_journal_entry(const Stores& stores,
                              const std::function<Status(const JournalEntry&)>& visit);
// A payment's journal entries (its timeline) in (partition, offset, seq) order. An empty
// `merchant` searches every merchant: *merchants_found (if given) receives the merchants that
// have a payment with that id.
Result<std::vector<JournalEntry>> payment_timeline(const Stores& stores, std::string_view merchant,
                                                   std::string_view payment,
                                                   std::vector<std::string>* merchants_found);

// Per owned partition, the chain head and the next offset it covers (none: nothing chained).
struct PartitionHead {
  uint32_t partition = 0;
  uint64_t next_offset = 0;        // the store's folded position
  std::optional<ChainHead> chain;  // the latest checkpoint
  uint64_t chain_at = 0;           // the next offset that checkpoint covers
};
Result<std::vector<PartitionHead>> chain_heads(const Stores& stores);

}  // namespace payledger::projections
