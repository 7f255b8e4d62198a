// Regressions found by the libFuzzer targets in fuzz/ (inputs in fuzz/regressions/ are also
// replayed through the targets' own checks by the fuzz_replay_* tests).
#include <functional>
#include <vector>

#include <google/protobuf/timestamp.pb.h>
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

// Every field path from Envelope that ends in a google.protobuf.Timestamp.
std::vector<std::vector<const google::protobuf::FieldDescriptor*>> timestamp_paths() {
  std::vector<std::vector<const google::protobuf::FieldDescriptor*>> out;
  std::vector<const google::protobuf::FieldDescriptor*> path;
  std::function<void(const google::protobuf::Descriptor*)> walk =
      [&](const google::protobuf::Descriptor* type) {
        for (int i = 0; i < type->field_count(); ++i) {
          const auto* field = type->field(i);
          if (field->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) continue;
          path.push_back(field);
          if (field->message_type() == google::protobuf::Timestamp::descriptor()) {
            out.push_back(path);
          } else if (path.size() < 8) {  // the schema is not recursive; bound it anyway
            walk(field->message_type());
          }
          path.pop_back();
        }
      };
  walk(v1::Envelope::descriptor());
  return out;
}

// decode checks the Timestamp fields by name (fast); this finds every one in the schema by
// reflection, so a new Timestamp field fails here until decode checks it too.
TEST(CodecFuzz, EveryTimestampFieldOfTheSchemaIsRangeChecked) {
  auto paths = timestamp_paths();
  ASSERT_GE(paths.size(), 2u);  // occurred_at, card_authorised.expires_at at least
  for (const auto& path : paths) {
    std::string name;
    v1::Envelope e = envelope("e1");
    google::protobuf::Message* m = &e;
    for (const auto* field : path) {
      name += (name.empty() ? "" : ".") + field->name();
      m = field->is_repeated() ? m->GetReflection()->AddMessage(m, field)
                               : m->GetReflection()->MutableMessage(m, field);
    }
    static_cast<google::protobuf::Timestamp*>(m)->set_nanos(-1);
    v1::Envelope back;
    auto status = events::decode(events::encode(e), &back);
    ASSERT_FALSE(status.ok()) << name << " with nanos -1 decoded: decode() must check it";
    EXPECT_EQ(status.error().code, Code::kMalformed) << name;
    EXPECT_NE(status.error().reason.find(name), std::string::npos) << status.error().reason;
  }
}

}  // namespace
}  // namespace payledger::testing
