// Read-side queries over the projections: balances, statements, trial balance, rejects and
// the deterministic projection digest.
//
// Every query takes one or more stores: the instances of a scaled-out fold, each holding the
// projections of the partitions it folds. Stored keys start with their partition, so the
// answers merge exactly: each partition is taken from the store that folded it furthest
// (highest stored next offset; a copy left behind when a partition moved is ignored),
// balances are summed per account and asset over partitions (only house accounts span
// partitions), lines and rejects are ordered by (partition, offset), and the digest walks the
// union of the owning stores' keys in key order.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/schema/result.h"
#include "ledger/journal.h"
#include "projections/records.h"
#include "projections/store.h"

namespace payledger::projections {

struct BalanceRow {
  std::string account;
  std::string asset;
  int exponent = 0;
  ledger::Side normal = ledger::Side::kDebit;
  ledger::Balance balance;
};

using Stores = std::vector<Store*>;

// Partition -> index in `stores` of the store that folded it furthest. Refuses
// (kInvalidArgument, naming both stores) stores that recorded different log identities or
// partition counts: their books are of different logs and must never be merged.
using Owners = std::map<uint32_t, size_t>;
Result<Owners> partition_owners(const Stores& stores);

// A partition the stores do not hold up to its log end.
struct PartitionGap {
  uint32_t partition = 0;
  std::optional<size_t> store;      // index of the store that folded it furthest; none: missing
  std::optional<uint64_t> folded;   // that store's next offset
  std::optional<uint64_t> log_end;  // how far the log is known to reach; none: unknown
};
// What a query's stores cover of their log.
struct Coverage {
  std::string log_identity;  // recorded by the stores; empty if none recorded one
  uint32_t partitions = 0;   // the log's partition count (0: nothing known)
  std::vector<PartitionGap> gaps;  // by partition
  bool complete() const { return gaps.empty(); }
};
// Which partitions of the log the stores miss or hold short of the log end. The log end of a
// partition is the highest of `log_ends` (read from the log itself, when the caller can reach
// it; nullopt otherwise) and the log ends any store noted (Store::load_log_ends). A
// partition no store folded is a gap unless its log is known to be empty.
Result<Coverage> coverage(const Stores& stores,
                          const std::optional<std::vector<uint64_t>>& log_ends);

// Balances of every account whose name starts with `prefix`, ordered by account, asset.
Result<std::vector<BalanceRow>> list_balances(const Stores& stores, std::string_view prefix);

struct StatementLine {
  std::string asset;
  uint32_t partition = 0;
  EntryLine line;
};
// Every line posted to `account`, per asset in log order; at most `limit` lines (0 = all).
// `total`, if given, receives the number of lines without the limit.
Result<std::vector<StatementLine>> statement(const Stores& stores, std::string_view account,
                                             size_t limit, size_t* total = nullptr);

// The lines of `account` in one partition only (a merchant's accounts live in its partition),
// from the store `owners` names for it; none if no store holds that partition.
Result<std::vector<StatementLine>> partition_statement(const Stores& stores, const Owners& owners,
                                                       uint32_t partition,
                                                       std::string_view account);

struct TrialBalanceRow {
  std::string asset;
  int exponent = 0;
  ledger::Int128 debit = 0;   // sum of accounts with a net debit posted balance
  ledger::Int128 credit = 0;  // sum of accounts with a net credit posted balance
  ledger::Int128 pending_debit = 0;
  ledger::Int128 pending_credit = 0;
  bool balanced() const { return debit == credit && pending_debit == pending_credit; }
};
struct TrialBalance {
  std::vector<TrialBalanceRow> assets;  // ordered by asset code
  size_t accounts = 0;                  // (account, asset) pairs
  bool balanced() const;
};
Result<TrialBalance> trial_balance(const Stores& stores);
// The trial balance of rows of every account (e.g. balances_at, audit.h).
Result<TrialBalance> trial_balance_of(const std::vector<BalanceRow>& rows);

// Parked events in log order (partition, offset); at most `limit` (0 = all). `total`, if
// given, receives the number of parked events without the limit.
Result<std::vector<Reject>> list_rejects(const Stores& stores, size_t limit,
                                         size_t* total = nullptr);

// One payment's state (from the store that folded its merchant's partition furthest);
// nullopt if that merchant has no such payment.
Result<std::optional<ledger::PaymentState>> find_payment(const Stores& stores,
                                                         std::string_view merchant,
                                                         std::string_view payment_id);

// Published FX rates (fx_rates), per partition: each partition folds its own copy of every
// publication (reference data is broadcast), so copies that differ show a rate that did not
// reach every partition, or a partition not folded as far.
struct RateRow {
  uint32_t partition = 0;
  ledger::FxRate rate;
};
// Per partition and pair (in that order), the latest rate whose as-of is not after `as_of`
// (nullopt: the newest), or with `history` every such rate in as-of order. `pair` (canonical
// text) keeps one pair; empty: all.
Result<std::vector<RateRow>> list_rates(const Stores& stores, std::string_view pair,
                                        std::optional<int64_t> as_of, bool history);
// The rows of one pair as the lowest partition holding it has them, and how many partitions
// hold exactly those: fewer than the log's partitions means a publication that reached only
// some partitions, or was rejected in some.
struct PairRates {
  std::string pair;
  uint32_t partition = 0;
  std::vector<ledger::FxRate> rates;
  uint32_t agreeing = 0;
};
std::vector<PairRates> rates_by_pair(const std::vector<RateRow>& rows);

// The house's forwards (fx_house), by partition and forward id.
struct ForwardRow {
  uint32_t partition = 0;
  std::string forward_id;
  ledger::FxForward forward;
};
Result<std::vector<ForwardRow>> list_forwards(const Stores& stores);
// The house's revaluation runs, by partition, as-of and reporting currency.
struct RevaluationRow {
  uint32_t partition = 0;
  ledger::FxRevaluation run;
};
Result<std::vector<RevaluationRow>> list_revaluations(const Stores& stores);

// The latest event time folded (the highest event-time watermark of the owned partitions);
// nullopt if nothing is folded.
Result<std::optional<int64_t>> latest_event_time(const Stores& stores, const Owners& owners);

// Settlement (settlement CF, docs/settlement.md): each merchant's policies and instructions,
// by partition, merchant and currency or instruction id. `merchant` keeps one merchant;
// empty: all.
struct PolicyRow {
  uint32_t partition = 0;
  std::string merchant;
  std::string currency;
  ledger::SettlementPolicy policy;
};
struct InstructionRow {
  uint32_t partition = 0;
  std::string merchant;
  std::string instruction_id;
  ledger::SettlementInstruction instruction;
};
struct SettlementRows {
  std::vector<PolicyRow> policies;
  std::vector<InstructionRow> instructions;
};
Result<SettlementRows> list_settlement(const Stores& stores, std::string_view merchant);

// Checkout funnel per payment method and market.
struct CheckoutRow {
  std::string method;
  std::string market;
  uint64_t started = 0;    // every checkout seen
  uint64_t completed = 0;
  uint64_t abandoned = 0;  // the rest are still open
  // Abandoned share of the finished checkouts, in basis points (0..10000; 0 if none ended).
  uint64_t abandonment_bp() const {
    uint64_t ended = completed + abandoned;
    return ended == 0 ? 0 : (abandoned * 10000 + ended / 2) / ended;
  }
};
// Ordered by method, then market; plus a totals row with method "*" and market "*".
Result<std::vector<CheckoutRow>> checkout_report(const Stores& stores);

// SHA-256 (hex) over the books: balances, payment states and every entry line, in key
// order. Independent of how the fold was batched, of log offsets (so the embedded log and
// Kafka agree), and of dedupe records and rejects, so folding the same events twice,
// appending them twice or rebuilding gives the same digest.
Result<std::string> projection_digest(const Stores& stores);

// Single-store conveniences.
inline Result<std::vector<BalanceRow>> list_balances(Store& s, std::string_view prefix) {
  return list_balances(Stores{&s}, prefix);
}
inline Result<std::vector<StatementLine>> statement(Store& s, std::string_view account,
                                                    size_t limit) {
  return statement(Stores{&s}, account, limit);
}
inline Result<TrialBalance> trial_balance(Store& s) { return trial_balance(Stores{&s}); }
inline Result<std::vector<Reject>> list_rejects(Store& s, size_t limit) {
  return list_rejects(Stores{&s}, limit);
}
inline Result<std::string> projection_digest(Store& s) { return projection_digest(Stores{&s}); }

}  // namespace payledger::projections
