// In-process query latency (issue 9: one account's balance <= 1 ms p99 in a long-running
// process): the store is opened once, then balances of 10,000 accounts drawn at random (fixed
// seed) are looked up one by one through projections::list_balances, the function the CLI's
// `balance --account` calls (partition owners from `meta`, then one bounded seek per
// partition). Reports p50/p99/max per lookup in microseconds; BM_Statement100 does the same
// for 100-line statement pages of 1,000 random accounts.
//
// Store: PAYLEDGER_QUERY_BENCH_DATA=DIR queries DIR/projections (e.g. a 10M-event store made
// with `payledger generate | payledger append` + `payledger fold`); otherwise a store of
// PAYLEDGER_QUERY_BENCH_EVENTS events (default 200,000; 2,000 merchants) is folded under
// TMPDIR once.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "events/codec.h"
#include "events/embedded_log.h"
#include "projections/fold.h"
#include "projections/queries.h"
#include "tools/generator.h"

namespace {

using namespace payledger;
using Clock = std::chrono::steady_clock;

struct QueryFixture {
  std::string dir;  // removed at exit when made here
  bool owned = false;
  std::unique_ptr<projections::Store> store;
  std::vector<std::string> accounts;  // every account in the books, ordered

  QueryFixture() {
    if (const char* data = std::getenv("PAYLEDGER_QUERY_BENCH_DATA")) {
      dir = data;
    } else {
      owned = true;
      dir = (std::filesystem::temp_directory_path() / "payledger-query-bench").string();
      std::filesystem::remove_all(dir);
      make_store();
    }
    store = projections::Store::open(dir + "/projections", /*read_only=*/true).value();
    for (const auto& r : projections::list_balances(*store, "").value()) {
      if (accounts.empty() || accounts.back() != r.account) accounts.push_back(r.account);
    }
  }
  ~QueryFixture() {
    store.reset();
    if (owned) std::filesystem::remove_all(dir);
  }

  void make_store() {
    const char* env = std::getenv("PAYLEDGER_QUERY_BENCH_EVENTS");
    uint64_t events = env != nullptr ? std::strtoull(env, nullptr, 10) : 200'000;
    events::EmbeddedLogOptions o;
    o.sync = false;
    auto log = events::EmbeddedLog::open(dir + "/log", o).value();
    tools::Generator gen({events, 7, 2000, ""});
    std::vector<events::AppendRecord> batch;
    v1::Envelope e;
    while (gen.next(&e)) {
      batch.push_back(events::event_record(e));
      if (batch.size() == 50000) {
        (void)log->append(batch);
        batch.clear();
      }
    }
    (void)log->append(batch);
    auto store = projections::Store::open(dir + "/projections", false).value();
    projections::FoldOptions fo;
    fo.sync = false;
    (void)projections::fold(*store, *log, fo).value();
    (void)store->flush();  // as `payledger fold` leaves it
  }

  // `n` accounts drawn at random (with replacement; fixed seed).
  std::vector<std::string> sample(size_t n) const {
    std::mt19937_64 rng(42);
    std::uniform_int_distribution<size_t> pick(0, accounts.size() - 1);
    std::vector<std::string> out;
    for (size_t i = 0; i < n; ++i) out.push_back(accounts[pick(rng)]);
    return out;
  }
};

QueryFixture& fixture() {
  static QueryFixture f;
  return f;
}

void report(benchmark::State& state, std::vector<double>& us) {
  std::sort(us.begin(), us.end());
  auto at = [&](double q) { return us[std::min(us.size() - 1, static_cast<size_t>(q * us.size()))]; };
  state.counters["p50_us"] = at(0.50);
  state.counters["p99_us"] = at(0.99);
  state.counters["max_us"] = us.back();
  state.counters["accounts_in_books"] = static_cast<double>(fixture().accounts.size());
  state.SetItemsProcessed(static_cast<int64_t>(us.size()));
}

void BM_BalanceLookup(benchmark::State& state) {
  QueryFixture& f = fixture();
  std::vector<std::string> picks = f.sample(10'000);
  std::vector<double> us;
  for (auto _ : state) {
    for (const auto& account : picks) {
      auto t0 = Clock::now();
      auto rows = projections::list_balances(*f.store, account);
      auto t1 = Clock::now();
      if (!rows.ok() || rows->empty()) {
        state.SkipWithError("balance lookup failed or found nothing");
        return;
      }
      benchmark::DoNotOptimize(rows);
      us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    }
  }
  report(state, us);
}
BENCHMARK(BM_BalanceLookup)->Iterations(3)->Unit(benchmark::kMillisecond);

void BM_Statement100(benchmark::State& state) {
  QueryFixture& f = fixture();
  std::vector<std::string> picks = f.sample(1'000);
  std::vector<double> us;
  for (auto _ : state) {
    for (const auto& account : picks) {
      auto t0 = Clock::now();
      auto lines = projections::statement(*f.store, account, 100);
      auto t1 = Clock::now();
      if (!lines.ok()) {
        state.SkipWithError("statement failed");
        return;
      }
      benchmark::DoNotOptimize(lines);
      us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    }
  }
  report(state, us);
}
BENCHMARK(BM_Statement100)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
