// Business-day calendars per currency for the batch settlement rail (issue 11 item 3): which
// days a currency's settlement system is closed, and T+N value dates over them.
//
// A calendar is a text file settlement/calendars/<CCY>.txt (format in docs/settlement.md):
// comments naming the sources, a `years FIRST LAST` line declaring the covered years, then one
// `YYYY-MM-DD name` line per holiday in increasing date order. The files are embedded into the
// binary at build time (builtin_calendar), so nothing is read from disk at run time.
//
// Saturdays and Sundays are closed for every currency. A date outside the declared years is
// refused, never guessed: settlement must not compute a value date from a calendar that does
// not know that year's holidays.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "events/schema/result.h"

namespace payledger::settlement {

// A proleptic Gregorian calendar date, no time zone (a value date is a local banking day).
struct CivilDate {
  int32_t year = 1970;
  uint32_t month = 1;  // 1..12
  uint32_t day = 1;    // 1..31

  // Strict YYYY-MM-DD; kInvalidArgument for anything else or an impossible date (2026-02-30).
  static Result<CivilDate> parse(std::string_view text);
  static CivilDate from_days(int64_t days_since_epoch);
  int64_t days_since_epoch() const;  // 1970-01-01 = 0
  // 0 = Sunday ... 6 = Saturday.
  int weekday() const;
  bool is_weekend() const { int w = weekday(); return w == 0 || w == 6; }
  std::string to_string() const;

  friend auto operator<=>(const CivilDate&, const CivilDate&) = default;
};

class Calendar {
 public:
  // Parses a calendar's text. `source` names it in errors ("settlement/calendars/GBP.txt");
  // `currency` is the ISO code it is for. Every problem is kMalformed naming source:line:
  // a line that is not `YYYY-MM-DD name`, an impossible date, a holiday outside the declared
  // years, a duplicate or out-of-order date, a missing or repeated `years` line.
  static Result<Calendar> parse(std::string_view currency, std::string_view source,
                                std::string_view text);
  // Reads and parses a file; the currency is the file name without ".txt". kIo if unreadable.
  static Result<Calendar> load_file(const std::string& path);

  const std::string& currency() const { return currency_; }
  int32_t first_year() const { return first_year_; }
  int32_t last_year() const { return last_year_; }
  size_t holiday_count() const { return holidays_.size(); }
  // The holiday's name, or nullptr (also for a plain weekend day).
  const std::string* holiday_name(CivilDate date) const;

  // Open for settlement: not a Saturday, Sunday or holiday. kInvalidArgument outside the
  // covered years.
  Result<bool> is_business_day(CivilDate date) const;
  // The first business day strictly after `date`.
  Result<CivilDate> next_business_day(CivilDate date) const;
  // T+n: the n-th business day after `date` (n >= 1); for n == 0, `date` itself if it is a
  // business day, else the next one (a Saturday trade is valued as Monday's). A result past
  // the covered years, a date outside them, or n < 0 is kInvalidArgument.
  Result<CivilDate> add_business_days(CivilDate date, int n) const;

 private:
  Status check_covered(CivilDate date, std::string_view what) const;

  std::string currency_;
  std::string source_;
  int32_t first_year_ = 0;
  int32_t last_year_ = 0;
  std::map<CivilDate, std::string> holidays_;
};

// The calendars embedded at build time from settlement/calendars/*.txt, by currency code
// ("GBP"). kUnknownAsset for a currency with no calendar; a calendar that does not parse is a
// build that should never have shipped (PAYLEDGER_CHECK).
Result<const Calendar*> builtin_calendar(std::string_view currency);
// The currency codes with an embedded calendar, sorted.
std::vector<std::string> builtin_currencies();

}  // namespace payledger::settlement
