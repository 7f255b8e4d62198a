// A bank statement generated from the books (issue 12 item 7): the camt.053.001.02 statement
// a bank would send for one of the PSP's bank accounts over some UTC days, with a few seeded
// breaks injected, so `payledger reconcile` can be tried on demo books and its answer checked
// against what was injected. `payledger generate-statement` and the demo's closing
// reconciliation (docs/cli.md "Reconciliation").
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "events/schema/result.h"
#include "ledger/amount.h"
#include "ledger/asset.h"
#include "projections/queries.h"
#include "settlement/reconcile.h"
#include "tools/commands.h"
#include "tools/query_stores.h"

namespace payledger::tools {

// Breaks of each kind a statement may be given (each needs movements of its own).
inline constexpr uint32_t kStatementBreaksMax = 1000;

struct StatementGenOptions {
  std::string account;   // e.g. psp:bank:pix
  std::string currency;  // e.g. BRL
  // The statement's UTC days (days since 1970-01-01); nullopt: the first / last day of the
  // books' event times.
  std::optional<int64_t> from_day, to_day;
  uint64_t seed = 1;
  uint32_t breaks = 1;       // of each kind, 0..kStatementBreaksMax (0: a statement that is clean)
  std::string statement_id;  // "" = PL-CCY-YYYYMMDD-YYYYMMDD-SSEED
};

// Which movements (indexes into BookSide::movements) get which break: `dropped` are left out
// of the statement (missing_in_bank), `amount_off` shown one minor unit larger in magnitude
// (amount_mismatch), `shifted` with the value date one day later (matched within the
// tolerance); plus bank-only entries on these days: a fee each (missing_in_ledger) and a
// credit with its reversal each (a reversal pair, no break).
struct BreakPlan {
  std::vector<size_t> dropped, amount_off, shifted;
  std::vector<int64_t> fee_days, reversal_days;
};
// `breaks` of each kind, the movements picked by `seed` among those dated in [from_day,
// to_day] whose reference no other movement has (so each break reads back as exactly one
// category); kInvalidArgument if there are fewer than 3 * breaks such movements.
Result<BreakPlan> plan_breaks(const BookSide& book, int64_t from_day, int64_t to_day,
                              uint32_t breaks, uint64_t seed);

struct GeneratedStatement {
  std::string xml;  // camt.053.001.02
  std::string id, account, currency;
  int exponent = 0;
  int64_t from_day = 0, to_day = 0;
  ledger::Int128 opening = 0, closing = 0;  // OPBD (the ledger's, before from_day) and CLBD
  ledger::Int128 ledger_closing = 0;        // the ledger's balance at the end of to_day
  size_t movements = 0;                     // the ledger's movements in [from_day, to_day]
  size_t entries = 0;                       // Ntry written
  // What was injected, as a reconciliation must report it.
  std::vector<settlement::BookMovement> dropped, amount_off, shifted;
  std::vector<std::string> fee_refs;       // each a debit of fee_minor
  std::vector<std::string> reversal_refs;  // each a credit of reversal_minor and its reversal
  ledger::Int128 fee_minor = 0, reversal_minor = 0;
  // CLBD - the ledger's closing: - dropped + the amount_off deltas - fees.
  ledger::Int128 closing_difference() const;
};

// The pure core: the statement of `book` (loaded with from_day/to_day, any margin) with
// `plan`'s breaks. Entries in event-time order, bank-only entries on seeded days.
GeneratedStatement build_statement(const BookSide& book, const ledger::Asset& currency,
                                   const StatementGenOptions& options, int64_t from_day,
                                   int64_t to_day, const BreakPlan& plan);

// Loads the account's book side from `stores` and builds its statement with seeded breaks.
Result<GeneratedStatement> generate_statement(const projections::Stores& stores,
                                              const StatementGenOptions& options);

// Differences between a reconciliation of `g` and what was injected ("" each if none): other
// break kinds or counts, other movements or amounts, other within-tolerance matches or
// reversal pairs, and the balance checks (opening agrees, the statement adds up, the closing
// differs by exactly g.closing_difference()).
std::vector<std::string> differences_from_injected(const settlement::Report& report,
                                                   const GeneratedStatement& g);

// What was injected, for --json and the demo's JSON.
nlohmann::ordered_json injected_json(const GeneratedStatement& g);

// payledger generate-statement (docs/cli.md).
struct GenerateStatementArgs {
  std::string account, currency;
  std::string from, to;  // YYYY-MM-DD ("" = the books' first / last day)
  uint64_t seed = 1;
  uint32_t breaks = 1;
  std::string out;  // -o FILE (required)
};
int cmd_generate_statement(const Common& common, const GenerateStatementArgs& args);

// The demo's closing reconciliation: a statement of the busiest psp:bank:* account and
// currency (most lines) over the books' days written to DIR/statements/, reconciled (not
// stored). `ok`: the breaks found are exactly the injected ones.
struct DemoReconciliation {
  std::string text;
  nlohmann::ordered_json json;
  bool ok = true;
};
Result<DemoReconciliation> demo_reconciliation(const Common& common, uint64_t seed);

}  // namespace payledger::tools
