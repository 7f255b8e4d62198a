// payledger reconcile (docs/cli.md "Reconciliation"): a camt.053 or CSV bank statement matched
// against the ledger's posted movements on a bank account, the statement's arithmetic and the
// ledger's balances checked, the report kept under DIR/reconciliation per statement.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <tuple>

#include "ledger/amount.h"
#include "ledger/asset.h"
#include "ledger/journal.h"
#include "ledger/methods.h"
#include "settlement/bank_statement.h"
#include "settlement/reconcile.h"
#include "tools/query_stores.h"

namespace payledger::tools {
namespace {

using json = nlohmann::ordered_json;
using ledger::Int128;
using ledger::kDaySeconds;

// Net of a balance's posted lines, + = debit (money into a bank account).
Int128 posted_debit_net(const ledger::Balance& b) { return b.posted_debit - b.posted_credit; }

// Each line's index among its event's lines on the account and asset: lines of one event are
// ordered by (side, bucket, amount), so the index never depends on the order a query returns
// them in (two identical lines are interchangeable).
std::vector<uint32_t> line_indexes(const std::vector<const projections::TimedLine*>& lines) {
  std::map<std::tuple<uint32_t, uint64_t, std::string_view>, std::vector<size_t>> events;
  for (size_t i = 0; i < lines.size(); ++i) {
    const projections::TimedLine& t = *lines[i];
    events[{t.partition, t.line.offset, t.line.event_id}].push_back(i);
  }
  std::vector<uint32_t> out(lines.size(), 0);
  for (auto& [_, idx] : events) {
    std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
      const projections::EntryLine& x = lines[a]->line;
      const projections::EntryLine& y = lines[b]->line;
      return std::tie(x.side, x.bucket, x.amount_minor) < std::tie(y.side, y.bucket, y.amount_minor);
    });
    for (size_t n = 0; n < idx.size(); ++n) out[idx[n]] = static_cast<uint32_t>(n);
  }
  return out;
}

Error no_lines_in(const std::string& account, const ledger::Asset& currency,
                  const projections::AccountStatement& s) {
  if (s.assets.empty()) {
    return make_error(Code::kInvalidArgument,
                      fmt::format("ledger account {} has no posted lines (the statement is in "
                                  "{}; pick the bank account with --account)",
                                  account, currency.code()));
  }
  std::vector<std::string> held;
  for (const auto& a : s.assets) held.push_back(a.asset);
  return make_error(Code::kCurrencyMismatch,
                    fmt::format("ledger account {} has no posted lines in {} (the statement's "
                                "currency), only in {}",
                                account, currency.code(), fmt::join(held, ", ")));
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

Result<BookSide> load_book_side(const projections::Stores& stores, const std::string& account,
                                const ledger::Asset& currency, int64_t from_day, int64_t to_day,
                                int margin_days) {
  PAYLEDGER_CHECK(from_day <= to_day && margin_days >= 0, "load_book_side: bad period");
  const int64_t from_s = (from_day - margin_days) * kDaySeconds;
  const int64_t to_s = (to_day + margin_days + 1) * kDaySeconds - 1;
  auto s = projections::statement_between(stores, account, from_s, to_s,
                                          projections::PointInTime{}, /*limit=*/0);
  if (!s) return s.error();
  const projections::AssetStatement* asset = nullptr;
  for (const auto& a : s->assets) {
    if (a.asset == currency.code()) asset = &a;
  }
  if (!asset) return no_lines_in(account, currency, *s);
  std::vector<const projections::TimedLine*> lines;  // this asset's, posted or not
  for (const projections::TimedLine& t : s->lines) {
    if (t.asset == currency.code()) lines.push_back(&t);
  }
  const std::vector<uint32_t> index = line_indexes(lines);
  BookSide out;
  out.opening = out.closing = posted_debit_net(asset->opening);  // before from_day - margin
  for (size_t i = 0; i < lines.size(); ++i) {
    const projections::TimedLine& t = *lines[i];
    if (t.line.bucket != ledger::Bucket::kPosted) continue;
    const Int128& a = t.line.amount_minor;
    const Int128 signed_minor = t.line.side == ledger::Side::kDebit ? a : Int128(-a);
    const int64_t day = projections::utc_day(t.line.occurred_at_s);
    if (day < from_day) out.opening += signed_minor;
    if (day <= to_day) out.closing += signed_minor;
    out.movements.push_back(settlement::BookMovement{
        account, t.asset, currency.exponent(), signed_minor, t.line.occurred_at_s,
        t.reference.empty() ? t.line.event_id : t.reference, t.line.event_id, t.merchant,
        t.partition, t.line.offset, index[i]});
  }
  return out;
}

Result<settlement::Report> reconcile_against_books(
    const projections::Stores& stores, const settlement::BankStatement& st,
    const std::string& account, int date_tolerance_days,
    const std::map<std::string, std::string>& claimed_elsewhere) {
  auto currency = ledger::Asset::find(st.currency);
  if (!currency) return currency.error();
  if (st.opening.day > st.closing.day) {
    return make_error(Code::kMalformed,
                      fmt::format("{}: the opening date {} is after the closing date {}", st.file,
                                  settlement::day_text(st.opening.day),
                                  settlement::day_text(st.closing.day)));
  }
  auto book = load_book_side(stores, account, *currency, st.opening.day, st.closing.day,
                             date_tolerance_days);
  if (!book) return book.error();
  settlement::ReconcileOptions opt;
  opt.date_tolerance_days = date_tolerance_days;
  opt.ledger_opening = book->opening;
  opt.ledger_closing = book->closing;
  return settlement::reconcile(st, book->movements, opt, claimed_elsewhere);
}

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
  auto opened = open_query_stores(common);
  if (!opened) return fail(opened.error());
  auto claims = settlement::load_claims(common.data);
  if (!claims) return fail(claims.error());
  std::map<std::string, std::string> elsewhere;
  for (const auto& [key, c] : *claims) {
    if (c.sha256 != sha) elsewhere.emplace(key, c.statement_id);  // its own claims never block
  }
  auto report = reconcile_against_books(opened->stores, *st, account, args.date_tolerance_days,
                                        elsewhere);
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
