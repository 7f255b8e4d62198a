// The RocksDB store behind the projections: one column family per concern (DESIGN.md).
// The fold is its only writer; queries open it read-only or share the writer's handle.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <rocksdb/db.h>

#include "events/schema/result.h"

namespace payledger::projections {

// Layout version of the stored projections; bump when any stored encoding changes.
// 4: business ids, last folded records, deadlines CF and watermarks, one dedupe key per event
// with a 128-bit fingerprint of the canonical encoding.
// 5: payment records v5 (coupons per funder and what went back to each).
// 6: amounts of payment records (v6), balances and entry lines in the compact i128 form
//    (1-17 bytes instead of 17): fewer bytes written per event (docs/architecture.md, "Fold
//    performance").
inline constexpr uint32_t kStoreFormat = 6;

// The last record a fold folded from a partition: its offset and a fingerprint of its bytes
// (record_fingerprint in fold.cc).
struct FoldedRecord {
  uint64_t offset = 0;
  uint64_t fingerprint = 0;
  bool operator==(const FoldedRecord&) const = default;
};

enum class Cf : int {
  kBalances = 0,
  kEntries,
  kPayments,
  kMeta,
  kDedupe,
  kRejects,
  kCheckouts,
  kContracts,
  kBusinessIds,  // merchant-level business ids applied (payout, fee, settlement ids)
  kDeadlines,
  kCount
};

std::string_view cf_name(Cf cf);

class Store {
 public:
  // Opens (creating if absent) the store in `dir`. read_only opens without the write lock
  // so queries can run while a fold writes; it fails if the store does not exist.
  static Result<std::unique_ptr<Store>> open(const std::string& dir, bool read_only);
  ~Store();

  rocksdb::DB* db() { return db_.get(); }
  // The directory the store was opened from (for messages).
  const std::string& dir() const { return dir_; }
  rocksdb::ColumnFamilyHandle* cf(Cf c) { return handles_[static_cast<int>(c)]; }

  // Next offset to fold per partition; nullopt for partitions this store never folded
  // (a scaled-out instance holds only the partitions it owns). Checks (PAYLEDGER_CHECK, the
  // read side of the fold's commit) that no offset is beyond the log end stored with it.
  Result<std::vector<std::optional<uint64_t>>> load_offsets(uint32_t partitions);
  // Deletes everything stored for these partitions (every key starts with its partition),
  // offsets included, in one atomic write: hands the partitions back to the log.
  Status drop_partitions(const std::vector<uint32_t>& partitions);
  // The log's partition count recorded at the first fold; 0 if none yet.
  Result<uint32_t> recorded_partitions();
  // The identity of the log this store folds (FoldOptions::log_identity); empty if none
  // was recorded yet.
  Result<std::string> recorded_log_identity();
  // Per partition, the log end offset last noted by a fold (Folder::note_log_end); nullopt
  // where none was noted.
  Result<std::vector<std::optional<uint64_t>>> load_log_ends(uint32_t partitions);
  // Per partition, the last record a fold committed (Folder::note_last_record); nullopt where
  // none was noted.
  Result<std::vector<std::optional<FoldedRecord>>> load_last_records(uint32_t partitions);

  // Flushes every column family's memtable to SST files, so the write-ahead log holds nothing
  // live: RocksDB drops the obsolete WAL files, and the next open (every query opens the store)
  // replays no WAL. Called when a fold ends; committed state is already durable in the WAL,
  // so this changes no content, only where it lives.
  Status flush();

  // Deletes the store directory (projections are disposable; the log is the truth).
  static Status destroy(const std::string& dir);

 private:
  Store() = default;
  // Refuses a store of another layout version (kCorrupt, suggesting `payledger rebuild`);
  // stamps a new, empty store with this build's version.
  Status check_format(const std::string& dir, bool read_only);
  std::string dir_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // indexed by Cf
  rocksdb::ColumnFamilyHandle* default_cf_ = nullptr;
};

// ReadOptions for queries: checksums verified, scans do not pollute the block cache.
rocksdb::ReadOptions query_read_options();

}  // namespace payledger::projections
