#include "projections/store.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include "events/durable_file.h"
#include "events/schema/check.h"
#include "projections/records.h"

namespace payledger::projections {
namespace {

constexpr std::string_view kCfNames[] = {"balances",  "entries",   "payments",     "meta",
                                         "dedupe",    "rejects",   "checkouts",    "contracts",
                                         "business_ids", "deadlines", "fx_quotes",
                                         "fx_rates", "fx_house", "settlement",
                                         "history", "journal"};
static_assert(std::size(kCfNames) == static_cast<size_t>(Cf::kCount));

// Memory of one open store, fixed whatever the history length (docs/architecture.md,
// "Bounded memory of long folds"): one block cache shared by every column family holds data
// blocks AND the SST files' index and filter blocks (by default each table reader keeps its own
// outside any budget: ~12 MB per 10M events for the dedupe filters alone, growing with the
// store), and one write-buffer budget covers the memtables of all column families.
constexpr size_t kBlockCacheBytes = size_t{64} << 20;
constexpr size_t kMemtableBudgetBytes = size_t{192} << 20;

const std::shared_ptr<rocksdb::Cache>& shared_block_cache() {
  // Index and filter blocks are charged to the cache at high priority, so data blocks are
  // evicted first.
  static const std::shared_ptr<rocksdb::Cache> cache =
      rocksdb::NewLRUCache(kBlockCacheBytes, /*num_shard_bits=*/4, /*strict_capacity_limit=*/false,
                           /*high_pri_pool_ratio=*/0.5);
  return cache;
}

// Point lookups (payments, balances, dedupe) mostly miss for new ids: bloom filters make
// those misses cheap, in SST files and in the memtable.
// A read-only open gets memtables only for a WAL to replay (none after a fold ended): it skips
// the memtable blooms, whose 3 MB per column family were zeroed on every query's open.
rocksdb::ColumnFamilyOptions cf_options(Cf cf, bool read_only) {
  rocksdb::ColumnFamilyOptions o;
  o.write_buffer_size = 64 << 20;
  o.max_write_buffer_number = 3;
  o.compression = rocksdb::kLZ4Compression;
  rocksdb::BlockBasedTableOptions t;
  if (!read_only) {
    // Queries keep their own table readers (a bounded table cache, see Store::open).
    t.block_cache = shared_block_cache();
    t.cache_index_and_filter_blocks = true;
    t.cache_index_and_filter_blocks_with_high_priority = true;
    // Level-0 files are read by every lookup that misses the memtable: their index and filter
    // stay in the cache (charged to it) rather than being re-read after an eviction.
    t.pin_l0_filter_and_index_blocks_in_cache = true;
    // Partitioned where the fold probes keys that grow with history: a lookup loads only the
    // 4 KiB index and filter partitions it needs, not a whole file's filter (MBs for a large
    // SST). Whole-file filters in a bounded cache were evicted and re-read by the fold's
    // point lookups: a 10M rebuild ran 2.5x slower. Not on the families queries read
    // (balances, entries): a query's cold open would read two index levels (+1-2 ms).
    if (cf == Cf::kDedupe || cf == Cf::kPayments || cf == Cf::kCheckouts ||
        cf == Cf::kBusinessIds || cf == Cf::kFxQuotes) {
      t.index_type = rocksdb::BlockBasedTableOptions::IndexType::kTwoLevelIndexSearch;
      t.partition_filters = true;
      t.metadata_block_size = 4096;
      t.pin_top_level_index_and_filter = true;
    }
  }
  // Scanned, never probed: entries, rejects and the journal (the history CF's day sums are
  // probed by the fold when an account's lines move to another day).
  if (cf != Cf::kEntries && cf != Cf::kRejects && cf != Cf::kJournal) {
    t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    t.whole_key_filtering = true;
    o.memtable_whole_key_filtering = !read_only;
    o.memtable_prefix_bloom_size_ratio = read_only ? 0 : 0.05;
  }
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  return o;
}

// Projections are disposable: an old layout is rebuilt from the log, never migrated.
Error outdated(const std::string& dir, std::string_view why) {
  return make_error(Code::kCorrupt,
                    fmt::format("projections at {} were written by another payledger version "
                                "({}); run `payledger rebuild` to refold them from the log",
                                dir, why));
}

rocksdb::ReadOptions read_options(Reading reading) {
  rocksdb::ReadOptions r;
  if (reading == Reading::kQuery) {
    r.verify_checksums = true;
    r.fill_cache = false;
  }
  return r;
}

}  // namespace

std::string_view cf_name(Cf cf) { return kCfNames[static_cast<int>(cf)]; }

Error store_error(std::string_view what, const rocksdb::Status& s) {
  return make_error(s.IsCorruption() ? Code::kCorrupt : Code::kIo,
                    fmt::format("{}: {}", what, s.ToString()));
}

StoreBatch::StoreBatch(const Store& store) : handles_(store.handles_) {}

Status StoreCursor::status(std::string_view what) const {
  if (it_->status().ok()) return Status::Ok();
  return store_error(fmt::format("scan {} in {}", what, dir_), it_->status());
}

Result<bool> Store::get(Cf cf, std::string_view key, std::string* value, Reading reading) {
  rocksdb::Status s = db_->Get(read_options(reading), this->cf(cf), rocksdb::Slice(key), value);
  if (s.ok()) return true;
  if (s.IsNotFound()) return false;
  return store_error(fmt::format("read {} in {}", cf_name(cf), dir_), s);
}

StoreCursor Store::cursor(Cf cf, Reading reading, std::string end) {
  StoreCursor c;
  c.dir_ = dir_;
  rocksdb::ReadOptions ro = read_options(reading);
  if (!end.empty()) {
    c.end_ = std::make_unique<std::string>(std::move(end));
    c.upper_ = std::make_unique<rocksdb::Slice>(*c.end_);
    ro.iterate_upper_bound = c.upper_.get();
  }
  c.it_.reset(db_->NewIterator(ro, this->cf(cf)));
  return c;
}

Status Store::write(StoreBatch& batch, bool sync) {
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  rocksdb::Status s = db_->Write(wo, &batch.wb_);
  if (!s.ok()) return store_error(fmt::format("write projections {}", dir_), s);
  return Status::Ok();
}

Result<std::unique_ptr<Store>> Store::open(const std::string& dir, bool read_only) {
  if (read_only && !std::filesystem::exists(dir + "/CURRENT")) {
    return make_error(Code::kIo, fmt::format("no projections at {} (run `payledger fold` first)",
                                             dir));
  }
  if (!read_only) {
    // RocksDB syncs the files inside the store; the store's own directory entry is ours.
    if (Status s = events::create_directories_durably(dir); !s) return s.error();
  }
  rocksdb::DBOptions options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.max_background_jobs = 2;
  options.bytes_per_sync = 1 << 20;
  options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  options.keep_log_file_num = 2;
  // While a fold runs (a Kafka fold never ends), small column families such as `meta` would
  // otherwise keep every WAL file alive, and each reader's open replays them all (260 MB,
  // over a second, at 1M events): past this size RocksDB flushes the column families that
  // pin the oldest WAL file. A fold that ends flushes everything (Store::flush).
  options.max_total_wal_size = 128 << 20;
  // RocksDB opens the SST files of each column family on up to 16 threads made for the open:
  // ~170 thread starts for a query that reads a few keys. One thread does the few files here.
  if (read_only) options.max_file_opening_threads = 1;
  // And it would open every SST file and read its index and bloom filter (12 MB for the dedupe
  // keys of 10M events) before the first read; with a bounded table cache a query opens only
  // the files it reads.
  if (read_only) options.max_open_files = 64;
  // All column families' memtables share one budget: past it RocksDB flushes the largest
  // (the per-family sizes above alone would allow 10 x 3 x 64 MB).
  if (!read_only) {
    options.write_buffer_manager =
        std::make_shared<rocksdb::WriteBufferManager>(kMemtableBudgetBytes);
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  for (int i = 0; i < static_cast<int>(Cf::kCount); ++i) {
    descriptors.emplace_back(std::string(kCfNames[i]), cf_options(static_cast<Cf>(i), read_only));
  }
  if (read_only) {
    // A store written by an older build may lack column families this build reads.
    std::vector<std::string> existing;
    rocksdb::Status listed = rocksdb::DB::ListColumnFamilies(options, dir, &existing);
    if (!listed.ok()) return store_error(fmt::format("open projections {}", dir), listed);
    for (const auto& d : descriptors) {
      if (std::find(existing.begin(), existing.end(), d.name) == existing.end()) {
        return outdated(dir, fmt::format("it has no '{}' column family", d.name));
      }
    }
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = read_only
                          ? rocksdb::DB::OpenForReadOnly(options, dir, descriptors, &handles, &raw)
                          : rocksdb::DB::Open(options, dir, descriptors, &handles, &raw);
  if (!s.ok()) return store_error(fmt::format("open projections {}", dir), s);
  std::unique_ptr<Store> store(new Store());
  store->dir_ = dir;
  store->db_.reset(raw);
  store->default_cf_ = handles[0];
  store->handles_.assign(handles.begin() + 1, handles.end());
  if (Status f = store->check_format(dir, read_only); !f) return f.error();
  return store;
}

Status Store::check_format(const std::string& dir, bool read_only) {
  std::string value;
  auto stamped = get(Cf::kMeta, kFormatKey, &value, Reading::kFold);
  if (!stamped) return stamped.error();
  if (*stamped) {
    if (value == be32_string(kStoreFormat)) return Status::Ok();
    uint32_t found = 0;
    Reader(value).be32(&found);
    return outdated(dir, fmt::format("it has format {}, this build reads {}", found, kStoreFormat));
  }
  auto partitions = recorded_partitions();
  if (!partitions) return partitions.error();
  if (*partitions != 0) return outdated(dir, "it predates format records");
  if (read_only) return Status::Ok();  // empty store
  StoreBatch stamp(*this);
  stamp.put(Cf::kMeta, kFormatKey, be32_string(kStoreFormat));
  return write(stamp, /*sync=*/true);
}

Store::~Store() {
  if (!db_) return;
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  db_->DestroyColumnFamilyHandle(default_cf_);
  db_->Close().PermitUncheckedError();
}

namespace {

// Reads one be64 meta value per partition, keyed by key_of(partition).
template <typename KeyOf>
Result<std::vector<std::optional<uint64_t>>> load_be64_per_partition(Store& store,
                                                                     uint32_t partitions,
                                                                     KeyOf key_of,
                                                                     std::string_view what) {
  std::vector<std::optional<uint64_t>> values(partitions);
  for (uint32_t p = 0; p < partitions; ++p) {
    std::string value;
    auto found = store.get(Cf::kMeta, key_of(p), &value, Reading::kFold);
    if (!found) return found.error();
    if (!*found) continue;
    if (value.size() != 8) {
      return make_error(Code::kCorrupt,
                        fmt::format("stored {} of partition {} is not 8 bytes", what, p));
    }
    values[p] = read_be64(value);
  }
  return values;
}

}  // namespace

Result<std::vector<std::optional<uint64_t>>> Store::load_offsets(uint32_t partitions) {
  auto offsets = load_be64_per_partition(*this, partitions, offset_key, "offset");
  if (!offsets) return offsets;
  auto ends = load_log_ends(partitions);
  if (!ends) return ends.error();
  for (uint32_t p = 0; p < partitions; ++p) {
    // Pair check with Folder's commit, which stores log end >= offset in one batch: stored
    // data that breaks it is damaged (an error naming it), not a bug to abort on.
    if ((*offsets)[p] && (*ends)[p] && *(*offsets)[p] > *(*ends)[p]) {
      return make_error(Code::kCorrupt,
                        fmt::format("{}: partition {} stored offset {} is beyond its stored log "
                                    "end {}: the projections are damaged; run `payledger "
                                    "rebuild`",
                                    dir_, p, *(*offsets)[p], *(*ends)[p]));
    }
  }
  return offsets;
}

Result<std::vector<std::optional<uint64_t>>> Store::load_log_ends(uint32_t partitions) {
  return load_be64_per_partition(*this, partitions, log_end_key, "log end");
}

Result<std::vector<std::optional<FoldedRecord>>> Store::load_last_records(uint32_t partitions) {
  std::vector<std::optional<FoldedRecord>> out(partitions);
  for (uint32_t p = 0; p < partitions; ++p) {
    std::string value;
    auto found = get(Cf::kMeta, last_record_key(p), &value, Reading::kFold);
    if (!found) return found.error();
    if (!*found) continue;
    if (value.size() != 16) {
      return make_error(Code::kCorrupt,
                        fmt::format("{}: last folded record of partition {} is not 16 bytes",
                                    dir_, p));
    }
    out[p] = FoldedRecord{read_be64(value.substr(0, 8)), read_be64(value.substr(8))};
  }
  return out;
}

Result<std::string> Store::recorded_log_identity() {
  std::string value;
  auto found = get(Cf::kMeta, kLogIdentityKey, &value, Reading::kFold);
  if (!found) return found.error();
  return *found ? value : std::string();
}

Result<uint32_t> Store::recorded_partitions() {
  std::string value;
  auto found = get(Cf::kMeta, kPartitionsKey, &value, Reading::kFold);
  if (!found) return found.error();
  if (!*found) return 0u;
  if (value.size() != 4) return make_error(Code::kCorrupt, "stored partition count is not 4 bytes");
  uint32_t n = 0;
  Reader(value).be32(&n);
  return n;
}

Status Store::drop_partitions(const std::vector<uint32_t>& partitions) {
  StoreBatch wb(*this);
  for (uint32_t p : partitions) {
    std::string begin = be32_string(p);
    std::string end = be32_string(p + 1);  // p < kPartitionsMax, so no wrap
    for (int c = 0; c < static_cast<int>(Cf::kCount); ++c) {
      if (static_cast<Cf>(c) == Cf::kMeta) continue;
      wb.erase_range(static_cast<Cf>(c), begin, end);
    }
    wb.erase(Cf::kMeta, offset_key(p));
    wb.erase(Cf::kMeta, log_end_key(p));
    wb.erase(Cf::kMeta, last_record_key(p));
    wb.erase(Cf::kMeta, watermark_key(p));
    wb.erase(Cf::kMeta, earliest_key(p));
  }
  return write(wb, /*sync=*/true);
}

Status Store::flush() {
  rocksdb::FlushOptions fo;
  fo.wait = true;
  std::vector<rocksdb::ColumnFamilyHandle*> all = handles_;
  all.push_back(default_cf_);
  rocksdb::Status s = db_->Flush(fo, all);
  if (!s.ok()) return store_error(fmt::format("flush projections {}", dir_), s);
  return Status::Ok();
}

Status Store::destroy(const std::string& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec) return make_error(Code::kIo, fmt::format("remove {}: {}", dir, ec.message()));
  return Status::Ok();
}

}  // namespace payledger::projections
