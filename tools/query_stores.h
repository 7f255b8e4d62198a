// Query commands outside commands.cc (tools/exposure_command.cc) open their stores through
// this, with the same checks as every query: one log, partitions missing or behind their log
// warned about on stderr and refused unless --allow-partial.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "events/schema/result.h"
#include "projections/queries.h"
#include "projections/store.h"
#include "tools/commands.h"

namespace payledger::tools {

// Prints the error (reason and code) on stderr: exit 1. / Prints a usage error: exit 2.
int fail(const Error& e);
int usage(std::string_view message);
// A moment given as RFC 3339 or a date (YYYY-MM-DD: its 00:00:00Z, or with `end_of_day` its
// 23:59:59Z: "as of the 31st" means its close); nullopt if neither.
std::optional<int64_t> parse_moment(const std::string& text, bool end_of_day = false);

struct QueryStores {
  std::vector<std::string> dirs;
  std::vector<std::unique_ptr<projections::Store>> owned;
  projections::Stores stores;
  bool complete = true;
  nlohmann::ordered_json gaps = nlohmann::ordered_json::array();  // as the other queries' JSON
};
Result<QueryStores> open_query_stores(const Common& common);

struct ExposureArgs {
  std::string horizon = "30d";  // Nd, N in 1..365
  std::string as_of;            // RFC 3339 ("" = the latest event time in the books)
  std::string plot;             // FILE.svg or FILE.png ("" = no chart)
};
// Money not yet settled per currency and value-date week, hedged, and a forecast of money in.
int cmd_exposure(const Common& common, const ExposureArgs& args);

}  // namespace payledger::tools
