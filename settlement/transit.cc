#include "settlement/transit.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>

#include "ledger/asset.h"
#include "ledger/local_time.h"
#include "settlement/calendar.h"
#include "settlement/gnuplot.h"
#include "settlement/schedule.h"

namespace payledger::settlement {
namespace {

using json = nlohmann::ordered_json;
using ledger::Int128;
using ledger::Int256;
using ledger::Rail;

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();  // a flow no cycle paid

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

Int128 to_int128(const Int256& v, std::string_view what) {
  static const Int256 kMax(std::numeric_limits<Int128>::max());
  static const Int256 kMin(std::numeric_limits<Int128>::min());
  if (v > kMax || v < kMin) throw std::overflow_error(std::string(what) + " exceeds 128 bits");
  return Int128(v);
}

// The one rounding step of the report: numerator / denominator to the nearest integer, ties
// to even (denominator > 0).
Int256 div_half_even(const Int256& numerator, const Int256& denominator) {
  const bool negative = numerator.sign() < 0;
  const Int256 magnitude = negative ? Int256(-numerator) : numerator;
  Int256 q = magnitude / denominator;
  const Int256 r = magnitude % denominator;
  const Int256 twice = r * 2;
  if (twice > denominator || (twice == denominator && (q % 2) != 0)) q += 1;
  return negative ? Int256(-q) : q;
}

// What became of one flow under one rail.
struct Fate {
  int64_t at_s = 0;
  int64_t funds_s = kNever;
  Int128 minor = 0;
  size_t merchant = 0;  // index into the currency's merchant list
};

// One rail's replay of one currency: every flow's fate, and per merchant how many of its
// paying cycles paid a flow of the period.
struct RailReplay {
  std::vector<Fate> fates;
  std::vector<uint64_t> payouts_by_merchant;  // paying cycles with a flow of the period
};

std::string flow_error(const Error& e, const PayableFlow& f, Rail rail) {
  return fmt::format("rails comparison, {} rail: merchant {} {} flow at {}: {}",
                     ledger::rail_name(rail), f.merchant, f.currency, ledger::utc_rfc3339(f.at_s),
                     e.reason);
}

// Replays one (merchant, currency)'s flows (sorted by time, all before to_s) under `policy`
// (its rail already set): each flow goes into the next cycle at or after it; a cycle pays the
// net carried so far plus its own flows when that is positive and at least the minimum
// payout, else all of them carry into the next cycle.
Status replay_merchant(const std::vector<const PayableFlow*>& flows,
                       const ledger::SettlementPolicy& policy, size_t merchant,
                       const TransitOptions& options, RailReplay* out) {
  std::vector<size_t> pending;  // indexes into out->fates not paid yet
  Int128 pending_net = 0;
  std::optional<Cycle> cycle;
  auto close = [&]() {
    if (pending_net.sign() <= 0 || pending_net < policy.minimum_payout) return;
    // Funds never arrive before the cycle closes: under T+0 the value date's midnight is
    // before the cut-off, and the money arrives at the cut-off at the earliest.
    const int64_t funds = std::max(cycle->funds_s, cycle->cutoff_s);
    bool of_period = false;
    for (size_t i : pending) {
      out->fates[i].funds_s = funds;
      of_period = of_period || out->fates[i].at_s >= options.from_s;
    }
    if (of_period) ++out->payouts_by_merchant[merchant];
    pending.clear();
    pending_net = 0;
  };
  for (const PayableFlow* f : flows) {
    // Flows come in time order, and no cut-off lies between the last flow and its cycle's
    // cut-off, so a flow at or before that cut-off joins the same cycle.
    if (!cycle || f->at_s > cycle->cutoff_s) {
      if (cycle) close();
      auto next = next_cycle(policy, f->currency, f->at_s);
      if (!next) return make_error(next.error().code, flow_error(next.error(), *f, policy.rail));
      cycle = std::move(next).value();
    }
    pending.push_back(out->fates.size());
    out->fates.push_back(Fate{f->at_s, kNever, f->minor, merchant});
    pending_net += f->minor;
  }
  if (cycle) close();
  return Status::Ok();
}

// The numbers of `fates` (one currency, one rail; all or one merchant's) over the period.
TransitStats stats_of(const std::vector<const Fate*>& fates, uint64_t payouts,
                      const TransitOptions& options, std::vector<TransitPoint>* series) {
  TransitStats s;
  s.payouts = payouts;
  const int64_t from = options.from_s;
  const int64_t to = options.to_s;
  Int256 ttf_weighted = 0;
  Int256 ttf_weight = 0;
  std::vector<int64_t> ttf;
  std::vector<std::pair<int64_t, Int128>> steps;  // (moment, change of money in transit)
  for (const Fate* f : fates) {
    const bool paid = f->funds_s != kNever;
    if (f->at_s >= from) {
      ++s.flows;
      s.net += f->minor;
      (paid ? s.paid : s.unpaid) += f->minor;
      if (paid && f->minor.sign() > 0) {
        ++s.timed_flows;
        ttf.push_back(f->funds_s - f->at_s);
        ttf_weighted += Int256(f->minor) * (f->funds_s - f->at_s);
        ttf_weight += Int256(f->minor);
      }
    }
    const int64_t start = std::max(f->at_s, from);
    const int64_t end = std::min(f->funds_s, to);
    if (end > start) s.money_time += Int256(f->minor) * (end - start);
    if (f->funds_s == f->at_s) continue;  // never in transit
    steps.emplace_back(f->at_s, f->minor);
    if (paid && f->funds_s < to) steps.emplace_back(f->funds_s, -f->minor);
  }
  s.average = to_int128(div_half_even(s.money_time, Int256(to - from)), "average in transit");
  if (ttf_weight.sign() > 0) {
    s.ttf_average_s = static_cast<int64_t>(div_half_even(ttf_weighted, ttf_weight));
  }
  if (!ttf.empty()) {
    std::sort(ttf.begin(), ttf.end());
    // Nearest rank: the smallest value with at least 95% of the sample at or below it.
    const size_t rank = (ttf.size() * 95 + 99) / 100;
    s.ttf_p95_s = ttf[rank - 1];
  }
  // In transit over time: every change up to from_s gives the level at from_s; then the level
  // after all the changes of each later moment.
  std::stable_sort(steps.begin(), steps.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  Int128 level = 0;
  size_t i = 0;
  for (; i < steps.size() && steps[i].first <= from; ++i) level += steps[i].second;
  s.peak = level;
  s.peak_at_s = from;
  if (series != nullptr) series->push_back(TransitPoint{from, level});
  while (i < steps.size() && steps[i].first < to) {
    const int64_t at = steps[i].first;
    for (; i < steps.size() && steps[i].first == at; ++i) level += steps[i].second;
    if (level > s.peak) {
      s.peak = level;
      s.peak_at_s = at;
    }
    if (series != nullptr && level != series->back().minor) {
      series->push_back(TransitPoint{at, level});
    }
  }
  return s;
}

std::string major(const Int128& minor, int exponent) {
  return ledger::format_scaled(minor, exponent);
}

json stats_json(const TransitStats& s, int e) {
  return json{{"flows", s.flows},
              {"net", major(s.net, e)},
              {"paid", major(s.paid, e)},
              {"unpaid", major(s.unpaid, e)},
              {"payouts", s.payouts},
              {"money_time_minor_seconds", s.money_time.str()},
              {"in_transit_average", major(s.average, e)},
              {"in_transit_peak", major(s.peak, e)},
              {"in_transit_peak_at", ledger::utc_rfc3339(s.peak_at_s)},
              {"time_to_funds_flows", s.timed_flows},
              {"time_to_funds_average_s", s.ttf_average_s},
              {"time_to_funds_p95_s", s.ttf_p95_s}};
}

json ratio_json(const std::optional<std::string>& r) { return r ? json(*r) : json(); }

}  // namespace

Result<TransitReport> compare_rails(const std::vector<PayableFlow>& flows,
                                    const SettlementPolicies& policies,
                                    const TransitOptions& options) {
  if (options.from_s >= options.to_s) {
    return make_error(
        Code::kInvalidArgument,
        fmt::format("rails comparison: the period {} .. {} is empty; --from must "
                    "be before --to",
                    ledger::utc_rfc3339(options.from_s), ledger::utc_rfc3339(options.to_s)));
  }
  TransitReport report;
  report.from_s = options.from_s;
  report.to_s = options.to_s;
  // currency -> merchant -> flows in time order (stable: equal times keep the input order)
  std::map<std::string, std::map<std::string, std::vector<const PayableFlow*>>> grouped;
  std::map<std::pair<std::string, std::string>, SkippedFlows> skipped;
  std::vector<const PayableFlow*> sorted;
  for (const auto& f : flows) {
    if (f.at_s < options.to_s) sorted.push_back(&f);
  }
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const PayableFlow* a, const PayableFlow* b) { return a->at_s < b->at_s; });
  try {
    for (const PayableFlow* f : sorted) {
      if (policies.count({f->merchant, f->currency}) == 0) {
        if (f->at_s < options.from_s) continue;
        auto& s = skipped[{f->merchant, f->currency}];
        s.merchant = f->merchant;
        s.currency = f->currency;
        ++s.flows;
        s.net += f->minor;
        continue;
      }
      grouped[f->currency][f->merchant].push_back(f);
    }
    for (const auto& [currency, merchants] : grouped) {
      CurrencyTransit c;
      c.currency = currency;
      auto asset = ledger::Asset::find(currency);
      if (!asset) {
        return make_error(asset.error().code,
                          fmt::format("rails comparison: currency {}: {}", currency,
                                      asset.error().reason));
      }
      c.exponent = asset->exponent();
      std::vector<std::string> ids;
      for (const auto& [merchant, _] : merchants) ids.push_back(merchant);
      for (Rail rail : {Rail::kBatch, Rail::kTokenised}) {
        RailReplay replay;
        replay.payouts_by_merchant.assign(ids.size(), 0);
        size_t m = 0;
        for (const auto& [merchant, list] : merchants) {
          ledger::SettlementPolicy policy = policies.at({merchant, currency});
          policy.rail = rail;
          if (Status s = replay_merchant(list, policy, m, options, &replay); !s) return s.error();
          ++m;
        }
        std::vector<const Fate*> all;
        for (const auto& f : replay.fates) all.push_back(&f);
        uint64_t payouts = 0;
        for (uint64_t n : replay.payouts_by_merchant) payouts += n;
        RailTransit& out = rail == Rail::kBatch ? c.batch : c.tokenised;
        out.stats = stats_of(all, payouts, options, options.series ? &out.series : nullptr);
        if (options.by_merchant) {
          c.merchants.resize(ids.size());
          std::vector<std::vector<const Fate*>> mine(ids.size());
          for (const auto& f : replay.fates) mine[f.merchant].push_back(&f);
          for (size_t k = 0; k < ids.size(); ++k) {
            c.merchants[k].merchant = ids[k];
            (rail == Rail::kBatch ? c.merchants[k].batch : c.merchants[k].tokenised) =
                stats_of(mine[k], replay.payouts_by_merchant[k], options, nullptr);
          }
        }
      }
      report.currencies.push_back(std::move(c));
    }
  } catch (const std::overflow_error& e) {
    return make_error(Code::kOverflow, fmt::format("rails comparison: {}", e.what()));
  } catch (const std::range_error& e) {
    return make_error(Code::kOverflow, fmt::format("rails comparison: {}", e.what()));
  }
  for (auto& [_, s] : skipped) report.skipped.push_back(std::move(s));
  return report;
}

std::optional<std::pair<int64_t, int64_t>> default_period(const std::vector<PayableFlow>& flows) {
  if (flows.empty()) return std::nullopt;
  int64_t first = flows.front().at_s;
  int64_t last = first;
  for (const auto& f : flows) {
    first = std::min(first, f.at_s);
    last = std::max(last, f.at_s);
  }
  return std::pair{floor_div(first, 86400) * 86400, (floor_div(last, 86400) + 1) * 86400};
}

std::optional<std::string> percent(const Int128& numerator, const Int128& denominator,
                                   int decimals) {
  if (denominator.sign() <= 0) return std::nullopt;
  Int256 scale = 100;
  for (int i = 0; i < decimals; ++i) scale *= 10;
  // numerator x 100 x 10^decimals / denominator, one half-even rounding, then the point put in.
  const Int256 scaled = div_half_even(Int256(numerator) * scale, Int256(denominator));
  return ledger::format_scaled(to_int128(scaled, "percentage"), decimals);
}

std::string hours_1dp(int64_t seconds) {
  // tenths of an hour = seconds x 10 / 3600, rounded half-even
  const Int256 tenths = div_half_even(Int256(seconds) * 10, Int256(3600));
  return ledger::format_scaled(Int128(tenths), 1);
}

std::optional<std::string> tokenised_vs_batch(const CurrencyTransit& c) {
  return percent(c.tokenised.stats.average, c.batch.stats.average);
}

std::string format_transit_table(const TransitReport& r) {
  std::string out = fmt::format(
      "Working capital in transit, {} .. {}: the same payable flows replayed under each rail\n"
      "(batch: cut-off, T+N business days, funds at the value date's local midnight; "
      "tokenised: funds at the sweep; reserves left out)\n",
      ledger::utc_rfc3339(r.from_s), ledger::utc_rfc3339(r.to_s));
  if (r.currencies.empty()) out += "\nno payable flows with a settlement policy before the end\n";
  for (const auto& c : r.currencies) {
    const int e = c.exponent;
    const TransitStats& b = c.batch.stats;
    const TransitStats& t = c.tokenised.stats;
    auto row = [&](std::string_view label, const std::string& bv, const std::string& tv) {
      out += fmt::format("  {:<32} {:>20} {:>20}\n", label, bv, tv);
    };
    out += fmt::format("\n{:<34} {:>20} {:>20}\n", c.currency, "batch", "tokenised");
    row("flows in period", std::to_string(b.flows), std::to_string(t.flows));
    row("net payable", major(b.net, e), major(t.net, e));
    row("paid", major(b.paid, e), major(t.paid, e));
    row("unpaid (carried at the end)", major(b.unpaid, e), major(t.unpaid, e));
    row("payouts", std::to_string(b.payouts), std::to_string(t.payouts));
    row("in transit, average", major(b.average, e), major(t.average, e));
    row("in transit, peak", major(b.peak, e), major(t.peak, e));
    row("time to funds, average (h)", hours_1dp(b.ttf_average_s), hours_1dp(t.ttf_average_s));
    row("time to funds, p95 (h)", hours_1dp(b.ttf_p95_s), hours_1dp(t.ttf_p95_s));
    auto ratio = tokenised_vs_batch(c);
    out += fmt::format("  tokenised / batch, average in transit: {}\n",
                       ratio ? *ratio + "%" : std::string("n/a (nothing in transit on batch)"));
    if (!c.merchants.empty()) {
      out += fmt::format("  {:<20} {:>16} {:>16} {:>9} {:>9} {:>8}\n", "merchant",
                         "batch avg", "tokenised avg", "batch h", "tok. h", "ratio");
      for (const auto& m : c.merchants) {
        auto mr = percent(m.tokenised.average, m.batch.average);
        out += fmt::format("  {:<20} {:>16} {:>16} {:>9} {:>9} {:>8}\n", m.merchant,
                           major(m.batch.average, e), major(m.tokenised.average, e),
                           hours_1dp(m.batch.ttf_average_s), hours_1dp(m.tokenised.ttf_average_s),
                           mr ? *mr + "%" : std::string("n/a"));
      }
    }
  }
  if (!r.skipped.empty()) {
    out += "\nskipped (no settlement policy for the merchant and currency):\n";
    for (const auto& s : r.skipped) {
      auto asset = ledger::Asset::find(s.currency);
      out += fmt::format("  {} {}: {} flows, net {}\n", s.merchant, s.currency, s.flows,
                         asset ? major(s.net, asset->exponent()) : s.net.str() + " minor");
    }
  }
  return out;
}

json transit_json(const TransitReport& r) {
  json currencies = json::array();
  for (const auto& c : r.currencies) {
    json merchants = json::array();
    for (const auto& m : c.merchants) {
      merchants.push_back(json{
          {"merchant", m.merchant},
          {"batch", stats_json(m.batch, c.exponent)},
          {"tokenised", stats_json(m.tokenised, c.exponent)},
          {"tokenised_vs_batch_average_percent",
           ratio_json(percent(m.tokenised.average, m.batch.average))}});
    }
    json row{{"currency", c.currency},
             {"batch", stats_json(c.batch.stats, c.exponent)},
             {"tokenised", stats_json(c.tokenised.stats, c.exponent)},
             {"tokenised_vs_batch_average_percent", ratio_json(tokenised_vs_batch(c))}};
    if (!c.merchants.empty()) row["merchants"] = std::move(merchants);
    currencies.push_back(std::move(row));
  }
  json skipped = json::array();
  for (const auto& s : r.skipped) {
    auto asset = ledger::Asset::find(s.currency);
    skipped.push_back(json{{"merchant", s.merchant},
                           {"currency", s.currency},
                           {"flows", s.flows},
                           {"net", asset ? major(s.net, asset->exponent()) : s.net.str()}});
  }
  return json{
      {"from", ledger::utc_rfc3339(r.from_s)}, {"to", ledger::utc_rfc3339(r.to_s)},
      {"period_s", r.to_s - r.from_s},         {"reserves", "ignored (the same on both rails)"},
      {"currencies", std::move(currencies)},   {"skipped_no_policy", std::move(skipped)}};
}

std::optional<bool> transit_chart_is_png(const std::string& file) {
  const std::string ext = std::filesystem::path(file).extension().string();
  if (ext == ".png") return true;
  if (ext == ".svg") return false;
  return std::nullopt;
}

Result<std::string> transit_chart_script(const TransitReport& r, const std::string& file,
                                         const std::string& work_dir) {
  auto png = transit_chart_is_png(file);
  if (!png) {
    return make_error(Code::kInvalidArgument,
                      fmt::format("chart '{}': the chart is FILE.svg or FILE.png", file));
  }
  namespace fs = std::filesystem;
  const int panels = std::max<int>(1, static_cast<int>(r.currencies.size()));
  std::string script =
      fmt::format("{} size 1000,{} font 'sans,9'\nset output {}\n",
                  *png ? "set terminal pngcairo" : "set terminal svg dynamic enhanced",
                  280 * panels, gnuplot_string(file));
  script +=
      "set xdata time\nset timefmt '%s'\nset format x \"%m-%d\\n%H:%M\"\nset grid\n"
      "set key top left\nset format y '%.0f'\n";
  script += fmt::format("set xrange ['{}':'{}']\n", r.from_s, r.to_s);
  if (r.currencies.empty()) {
    script += "set title 'payledger rails comparison: no payable flows with a settlement "
              "policy'\nunset xdata\nset format x '%g'\nset xrange [0:1]\nset yrange [0:1]\n"
              "plot 2 notitle\n";
    return script;
  }
  script += fmt::format("set multiplot layout {},1\n", panels);
  for (const auto& c : r.currencies) {
    std::string files[2];
    const RailTransit* rails[2] = {&c.batch, &c.tokenised};
    const char* names[2] = {"batch", "tokenised"};
    for (int k = 0; k < 2; ++k) {
      files[k] = (fs::path(work_dir) / (c.currency + "_" + names[k] + ".dat")).string();
      std::ofstream data(files[k]);
      // A step line: each level from its moment to the next; the last one held until to_s.
      // Levels in major units as exact decimals (gnuplot reads them as numbers).
      for (const auto& p : rails[k]->series) {
        data << p.at_s << ' ' << major(p.minor, c.exponent) << '\n';
      }
      if (!rails[k]->series.empty()) {
        data << r.to_s << ' ' << major(rails[k]->series.back().minor, c.exponent) << '\n';
      }
      data.close();
      if (!data) return make_error(Code::kIo, fmt::format("cannot write {}", files[k]));
    }
    auto ratio = tokenised_vs_batch(c);
    std::string title = fmt::format(
        "{} in transit: batch average {} (peak {}), tokenised average {} (peak {}); "
        "tokenised/batch {}",
        c.currency, major(c.batch.stats.average, c.exponent),
        major(c.batch.stats.peak, c.exponent), major(c.tokenised.stats.average, c.exponent),
        major(c.tokenised.stats.peak, c.exponent), ratio ? *ratio + "%" : std::string("n/a"));
    script += fmt::format("set title {} noenhanced\nset ylabel {}\n", gnuplot_string(title),
                          gnuplot_string(c.currency + " in transit"));
    script += fmt::format(
        "plot {} using 1:2 with steps lw 1.5 lc rgb '#3182bd' title 'batch', {} using 1:2 "
        "with steps lw 1.5 lc rgb '#de2d26' title 'tokenised'\n",
        gnuplot_string(files[0]), gnuplot_string(files[1]));
  }
  script += "unset multiplot\n";
  return script;
}

Status plot_transit(const TransitReport& r, const std::string& file) {
  auto work = GnuplotWorkDir::create("payledger-transit");
  if (!work) return work.error();
  auto script = transit_chart_script(r, file, work->path());
  if (!script) return script.error();
  const std::string path = (std::filesystem::path(work->path()) / "chart.gp").string();
  std::ofstream out(path);
  out << *script;
  out.close();
  if (!out) return make_error(Code::kIo, fmt::format("cannot write {}", path));
  return run_gnuplot(path);
}

}  // namespace payledger::settlement
