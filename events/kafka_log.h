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

// Parses "key=value" (the -X syntax); kInvalidArgument without '='.
Result<std::pair<std::string, std::string>> parse_kafka_property(std::string_view kv);

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
  // each at (or -1 for "from the beginning").
  using OnAssign = std::function<std::vector<int64_t>(const std::vector<uint32_t>&)>;
  // Called before partitions are taken away (commit their state now).
  using OnRevoke = std::function<Status(const std::vector<uint32_t>&)>;

  static Result<std::unique_ptr<KafkaGroupConsumer>> open(const KafkaOptions& options,
                                                          const std::string& group,
                                                          OnAssign on_assign,
                                                          OnRevoke on_revoke);
  ~KafkaGroupConsumer();

  // Fills `out` with up to max_records records (waiting at most timeout_ms for the first).
  // Records are in offset order per partition and belong to the current assignment.
  Status poll(size_t max_records, int timeout_ms, ReadBatch* out);
  // Whether every assigned partition has been read to its end (and at least one is assigned).
  bool idle() const;
  std::vector<uint32_t> assignment() const;
  // Informative only: records these next offsets as the group's committed offsets.
  void commit_informative(const std::vector<std::pair<uint32_t, uint64_t>>& next_offsets);
  // Leaves the group (revoke callback runs); call before destruction for a clean exit.
  Status close();

  struct Impl;

 private:
  explicit KafkaGroupConsumer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace payledger::events
