// Identifier rules shared by the schema checks and the chart of accounts: merchant ids
// become account-name segments, so both must agree on what an id may contain.
#pragma once

#include <cstddef>
#include <string_view>

namespace payledger {

inline constexpr size_t kIdLengthMax = 64;

// 1..kIdLengthMax characters of [A-Za-z0-9_.-].
constexpr bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > kIdLengthMax) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace payledger
