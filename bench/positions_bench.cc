// `positions` latency for a merchant holding 50 currencies (issue 10): one merchant takes
// card payments in 50 currencies over 30 days with a daily fix of each against USD, and
// converts part of each balance to USD every week; the store is folded once, then
// projections::positions (what `payledger positions --merchant M` calls) is timed for that
// merchant. Reports p50/p99/max in milliseconds and the lines it replayed.
//
// PAYLEDGER_POSITIONS_BENCH_PAYMENTS: card payments per currency (default 200: 10,000
// payments, 20,000 events; plus 1,500 rate publications, each a record in every partition).
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "events/codec.h"
#include "events/embedded_log.h"
#include "ledger/fx.h"
#include "projections/fold.h"
#include "projections/positions.h"

namespace {

using namespace payledger;
using Clock = std::chrono::steady_clock;

constexpr int64_t kStart = 1767225600;  // 2026-01-01T00:00:00Z
constexpr int kCurrencies = 50;
constexpr int kDays = 30;
const char* const kMerchant = "m-global";

std::vector<std::string> currencies() {
  // ISO codes with 2 decimals, other than USD: the first 50 of the table.
  static const char* const kCodes[] = {
      "AED", "AFN", "ALL", "AMD", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN",
      "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CNY",
      "COP", "CRC", "CUP", "CZK", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "GBP",
      "GEL", "GHS", "GIP", "GMD", "GTQ", "HKD", "HNL", "HTG", "HUF", "ILS", "INR", "JMD", "KES"};
  std::vector<std::string> out;
  for (const char* c : kCodes) {
    auto a = ledger::Asset::find(c);
    if (a && a->exponent() == 2 && out.size() < kCurrencies) out.push_back(c);
  }
  return out;
}

v1::Envelope at(int64_t t, const std::string& id, const std::string& merchant) {
  v1::Envelope e;
  e.set_event_id(id);
  e.set_merchant_id(merchant);
  e.set_schema_version(1);
  e.mutable_occurred_at()->set_seconds(t);
  return e;
}

struct PositionsFixture {
  std::string dir;
  std::unique_ptr<projections::Store> store;
  uint64_t payments = 0;

  PositionsFixture() {
    const char* env = std::getenv("PAYLEDGER_POSITIONS_BENCH_PAYMENTS");
    const int per_currency = env != nullptr ? std::atoi(env) : 200;
    dir = (std::filesystem::temp_directory_path() / "payledger-positions-bench").string();
    std::filesystem::remove_all(dir);
    events::EmbeddedLogOptions o;
    o.sync = false;
    auto log = events::EmbeddedLog::open(dir + "/log", o).value();
    const auto codes = currencies();
    const ledger::Asset usd = ledger::Asset::find("USD").value();
    std::vector<events::AppendRecord> records;
    uint64_t n = 0;
    const int64_t step = kDays * 86400 / std::max(1, per_currency);
    for (int i = 0; i < per_currency; ++i) {
      const int64_t t = kStart + i * step;
      if (i == 0 || (t - kStart) / 86400 != (t - step - kStart) / 86400) {  // a daily fix
        for (size_t c = 0; c < codes.size(); ++c) {
          auto pair = ledger::CurrencyPair::of(ledger::Asset::find(codes[c]).value(), usd).value();
          auto e = at(t, fmt::format("fix-{}-{}", n++, codes[c]), "");
          auto* b = e.mutable_fx_rate_published();
          b->set_pair(pair.to_string());
          b->set_mid(fmt::format("{}.{:04}", 1 + c % 7, (i * 37 + c * 11) % 10000));
          b->set_source("bench");
          b->mutable_as_of()->set_seconds(t);
          records.push_back(events::event_record(e));
        }
      }
      for (size_t c = 0; c < codes.size(); ++c) {
        const std::string id = fmt::format("p-{}-{}", codes[c], i);
        const std::string amount = fmt::format("{}.{:02}", 10 + (i * 7 + c) % 990, i % 100);
        auto a = at(t + 1, fmt::format("a-{}", n++), kMerchant);
        a.mutable_card_authorised()->set_payment_id(id);
        a.mutable_card_authorised()->mutable_amount()->set_currency(codes[c]);
        a.mutable_card_authorised()->mutable_amount()->set_amount(amount);
        a.mutable_card_authorised()->mutable_expires_at()->set_seconds(t + 7 * 86400);
        records.push_back(events::event_record(a));
        auto k = at(t + 2, fmt::format("c-{}", n++), kMerchant);
        k.mutable_card_captured()->set_payment_id(id);
        k.mutable_card_captured()->mutable_amount()->set_currency(codes[c]);
        k.mutable_card_captured()->mutable_amount()->set_amount(amount);
        records.push_back(events::event_record(k));
        ++payments;
        if (i % 50 == 49) {  // now and then a tenth of a payment converts to USD
          auto x = at(t + 3, fmt::format("x-{}", n++), kMerchant);
          auto* b = x.mutable_fx_conversion_executed();
          b->set_conversion_id(fmt::format("cv-{}-{}", codes[c], i));
          b->mutable_from()->set_currency(codes[c]);
          b->mutable_from()->set_amount("1.00");
          b->set_to_currency("USD");
          records.push_back(events::event_record(x));
        }
      }
    }
    (void)log->append(records);
    store = projections::Store::open(dir + "/projections", false).value();
    projections::FoldOptions fo;
    fo.sync = false;
    auto stats = projections::fold(*store, *log, fo).value();
    if (stats.rejected != 0) throw std::runtime_error("positions bench: the fold rejected events");
    (void)store->flush();
  }
  ~PositionsFixture() {
    store.reset();
    std::filesystem::remove_all(dir);
  }
};

void BM_Positions50Currencies(benchmark::State& state) {
  static PositionsFixture f;
  projections::PositionsRequest request(ledger::Asset::find("USD").value());
  request.house = false;
  request.merchant = kMerchant;
  std::vector<double> ms;
  size_t rows = 0;
  for (auto _ : state) {
    auto t0 = Clock::now();
    auto answer = projections::positions(projections::Stores{f.store.get()}, request);
    auto t1 = Clock::now();
    if (!answer.ok() || answer->rows.size() != kCurrencies) {
      state.SkipWithError("positions failed or did not find 50 currencies");
      return;
    }
    for (const auto& r : answer->rows) {
      if (!r.end.priced()) {
        state.SkipWithError("a position was not priced");
        return;
      }
    }
    rows = answer->rows.size();
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  auto q = [&](double p) {
    return ms[std::min(ms.size() - 1, static_cast<size_t>(p * ms.size()))];
  };
  state.counters["p50_ms"] = q(0.50);
  state.counters["p99_ms"] = q(0.99);
  state.counters["max_ms"] = ms.back();
  state.counters["currencies"] = static_cast<double>(rows);
  state.counters["payments"] = static_cast<double>(f.payments);
}
BENCHMARK(BM_Positions50Currencies)->Iterations(20)->Unit(benchmark::kMillisecond);

}  // namespace
