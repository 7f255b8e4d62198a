// payledger reconcile (docs/cli.md "Reconciliation"): a camt.053 or CSV bank statement matched
// against the ledger's posted movements on a bank account, the statement's arithmetic and the
// ledger's balances checked, the report kept under DIR/reconciliation per statement.
#include <fmt/format.h>

#include <iostream>
#include <map>
#include <set>

#include "ledger/amount.h"
#include "ledger/asset.h"
#include "ledger/journal.h"
#include "settlement/bank_statement.h"
#include "settlement/reconcile.h"
#include "tools/query_stores.h"

namespace payledger::tools {
namespace {

using json = nlohmann::ordered_json;
using ledger::Int128;
using settlement::BookMovement;

constexpr int64_t kDaySeconds = 86400;

// The movements of `account` in `currency`: each posted line of its statement, signed by side
// (debit = money into the bank account), referenced by its event id. Kept to this one function:
// a richer query (the payment id as the reference) replaces its body later.
Result<std::vector<BookMovement>> load_movements(const projections::Stores& stores,
                                                 const std::string& account,
                                                 const ledger::Asset& currency) {
  auto lines = projections::statement(stores, account, 0);
  if (!lines) return lines.error();
  std::vector<BookMovement> out;
  std::set<std::string> other_assets;
  for (const projections::StatementLine& s : *lines) {
    if (s.asset != currency.code()) {
      other_assets.insert(s.asset);
      continue;
    }
    if (s.line.bucket != ledger::Bucket::kPosted) continue;
    const Int128& a = s.line.amount_minor;
    out.push_back(BookMovement{
        account, s.asset, currency.exponent(), s.line.side == ledger::Side::kDebit ? a : Int128(-a),
        s.line.occurred_at_s, s.line.event_id, s.line.event_id, "", s.partition, s.line.offset});
  }
  if (out.empty()) {
    if (other_assets.empty()) {
      return make_error(Code::kInvalidArgument,
                        fmt::format("ledger account {} has no posted lines (the statement is in "
                                    "{}; pick the bank account with --account)",
                                    account, currency.code()));
    }
    return make_error(Code::kCurrencyMismatch,
                      fmt::format("ledger account {} has no posted lines in {} (the statement's "
                                  "currency), only in {}",
                                  account, currency.code(), fmt::join(other_assets, ", ")));
  }
  return out;
}

int64_t utc_day(int64_t t_s) {
  return t_s >= 0 ? t_s / kDaySeconds : -((-t_s + kDaySeconds - 1) / kDaySeconds);
}

// The ledger's balance before the opening date and at the end of the closing date.
void ledger_balances(const std::vector<BookMovement>& mv, const settlement::BankStatement& st,
                     settlement::ReconcileOptions* opt) {
  Int128 opening = 0, closing = 0;
  for (const BookMovement& m : mv) {
    int64_t day = utc_day(m.occurred_at_s);
    if (day < st.opening.day) opening += m.amount;
    if (day <= st.closing.day) closing += m.amount;
  }
  opt->ledger_opening = opening;
  opt->ledger_closing = closing;
}

std::string str(const json& j) { return j.is_string() ? j.get<std::string>() : j.dump(); }

std::string break_line(const json& b) {
  std::string s = fmt::format("{:<18}", str(b["kind"]));
  if (const json& e = b["entry"]; e.is_object()) {
    s += fmt::format(
        " line {} {} {} ref {}", e["line"].get<int>(), str(e["value_date"]), str(e["amount"]),
        e["reference"].get<std::string>().empty() ? std::string("-") : str(e["reference"]));
  }
  if (const json& m = b["movement"]; m.is_object()) {
    s += fmt::format(" | ledger {} {} {} event {}", str(m["key"]), str(m["occurred_at"]),
                     str(m["amount"]), str(m["event_id"]));
  }
  return s + ": " + str(b["detail"]);
}

// The human report, from the report's JSON (a stored report prints the same way).
void print_report(const json& r) {
  const json& st = r["statement"];
  fmt::print("statement {} ({}, {}) account {} {}, {} .. {}\n", str(st["id"]), str(st["format"]),
             str(st["file"]), str(st["account"]).empty() ? "-" : str(st["account"]),
             str(st["currency"]), str(st["opening"]["date"]), str(st["closing"]["date"]));
  fmt::print("ledger account {}, {} entries, date tolerance {} days, sha256 {}\n\n",
             str(st["ledger_account"]), st["entries"].dump(), r["date_tolerance_days"].dump(),
             str(st["sha256"]));
  fmt::print("{:<26} {:>6} {:>20}\n", "category", "count", "amount");
  for (const auto& [name, c] : r["summary"].items()) {
    fmt::print("{:<26} {:>6} {:>20}\n", name, c["count"].dump(), str(c["amount"]));
  }
  const json& t = r["checks"]["statement_totals"];
  fmt::print(
      "\n{:<26} {:<9} opening {} + credits {} - debits {} = {}, stated closing {}, "
      "difference {}\n",
      "statement totals", t["ok"].get<bool>() ? "ok" : "DO NOT ADD UP", str(t["opening"]),
      str(t["credits"]), str(t["debits"]), str(t["computed_closing"]), str(t["stated_closing"]),
      str(t["difference"]));
  for (const char* name : {"opening_balance", "closing_balance"}) {
    const json& b = r["checks"][name];
    fmt::print("{:<26} {:<9} statement {}, ledger {}, difference {}\n",
               std::string(name) == "opening_balance" ? "opening balance" : "closing balance",
               b["ok"].get<bool>() ? "ok" : "DISAGREES", str(b["statement"]), str(b["ledger"]),
               str(b["difference"]));
  }
  for (const json& p : r["reversals"]) {
    fmt::print("reversal pair: line {} {} and line {} {} ref {}\n", p["original"]["line"].dump(),
               str(p["original"]["amount"]), p["reversal"]["line"].dump(),
               str(p["reversal"]["amount"]), str(p["original"]["reference"]));
  }
  fmt::print("\n{} breaks, failed checks: {}\n", r["breaks"].size(),
             r["failed_checks"].empty() ? std::string("none") : r["failed_checks"].dump());
  for (const json& b : r["breaks"]) fmt::print("{}\n", break_line(b));
}

int print(const Common& common, const json& r) {
  if (common.json) {
    std::cout << r.dump(2) << "\n";
  } else {
    print_report(r);
  }
  return settlement::report_json_clean(r) ? kExitOk : kExitFailed;
}

}  // namespace

int cmd_reconcile(const Common& common, const ReconcileArgs& args) {
  if (args.date_tolerance_days < 0 ||
      args.date_tolerance_days > settlement::kDateToleranceDaysMax) {
    return usage(fmt::format("--date-tolerance {} is outside 0..{} days", args.date_tolerance_days,
                             settlement::kDateToleranceDaysMax));
  }
  auto bytes = settlement::read_statement_bytes(args.statement);
  if (!bytes) return fail(bytes.error());
  auto st = settlement::parse_statement(*bytes, args.statement);
  if (!st) return fail(st.error());
  const std::string sha = settlement::statement_sha256(*bytes);
  auto lock = settlement::ReconcileLock::acquire(common.data);
  if (!lock) return fail(lock.error());
  auto stored = settlement::load_stored_report(common.data, sha);
  if (!stored) return fail(stored.error());
  if (*stored) {
    fmt::print(stderr,
               "payledger: statement {} was reconciled before (sha256 {}): the stored report, "
               "unchanged\n",
               st->id, sha);
    return print(common, **stored);
  }
  std::string account = args.account.empty() ? st->account : args.account;
  if (account.empty()) {
    return usage(fmt::format("{}: the statement names no account; pass --account", args.statement));
  }
  auto currency = ledger::Asset::find(st->currency);
  if (!currency) return fail(currency.error());
  auto opened = open_query_stores(common);
  if (!opened) return fail(opened.error());
  auto movements = load_movements(opened->stores, account, *currency);
  if (!movements) return fail(movements.error());
  settlement::ReconcileOptions opt;
  opt.date_tolerance_days = args.date_tolerance_days;
  ledger_balances(*movements, *st, &opt);
  auto claims = settlement::load_claims(common.data);
  if (!claims) return fail(claims.error());
  std::map<std::string, std::string> elsewhere;
  for (const auto& [key, c] : *claims) {
    if (c.sha256 != sha) elsewhere.emplace(key, c.statement_id);  // its own claims never block
  }
  auto report = settlement::reconcile(*st, *movements, opt, elsewhere);
  if (!report) return fail(report.error());
  json j = settlement::report_json(*report);
  j["statement"]["ledger_account"] = account;
  j["statement"]["sha256"] = sha;
  if (!opened->complete) {
    // --allow-partial over books missing partitions: a report of part of the ledger is shown,
    // never kept (it would be printed unchanged ever after) and claims nothing.
    j["statement"]["stored"] = false;
    fmt::print(stderr, "payledger: the books are incomplete: this report is not stored\n");
    return print(common, j);
  }
  if (Status s = settlement::store_report(common.data, sha, *report, j); !s) return fail(s.error());
  return print(common, j);
}

}  // namespace payledger::tools
