// Local dates and the instants they end, for expiries stated in a payment method's own time
// zone (a Boleto "expires on 2026-03-02" means until 23:59:59 in Sao Paulo).
//
// Offsets are the zones' current rules: Asia/Tokyo UTC+9, America/Sao_Paulo UTC-3 (no DST
// since 2019), America/Mexico_City UTC-6 (no DST since October 2022). Compiled in, not read
// from the machine's tzdata, so the books do not depend on which tzdata a machine has; dates
// inside the old DST periods would be off by an hour and are not modelled.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "events/schema/result.h"

namespace payledger::ledger {

enum class Zone : uint8_t {
  kAsiaTokyo,          // UTC+9
  kAmericaSaoPaulo,    // UTC-3
  kAmericaMexicoCity,  // UTC-6
  kAsiaManila,         // UTC+8 (GCash)
  kAsiaJakarta,        // UTC+7 (DANA; western Indonesia)
  kAsiaBangkok,        // UTC+7 (TrueMoney)
};

std::string_view zone_name(Zone zone);
int64_t zone_offset_seconds(Zone zone);

// "2026-08-28T16:00:00Z": seconds since the epoch as RFC 3339 in UTC (whole seconds).
std::string utc_rfc3339(int64_t seconds);

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);

// The UTC instant (seconds) at which local date `yyyy_mm_dd` ends in `zone`, i.e. the start
// of the next local day. kInvalidArgument for a malformed or impossible date.
Result<int64_t> end_of_local_day(std::string_view yyyy_mm_dd, Zone zone);

// Time zones with their daylight-saving rules, for settlement cut-offs ("17:00
// Europe/London"). The rules are compiled in (the current EU and US rules; the other zones
// have no DST), so a decision does not depend on a machine's tzdata. Known names: UTC,
// Europe/London, Europe/Dublin, Europe/Lisbon (UTC+0, EU DST), Europe/Paris, Europe/Berlin,
// Europe/Madrid, Europe/Amsterdam, Europe/Brussels, Europe/Rome, Europe/Zurich (UTC+1, EU
// DST), America/New_York (UTC-5, US DST), America/Chicago (UTC-6, US DST), the method
// zones above, Asia/Kolkata (UTC+5:30), Asia/Hong_Kong, Asia/Singapore (UTC+8).
struct TimeZone {
  enum class Dst : uint8_t { kNone, kEu, kUs };
  std::string_view name;
  int32_t standard_offset_s = 0;
  Dst dst = Dst::kNone;
};
// The zone, or kInvalidArgument naming the zones known.
Result<TimeZone> find_time_zone(std::string_view name);
// Seconds to add to a UTC instant to get the zone's wall time at that instant.
int64_t utc_offset_at(const TimeZone& zone, int64_t utc_s);
// The UTC instant of a wall time (seconds since the epoch as if the wall time were UTC). A
// wall time skipped by a spring-forward gap maps to the instant after the gap; one repeated
// by a fall-back maps to its first occurrence.
int64_t local_to_utc(const TimeZone& zone, int64_t local_s);

}  // namespace payledger::ledger
