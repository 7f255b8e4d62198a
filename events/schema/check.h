// PAYLEDGER_CHECK: an invariant checked in every build, release included (unlike assert,
// which -DNDEBUG removes). A failed check is a bug in payledger, never bad input: it prints
// what broke and where, and aborts the process before anything else is committed, so the
// store keeps its last consistent batch and the log is refolded from there on restart.
// Bad input is a Result/Status rejection, not a check.
#pragma once

#include <string_view>

namespace payledger {

// Prints "payledger: invariant violated: <condition> (<detail>) at <file>:<line>" to stderr
// and aborts. Never returns.
[[noreturn]] void check_failed(std::string_view condition, std::string_view detail,
                               const char* file, int line) noexcept;

}  // namespace payledger

// PAYLEDGER_CHECK(cond) or PAYLEDGER_CHECK(cond, detail): detail is anything convertible to
// std::string_view (e.g. a fmt::format result), evaluated only when the check fails.
#define PAYLEDGER_CHECK(cond, ...)                                                         \
  do {                                                                                     \
    if (!(cond)) [[unlikely]] {                                                            \
      ::payledger::check_failed(#cond, ::payledger::check_detail(__VA_OPT__(__VA_ARGS__)), \
                                __FILE__, __LINE__);                                       \
    }                                                                                      \
  } while (0)

namespace payledger {
inline std::string_view check_detail() { return {}; }
inline std::string_view check_detail(std::string_view detail) { return detail; }
}  // namespace payledger
