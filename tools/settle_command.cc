// payledger settle / settlements / wallets (docs/settlement.md): the settlement run that
// decides and appends each merchant's payout, the instructions with their status and ageing,
// and the deposit-token wallets with the supply against the deposits set aside.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <tuple>

#include "events/codec.h"
#include "ledger/amount.h"
#include "ledger/asset.h"
#include "ledger/local_time.h"
#include "ledger/settlement.h"
#include "settlement/settle.h"
#include "settlement/transit.h"
#include "settlement/transit_flows.h"
#include "tools/query_stores.h"

namespace payledger::tools {
namespace {

namespace v1 = payledger::v1;
using json = nlohmann::ordered_json;
using ledger::Int128;

std::string money(const Int128& minor, std::string_view asset) {
  auto a = ledger::Asset::find(asset);
  return ledger::format_scaled(minor, a ? a->exponent() : 0);
}

// "3d 04h", "5h 07m", "12m": how long something has waited.
std::string age_text(int64_t seconds) {
  if (seconds < 0) return "-";
  if (seconds >= 86400) return fmt::format("{}d {:02}h", seconds / 86400, seconds % 86400 / 3600);
  if (seconds >= 3600) return fmt::format("{}h {:02}m", seconds / 3600, seconds % 3600 / 60);
  return fmt::format("{}m", seconds / 60);
}

json decision_json(const settlement::Decision& d) {
  json j{{"merchant", d.merchant},
         {"currency", d.currency},
         {"rail", ledger::rail_name(d.rail)},
         {"outcome", settlement::outcome_name(d.outcome)},
         {"instruction_id", d.instruction_id.empty() ? json(nullptr) : json(d.instruction_id)},
         {"available", money(d.available, d.currency)},
         {"released", money(d.released, d.currency)},
         {"amount", money(d.amount, d.currency)},
         {"reserve", money(d.reserve, d.currency)},
         {"value_date", d.value_date.empty() ? json(nullptr) : json(d.value_date)}};
  if (!d.reason.empty()) j["reason"] = d.reason;
  return j;
}

void print_decisions(const std::vector<settlement::Decision>& decisions) {
  fmt::print("{:<16} {:<4} {:<9} {:<18} {:>16} {:>14} {:>14} {:<10} {}\n", "merchant", "ccy",
             "rail", "outcome", "amount", "reserve", "released", "value_date", "instruction");
  for (const auto& d : decisions) {
    fmt::print("{:<16} {:<4} {:<9} {:<18} {:>16} {:>14} {:>14} {:<10} {}\n", d.merchant, d.currency,
               ledger::rail_name(d.rail), settlement::outcome_name(d.outcome),
               money(d.amount, d.currency), money(d.reserve, d.currency),
               money(d.released, d.currency), d.value_date.empty() ? "-" : d.value_date,
               d.instruction_id.empty() ? "-" : d.instruction_id);
    if (!d.reason.empty()) fmt::print("  failed: {}\n", d.reason);
  }
}

// Totals instructed per currency and rail, for the summary line.
std::string instructed_totals(const std::vector<settlement::Decision>& decisions) {
  std::map<std::pair<std::string, std::string>, Int128> totals;
  for (const auto& d : decisions) {
    if (d.outcome != settlement::Outcome::kInstructed) continue;
    totals[{d.currency, std::string(ledger::rail_name(d.rail))}] += d.amount;
  }
  std::string out;
  for (const auto& [key, total] : totals) {
    out += fmt::format("{}{} {} {}", out.empty() ? "" : ", ", key.first, money(total, key.first),
                       key.second);
  }
  return out.empty() ? "nothing" : out;
}

// Appends the run's start (settlement_run_started at `as_of`, every partition; one per as-of)
// and folds it (embedded log, or Kafka with `fold_kafka`).
Status start_run(const Common& common, const LogArgs& log, int64_t as_of, bool fold_kafka = false) {
  v1::Envelope e;
  e.set_event_id(fmt::format("settle-run.{}", as_of));
  e.set_schema_version(events::kSchemaVersion);
  e.mutable_occurred_at()->set_seconds(as_of);
  e.mutable_settlement_run_started()->mutable_as_of()->set_seconds(as_of);
  auto done = append_and_fold(common, log, {events::event_record(e)}, fold_kafka);
  if (!done) return done.error();
  if (*done && (*done)->rejected > 0) {
    return make_error(Code::kClockSkew,
                      fmt::format("the fold rejected the settlement run's start at {} in {} "
                                  "partition(s), so the books cannot be brought to that time "
                                  "(an as-of more than 366 days after a partition's latest "
                                  "event is clock_skew): see `payledger rejects --data {}`",
                                  ledger::utc_rfc3339(as_of), (*done)->rejected, common.data));
  }
  return Status::Ok();
}

}  // namespace

int cmd_settle(const SettleArgs& args) {
  if (args.common.data.empty()) return usage("settle needs --data DIR");
  if (args.as_of.size() == 10) {  // YYYY-MM-DD
    // A date's close (23:59:59Z) is already the next day in London in summer or in Tokyo:
    // a cut-off is local, so a run takes a moment.
    return usage(
        fmt::format("--as-of '{}': settle takes a moment, not a date (RFC 3339, e.g. "
                    "{}T17:45:00+01:00): cut-offs are local times",
                    args.as_of, args.as_of));
  }
  std::optional<int64_t> as_of;
  if (auto bad = read_as_of(args.as_of, &as_of)) return usage(*bad);
  if (!as_of) return usage("--as-of is required: the moment of the settlement run");
  settlement::Plan plan;
  {
    auto q = open_query_stores(args.common);
    if (!q) return fail(q.error());
    if (!q->complete) {
      // Deciding payouts from short books would pay the wrong amounts: never.
      return fail(make_error(Code::kIncomplete,
                             fmt::format("the books in {} are behind their log: run `payledger "
                                         "fold --data {}` first, then settle",
                                         args.common.data, args.common.data)));
    }
    auto planned = settlement::plan_settlement(q->stores, *as_of, args.merchant);
    if (!planned) return fail(planned.error());
    plan = std::move(planned).value();
  }
  if (!args.dry_run && !plan.decisions.empty()) {
    // Bring every partition's event time to the as-of first, so the fold books the deadlines
    // due by then (expiries) and the run decides from those books (embedded log; on Kafka
    // the running fold books them, and a decision it rejects is decided again by a re-run).
    if (Status s = start_run(args.common, args.log, *as_of); !s) return fail(s.error());
    if (!args.log.kafka()) {
      auto q = open_query_stores(args.common);
      if (!q) return fail(q.error());
      auto planned = settlement::plan_settlement(q->stores, *as_of, args.merchant);
      if (!planned) return fail(planned.error());
      plan = std::move(planned).value();
    }
  }
  if (plan.decisions.empty()) {
    return fail(make_error(
        Code::kNoSettlementPolicy,
        args.merchant.empty()
            ? fmt::format("no merchant in {} has a settlement policy: nothing to settle (append "
                          "merchant_settlement_policy_set events first)",
                          args.common.data)
            : fmt::format("merchant {} has no settlement policy in {}: nothing to settle",
                          args.merchant, args.common.data)));
  }
  std::optional<projections::FoldStats> folded;
  if (!plan.events.empty() && !args.dry_run) {
    std::vector<events::AppendRecord> records;
    records.reserve(plan.events.size());
    for (const auto& e : plan.events) records.push_back(events::event_record(e));
    auto done = append_and_fold(args.common, args.log, records);
    if (!done) return fail(done.error());
    folded = *done;
  }
  const uint64_t rejected = folded ? folded->rejected : 0;
  size_t instructed = 0;
  for (const auto& d : plan.decisions) instructed += d.outcome == settlement::Outcome::kInstructed;
  if (args.common.json) {
    json out{{"as_of", ledger::utc_rfc3339(*as_of)},
             {"dry_run", args.dry_run},
             {"instructed", instructed},
             {"failed", plan.failed},
             {"events", args.dry_run ? 0 : plan.events.size()}};
    if (folded) {
      out["folded"] = json{{"records", folded->records},
                           {"applied", folded->applied},
                           {"rejected", folded->rejected},
                           {"duplicates", folded->duplicates}};
    }
    json rows = json::array();
    for (const auto& d : plan.decisions) rows.push_back(decision_json(d));
    out["decisions"] = std::move(rows);
    fmt::print("{}\n", out.dump(2));
  } else {
    fmt::print("settle as of {}: {} merchant-currencies, {} instructed ({}){}\n",
               ledger::utc_rfc3339(*as_of), plan.decisions.size(), instructed,
               instructed_totals(plan.decisions),
               args.dry_run ? " [dry run: nothing appended]" : "");
    print_decisions(plan.decisions);
    if (folded) {
      fmt::print("appended {} events; folded {} records: {} applied, {} rejected\n",
                 plan.events.size(), folded->records, folded->applied, folded->rejected);
    } else if (!plan.events.empty() && !args.dry_run) {
      fmt::print(
          "appended {} events to Kafka topic {}; the running fold books them (or run "
          "`payledger fold --log kafka --until-idle`)\n",
          plan.events.size(), args.log.topic);
    }
  }
  if (plan.failed > 0) {
    fmt::print(stderr,
               "payledger: settle: {} merchant-currencies could not be decided (see "
               "\"failed\" above); nothing was instructed for them (reserves due were "
               "still released)\n",
               plan.failed);
  }
  if (rejected > 0) {
    fmt::print(stderr,
               "payledger: settle: the fold rejected {} of the events it appended: see "
               "`payledger rejects --data {}`\n",
               rejected, args.common.data);
  }
  return plan.failed > 0 || rejected > 0 ? kExitFailed : kExitOk;
}

int cmd_settlements(const Common& common, const SettlementsArgs& args) {
  static const std::vector<std::string> kStatuses = {"instructed", "sent",     "transferred",
                                                     "confirmed",  "returned", "open"};
  if (!args.status.empty() &&
      std::find(kStatuses.begin(), kStatuses.end(), args.status) == kStatuses.end()) {
    return usage(
        fmt::format("--status '{}': one of instructed, sent, transferred, confirmed, "
                    "returned, open",
                    args.status));
  }
  std::optional<int64_t> as_of;
  if (auto bad = read_as_of(args.as_of, &as_of)) return usage(*bad);
  auto q = open_query_stores(common);
  if (!q) return fail(q.error());
  auto rows = projections::list_settlement(q->stores, args.merchant);
  if (!rows) return fail(rows.error());
  if (!args.merchant.empty() && rows->policies.empty() && rows->instructions.empty()) {
    return fail(make_error(Code::kInvalidArgument,
                           fmt::format("merchant {} has no settlement policy or instruction in {}",
                                       args.merchant, common.data)));
  }
  if (!as_of) {
    auto owners = projections::partition_owners(q->stores);
    if (!owners) return fail(owners.error());
    auto latest = projections::latest_event_time(q->stores, *owners);
    if (!latest) return fail(latest.error());
    as_of = latest->value_or(0);
  }
  auto is_open = [](ledger::InstructionStatus s) {
    return s == ledger::InstructionStatus::kInstructed || s == ledger::InstructionStatus::kSent ||
           s == ledger::InstructionStatus::kTransferred;
  };
  std::vector<const projections::InstructionRow*> shown;
  for (const auto& row : rows->instructions) {
    const auto status = row.instruction.status;
    if (!args.status.empty() &&
        (args.status == "open" ? !is_open(status)
                               : ledger::instruction_status_name(status) != args.status)) {
      continue;
    }
    shown.push_back(&row);
  }
  std::sort(shown.begin(), shown.end(), [](const auto* a, const auto* b) {
    return std::tie(a->instruction.instructed_s, a->merchant, a->instruction_id) <
           std::tie(b->instruction.instructed_s, b->merchant, b->instruction_id);
  });
  // Totals per status and currency.
  std::map<std::pair<std::string, std::string>, std::pair<uint64_t, Int128>> totals;
  for (const auto* row : shown) {
    auto& t = totals[{std::string(ledger::instruction_status_name(row->instruction.status)),
                      row->instruction.currency}];
    ++t.first;
    t.second += row->instruction.amount;
  }
  // Age: how long an open instruction has waited at the as-of; a finished one, how long it
  // took (instructed to confirmed or returned).
  auto age = [&](const ledger::SettlementInstruction& in) {
    return is_open(in.status) ? *as_of - in.instructed_s : in.done_s - in.instructed_s;
  };
  if (common.json) {
    json out{{"as_of", ledger::utc_rfc3339(*as_of)}};
    out["complete"] = q->complete;
    if (!q->complete) out["gaps"] = q->gaps;
    json list = json::array();
    for (const auto* row : shown) {
      const auto& in = row->instruction;
      json j{{"merchant", row->merchant},
             {"instruction_id", row->instruction_id},
             {"rail", ledger::rail_name(in.rail)},
             {"currency", in.currency},
             {"amount", money(in.amount, in.currency)},
             {"reserve", money(in.reserve, in.currency)},
             {"reserve_released", in.reserve != 0 ? json(in.reserve_released) : json(nullptr)},
             {"status", ledger::instruction_status_name(in.status)},
             {"instructed_at", ledger::utc_rfc3339(in.instructed_s)},
             {"value_date", ledger::utc_rfc3339(in.value_date_s).substr(0, 10)},
             {"sent_at", in.sent_s != 0 ? json(ledger::utc_rfc3339(in.sent_s)) : json(nullptr)},
             {"done_at", in.done_s != 0 ? json(ledger::utc_rfc3339(in.done_s)) : json(nullptr)},
             {"age_seconds", age(in)}};
      if (!in.return_reason.empty()) j["return_reason"] = in.return_reason;
      list.push_back(std::move(j));
    }
    out["instructions"] = std::move(list);
    json t = json::array();
    for (const auto& [key, v] : totals) {
      t.push_back(json{{"status", key.first},
                       {"currency", key.second},
                       {"count", v.first},
                       {"amount", money(v.second, key.second)}});
    }
    out["totals"] = std::move(t);
    fmt::print("{}\n", out.dump(2));
    return kExitOk;
  }
  fmt::print("settlement instructions as of {}{}: {}\n", ledger::utc_rfc3339(*as_of),
             args.status.empty() ? "" : fmt::format(" (status {})", args.status), shown.size());
  fmt::print("{:<16} {:<28} {:<9} {:<4} {:>14} {:<11} {:<20} {:<10} {:>8}\n", "merchant",
             "instruction", "rail", "ccy", "amount", "status", "instructed_at", "value_date",
             "age");
  for (const auto* row : shown) {
    const auto& in = row->instruction;
    fmt::print("{:<16} {:<28} {:<9} {:<4} {:>14} {:<11} {:<20} {:<10} {:>8}{}\n", row->merchant,
               row->instruction_id, ledger::rail_name(in.rail), in.currency,
               money(in.amount, in.currency), ledger::instruction_status_name(in.status),
               ledger::utc_rfc3339(in.instructed_s),
               ledger::utc_rfc3339(in.value_date_s).substr(0, 10), age_text(age(in)),
               in.return_reason.empty() ? "" : fmt::format("  returned: {}", in.return_reason));
  }
  for (const auto& [key, v] : totals) {
    fmt::print("total {:<11} {} {:>16} ({} instructions)\n", key.first, key.second,
               money(v.second, key.second), v.first);
  }
  return kExitOk;
}

int cmd_wallets(const Common& common, const std::string& merchant) {
  auto q = open_query_stores(common);
  if (!q) return fail(q.error());
  auto psp = projections::list_balances(q->stores, "psp:token:");
  if (!psp) return fail(psp.error());
  auto merchants = projections::list_balances(
      q->stores,
      merchant.empty() ? std::string("merchant:") : fmt::format("merchant:{}:", merchant));
  if (!merchants) return fail(merchants.error());
  struct Wallet {
    std::string holder;
    std::string token;
    Int128 held = 0;
  };
  std::vector<Wallet> wallets;
  // Per currency: the supply (psp:token:issued, in the token) and the backing
  // (psp:token:backing, in the currency).
  std::map<std::string, std::pair<Int128, Int128>> supply;
  for (const auto& b : *psp) {
    const Int128 debit = b.balance.posted_net(ledger::Side::kDebit);
    if (b.account == "psp:token:wallet" && merchant.empty()) {
      wallets.push_back({"psp", b.asset, debit});
    } else if (b.account == "psp:token:issued") {
      supply[ledger::token_currency(b.asset)].first = -debit;
    } else if (b.account == "psp:token:backing") {
      supply[b.asset].second = debit;
    }
  }
  for (const auto& b : *merchants) {
    if (!b.account.ends_with(":token-wallet")) continue;
    wallets.push_back({b.account.substr(9, b.account.size() - 9 - 13), b.asset,
                       b.balance.posted_net(ledger::Side::kDebit)});
  }
  if (!merchant.empty() && wallets.empty()) {
    return fail(
        make_error(Code::kInvalidArgument,
                   fmt::format("merchant {} has no token wallet in {}", merchant, common.data)));
  }
  bool intact = true;
  for (const auto& [currency, s] : supply) intact = intact && s.first == s.second;
  if (common.json) {
    json out;
    out["complete"] = q->complete;
    if (!q->complete) out["gaps"] = q->gaps;
    json list = json::array();
    for (const auto& w : wallets) {
      list.push_back(
          json{{"holder", w.holder}, {"token", w.token}, {"held", money(w.held, w.token)}});
    }
    out["wallets"] = std::move(list);
    json s = json::array();
    for (const auto& [currency, v] : supply) {
      s.push_back(json{{"currency", currency},
                       {"token", ledger::deposit_token(currency)},
                       {"in_circulation", money(v.first, currency)},
                       {"deposits_set_aside", money(v.second, currency)},
                       {"equal", v.first == v.second}});
    }
    out["supply"] = std::move(s);
    fmt::print("{}\n", out.dump(2));
  } else {
    fmt::print("{:<20} {:<10} {:>18}\n", "holder", "token", "held");
    for (const auto& w : wallets) {
      fmt::print("{:<20} {:<10} {:>18}\n", w.holder, w.token, money(w.held, w.token));
    }
    fmt::print("\n{:<8} {:<10} {:>18} {:>20}\n", "currency", "token", "in circulation",
               "deposits set aside");
    for (const auto& [currency, v] : supply) {
      fmt::print("{:<8} {:<10} {:>18} {:>20}{}\n", currency, ledger::deposit_token(currency),
                 money(v.first, currency), money(v.second, currency),
                 v.first == v.second ? "" : "  MISMATCH");
    }
  }
  if (!intact) {
    fmt::print(stderr,
               "payledger: wallets: tokens in circulation differ from the deposits set "
               "aside for them (see MISMATCH): the books are damaged; run `payledger "
               "rebuild` and report it\n");
    return kExitFailed;
  }
  return kExitOk;
}

int cmd_settle_report(const Common& common, const SettleReportArgs& args) {
  if (!args.compare_rails) {
    return usage(
        "settle report: give --compare-rails (working capital in transit, batch vs "
        "tokenised: the one report so far)");
  }
  if (!args.plot.empty() && !settlement::transit_chart_is_png(args.plot)) {
    return usage(fmt::format("--plot '{}': the chart is FILE.svg or FILE.png", args.plot));
  }
  // The period's ends: a date is its start, 00:00Z ([from, to) takes whole days).
  std::optional<int64_t> from, to;
  for (auto [text, out, name] :
       {std::tuple{&args.from, &from, "--from"}, std::tuple{&args.to, &to, "--to"}}) {
    if (text->empty()) continue;
    *out = parse_moment(*text, /*end_of_day=*/false);
    if (!*out) {
      return usage(
          fmt::format("{} '{}' is not an RFC 3339 time or a date (its 00:00:00Z)", name, *text));
    }
  }
  auto q = open_query_stores(common);
  if (!q) return fail(q.error());
  settlement::PayableFlowsRead read;
  auto flows = settlement::payable_flows(q->stores, args.merchant, &read);
  if (!flows) return fail(flows.error());
  auto rows = projections::list_settlement(q->stores, args.merchant);
  if (!rows) return fail(rows.error());
  settlement::SettlementPolicies policies;
  for (const auto& p : rows->policies) policies[{p.merchant, p.currency}] = p.policy;
  if (policies.empty()) {
    return fail(make_error(Code::kNoSettlementPolicy,
                           args.merchant.empty()
                               ? fmt::format("no merchant in {} has a settlement policy: no rail "
                                             "to compare",
                                             common.data)
                               : fmt::format("merchant {} has no settlement policy in {}",
                                             args.merchant, common.data)));
  }
  auto period = settlement::default_period(*flows);
  if (!period && (!from || !to)) {
    return fail(make_error(Code::kInvalidArgument,
                           fmt::format("no payable history in {} to replay", common.data)));
  }
  settlement::TransitOptions options;
  options.from_s = from ? *from : period->first;
  options.to_s = to ? *to : period->second;
  options.by_merchant = !args.merchant.empty();
  options.series = !args.plot.empty();
  if (options.from_s >= options.to_s) {
    return usage(fmt::format("the period [{}, {}) is empty", ledger::utc_rfc3339(options.from_s),
                             ledger::utc_rfc3339(options.to_s)));
  }
  auto report = settlement::compare_rails(*flows, policies, options);
  if (!report) return fail(report.error());
  if (report->currencies.empty()) {
    return fail(make_error(
        Code::kInvalidArgument,
        fmt::format("no payable flow of a merchant with a policy in [{}, {}): "
                    "nothing to compare",
                    ledger::utc_rfc3339(options.from_s), ledger::utc_rfc3339(options.to_s))));
  }
  if (common.json) {
    json out = settlement::transit_json(*report);
    out["flows_read"] = json{{"flows", read.events},
                             {"settlement_events_left_out", read.settlement_events},
                             {"payout_events_left_out", read.payout_events},
                             {"conversion_events_left_out", read.conversion_events},
                             {"zero_events_left_out", read.zero_events}};
    out["complete"] = q->complete;
    if (!q->complete) out["gaps"] = q->gaps;
    fmt::print("{}\n", out.dump(2));
  } else {
    fmt::print("{}", settlement::format_transit_table(*report));
    fmt::print(
        "flows read: {} ({} settlement and {} payout events left out: they are the "
        "settlement itself; {} FX conversions: money already payable)\n",
        read.events, read.settlement_events, read.payout_events, read.conversion_events);
  }
  if (!args.plot.empty()) {
    if (Status s = settlement::plot_transit(*report, args.plot); !s) return fail(s.error());
    if (!common.json) fmt::print("chart: {}\n", args.plot);
  }
  return kExitOk;
}

Result<DemoSettlement> demo_settlement(const Common& common, const LogArgs& log) {
  DemoSettlement out;
  settlement::Plan plan;
  int64_t as_of = 0;
  {
    auto q = open_query_stores(common);
    if (!q) return q.error();
    auto owners = projections::partition_owners(q->stores);
    if (!owners) return owners.error();
    auto latest = projections::latest_event_time(q->stores, *owners);
    if (!latest) return latest.error();
    if (!*latest) return out;  // nothing folded: nothing to settle
    as_of = **latest;
  }
  if (Status s = start_run(common, log, as_of, /*fold_kafka=*/true); !s) return s.error();
  {
    auto q = open_query_stores(common);
    if (!q) return q.error();
    auto planned = settlement::plan_settlement(q->stores, as_of, "");
    if (!planned) return planned.error();
    plan = std::move(planned).value();
  }
  std::optional<projections::FoldStats> folded;
  if (!plan.events.empty()) {
    std::vector<events::AppendRecord> records;
    for (const auto& e : plan.events) records.push_back(events::event_record(e));
    auto done = append_and_fold(common, log, records, /*fold_kafka=*/true);
    if (!done) return done.error();
    folded = *done;
  }
  std::map<settlement::Outcome, size_t> outcomes;
  for (const auto& d : plan.decisions) ++outcomes[d.outcome];
  const uint64_t rejected = folded ? folded->rejected : 0;
  out.ok = plan.failed == 0 && rejected == 0;
  json outcome_json = json::object();
  std::string outcome_text;
  for (const auto& [outcome, n] : outcomes) {
    outcome_json[std::string(settlement::outcome_name(outcome))] = n;
    outcome_text += fmt::format("{}{} {}", outcome_text.empty() ? "" : ", ", n,
                                settlement::outcome_name(outcome));
  }
  out.text = fmt::format(
      "settlement run at {} (`payledger settle`): {} merchant-currencies with a policy: {}; "
      "instructed {}; {} events appended, {} rejected\n",
      ledger::utc_rfc3339(as_of), plan.decisions.size(),
      outcome_text.empty() ? "none" : outcome_text, instructed_totals(plan.decisions),
      plan.events.size(), rejected);
  out.json = json{{"as_of", ledger::utc_rfc3339(as_of)},
                  {"decisions", plan.decisions.size()},
                  {"outcomes", outcome_json},
                  {"events", plan.events.size()},
                  {"rejected", rejected},
                  {"failed", plan.failed}};
  // The rails comparison over the whole history.
  auto q = open_query_stores(common);
  if (!q) return q.error();
  auto flows = settlement::payable_flows(q->stores, "");
  if (!flows) return flows.error();
  auto rows = projections::list_settlement(q->stores, "");
  if (!rows) return rows.error();
  settlement::SettlementPolicies policies;
  for (const auto& p : rows->policies) policies[{p.merchant, p.currency}] = p.policy;
  auto period = settlement::default_period(*flows);
  if (policies.empty() || !period) return out;
  settlement::TransitOptions options;
  options.from_s = period->first;
  options.to_s = period->second;
  auto report = settlement::compare_rails(*flows, policies, options);
  if (!report) return report.error();
  out.text += fmt::format(
      "working capital in transit, {} .. {} (`payledger settle report --compare-rails`): "
      "average in transit, batch vs tokenised, and time to funds\n",
      ledger::utc_rfc3339(options.from_s), ledger::utc_rfc3339(options.to_s));
  for (const auto& c : report->currencies) {
    auto ratio = settlement::tokenised_vs_batch(c);
    out.text += fmt::format("  {:<4} {:>18} vs {:>16} ({:>6}%)   {:>6} h vs {:>5} h\n", c.currency,
                            ledger::format_scaled(c.batch.stats.average, c.exponent),
                            ledger::format_scaled(c.tokenised.stats.average, c.exponent),
                            ratio.value_or("-"), settlement::hours_1dp(c.batch.stats.ttf_average_s),
                            settlement::hours_1dp(c.tokenised.stats.ttf_average_s));
  }
  out.json["rails"] = settlement::transit_json(*report);
  return out;
}

}  // namespace payledger::tools
