// The RocksDB store behind the projections: one column family per concern (DESIGN.md).
// The fold is its only writer; queries open it read-only or share the writer's handle.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "events/schema/result.h"

namespace payledger::projections {

// Layout version of the stored projections; bump when any stored encoding changes.
// 4: business ids, last folded records, deadlines CF and watermarks, one dedupe key per event
// with a 128-bit fingerprint of the canonical encoding.
// 5: payment records v5 (coupons per funder and what went back to each).
// 6: amounts of payment records (v6), balances and entry lines in the compact i128 form
//    (1-17 bytes instead of 17): fewer bytes written per event (docs/architecture.md, "Fold
//    performance").
// 7: fx_quotes column family (issue 10).
// 8: fx_rates column family (issue 10).
// 9: fx_house column family: forwards, revaluation runs (issue 10).
// 10: settlement column family: policies and instructions (issue 11).
// 11: history and journal column families, entry chunks with their closing balance, the
//     earliest event time per partition (issue 12, history.h).
inline constexpr uint32_t kStoreFormat = 11;

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
  kFxQuotes,  // merchants' locked FX quotes (issue 10)
  kFxRates,   // published FX rates, per partition (issue 10)
  kFxHouse,   // the house's forwards and revaluation runs (issue 10)
  kSettlement,  // merchants' settlement policies and instructions (issue 11)
  kHistory,     // each account's lines by event time, with day sums (issue 12)
  kJournal,     // applied events with their lines; payment index; hash chain (issue 12)
  kCount
};

std::string_view cf_name(Cf cf);

// Whose read: the fold's (fills the block cache) or a query's (checksums verified, no cache
// fill: a scan of history must not evict what the fold keeps hot).
enum class Reading { kFold, kQuery };

// An error from RocksDB about `what` (kCorrupt for corruption, else kIo).
Error store_error(std::string_view what, const rocksdb::Status& s);

class Store;

// Writes that Store::write applies together, all or nothing: one fold commit (effects and
// offsets), a replayed reject, dropped partitions. Reusable after clear() (buffers stay).
class StoreBatch {
 public:
  explicit StoreBatch(const Store& store);
  void put(Cf cf, std::string_view key, std::string_view value) {
    wb_.Put(handle(cf), rocksdb::Slice(key), rocksdb::Slice(value));
  }
  void erase(Cf cf, std::string_view key) { wb_.Delete(handle(cf), rocksdb::Slice(key)); }
  // Every key of `cf` in [begin, end).
  void erase_range(Cf cf, std::string_view begin, std::string_view end) {
    wb_.DeleteRange(handle(cf), rocksdb::Slice(begin), rocksdb::Slice(end));
  }
  void clear() { wb_.Clear(); }
  uint32_t count() const { return wb_.Count(); }
  size_t bytes() const { return wb_.GetDataSize(); }

 private:
  friend class Store;
  rocksdb::ColumnFamilyHandle* handle(Cf cf) const { return handles_[static_cast<int>(cf)]; }
  const std::vector<rocksdb::ColumnFamilyHandle*>& handles_;
  rocksdb::WriteBatch wb_;
};

// The keys of one column family in order from a seek, up to an optional end (exclusive).
class StoreCursor {
 public:
  StoreCursor(StoreCursor&&) = default;
  // Not assignable: the iterator must never outlive the bound it points at.
  StoreCursor& operator=(StoreCursor&&) = delete;
  void seek(std::string_view key) { it_->Seek(rocksdb::Slice(key)); }
  // The last key at or before `key`.
  void seek_for_prev(std::string_view key) { it_->SeekForPrev(rocksdb::Slice(key)); }
  void seek_to_first() { it_->SeekToFirst(); }
  bool valid() const { return it_->Valid(); }
  void next() { it_->Next(); }
  std::string_view key() const { return {it_->key().data(), it_->key().size()}; }
  std::string_view value() const { return {it_->value().data(), it_->value().size()}; }
  // After the last valid(): the scan's error, if RocksDB had one, naming `what` and the store.
  Status status(std::string_view what) const;

 private:
  friend class Store;
  StoreCursor() = default;
  std::string_view dir_;               // the store's directory (outlives the cursor)
  std::unique_ptr<std::string> end_;  // owns what the upper bound points at (stable on moves)
  std::unique_ptr<rocksdb::Slice> upper_;
  std::unique_ptr<rocksdb::Iterator> it_;
};

class Store {
 public:
  // Opens (creating if absent) the store in `dir`. read_only opens without the write lock
  // so queries can run while a fold writes; it fails if the store does not exist.
  static Result<std::unique_ptr<Store>> open(const std::string& dir, bool read_only);
  ~Store();

  // The directory the store was opened from (for messages).
  const std::string& dir() const { return dir_; }

  // One key of `cf`: true with *value set if present, false if absent.
  Result<bool> get(Cf cf, std::string_view key, std::string* value, Reading reading);
  // A cursor over `cf`; with a non-empty `end` it stops before that key (a bounded scan reads
  // only the blocks of its range).
  StoreCursor cursor(Cf cf, Reading reading, std::string end = {});
  // Applies `batch` atomically; sync: the WAL is fsynced before this returns, and the write
  // is visible to readers only then.
  Status write(StoreBatch& batch, bool sync);
  // RocksDB itself, for what has no named operation here (the bench reads the WAL).
  rocksdb::DB* rocks() { return db_.get(); }

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
  friend class StoreBatch;
  rocksdb::ColumnFamilyHandle* cf(Cf c) { return handles_[static_cast<int>(c)]; }
  std::string dir_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // indexed by Cf
  rocksdb::ColumnFamilyHandle* default_cf_ = nullptr;
};


}  // namespace payledger::projections
