// Regressions found by the libFuzzer targets in fuzz/ (inputs in fuzz/regressions/ are also
// replayed through the targets' own checks by the fuzz_replay_* tests).
#include <gtest/gtest.h>

#include "events/codec.h"
#include "test_util.h"

namespace payledger::testing {
namespace {

// Binary events must have a JSON form: `rejects --json` prints rejected events, and an
// out-of-range Timestamp made to_json abort (fuzz_envelope). JSON input cannot carry such a
// time, so binary input must not either.
TEST(CodecFuzz, BinaryEventWithOutOfRangeTimeIsMalformed) {
  v1::Envelope bad_nanos = card_captured("e1", "p1", "1.00");
  bad_nanos.mutable_occurred_at()->set_nanos(1767225602);  // nanos must be < 10^9
  v1::Envelope negative_nanos = card_captured("e2", "p1", "1.00");
  negative_nanos.mutable_occurred_at()->set_nanos(-1);
  v1::Envelope far_future = card_authorised("e3", "p1", "1.00");
  far_future.mutable_card_authorised()->mutable_expires_at()->set_seconds(253402300800);  // 10000-01-01
  v1::Envelope far_past = card_captured("e4", "p1", "1.00");
  far_past.mutable_occurred_at()->set_seconds(-62135596801);  // before 0001-01-01
  std::pair<const v1::Envelope*, std::string> cases[] = {
      {&bad_nanos, "occurred_at"},
      {&negative_nanos, "occurred_at"},
      {&far_future, "card_authorised.expires_at"},
      {&far_past, "occurred_at"}};
  for (const auto& [e, field] : cases) {
    v1::Envelope back;
    auto status = events::decode(events::encode(*e), &back);
    ASSERT_FALSE(status.ok()) << e->event_id();
    EXPECT_EQ(status.error().code, Code::kMalformed);
    EXPECT_NE(status.error().reason.find(field), std::string::npos) << status.error().reason;
  }
}

TEST(CodecFuzz, BinaryEventAtTheEdgesOfTheTimeRangeDecodesAndPrints) {
  v1::Envelope e = card_authorised("e1", "p1", "1.00");
  e.mutable_occurred_at()->set_seconds(-62135596800);  // 0001-01-01T00:00:00Z
  e.mutable_card_authorised()->mutable_expires_at()->set_seconds(253402300799);  // 9999-12-31T23:59:59Z
  e.mutable_card_authorised()->mutable_expires_at()->set_nanos(999999999);
  v1::Envelope back;
  ASSERT_TRUE(events::decode(events::encode(e), &back).ok());
  EXPECT_NE(events::to_json(back).find("9999-12-31T23:59:59.999999999Z"), std::string::npos);
}

}  // namespace
}  // namespace payledger::testing
