#include <gtest/gtest.h>

#include "ledger/local_time.h"

namespace payledger::ledger {
namespace {

constexpr int64_t kDay = 86400;

TEST(LocalTime, DaysFromCivil) {
  EXPECT_EQ(days_from_civil(1970, 1, 1), 0);
  EXPECT_EQ(days_from_civil(2026, 1, 1), 20454);
  EXPECT_EQ(days_from_civil(2024, 3, 1) - days_from_civil(2024, 2, 28), 2);  // leap year
  EXPECT_EQ(days_from_civil(2100, 3, 1) - days_from_civil(2100, 2, 28), 1);  // not leap
  EXPECT_EQ(days_from_civil(1969, 12, 31), -1);
}

// 2026-01-07 ends at 2026-01-08 00:00 local = 2026-01-07T15:00:00Z in Tokyo (UTC+9).
TEST(LocalTime, UtcRfc3339) {
  EXPECT_EQ(utc_rfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(utc_rfc3339(86399), "1970-01-01T23:59:59Z");  // 24 * 3600 - 1
  EXPECT_EQ(utc_rfc3339(-1), "1969-12-31T23:59:59Z");     // before the epoch
  EXPECT_EQ(utc_rfc3339(951782400),
            "2000-02-29T00:00:00Z");  // (30*365 + 7 leap + 31 + 28) days = 11016 d
  EXPECT_EQ(utc_rfc3339(951782400 + 3 * 3600 + 4 * 60 + 5), "2000-02-29T03:04:05Z");
}

TEST(LocalTime, KonbiniDayEndsAt1500UtcInTokyo) {
  int64_t end = end_of_local_day("2026-01-07", Zone::kAsiaTokyo).value();
  EXPECT_EQ(end, days_from_civil(2026, 1, 7) * kDay + 15 * 3600);
}

// Sao Paulo (UTC-3): the day ends at 03:00Z the next day.
TEST(LocalTime, BoletoDayEndsAt0300UtcNextDayInSaoPaulo) {
  int64_t end = end_of_local_day("2026-03-02", Zone::kAmericaSaoPaulo).value();
  EXPECT_EQ(end, days_from_civil(2026, 3, 3) * kDay + 3 * 3600);
}

// Mexico City (UTC-6, no DST since 2022): ends at 06:00Z the next day, also in summer.
TEST(LocalTime, OxxoDayEndsAt0600UtcNextDayInMexicoCity) {
  EXPECT_EQ(end_of_local_day("2026-03-05", Zone::kAmericaMexicoCity).value(),
            days_from_civil(2026, 3, 6) * kDay + 6 * 3600);
  EXPECT_EQ(end_of_local_day("2026-07-15", Zone::kAmericaMexicoCity).value(),
            days_from_civil(2026, 7, 16) * kDay + 6 * 3600);
}

TEST(LocalTime, TheSameDateEndsAtDifferentInstantsPerZone) {
  int64_t tokyo = end_of_local_day("2026-12-31", Zone::kAsiaTokyo).value();
  int64_t sao_paulo = end_of_local_day("2026-12-31", Zone::kAmericaSaoPaulo).value();
  int64_t mexico = end_of_local_day("2026-12-31", Zone::kAmericaMexicoCity).value();
  EXPECT_EQ(sao_paulo - tokyo, 12 * 3600);
  EXPECT_EQ(mexico - sao_paulo, 3 * 3600);
}

TEST(LocalTime, LeapDayIsADateAndFebruary30IsNot) {
  EXPECT_TRUE(end_of_local_day("2028-02-29", Zone::kAsiaTokyo).ok());
  EXPECT_FALSE(end_of_local_day("2026-02-29", Zone::kAsiaTokyo).ok());
  EXPECT_FALSE(end_of_local_day("2026-02-30", Zone::kAsiaTokyo).ok());
  EXPECT_FALSE(end_of_local_day("2026-13-01", Zone::kAsiaTokyo).ok());
  EXPECT_FALSE(end_of_local_day("2026-1-01", Zone::kAsiaTokyo).ok());
  EXPECT_FALSE(end_of_local_day("2026/01/01", Zone::kAsiaTokyo).ok());
  EXPECT_EQ(end_of_local_day("26-01-0100", Zone::kAsiaTokyo).error().code, Code::kInvalidArgument);
}

}  // namespace
}  // namespace payledger::ledger
