#include "settlement/schedule.h"

#include <fmt/format.h>

#include "ledger/local_time.h"

namespace payledger::settlement {
namespace {

// A batch schedule walks at most this many days looking for an open cut-off: more closed days
// in a row than any calendar has (the longest, JPY's New Year, is 3 plus a weekend).
constexpr int kCutoffSearchDays = 31;

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

struct BatchClock {
  ledger::TimeZone zone;
  const Calendar* calendar;
};

Result<BatchClock> batch_clock(const ledger::SettlementPolicy& policy, std::string_view currency) {
  auto zone = ledger::find_time_zone(policy.time_zone);
  if (!zone) return zone.error();
  auto calendar = builtin_calendar(currency);
  if (!calendar) return calendar.error();
  return BatchClock{*zone, *calendar};
}

// The cut-off instant on local day `day` (days since the epoch).
int64_t cutoff_on(const BatchClock& clock, const ledger::SettlementPolicy& policy, int64_t day) {
  return ledger::local_to_utc(clock.zone, day * 86400 + int64_t{policy.cutoff_minute} * 60);
}

Result<Cycle> batch_cycle_on(const BatchClock& clock, const ledger::SettlementPolicy& policy,
                             int64_t day) {
  Cycle c;
  c.cutoff_s = cutoff_on(clock, policy, day);
  c.cycle_date = CivilDate::from_days(day);
  auto value =
      clock.calendar->add_business_days(c.cycle_date, static_cast<int>(policy.settlement_days));
  if (!value) return value.error();
  c.value_date = *value;
  c.funds_s = ledger::local_to_utc(clock.zone, value->days_since_epoch() * 86400);
  return c;
}

Result<Cycle> batch_cycle(const ledger::SettlementPolicy& policy, std::string_view currency,
                          int64_t at_s, int step) {
  auto clock = batch_clock(policy, currency);
  if (!clock) return clock.error();
  int64_t day = floor_div(at_s + ledger::utc_offset_at(clock->zone, at_s), 86400);
  for (int i = 0; i <= kCutoffSearchDays; ++i, day += step) {
    int64_t cutoff = cutoff_on(*clock, policy, day);
    if (step > 0 ? cutoff < at_s : cutoff > at_s) continue;
    auto open = clock->calendar->is_business_day(CivilDate::from_days(day));
    if (!open) return open.error();
    if (*open) return batch_cycle_on(*clock, policy, day);
  }
  return make_error(Code::kInvalidArgument,
                    fmt::format("no business day within {} days of {} in the {} calendar",
                                kCutoffSearchDays, at_s, currency));
}

Cycle sweep(const ledger::SettlementPolicy& policy, int64_t at_s, bool next) {
  const int64_t every =
      int64_t{policy.sweep_minutes == 0 ? kSweepMinutesDefault : policy.sweep_minutes} * 60;
  int64_t at = floor_div(at_s, every) * every;
  if (next && at < at_s) at += every;
  Cycle c;
  c.cutoff_s = at;
  c.cycle_date = CivilDate::from_days(floor_div(at, 86400));
  c.value_date = c.cycle_date;
  c.funds_s = at;
  return c;
}

}  // namespace

std::string Cycle::instruction_id(std::string_view currency, ledger::Rail rail) const {
  if (rail == ledger::Rail::kBatch) {
    return fmt::format("stl-{}-{}", currency, cycle_date.to_string());
  }
  const int64_t minute = floor_div(cutoff_s, 60) - cycle_date.days_since_epoch() * 1440;
  return fmt::format("stl-{}-{}T{:02}{:02}", currency, cycle_date.to_string(), minute / 60,
                     minute % 60);
}

Result<Cycle> next_batch_cycle(const ledger::SettlementPolicy& policy, std::string_view currency,
                               int64_t at_s) {
  return batch_cycle(policy, currency, at_s, +1);
}

Result<Cycle> last_batch_cycle(const ledger::SettlementPolicy& policy, std::string_view currency,
                               int64_t at_s) {
  return batch_cycle(policy, currency, at_s, -1);
}

Cycle next_sweep(const ledger::SettlementPolicy& policy, int64_t at_s) {
  return sweep(policy, at_s, true);
}

Cycle last_sweep(const ledger::SettlementPolicy& policy, int64_t at_s) {
  return sweep(policy, at_s, false);
}

Result<Cycle> next_cycle(const ledger::SettlementPolicy& policy, std::string_view currency,
                         int64_t at_s) {
  if (policy.rail == ledger::Rail::kTokenised) return next_sweep(policy, at_s);
  return next_batch_cycle(policy, currency, at_s);
}

Result<Cycle> last_cycle(const ledger::SettlementPolicy& policy, std::string_view currency,
                         int64_t at_s) {
  if (policy.rail == ledger::Rail::kTokenised) return last_sweep(policy, at_s);
  return last_batch_cycle(policy, currency, at_s);
}

}  // namespace payledger::settlement
