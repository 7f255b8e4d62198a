// Tests against a real Apache Kafka broker (scripts/kafka start; label "kafka").
// PAYLEDGER_KAFKA_BROKERS overrides the default 127.0.0.1:19092.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>

#include "events/codec.h"
#include "events/embedded_log.h"
#include "events/kafka_log.h"
#include "projections/fold.h"
#include "projections/kafka_fold.h"
#include "projections/queries.h"
#include "projections/store.h"
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
  while (gen.next(&e)) out.push_back(events::event_record(e));
  return out;
}



// Admin operations the tests need to break a topic the way operators and retention do.
class Admin {
 public:
  explicit Admin(const KafkaOptions& o) : topic_(o.topic) {
    char errstr[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", o.brokers.c_str(), errstr, sizeof errstr);
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    queue_ = rd_kafka_queue_new(rk_);
  }
  ~Admin() {
    rd_kafka_queue_destroy(queue_);
    rd_kafka_destroy(rk_);
  }
  // DeleteRecords: the partition's log start moves to `before` (as retention would).
  void delete_records(int32_t partition, int64_t before) {
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, topic_.c_str(), partition)->offset = before;
    rd_kafka_DeleteRecords_t* del = rd_kafka_DeleteRecords_new(list);
    rd_kafka_topic_partition_list_destroy(list);
    rd_kafka_DeleteRecords(rk_, &del, 1, nullptr, queue_);
    rd_kafka_DeleteRecords_destroy(del);
    expect_ok(rd_kafka_queue_poll(queue_, 30000), "DeleteRecords");
  }
  // CreatePartitions: the topic grows to `total` partitions.
  void grow_to(int total) {
    char errstr[256];
    rd_kafka_NewPartitions_t* np =
        rd_kafka_NewPartitions_new(topic_.c_str(), static_cast<size_t>(total), errstr,
                                   sizeof errstr);
    rd_kafka_CreatePartitions(rk_, &np, 1, nullptr, queue_);
    rd_kafka_NewPartitions_destroy(np);
    expect_ok(rd_kafka_queue_poll(queue_, 30000), "CreatePartitions");
  }

 private:
  static void expect_ok(rd_kafka_event_t* ev, const char* what) {
    ASSERT_NE(ev, nullptr) << what << ": no answer";
    EXPECT_EQ(rd_kafka_event_error(ev), RD_KAFKA_RESP_ERR_NO_ERROR)
        << what << ": " << rd_kafka_event_error_string(ev);
    if (const auto* r = rd_kafka_event_DeleteRecords_result(ev)) {
      const auto* offsets = rd_kafka_DeleteRecords_result_offsets(r);
      for (int i = 0; i < offsets->cnt; ++i) {
        EXPECT_EQ(offsets->elems[i].err, RD_KAFKA_RESP_ERR_NO_ERROR) << what;
      }
    }
    if (const auto* r = rd_kafka_event_CreatePartitions_result(ev)) {
      size_t n = 0;
      const rd_kafka_topic_result_t** res = rd_kafka_CreatePartitions_result_topics(r, &n);
      for (size_t i = 0; i < n; ++i) {
        EXPECT_EQ(rd_kafka_topic_result_error(res[i]), RD_KAFKA_RESP_ERR_NO_ERROR)
            << what << ": " << rd_kafka_topic_result_error_string(res[i]);
      }
    }
    rd_kafka_event_destroy(ev);
  }
  std::string topic_;
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_queue_t* queue_ = nullptr;
};

Result<projections::FoldStats> try_fold(projections::Store& store, const KafkaOptions& o,
                                        const std::string& group, bool partial = false) {
  projections::KafkaFoldOptions ko;
  ko.fold.sync = false;
  ko.group = group;
  ko.until_idle = true;
  ko.allow_partial_history = partial;
  return projections::fold_kafka(store, o, ko);
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
    // A failed global SetUp makes GoogleTest print every test as SKIPPED, which CTest counts
    // as passing: without a broker these tests must fail, so the process exits non-zero.
    if (Status s = events::create_topic(o, 1, 1); !s) {
      not_ready("create a topic: " + s.error().reason + " (is the broker running? scripts/kafka start)");
    }
    auto producer = events::KafkaProducer::open(o, 1);
    if (!producer) not_ready("open a transactional producer: " + producer.error().reason);
    if (Status s = (*producer)->append(records(1, 1)); !s) {
      not_ready("commit a transaction: " + s.error().reason);
    }
  }

 private:
  [[noreturn]] static void not_ready(const std::string& why) {
    std::fprintf(stderr, "kafka tests: the broker is not ready: cannot %s\n", why.c_str());
    std::exit(1);
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


TEST(Kafka, AStoredOffsetBelowTheLogStartStopsTheFoldInsteadOfJumping) {
  KafkaOptions o = fresh_topic("deleted", 1);
  auto recs = records(1000, 61);
  auto producer = events::KafkaProducer::open(o, 0).value();
  ASSERT_TRUE(producer->append(std::span<const AppendRecord>(recs.data(), 500)).ok());
  TempDir dir;
  auto store = projections::Store::open(dir.path(), false).value();
  EXPECT_EQ(fold_until_idle(*store, o, o.topic + ".g").records, 500u);
  // 500 records at offsets 0..499, the commit marker at 500: read to its end the partition
  // resumes at 501, which is also the log end noted.
  EXPECT_EQ(store->load_offsets(1).value()[0], std::optional<uint64_t>(501));
  EXPECT_EQ(store->load_log_ends(1).value()[0], std::optional<uint64_t>(501));
  // 500 more at 501..1000 (marker 1001); then the head up to offset 800 is deleted, as
  // retention would: records 501..799 were never folded and are gone.
  ASSERT_TRUE(producer->append(std::span<const AppendRecord>(recs.data() + 500, 500)).ok());
  Admin(o).delete_records(0, 800);
  auto again = try_fold(*store, o, o.topic + ".g2");
  ASSERT_FALSE(again.ok()) << "the fold jumped from 501 to the log start 800";
  EXPECT_EQ(again.error().code, Code::kCorrupt);
  const std::string& why = again.error().reason;
  EXPECT_NE(why.find("partition 0"), std::string::npos) << why;
  EXPECT_NE(why.find("501"), std::string::npos) << why;
  EXPECT_NE(why.find("[800, 1002)"), std::string::npos) << why;
  EXPECT_NE(why.find("payledger rebuild"), std::string::npos) << why;
  EXPECT_EQ(store->load_offsets(1).value()[0], std::optional<uint64_t>(501));  // untouched
}

TEST(Kafka, AFreshStoreRefusesALogWhoseHeadWasDeletedUnlessAllowed) {
  KafkaOptions o = fresh_topic("head", 1);
  auto recs = records(1000, 62);
  auto producer = events::KafkaProducer::open(o, 0).value();
  ASSERT_TRUE(producer->append(recs).ok());  // offsets 0..999, marker 1000
  Admin(o).delete_records(0, 700);
  TempDir dir;
  auto store = projections::Store::open(dir.path(), false).value();
  auto refused = try_fold(*store, o, o.topic + ".g");
  ASSERT_FALSE(refused.ok()) << "a fresh store folded a log missing its first 700 records";
  EXPECT_NE(refused.error().reason.find("starts at offset 700"), std::string::npos)
      << refused.error().reason;
  EXPECT_NE(refused.error().reason.find("--allow-partial-history"), std::string::npos);
  EXPECT_FALSE(store->load_offsets(1).value()[0].has_value());  // nothing folded
  auto partial = try_fold(*store, o, o.topic + ".g2", /*partial=*/true);
  ASSERT_TRUE(partial.ok()) << partial.error().reason;
  EXPECT_EQ(partial->records, 300u);  // offsets 700..999
}

TEST(Kafka, PartitionsAddedToTheTopicStopTheFold) {
  KafkaOptions o = fresh_topic("grow", 2);
  auto recs = records(500, 63);
  ASSERT_TRUE(events::KafkaProducer::open(o, 0).value()->append(recs).ok());
  TempDir dir;
  auto store = projections::Store::open(dir.path(), false).value();
  // A fold running (not --until-idle) when the topic grows must stop, not index past its
  // per-partition state or fold merchants that moved partition.
  std::atomic<bool> committed{false};
  projections::KafkaFoldOptions ko;
  ko.fold.sync = false;
  ko.group = o.topic + ".g";
  ko.log_end_interval_ms = 200;
  ko.on_commit = [&](const projections::Folder& f) {
    if (f.stats().records == 500) committed = true;
  };
  auto running = std::async(std::launch::async,
                            [&] { return projections::fold_kafka(*store, o, ko); });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!committed && std::chrono::steady_clock::now() < deadline) {
    ASSERT_EQ(running.wait_for(std::chrono::milliseconds(20)), std::future_status::timeout)
        << "the fold ended before the topic grew";
  }
  ASSERT_TRUE(committed.load());
  Admin(o).grow_to(3);
  ASSERT_EQ(running.wait_for(std::chrono::seconds(60)), std::future_status::ready)
      << "the fold did not notice the new partition";
  auto stats = running.get();
  ASSERT_FALSE(stats.ok());
  EXPECT_NE(stats.error().reason.find("has 3 partitions now"), std::string::npos)
      << stats.error().reason;
  // And a new run refuses the store folded with 2.
  auto again = try_fold(*store, o, o.topic + ".g2");
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().reason.find("2 partitions"), std::string::npos) << again.error().reason;
}

TEST(Kafka, TheDeadLetterTopicTakesTheSourceReplicationFactor) {
  KafkaOptions o = fresh_topic("dlqrf", 2);
  auto producer = events::KafkaProducer::open(o, 0).value();
  std::vector<AppendRecord> bad{{"m1", "not a protobuf envelope"}};
  ASSERT_TRUE(producer->append(bad).ok());
  TempDir dir;
  auto store = projections::Store::open(dir.path(), false).value();
  EXPECT_EQ(fold_until_idle(*store, o, o.topic + ".g").rejected, 1u);
  KafkaOptions dlq = o;
  dlq.topic = o.topic + ".dlq";
  auto source = events::topic_info(o).value();
  auto letters = events::topic_info(dlq);
  ASSERT_TRUE(letters.ok()) << letters.error().reason;
  // One broker here, so both are 1; the mock test checks a factor of 3 is read.
  EXPECT_EQ(letters->replication, source.replication);
  EXPECT_EQ(letters->partitions, source.partitions);
}

}  // namespace
}  // namespace payledger::testing
