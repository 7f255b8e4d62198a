#include "events/schema/check.h"

#include <cstdio>
#include <cstdlib>

namespace payledger {

void check_failed(std::string_view condition, std::string_view detail, const char* file,
                  int line) noexcept {
  std::fprintf(stderr, "payledger: invariant violated: %.*s", static_cast<int>(condition.size()),
               condition.data());
  if (!detail.empty()) {
    std::fprintf(stderr, " (%.*s)", static_cast<int>(detail.size()), detail.data());
  }
  std::fprintf(stderr, " at %s:%d\npayledger: stopping before anything else is committed; "
               "this is a bug, please report it with the command that was running\n",
               file, line);
  std::fflush(stderr);
  std::abort();
}

}  // namespace payledger
