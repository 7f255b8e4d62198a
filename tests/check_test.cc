// PAYLEDGER_CHECK stays on in release builds (this test binary is built with -DNDEBUG in
// the release configuration) and stops the process with the condition, detail and place.
#include "events/schema/check.h"

#include <string>

#include <gtest/gtest.h>

namespace payledger {
namespace {

int checked_divide(int a, int b) {
  PAYLEDGER_CHECK(b != 0, std::string("divisor is zero for ") + std::to_string(a));
  return a / b;
}

TEST(CheckTest, PassingCheckReturnsNormally) { EXPECT_EQ(checked_divide(9, 3), 3); }

TEST(CheckDeathTest, FailedCheckAbortsWithConditionDetailAndPlace) {
  EXPECT_DEATH((void)checked_divide(7, 0),
               "invariant violated: b != 0 \\(divisor is zero for 7\\) at .*check_test.cc");
}

TEST(CheckDeathTest, FailedCheckWithoutDetailNamesTheCondition) {
  int offset = 3;
  EXPECT_DEATH(PAYLEDGER_CHECK(offset > 5), "invariant violated: offset > 5 at ");
}

}  // namespace
}  // namespace payledger
