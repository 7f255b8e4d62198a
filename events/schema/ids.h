// Identifier rules shared by the schema checks and the chart of accounts: merchant ids
// become account-name segments, so both must agree on what an id may contain.
#pragma once

#include <cstddef>
#include <string_view>

namespace payledger {

inline constexpr size_t kIdLengthMax = 64;
// Event ids with this prefix are reserved for the expiries the fold books from event time
// (ledger/deadlines.h): a producer's event may not take one.
inline constexpr std::string_view kDeadlineEventIdPrefix = "deadline:";

// The house's own key (docs/fx.md): the PSP's treasury events (FX conversions of its own
// position, forwards, revaluation runs) are appended under this merchant_id, so they fold in
// one partition. No merchant may use it for anything else.
inline constexpr std::string_view kHouseMerchantId = "psp";

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

// Why `id` (UTF-8) may not be an identifier, or nullptr if it may: NUL, bidirectional
// controls (U+061C, U+200E/F, U+202A-E, U+2066-9: they make two ids print alike or one
// print reversed) and Unicode non-characters are refused.
constexpr const char* id_text_problem(std::string_view id) {
  auto at = [&](size_t i) { return i < id.size() ? static_cast<unsigned char>(id[i]) : 0u; };
  for (size_t i = 0; i < id.size(); ++i) {
    unsigned c = at(i);
    if (c == 0) return "a NUL character";
    if (c == 0xD8 && at(i + 1) == 0x9C) return "a bidirectional control (U+061C)";
    if (c == 0xE2 && at(i + 1) == 0x80) {
      unsigned d = at(i + 2);
      if (d == 0x8E || d == 0x8F || (d >= 0xAA && d <= 0xAE)) {
        return "a bidirectional control (U+200E/F, U+202A-E)";
      }
    }
    if (c == 0xE2 && at(i + 1) == 0x81 && at(i + 2) >= 0xA6 && at(i + 2) <= 0xA9) {
      return "a bidirectional control (U+2066-9)";
    }
    if (c == 0xEF && at(i + 1) == 0xB7 && at(i + 2) >= 0x90 && at(i + 2) <= 0xAF) {
      return "a Unicode non-character (U+FDD0-FDEF)";
    }
    if (c == 0xEF && at(i + 1) == 0xBF && (at(i + 2) == 0xBE || at(i + 2) == 0xBF)) {
      return "a Unicode non-character (U+FFFE/FFFF)";
    }
    // U+nFFFE / U+nFFFF of planes 1-16: F0-F4, low nibble F, BF, BE/BF.
    if (c >= 0xF0 && c <= 0xF4 && (at(i + 1) & 0x0F) == 0x0F && at(i + 2) == 0xBF &&
        (at(i + 3) == 0xBE || at(i + 3) == 0xBF)) {
      return "a Unicode non-character (U+nFFFE/nFFFF)";
    }
  }
  return nullptr;
}

}  // namespace payledger
