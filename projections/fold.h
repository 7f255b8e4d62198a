// The fold loop: reads the log, decodes, validates, dedupes, applies the posting rules and
// writes the effects of a whole batch of events together with each partition's next offset
// in ONE RocksDB WriteBatch. A crash between batches replays the tail; nothing is applied
// twice and nothing is half-applied.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "events/event_log.h"
#include "events/schema/result.h"
#include "projections/history.h"
#include "projections/records.h"
#include "projections/store.h"

namespace payledger::projections {

struct FoldProgress {
  uint64_t events_done = 0;   // records consumed in this run
  uint64_t events_total = 0;  // records that were in the log when the run started
};

// Most an event's occurred_at may lie after the latest event of its partition (the
// partition's event-time watermark, which fires deadlines): one year. Further is rejected as
// clock_skew, so a mistyped year cannot expire every hold of the partition.
inline constexpr int64_t kClockSkewMaxS = 366 * 86400;

struct FoldOptions {
  // Events whose effects go into one WriteBatch (with the offsets). Larger batches write
  // each hot key (house accounts, busy merchants) fewer times.
  size_t batch_events_max = 50000;
  // Records requested from the log per read.
  size_t read_records_max = 4096;
  // fsync the WAL at every batch commit (durable against power loss, not just crashes).
  bool sync = true;
  // Write each full batch on a second thread while the next one folds (Folder::commit and
  // the end of fold() still wait for every write). Uses a second core; the one-core bench
  // runs without it.
  bool write_behind = false;
  // Tests: the writer thread starts each write only when the fold waits for it, the latest a
  // write can land, so a test proves the fold never reads the store for the batch in flight.
  bool write_behind_when_waited = false;
  // fold(): read the log and make the per-record checks, decode and fingerprint on a reader
  // thread (prepare_record) while this one applies the records before. Same records in the
  // same order and batches as without it.
  bool read_ahead = false;
  // Balances and payment states are loaded whole at start when each column family holds
  // at most this many (a cache miss then costs no store read). The payment and checkout
  // caches keep two generations: once both hold more than this together (checked after a
  // commit that wrote its own batch), the young one becomes the old one and the old one is
  // dropped, so they never hold more than this plus one batch's new entries, whatever the
  // history length (~400 bytes per payment: 256Ki entries are ~100 MB).
  size_t payment_cache_max = 262'144;
  // Merchant-level business ids (payout, fee, settlement ids) of this run kept in memory;
  // past this after a commit they are dropped (all on disk by then) and a miss is answered
  // by a bloom-filtered lookup in the business_ids column family.
  size_t business_ids_memory_max = 65'536;
  // Applied event ids kept in memory, shared evenly by the log's partitions (the idempotency
  // window; ~130 bytes each). Older ids stay on disk and are probed there (bloom-filtered
  // point lookup) when an id is not in memory, so a retry of any age is still caught.
  size_t dedupe_memory_ids_max = 262'144;
  // A Bloom filter of the ids applied by this fold (fixed size, made when a window first drops
  // an id): an id it never saw, in a partition the store held no ids of when the fold started,
  // is new without a RocksDB probe (a rebuild probes almost never). 0: no filter.
  size_t dedupe_filter_bytes = size_t{32} << 20;
  // Stop after this many records (0 = until the end of the log); for tests of crashes.
  uint64_t records_max = 0;
  // Called after each read with the run's progress (from the fold's thread).
  std::function<void(const FoldProgress&)> on_progress;
  // When set (e.g. by SIGINT/SIGTERM), the fold commits what it has folded and returns.
  const std::atomic<bool>* stop = nullptr;
  // Called after each record is chained (history.h) with its partition, the next offset and
  // the partition's chain head (`payledger verify` checks the stored checkpoints with it).
  std::function<void(uint32_t partition, uint64_t next_offset, const ChainHead& head)> on_chained;
  // Called for every record parked as a reject (e.g. to copy it to a dead-letter topic).
  std::function<void(const Reject&)> on_reject;
  // Called before every commit; an error stops the commit (e.g. dead letters not durable).
  std::function<Status()> before_commit;
  // Which log this store folds, e.g. "embedded:<log id>" or "kafka:<cluster id>/<topic>":
  // recorded at the first commit; a store that recorded another log is refused at open, so
  // projections of two logs never mix. Empty: not recorded or checked (unit tests).
  std::string log_identity;
};

struct FoldStats {
  uint64_t records = 0;     // records consumed
  uint64_t applied = 0;     // events that posted
  uint64_t rejected = 0;    // parked in the rejects column family
  uint64_t duplicates = 0;  // event ids already applied: no-ops
  uint64_t batches = 0;     // WriteBatches committed
  uint64_t deadlines_fired = 0;   // expiries booked when the partition's watermark passed them
  uint64_t deadlines_failed = 0;  // deadlines that could not be booked (e.g. overflow)
  uint64_t expiries_noop = 0;     // explicit expiries of payments already expired: no-ops
  // What the committed WriteBatches handed RocksDB (WriteBatch::Count and GetDataSize): the
  // fold's write amplification per event before RocksDB's own (WAL framing, compaction).
  uint64_t keys_written = 0;
  uint64_t bytes_written = 0;
  // Point lookups of the dedupe column family (ids not in the in-memory window or filter).
  uint64_t dedupe_probes = 0;
  // The most payment + checkout cache entries held at a commit (before the cache-limit
  // drop): at most payment_cache_max plus the entries one batch added.
  uint64_t cache_entries_max = 0;
};

// A record with the checks that read no fold state done (decode, card numbers, schema, its
// partition and key) and the content fingerprint of its event: what fold() prepares on a
// reader thread (FoldOptions::read_ahead) while the fold applies the records before it.
struct PreparedRecord {
  events::LogRecord rec;           // views into the caller's ReadBatch
  v1::Envelope event;              // valid when decoded
  bool decoded = false;
  std::optional<Error> refused;    // why the record is parked as a reject, if it is
  Fingerprint fingerprint;         // of the canonical encoding, when not refused
  // SHA-256 of the canonical encoding if it decoded, else of the raw bytes (history.h): what
  // the partition's hash chain takes for this record.
  Sha256Digest digest{};
};
// Fills *out (reusing its Envelope) for `rec` of a log of `partitions`. Thread-safe.
void prepare_record(const events::LogRecord& rec, uint32_t partitions, PreparedRecord* out);

// The folding state of one process over one store: stored offsets, caches, the dedupe
// index and the uncommitted batch. Feed it records in offset order per partition; it
// commits a WriteBatch every batch_events_max records and on commit().
class Folder {
 public:
  // Loads the store's offsets, caches and dedupe index for a log of `partitions`. The store
  // remembers the partition count of its first fold; another count is kInvalidArgument.
  static Result<std::unique_ptr<Folder>> open(Store& store, uint32_t partitions,
                                              const FoldOptions& options);
  ~Folder();
  // Next offset to fold of `partition`: where a reader must resume.
  uint64_t next_offset(uint32_t partition) const;
  // Whether this store holds state for `partition` (folded it before, or in this process).
  bool has_state(uint32_t partition) const;
  // Records folded since the last commit.
  size_t uncommitted() const;
  // A full batch is still being written by the writer thread (FoldOptions::write_behind);
  // commit() waits for it and returns its write's status.
  bool writing() const;
  // Stops folding after `error` (from the folder or from around it, e.g. a log read): waits
  // for a batch still being written and adds its failure, if any, to the error. Every later
  // call returns the result.
  Status fail(Status error);
  // Folds one record at or after next_offset(rec.partition): applied, parked as a reject or
  // skipped as a duplicate. Errors are I/O or corruption: the folder must then be dropped
  // (uncommitted work is lost, stored state stays consistent).
  Status fold_record(const events::LogRecord& rec);
  // fold_record of a record prepare_record prepared (e.g. on another thread).
  Status fold_prepared(const PreparedRecord& p);
  // Writes everything folded since the last commit, with the offsets, in one WriteBatch.
  Status commit();
  // Notes that the log of `partition` reached at least `end_offset` (one past its last
  // record); stored with the next commit (Store::load_log_ends) so queries over several
  // stores can tell a partition that is behind its log. Only ever moves forward.
  void note_log_end(uint32_t partition, uint64_t end_offset);
  // Notes the last record folded from its partition (stored with the next commit,
  // Store::load_last_records): the next fold checks the log still holds that record there.
  void note_last_record(const events::LogRecord& rec);
  // Notes that `partition` holds no record to fold before `next_offset` (Kafka: transaction
  // markers and aborted records take offsets): its next offset moves there (never back) and
  // this store holds the partition from then on. Stored with the next commit.
  void advance_to(uint32_t partition, uint64_t next_offset);
  const FoldStats& stats() const;
  // Applied event ids held in memory now (bounded by options.dedupe_memory_ids_max, plus the
  // uncommitted batch).
  size_t dedupe_ids_in_memory() const;

  class Impl;

 private:
  explicit Folder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  Status broken_;  // the first fold_record/commit error: every later call returns it
};

// A fingerprint (64-bit FNV-1a) of a record's format, key and value: tells a record from
// another one written at the same offset of a log that was replaced or lost its tail.
uint64_t record_fingerprint(const events::LogRecord& rec);

// Whether `log` still holds what `store` folded from it: every partition reaches the stored
// offset and the last record folded there is unchanged. kCorrupt naming the partition, the
// offsets and what to do otherwise (the log was cut, replaced by an older copy, or cut and
// appended to again, so the books hold records the log no longer has).
Status check_log_holds_folded(Store& store, events::EventLog& log);

// Folds every record the log holds past the store's stored offsets (embedded-log style
// reading: partition by partition, round robin, until each returns nothing). Refuses
// (kCorrupt) a log that no longer holds the last record the store folded, or ends before the
// store's offsets; notes every partition's log end (Folder::note_log_end).
Result<FoldStats> fold(Store& store, events::EventLog& log, const FoldOptions& options);

}  // namespace payledger::projections
