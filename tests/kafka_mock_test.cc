// Fast Kafka client tests on librdkafka's in-process mock cluster (no broker; label unit).
// The mock writes no transaction markers, so isolation is tested on the real broker only
// (kafka_test.cc); here: the transactional producer's abort-and-retry path and the group fold.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "events/codec.h"
#include "events/embedded_log.h"
#include "events/kafka_log.h"
#include "projections/kafka_fold.h"
#include "projections/store.h"
#include "projections/queries.h"
#include "test_util.h"
#include "tools/generator.h"

namespace payledger::testing {
namespace {

constexpr int16_t kApiProduce = 0;  // Kafka protocol ApiKeys
constexpr int16_t kApiFetch = 1;

// A one-broker mock cluster hosted by a throwaway producer handle.
class MockCluster {
 public:
  explicit MockCluster(int brokers = 1) {
    char errstr[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof errstr);
    host_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    cluster_ = rd_kafka_mock_cluster_new(host_, brokers);
  }
  ~MockCluster() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(host_);
  }
  events::KafkaOptions topic(const std::string& name, int partitions, int replication = 1) {
    rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, replication);
    events::KafkaOptions o;
    o.brokers = rd_kafka_mock_cluster_bootstraps(cluster_);
    o.topic = name;
    o.timeout_ms = 10000;
    return o;
  }
  rd_kafka_mock_cluster_t* get() { return cluster_; }

 private:
  rd_kafka_t* host_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

std::vector<events::AppendRecord> records(uint64_t n) {
  tools::Generator gen({n, 5, 20, ""});
  std::vector<events::AppendRecord> out;
  v1::Envelope e;
  while (gen.next(&e)) out.push_back(events::event_record(e));
  return out;
}


// Folds until idle and returns the outcome (errors included).
Result<projections::FoldStats> try_fold(const events::KafkaOptions& o, projections::Store& store) {
  projections::KafkaFoldOptions ko;
  ko.fold.sync = false;
  ko.group = o.topic + ".g";
  ko.until_idle = true;
  return projections::fold_kafka(store, o, ko);
}

projections::FoldStats fold(const events::KafkaOptions& o, projections::Store& store) {
  projections::KafkaFoldOptions ko;
  ko.fold.sync = false;
  ko.group = o.topic + ".g";
  ko.until_idle = true;
  auto stats = projections::fold_kafka(store, o, ko);
  EXPECT_TRUE(stats.ok()) << (stats.ok() ? "" : stats.error().reason);
  return stats.ok() ? *stats : projections::FoldStats{};
}

TEST(KafkaMock, AFailedAppendIsReportedAndARetryFoldsOnce) {
  MockCluster mock;
  auto o = mock.topic("mock.retry", 2);
  auto recs = records(300);
  auto producer = events::KafkaProducer::open(o, 0).value();
  // The broker refuses the first produce request: an authorization failure is not
  // retriable, so the append must report it (never succeed silently with records missing).
  rd_kafka_mock_push_request_errors(mock.get(), kApiProduce, 1,
                                    RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
  Status first = producer->append(recs);
  ASSERT_FALSE(first.ok()) << "the refused produce request went unreported";
  EXPECT_EQ(first.error().code, Code::kIo);
  EXPECT_NE(first.error().reason.find("authoriz"), std::string::npos) << first.error().reason;
  producer = events::KafkaProducer::open(o, 0).value();  // the caller's retry
  ASSERT_TRUE(producer->append(recs).ok());
  TempDir dir;
  auto store = projections::Store::open(dir.path(), false).value();
  auto stats = fold(o, *store);
  // The mock keeps aborted records visible (no control markers): whatever the failed attempt
  // wrote comes back as exact duplicates, which the fold skips.
  EXPECT_EQ(stats.applied, 300u);
  EXPECT_EQ(stats.rejected, 0u);
  EXPECT_EQ(projections::projection_digest(*store).value(), embedded_digest(recs, 2));
}

TEST(KafkaMock, GroupFoldMatchesTheEmbeddedFold) {
  MockCluster mock;
  auto o = mock.topic("mock.fold", 2);
  auto recs = records(1000);
  auto producer = events::KafkaProducer::open(o, 0).value();
  ASSERT_TRUE(producer->append(recs).ok());
  TempDir dir;
  auto store = projections::Store::open(dir.path(), false).value();
  EXPECT_EQ(fold(o, *store).applied, 1000u);
  EXPECT_EQ(projections::projection_digest(*store).value(), embedded_digest(recs, 2));
}

// Published rates (key '*') go to every partition of the topic, and the group fold of a
// stream with them matches the embedded fold of the same records.
TEST(KafkaMock, ABroadcastRateReachesEveryPartitionAndFoldsAsEmbedded) {
  MockCluster mock;
  auto o = mock.topic("mock.rates", 3);
  tools::GeneratorOptions go{1000, 7, 50, ""};
  go.rates = true;
  go.max_seconds_between_events = 900;  // ~5 days: several daily fixes
  tools::Generator gen(go);
  std::vector<events::AppendRecord> recs;
  v1::Envelope e;
  uint64_t rates = 0;
  while (gen.next(&e)) {
    rates += e.has_fx_rate_published();
    recs.push_back(events::event_record(e));
  }
  ASSERT_GE(rates, 40u);
  ASSERT_TRUE(events::KafkaProducer::open(o, 0).value()->append(recs).ok());
  auto log = events::KafkaLog::open(o).value();
  uint64_t total = 0;
  for (uint32_t p = 0; p < 3; ++p) total += log->end_offset(p).value();
  EXPECT_EQ(total, 1000u + 2 * rates) << "a rate is one record in each of the 3 partitions";
  TempDir dir;
  auto store = projections::Store::open(dir.path(), false).value();
  auto stats = fold(o, *store);
  EXPECT_EQ(stats.applied + stats.expiries_noop, 1000u + 2 * rates);
  EXPECT_EQ(stats.rejected, 0u);
  EXPECT_EQ(projections::projection_digest(*store).value(), embedded_digest(recs, 3));
}

TEST(KafkaMock, AConsumerErrorFailsTheFoldNamingItsPartition) {
  MockCluster mock;
  auto o = mock.topic("mock.fetcherr", 2);
  ASSERT_TRUE(events::KafkaProducer::open(o, 0).value()->append(records(200)).ok());
  // Fetches answered with an error the consumer cannot recover from by itself.
  rd_kafka_mock_push_request_errors(mock.get(), kApiFetch, 4,
                                    RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
                                    RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
                                    RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
                                    RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
  TempDir dir;
  auto store = projections::Store::open(dir.path(), false).value();
  auto stats = try_fold(o, *store);
  ASSERT_FALSE(stats.ok()) << "the fold swallowed the consumer error";
  EXPECT_EQ(stats.error().code, Code::kIo);
  EXPECT_NE(stats.error().reason.find("TOPIC_AUTHORIZATION_FAILED"), std::string::npos)
      << stats.error().reason;
  EXPECT_NE(stats.error().reason.find("partition"), std::string::npos) << stats.error().reason;
}

TEST(KafkaMock, AnOffsetOutOfRangeWhileFoldingStopsTheFoldInsteadOfJumping) {
  MockCluster mock;
  auto o = mock.topic("mock.oor", 1);
  ASSERT_TRUE(events::KafkaProducer::open(o, 0).value()->append(records(200)).ok());
  // The broker says the fetch offset is out of range (as after retention): with
  // auto.offset.reset=earliest the consumer would silently restart from the beginning.
  rd_kafka_mock_push_request_errors(mock.get(), kApiFetch, 1,
                                    RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE);
  TempDir dir;
  auto store = projections::Store::open(dir.path(), false).value();
  auto stats = try_fold(o, *store);
  ASSERT_FALSE(stats.ok()) << "the fold jumped over an offset out of range";
  EXPECT_NE(stats.error().reason.find("partition 0"), std::string::npos) << stats.error().reason;
  EXPECT_NE(stats.error().reason.find("rebuild"), std::string::npos) << stats.error().reason;
}

TEST(KafkaMock, AnAssignErrorFailsTheConsumer) {
  MockCluster mock;
  auto o = mock.topic("mock.assign", 2);
  // A start offset librdkafka refuses (a logical offset it does not know): rd_kafka_assign
  // fails, and poll must say so instead of consuming nothing forever.
  auto consumer = events::KafkaGroupConsumer::open(
                      o, o.topic + ".g",
                      [](const std::vector<uint32_t>& parts) -> Result<std::vector<int64_t>> {
                        return std::vector<int64_t>(parts.size(), -100);
                      },
                      [](const std::vector<uint32_t>&) { return Status::Ok(); })
                      .value();
  events::ReadBatch batch;
  Status polled = Status::Ok();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (polled.ok() && std::chrono::steady_clock::now() < deadline) {
    polled = consumer->poll(100, 100, &batch);
  }
  ASSERT_FALSE(polled.ok()) << "assign error ignored";
  EXPECT_NE(polled.error().reason.find("assign"), std::string::npos) << polled.error().reason;
  EXPECT_TRUE(consumer->assignment().empty());
}

TEST(KafkaMock, AStoreFoldedFromOneTopicRefusesAnother) {
  MockCluster mock;
  auto a = mock.topic("mock.ida", 2);
  auto b = mock.topic("mock.idb", 2);
  auto recs = records(100);
  ASSERT_TRUE(events::KafkaProducer::open(a, 0).value()->append(recs).ok());
  ASSERT_TRUE(events::KafkaProducer::open(b, 0).value()->append(recs).ok());
  TempDir dir;
  auto store = projections::Store::open(dir.path(), false).value();
  EXPECT_EQ(fold(a, *store).applied, 100u);
  std::string identity = store->recorded_log_identity().value();
  EXPECT_TRUE(identity.starts_with("kafka:")) << identity;
  EXPECT_TRUE(identity.ends_with("/mock.ida")) << identity;
  auto other = try_fold(b, *store);
  ASSERT_FALSE(other.ok()) << "a store of topic a folded topic b";
  EXPECT_NE(other.error().reason.find("mock.ida"), std::string::npos) << other.error().reason;
  EXPECT_NE(other.error().reason.find("mock.idb"), std::string::npos) << other.error().reason;
}

TEST(KafkaMock, TopicInfoReadsTheReplicationFactorTheDeadLetterTopicCopies) {
  MockCluster mock(3);
  auto o = mock.topic("mock.rf", 2, 3);
  auto info = events::topic_info(o);
  ASSERT_TRUE(info.ok()) << info.error().reason;
  EXPECT_EQ(info->partitions, 2u);
  EXPECT_EQ(info->replication, 3);
  EXPECT_FALSE(info->cluster_id.empty());
}

TEST(KafkaMock, EveryPartitionsLogEndIsNotedAndEndsMatchTheNextOffsets) {
  MockCluster mock;
  auto o = mock.topic("mock.ends", 2);
  auto recs = records(300);
  ASSERT_TRUE(events::KafkaProducer::open(o, 0).value()->append(recs).ok());
  TempDir dir;
  auto store = projections::Store::open(dir.path(), false).value();
  EXPECT_EQ(fold(o, *store).applied, 300u);
  auto ends = store->load_log_ends(2).value();
  auto next = store->load_offsets(2).value();
  uint64_t total = 0;
  for (uint32_t p = 0; p < 2; ++p) {
    ASSERT_TRUE(ends[p].has_value()) << "partition " << p;
    ASSERT_TRUE(next[p].has_value()) << "partition " << p;
    // Read to its end, the partition's next offset is its log end: a merged query can
    // compare them without a false "behind".
    EXPECT_EQ(*next[p], *ends[p]) << "partition " << p;
    total += *ends[p];
  }
  EXPECT_GE(total, 300u);  // 300 records (the mock writes no transaction markers)
}

TEST(KafkaMock, BrokersDownLongerThanTheBoundFailTheFoldWithANotice) {
  MockCluster mock;
  auto o = mock.topic("mock.down", 2);
  o.timeout_ms = 1000;
  // Closing without brokers waits for the session to time out: keep it short here.
  o.extra = {{"session.timeout.ms", "3000"}};
  ASSERT_TRUE(events::KafkaProducer::open(o, 0).value()->append(records(100)).ok());
  TempDir dir;
  auto store = projections::Store::open(dir.path(), false).value();
  std::atomic<bool> committed{false};
  std::vector<std::string> notices;
  projections::KafkaFoldOptions ko;
  ko.fold.sync = false;
  ko.group = o.topic + ".g";
  ko.broker_down_max_ms = 1500;
  std::atomic<bool> stop{false};  // set if the fold overstays: a failure, not a hung test
  ko.fold.stop = &stop;
  ko.on_commit = [&](const projections::Folder& f) {
    if (f.stats().records == 100) committed = true;
  };
  ko.on_notice = [&](const std::string& line) { notices.push_back(line); };
  auto running = std::async(std::launch::async,
                            [&] { return projections::fold_kafka(*store, o, ko); });
  // Wait (bounded) until the fold has committed all records, then take the broker down.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!committed && std::chrono::steady_clock::now() < deadline) {
    ASSERT_EQ(running.wait_for(std::chrono::milliseconds(20)), std::future_status::timeout)
        << "the fold ended before the outage";
  }
  if (!committed) stop = true;
  ASSERT_TRUE(committed.load());
  rd_kafka_mock_broker_set_down(mock.get(), 1);
  auto ended = running.wait_for(std::chrono::seconds(60));
  stop = true;
  ASSERT_EQ(ended, std::future_status::ready) << "the fold waited for the brokers without bound";
  auto stats = running.get();
  ASSERT_FALSE(stats.ok()) << "the fold went on without its brokers";
  EXPECT_EQ(stats.error().code, Code::kIo);
  EXPECT_NE(stats.error().reason.find("cannot reach Kafka broker"), std::string::npos)
      << stats.error().reason;
  ASSERT_FALSE(notices.empty());
  EXPECT_NE(notices.front().find("unreachable"), std::string::npos) << notices.front();
}

// A record that fills the batch hands it to the writer thread and leaves nothing
// uncommitted; on a topic that then goes quiet the poll loop must still collect that write
// (its result, and the offsets the consumer group reports), not only at the next record,
// log-end check or stop. The writer starts each write only when waited for, and the log-end
// check is 10 minutes away, so only the poll loop can settle it here.
TEST(KafkaMock, AFullBatchWrittenBehindIsSettledOnAnIdleTopic) {
  MockCluster mock;
  auto o = mock.topic("mock.idle", 1);
  ASSERT_TRUE(events::KafkaProducer::open(o, 0).value()->append(records(100)).ok());
  TempDir dir;
  auto store = projections::Store::open(dir.path(), false).value();
  std::atomic<bool> settled{false};
  std::atomic<bool> stop{false};
  projections::KafkaFoldOptions ko;
  ko.fold.sync = false;
  ko.fold.batch_events_max = 100;  // the 100th record fills the batch
  ko.fold.write_behind = true;
  ko.fold.write_behind_when_waited = true;
  ko.fold.stop = &stop;
  ko.group = o.topic + ".g";
  ko.log_end_interval_ms = 600000;
  ko.on_commit = [&](const projections::Folder& f) {
    if (f.stats().records == 100 && !f.writing()) settled = true;
  };
  auto running = std::async(std::launch::async,
                            [&] { return projections::fold_kafka(*store, o, ko); });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!settled && std::chrono::steady_clock::now() < deadline) {
    ASSERT_EQ(running.wait_for(std::chrono::milliseconds(20)), std::future_status::timeout)
        << "the fold ended on its own";
  }
  const bool settled_while_running = settled;  // the final commit at stop settles it anyway
  stop = true;
  auto stats = running.get();
  ASSERT_TRUE(stats.ok()) << stats.error().reason;
  EXPECT_EQ(stats->records, 100u);
  EXPECT_TRUE(settled_while_running) << "the batch handed to the writer was not collected "
                                        "within 20 s of the topic going quiet";
}

TEST(KafkaMock, AFencedStaticMemberFailsNamingItsInstanceIdAndWhatToDo) {
  constexpr int16_t kApiHeartbeat = 12;
  MockCluster mock;
  auto o = mock.topic("mock.fenced", 2);
  ASSERT_TRUE(events::KafkaProducer::open(o, 0).value()->append(records(100)).ok());
  // The coordinator answers a heartbeat as it does when another consumer joined with this
  // group.instance.id: librdkafka makes that a fatal consumer error.
  rd_kafka_mock_push_request_errors(mock.get(), kApiHeartbeat, 1,
                                    RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID);
  auto consumer = events::KafkaGroupConsumer::open(
                      o, o.topic + ".g",
                      [](const std::vector<uint32_t>& parts) -> Result<std::vector<int64_t>> {
                        return std::vector<int64_t>(parts.size(), 0);
                      },
                      [](const std::vector<uint32_t>&) { return Status::Ok(); }, "fold-7")
                      .value();
  events::ReadBatch batch;
  Status polled = Status::Ok();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (polled.ok() && std::chrono::steady_clock::now() < deadline) {
    polled = consumer->poll(100, 100, &batch);
  }
  ASSERT_FALSE(polled.ok()) << "the fenced consumer went on";
  EXPECT_EQ(polled.error().code, Code::kIo);
  EXPECT_NE(polled.error().reason.find("(--instance-id fold-7) was fenced"), std::string::npos)
      << polled.error().reason;
  EXPECT_NE(polled.error().reason.find("run the fold again"), std::string::npos)
      << polled.error().reason;
  consumer->abandon();
}

TEST(KafkaMock, AnInstanceIdOutsideTheBrokersCharactersIsRefused) {
  MockCluster mock;
  auto o = mock.topic("mock.badid", 1);
  auto consumer = events::KafkaGroupConsumer::open(
      o, o.topic + ".g",
      [](const std::vector<uint32_t>& parts) -> Result<std::vector<int64_t>> {
        return std::vector<int64_t>(parts.size(), 0);
      },
      [](const std::vector<uint32_t>&) { return Status::Ok(); }, "host a/dir");
  ASSERT_FALSE(consumer.ok());
  EXPECT_EQ(consumer.error().code, Code::kInvalidArgument);
  EXPECT_NE(consumer.error().reason.find("'host a/dir'"), std::string::npos)
      << consumer.error().reason;
}

}  // namespace
}  // namespace payledger::testing
