// Forecasts of daily flows (payledger exposure): additive Holt-Winters, i.e. ETS(A,A,A) in the
// error-correction form of Hyndman et al., "Forecasting with Exponential Smoothing" (2008):
//
//   yhat_t = l_{t-1} + b_{t-1} + s_{t-m}          e_t = y_t - yhat_t
//   l_t = l_{t-1} + b_{t-1} + alpha e_t
//   b_t = b_{t-1} + beta e_t
//   s_t = s_{t-m} + gamma e_t
//
// Forecasts are never booked: this is the one place in payledger where doubles are allowed,
// and nothing here touches a money type (callers convert minor units to double once, on the
// way in). docs/fx.md, "Exposure and forecast", states the method, the fitting, the interval
// formula and the check against statsmodels (tests/forecast_test.cc).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace payledger::projections {

// Parameters and initial states of ETS(A,A,A). `seasonal0` is in time order: s_{-m}, ...,
// s_{-1}, so seasonal0[0] belongs to the series' first day. `beta` is the error-correction
// trend weight (Hyndman's beta = alpha * beta*), as statsmodels' ETSModel smoothing_trend.
struct EtsParams {
  double alpha = 0;
  double beta = 0;
  double gamma = 0;
  double level0 = 0;
  double trend0 = 0;
  std::vector<double> seasonal0;  // size = the period m (>= 1)
};

// The one-step-ahead fit of a series.
struct EtsSmoothed {
  std::vector<double> fitted;     // yhat_t, t = 0..n-1
  double sse = 0;                 // sum of squared one-step errors
  double sigma2 = 0;              // sse / n (statsmodels' mse); 0 for an empty series
  double level = 0;               // l_{n-1}
  double trend = 0;               // b_{n-1}
  std::vector<double> seasonal;   // s_{n-m}, ..., s_{n-1} (time order)
};

// Runs the recursions over `y` from the given initial states.
EtsSmoothed ets_smooth(const std::vector<double>& y, const EtsParams& params);

// Central prediction interval levels given for every forecast: 80% and 95%, normal errors.
inline constexpr double kZ80 = 1.2815515655446004;  // Phi^-1(0.90)
inline constexpr double kZ95 = 1.959963984540054;   // Phi^-1(0.975)

struct ForecastPoint {
  double mean = 0;
  double variance = 0;  // of the h-step forecast error
  double lo80 = 0, hi80 = 0, lo95 = 0, hi95 = 0;
};

// h = 1..horizon steps after the smoothed series: mean l + h b + s (the same weekday's last
// seasonal), variance sigma^2 [1 + sum_{j=1}^{h-1} c_j^2], c_j = alpha + beta j + gamma
// [j mod m = 0] (class-1 formula), bands mean +- z sqrt(variance).
std::vector<ForecastPoint> ets_forecast(const EtsParams& params, const EtsSmoothed& smoothed,
                                        int horizon);

// Which model a fit used: the full seasonal model needs two seasons of history.
enum class ForecastMethod {
  kEtsAAA,  // >= 2 periods of history: ETS(A,A,A), weekly seasonality
  kHolt,    // 3 .. 2m-1 days: ETS(A,A,N) (Holt's linear trend; gamma = 0, seasonals 0)
  kMean,    // 1 or 2 days: the mean, variance of the mean's forecast error
  kNone,    // no history: no forecast
};
std::string_view forecast_method_name(ForecastMethod method);

struct ForecastFit {
  ForecastMethod method = ForecastMethod::kNone;
  int period = 7;
  EtsParams params;       // kEtsAAA and kHolt
  EtsSmoothed smoothed;   // kEtsAAA and kHolt
  double mean = 0;        // kMean: the mean of the history
  double mean_var = 0;    // kMean: sample variance (n-1; 0 for one day)
  size_t n = 0;           // days of history
  std::string note;       // why a simpler method was used (empty for kEtsAAA)
};

// Fits a daily series deterministically (same input => same numbers):
// - initial states by a heuristic from the first two seasons: level0 = mean of season 1 -
//   trend0 (m+1)/2, trend0 = (mean of season 2 - mean of season 1) / m, seasonal0[i] = the
//   mean over k = 0, 1 of y[i + k m] - (level0 + trend0 (i + k m + 1)) (what the day holds
//   above the trend line); Holt: level0 = y[0], trend0 = y[1] - y[0];
// - alpha, beta, gamma minimising the SSE: the best point of a fixed grid, then Nelder-Mead
//   (fixed start simplex, 300 iterations at most), over alpha = a, beta = a b*, gamma =
//   (1 - a) g* with a, b*, g* in [0.0001, 0.9999] (the usual region 0 < beta < alpha,
//   0 < gamma < 1 - alpha). Initial states are not optimised.
// period >= 1. A series with a non-finite value gives kNone (with a note).
ForecastFit forecast_fit(const std::vector<double>& y, int period);

// Forecasts `horizon` days ahead of the fitted series (empty for kNone). kMean: the mean, with
// variance mean_var (1 + 1/n).
std::vector<ForecastPoint> forecast(const ForecastFit& fit, int horizon);

}  // namespace payledger::projections
