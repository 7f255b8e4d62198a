#include "ledger/local_time.h"

#include <fmt/format.h>

#include <ctime>

namespace payledger::ledger {

std::string utc_rfc3339(int64_t seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string_view zone_name(Zone zone) {
  switch (zone) {
    case Zone::kAsiaTokyo: return "Asia/Tokyo";
    case Zone::kAmericaSaoPaulo: return "America/Sao_Paulo";
    case Zone::kAmericaMexicoCity: return "America/Mexico_City";
    case Zone::kAsiaManila: return "Asia/Manila";
    case Zone::kAsiaJakarta: return "Asia/Jakarta";
    case Zone::kAsiaBangkok: return "Asia/Bangkok";
  }
  return "unknown";
}

int64_t zone_offset_seconds(Zone zone) {
  switch (zone) {
    case Zone::kAsiaTokyo: return 9 * 3600;
    case Zone::kAmericaSaoPaulo: return -3 * 3600;
    case Zone::kAmericaMexicoCity: return -6 * 3600;
    case Zone::kAsiaManila: return 8 * 3600;
    case Zone::kAsiaJakarta: return 7 * 3600;
    case Zone::kAsiaBangkok: return 7 * 3600;
  }
  return 0;
}

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

Result<int64_t> end_of_local_day(std::string_view s, Zone zone) {
  auto bad = [&] {
    return make_error(Code::kInvalidArgument, fmt::format("'{}' is not a date YYYY-MM-DD", s));
  };
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return bad();
  auto digits = [&](size_t from, size_t n, unsigned* out) {
    *out = 0;
    for (size_t i = from; i < from + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      *out = *out * 10 + static_cast<unsigned>(s[i] - '0');
    }
    return true;
  };
  unsigned y, m, d;
  if (!digits(0, 4, &y) || !digits(5, 2, &m) || !digits(8, 2, &d)) return bad();
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (m < 1 || m > 12 || d < 1 || d > kDays[m - 1] + (m == 2 && leap ? 1 : 0)) return bad();
  int64_t next_day = days_from_civil(y, m, d) + 1;
  return next_day * 86400 - zone_offset_seconds(zone);
}

namespace {

struct ZoneRow {
  std::string_view name;
  int32_t offset_s;
  TimeZone::Dst dst;
};
constexpr ZoneRow kZones[] = {
    {"UTC", 0, TimeZone::Dst::kNone},
    {"Europe/London", 0, TimeZone::Dst::kEu},
    {"Europe/Dublin", 0, TimeZone::Dst::kEu},
    {"Europe/Lisbon", 0, TimeZone::Dst::kEu},
    {"Europe/Paris", 3600, TimeZone::Dst::kEu},
    {"Europe/Berlin", 3600, TimeZone::Dst::kEu},
    {"Europe/Madrid", 3600, TimeZone::Dst::kEu},
    {"Europe/Amsterdam", 3600, TimeZone::Dst::kEu},
    {"Europe/Brussels", 3600, TimeZone::Dst::kEu},
    {"Europe/Rome", 3600, TimeZone::Dst::kEu},
    {"Europe/Zurich", 3600, TimeZone::Dst::kEu},
    {"America/New_York", -5 * 3600, TimeZone::Dst::kUs},
    {"America/Chicago", -6 * 3600, TimeZone::Dst::kUs},
    {"America/Sao_Paulo", -3 * 3600, TimeZone::Dst::kNone},
    {"America/Mexico_City", -6 * 3600, TimeZone::Dst::kNone},
    {"Asia/Tokyo", 9 * 3600, TimeZone::Dst::kNone},
    {"Asia/Manila", 8 * 3600, TimeZone::Dst::kNone},
    {"Asia/Jakarta", 7 * 3600, TimeZone::Dst::kNone},
    {"Asia/Bangkok", 7 * 3600, TimeZone::Dst::kNone},
    {"Asia/Kolkata", 5 * 3600 + 1800, TimeZone::Dst::kNone},
    {"Asia/Hong_Kong", 8 * 3600, TimeZone::Dst::kNone},
    {"Asia/Singapore", 8 * 3600, TimeZone::Dst::kNone},
};

// The civil year of a UTC instant.
int64_t year_of(int64_t utc_s) {
  int64_t days = utc_s >= 0 ? utc_s / 86400 : (utc_s - 86399) / 86400;
  // civil_from_days (H. Hinnant), year only.
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  return yoe + era * 400 + (month <= 2 ? 1 : 0);
}

// Days since the epoch of the n-th (1-based) Sunday of a month, or its last Sunday (n = 0).
int64_t sunday(int64_t year, unsigned month, int n) {
  if (n == 0) {
    int64_t next_first = month == 12 ? days_from_civil(year + 1, 1, 1)
                                     : days_from_civil(year, month + 1, 1);
    int64_t last = next_first - 1;
    int64_t weekday = ((last % 7) + 11) % 7;  // 0 = Sunday (1970-01-01 was a Thursday)
    return last - weekday;
  }
  int64_t first = days_from_civil(year, month, 1);
  int64_t weekday = ((first % 7) + 11) % 7;
  int64_t first_sunday = first + (7 - weekday) % 7;
  return first_sunday + 7 * (n - 1);
}

}  // namespace

Result<TimeZone> find_time_zone(std::string_view name) {
  for (const auto& row : kZones) {
    if (row.name == name) return TimeZone{row.name, row.offset_s, row.dst};
  }
  std::string known;
  for (const auto& row : kZones) known += fmt::format("{}{}", known.empty() ? "" : ", ", row.name);
  return make_error(Code::kInvalidArgument,
                    fmt::format("unknown time zone '{}' (known: {})", name, known));
}

int64_t utc_offset_at(const TimeZone& zone, int64_t utc_s) {
  int64_t start = 0;
  int64_t end = 0;
  const int64_t year = year_of(utc_s);
  switch (zone.dst) {
    case TimeZone::Dst::kNone: return zone.standard_offset_s;
    case TimeZone::Dst::kEu:  // last Sunday of March to last Sunday of October, 01:00 UTC
      start = sunday(year, 3, 0) * 86400 + 3600;
      end = sunday(year, 10, 0) * 86400 + 3600;
      break;
    case TimeZone::Dst::kUs:  // second Sunday of March 02:00 to first Sunday of November 02:00
      start = sunday(year, 3, 2) * 86400 + 2 * 3600 - zone.standard_offset_s;
      end = sunday(year, 11, 1) * 86400 + 2 * 3600 - (zone.standard_offset_s + 3600);
      break;
  }
  return utc_s >= start && utc_s < end ? zone.standard_offset_s + 3600 : zone.standard_offset_s;
}

int64_t local_to_utc(const TimeZone& zone, int64_t local_s) {
  const int64_t summer = local_s - (zone.standard_offset_s + 3600);
  if (zone.dst != TimeZone::Dst::kNone &&
      utc_offset_at(zone, summer) == zone.standard_offset_s + 3600) {
    return summer;
  }
  return local_s - zone.standard_offset_s;
}

}  // namespace payledger::ledger
