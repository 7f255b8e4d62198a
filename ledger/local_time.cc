#include "ledger/local_time.h"

#include <fmt/format.h>

namespace payledger::ledger {

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

}  // namespace payledger::ledger
