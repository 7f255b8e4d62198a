// Fold throughput from the embedded log into RocksDB for the generator's mix.
// Events: PAYLEDGER_BENCH_EVENTS (default 1,000,000). The generator's mix includes merchant
// contracts (MDR on money in); PAYLEDGER_BENCH_CONTRACTS=0 folds the stream without them (the
// workload before issue 9) for before/after comparisons on one binary. The mix includes the
// generator's settlement (issue 11: policies, instructions on both rails, tokens; counter
// settlement_share); BM_FoldWithoutSettlement folds the same options' stream without it, for
// the comparison in one run. Reports events/s
// (items_per_second), log bytes/s, and what the fold handed RocksDB per event
// (rocksdb_keys_per_event, rocksdb_bytes_per_event: its WriteBatches' Count and DataSize).
// The log is generated once; every iteration folds it into a fresh store.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/transaction_log.h>
#include <rocksdb/write_batch.h>

#include "events/codec.h"
#include "events/embedded_log.h"
#include "projections/fold.h"
#include "projections/store.h"
#include "tools/generator.h"

namespace {

using namespace payledger;

uint64_t bench_events() {
  const char* env = std::getenv("PAYLEDGER_BENCH_EVENTS");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : 1'000'000;
}

bool bench_contracts() {
  const char* env = std::getenv("PAYLEDGER_BENCH_CONTRACTS");
  return env == nullptr || std::string(env) != "0";
}

struct Fixture {
  std::string dir;
  uint64_t events = 0;
  uint64_t records = 0;  // in the log: a published rate is a record in every partition
  uint64_t bytes = 0;
  uint64_t fx_events = 0;  // rates, quotes, conversions, forwards, revaluation runs
  uint64_t settlement_events = 0;  // policies, instructions and their steps, tokens

  explicit Fixture(const std::string& market = "", uint32_t fx_heavy_percent = 0,
                   bool settlement = true) {
    events = bench_events();
    dir = (std::filesystem::temp_directory_path() /
           ("payledger-bench" + market + (fx_heavy_percent ? "-fx" : "") +
            (settlement ? "" : "-nostl")))
              .string();
    std::filesystem::remove_all(dir);
    events::EmbeddedLogOptions o;
    o.sync = false;
    auto log = events::EmbeddedLog::open(dir + "/log", o).value();
    tools::GeneratorOptions go{events, 42, 500, market, bench_contracts()};
    go.rates = true;
    go.fx_heavy_percent = fx_heavy_percent;
    go.settlement = settlement;
    tools::Generator gen(go);
    std::vector<events::AppendRecord> batch;
    payledger::v1::Envelope e;
    while (gen.next(&e)) {
      fx_events += e.has_fx_rate_published() || e.has_fx_quote_locked() ||
                   e.has_fx_conversion_executed() || e.has_fx_forward_booked() ||
                   e.has_fx_forward_settled() || e.has_fx_revaluation_run();
      settlement_events +=
          e.has_merchant_settlement_policy_set() || e.has_settlement_instructed() ||
          e.has_settlement_sent() || e.has_settlement_confirmed() || e.has_settlement_returned() ||
          e.has_settlement_reserve_released() || e.has_token_minted() ||
          e.has_token_transferred() || e.has_token_redeemed();
      batch.push_back(events::event_record(e));
      bytes += batch.back().value.size();
      if (batch.size() == 50000) {
        (void)log->append(batch);
        batch.clear();
      }
    }
    (void)log->append(batch);
    for (uint32_t p = 0; p < log->partition_count(); ++p) records += log->end_offset(p).value();
  }
  ~Fixture() { std::filesystem::remove_all(dir); }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

void fold_fixture(benchmark::State& state, Fixture& f, size_t batch, bool pipelined = false);

// One core: pin it (`taskset -c 1`) for the one-core number.
void BM_Fold(benchmark::State& state) {
  fold_fixture(state, fixture(), static_cast<size_t>(state.range(0)));
}

// The FX-heavy mix (issue 10: 30% FX events): 38% of the merchant events drawn as FX events
// (quote locks and balance conversions; US merchants have none, so ~30% of all events are FX
// with the rates and the house's trades: counter fx_share); compare with BM_Fold/50000 of the
// same run.
void BM_FoldFxHeavy(benchmark::State& state) {
  static Fixture f("", 38);
  fold_fixture(state, f, static_cast<size_t>(state.range(0)));
}

// BM_Fold's stream without the generator's settlement (issue 11): merchants paid by
// payout_sent as before. Compare with BM_Fold/50000 of the same run (counter settlement_share).
void BM_FoldWithoutSettlement(benchmark::State& state) {
  static Fixture f("", 0, /*settlement=*/false);
  fold_fixture(state, f, static_cast<size_t>(state.range(0)));
}

// As `payledger fold` runs it: the log read and each record decoded, checked and fingerprinted
// on a reader thread (FoldOptions::read_ahead), each full batch written on a writer thread
// (write_behind) while the next one folds. Not pinned: it is for two cores.
void BM_FoldPipelined(benchmark::State& state) {
  fold_fixture(state, fixture(), static_cast<size_t>(state.range(0)), /*pipelined=*/true);
}

void fold_fixture(benchmark::State& state, Fixture& f, size_t batch, bool pipelined) {
  events::EmbeddedLogOptions o;
  o.writer = false;
  auto log = events::EmbeddedLog::open(f.dir + "/log", o).value();
  projections::FoldOptions options;
  options.batch_events_max = batch;
  options.read_ahead = pipelined;
  options.write_behind = pipelined;
  projections::FoldStats last;
  for (auto _ : state) {
    state.PauseTiming();
    std::filesystem::remove_all(f.dir + "/projections");
    auto store = projections::Store::open(f.dir + "/projections", false).value();
    state.ResumeTiming();
    auto stats = projections::fold(*store, *log, options);
    if (!stats.ok() || stats->applied + stats->expiries_noop != f.records) {
      state.SkipWithError("fold failed or rejected events");
      return;
    }
    last = *stats;
    state.PauseTiming();
    store.reset();  // close outside the timed region
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * f.records));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.bytes));
  state.counters["events"] = static_cast<double>(f.events);
  state.counters["fx_share"] = static_cast<double>(f.fx_events) / static_cast<double>(f.events);
  state.counters["settlement_share"] =
      static_cast<double>(f.settlement_events) / static_cast<double>(f.events);
  double events = static_cast<double>(f.events);
  state.counters["rocksdb_keys_per_event"] = static_cast<double>(last.keys_written) / events;
  state.counters["rocksdb_bytes_per_event"] = static_cast<double>(last.bytes_written) / events;
}
BENCHMARK(BM_Fold)->Arg(10000)->Arg(50000)->Arg(200000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_FoldWithoutSettlement)->Arg(50000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_FoldFxHeavy)->Arg(50000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_FoldPipelined)->Arg(50000)->Unit(benchmark::kMillisecond)->UseRealTime();

// The ceiling RocksDB sets on the one-core fold: the fold's own WriteBatches (captured from
// the WAL of a fold of the first 200,000 events, which stays whole because nothing flushes that
// early; the store's own format stamp before them is left out) written again into a fresh store, with nothing else to do: no log read, decode,
// fingerprint, rules or dedupe lookups. items_per_second is the events/s the one-core fold
// could reach if all its own work were free; compare with BM_Fold/50000 in the same run
// (same events, batches of 50,000, fsync per batch as the fold does).
void BM_FoldStoreWritesOnly(benchmark::State& state) {
  Fixture& f = fixture();
  const uint64_t events = std::min<uint64_t>(f.events, 200000);
  events::EmbeddedLogOptions o;
  o.writer = false;
  auto log = events::EmbeddedLog::open(f.dir + "/log", o).value();
  const std::string captured = f.dir + "/captured";
  std::filesystem::remove_all(captured);
  std::vector<std::string> batches;
  projections::FoldStats folded;
  {
    auto store = projections::Store::open(captured, false).value();
    const rocksdb::SequenceNumber first = store->rocks()->GetLatestSequenceNumber() + 1;
    projections::FoldOptions options;
    options.records_max = events;
    auto stats = projections::fold(*store, *log, options);
    if (!stats.ok()) {
      state.SkipWithError("fold failed");
      return;
    }
    folded = *stats;
    std::unique_ptr<rocksdb::TransactionLogIterator> it;
    if (!store->rocks()->GetUpdatesSince(first, &it).ok()) {
      state.SkipWithError("cannot read the fold's WAL");
      return;
    }
    uint64_t keys = 0;
    for (; it->Valid(); it->Next()) {
      rocksdb::BatchResult b = it->GetBatch();
      if (b.sequence < first) continue;  // a WAL file may start before the fold's first batch
      keys += static_cast<uint64_t>(b.writeBatchPtr->Count());
      batches.push_back(b.writeBatchPtr->Data());
    }
    if (keys != folded.keys_written) {
      state.SkipWithError("the WAL no longer holds every batch of the fold (a flush ran?)");
      return;
    }
  }
  const std::string fresh = f.dir + "/replayed";
  for (auto _ : state) {
    state.PauseTiming();
    std::filesystem::remove_all(fresh);
    auto store = projections::Store::open(fresh, false).value();
    std::vector<rocksdb::WriteBatch> copies;
    copies.reserve(batches.size());
    for (const std::string& rep : batches) copies.emplace_back(rep);
    state.ResumeTiming();
    rocksdb::WriteOptions wo;
    wo.sync = true;  // as the fold commits (FoldOptions::sync)
    for (rocksdb::WriteBatch& wb : copies) {
      if (!store->rocks()->Write(wo, &wb).ok()) {
        state.SkipWithError("write failed");
        return;
      }
    }
    state.PauseTiming();
    store.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * events));
  state.counters["events"] = static_cast<double>(events);
  state.counters["batches"] = static_cast<double>(batches.size());
  state.counters["rocksdb_keys_per_event"] =
      static_cast<double>(folded.keys_written) / static_cast<double>(events);
  std::filesystem::remove_all(captured);
  std::filesystem::remove_all(fresh);
}
BENCHMARK(BM_FoldStoreWritesOnly)->Unit(benchmark::kMillisecond)->UseRealTime();

// Events/s by method family: streams of one market's merchants (cards appear in all).
void BM_FoldMarket(benchmark::State& state, const char* market) {
  static std::map<std::string, std::unique_ptr<Fixture>> fixtures;
  auto& f = fixtures[market];
  if (!f) f = std::make_unique<Fixture>(market);
  fold_fixture(state, *f, 50000);
}
BENCHMARK_CAPTURE(BM_FoldMarket, bnpl_cards_US, "US")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_FoldMarket, pix_boleto_cards_BR, "BR")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_FoldMarket, upi_cards_IN, "IN")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_FoldMarket, konbini_cards_JP, "JP")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_FoldMarket, oxxo_cards_MX, "MX")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_FoldMarket, gcash_coupons_cards_PH, "PH")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_FoldMarket, pay_by_bank_bnpl_cards_DE, "DE")->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
