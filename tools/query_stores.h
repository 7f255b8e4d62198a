// Query commands outside commands.cc (tools/exposure_command.cc) open their stores through
// this, with the same checks as every query: one log, partitions missing or behind their log
// warned about on stderr and refused unless --allow-partial.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "events/event_log.h"
#include "events/schema/result.h"
#include "events/embedded_log.h"
#include "projections/audit.h"
#include "projections/fold.h"
#include "projections/queries.h"
#include "projections/store.h"
#include "settlement/reconcile.h"
#include "tools/commands.h"

namespace payledger::tools {

// Prints the error (reason and code) on stderr: exit 1. / Prints a usage error: exit 2.
int fail(const Error& e);
int usage(std::string_view message);
// A moment given as RFC 3339 or a date (YYYY-MM-DD: its 00:00:00Z, or with `end_of_day` its
// 23:59:59Z: "as of the 31st" means its close); nullopt if neither.
std::optional<int64_t> parse_moment(const std::string& text, bool end_of_day = false);

struct QueryStores {
  std::vector<std::string> dirs;
  std::vector<std::unique_ptr<projections::Store>> owned;
  projections::Stores stores;
  bool complete = true;
  nlohmann::ordered_json gaps = nlohmann::ordered_json::array();  // as the other queries' JSON
};
Result<QueryStores> open_query_stores(const Common& common);

// Reads an --as-of option into *out (nullopt when `text` is empty; a date means its close,
// 23:59:59Z). Returns the usage error's message when it is neither RFC 3339 nor a date.
// `option` names it in the message.
std::optional<std::string> read_as_of(const std::string& text, std::optional<int64_t>* out,
                                      std::string_view option = "--as-of");

// One CSV record (RFC 4180: fields with a comma, quote or line break quoted), with "\n".
std::string csv_record(const std::vector<std::string>& fields);

// The point in time of --as-of / --at-offset (tools/audit_command.cc): kInvalidArgument
// (exit 2 by the caller) for a malformed value, kInvalidArgument naming the books' first
// event for an as-of before it, and for an offset beyond what the stores folded.
Result<projections::PointInTime> read_point(const projections::Stores& stores,
                                            const PointArgs& args);
// read_point's error: a malformed value is a usage error (exit 2), the rest exit 1.
int fail_point(const Error& e);

// DIR/log opened for reading (every record's CRC checked), DIR/projections, and the fold lock
// (commands.cc) for the commands in audit_command.cc.
Result<std::unique_ptr<events::EmbeddedLog>> open_embedded_log(const std::string& data);
std::string projections_path(const std::string& data);
Status lock_for_fold(const std::string& data);

// Audit (tools/audit_command.cc, docs/audit.md).
struct VerifyArgs {
  Common common;
  uint64_t batch_events = 50000;
};
// Refolds the log into a scratch store and compares; exit 1 naming the first difference.
int cmd_verify(const VerifyArgs& args);
// A RocksDB checkpoint of DIR's projections with the positions and chain heads it covers.
int cmd_checkpoint(const Common& common, const std::string& out_dir);
// Replaces DIR's projections with a checkpoint, then folds the log's tail.
int cmd_restore(const FoldArgs& args, const std::string& checkpoint_dir, bool verify);
// Accounts and assets with their number of lines.
int cmd_accounts(const Common& common, const std::string& prefix);

// Appends `records` to the command's log (the embedded log in DIR/log, or the Kafka topic)
// and, for the embedded log, folds everything up to its end into DIR's projections: the
// fold's stats. For Kafka: nullopt (the running fold books them).
// With `fold_kafka` the Kafka topic is folded too, as a member of log.group until idle (the
// demo's own group; never a running fold service's).
Result<std::optional<projections::FoldStats>> append_and_fold(
    const Common& common, const LogArgs& log, const std::vector<events::AppendRecord>& records,
    bool fold_kafka = false);

// The demo's closing settlement run (at the books' latest event) and rails comparison.
struct DemoSettlement {
  std::string text;
  nlohmann::ordered_json json;
  bool ok = true;  // every merchant decided, every appended event applied
};
Result<DemoSettlement> demo_settlement(const Common& common, const LogArgs& log);

struct ExposureArgs {
  std::string horizon = "30d";  // Nd, N in 1..365
  std::string as_of;            // RFC 3339 ("" = the latest event time in the books)
  std::string plot;             // FILE.svg or FILE.png ("" = no chart)
};
// Money not yet settled per currency and value-date week, hedged, and a forecast of money in.
int cmd_exposure(const Common& common, const ExposureArgs& args);

// Settlement (tools/settle_command.cc, docs/settlement.md).
struct SettleArgs {
  Common common;
  LogArgs log;
  std::string as_of;     // RFC 3339, or YYYY-MM-DD = its close (required)
  std::string merchant;  // only this merchant ("" = every merchant with a policy)
  bool dry_run = false;  // decide and print, append nothing
};
// Decides what each merchant with a policy is paid now, appends it and folds it (embedded).
int cmd_settle(const SettleArgs& args);
struct SettlementsArgs {
  std::string merchant;  // "" = all
  std::string status;    // instructed, sent, transferred, confirmed, returned, open ("" = all)
  std::string as_of;     // the moment ageing is measured at ("" = the latest event time)
};
struct SettleReportArgs {
  bool compare_rails = false;  // the one report so far (required)
  std::string from, to;        // the period [from, to) ("" = the whole UTC days of the history)
  std::string merchant;        // only this merchant, and per-merchant rows
  std::string plot;            // FILE.svg or FILE.png ("" = no chart)
};
// Working capital in transit: the same payable history under the batch and tokenised rails.
int cmd_settle_report(const Common& common, const SettleReportArgs& args);
// Settlement instructions with their status and ageing.
int cmd_settlements(const Common& common, const SettlementsArgs& args);
// Deposit-token wallets per holder and the supply against the deposits set aside.
int cmd_wallets(const Common& common, const std::string& merchant);

// Bank-statement reconciliation (tools/reconcile_command.cc, docs/cli.md "Reconciliation").
struct ReconcileArgs {
  std::string statement;         // camt.053 XML or CSV statement file (required)
  std::string account;           // ledger account ("" = the statement's own account id)
  int date_tolerance_days = 2;   // tolerance pass: |value date - movement date| <= this
};
// Matches the statement to the account's posted movements; the report is kept under
// DIR/reconciliation. Exit 0 no breaks, 1 breaks or a failed check (or bad input).
int cmd_reconcile(const Common& common, const ReconcileArgs& args);

// Plain-text accounting export (tools/export_command.cc, docs/cli.md "Export to hledger /
// beancount").
struct ExportArgs {
  std::string format;  // hledger | beancount (required)
  std::string as_of;   // RFC 3339 or YYYY-MM-DD (its close); "" = every applied event
  std::string out;     // FILE (written to FILE.tmp, then renamed); "" or "-" = stdout
};
// The journal of applied events, one transaction per entry, as an hledger or beancount
// journal whose balances equal `balance` (pending lines on a parallel account tree).
int cmd_export(const Common& common, const ExportArgs& args);

// The ledger's side of a statement of `account` in `currency` for the UTC days
// [from_day, to_day]: its posted lines dated within [from_day - margin_days, to_day +
// margin_days] from the journal, in event-time order (reference: the payment id, else the
// instruction, payout or business id, else the event id), and its posted balance before
// from_day and at the end of to_day (+ = money in: the debit side of a bank account).
struct BookSide {
  std::vector<settlement::BookMovement> movements;
  ledger::Int128 opening = 0, closing = 0;
};
// kInvalidArgument if the account holds nothing, kCurrencyMismatch (naming the assets it
// holds) if nothing in `currency`.
Result<BookSide> load_book_side(const projections::Stores& stores, const std::string& account,
                                const ledger::Asset& currency, int64_t from_day, int64_t to_day,
                                int margin_days);

// `statement` matched against `account`'s book side (the ledger's balances checked too),
// movements in `claimed_elsewhere` never matched; nothing stored. What `reconcile` and the
// demo both run.
Result<settlement::Report> reconcile_against_books(
    const projections::Stores& stores, const settlement::BankStatement& statement,
    const std::string& account, int date_tolerance_days,
    const std::map<std::string, std::string>& claimed_elsewhere);

}  // namespace payledger::tools
