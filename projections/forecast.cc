#include "projections/forecast.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>

#include "events/schema/check.h"

namespace payledger::projections {

EtsSmoothed ets_smooth(const std::vector<double>& y, const EtsParams& p) {
  PAYLEDGER_CHECK(!p.seasonal0.empty(), "ETS needs a period of at least 1");
  const size_t m = p.seasonal0.size();
  EtsSmoothed out;
  out.fitted.reserve(y.size());
  double level = p.level0;
  double trend = p.trend0;
  // Ring of the last m seasonals; ring[t % m] holds s_{t-m} when day t is smoothed.
  std::vector<double> ring = p.seasonal0;
  for (size_t t = 0; t < y.size(); ++t) {
    double& season = ring[t % m];
    const double yhat = level + trend + season;
    const double e = y[t] - yhat;
    out.fitted.push_back(yhat);
    out.sse += e * e;
    level = level + trend + p.alpha * e;
    trend = trend + p.beta * e;
    season = season + p.gamma * e;  // now s_t
  }
  out.level = level;
  out.trend = trend;
  out.sigma2 = y.empty() ? 0.0 : out.sse / static_cast<double>(y.size());
  // Time order s_{n-m}..s_{n-1}: day n-m is at ring[(n-m) % m] = ring[n % m].
  out.seasonal.resize(m);
  for (size_t i = 0; i < m; ++i) out.seasonal[i] = ring[(y.size() + i) % m];
  return out;
}

namespace {

ForecastPoint band(double mean, double variance) {
  variance = std::max(variance, 0.0);
  const double sd = std::sqrt(variance);
  return ForecastPoint{mean,           variance,           mean - kZ80 * sd,
                       mean + kZ80 * sd, mean - kZ95 * sd, mean + kZ95 * sd};
}

}  // namespace

std::vector<ForecastPoint> ets_forecast(const EtsParams& p, const EtsSmoothed& s, int horizon) {
  PAYLEDGER_CHECK(!s.seasonal.empty(), "ETS forecast of an unsmoothed series");
  const int m = static_cast<int>(s.seasonal.size());
  std::vector<ForecastPoint> out;
  double sum_c2 = 0;  // sum_{j=1}^{h-1} c_j^2
  for (int h = 1; h <= horizon; ++h) {
    if (h > 1) {
      const int j = h - 1;
      const double c = p.alpha + p.beta * j + (j % m == 0 ? p.gamma : 0.0);
      sum_c2 += c * c;
    }
    const double mean = s.level + h * s.trend + s.seasonal[(h - 1) % m];
    out.push_back(band(mean, s.sigma2 * (1.0 + sum_c2)));
  }
  return out;
}

std::string_view forecast_method_name(ForecastMethod method) {
  switch (method) {
    case ForecastMethod::kEtsAAA: return "ets_aaa";
    case ForecastMethod::kHolt: return "holt";
    case ForecastMethod::kMean: return "mean";
    case ForecastMethod::kNone: return "none";
  }
  return "none";
}

namespace {

constexpr double kLow = 0.0001;
constexpr double kHigh = 0.9999;

double clamp01(double v) { return std::clamp(v, kLow, kHigh); }

// (a, b*, g*) -> alpha, beta, gamma inside the admissible region.
void set_weights(const std::array<double, 3>& x, bool seasonal, EtsParams* p) {
  const double a = clamp01(x[0]);
  p->alpha = a;
  p->beta = a * clamp01(x[1]);
  p->gamma = seasonal ? (1.0 - a) * clamp01(x[2]) : 0.0;
}

double sse_at(const std::vector<double>& y, const std::array<double, 3>& x, bool seasonal,
              EtsParams p) {
  set_weights(x, seasonal, &p);
  double sse = ets_smooth(y, p).sse;
  return std::isfinite(sse) ? sse : std::numeric_limits<double>::max();
}

// Deterministic Nelder-Mead (standard coefficients) over the first `dim` coordinates.
std::array<double, 3> nelder_mead(const std::vector<double>& y, bool seasonal, const EtsParams& p,
                                  std::array<double, 3> start, int dim) {
  auto f = [&](const std::array<double, 3>& x) { return sse_at(y, x, seasonal, p); };
  std::vector<std::array<double, 3>> simplex(dim + 1, start);
  for (int i = 0; i < dim; ++i) {
    simplex[i + 1][i] = start[i] + (start[i] < 0.5 ? 0.1 : -0.1);
  }
  std::vector<double> values(dim + 1);
  for (int i = 0; i <= dim; ++i) values[i] = f(simplex[i]);
  for (int iter = 0; iter < 300; ++iter) {
    std::vector<int> order(dim + 1);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return values[a] < values[b]; });
    const int best = order.front(), worst = order.back(), second = order[dim - 1];
    if (std::fabs(values[worst] - values[best]) <= 1e-10 * (std::fabs(values[best]) + 1e-12)) {
      break;
    }
    std::array<double, 3> centroid{};
    for (int i : order) {
      if (i == worst) continue;
      for (int k = 0; k < dim; ++k) centroid[k] += simplex[i][k] / dim;
    }
    auto along = [&](double t) {
      std::array<double, 3> x = simplex[worst];
      for (int k = 0; k < dim; ++k) x[k] = clamp01(centroid[k] + t * (simplex[worst][k] - centroid[k]));
      return x;
    };
    auto reflected = along(-1.0);
    double fr = f(reflected);
    if (fr < values[best]) {
      auto expanded = along(-2.0);
      double fe = f(expanded);
      if (fe < fr) {
        simplex[worst] = expanded, values[worst] = fe;
      } else {
        simplex[worst] = reflected, values[worst] = fr;
      }
    } else if (fr < values[second]) {
      simplex[worst] = reflected, values[worst] = fr;
    } else {
      auto contracted = fr < values[worst] ? along(-0.5) : along(0.5);
      double fc = f(contracted);
      if (fc < std::min(fr, values[worst])) {
        simplex[worst] = contracted, values[worst] = fc;
      } else {
        for (int i = 0; i <= dim; ++i) {  // shrink towards the best
          if (i == best) continue;
          for (int k = 0; k < dim; ++k) {
            simplex[i][k] = simplex[best][k] + 0.5 * (simplex[i][k] - simplex[best][k]);
          }
          values[i] = f(simplex[i]);
        }
      }
    }
  }
  int best = static_cast<int>(std::min_element(values.begin(), values.end()) - values.begin());
  return simplex[best];
}

// Grid, then Nelder-Mead from the grid's best point.
void fit_weights(const std::vector<double>& y, bool seasonal, EtsParams* p) {
  std::array<double, 3> best{0.3, 0.1, 0.1};
  double best_sse = std::numeric_limits<double>::max();
  for (double a : {0.05, 0.2, 0.4, 0.6, 0.8, 0.95}) {
    for (double b : {0.01, 0.1, 0.3, 0.6}) {
      for (double g : seasonal ? std::vector<double>{0.01, 0.1, 0.3, 0.6}
                               : std::vector<double>{0.0}) {
        std::array<double, 3> x{a, b, g};
        double sse = sse_at(y, x, seasonal, *p);
        if (sse < best_sse) best_sse = sse, best = x;
      }
    }
  }
  std::array<double, 3> x = nelder_mead(y, seasonal, *p, best, seasonal ? 3 : 2);
  if (sse_at(y, x, seasonal, *p) > best_sse) x = best;
  set_weights(x, seasonal, p);
}

}  // namespace

ForecastFit forecast_fit(const std::vector<double>& y, int period) {
  PAYLEDGER_CHECK(period >= 1, "forecast period must be at least 1");
  ForecastFit fit;
  fit.period = period;
  fit.n = y.size();
  const size_t m = static_cast<size_t>(period);
  if (y.empty()) {
    fit.note = "no history: no forecast";
    return fit;
  }
  if (!std::all_of(y.begin(), y.end(), [](double v) { return std::isfinite(v); })) {
    fit.note = "the history holds a non-finite value: no forecast";
    return fit;
  }
  if (y.size() >= 2 * m) {
    fit.method = ForecastMethod::kEtsAAA;
    const double mean1 = std::accumulate(y.begin(), y.begin() + m, 0.0) / m;
    const double mean2 = std::accumulate(y.begin() + m, y.begin() + 2 * m, 0.0) / m;
    fit.params.trend0 = (mean2 - mean1) / m;
    fit.params.level0 = mean1 - fit.params.trend0 * (m + 1) / 2.0;
    // The seasonals are what the first two seasons hold above the trend line l0 + b0 (t + 1).
    fit.params.seasonal0.resize(m);
    for (size_t i = 0; i < m; ++i) {
      double sum = 0;
      for (size_t k = 0; k < 2; ++k) {
        const size_t t = i + k * m;
        sum += y[t] - (fit.params.level0 + fit.params.trend0 * static_cast<double>(t + 1));
      }
      fit.params.seasonal0[i] = sum / 2.0;
    }
    fit_weights(y, /*seasonal=*/true, &fit.params);
  } else if (y.size() >= 3) {
    fit.method = ForecastMethod::kHolt;
    fit.note = "fewer than two weeks of history: Holt's linear trend, no weekly pattern";
    fit.params.level0 = y[0];
    fit.params.trend0 = y[1] - y[0];
    fit.params.seasonal0.assign(m, 0.0);
    fit_weights(y, /*seasonal=*/false, &fit.params);
  } else {
    fit.method = ForecastMethod::kMean;
    fit.note = "fewer than three days of history: the mean of the history";
    fit.mean = std::accumulate(y.begin(), y.end(), 0.0) / y.size();
    double ss = 0;
    for (double v : y) ss += (v - fit.mean) * (v - fit.mean);
    fit.mean_var = y.size() > 1 ? ss / (y.size() - 1) : 0.0;
    return fit;
  }
  fit.smoothed = ets_smooth(y, fit.params);
  return fit;
}

std::vector<ForecastPoint> forecast(const ForecastFit& fit, int horizon) {
  switch (fit.method) {
    case ForecastMethod::kEtsAAA:
    case ForecastMethod::kHolt:
      return ets_forecast(fit.params, fit.smoothed, horizon);
    case ForecastMethod::kMean: {
      std::vector<ForecastPoint> out;
      const double var = fit.mean_var * (1.0 + 1.0 / static_cast<double>(fit.n));
      for (int h = 1; h <= horizon; ++h) out.push_back(band(fit.mean, var));
      return out;
    }
    case ForecastMethod::kNone:
      break;
  }
  return {};
}

}  // namespace payledger::projections
