// EventLog: the append-only, partitioned log that is the ledger's source of truth.
// Records are keyed by merchant id; all records of one key land in one partition, in order.
// Backends: EmbeddedLog (local files, no server) and, later, Kafka.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "events/schema/result.h"

namespace payledger::events {

// How a record's value is encoded. Raw JSON is kept for input that did not decode, so the
// fold can park it with its reason instead of losing it.
enum class RecordFormat : uint8_t { kProtobuf = 0, kRawJson = 1 };

// Most records one read may return; bounds memory per fold batch.
inline constexpr size_t kReadRecordsMax = 65536;
// Most partitions a log may have.
inline constexpr uint32_t kPartitionsMax = 1024;

// The key of reference data every partition needs (published FX rates): a record with this
// key is appended once to every partition, the same bytes in each. No merchant id can be
// "*" (ids are A-Z a-z 0-9 _ - .).
inline constexpr std::string_view kBroadcastKey = "*";

struct AppendRecord {
  // merchant id (partition key); kBroadcastKey for every partition; may be empty for raw input
  std::string key;
  std::string value;
  RecordFormat format = RecordFormat::kProtobuf;
};

struct LogRecord {
  uint32_t partition = 0;
  uint64_t offset = 0;
  RecordFormat format = RecordFormat::kProtobuf;
  std::string_view key;    // points into the owning ReadBatch
  std::string_view value;  // points into the owning ReadBatch
};

// The records of one read. Owns the bytes the LogRecords point into.
class ReadBatch {
 public:
  std::vector<LogRecord> records;

  void clear() {
    records.clear();
    size_ = 0;
  }
  // Room for n bytes, uninitialised (a read fills it straight away), reused across reads.
  char* reserve(size_t n) {
    if (n > capacity_) {
      buffer_.reset(new char[n]);
      capacity_ = n;
    }
    size_ = n;
    return buffer_.get();
  }
  const char* data() const { return buffer_.get(); }
  size_t size() const { return size_; }

 private:
  std::unique_ptr<char[]> buffer_;
  size_t capacity_ = 0;
  size_t size_ = 0;
};

// Stable partitioner shared by every backend: CRC-32 of the key modulo `partitions`, the
// same as librdkafka's consistent partitioner (and its default for keyed records).
uint32_t partition_for_key(std::string_view key, uint32_t partitions);

class EventLog {
 public:
  virtual ~EventLog() = default;
  virtual uint32_t partition_count() const = 0;
  // Appends all records durably (each to partition_for_key(key), a kBroadcastKey record to
  // every partition), or none on error where the backend can guarantee it. Returns once the
  // records are readable.
  virtual Status append(std::span<const AppendRecord> records) = 0;
  // Replaces `out` with up to `max_records` records of `partition` from `from_offset` on.
  // An empty result means the partition has no records at or after `from_offset` yet.
  virtual Status read(uint32_t partition, uint64_t from_offset, size_t max_records,
                      ReadBatch* out) = 0;
  // One past the last readable offset of `partition`.
  virtual Result<uint64_t> end_offset(uint32_t partition) = 0;
};

}  // namespace payledger::events
