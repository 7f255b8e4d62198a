// Tests against a real Apache Kafka broker (scripts/kafka start; label "kafka").
// PAYLEDGER_KAFKA_BROKERS overrides the default 127.0.0.1:19092.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include "events/codec.h"
#include "events/embedded_log.h"
#include "events/kafka_log.h"
#include "projections/fold.h"
#include "projections/kafka_fold.h"
#include "projections/queries.h"
#include "test_util.h"
#include "tools/generator.h"

namespace payledger::testing {
namespace {

using events::AppendRecord;
using events::KafkaOptions;

std::string brokers() {
  const char* env = std::getenv("PAYLEDGER_KAFKA_BROKERS");
  return env != nullptr ? env : "127.0.0.1:19092";
}

// A fresh topic per test: name unique per process and test.
KafkaOptions fresh_topic(const std::string& name, uint32_t partitions = 4) {
  KafkaOptions o;
  o.brokers = brokers();
  o.topic = "test." + name + "." + std::to_string(::getpid()) + "." +
            std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
  Status s = events::create_topic(o, partitions, 1);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().reason)
                      << " (is the broker running? scripts/kafka start)";
  return o;
}

std::vector<AppendRecord> records(uint64_t n, uint64_t seed) {
  tools::Generator gen({n, seed, 30, ""});
  std::vector<AppendRecord> out;
  v1::Envelope e;
  while (gen.next(&e)) out.push_back({e.merchant_id(), events::encode(e)});
  return out;
}


projections::FoldStats fold_until_idle(projections::Store& store, const KafkaOptions& o,
                                       const std::string& group) {
  projections::KafkaFoldOptions ko;
  ko.fold.sync = false;
  ko.group = group;
  ko.until_idle = true;
  auto stats = projections::fold_kafka(store, o, ko);
  EXPECT_TRUE(stats.ok()) << (stats.ok() ? "" : stats.error().reason);
  return stats.ok() ? *stats : projections::FoldStats{};
}

// A broker that has just (re)started may still be loading its transaction and group
// coordinators: wait, once, until a transaction commits before the tests run.
class BrokerReady : public ::testing::Environment {
 public:
  void SetUp() override {
    KafkaOptions o;
    o.brokers = brokers();
    o.topic = "test.ready";
    o.timeout_ms = 60000;
    ASSERT_TRUE(events::create_topic(o, 1, 1).ok()) << "is the broker running? scripts/kafka start";
    auto producer = events::KafkaProducer::open(o, 1);
    ASSERT_TRUE(producer.ok()) << producer.error().reason;
    ASSERT_TRUE((*producer)->append(records(1, 1)).ok());
  }
};
const auto* const kBrokerReady = ::testing::AddGlobalTestEnvironment(new BrokerReady);

TEST(Kafka, FoldFromKafkaEqualsTheEmbeddedFold) {
  KafkaOptions o = fresh_topic("equal");
  auto recs = records(5000, 11);
  auto producer = events::KafkaProducer::open(o, 0).value();
  for (size_t i = 0; i < recs.size(); i += 1000) {
    std::span<const AppendRecord> part(recs.data() + i, std::min<size_t>(1000, recs.size() - i));
    ASSERT_TRUE(producer->append(part).ok());
  }
  TempDir dir;
  auto store = projections::Store::open(dir.path(), false).value();
  auto stats = fold_until_idle(*store, o, o.topic + ".g");
  EXPECT_EQ(stats.applied, 5000u);
  EXPECT_EQ(projections::projection_digest(*store).value(), embedded_digest(recs));
}

TEST(Kafka, AbortedTransactionIsNeverFolded) {
  KafkaOptions o = fresh_topic("abort");
  auto aborted = records(300, 21);  // same event ids as `kept`, other content
  auto kept = records(200, 22);
  auto producer = events::KafkaProducer::open(o, 0).value();
  ASSERT_TRUE(producer->append_and_abort(aborted).ok());
  ASSERT_TRUE(producer->append(kept).ok());
  TempDir dir;
  auto store = projections::Store::open(dir.path(), false).value();
  auto stats = fold_until_idle(*store, o, o.topic + ".g");
  EXPECT_EQ(stats.records, 200u);  // read_committed: the aborted 300 are invisible
  EXPECT_EQ(stats.rejected, 0u);
  EXPECT_EQ(projections::projection_digest(*store).value(), embedded_digest(kept));
}

TEST(Kafka, AFencedProducerCannotCommit) {
  KafkaOptions o = fresh_topic("fence");
  o.transactional_id = o.topic + ".txn";
  auto first = events::KafkaProducer::open(o, 0).value();
  ASSERT_TRUE(first->append(records(10, 1)).ok());
  auto second = events::KafkaProducer::open(o, 0).value();  // same transactional.id: fences
  Status s = first->append(records(10, 2));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code::kIo);
  EXPECT_TRUE(second->append(records(10, 3)).ok());
}

TEST(Kafka, DuplicateAppendsHaveNoDoubleEffects) {
  KafkaOptions o = fresh_topic("dupes");
  auto recs = records(1000, 31);
  auto producer = events::KafkaProducer::open(o, 0).value();
  ASSERT_TRUE(producer->append(recs).ok());
  ASSERT_TRUE(producer->append(recs).ok());  // a producer-level retry of the whole batch
  TempDir dir;
  auto store = projections::Store::open(dir.path(), false).value();
  auto stats = fold_until_idle(*store, o, o.topic + ".g");
  EXPECT_EQ(stats.applied, 1000u);
  EXPECT_EQ(stats.duplicates, 1000u);
  EXPECT_EQ(projections::projection_digest(*store).value(), embedded_digest(recs));
}

TEST(Kafka, RestartedFoldResumesFromItsStoredOffsets) {
  KafkaOptions o = fresh_topic("resume");
  auto recs = records(3000, 41);
  auto producer = events::KafkaProducer::open(o, 0).value();
  ASSERT_TRUE(producer->append(std::span<const AppendRecord>(recs.data(), 1500)).ok());
  TempDir dir;
  {
    auto store = projections::Store::open(dir.path(), false).value();
    EXPECT_EQ(fold_until_idle(*store, o, o.topic + ".g").records, 1500u);
  }
  ASSERT_TRUE(producer->append(std::span<const AppendRecord>(recs.data() + 1500, 1500)).ok());
  auto store = projections::Store::open(dir.path(), false).value();
  // A new group: Kafka's committed offsets are not what positions the fold.
  EXPECT_EQ(fold_until_idle(*store, o, o.topic + ".other").records, 1500u);
  EXPECT_EQ(projections::projection_digest(*store).value(), embedded_digest(recs));
}

TEST(Kafka, KafkaLogServesTheEventLogInterface) {
  KafkaOptions o = fresh_topic("eventlog");
  o.timeout_ms = 3000;
  auto log = events::KafkaLog::open(o).value();
  EXPECT_EQ(log->partition_count(), 4u);
  auto recs = records(2000, 51);
  ASSERT_TRUE(log->append(recs).ok());
  // The generic fold loop over the EventLog interface gives the embedded digest.
  TempDir dir;
  auto store = projections::Store::open(dir.path(), false).value();
  projections::FoldOptions fo;
  fo.sync = false;
  auto stats = projections::fold(*store, *log, fo);
  ASSERT_TRUE(stats.ok()) << stats.error().reason;
  EXPECT_EQ(stats->applied, 2000u);
  EXPECT_EQ(projections::projection_digest(*store).value(), embedded_digest(recs));
  // Random access: re-read one partition from an offset.
  events::ReadBatch batch;
  ASSERT_TRUE(log->read(0, 0, 5, &batch).ok());
  ASSERT_FALSE(batch.records.empty());
  uint64_t second = batch.records.size() > 1 ? batch.records[1].offset : 0;
  std::string second_value(batch.records.size() > 1 ? batch.records[1].value : "");
  ASSERT_TRUE(log->read(0, second, 1, &batch).ok());
  ASSERT_EQ(batch.records.size(), 1u);
  EXPECT_EQ(batch.records[0].offset, second);
  EXPECT_EQ(batch.records[0].value, second_value);
  EXPECT_GE(*log->end_offset(0), second + 1);
}

TEST(Kafka, UnreachableBrokerIsAClearError) {
  KafkaOptions o;
  o.brokers = "127.0.0.1:1";
  o.topic = "nowhere";
  o.timeout_ms = 2000;
  auto n = events::topic_partitions(o);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().code, Code::kIo);
  EXPECT_NE(n.error().reason.find("127.0.0.1:1"), std::string::npos) << n.error().reason;
}

TEST(Kafka, MissingTopicIsAClearError) {
  KafkaOptions o;
  o.brokers = brokers();
  o.topic = "test.no-such-topic." + std::to_string(::getpid());
  auto n = events::topic_partitions(o);
  ASSERT_FALSE(n.ok());
  EXPECT_NE(n.error().reason.find("not found"), std::string::npos) << n.error().reason;
}

}  // namespace
}  // namespace payledger::testing
