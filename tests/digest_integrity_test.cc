// What `payledger digest` covers (issue 8, left item 3): every piece of projection state that
// changes what a future fold does — the deadline index, the per-partition event-time
// watermarks, the business-id set and the dedupe fingerprints — besides the books themselves;
// and nothing that legitimately differs between two correct folds of the same events (log
// offsets, noted log ends, the log's identity), so a Kafka fold and an embedded fold of the
// same events still agree.
#include <gtest/gtest.h>

#include "projections/records.h"
#include "projections/store.h"
#include "testlib.h"

namespace payledger::testing {
namespace {

using projections::Cf;

// Two data directories folded from the same events: equal digests until one is edited.
class DigestCoverage : public ::testing::Test {
 protected:
  void SetUp() override {
    auto events = generated(3000);
    a_.append(events);
    b_.append(events);
    a_.fold();
    b_.fold();
    ASSERT_EQ(a_.digest(), b_.digest());
  }
  // The first key and value of `cf` in b_ (fails the test if it is empty).
  std::pair<std::string, std::string> first_of(Cf cf) {
    projections::StoreCursor it = b_.store().cursor(cf, projections::Reading::kFold);
    it.seek_to_first();
    EXPECT_TRUE(it.valid()) << projections::cf_name(cf) << " is empty: the test needs a key";
    if (!it.valid()) return {};
    return {std::string(it.key()), std::string(it.value())};
  }
  void put(Cf cf, const std::string& key, const std::string& value) {
    projections::StoreBatch wb(b_.store());
    wb.put(cf, key, value);
    ASSERT_TRUE(b_.store().write(wb, false).ok());
  }
  void erase(Cf cf, const std::string& key) {
    projections::StoreBatch wb(b_.store());
    wb.erase(cf, key);
    ASSERT_TRUE(b_.store().write(wb, false).ok());
  }

  Books a_, b_;
};

TEST_F(DigestCoverage, ADeadlineMissingFromTheIndexChangesTheDigest) {
  auto [key, value] = first_of(Cf::kDeadlines);
  ASSERT_FALSE(key.empty());
  erase(Cf::kDeadlines, key);
  EXPECT_NE(a_.digest(), b_.digest());
}

TEST_F(DigestCoverage, AnotherWatermarkChangesTheDigest) {
  std::string key = projections::watermark_key(0);
  std::string value;
  ASSERT_TRUE(b_.store().get(Cf::kMeta, key, &value, projections::Reading::kFold).value());
  ASSERT_EQ(value.size(), 8u);
  // One second later: the clock of partition 0 is ahead of the events it folded.
  int64_t t = projections::unbias_time(projections::read_be64(value));
  put(Cf::kMeta, key, projections::be64_string(projections::bias_time(t + 1)));
  EXPECT_NE(a_.digest(), b_.digest());
}

TEST_F(DigestCoverage, AMissingWatermarkChangesTheDigest) {
  erase(Cf::kMeta, projections::watermark_key(1));
  EXPECT_NE(a_.digest(), b_.digest());
}

TEST_F(DigestCoverage, AMissingBusinessIdChangesTheDigest) {
  auto [key, value] = first_of(Cf::kBusinessIds);
  ASSERT_FALSE(key.empty());
  erase(Cf::kBusinessIds, key);
  EXPECT_NE(a_.digest(), b_.digest());
}

TEST_F(DigestCoverage, AnExtraBusinessIdChangesTheDigest) {
  auto [key, value] = first_of(Cf::kBusinessIds);
  ASSERT_FALSE(key.empty());
  put(Cf::kBusinessIds, key + "x", "");  // same partition, an id never applied
  EXPECT_NE(a_.digest(), b_.digest());
}

TEST_F(DigestCoverage, AnotherDedupeFingerprintChangesTheDigest) {
  auto [key, value] = first_of(Cf::kDedupe);
  ASSERT_EQ(value.size(), 24u);  // be64 offset + 128-bit fingerprint
  value[23] = static_cast<char>(value[23] ^ 1);
  put(Cf::kDedupe, key, value);
  EXPECT_NE(a_.digest(), b_.digest());
}

TEST_F(DigestCoverage, AMissingDedupeIdChangesTheDigest) {
  auto [key, value] = first_of(Cf::kDedupe);
  ASSERT_FALSE(key.empty());
  erase(Cf::kDedupe, key);
  EXPECT_NE(a_.digest(), b_.digest());
}

// Offsets are positions in one log backend (Kafka spends some on transaction markers): the
// same events folded from another backend sit at other offsets and must give the same digest.
TEST_F(DigestCoverage, TheOffsetOfADedupeIdDoesNotChangeTheDigest) {
  auto [key, value] = first_of(Cf::kDedupe);
  ASSERT_EQ(value.size(), 24u);
  put(Cf::kDedupe, key, projections::be64_string(projections::read_be64(value) + 7) +
                            value.substr(8));
  EXPECT_EQ(a_.digest(), b_.digest());
}

TEST_F(DigestCoverage, LogEndsLastRecordsAndLogIdentityDoNotChangeTheDigest) {
  put(Cf::kMeta, projections::log_end_key(0), projections::be64_string(1u << 20));
  put(Cf::kMeta, projections::last_record_key(0),
      projections::be64_string(123) + projections::be64_string(456));
  put(Cf::kMeta, std::string(projections::kLogIdentityKey), "kafka:elsewhere/topic");
  EXPECT_EQ(a_.digest(), b_.digest());
}

}  // namespace
}  // namespace payledger::testing
