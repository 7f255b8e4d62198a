// EmbeddedLog: a durable, partitioned event log in local files, for laptops, demos and
// tests. One file per partition under DIR; each record is framed as
//   u32 body_len | u32 crc32(body) | body = u8 format | u16 key_len | key | value
// (little-endian). Beside each partition file, p-NNNN.synced records how many of its bytes
// an acknowledged append made durable (written after the fdatasync, two CRC'd slots).
//
// Corruption policy: a torn tail is only ever the unfinished last append of a crash — bytes
// past the synced size. A writer cuts it off when it opens the log; readers never index
// past the synced size. Any bad frame (length, CRC, short) before the synced size, or a file
// shorter than it, is corruption: kCorrupt naming the file and byte offset, never cut,
// never read past. A log written before synced sizes (no .synced file) falls back to: a bad
// frame is torn only if it is a strict prefix of a frame at the end of the file.
//
// Identity: DIR/id holds a random 128-bit id made when the log is created (or, for an older
// log, when first opened by a writer or ensure_identity()), so projections can tell logs
// apart. Metadata files are written to a temp file, fsynced and renamed/linked into place,
// then the directory is fsynced. One writer at a time (flock); readers may run beside it.
//
// Tail hint: the writer also keeps p-NNNN.tail (u64 synced bytes | u64 record count | u64
// position of the last record | u32 crc32 of those 24 bytes | u32 zero), rewritten after each
// append's synced size, not fsynced. A `trust_tail` reader (the CLI queries) opens without
// scanning: it takes a partition's end offset from the hint, and reads its last record from
// the hint's position, only when the hint names exactly the synced size, the file is at least
// that long, and the frame at the position ends at the synced size with a good CRC. Anything
// else (no hint, a stale or damaged one, a read of another record) indexes the partition with
// the full scan, which names any damage as before. So a trust_tail reader checks the
// synced-size files, the file length and the last record, but not the CRC of every record:
// that is left to the full scan (fold, rebuild, digest, trial-balance, and every writer).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "events/event_log.h"

namespace payledger::events {

struct EmbeddedLogOptions {
  uint32_t partitions = 4;  // used only when the log is created
  bool sync = true;         // fdatasync after every append (durable across power loss)
  bool writer = true;       // take the writer lock and repair a torn tail
  bool trust_tail = false;  // reader: no scan on open, use the tail hint (see above)
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

  // "embedded:<32 hex digits>", the log's stable identity; empty for a log written before
  // identities that no writer has opened since (see ensure_identity).
  const std::string& identity() const { return identity_; }
  // Gives a log without an id one (race-free with other processes: temp file + link), so
  // a read-only fold can record which log it folds.
  Status ensure_identity();

 private:
  struct Partition {
    int fd = -1;
    int synced_fd = -1;               // p-NNNN.synced; -1 for an older log without one
    std::vector<uint64_t> positions;  // file position of each record; index = offset
    uint64_t end = 0;                 // file position after the last whole record
    uint64_t synced = 0;              // bytes an acknowledged append made durable
    int next_slot = 0;                // slot of p-NNNN.synced the next append writes
    int tail_fd = -1;                 // p-NNNN.tail (writer only)
    bool indexed = true;              // positions/end cover the synced size (full scan done)
  };
  // A tail hint that checked out against the synced size and the last frame.
  struct Tail {
    uint64_t count = 0;       // records up to the synced size: the end offset
    uint64_t last_start = 0;  // position of record count - 1
    uint64_t synced = 0;      // the byte after it
  };
  // Where the scan of a partition stopped.
  struct Scan {
    std::optional<uint64_t> torn_at;  // start of an unfinished append's bytes, if any
    uint64_t file_bytes = 0;
  };
  EmbeddedLog(std::string dir, EmbeddedLogOptions options);
  Status open_partition(uint32_t index);
  // Reads p-NNNN.synced into part.synced (and picks the slot to write next).
  Status load_synced(uint32_t index);
  // Records part.end as synced in p-NNNN.synced (fdatasync'd when options_.sync).
  Status store_synced(uint32_t index);
  // Indexes whole records appended (by anyone) since the last scan, up to the synced size
  // for readers; kCorrupt for a bad frame that is not a torn tail.
  Status scan_tail(uint32_t index, Scan* scan);
  Status load_identity();
  // Writes p-NNNN.tail for the partition as it is now (writer; not fsynced: a hint).
  Status store_tail(uint32_t index);
  // The partition's tail hint if it can be trusted right now, else nullopt (then the caller
  // indexes the partition with the full scan); errors only for I/O and a bad synced size.
  Result<std::optional<Tail>> trusted_tail(uint32_t index);
  // Decodes the frames at `positions` (records from_offset, from_offset + 1, ...; the last one
  // ends at `end`) into `out`, rechecking each frame's length and CRC.
  Status decode_frames(uint32_t partition, uint64_t from_offset,
                       std::span<const uint64_t> positions, uint64_t end, ReadBatch* out);

  std::string dir_;
  EmbeddedLogOptions options_;
  int lock_fd_ = -1;
  std::string identity_;
  std::vector<Partition> parts_;
};

}  // namespace payledger::events
