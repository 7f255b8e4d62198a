// Tamper evidence and restores (issue 12, docs/audit.md): `payledger verify` refolds the log
// into a scratch store and compares it with the stored projections, and checks every stored
// hash-chain checkpoint against the log's records; `checkpoint` / `rebuild --from-checkpoint`
// copy the projections with the positions and chain heads they cover.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "events/event_log.h"
#include "events/schema/result.h"
#include "projections/audit.h"
#include "projections/fold.h"
#include "projections/store.h"

namespace payledger::projections {

// One thing that differs, named.
struct Finding {
  std::string what;  // one line: what differs and where
  std::string column_family;
  std::optional<uint32_t> partition;
  std::optional<uint64_t> offset;  // a log offset, where the difference has one
  std::string account;             // an account (and asset), where it has one
};

// The first difference between two stores of one log, or none: every column family, chunked
// ones (entries, history day lines) compared line by line (their chunk boundaries follow fold
// batches), the journal without its chain checkpoints (also batch-bound; verify_store checks
// them against the log) and the meta family without the noted log ends and last records. Each
// entries chunk of `stored` is also checked against its lines (its closing balance).
Result<std::optional<Finding>> first_difference(Store& stored, Store& refolded);

// An EventLog that ends, per partition, at the given next offsets (the positions a store
// folded): a refold through it stops exactly where the store did.
class BoundedLog final : public events::EventLog {
 public:
  BoundedLog(events::EventLog& log, std::vector<uint64_t> ends)
      : log_(log), ends_(std::move(ends)) {}
  uint32_t partition_count() const override { return log_.partition_count(); }
  Status append(std::span<const events::AppendRecord>) override;
  Status read(uint32_t partition, uint64_t from_offset, size_t max_records,
              events::ReadBatch* out) override;
  Result<uint64_t> end_offset(uint32_t partition) override;

 private:
  events::EventLog& log_;
  std::vector<uint64_t> ends_;
};

struct VerifyReport {
  std::vector<PartitionHead> heads;  // the stored positions and chain heads
  uint64_t records = 0;              // records refolded
  uint64_t checkpoints = 0;          // stored chain checkpoints checked against the log
  std::optional<Finding> chain;      // the first checkpoint the log's records do not match
  std::optional<Finding> first;      // the first difference of the projections
  bool ok() const { return !chain && !first; }
};
// Refolds `log` up to the positions `stored` folded into a new store in `scratch_dir` (which
// must not exist; removed afterwards), checking each stored chain checkpoint as the refold
// passes it, then compares the two stores. `options` carries the fold's settings (batch,
// threads, progress, stop); its log identity is set here.
Result<VerifyReport> verify_store(Store& stored, events::EventLog& log,
                                  const std::string& scratch_dir, FoldOptions options,
                                  const std::string& log_identity);

// A checkpoint's manifest (DIR2/checkpoint.json): what the copy covers.
struct CheckpointInfo {
  std::string log_identity;
  uint32_t partitions = 0;
  std::vector<PartitionHead> heads;
  std::string digest;        // projection_digest of the copy
  std::string store_sha256;  // every key and value of the copy (a restore is refused if it differs)
  std::string created_at;    // RFC 3339, wall clock (informational)
};
// A RocksDB checkpoint of `store` in out_dir/projections (hard links where the file system
// allows) and out_dir/checkpoint.json. out_dir must not exist.
Result<CheckpointInfo> make_checkpoint(Store& store, const std::string& out_dir,
                                       const std::string& created_at);
// Reads and checks a checkpoint's manifest against the copy it names.
Result<CheckpointInfo> read_checkpoint(const std::string& dir);

}  // namespace payledger::projections
