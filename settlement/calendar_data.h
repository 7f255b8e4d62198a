// The calendar files embedded by the build (generated calendars_data.cc; see
// embed_calendars.cmake). Internal to calendar.cc.
#pragma once

#include <cstddef>
#include <string_view>

namespace payledger::settlement::detail {

struct EmbeddedCalendar {
  std::string_view currency;  // "GBP"
  std::string_view source;    // "settlement/calendars/GBP.txt", for error messages
  std::string_view text;
};

extern const EmbeddedCalendar kEmbeddedCalendars[];
extern const size_t kEmbeddedCalendarCount;

}  // namespace payledger::settlement::detail
