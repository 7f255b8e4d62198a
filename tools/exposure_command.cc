// payledger exposure: money not yet settled per currency and value-date week, what is hedged,
// and a forecast of money in, as a table, JSON, or a gnuplot chart (docs/fx.md, "Exposure and
// forecast").
#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <regex>

#include "ledger/amount.h"
#include "ledger/local_time.h"
#include "projections/exposure.h"
#include "settlement/gnuplot.h"
#include "tools/query_stores.h"

extern char** environ;

namespace payledger::tools {
namespace {

using json = nlohmann::ordered_json;
using projections::CurrencyExposure;
using projections::ExposureBucket;
using projections::kDaySeconds;
using settlement::gnuplot_string;  // shared with the rails comparison chart
using settlement::run_gnuplot;


std::string utc(int64_t seconds, const char* format) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}
std::string date_of_day(int64_t day) { return utc(day * kDaySeconds, "%Y-%m-%d"); }

int64_t day_of(int64_t t_s) {
  return t_s >= 0 ? t_s / kDaySeconds : -((-t_s + kDaySeconds - 1) / kDaySeconds);
}

// A forecast number for JSON: never NaN or infinite (null instead, which cannot happen for
// finite history, see projections/forecast.h).
json number(double v) { return std::isfinite(v) ? json(v) : json(); }

json bucket_json(const ExposureBucket& b, int e) {
  auto s = [&](const ledger::Int128& v) { return ledger::format_scaled(v, e); };
  return json{{"card_holds", s(b.card_holds)},
              {"vouchers_outstanding", s(b.vouchers_outstanding)},
              {"vouchers_expected", s(b.vouchers_expected)},
              {"bnpl_upfronts", s(b.bnpl_upfronts)},
              {"payables", s(b.payables)},
              {"net", s(b.net())}};
}

struct Week {
  std::string name;
  int64_t from_day = 0;
  std::optional<int64_t> to_day;  // inclusive; none for "later"
};

std::vector<Week> weeks_of(int64_t as_of_day, int horizon) {
  std::vector<Week> out;
  for (int w = 0; w * 7 < horizon; ++w) {
    int64_t from = as_of_day + w * 7;
    out.push_back({fmt::format("week {}", w + 1), from,
                   std::min<int64_t>(from + 6, as_of_day + horizon - 1)});
  }
  out.push_back({"later", as_of_day + horizon, std::nullopt});
  return out;
}

// Sum of the daily forecast means of the days of `w` (a week within the horizon).
double forecast_sum(const CurrencyExposure& c, int64_t as_of_day, const Week& w) {
  double sum = 0;
  for (int64_t d = w.from_day; w.to_day && d <= *w.to_day; ++d) {
    size_t i = static_cast<size_t>(d - as_of_day);
    if (i < c.forecast.size()) sum += c.forecast[i].mean;
  }
  return sum;
}

json forecast_json(const CurrencyExposure& c, int64_t as_of_day) {
  json f{{"method", projections::forecast_method_name(c.fit.method)},
         {"note", c.fit.note},
         {"unit", "major units of the currency, floating point: a forecast, never booked"},
         {"history_days", c.history.size()},
         {"history_from", c.history.empty() ? json() : json(date_of_day(c.history_first_day))}};
  if (c.fit.method == projections::ForecastMethod::kEtsAAA ||
      c.fit.method == projections::ForecastMethod::kHolt) {
    f["params"] = json{{"alpha", number(c.fit.params.alpha)},
                       {"beta", number(c.fit.params.beta)},
                       {"gamma", number(c.fit.params.gamma)},
                       {"sigma2", number(c.fit.smoothed.sigma2)}};
  }
  json daily = json::array();
  for (size_t h = 0; h < c.forecast.size(); ++h) {
    const auto& p = c.forecast[h];
    daily.push_back(json{{"date", date_of_day(as_of_day + static_cast<int64_t>(h))},
                         {"forecast_mean", number(p.mean)},
                         {"forecast_lo80", number(p.lo80)},
                         {"forecast_hi80", number(p.hi80)},
                         {"forecast_lo95", number(p.lo95)},
                         {"forecast_hi95", number(p.hi95)}});
  }
  f["daily"] = std::move(daily);
  return f;
}

json exposure_json(const projections::Exposure& x, const QueryStores& q) {
  const int64_t as_of_day = day_of(x.as_of_s);
  const auto weeks = weeks_of(as_of_day, x.horizon_days);
  json currencies = json::array();
  for (const auto& c : x.currencies) {
    json buckets = json::array();
    for (size_t w = 0; w < weeks.size(); ++w) {
      const ExposureBucket& b = w + 1 < weeks.size() ? c.weeks[w] : c.later;
      json j{{"bucket", weeks[w].name},
             {"from", date_of_day(weeks[w].from_day)},
             {"to", weeks[w].to_day ? json(date_of_day(*weeks[w].to_day)) : json()}};
      j.update(bucket_json(b, c.exponent));
      buckets.push_back(std::move(j));
    }
    uint64_t quotes = 0;
    for (const auto& [pair, n] : c.open_quotes) quotes += n;
    currencies.push_back(json{
        {"asset", c.asset},
        {"buckets", std::move(buckets)},
        {"total", bucket_json(c.total, c.exponent)},
        {"hedged", json{{"open_quotes", quotes},
                        {"open_quotes_by_pair", c.open_quotes},
                        {"forwards", c.forwards_hedged
                                         ? json(ledger::format_scaled(*c.forwards_hedged,
                                                                      c.exponent))
                                         : json()}}},
        {"forecast", forecast_json(c, as_of_day)}});
  }
  json rates = json::array();
  for (const auto& r : x.voucher_rates) {
    rates.push_back(json{{"method", r.method}, {"paid", r.paid}, {"ended", r.ended},
                         {"outstanding", r.outstanding}});
  }
  json out{{"as_of", ledger::utc_rfc3339(x.as_of_s)},
           {"as_of_from_books", x.as_of_from_books},
           {"horizon_days", x.horizon_days},
           {"currencies", std::move(currencies)},
           {"voucher_pay_rates", std::move(rates)},
           {"lapsed", json{{"card_holds", x.lapsed_holds}, {"vouchers", x.lapsed_vouchers}}},
           {"money_in_accounts", x.money_in_accounts},
           {"complete", q.complete}};
  if (!q.complete) out["gaps"] = q.gaps;
  return out;
}

void print_table(const projections::Exposure& x) {
  const int64_t as_of_day = day_of(x.as_of_s);
  const auto weeks = weeks_of(as_of_day, x.horizon_days);
  fmt::print("exposure as of {}{}, horizon {} days (value dates from {})\n",
             ledger::utc_rfc3339(x.as_of_s), x.as_of_from_books ? " (the books' latest event)" : "",
             x.horizon_days, date_of_day(as_of_day));
  if (x.currencies.empty()) {
    fmt::print("no open money, no payables and no money-in history in the books\n");
    return;
  }
  for (const auto& c : x.currencies) {
    fmt::print("\n{}\n{:<24} {:>16} {:>16} {:>16} {:>16} {:>16} {:>17} {:>18}\n", c.asset,
               "VALUE DATE", "CARD HOLDS", "VOUCHERS FACE", "VOUCHERS EXP", "BNPL UP-FRONT",
               "PAYABLES (OUT)", "NET EXPECTED", "FORECAST IN (SUM)");
    for (size_t w = 0; w < weeks.size(); ++w) {
      const ExposureBucket& b = w + 1 < weeks.size() ? c.weeks[w] : c.later;
      std::string when = weeks[w].to_day ? fmt::format("{} {}..{}", weeks[w].name,
                                                       date_of_day(weeks[w].from_day).substr(5),
                                                       date_of_day(*weeks[w].to_day).substr(5))
                                         : fmt::format("later (>= {})",
                                                       date_of_day(weeks[w].from_day).substr(5));
      auto s = [&](const ledger::Int128& v) { return ledger::format_scaled(v, c.exponent); };
      std::string fc = !weeks[w].to_day || c.forecast.empty()
                           ? "-"
                           : fmt::format("~{:.{}f}", forecast_sum(c, as_of_day, weeks[w]),
                                         c.exponent);
      fmt::print("{:<24} {:>16} {:>16} {:>16} {:>16} {:>16} {:>17} {:>18}\n", when,
                 s(b.card_holds), s(b.vouchers_outstanding), s(b.vouchers_expected),
                 s(b.bnpl_upfronts), s(b.payables), s(b.net()), fc);
    }
    auto s = [&](const ledger::Int128& v) { return ledger::format_scaled(v, c.exponent); };
    fmt::print("{:<24} {:>16} {:>16} {:>16} {:>16} {:>16} {:>17}\n", "total", s(c.total.card_holds),
               s(c.total.vouchers_outstanding), s(c.total.vouchers_expected),
               s(c.total.bnpl_upfronts), s(c.total.payables), s(c.total.net()));
    std::string quotes;
    for (const auto& [pair, n] : c.open_quotes) quotes += fmt::format(" {} x{}", pair, n);
    fmt::print("hedged: open locked quotes:{}; forwards (sold forward, net): {} {}\n",
               quotes.empty() ? " none" : quotes,
               c.forwards_hedged ? ledger::format_scaled(*c.forwards_hedged, c.exponent) : "-",
               c.asset);
    if (c.fit.method == projections::ForecastMethod::kNone) {
      fmt::print("forecast: none ({})\n", c.fit.note);
    } else {
      const auto& last = c.forecast.back();
      fmt::print("forecast: {} over {} days of history{}; day {}: {:.{}f} "
                 "[80% {:.{}f} .. {:.{}f}, 95% {:.{}f} .. {:.{}f}]\n",
                 projections::forecast_method_name(c.fit.method), c.history.size(),
                 c.fit.note.empty() ? "" : " (" + c.fit.note + ")", c.forecast.size(),
                 last.mean, c.exponent, last.lo80, c.exponent, last.hi80, c.exponent, last.lo95,
                 c.exponent, last.hi95, c.exponent);
    }
  }
  for (const auto& r : x.voucher_rates) {
    fmt::print("\nvoucher pay rate {}: {} paid in time of {} ended; {} outstanding", r.method,
               r.paid, r.ended, r.outstanding);
  }
  fmt::print("\nlapsed by the as-of (left out): {} card holds, {} vouchers\n", x.lapsed_holds,
             x.lapsed_vouchers);
}

// History and forecast (mean, 80% and 95% bands) per currency with history, one panel each.
Status plot(const projections::Exposure& x, const std::string& file, bool png) {
  namespace fs = std::filesystem;
  const int64_t as_of_day = day_of(x.as_of_s);
  std::error_code ec;
  fs::path dir = fs::temp_directory_path(ec);
  if (ec) dir = "/tmp";
  char tmpl[] = "payledger-exposure-XXXXXX";
  std::string pattern = (dir / tmpl).string();
  if (mkdtemp(pattern.data()) == nullptr) {
    return make_error(Code::kIo, fmt::format("cannot create a temporary directory in {}: {}",
                                             dir.string(), std::strerror(errno)));
  }
  fs::path work = pattern;
  std::vector<const CurrencyExposure*> shown;
  for (const auto& c : x.currencies) {
    if (!c.history.empty()) shown.push_back(&c);
  }
  std::ofstream script(work / "chart.gp");
  const int panels = std::max<int>(1, static_cast<int>(shown.size()));
  script << (png ? "set terminal pngcairo" : "set terminal svg dynamic enhanced")
         << " size 1000," << 260 * panels << " font 'sans,9'\n"
         << "set output " << gnuplot_string(file) << "\n"
         << "set xdata time\nset timefmt '%Y-%m-%d'\n"
         << "set format x '%m-%d'\nset grid\nset key top left\n"
         << "set style fill transparent solid 0.25 noborder\n";
  if (shown.empty()) {
    script << "set title 'payledger exposure: no money-in history in the books'\n"
           << "unset xdata\nset format x '%g'\nset xrange [0:1]\nset yrange [0:1]\n"
           << "plot 2 notitle\n";
  } else {
    script << "set multiplot layout " << panels << ",1\n";
  }
  for (const auto* c : shown) {
    std::string history = (work / (c->asset + "_history.dat")).string();
    std::string forecast = (work / (c->asset + "_forecast.dat")).string();
    {
      std::ofstream h(history);
      for (size_t i = 0; i < c->history.size(); ++i) {
        h << date_of_day(c->history_first_day + static_cast<int64_t>(i)) << ' '
          << fmt::format("{:.6f}", c->history[i]) << '\n';
      }
      std::ofstream f(forecast);
      for (size_t i = 0; i < c->forecast.size(); ++i) {
        const auto& p = c->forecast[i];
        f << date_of_day(as_of_day + static_cast<int64_t>(i))
          << fmt::format(" {:.6f} {:.6f} {:.6f} {:.6f} {:.6f}\n", p.mean, p.lo80, p.hi80, p.lo95,
                         p.hi95);
      }
    }
    std::string title = fmt::format(
        "{} money in per day: history and forecast ({}), as of {}", c->asset,
        projections::forecast_method_name(c->fit.method), date_of_day(as_of_day));
    script << "set title " << gnuplot_string(title) << " noenhanced\n"
           << "set ylabel " << gnuplot_string(c->asset) << "\n";
    if (c->forecast.empty()) {
      script << "plot " << gnuplot_string(history)
             << " using 1:2 with lines lw 1.5 title 'history'\n";
    } else {
      script << "plot " << gnuplot_string(forecast)
             << " using 1:5:6 with filledcurves lc rgb '#9ecae1' title '95% band', "
             << gnuplot_string(forecast)
             << " using 1:3:4 with filledcurves lc rgb '#3182bd' title '80% band', "
             << gnuplot_string(history) << " using 1:2 with lines lw 1.5 lc rgb 'black' "
             << "title 'history', " << gnuplot_string(forecast)
             << " using 1:2 with lines lw 1.5 dt 2 lc rgb '#de2d26' title 'forecast'\n";
    }
  }
  if (!shown.empty()) script << "unset multiplot\n";
  script.close();
  if (!script) {
    return make_error(Code::kIo, fmt::format("cannot write {}", (work / "chart.gp").string()));
  }
  Status s = run_gnuplot((work / "chart.gp").string());
  fs::remove_all(work, ec);
  return s;
}

}  // namespace

int cmd_exposure(const Common& common, const ExposureArgs& args) {
  static const std::regex kHorizon("([0-9]{1,3})d");
  std::smatch m;
  int horizon = 0;
  if (std::regex_match(args.horizon, m, kHorizon)) horizon = std::stoi(m[1].str());
  if (horizon < 1 || horizon > projections::kExposureHorizonMaxDays) {
    return usage(fmt::format("--horizon '{}' is not Nd with N from 1 to {} (e.g. 30d)",
                             args.horizon, projections::kExposureHorizonMaxDays));
  }
  std::optional<int64_t> as_of;
  if (auto bad = read_as_of(args.as_of, &as_of)) return usage(*bad);
  bool png = false;
  if (!args.plot.empty()) {
    std::string ext = std::filesystem::path(args.plot).extension().string();
    if (ext == ".png") {
      png = true;
    } else if (ext != ".svg") {
      return usage(fmt::format("--plot '{}': the chart is FILE.svg or FILE.png", args.plot));
    }
  }
  auto opened = open_query_stores(common);
  if (!opened) return fail(opened.error());
  auto x = projections::exposure(opened->stores, as_of, horizon);
  if (!x) return fail(x.error());
  if (common.json) {
    std::cout << exposure_json(*x, *opened).dump(2) << "\n";
  } else {
    print_table(*x);
  }
  if (!args.plot.empty()) {
    if (Status s = plot(*x, args.plot, png); !s) return fail(s.error());
    if (!common.json) fmt::print("chart written to {}\n", args.plot);
  }
  return kExitOk;
}

}  // namespace payledger::tools
