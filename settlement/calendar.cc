#include "settlement/calendar.h"

#include <fmt/format.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "events/schema/check.h"
#include "ledger/local_time.h"
#include "settlement/calendar_data.h"

namespace payledger::settlement {

namespace {

bool leap(int32_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

uint32_t days_in_month(int32_t y, uint32_t m) {
  static constexpr uint32_t kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return kDays[m - 1] + (m == 2 && leap(y) ? 1 : 0);
}

// Digits only, exactly text.size() of them.
bool parse_digits(std::string_view text, uint32_t* out) {
  *out = 0;
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    *out = *out * 10 + static_cast<uint32_t>(c - '0');
  }
  return true;
}

// Walking more than this many days for one value date means the covered years end first;
// the walk checks coverage on every step anyway, this only bounds a runaway n.
constexpr int kMaxBusinessDays = 3660;

}  // namespace

Result<CivilDate> CivilDate::parse(std::string_view s) {
  auto bad = [&] {
    return make_error(Code::kInvalidArgument,
                      fmt::format("'{}' is not a date YYYY-MM-DD", s));
  };
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return bad();
  uint32_t y, m, d;
  if (!parse_digits(s.substr(0, 4), &y) || !parse_digits(s.substr(5, 2), &m) ||
      !parse_digits(s.substr(8, 2), &d)) {
    return bad();
  }
  if (m < 1 || m > 12 || d < 1 || d > days_in_month(static_cast<int32_t>(y), m)) return bad();
  return CivilDate{static_cast<int32_t>(y), m, d};
}

int64_t CivilDate::days_since_epoch() const { return ledger::days_from_civil(year, month, day); }

// H. Hinnant's civil_from_days, the inverse of ledger::days_from_civil.
CivilDate CivilDate::from_days(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return CivilDate{static_cast<int32_t>(y + (m <= 2)), m, d};
}

int CivilDate::weekday() const {
  // 1970-01-01 was a Thursday (4).
  int64_t w = (days_since_epoch() + 4) % 7;
  return static_cast<int>(w < 0 ? w + 7 : w);
}

std::string CivilDate::to_string() const {
  return fmt::format("{:04}-{:02}-{:02}", year, month, day);
}

Result<Calendar> Calendar::parse(std::string_view currency, std::string_view source,
                                 std::string_view text) {
  Calendar cal;
  cal.currency_ = std::string(currency);
  cal.source_ = std::string(source);
  bool have_years = false;
  size_t line_no = 0;
  auto fail = [&](std::string what) {
    return make_error(Code::kMalformed, fmt::format("{}:{}: {}", source, line_no, what));
  };
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    if (line.find('\r') != std::string_view::npos || line.find('\t') != std::string_view::npos) {
      return fail("a carriage return or tab: write plain `YYYY-MM-DD name` lines (LF endings)");
    }
    // A trailing "  # note" marks provenance (e.g. computed from rule); it is not the name.
    std::string_view content = line;
    if (size_t hash = line.find(" #"); hash != std::string_view::npos) {
      content = line.substr(0, hash);
    }
    while (!content.empty() && content.back() == ' ') content.remove_suffix(1);
    if (content.starts_with("years ")) {
      if (have_years) return fail("a second `years` line");
      if (!cal.holidays_.empty()) return fail("`years` must come before the first holiday");
      std::string_view rest = content.substr(6);
      size_t space = rest.find(' ');
      uint32_t first, last;
      if (space == std::string_view::npos || !parse_digits(rest.substr(0, space), &first) ||
          !parse_digits(rest.substr(space + 1), &last) || rest.substr(0, space).size() != 4 ||
          rest.substr(space + 1).size() != 4 || first > last) {
        return fail(fmt::format("'{}' is not `years FIRST LAST` (e.g. `years 2026 2027`)",
                                content));
      }
      cal.first_year_ = static_cast<int32_t>(first);
      cal.last_year_ = static_cast<int32_t>(last);
      have_years = true;
      continue;
    }
    if (content.size() < 12 || content[10] != ' ' || content[11] == ' ') {
      return fail(fmt::format("'{}' is not `YYYY-MM-DD name`", line));
    }
    auto date = CivilDate::parse(content.substr(0, 10));
    if (!date) return fail(date.error().reason);
    if (!have_years) return fail("a holiday before the `years FIRST LAST` line");
    if (date->year < cal.first_year_ || date->year > cal.last_year_) {
      return fail(fmt::format("{} is outside the declared years {}-{}", date->to_string(),
                              cal.first_year_, cal.last_year_));
    }
    if (!cal.holidays_.empty()) {
      const CivilDate& previous = cal.holidays_.rbegin()->first;
      if (*date == previous) return fail(fmt::format("duplicate holiday {}", date->to_string()));
      if (*date < previous) {
        return fail(fmt::format("{} comes after {}: keep the holidays in date order",
                                date->to_string(), previous.to_string()));
      }
    }
    cal.holidays_.emplace(*date, std::string(content.substr(11)));
  }
  if (!have_years) {
    return make_error(Code::kMalformed,
                      fmt::format("{}: no `years FIRST LAST` line", source));
  }
  return cal;
}

Result<Calendar> Calendar::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(Code::kIo, fmt::format("cannot read calendar file {}", path));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return make_error(Code::kIo, fmt::format("error reading {}", path));
  std::string_view name = path;
  if (size_t slash = name.rfind('/'); slash != std::string_view::npos) {
    name.remove_prefix(slash + 1);
  }
  if (name.ends_with(".txt")) name.remove_suffix(4);
  return parse(name, path, text.str());
}

const std::string* Calendar::holiday_name(CivilDate date) const {
  auto it = holidays_.find(date);
  return it == holidays_.end() ? nullptr : &it->second;
}

Status Calendar::check_covered(CivilDate date, std::string_view what) const {
  if (date.year >= first_year_ && date.year <= last_year_) return Status::Ok();
  return make_error(Code::kInvalidArgument,
                    fmt::format("{} {} is outside the {} calendar's years {}-{} ({}): add that "
                                "year's holidays to the file before settling on it",
                                what, date.to_string(), currency_, first_year_, last_year_,
                                source_));
}

Result<bool> Calendar::is_business_day(CivilDate date) const {
  if (Status s = check_covered(date, "date"); !s) return s.error();
  return !date.is_weekend() && !holidays_.contains(date);
}

Result<CivilDate> Calendar::next_business_day(CivilDate date) const {
  return add_business_days(date, 1);
}

Result<CivilDate> Calendar::add_business_days(CivilDate date, int n) const {
  if (n < 0 || n > kMaxBusinessDays) {
    return make_error(Code::kInvalidArgument,
                      fmt::format("T+{}: the number of business days must be 0..{}", n,
                                  kMaxBusinessDays));
  }
  if (Status s = check_covered(date, "date"); !s) return s.error();
  int64_t day = date.days_since_epoch();
  auto business = [&](int64_t d) -> Result<bool> {
    CivilDate c = CivilDate::from_days(d);
    if (Status s = check_covered(c, fmt::format("T+{} from {} reaches", n, date.to_string()));
        !s) {
      return s.error();
    }
    return !c.is_weekend() && !holidays_.contains(c);
  };
  if (n == 0) {
    // T+0 on a closed day settles on the next open one.
    for (;;) {
      auto open = business(day);
      if (!open) return open.error();
      if (*open) return CivilDate::from_days(day);
      ++day;
    }
  }
  int left = n;
  while (left > 0) {
    ++day;
    auto open = business(day);
    if (!open) return open.error();
    if (*open) --left;
  }
  return CivilDate::from_days(day);
}

namespace {

struct Builtins {
  std::vector<std::unique_ptr<Calendar>> calendars;
};

const Builtins& builtins() {
  static const Builtins* all = [] {
    auto* b = new Builtins;
    for (size_t i = 0; i < detail::kEmbeddedCalendarCount; ++i) {
      const detail::EmbeddedCalendar& e = detail::kEmbeddedCalendars[i];
      auto cal = Calendar::parse(e.currency, e.source, e.text);
      PAYLEDGER_CHECK(cal.ok(), cal.ok() ? std::string() : cal.error().reason);
      b->calendars.push_back(std::make_unique<Calendar>(std::move(cal).value()));
    }
    return b;
  }();
  return *all;
}

}  // namespace

Result<const Calendar*> builtin_calendar(std::string_view currency) {
  for (const auto& cal : builtins().calendars) {
    if (cal->currency() == currency) return cal.get();
  }
  std::string known;
  for (const std::string& c : builtin_currencies()) known += (known.empty() ? "" : ", ") + c;
  return make_error(Code::kUnknownAsset,
                    fmt::format("no business-day calendar for '{}' (have: {}); add "
                                "settlement/calendars/{}.txt",
                                currency, known, currency));
}

std::vector<std::string> builtin_currencies() {
  std::vector<std::string> out;
  for (const auto& cal : builtins().calendars) out.push_back(cal->currency());
  return out;
}

}  // namespace payledger::settlement
