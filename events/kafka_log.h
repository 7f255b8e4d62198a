// Kafka as the event log (librdkafka C API). Records are keyed by merchant id and placed
// explicitly with partition_for_key(), the same partitioner as the embedded log; values are
// binary payledger.v1 envelopes, or raw input marked by the header payledger-format=raw-json.
//
// Producer: idempotent + transactional (stable transactional.id); each append() is one
// transaction, retried whole after an abortable error; fatal errors (e.g. fencing by a newer
// producer with the same transactional.id) make this producer unusable.
// Consumers read with isolation.level=read_committed: aborted records are never seen.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "events/event_log.h"

namespace payledger::events {

// How long blocking Kafka calls (metadata, admin, transaction init) may take.
inline constexpr int kKafkaTimeoutMsDefault = 15000;
// Header naming a record's format when it is not binary Protobuf.
inline constexpr std::string_view kFormatHeader = "payledger-format";
inline constexpr std::string_view kRawJsonFormat = "raw-json";

struct KafkaOptions {
  std::string brokers = "127.0.0.1:19092";
  std::string topic = "payledger.events";
  // librdkafka properties passed through as given (-X key=value), applied last.
  std::vector<std::pair<std::string, std::string>> extra;
  std::string transactional_id;  // producer; default "payledger-append.<topic>"
  int timeout_ms = kKafkaTimeoutMsDefault;
};

// Whether `id` may be a group.instance.id: 1-249 characters of [A-Za-z0-9._-] (the broker's
// rule).
bool valid_instance_id(std::string_view id);

// Parses "key=value" (the -X syntax); kInvalidArgument without '=', or for a key payledger
// sets itself for correctness (check_kafka_property).
Result<std::pair<std::string, std::string>> parse_kafka_property(std::string_view kv);
// kInvalidArgument naming the key when -X may not set it: the settings exactly-once and
// ordering rest on (isolation.level, enable.auto.commit, enable.auto.offset.store,
// auto.offset.reset, enable.partition.eof, partition.assignment.strategy, enable.idempotence,
// acks, transactional.id, transaction/message timeouts, queuing.strategy, ...) and those that
// have their own option (--brokers, --group, --transactional-id). Case-insensitive; a
// "topic." prefix is ignored.
Status check_kafka_property(std::string_view key);

// What the brokers say about a topic.
struct TopicInfo {
  uint32_t partitions = 0;
  int replication = 0;     // replicas of partition 0 (Kafka topics have one factor)
  std::string cluster_id;  // the cluster's id (KIP-78), stable across broker restarts
};
// kIo naming the brokers if they cannot be reached, kInvalidArgument if the topic does not
// exist.
Result<TopicInfo> topic_info(const KafkaOptions& options);
// The identity a store records for this topic: "kafka:<cluster id>/<topic>".
std::string kafka_log_identity(const TopicInfo& info, const KafkaOptions& options);

// The range of offsets a partition holds: [low, high). Records below low were deleted
// (retention, DeleteRecords); high is one past the last record (markers included).
struct Watermarks {
  int64_t low = 0;
  int64_t high = 0;
};
// The error for a start offset outside a partition's range, saying what to do.
Error out_of_range_error(const KafkaOptions& options, uint32_t partition, int64_t offset,
                         Watermarks range);

// Creates `topic` with `partitions` partitions and replication factor `replication`.
// kInvalidArgument if it exists with another partition count; ok if it exists as asked.
Status create_topic(const KafkaOptions& options, uint32_t partitions, int replication);
// The topic's partition count (kIo naming the brokers if they cannot be reached, kNotFound-
// style kInvalidArgument if the topic does not exist).
Result<uint32_t> topic_partitions(const KafkaOptions& options);

class KafkaProducer {
 public:
  // Connects and initialises transactions (fences older producers with the same id).
  static Result<std::unique_ptr<KafkaProducer>> open(const KafkaOptions& options,
                                                     uint32_t partitions);
  ~KafkaProducer();
  // Appends all records in one transaction: all become visible to read_committed readers,
  // or none do.
  Status append(std::span<const AppendRecord> records);
  // Test hook: produces the records inside a transaction and aborts it.
  Status append_and_abort(std::span<const AppendRecord> records);
  // Per partition, the highest offset the last successful append() wrote (-1: none).
  std::vector<int64_t> last_offsets() const;

  struct Impl;

 private:
  explicit KafkaProducer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// EventLog over a Kafka topic: append through a KafkaProducer, read(partition, offset)
// through a read_committed consumer assigned to that partition (no consumer group).
class KafkaLog final : public EventLog {
 public:
  static Result<std::unique_ptr<KafkaLog>> open(const KafkaOptions& options);
  ~KafkaLog() override;
  uint32_t partition_count() const override;
  Status append(std::span<const AppendRecord> records) override;
  // Waits up to the options' timeout for records; empty once the partition's end (last
  // stable offset) is reached.
  Status read(uint32_t partition, uint64_t from_offset, size_t max_records,
              ReadBatch* out) override;
  Result<uint64_t> end_offset(uint32_t partition) override;

  struct Impl;

 private:
  explicit KafkaLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A record the fold could not decode (or whose schema version it does not speak), copied to
// the dead-letter topic <topic>.dlq with the reason in headers: payledger-reject-code,
// payledger-reject-reason, payledger-source-partition, payledger-source-offset.
struct DeadLetter {
  std::string key;
  std::string value;
  RecordFormat format = RecordFormat::kProtobuf;
  std::string code;
  std::string reason;
  uint32_t partition = 0;
  uint64_t offset = 0;
};

// Idempotent producer for the dead-letter topic (created on first use, same partition count
// as the source topic). At least once: after a crash a dead letter may be sent again; the
// source-partition/offset headers identify duplicates.
class KafkaDeadLetters {
 public:
  static Result<std::unique_ptr<KafkaDeadLetters>> open(const KafkaOptions& source);
  ~KafkaDeadLetters();
  Status send(const DeadLetter& letter);
  // Waits until everything sent is acknowledged by the broker.
  Status flush();
  const std::string& topic() const;

  struct Impl;

 private:
  explicit KafkaDeadLetters(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A consumer-group member (the scale-out fold). Single-threaded: call poll() in a loop.
class KafkaGroupConsumer {
 public:
  // Called on every assignment with the partitions now owned; returns the offset to start
  // each at (-1: from the beginning), or an error that stops the consumer: nothing is
  // assigned and poll() returns it.
  using OnAssign = std::function<Result<std::vector<int64_t>>(const std::vector<uint32_t>&)>;
  // Called before partitions are taken away (commit their state now).
  using OnRevoke = std::function<Status(const std::vector<uint32_t>&)>;

  // `instance_id` non-empty: a static group member (group.instance.id, KIP-345). A restart
  // with the same id takes the member's partitions back at once, where a new dynamic member
  // waits until the dead one's session times out; a second consumer with the same id fences
  // the first (its poll() then fails, naming the id).
  static Result<std::unique_ptr<KafkaGroupConsumer>> open(const KafkaOptions& options,
                                                          const std::string& group,
                                                          OnAssign on_assign,
                                                          OnRevoke on_revoke,
                                                          const std::string& instance_id = "");
  ~KafkaGroupConsumer();

  // Fills `out` with up to max_records records (waiting at most timeout_ms for the first).
  // Records are in offset order per partition and belong to the current assignment.
  // Every consumer error fails the poll (named, with its partition), except the end of a
  // partition and the transient errors of unreachable brokers, which librdkafka retries by
  // itself: those are counted for transient_error().
  Status poll(size_t max_records, int timeout_ms, ReadBatch* out);
  // The last transient error (broker down, disconnected, coordinator moving) since the
  // previous call, or empty; clears it.
  std::string take_transient_error();
  // Per partition read to its end: the offset past the end (the consumer's position there,
  // beyond transaction markers and aborted records). Cleared by a new assignment.
  const std::map<uint32_t, int64_t>& end_positions() const;
  // The partition's range on the brokers now (a network round trip).
  Result<Watermarks> watermarks(uint32_t partition, int timeout_ms);
  // The end offset of each of the topic's first `partitions` partitions, in one ListOffsets
  // request that gives up after timeout_ms even with every broker down
  // (rd_kafka_query_watermark_offsets of librdkafka < 2.3 can wait forever then:
  // confluentinc/librdkafka#2588). As this consumer reads (read_committed: the last stable
  // offset, the end it can read to).
  Result<std::vector<int64_t>> end_offsets(uint32_t partitions, int timeout_ms);
  // The topic's partition count on the brokers now (metadata round trip).
  Result<uint32_t> partition_count(int timeout_ms);
  // Whether every assigned partition has been read to its end (and at least one is assigned).
  bool idle() const;
  std::vector<uint32_t> assignment() const;
  // Informative only: records these next offsets as the group's committed offsets.
  void commit_informative(const std::vector<std::pair<uint32_t, uint64_t>>& next_offsets);
  // Leaves the group (revoke callback runs); call before destruction for a clean exit.
  Status close();
  // Drops the consumer without leaving the group (no callbacks): for when the brokers are
  // unreachable, where rd_kafka_consumer_close can block forever (seen with librdkafka
  // 2.0.2). The group reassigns the partitions once the session times out. Nothing may be
  // called afterwards.
  void abandon();

  struct Impl;

 private:
  explicit KafkaGroupConsumer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace payledger::events
