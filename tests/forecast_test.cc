// ETS(A,A,A) smoothing, forecasts and bands checked against statsmodels (an independent
// implementation) on a committed fixture, and the fitter on series with a known pattern.
#include "projections/forecast.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace payledger::projections {
namespace {

using json = nlohmann::json;

json load_fixture() {
  std::ifstream in(std::string(PAYLEDGER_FIXTURES_DIR) + "/forecast/ets_aaa.json");
  EXPECT_TRUE(in.good()) << "missing tests/fixtures/forecast/ets_aaa.json";
  std::stringstream ss;
  ss << in.rdbuf();
  return json::parse(ss.str());
}

std::vector<double> doubles(const json& j) { return j.get<std::vector<double>>(); }

// 1e-6 relative (the fixture's values are far from zero).
void expect_close(double ours, double theirs, const std::string& what) {
  EXPECT_LE(std::fabs(ours - theirs), 1e-6 * std::max(1.0, std::fabs(theirs)))
      << what << ": ours " << ours << ", statsmodels " << theirs;
}

TEST(Forecast, SmoothingForecastsAndBandsEqualStatsmodelsOnTheFixture) {
  const json f = load_fixture();
  ASSERT_EQ(f["period"].get<int>(), 7);
  EtsParams p;
  p.alpha = f["alpha"];
  p.beta = f["beta"];
  p.gamma = f["gamma"];
  p.level0 = f["initial_level"];
  p.trend0 = f["initial_trend"];
  p.seasonal0 = doubles(f["initial_seasonal_time_order"]);
  const auto y = doubles(f["series"]);
  ASSERT_EQ(y.size(), 63u);

  const EtsSmoothed s = ets_smooth(y, p);
  const auto fitted = doubles(f["fitted"]);
  ASSERT_EQ(s.fitted.size(), fitted.size());
  for (size_t t = 0; t < fitted.size(); ++t) {
    expect_close(s.fitted[t], fitted[t], "fitted[" + std::to_string(t) + "]");
  }
  expect_close(s.sse, f["sse"], "sse");
  expect_close(s.sigma2, f["mse"], "sigma^2 (mse)");
  expect_close(s.level, f["level_end"], "final level");
  expect_close(s.trend, f["trend_end"], "final trend");

  const int h = f["horizon"];
  ASSERT_EQ(h, 21);  // three seasons: the gamma term of the variance enters at h = 8 and 15
  const auto points = ets_forecast(p, s, h);
  ASSERT_EQ(points.size(), static_cast<size_t>(h));
  const auto mean = doubles(f["forecast_mean"]), var = doubles(f["forecast_variance"]);
  const auto lo80 = doubles(f["pi80_lower"]), hi80 = doubles(f["pi80_upper"]);
  const auto lo95 = doubles(f["pi95_lower"]), hi95 = doubles(f["pi95_upper"]);
  for (int i = 0; i < h; ++i) {
    const std::string at = "[h=" + std::to_string(i + 1) + "]";
    expect_close(points[i].mean, mean[i], "mean" + at);
    expect_close(points[i].variance, var[i], "variance" + at);
    expect_close(points[i].lo80, lo80[i], "80% lower" + at);
    expect_close(points[i].hi80, hi80[i], "80% upper" + at);
    expect_close(points[i].lo95, lo95[i], "95% lower" + at);
    expect_close(points[i].hi95, hi95[i], "95% upper" + at);
  }
}

// y_t = 200 + 3 t + pattern[t mod 7], eight weeks, no noise.
std::vector<double> synthetic(int days, double noise_scale) {
  const double pattern[7] = {40, -25, 10, -30, 0, 35, -30};
  std::vector<double> y;
  for (int t = 0; t < days; ++t) {
    // Deterministic "noise": a fixed sequence in [-1, 1].
    double noise = noise_scale * std::sin(12.9898 * t + 78.233 * (t % 5));
    y.push_back(200.0 + 3.0 * t + pattern[t % 7] + noise);
  }
  return y;
}

TEST(Forecast, TheFitterRecoversAKnownWeeklyPatternAndTrend) {
  const auto y = synthetic(56, 0.0);
  const ForecastFit fit = forecast_fit(y, 7);
  ASSERT_EQ(fit.method, ForecastMethod::kEtsAAA);
  EXPECT_TRUE(fit.note.empty());
  const auto points = forecast(fit, 14);
  ASSERT_EQ(points.size(), 14u);
  const auto truth = synthetic(70, 0.0);
  for (int h = 1; h <= 14; ++h) {
    EXPECT_NEAR(points[h - 1].mean, truth[55 + h], 1e-6) << "h=" << h;
    EXPECT_LE(points[h - 1].lo95, points[h - 1].mean);
    EXPECT_GE(points[h - 1].hi95, points[h - 1].mean);
  }
}

TEST(Forecast, WithNoiseTheFitStaysCloseAndIsDeterministic) {
  const auto y = synthetic(63, 4.0);
  const ForecastFit a = forecast_fit(y, 7);
  const ForecastFit b = forecast_fit(y, 7);
  ASSERT_EQ(a.method, ForecastMethod::kEtsAAA);
  EXPECT_EQ(a.params.alpha, b.params.alpha);
  EXPECT_EQ(a.params.beta, b.params.beta);
  EXPECT_EQ(a.params.gamma, b.params.gamma);
  EXPECT_GT(a.params.beta, 0.0);
  EXPECT_LT(a.params.beta, a.params.alpha);
  EXPECT_LT(a.params.gamma, 1.0 - a.params.alpha);
  const auto points = forecast(a, 14);
  const auto truth = synthetic(77, 0.0);
  for (int h = 1; h <= 14; ++h) {
    // The noise is at most 4; the weekly swing is 70 and the trend 42 over the horizon.
    EXPECT_NEAR(points[h - 1].mean, truth[62 + h], 8.0) << "h=" << h;
    EXPECT_LT(points[h - 1].lo95, truth[62 + h]) << "h=" << h;
    EXPECT_GT(points[h - 1].hi95, truth[62 + h]) << "h=" << h;
  }
  // The optimiser lowers the SSE below that of the grid's plain start (alpha 0.3, beta 0.03,
  // gamma 0.07) with the same initial states.
  EtsParams start = a.params;
  start.alpha = 0.3, start.beta = 0.03, start.gamma = 0.07;
  EXPECT_LT(a.smoothed.sse, ets_smooth(y, start).sse);
}

TEST(Forecast, ShortHistoriesFallBackAndNeverGiveNaN) {
  const ForecastFit none = forecast_fit({}, 7);
  EXPECT_EQ(none.method, ForecastMethod::kNone);
  EXPECT_TRUE(forecast(none, 30).empty());
  EXPECT_FALSE(none.note.empty());

  const ForecastFit one = forecast_fit({120.0}, 7);
  EXPECT_EQ(one.method, ForecastMethod::kMean);
  auto p1 = forecast(one, 3);
  ASSERT_EQ(p1.size(), 3u);
  EXPECT_EQ(p1[0].mean, 120.0);
  EXPECT_EQ(p1[0].lo95, 120.0);  // one day: no spread known

  const ForecastFit two = forecast_fit({100.0, 140.0}, 7);
  EXPECT_EQ(two.method, ForecastMethod::kMean);
  auto p2 = forecast(two, 2);
  // mean 120; sample variance ((-20)^2 + 20^2) / 1 = 800; times (1 + 1/2) = 1200.
  EXPECT_EQ(p2[1].mean, 120.0);
  EXPECT_DOUBLE_EQ(p2[1].variance, 1200.0);

  const std::vector<double> ten{5, 7, 6, 9, 8, 10, 12, 11, 13, 12};
  const ForecastFit holt = forecast_fit(ten, 7);
  EXPECT_EQ(holt.method, ForecastMethod::kHolt);
  EXPECT_EQ(holt.params.gamma, 0.0);
  EXPECT_FALSE(holt.note.empty());
  for (const auto& p : forecast(holt, 30)) {
    for (double v : {p.mean, p.variance, p.lo80, p.hi80, p.lo95, p.hi95}) {
      EXPECT_TRUE(std::isfinite(v));
    }
  }

  const ForecastFit bad = forecast_fit({1.0, NAN, 3.0}, 7);
  EXPECT_EQ(bad.method, ForecastMethod::kNone);
  EXPECT_TRUE(forecast(bad, 5).empty());

  // A constant series: zero variance, finite bands equal to the mean.
  const ForecastFit flat = forecast_fit(std::vector<double>(21, 50.0), 7);
  EXPECT_EQ(flat.method, ForecastMethod::kEtsAAA);
  for (const auto& p : forecast(flat, 10)) {
    EXPECT_NEAR(p.mean, 50.0, 1e-9);
    EXPECT_TRUE(std::isfinite(p.lo95) && std::isfinite(p.hi95));
  }
}

}  // namespace
}  // namespace payledger::projections
