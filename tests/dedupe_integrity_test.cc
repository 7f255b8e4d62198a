// Dedupe is stable across library versions (issue 8 item 8): the content fingerprint is taken
// over a canonical encoding payledger defines (projections/records.h), not over protobuf's
// serialized bytes.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "events/codec.h"
#include "events/embedded_log.h"
#include "projections/fold.h"
#include "projections/queries.h"
#include "projections/records.h"
#include "test_util.h"

namespace payledger::testing {
namespace {

using projections::canonical_encoding;
using projections::content_fingerprint;

// A minimal protobuf wire writer, to build encodings protobuf itself would not produce.
struct Wire {
  std::string bytes;
  void varint(uint64_t v) {
    while (v >= 0x80) {
      bytes.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    bytes.push_back(static_cast<char>(v));
  }
  void tag(uint32_t number, uint32_t wire_type) { varint((uint64_t{number} << 3) | wire_type); }
  Wire& num(uint32_t number, uint64_t v) {
    tag(number, 0);
    varint(v);
    return *this;
  }
  Wire& str(uint32_t number, std::string_view s) {
    tag(number, 2);
    varint(s.size());
    bytes.append(s);
    return *this;
  }
  Wire& msg(uint32_t number, const Wire& m) { return str(number, m.bytes); }
};

v1::Envelope decoded(const std::string& bytes) {
  v1::Envelope e;
  Status s = events::decode(bytes, &e);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().reason);
  return e;
}

std::string canonical(const v1::Envelope& e) {
  std::string out;
  canonical_encoding(e, &out);
  return out;
}

// card_captured{payment_id, capture_id, amount{currency, amount}} of merchant m1 at 1767225600,
// with two fields protobuf does not know (from a newer producer), in two field orders.
std::string capture_in_order() {
  Wire ts, money, body, e;
  ts.num(1, 1767225600);
  money.str(1, "USD").str(2, "12.34");
  body.str(1, "p1").str(2, "c1").msg(3, money);
  e.str(1, "e1").str(2, "m1").msg(3, ts).num(4, 1).msg(11, body).num(900, 7).str(901, "x");
  return e.bytes;
}
std::string capture_reordered() {
  Wire ts, money, body, e;
  ts.num(1, 1767225600);
  money.str(2, "12.34").str(1, "USD");
  body.msg(3, money).str(2, "c1").str(1, "p1");
  e.str(901, "x").msg(11, body).num(4, 1).msg(3, ts).str(2, "m1").num(900, 7).str(1, "e1");
  return e.bytes;
}

TEST(Fingerprint, TheSameEventInTwoBinaryFieldOrdersHasOneFingerprint) {
  std::string a = capture_in_order();
  std::string b = capture_reordered();
  ASSERT_NE(a, b);
  v1::Envelope ea = decoded(a);
  v1::Envelope eb = decoded(b);
  EXPECT_EQ(canonical(ea), canonical(eb));
  EXPECT_EQ(content_fingerprint(canonical(ea)), content_fingerprint(canonical(eb)));
}

TEST(Fingerprint, TheSameEventWithJsonKeysInAnotherOrderHasOneFingerprint) {
  v1::Envelope a = json_event(
      R"({"event_id":"e1","merchant_id":"m1","occurred_at":"2026-01-01T00:00:00Z",)"
      R"("schema_version":1,"card_captured":{"payment_id":"p1","capture_id":"c1",)"
      R"("amount":{"currency":"USD","amount":"12.34"}}})");
  v1::Envelope b = json_event(
      R"({"card_captured":{"amount":{"amount":"12.34","currency":"USD"},"capture_id":"c1",)"
      R"("payment_id":"p1"},"schema_version":1,"occurred_at":"2026-01-01T00:00:00Z",)"
      R"("merchant_id":"m1","event_id":"e1"})");
  EXPECT_EQ(content_fingerprint(canonical(a)), content_fingerprint(canonical(b)));
  // And the JSON form is the same event as the binary one (without the unknown fields).
  Wire ts, money, body, e;
  ts.num(1, 1767225600);
  money.str(2, "12.34").str(1, "USD");
  body.msg(3, money).str(2, "c1").str(1, "p1");
  e.msg(11, body).num(4, 1).msg(3, ts).str(2, "m1").str(1, "e1");
  EXPECT_EQ(canonical(a), canonical(decoded(e.bytes)));
}

TEST(Fingerprint, ADifferentValueChangesTheFingerprint) {
  std::string other = capture_in_order();
  other.replace(other.find("12.34"), 5, "12.35");
  EXPECT_NE(content_fingerprint(canonical(decoded(capture_in_order()))),
            content_fingerprint(canonical(decoded(other))));
}

// The encoding is defined by payledger, byte for byte (records.h): pinned here by hand.
TEST(Fingerprint, TheCanonicalEncodingIsTheDocumentedOne) {
  v1::Envelope e;
  e.set_event_id("e");
  e.set_merchant_id("m");
  e.mutable_occurred_at()->set_seconds(1);
  e.set_schema_version(1);
  e.mutable_card_voided()->set_payment_id("p");
  using namespace std::string_literals;
  std::string want = "plc1"s +
                     "\0\0\0\x01"s "s"s "\0\0\0\x01"s "e"s +            // 1 event_id
                     "\0\0\0\x02"s "s"s "\0\0\0\x01"s "m"s +            // 2 merchant_id
                     "\0\0\0\x03"s "m"s +                                // 3 occurred_at {
                     "\0\0\0\x01"s "i"s "\0\0\0\0\0\0\0\x01"s +          //   1 seconds
                     "\0\0\0\0"s +                                       // }
                     "\0\0\0\x04"s "u"s "\0\0\0\0\0\0\0\x01"s +          // 4 schema_version
                     "\0\0\0\x0c"s "m"s +                                // 12 card_voided {
                     "\0\0\0\x01"s "s"s "\0\0\0\x01"s "p"s +             //   1 payment_id
                     "\0\0\0\0"s +                                       // }
                     "\0\0\0\0"s;                                        // end of envelope
  EXPECT_EQ(canonical(e), want);
}

// End to end: the retry in another field order is a duplicate, not a conflicting one.
TEST(Fingerprint, AReorderedRetryFoldsAsADuplicate) {
  TempDir dir;
  events::EmbeddedLogOptions lo;
  lo.partitions = 1;
  lo.sync = false;
  auto log = events::EmbeddedLog::open(dir.path() + "/log", lo).value();
  std::vector<events::AppendRecord> records{
      {"m1", events::encode(card_authorised("a1", "p1", "100.00"))},
      {"m1", capture_in_order()},
      {"m1", capture_reordered()}};
  ASSERT_TRUE(log->append(records).ok());
  auto store = projections::Store::open(dir.path() + "/projections", false).value();
  projections::FoldOptions fo;
  fo.sync = false;
  auto stats = projections::fold(*store, *log, fo);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->applied, 2u);
  EXPECT_EQ(stats->duplicates, 1u);
  EXPECT_EQ(stats->rejected, 0u);
}

}  // namespace
}  // namespace payledger::testing

namespace payledger::testing {
namespace {

// Idempotency window: memory holds at most dedupe_memory_ids_max ids (plus one batch); an
// exact retry of an id that left memory is still a duplicate (probed on disk), and another
// event reusing such an id is still a conflicting duplicate, also after a restart.
TEST(DedupeWindow, MemoryIsBoundedAndOldRetriesAreStillCaught) {
  TempDir dir;
  events::EmbeddedLogOptions lo;
  lo.partitions = 1;
  lo.sync = false;
  auto log = events::EmbeddedLog::open(dir.path() + "/log", lo).value();
  std::vector<v1::Envelope> events;
  for (int i = 0; i < 1000; ++i) {
    events.push_back(card_authorised(fmt::format("a{}", 1000 + i), fmt::format("p{}", 1000 + i),
                                     "1.00"));
  }
  std::vector<events::AppendRecord> records;
  for (const auto& e : events) records.push_back({"m1", events::encode(e)});
  ASSERT_TRUE(log->append(records).ok());
  auto store = projections::Store::open(dir.path() + "/projections", false).value();
  projections::FoldOptions fo;
  fo.sync = false;
  fo.dedupe_memory_ids_max = 100;
  fo.batch_events_max = 10;
  {
    auto folder = projections::Folder::open(*store, 1, fo).value();
    events::ReadBatch batch;
    ASSERT_TRUE(log->read(0, 0, 5000, &batch).ok());
    size_t most = 0;
    for (const auto& rec : batch.records) {
      ASSERT_TRUE(folder->fold_record(rec).ok());
      most = std::max(most, folder->dedupe_ids_in_memory());
    }
    ASSERT_TRUE(folder->commit().ok());
    EXPECT_EQ(folder->stats().applied, 1000u);
    EXPECT_LE(most, 100u + 10u);  // the window plus one uncommitted batch, never all 1000
  }
  // a1000 left memory long ago: its exact retry is a duplicate, a1001 reused is a conflict.
  v1::Envelope reuse = card_authorised("a1001", "p9999", "2.00");
  std::vector<events::AppendRecord> late{{"m1", events::encode(events[0])},
                                         {"m1", events::encode(reuse)}};
  ASSERT_TRUE(log->append(late).ok());
  auto check = [&](const char* when) {
    auto stats = projections::fold(*store, *log, fo);
    ASSERT_TRUE(stats.ok());
    EXPECT_EQ(stats->duplicates, 1u) << when;
    EXPECT_EQ(stats->rejected, 1u) << when;
    EXPECT_EQ(stats->applied, 0u) << when;
    EXPECT_EQ(projections::list_rejects(*store, 0).value().back().code,
              Code::kConflictingDuplicate) << when;
  };
  check("same process state");
  ASSERT_TRUE(log->append(late).ok());  // the same two again, after a restart
  store.reset();
  store = projections::Store::open(dir.path() + "/projections", false).value();
  check("after a restart");
}

}  // namespace
}  // namespace payledger::testing
