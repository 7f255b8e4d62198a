// Fold throughput from the embedded log into RocksDB for the generator's mix.
// Events: PAYLEDGER_BENCH_EVENTS (default 1,000,000). Reports events/s (items_per_second)
// and log bytes/s. The log is generated once; every iteration folds it into a fresh store.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "events/codec.h"
#include "events/embedded_log.h"
#include "projections/fold.h"
#include "tools/generator.h"

namespace {

using namespace payledger;

uint64_t bench_events() {
  const char* env = std::getenv("PAYLEDGER_BENCH_EVENTS");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : 1'000'000;
}

struct Fixture {
  std::string dir;
  uint64_t events = 0;
  uint64_t bytes = 0;

  Fixture() {
    events = bench_events();
    dir = (std::filesystem::temp_directory_path() / "payledger-bench").string();
    std::filesystem::remove_all(dir);
    events::EmbeddedLogOptions o;
    o.sync = false;
    auto log = events::EmbeddedLog::open(dir + "/log", o).value();
    tools::Generator gen({events, 42, 500});
    std::vector<events::AppendRecord> batch;
    payledger::v1::Envelope e;
    while (gen.next(&e)) {
      batch.push_back({e.merchant_id(), events::encode(e)});
      bytes += batch.back().value.size();
      if (batch.size() == 50000) {
        (void)log->append(batch);
        batch.clear();
      }
    }
    (void)log->append(batch);
  }
  ~Fixture() { std::filesystem::remove_all(dir); }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

void BM_Fold(benchmark::State& state) {
  Fixture& f = fixture();
  events::EmbeddedLogOptions o;
  o.writer = false;
  auto log = events::EmbeddedLog::open(f.dir + "/log", o).value();
  projections::FoldOptions options;
  options.batch_events_max = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    state.PauseTiming();
    std::filesystem::remove_all(f.dir + "/projections");
    auto store = projections::Store::open(f.dir + "/projections", false).value();
    state.ResumeTiming();
    auto stats = projections::fold(*store, *log, options);
    if (!stats.ok() || stats->applied != f.events) {
      state.SkipWithError("fold failed or rejected events");
      return;
    }
    state.PauseTiming();
    store.reset();  // close outside the timed region
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * f.events));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.bytes));
  state.counters["events"] = static_cast<double>(f.events);
}
BENCHMARK(BM_Fold)->Arg(10000)->Arg(50000)->Arg(200000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
