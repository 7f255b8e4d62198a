// The settlement run for many merchants (issue 11 bench): N merchants (default 100,000), each
// with a settlement policy (half batch, half tokenised, a third with a 5% reserve, over the
// seven calendar currencies) and a day of activity (three card sales and a refund), folded
// once; then one `settle` run is timed as the command does it: decide from the store
// (settlement::plan_settlement), append the events to the log, fold them. Reports each step
// in ms, the instructions and the events appended. One iteration: a second run for the same
// cycle appends nothing (that is the point of the ids).
//
// PAYLEDGER_SETTLE_BENCH_MERCHANTS: merchants (default 100000).
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "events/codec.h"
#include "events/embedded_log.h"
#include "projections/fold.h"
#include "settlement/settle.h"

namespace {

using namespace payledger;
using Clock = std::chrono::steady_clock;

constexpr int64_t kDay = 1788220800;  // 2026-09-01T00:00:00Z, a Tuesday open everywhere
const char* const kCurrencies[] = {"USD", "EUR", "GBP", "JPY", "BRL", "INR", "MXN"};

v1::Envelope at(int64_t t, std::string id, const std::string& merchant) {
  v1::Envelope e;
  e.set_event_id(std::move(id));
  e.set_merchant_id(merchant);
  e.set_schema_version(1);
  e.mutable_occurred_at()->set_seconds(t);
  return e;
}

void money(v1::Money* m, const char* currency, const std::string& amount) {
  m->set_currency(currency);
  m->set_amount(amount);
}

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

void BM_SettleRun(benchmark::State& state) {
  const char* env = std::getenv("PAYLEDGER_SETTLE_BENCH_MERCHANTS");
  const int merchants = env != nullptr ? std::atoi(env) : 100000;
  const std::string dir =
      (std::filesystem::temp_directory_path() / "payledger-settle-bench").string();
  std::filesystem::remove_all(dir);
  events::EmbeddedLogOptions o;
  o.sync = false;
  o.partitions = 4;
  auto log = events::EmbeddedLog::open(dir + "/log", o).value();
  std::vector<events::AppendRecord> records;
  for (int m = 0; m < merchants; ++m) {
    const std::string id = fmt::format("m{:06}", m);
    const char* ccy = kCurrencies[m % 7];
    const bool yen = std::string(ccy) == "JPY";
    auto p = at(kDay - 86400, "policy", id);
    auto* b = p.mutable_merchant_settlement_policy_set();
    b->set_currency(ccy);
    b->set_rail(m % 2 == 0 ? v1::SETTLEMENT_RAIL_BATCH : v1::SETTLEMENT_RAIL_TOKENISED);
    b->set_cutoff_local("17:00");
    b->set_time_zone("UTC");
    b->set_settlement_days(1);
    if (m % 3 == 0) {
      b->set_reserve_percent("5");
      b->set_reserve_days(7);
    }
    records.push_back(events::event_record(p));
    for (int s = 0; s < 3; ++s) {
      const int64_t t = kDay + 8 * 3600 + (m % 1000) * 20 + s * 3600;
      const std::string amount = yen ? fmt::format("{}", 500 + (m * 7 + s * 13) % 9000)
                                     : fmt::format("{}.{:02}", 5 + (m + s * 31) % 400, m % 100);
      const std::string pay = fmt::format("p{}", s);
      auto a = at(t, fmt::format("a{}", s), id);
      a.mutable_card_authorised()->set_payment_id(pay);
      money(a.mutable_card_authorised()->mutable_amount(), ccy, amount);
      a.mutable_card_authorised()->mutable_expires_at()->set_seconds(t + 7 * 86400);
      records.push_back(events::event_record(a));
      auto c = at(t + 60, fmt::format("c{}", s), id);
      c.mutable_card_captured()->set_payment_id(pay);
      money(c.mutable_card_captured()->mutable_amount(), ccy, amount);
      records.push_back(events::event_record(c));
    }
    auto r = at(kDay + 14 * 3600, "r0", id);
    r.mutable_card_refunded()->set_payment_id("p0");
    r.mutable_card_refunded()->set_refund_id("rf0");
    money(r.mutable_card_refunded()->mutable_amount(), ccy, yen ? "100" : "1.00");
    records.push_back(events::event_record(r));
  }
  (void)log->append(records);
  const size_t history = records.size();
  records.clear();
  auto store = projections::Store::open(dir + "/projections", false).value();
  projections::FoldOptions fo;
  fo.sync = false;
  auto before = projections::fold(*store, *log, fo).value();
  if (before.rejected != 0) {
    state.SkipWithError("settle bench: the day's activity was rejected");
    return;
  }
  (void)store->flush();
  const int64_t as_of = kDay + 17 * 3600 + 600;  // 17:10 UTC: every cycle due
  double plan_ms = 0, append_ms = 0, fold_ms = 0;
  size_t instructed = 0, appended = 0;
  for (auto _ : state) {
    auto t0 = Clock::now();
    auto plan = settlement::plan_settlement(projections::Stores{store.get()}, as_of, "");
    plan_ms = ms_since(t0);
    if (!plan.ok() || plan->failed != 0) {
      state.SkipWithError("settle bench: the run failed");
      return;
    }
    for (const auto& d : plan->decisions)
      instructed += d.outcome == settlement::Outcome::kInstructed;
    t0 = Clock::now();
    for (const auto& e : plan->events) records.push_back(events::event_record(e));
    (void)log->append(records);
    append_ms = ms_since(t0);
    appended = records.size();
    t0 = Clock::now();
    auto stats = projections::fold(*store, *log, fo);
    fold_ms = ms_since(t0);
    if (!stats.ok() || stats->rejected != 0 || stats->applied != appended) {
      state.SkipWithError("settle bench: the fold rejected settlement events");
      return;
    }
  }
  if (instructed != static_cast<size_t>(merchants)) {
    state.SkipWithError("settle bench: not every merchant was instructed");
    return;
  }
  state.counters["merchants"] = merchants;
  state.counters["history_events"] = static_cast<double>(history);
  state.counters["instructions"] = static_cast<double>(instructed);
  state.counters["events_appended"] = static_cast<double>(appended);
  state.counters["decide_ms"] = plan_ms;
  state.counters["append_ms"] = append_ms;
  state.counters["fold_ms"] = fold_ms;
  state.counters["total_ms"] = plan_ms + append_ms + fold_ms;
  store.reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_SettleRun)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
