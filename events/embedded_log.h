// EmbeddedLog: a durable, partitioned event log in local files, for laptops, demos and
// tests. One file per partition under DIR; each record is framed as
//   u32 body_len | u32 crc32(body) | body = u8 format | u16 key_len | key | value
// (little-endian). A torn tail left by a crash is detected by length/CRC and cut off when
// a writer opens the log. One writer at a time (flock); readers may run beside it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "events/event_log.h"

namespace payledger::events {

struct EmbeddedLogOptions {
  uint32_t partitions = 4;  // used only when the log is created
  bool sync = true;         // fdatasync after every append (durable across power loss)
  bool writer = true;       // take the writer lock and repair a torn tail
};

class EmbeddedLog final : public EventLog {
 public:
  // Opens (creating if absent) the log in directory `dir`.
  static Result<std::unique_ptr<EmbeddedLog>> open(const std::string& dir,
                                                   const EmbeddedLogOptions& options);
  ~EmbeddedLog() override;

  uint32_t partition_count() const override { return static_cast<uint32_t>(parts_.size()); }
  Status append(std::span<const AppendRecord> records) override;
  Status read(uint32_t partition, uint64_t from_offset, size_t max_records,
              ReadBatch* out) override;
  Result<uint64_t> end_offset(uint32_t partition) override;

 private:
  struct Partition {
    int fd = -1;
    std::vector<uint64_t> positions;  // file position of each record; index = offset
    uint64_t end = 0;                 // file position after the last whole record
  };
  EmbeddedLog(std::string dir, EmbeddedLogOptions options);
  Status open_partition(uint32_t index);
  // Indexes whole records appended (by anyone) since the last scan.
  Status scan_tail(Partition& part);

  std::string dir_;
  EmbeddedLogOptions options_;
  int lock_fd_ = -1;
  std::vector<Partition> parts_;
};

}  // namespace payledger::events
