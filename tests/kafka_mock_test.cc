// Fast Kafka client tests on librdkafka's in-process mock cluster (no broker; label unit).
// The mock writes no transaction markers, so isolation is tested on the real broker only
// (kafka_test.cc); here: the transactional producer's abort-and-retry path and the group fold.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "events/codec.h"
#include "events/embedded_log.h"
#include "events/kafka_log.h"
#include "projections/kafka_fold.h"
#include "projections/queries.h"
#include "test_util.h"
#include "tools/generator.h"

namespace payledger::testing {
namespace {

constexpr int16_t kApiProduce = 0;  // Kafka protocol ApiKey of Produce

// A one-broker mock cluster hosted by a throwaway producer handle.
class MockCluster {
 public:
  MockCluster() {
    char errstr[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof errstr);
    host_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    cluster_ = rd_kafka_mock_cluster_new(host_, 1);
  }
  ~MockCluster() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(host_);
  }
  events::KafkaOptions topic(const std::string& name, int partitions) {
    rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, 1);
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
  while (gen.next(&e)) out.push_back({e.merchant_id(), events::encode(e)});
  return out;
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
  // The broker refuses the first produce request: the append reports it (the transaction is
  // aborted), and the caller's retry of the same batch succeeds.
  rd_kafka_mock_push_request_errors(mock.get(), kApiProduce, 1,
                                    RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
  Status first = producer->append(recs);
  if (!first.ok()) {
    EXPECT_EQ(first.error().code, Code::kIo);
    producer = events::KafkaProducer::open(o, 0).value();  // a fresh producer retries
    ASSERT_TRUE(producer->append(recs).ok());
  }
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

}  // namespace
}  // namespace payledger::testing
