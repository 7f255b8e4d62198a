#include <gtest/gtest.h>

#include "events/codec.h"
#include "test_util.h"

namespace payledger::testing {
namespace {

TEST(Codec, BinaryRoundTrip) {
  v1::Envelope e = card_captured("e1", "p1", "12.34");
  v1::Envelope back;
  ASSERT_TRUE(events::decode(events::encode(e), &back).ok());
  EXPECT_EQ(back.card_captured().amount().amount(), "12.34");
  EXPECT_EQ(back.event_id(), "e1");
}

TEST(Codec, JsonRoundTripUsesSnakeCaseAndDecimalStrings) {
  v1::Envelope e = card_captured("e1", "p1", "12.34");
  std::string json = events::to_json(e);
  EXPECT_NE(json.find("\"card_captured\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"12.34\""), std::string::npos) << json;
  v1::Envelope back;
  ASSERT_TRUE(events::from_json(json, &back).ok());
  EXPECT_EQ(events::encode(back), events::encode(e));
}

TEST(Codec, MalformedJsonIsRejectedWithAReason) {
  v1::Envelope e;
  Status s = events::from_json("{\"event_id\": ", &e);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code::kMalformed);
  EXPECT_FALSE(s.error().reason.empty());
}

TEST(Codec, UnknownBodyFieldIsRejected) {
  v1::Envelope e;
  Status s = events::from_json(
      R"({"event_id":"e1","merchant_id":"m1","schema_version":1,"card_teleported":{}})", &e);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code::kMalformed);
}

TEST(Codec, GarbageBytesDoNotDecode) {
  v1::Envelope e;
  EXPECT_FALSE(events::decode(std::string("\xff\xff\xff\xff\x0f", 5), &e).ok());
}

TEST(Validate, UnknownSchemaVersionIsRejected) {
  v1::Envelope e = card_voided("e1", "p1");
  e.set_schema_version(2);
  Status s = events::validate(e);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code::kUnknownSchemaVersion);
}

TEST(Validate, MissingIdsAndBodyAreRejected) {
  v1::Envelope e = card_voided("", "p1");
  EXPECT_EQ(events::validate(e).error().code, Code::kMissingField);
  e = card_voided("e1", "p1");
  e.set_merchant_id("");
  EXPECT_EQ(events::validate(e).error().code, Code::kMissingField);
  e = envelope("e1");
  EXPECT_EQ(events::validate(e).error().code, Code::kUnknownBody);
  e = card_voided("e1", "p1");
  e.set_merchant_id("has:colon");
  EXPECT_EQ(events::validate(e).error().code, Code::kMalformed);
  e = card_voided("e1", "p1");
  e.clear_occurred_at();
  EXPECT_EQ(events::validate(e).error().code, Code::kMissingField);
}

TEST(Codec, BodyNames) {
  EXPECT_EQ(events::body_name(card_voided("e1", "p1")), "card_voided");
  EXPECT_EQ(events::body_name_of(v1::Envelope::kPayoutSent), "payout_sent");
  EXPECT_EQ(events::body_name_of(3), "unknown");  // occurred_at is not a body
}

}  // namespace
}  // namespace payledger::testing

namespace payledger::testing {
namespace {

TEST(Validate, EventIdsOfTheDeadlinePrefixAreReservedForTheFold) {
  v1::Envelope e = card_authorised("deadline:p1:card_authorisation", "p1", "10.00");
  Status s = events::validate(e);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code::kMalformed);
  EXPECT_NE(s.error().reason.find("reserved"), std::string::npos) << s.error().reason;
  // An id that merely contains the word is fine.
  EXPECT_TRUE(events::validate(card_authorised("my-deadline:1", "p1", "10.00")).ok());
}

}  // namespace
}  // namespace payledger::testing
