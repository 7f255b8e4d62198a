#include "projections/backtest.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <stdexcept>
#include <tuple>

#include "events/schema/check.h"
#include "ledger/account.h"
#include "ledger/fx.h"
#include "projections/forecast.h"
#include "projections/positions.h"
#include "projections/rate_book.h"

namespace payledger::projections {

namespace {

using ledger::Int128;
constexpr int64_t kDay = 86400;

int64_t day_of(int64_t t) { return t >= 0 ? t / kDay : (t - kDay + 1) / kDay; }

struct Flow {
  int64_t at_s = 0;
  uint32_t partition = 0;
  const EntryLine* line = nullptr;  // its first line (offset, event id)
  Int128 amount = 0;                // of the currency; positive: the PSP took it in
};

// The side of a published rate a trade of `asset` meets: selling the pair's base (or buying
// its quote) deals at the bid, buying the base at the ask; the mid when not published.
Result<ledger::Rate> side_rate(const ledger::FxRate& r, const ledger::CurrencyPair& pair,
                               ledger::Asset asset, bool sells_asset) {
  const bool sells_base = (asset == pair.base()) == sells_asset;
  const std::string& side = sells_base ? r.bid : r.ask;
  if (side.empty()) return ledger::mid_rate(r);
  return ledger::Rate::parse(side);
}

// `amount` of `asset` (signed) traded at the side of `r` against the PSP, in reporting minor
// units with the amount's sign, rounded once.
Result<Int128> traded(const ledger::FxRate& r, const ledger::CurrencyPair& pair,
                      ledger::Asset asset, const Int128& amount) {
  if (amount.is_zero()) return Int128(0);
  const bool sells = amount.sign() > 0;
  auto rate = side_rate(r, pair, asset, sells);
  if (!rate) return rate.error();
  const Int128 size = sells ? amount : Int128(-amount);
  auto v = ledger::convert(ledger::Amount::from_minor(asset, size), pair, *rate,
                           ledger::RoundingMode::kHalfEven);
  if (!v) return v.error();
  return sells ? v->minor() : Int128(-v->minor());
}

// The first publication whose as-of is at or after `t`, or nullptr.
const RateBook::Entry* first_at_or_after(const std::vector<RateBook::Entry>& list, int64_t t) {
  auto it = std::lower_bound(list.begin(), list.end(), t, [](const RateBook::Entry& e, int64_t x) {
    return e.rate.as_of_s < x;
  });
  return it == list.end() ? nullptr : &*it;
}

// The merchant-driven moves of the house's position: every posted move of psp:fx:position
// not made by a treasury trade (a conversion of the house or a forward settlement, the events
// that also move psp:bank:operating), per asset, netted per event.
// `lines` keeps the position's statement lines the flows point into.
Result<std::map<std::string, std::vector<Flow>>> merchant_flows(const Stores& stores,
                                                                std::vector<StatementLine>* lines) {
  auto bank = statement(stores, ledger::Chart::bank_operating().name(), 0);
  if (!bank) return bank.error();
  // An event is (partition, offset, event id): the expiries a record fires share its offset.
  std::set<std::tuple<uint32_t, uint64_t, std::string_view>> treasury;
  for (const auto& l : *bank) treasury.emplace(l.partition, l.line.offset, l.line.event_id);
  auto stated = statement(stores, ledger::Chart::fx_position().name(), 0);
  if (!stated) return stated.error();
  *lines = std::move(stated).value();
  // Statement lines come by asset, partition, offset; an offset's events in booking order.
  std::map<std::string, std::vector<Flow>> out;
  try {
    for (const auto& l : *lines) {
      if (l.line.bucket != ledger::Bucket::kPosted) continue;
      if (treasury.count({l.partition, l.line.offset, l.line.event_id}) != 0) continue;
      auto& flows = out[l.asset];
      const Int128 amount =
          l.line.side == ledger::Side::kCredit ? l.line.amount_minor : Int128(-l.line.amount_minor);
      const Flow* last = flows.empty() ? nullptr : &flows.back();
      if (last != nullptr && last->partition == l.partition &&
          last->line->offset == l.line.offset && last->line->event_id == l.line.event_id) {
        flows.back().amount += amount;
      } else {
        flows.push_back(Flow{l.line.occurred_at_s, l.partition, &l.line, amount});
      }
    }
  } catch (const std::overflow_error&) {
    return make_error(Code::kOverflow, "a flow exceeds 128 bits");
  }
  for (auto& [asset, flows] : out) {
    std::erase_if(flows, [](const Flow& f) { return f.amount.is_zero(); });
    std::stable_sort(flows.begin(), flows.end(), [](const Flow& a, const Flow& b) {
      if (a.at_s != b.at_s) return a.at_s < b.at_s;
      if (a.partition != b.partition) return a.partition < b.partition;
      return booked_before(*a.line, *b.line);
    });
  }
  return out;
}

}  // namespace

std::string_view hedge_policy_name(HedgePolicy p) {
  switch (p) {
    case HedgePolicy::kSpotAtSettlement:
      return "spot_at_settlement";
    case HedgePolicy::kLockAtCheckout:
      return "lock_at_checkout";
    case HedgePolicy::kForecastForwards:
      return "forecast_forwards";
  }
  return "?";
}

Int128 PolicyResult::cost() const { return benchmark - proceeds; }

Result<Backtest> fx_backtest(const Stores& stores, ledger::Asset reporting) {
  auto owners = partition_owners(stores);
  if (!owners) return owners.error();
  std::vector<StatementLine> lines;
  auto flows_by_asset = merchant_flows(stores, &lines);
  if (!flows_by_asset) return flows_by_asset.error();
  RateBook rates(stores);
  Backtest out;
  out.reporting = reporting.code();
  out.reporting_exponent = reporting.exponent();
  bool any = false;
  try {
    for (auto& [code, flows] : *flows_by_asset) {
      auto asset = ledger::Asset::find(code);
      if (!asset) return asset.error();
      if (*asset == reporting) continue;
      auto pair = ledger::CurrencyPair::of(*asset, reporting);
      if (!pair) return pair.error();
      const std::string pair_text = pair->to_string();
      // The rates of the lowest partition holding the pair (every partition folds the same
      // publications; `payledger rates` shows when they do not).
      const std::vector<RateBook::Entry>* fixes = nullptr;
      uint32_t ref = 0;
      for (const auto& [p, _] : *owners) {
        auto list = rates.all(p, pair_text);
        if (!list) return list.error();
        if (!(*list)->empty()) {
          fixes = *list;
          ref = p;
          break;
        }
      }
      BacktestCurrency c;
      c.asset = code;
      c.exponent = asset->exponent();
      c.policies.resize(std::size(kHedgePolicies));
      // Days that have a fix after their end: their flows settle; the rest are left open.
      std::map<int64_t, Int128> day_net;  // included days, by day
      PolicyResult& spot = c.policies[0];
      PolicyResult& lock = c.policies[1];
      PolicyResult& fwd = c.policies[2];
      for (const Flow& f : flows) {
        const RateBook::Entry* now = nullptr;
        if (fixes != nullptr) {
          auto r = rates.at(ref, pair_text, f.at_s);
          if (!r) return r.error();
          now = *r;
        }
        if (now == nullptr) {
          ++c.unpriced;
          continue;
        }
        const int64_t day = day_of(f.at_s);
        if (first_at_or_after(*fixes, (day + 1) * kDay) == nullptr) {
          ++c.excluded;
          continue;
        }
        ++c.flows;
        if (f.amount.sign() > 0) {
          c.bought += f.amount;
        } else {
          c.sold += -f.amount;
        }
        auto mid = ledger::convert(ledger::Amount::from_minor(*asset, f.amount), *pair, now->value,
                                   ledger::RoundingMode::kHalfEven);
        if (!mid) return mid.error();
        c.benchmark += mid->minor();
        auto at_lock = traded(now->rate, *pair, *asset, f.amount);
        if (!at_lock) return at_lock.error();
        lock.proceeds += *at_lock;
        ++lock.conversions;
        day_net[day] += f.amount;
        if (!any || f.at_s < out.first_s) out.first_s = f.at_s;
        if (!any || f.at_s > out.last_s) out.last_s = f.at_s;
        any = true;
      }
      // Spot at settlement: each day's net at the first fix after the day.
      for (const auto& [day, net] : day_net) {
        if (net.is_zero()) continue;
        const RateBook::Entry* fix = first_at_or_after(*fixes, (day + 1) * kDay);
        auto v = traded(fix->rate, *pair, *asset, net);
        if (!v) return v.error();
        spot.proceeds += *v;
        ++spot.conversions;
      }
      // Forecast-driven forwards: weeks from the first included day; at each week's start a
      // forward of the forecast week's net (from the daily nets before it) at the side of the
      // rate then; the week's actual net less the forward at the fix after the week (or, for
      // the last, partial week, after its last day with flows).
      if (!day_net.empty()) {
        const int64_t d0 = day_net.begin()->first;
        const int64_t d_last = day_net.rbegin()->first;
        const double unit = std::pow(10.0, c.exponent);
        for (int64_t start = d0; start <= d_last; start += 7) {
          ++c.weeks;
          // The last week may be cut short by the end of the history: its forward covers
          // only the days the history reaches.
          const bool complete = start + 7 <= d_last;
          const int days = complete ? 7 : static_cast<int>(d_last - start + 1);
          std::vector<double> history;
          for (int64_t d = d0; d < start; ++d) {
            auto it = day_net.find(d);
            history.push_back(it == day_net.end() ? 0.0 : static_cast<double>(it->second) / unit);
          }
          Int128 forward = 0;
          const RateBook::Entry* booked = nullptr;
          if (!history.empty()) {
            auto fit = forecast_fit(history, 7);
            double sum = 0;
            for (const auto& p : forecast(fit, days)) sum += p.mean;
            // The forecast into minor units: one rounding (to nearest, ties to even). Past
            // what a 64-bit count of minor units holds it is refused, never cast wrapped.
            const double minor = std::nearbyint(sum * unit);
            if (!std::isfinite(minor) || std::fabs(minor) >= 9.2e18) {
              return make_error(Code::kOverflow,
                                fmt::format("the {} forecast for the week from day {} is {} "
                                            "{}: beyond what a forward can book here",
                                            code, start, sum, code));
            }
            auto r = rates.at(ref, pair_text, start * kDay);
            if (!r) return r.error();
            booked = *r;
            if (booked != nullptr && minor != 0) {
              forward = Int128(static_cast<int64_t>(minor));
              ++c.weeks_with_forecast;
            }
          }
          Int128 actual = 0;
          int64_t last_day = start;
          for (auto it = day_net.lower_bound(start); it != day_net.end() && it->first < start + 7;
               ++it) {
            actual += it->second;
            last_day = it->first;
          }
          if (!forward.is_zero()) {
            auto v = traded(booked->rate, *pair, *asset, forward);
            if (!v) return v.error();
            fwd.proceeds += *v;
            ++fwd.conversions;
          }
          const Int128 rest = actual - forward;
          if (!rest.is_zero()) {
            const int64_t settle_day = complete ? start + 7 : last_day + 1;
            const RateBook::Entry* fix = first_at_or_after(*fixes, settle_day * kDay);
            // Included days have a fix after them, and settle_day is at most the day after one.
            PAYLEDGER_CHECK(fix != nullptr, "a back-test week without a fix to settle it");
            auto v = traded(fix->rate, *pair, *asset, rest);
            if (!v) return v.error();
            fwd.proceeds += *v;
            ++fwd.conversions;
          }
        }
      }
      for (auto& p : c.policies) p.benchmark = c.benchmark;
      out.currencies.push_back(std::move(c));
    }
  } catch (const std::overflow_error&) {
    return make_error(Code::kOverflow, "back-test sums exceed 128 bits");
  }
  return out;
}

}  // namespace payledger::projections
