// Amount arithmetic: parse, add (checked 128-bit), format, rate conversion.
#include <benchmark/benchmark.h>

#include "ledger/amount.h"
#include "ledger/rate.h"

namespace {

using namespace payledger::ledger;

void BM_AmountParse(benchmark::State& state) {
  Asset usd = Asset::find("USD").value();
  for (auto _ : state) {
    auto a = Amount::parse("123456.78", usd);
    benchmark::DoNotOptimize(a);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AmountParse);

void BM_AmountAdd(benchmark::State& state) {
  Asset usd = Asset::find("USD").value();
  Amount total = Amount::zero(usd);
  Amount step = Amount::from_minor(usd, 12345);
  for (auto _ : state) {
    total = total.plus(step).value();
    benchmark::DoNotOptimize(total);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AmountAdd);

void BM_AmountFormat(benchmark::State& state) {
  Amount a = Amount::from_minor(Asset::find("BHD").value(), 123456789);
  for (auto _ : state) benchmark::DoNotOptimize(a.to_string());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AmountFormat);

void BM_RateConvert(benchmark::State& state) {
  Rate rate = Rate::parse("151.2345").value();
  Amount usd = Amount::from_minor(Asset::find("USD").value(), 1234567);
  Asset jpy = Asset::find("JPY").value();
  for (auto _ : state) benchmark::DoNotOptimize(rate.convert(usd, jpy, RoundingMode::kHalfEven));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RateConvert);

}  // namespace
