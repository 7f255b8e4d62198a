// Business-day calendars (issue 11 item 3). Every expected date is written by hand from a
// wall calendar and the source named in settlement/calendars/<CCY>.txt, never computed by the
// code under test.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "settlement/calendar.h"

namespace payledger::settlement {
namespace {

CivilDate D(std::string_view s) { return CivilDate::parse(s).value(); }

const Calendar& cal(std::string_view ccy) {
  auto c = builtin_calendar(ccy);
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().reason);
  return **c;
}

bool open(std::string_view ccy, std::string_view date) {
  auto r = cal(ccy).is_business_day(D(date));
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().reason);
  return r.ok() && *r;
}

std::string t_plus(std::string_view ccy, std::string_view date, int n) {
  auto r = cal(ccy).add_business_days(D(date), n);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().reason);
  return r.ok() ? r->to_string() : "error";
}

TEST(CalendarDate, ParsesAndRefusesImpossibleDates) {
  EXPECT_EQ(D("2026-08-28").to_string(), "2026-08-28");
  // 2026-08-28 is a Friday (5); 2026-08-31 a Monday (1); 2026-07-04 a Saturday (6).
  EXPECT_EQ(D("2026-08-28").weekday(), 5);
  EXPECT_EQ(D("2026-08-31").weekday(), 1);
  EXPECT_EQ(D("2026-07-04").weekday(), 6);
  EXPECT_FALSE(CivilDate::parse("2026-02-29").ok());  // 2026 is not a leap year
  EXPECT_TRUE(CivilDate::parse("2028-02-29").ok());   // 2028 is
  EXPECT_FALSE(CivilDate::parse("2026-13-01").ok());
  EXPECT_FALSE(CivilDate::parse("2026-1-01").ok());
  EXPECT_FALSE(CivilDate::parse("26-01-01xx").ok());
  // from_days inverts days_since_epoch across a year end and a leap day.
  EXPECT_EQ(CivilDate::from_days(D("2026-12-31").days_since_epoch() + 1).to_string(),
            "2027-01-01");
  EXPECT_EQ(CivilDate::from_days(D("2028-02-28").days_since_epoch() + 1).to_string(),
            "2028-02-29");
}

TEST(Calendar, AllSevenCurrenciesAreEmbeddedFor2026And2027) {
  EXPECT_EQ(builtin_currencies(),
            (std::vector<std::string>{"BRL", "EUR", "GBP", "INR", "JPY", "MXN", "USD"}));
  for (const std::string& ccy : builtin_currencies()) {
    EXPECT_EQ(cal(ccy).first_year(), 2026) << ccy;
    EXPECT_EQ(cal(ccy).last_year(), 2027) << ccy;
  }
  auto none = builtin_calendar("CHF");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, Code::kUnknownAsset);
  EXPECT_NE(none.error().reason.find("settlement/calendars/CHF.txt"), std::string::npos);
}

// The test case: Friday 2026-08-28 capture under GBP T+1. Monday 2026-08-31 is the
// summer bank holiday (last Monday in August), so the value date is Tuesday 2026-09-01.
TEST(Calendar, GbpFridayTPlusOneOverSummerBankHolidayIsTuesday) {
  EXPECT_FALSE(open("GBP", "2026-08-31"));
  EXPECT_EQ(t_plus("GBP", "2026-08-28", 1), "2026-09-01");
  EXPECT_EQ(cal("GBP").next_business_day(D("2026-08-28"))->to_string(), "2026-09-01");
  // T+2: Tue 09-01 is the first business day, Wed 09-02 the second.
  EXPECT_EQ(t_plus("GBP", "2026-08-28", 2), "2026-09-02");
  // A week earlier there is no holiday: Fri 2026-08-21 T+1 = Mon 2026-08-24.
  EXPECT_EQ(t_plus("GBP", "2026-08-21", 1), "2026-08-24");
  // Christmas 2026: Fri 25 holiday, Sat 26 Boxing Day -> substitute Mon 28. Thu 24 T+1 = Tue 29.
  EXPECT_EQ(t_plus("GBP", "2026-12-24", 1), "2026-12-29");
}

// Fedwire: July 4 2026 is a Saturday and the Reserve Banks are OPEN the Friday before (the Fed
// does not move Saturday holidays; richmondfed.org holiday schedule). So 2026-07-03 is a USD
// business day even though it is the federal "observed" holiday for government offices.
// In 2027 July 4 is a Sunday: Monday 2027-07-05 is closed.
TEST(Calendar, UsdSaturdayHolidayIsNotMovedButSundayHolidayIs) {
  EXPECT_TRUE(open("USD", "2026-07-03"));
  EXPECT_FALSE(open("USD", "2026-07-04"));  // Saturday anyway
  EXPECT_FALSE(open("USD", "2027-07-05"));
  // Thu 2026-07-02 T+1 = Fri 07-03 (open), T+2 = Mon 07-06.
  EXPECT_EQ(t_plus("USD", "2026-07-02", 1), "2026-07-03");
  EXPECT_EQ(t_plus("USD", "2026-07-02", 2), "2026-07-06");
  // Thanksgiving Thu 2026-11-26: Wed 11-25 T+1 = Fri 11-27.
  EXPECT_EQ(t_plus("USD", "2026-11-25", 1), "2026-11-27");
}

// TARGET: Good Friday 2026-04-03 and Easter Monday 2026-04-06 (Easter Sunday 2026-04-05)
// closed, 1 May closed; Thu 04-02 T+1 jumps the four-day Easter break to Tue 04-07.
TEST(Calendar, EurTargetEasterAndLabourDay) {
  EXPECT_FALSE(open("EUR", "2026-04-03"));
  EXPECT_FALSE(open("EUR", "2026-04-06"));
  EXPECT_FALSE(open("EUR", "2026-05-01"));
  EXPECT_TRUE(open("EUR", "2026-04-07"));
  EXPECT_EQ(t_plus("EUR", "2026-04-02", 1), "2026-04-07");
  // 2027: Easter Sunday 03-28, so Good Friday 03-26 and Easter Monday 03-29.
  EXPECT_FALSE(open("EUR", "2027-03-26"));
  EXPECT_FALSE(open("EUR", "2027-03-29"));
  // TARGET does not substitute: 26 Dec 2026 is a Saturday and Mon 12-28 is open.
  EXPECT_TRUE(open("EUR", "2026-12-28"));
}

// BRL: Carnival Monday/Tuesday 2026-02-16/17 (Easter 04-05 minus 48/47 days). Friday 02-13
// T+1 = Wednesday 02-18 (Ash Wednesday is a business day for settlement).
TEST(Calendar, BrlCarnival) {
  EXPECT_FALSE(open("BRL", "2026-02-16"));
  EXPECT_FALSE(open("BRL", "2026-02-17"));
  EXPECT_TRUE(open("BRL", "2026-02-18"));
  EXPECT_EQ(t_plus("BRL", "2026-02-13", 1), "2026-02-18");
  // Corpus Christi Thu 2026-06-04 (Easter + 60): Wed 06-03 T+1 = Fri 06-05.
  EXPECT_EQ(t_plus("BRL", "2026-06-03", 1), "2026-06-05");
}

// JPY: banks close 31 Dec - 3 Jan. Wed 2026-12-30 T+1: Thu 12-31 closed, Fri 2027-01-01
// closed, Sat 01-02 and Sun 01-03 closed, Mon 01-04 open -> 2027-01-04.
TEST(Calendar, JpyYearEndClosureCrossesTheYear) {
  EXPECT_FALSE(open("JPY", "2026-12-31"));
  EXPECT_FALSE(open("JPY", "2027-01-01"));
  EXPECT_FALSE(open("JPY", "2027-01-02"));
  EXPECT_FALSE(open("JPY", "2027-01-03"));
  EXPECT_EQ(t_plus("JPY", "2026-12-30", 1), "2027-01-04");
  // Golden Week 2026: Fri 05-01 open; Sun 05-03 moves to Wed 05-06, so Mon 05-04 .. Wed
  // 05-06 are closed and Fri 05-01 T+1 = Thu 05-07.
  EXPECT_EQ(t_plus("JPY", "2026-05-01", 1), "2026-05-07");
}

TEST(Calendar, MxnAndInrSampleDays) {
  // MXN: Holy Thursday and Good Friday 2026-04-02/03 closed (CNBV 2026 list); Wed 04-01 T+1 =
  // Mon 04-06.
  EXPECT_EQ(t_plus("MXN", "2026-04-01", 1), "2026-04-06");
  // INR: Republic Day Mon 2026-01-26 closed; Fri 01-23 T+1 = Tue 01-27.
  EXPECT_EQ(t_plus("INR", "2026-01-23", 1), "2026-01-27");
}

// T+0 on a business day is that day; on a weekend or holiday it is the next business day.
TEST(Calendar, TPlusZero) {
  EXPECT_EQ(t_plus("GBP", "2026-09-01", 0), "2026-09-01");
  EXPECT_EQ(t_plus("GBP", "2026-08-29", 0), "2026-09-01");  // Sat -> (Sun, Mon holiday) Tue
  auto negative = cal("GBP").add_business_days(D("2026-09-01"), -1);
  ASSERT_FALSE(negative.ok());
  EXPECT_EQ(negative.error().code, Code::kInvalidArgument);
}

// Outside 2026-2027 the calendar does not know the holidays: refuse, do not guess.
TEST(Calendar, RefusesDatesOutsideTheCoveredYears) {
  auto before = cal("GBP").is_business_day(D("2025-12-31"));
  ASSERT_FALSE(before.ok());
  EXPECT_EQ(before.error().code, Code::kInvalidArgument);
  EXPECT_NE(before.error().reason.find("2026-2027"), std::string::npos) << before.error().reason;
  EXPECT_FALSE(cal("EUR").is_business_day(D("2028-01-03")).ok());
  // The walk itself must not step past the covered years: Thu 2027-12-30 in USD, T+1 = Fri
  // 2027-12-31 (open, the Fed does not close for Saturday 2028-01-01), T+2 would be in 2028.
  EXPECT_EQ(t_plus("USD", "2027-12-30", 1), "2027-12-31");
  auto past = cal("USD").add_business_days(D("2027-12-30"), 2);
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.error().code, Code::kInvalidArgument);
  EXPECT_NE(past.error().reason.find("2028-01-01"), std::string::npos) << past.error().reason;
  // GBP: Fri 2027-12-24 T+1 = Wed 2027-12-29 (Mon 27 and Tue 28 are substitute days).
  EXPECT_EQ(t_plus("GBP", "2027-12-24", 1), "2027-12-29");
}

Error parse_error(std::string_view text) {
  auto c = Calendar::parse("XXX", "test.txt", text);
  EXPECT_FALSE(c.ok());
  return c.ok() ? Error{} : c.error();
}

TEST(CalendarParser, AcceptsCommentsNotesAndWeekendHolidays) {
  auto c = Calendar::parse("XXX", "test.txt",
                           "# source\n\nyears 2026 2027\n"
                           "2026-01-01 New Year  # computed from rule\n"
                           "2026-07-04 Independence Day (Saturday)\n");
  ASSERT_TRUE(c.ok()) << c.error().reason;
  EXPECT_EQ(c->holiday_count(), 2u);
  EXPECT_EQ(*c->holiday_name(D("2026-01-01")), "New Year");
  EXPECT_EQ(c->holiday_name(D("2026-01-02")), nullptr);
}

TEST(CalendarParser, RefusesMalformedFilesNamingTheLine) {
  struct Case {
    const char* text;
    const char* want;  // in the reason
  };
  const Case cases[] = {
      // Line 3 has no name.
      {"# c\nyears 2026 2027\n2026-01-01\n", "test.txt:3:"},
      // Line 2: 30 February does not exist.
      {"years 2026 2027\n2026-02-30 Nope\n", "test.txt:2:"},
      // Line 2: 2028 is not declared.
      {"years 2026 2027\n2028-01-03 Later\n", "test.txt:2: 2028-01-03 is outside"},
      // Line 3: the same date twice.
      {"years 2026 2027\n2026-05-01 A\n2026-05-01 B\n", "test.txt:3: duplicate holiday"},
      // Line 3: out of order (would hide a duplicate further down).
      {"years 2026 2027\n2026-05-01 A\n2026-04-01 B\n", "test.txt:3:"},
      // Line 1: a holiday before the years line.
      {"2026-05-01 A\nyears 2026 2027\n", "test.txt:1:"},
      // Line 2: a second years line.
      {"years 2026 2027\nyears 2026 2028\n", "test.txt:2:"},
      // Line 1: garbage in the years line.
      {"years 2026\n", "test.txt:1:"},
      // Line 2: a date with slashes.
      {"years 2026 2027\n2026/05/01 A\n", "test.txt:2:"},
      // Line 2: CRLF line endings.
      {"years 2026 2027\r\n2026-05-01 A\r\n", "test.txt:1:"},
      // No years line at all.
      {"# only comments\n", "no `years"},
  };
  for (const Case& c : cases) {
    Error e = parse_error(c.text);
    EXPECT_EQ(e.code, Code::kMalformed) << c.text;
    EXPECT_NE(e.reason.find(c.want), std::string::npos) << c.text << " -> " << e.reason;
  }
}

TEST(CalendarParser, LoadFileNamesThePathAndCurrency) {
  std::string path = ::testing::TempDir() + "/ZZZ.txt";
  {
    std::ofstream out(path);
    out << "years 2026 2027\n2026-05-01 Labour Day\nnot a line\n";
  }
  auto bad = Calendar::load_file(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().reason.find(path + ":3:"), std::string::npos) << bad.error().reason;
  {
    std::ofstream out(path);
    out << "years 2026 2027\n2026-05-01 Labour Day\n";
  }
  auto good = Calendar::load_file(path);
  ASSERT_TRUE(good.ok()) << good.error().reason;
  EXPECT_EQ(good->currency(), "ZZZ");
  EXPECT_FALSE(*good->is_business_day(D("2026-05-01")));
  std::remove(path.c_str());
  auto missing = Calendar::load_file(path);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Code::kIo);
}

}  // namespace
}  // namespace payledger::settlement
