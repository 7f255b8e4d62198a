#include "projections/fold.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <pthread.h>
#include <set>
#include <thread>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <fmt/format.h>

#include "events/codec.h"
#include "events/schema/check.h"
#include "ledger/deadlines.h"
#include "ledger/rules.h"
#include "projections/dedupe_window.h"
#include "projections/flat_string_map.h"
#include "projections/records.h"

namespace payledger::projections {
namespace {

namespace v1 = payledger::v1;
using events::LogRecord;
using ledger::AccountId;
using ledger::Asset;
using ledger::Balance;
using ledger::PaymentState;

// One partition's share of an account's balance in one asset, and the lines the current
// batch posted to it (one RocksDB value at commit).
// The day sum of one account's lines on one UTC day (history CF), as the fold keeps it.
struct DaySum {
  Balance sum;
  bool dirty = false;
};
// An entry of the fold's day-sum cache (its key is the history CF key).
using DaySumNode = std::pair<const std::string, DaySum>;

struct BalanceSlot {
  Balance balance;
  bool dirty = false;
  uint64_t chunk_first_offset = 0;
  std::string chunk;
  // History (history.h): the UTC day of the last line posted here, this batch's lines of
  // that day since hist_first_offset, and that day's sum (valid while day_gen is the fold's).
  int64_t hist_day = 0;
  uint64_t hist_first_offset = 0;
  std::string hist_chunk;
  DaySumNode* day_sum_node = nullptr;
  uint32_t day_gen = 0;
};

struct PaymentSlot {
  PaymentState state;
  bool dirty = false;
};

struct CheckoutSlot {
  ledger::CheckoutState state;
  bool dirty = false;
};

// Heterogeneous lookup: find by string_view without building a std::string key.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;
using StringSet = std::unordered_set<std::string, StringHash, std::equal_to<>>;

// One entry of the in-memory deadline index: (deadline, merchant \0 payment), ordered as the
// deadlines CF keys are (be64 of the biased time, then the id bytes). The ids sit inline in
// the entry up to kInline bytes, so scheduling and unscheduling a payment build no heap
// strings (the index of string keys was ~6% of a fold).
class DeadlineKey {
 public:
  static constexpr size_t kInline = 48;
  DeadlineKey(int64_t at_s, std::string_view merchant, std::string_view payment)
      : at_s_(at_s), size_(static_cast<uint32_t>(merchant.size() + 1 + payment.size())) {
    if (size_ <= kInline) {
      std::memcpy(inline_, merchant.data(), merchant.size());
      inline_[merchant.size()] = '\0';
      std::memcpy(inline_ + merchant.size() + 1, payment.data(), payment.size());
    } else {
      spill_.reserve(size_);
      spill_.append(merchant).push_back('\0');
      spill_.append(payment);
    }
  }
  int64_t at_s() const { return at_s_; }
  std::string_view ids() const {  // merchant \0 payment
    return size_ <= kInline ? std::string_view(inline_, size_) : std::string_view(spill_);
  }
  std::string_view merchant() const { return ids().substr(0, ids().find('\0')); }
  std::string_view payment() const { return ids().substr(ids().find('\0') + 1); }
  friend bool operator<(const DeadlineKey& a, const DeadlineKey& b) {
    return a.at_s_ != b.at_s_ ? a.at_s_ < b.at_s_ : a.ids() < b.ids();
  }

 private:
  int64_t at_s_;
  uint32_t size_;
  char inline_[kInline];
  std::string spill_;
};

// The deadlines CF key of an index entry (deadline_index_key with the partition), into *out.
void deadline_write_key(std::string* out, uint32_t partition, const DeadlineKey& k) {
  out->clear();
  Writer w(out);
  w.be32(partition);
  w.be64(bias_time(k.at_s()));
  out->append(k.ids());
}

// Writes one WriteBatch at a time on a thread of its own (FoldOptions::write_behind), so the
// fold folds the next batch while RocksDB inserts (and syncs) the last one. Reads of the
// store meanwhile are safe: every key of the batch in flight is also in the fold's memory
// (caches, dedupe window, business ids, deadline index) until the write is done.
class BatchWriter {
 public:
  BatchWriter(Store& store, bool when_waited)
      : store_(store), when_waited_(when_waited), thread_([this] { run(); }) {}
  // Finishes the write in flight, if any: a handed-off batch is always written whole.
  ~BatchWriter() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void submit(StoreBatch* batch, bool sync) {
    std::lock_guard lock(mu_);
    PAYLEDGER_CHECK(batch_ == nullptr && !done_, "a batch is already being written");
    batch_ = batch;
    sync_ = sync;
    cv_.notify_all();
  }
  // Waits for the submitted batch; the status of its write.
  Status wait() {
    std::unique_lock lock(mu_);
    waiting_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return done_; });
    waiting_ = false;
    done_ = false;
    return status_;
  }

 private:
  void run() {
    pthread_setname_np(pthread_self(), "fold-write");  // for top -H and perf
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] {
        return stop_ || (batch_ != nullptr && (!when_waited_ || waiting_));
      });
      if (batch_ == nullptr) return;
      StoreBatch* batch = batch_;
      bool sync = sync_;
      lock.unlock();
      Status s = store_.write(*batch, sync);
      lock.lock();
      status_ = s;
      batch_ = nullptr;
      done_ = true;
      cv_.notify_all();
    }
  }

  Store& store_;
  const bool when_waited_;  // FoldOptions::write_behind_when_waited
  bool waiting_ = false;    // the fold is in wait()
  std::mutex mu_;
  std::condition_variable cv_;
  StoreBatch* batch_ = nullptr;  // submitted, not yet written
  bool sync_ = false;
  Status status_;
  bool done_ = false;  // written, not yet collected by wait()
  bool stop_ = false;
  std::thread thread_;  // last: starts after the members it uses
};

// Why prepare_record refuses `rec`, if it does; out->decoded once the event decoded (the reject
// then names its id and merchant).
std::optional<Error> prepare_checks(const LogRecord& rec, uint32_t partitions,
                                    PreparedRecord* out) {
  if (rec.format == events::RecordFormat::kRawJson && events::is_parked(rec.value)) {
    // Input `append` could not turn into an event: parked with the reason found there.
    auto parked = events::decode_parked(rec.value);
    if (!parked) return parked.error();
    return make_error(parked->code, fmt::format("{}: {}", parked->source, parked->reason));
  }
  v1::Envelope& event = out->event;
  event.Clear();
  Status s = rec.format == events::RecordFormat::kRawJson ? events::from_json(rec.value, &event)
                                                          : events::decode(rec.value, &event);
  if (!s) return s.error();
  out->decoded = true;
  // Card numbers and unsafe id text; the byte pre-filter keeps this off the hot path.
  if (rec.format == events::RecordFormat::kRawJson || events::may_need_string_check(rec.value)) {
    if (Status strings = events::check_strings(event); !strings) return strings.error();
  }
  if (Status valid = events::validate(event); !valid) return valid.error();
  if (events::is_reference_data(event) || rec.key == events::kBroadcastKey) {
    // Reference data is in every partition under the broadcast key; nothing else may be.
    if (rec.key != events::kBroadcastKey) {
      return make_error(Code::kMalformed,
                        fmt::format("reference data keyed '{}' reached only partition {}: "
                                    "reference data is appended to every partition under key "
                                    "'{}' (payledger append does this)",
                                    rec.key, rec.partition, events::kBroadcastKey));
    }
    if (!events::is_reference_data(event)) {
      return make_error(Code::kMalformed,
                        fmt::format("record key '{}' (every partition) is for reference data "
                                    "(fx_rate_published, settlement_run_started) only; "
                                    "merchant '{}''s events are "
                                    "keyed by merchant_id",
                                    rec.key, event.merchant_id()));
    }
    return std::nullopt;
  }
  if (uint32_t home = events::partition_for_key(rec.key, partitions); home != rec.partition) {
    // A merchant's events must all be in its partition, in order: a record placed by
    // another partitioner would be folded apart from its payments and balances.
    return make_error(Code::kMalformed,
                      fmt::format("record keyed '{}' is in partition {} but belongs in {} "
                                  "(producer used another partitioner?)",
                                  rec.key, rec.partition, home));
  }
  if (rec.key != event.merchant_id()) {
    // The record sits in the partition of its key; a mismatch would fold a merchant's
    // events out of order with each other.
    return make_error(Code::kMalformed, fmt::format("record key '{}' is not merchant_id '{}'",
                                                    rec.key, event.merchant_id()));
  }
  return std::nullopt;
}

}  // namespace

// Checks that read no fold state: parked input, decode, card numbers and id text, the schema,
// the record's place (partition and key); then the content fingerprint of what decoded.
void prepare_record(const LogRecord& rec, uint32_t partitions, PreparedRecord* out) {
  out->rec = rec;
  out->decoded = false;
  out->refused = prepare_checks(rec, partitions, out);
  if (!out->decoded) {
    out->digest = raw_record_digest(rec.value);
    return;
  }
  thread_local std::string canonical;  // reused buffer
  canonical_encoding(out->event, &canonical);  // ours: stable across protobuf versions
  out->digest = sha256_of(canonical);
  out->fingerprint = fingerprint_of(out->digest);  // content_fingerprint, hashed once
}

class Folder::Impl final : public ledger::LedgerView {
 public:
  Impl(Store& store, const FoldOptions& options) : store_(store), options_(options) {}

  Status start(uint32_t partitions);
  // Folds one record: applies it, parks it as a reject, or skips it as a duplicate.
  Status fold_record(const LogRecord& rec);
  Status fold_prepared(const PreparedRecord& p);
  Status commit(bool wait);
  // Waits for the batch handed to the writer thread, if any (FoldOptions::write_behind).
  Status settle();
  bool writing() const { return in_flight_; }

  // LedgerView, scoped to the partition of the event being folded: a merchant's accounts
  // and payments all live in its partition.
  const PaymentState* find_payment(std::string_view merchant_id,
                                   std::string_view payment_id) const override;
  Balance balance(const AccountId& account, Asset asset) const override;
  const ledger::CheckoutState* find_checkout(std::string_view merchant_id,
                                             std::string_view checkout_id) const override;
  const ledger::Contract* find_contract(std::string_view merchant_id,
                                        std::string_view method) const override;
  bool merchant_business_id_seen(std::string_view merchant_id,
                                 std::string_view key) const override;
  const ledger::FxQuote* find_quote(std::string_view merchant_id,
                                    std::string_view quote_id) const override;
  const ledger::FxRate* latest_rate(std::string_view pair, int64_t at_s) const override;
  const ledger::FxForward* find_forward(std::string_view forward_id) const override;
  const ledger::SettlementPolicy* find_settlement_policy(std::string_view merchant_id,
                                                         std::string_view currency) const override;
  const ledger::SettlementInstruction* find_instruction(
      std::string_view merchant_id, std::string_view instruction_id) const override;

  std::vector<uint64_t> offsets_;
  std::vector<bool> owned_;  // partitions with a stored offset or folded by this process
  std::vector<std::optional<uint64_t>> log_ends_;  // noted log end per partition
  std::vector<uint64_t> committed_;  // offsets_ as of the last commit (or the store's)
  std::vector<std::optional<FoldedRecord>> last_records_;  // noted, not yet committed
  bool last_records_dirty_ = false;
  bool log_ends_dirty_ = false;
  bool record_identity_ = false;
  FoldStats stats_;
  size_t batch_records_ = 0;

 private:
  Status process(const PreparedRecord& p);
  std::optional<Error> clock_skew(const LogRecord& rec, const v1::Envelope& event) const;
  Status admit(const LogRecord& rec, const v1::Envelope& event, const Fingerprint& fingerprint);
  void reject(const LogRecord& rec, const Error& error, const v1::Envelope* event);
  // Applies the effects to the in-memory state; kOverflow leaves everything unchanged.
  Status apply(const LogRecord& rec, const v1::Envelope& event, ledger::Effects& fx);
  Status post_lines(const LogRecord& rec, const v1::Envelope& event,
                    const ledger::JournalEntry& entry);
  void keep_payment(uint32_t partition, std::string_view merchant, ledger::PaymentUpdate& update);
  void keep_checkout(uint32_t partition, std::string_view merchant,
                     ledger::CheckoutUpdate& update);
  // Idempotency window (docs/architecture.md, "Idempotency policy"): the fingerprint of the
  // event id `dkey` applied before in `partition`, from memory or, for ids that left the
  // in-memory window, from the dedupe column family; nullopt if never applied.
  Result<std::optional<Fingerprint>> applied_before(uint32_t partition, std::string_view dkey,
                                                    uint64_t hash);
  // Records an applied (or no-op) event id in the dedupe index and this batch's chunk.
  void remember(const LogRecord& rec, std::string_view dkey, uint64_t hash,
                const Fingerprint& fingerprint);
  // Before the first id leaves a window: the filter of every id applied from now on, seeded
  // with the ids the windows hold (all this process applied so far).
  void start_id_filter();
  // Clock (docs/architecture.md, "Clock policy"): moves the partition's event-time watermark
  // to `at_s` and fires every deadline it reaches, booked at `rec`. O(1) when none is due.
  Status advance_clock(const LogRecord& rec, int64_t at_s);
  Status fire_due(const LogRecord& rec);
  // Keeps the deadline index in step with a payment's state change.
  void reschedule(uint32_t partition, std::string_view merchant, std::string_view payment_id,
                  const std::optional<ledger::Deadline>& was,
                  const std::optional<ledger::Deadline>& now);
  void unschedule(uint32_t partition, const DeadlineKey& key);
  // The steps of commit(): each adds one kind of state to the batch.
  void write_balances(StoreBatch& wb);
  void write_states(StoreBatch& wb);
  void write_ids(StoreBatch& wb);
  void write_deadlines(StoreBatch& wb);
  void write_meta(StoreBatch& wb);
  void end_batch();
  void written();
  bool caches_over_budget() const;
  void drop_caches_over_budget();
  // Loads the watermarks (meta CF) and the deadline index (deadlines CF).
  Status load_clock();
  // Loads all balances and payment states when there are at most payment_cache_max of
  // each, so that a cache miss means "absent" and costs no RocksDB read.
  Status load_caches();
  BalanceSlot* balance_slot(std::string_view key) const;
  bool read_balance(Cf cf, std::string_view key, Balance* out) const;
  template <typename T, typename Decode>
  const T* cached_get(StringMap<T>& cache, Cf cf, Decode decode) const;
  template <typename Slot, typename Decode>
  const decltype(Slot::state)* read_through(FlatStringMap<Slot>& cache, FlatStringMap<Slot>& old,
                                            Cf cf, bool complete, Decode decode) const;

  Store& store_;
  const FoldOptions options_;
  bool record_partitions_ = false;
  bool offsets_dirty_ = false;
  uint32_t partition_ = 0;  // of the record being folded
  PreparedRecord prepared_;  // fold_record's, reused: avoids allocations per record

  mutable FlatStringMap<BalanceSlot> balances_;
  mutable FlatStringMap<PaymentSlot> payments_;
  mutable FlatStringMap<CheckoutSlot> checkouts_;  // read-through cache, dropped with payments_
  // The previous generation of both caches (clean): a hit moves a copy into the young one;
  // over budget, the young generation becomes the old one and the old one is dropped, so
  // the payments of recent events stay cached (drop_caches_over_budget).
  mutable FlatStringMap<PaymentSlot> payments_old_;
  mutable FlatStringMap<CheckoutSlot> checkouts_old_;
  // Every contract (they are few: merchants x methods), loaded at start.
  StringMap<ledger::Contract> contracts_;
  std::vector<std::string> dirty_contracts_;
  // Locked FX quotes this run read or changed (read through from fx_quotes); dropped past
  // payment_cache_max after a commit that wrote its own batch (all in the store by then).
  mutable StringMap<ledger::FxQuote> quotes_;
  std::vector<std::string> dirty_quotes_;
  // The house's forwards this run read or changed (fx_house, read through), dropped with
  // quotes_; this batch's revaluation runs (key, value).
  mutable StringMap<ledger::FxForward> forwards_;
  std::vector<std::string> dirty_forwards_;
  std::vector<std::pair<std::string, std::string>> revaluation_writes_;
  // Settlement policies and instructions this run read or changed (settlement CF, read
  // through), dropped with quotes_.
  mutable StringMap<ledger::SettlementPolicy> policies_;
  mutable StringMap<ledger::SettlementInstruction> instructions_;
  std::vector<std::string> dirty_policies_;
  std::vector<std::string> dirty_instructions_;
  // Published rates this run folded or read, by rate key (partition | pair \0 as-of): in
  // order, so the latest at or before a moment is one lookup. newest_rates_: per partition |
  // pair \0, the as-of of the newest rate in the store or folded since (nullopt: none), whose
  // rate is in rates_. Both dropped, like quotes_, past payment_cache_max after a commit that
  // wrote its own batch (the store holds every rate by then).
  mutable std::map<std::string, ledger::FxRate, std::less<>> rates_;
  mutable StringMap<std::optional<int64_t>> newest_rates_;
  std::vector<std::string> dirty_rates_;
  // The pair's newest rate (loads newest_rates_), or nullptr if it has none.
  const ledger::FxRate* newest_rate(std::string_view pair) const;
  // The pair's latest rate in the store at or before `key`, kept in rates_; nullptr if none.
  const ledger::FxRate* stored_rate_at_or_before(std::string_view key, size_t prefix) const;
  mutable std::string key_scratch_;  // reused to build lookup keys without allocating
  // Whether the cache holds every stored record of its column family (then a miss is final).
  bool balances_complete_ = false;
  bool payments_complete_ = false;
  mutable Status io_;  // first store error met inside a const lookup; aborts the fold
  std::vector<std::pair<const std::string_view*, BalanceSlot*>> dirty_balances_;
  std::vector<std::pair<const std::string_view*, PaymentSlot*>> dirty_payments_;
  std::vector<std::pair<const std::string_view*, CheckoutSlot*>> dirty_checkouts_;
  // The most recently applied event ids (merchant \0 event_id) per partition, oldest first in
  // seen_, at most dedupe_memory_ids_max / partitions each after a commit (plus the
  // uncommitted batch). Older ids are on disk only: seen_partial_[p] says some exist, and
  // then a miss in memory costs a bloom-filtered RocksDB lookup.
  std::vector<DedupeWindow> seen_;  // dedupe key -> content fingerprint, oldest first
  std::vector<bool> seen_partial_;
  // FoldOptions::dedupe_filter_bytes: every id applied by this process once a window first
  // dropped one; filter_covers_[p]: the partition had no stored ids when the fold started, so
  // the filter knows all of its ids.
  std::unique_ptr<IdFilter> id_filter_;
  std::vector<bool> filter_covers_;
  size_t seen_per_partition_max_ = 0;
  // This batch's applied ids (dedupe CF records); their keys are packed in dedupe_keys_ so a
  // batch costs no allocation per id.
  struct DedupeWrite {
    size_t key_at = 0;
    size_t key_size = 0;
    uint64_t offset = 0;
    Fingerprint fingerprint;
  };
  std::vector<DedupeWrite> dedupe_writes_;
  std::string dedupe_keys_;
  std::string dkey_;  // the dedupe key of the record being folded (reused buffer)
  // The commits' WriteBatches, kept between commits so their buffers are not regrown (copies
  // and fresh zeroed pages) every batch; two, so that one is written while the next fills.
  StoreBatch batches_[2]{StoreBatch(store_), StoreBatch(store_)};
  int next_batch_ = 0;
  // Per partition: ids in seen_ not yet in the store (the newest ones), and how many of them
  // the batch being written holds. Only written ids may leave the window.
  std::vector<size_t> unwritten_ids_;
  std::vector<size_t> writing_ids_;
  std::unique_ptr<BatchWriter> writer_;  // FoldOptions::write_behind; destroyed first
  bool in_flight_ = false;               // writer_ holds a batch
  std::vector<std::pair<std::string, std::string>> rejects_;
  // Audit (history.h). Day sums this run read or changed (history CF, read through; dropped
  // with the caches, which bumps day_gen_ so slots drop their pointers), the dirty ones, this
  // batch's other history writes (chunks of days an account's lines moved away from) and its
  // journal entries.
  StringMap<DaySum> day_sums_;
  uint32_t day_gen_ = 1;
  std::vector<DaySumNode*> dirty_day_sums_;
  std::vector<std::pair<std::string, std::string>> history_writes_;
  std::vector<std::pair<std::string, std::string>> journal_writes_;
  std::vector<uint32_t> write_order_;  // write_audit's sort (reused)
  uint32_t journal_partition_ = std::numeric_limits<uint32_t>::max();
  uint64_t journal_offset_ = std::numeric_limits<uint64_t>::max();
  uint32_t journal_seq_ = 0;
  bool firing_ = false;  // apply() is booking a deadline fire_due fired
  // Per partition: the hash chain over every record folded, and the earliest event time.
  std::vector<ChainHead> chains_;
  std::vector<bool> chains_dirty_;
  std::vector<int64_t> earliest_;
  bool earliest_dirty_ = false;
  DaySumNode* day_sum_for(std::string_view balance_key, int64_t day);
  void post_history(const LogRecord& rec, BalanceSlot* slot, std::string_view balance_key,
                    const ledger::Line& line, const v1::Envelope& event);
  void flush_history_chunk(BalanceSlot* slot, std::string_view balance_key);
  void keep_journal(const LogRecord& rec, const v1::Envelope& event, const ledger::Effects& fx);
  void write_audit(StoreBatch& wb);
  // Per partition: the event-time watermark (max occurred_at folded, INT64_MIN before the
  // first event), the payments with a deadline ahead ordered by (deadline, merchant,
  // payment) (keys of deadline_index_key), and the first of those deadlines (INT64_MAX if
  // none) so that the per-event check is one comparison.
  std::vector<int64_t> watermarks_;
  std::vector<std::set<DeadlineKey>> deadlines_;
  std::vector<int64_t> next_due_;
  // deadlines CF key -> put (true) / delete; looked up by string_view in a reused buffer.
  std::map<std::string, bool, std::less<>> deadline_writes_;
  std::string deadline_key_;
  bool watermarks_dirty_ = false;
  // Merchant-level business ids (merchant \0 kind letter + id: payout, fee and settlement
  // ids) applied by this run, up to business_ids_memory_max; older ones are looked up in the
  // business_ids column family (keys p·merchant\0kind+id). business_writes_: this batch's.
  std::vector<StringSet> business_ids_;  // per partition, like seen_
  std::vector<std::string> business_writes_;

 public:
  bool pending_meta() const {
    return record_partitions_ || offsets_dirty_ || log_ends_dirty_ || record_identity_ ||
           last_records_dirty_;
  }
  // Folder::advance_to: offsets only move forward; the partition is held from then on.
  void advance_to(uint32_t partition, uint64_t next_offset) {
    PAYLEDGER_CHECK(partition < offsets_.size());
    if (owned_[partition] && next_offset <= offsets_[partition]) return;
    offsets_[partition] = std::max(offsets_[partition], next_offset);
    owned_[partition] = true;
    offsets_dirty_ = true;
  }
  size_t dedupe_ids_in_memory() const {
    size_t n = 0;
    for (const auto& seen : seen_) n += seen.size();
    return n;
  }
};

BalanceSlot* Folder::Impl::balance_slot(std::string_view key) const {
  if (auto* node = balances_.find(key)) return &node->value;
  BalanceSlot slot;
  if (balances_complete_) return &balances_.try_emplace(key, std::move(slot)).first->value;
  if (!read_balance(Cf::kBalances, key, &slot.balance)) return nullptr;
  return &balances_.try_emplace(key, std::move(slot)).first->value;
}

// A stored Balance (a balance or a day sum) into *out, left as is when absent; false on a
// store error or bytes that do not decode (kept in io_).
bool Folder::Impl::read_balance(Cf cf, std::string_view key, Balance* out) const {
  std::string value;
  auto found = store_.get(cf, key, &value, Reading::kFold);
  if (!found) {
    if (io_.ok()) io_ = found.error();
    return false;
  }
  if (!*found) return true;
  auto decoded = decode_balance(value);
  if (!decoded) {
    if (io_.ok()) io_ = decoded.error();
    return false;
  }
  *out = *decoded;
  return true;
}

Balance Folder::Impl::balance(const AccountId& account, Asset asset) const {
  make_key(&key_scratch_, partition_, account.name(), asset.code());
  BalanceSlot* slot = balance_slot(key_scratch_);
  return slot == nullptr ? Balance{} : slot->balance;
}

// Read-through lookup of key_scratch_ in `cache`, its old generation, then in `cf` (unless
// the cache is known to hold the whole column family). nullptr if absent; store errors are
// kept in io_.
template <typename Slot, typename Decode>
const decltype(Slot::state)* Folder::Impl::read_through(FlatStringMap<Slot>& cache,
                                                       FlatStringMap<Slot>& old, Cf cf,
                                                       bool complete, Decode decode) const {
  if (auto* node = cache.find(key_scratch_)) return &node->value.state;
  if (auto* node = old.find(key_scratch_)) {
    return &cache.try_emplace(key_scratch_, Slot{node->value.state, false}).first->value.state;
  }
  if (complete) return nullptr;
  std::string value;
  auto found = store_.get(cf, key_scratch_, &value, Reading::kFold);
  if (!found || !*found) {
    if (!found && io_.ok()) io_ = found.error();
    return nullptr;
  }
  auto decoded = decode(value);
  if (!decoded) {
    if (io_.ok()) io_ = decoded.error();
    return nullptr;
  }
  return &cache.try_emplace(key_scratch_, Slot{std::move(decoded).value(), false})
              .first->value.state;
}

const PaymentState* Folder::Impl::find_payment(std::string_view merchant_id,
                                               std::string_view payment_id) const {
  make_key(&key_scratch_, partition_, merchant_id, payment_id);
  return read_through(payments_, payments_old_, Cf::kPayments, payments_complete_,
                      decode_payment);
}

const ledger::CheckoutState* Folder::Impl::find_checkout(std::string_view merchant_id,
                                                         std::string_view checkout_id) const {
  make_key(&key_scratch_, partition_, merchant_id, checkout_id);
  return read_through(checkouts_, checkouts_old_, Cf::kCheckouts, false, decode_checkout);
}

// Read-through lookup of key_scratch_ in a map cache, then in `cf`; nullptr if absent; store
// errors and undecodable values are kept in io_.
template <typename T, typename Decode>
const T* Folder::Impl::cached_get(StringMap<T>& cache, Cf cf, Decode decode) const {
  if (auto it = cache.find(std::string_view(key_scratch_)); it != cache.end()) return &it->second;
  std::string value;
  auto found = store_.get(cf, key_scratch_, &value, Reading::kFold);
  if (!found || !*found) {
    if (!found && io_.ok()) io_ = found.error();
    return nullptr;
  }
  auto decoded = decode(value);
  if (!decoded) {
    if (io_.ok()) io_ = decoded.error();
    return nullptr;
  }
  return &cache.emplace(key_scratch_, std::move(decoded).value()).first->second;
}

const ledger::FxQuote* Folder::Impl::find_quote(std::string_view merchant_id,
                                                std::string_view quote_id) const {
  make_key(&key_scratch_, partition_, merchant_id, quote_id);
  return cached_get(quotes_, Cf::kFxQuotes, decode_quote);
}

const ledger::FxForward* Folder::Impl::find_forward(std::string_view forward_id) const {
  forward_key(&key_scratch_, partition_, forward_id);
  return cached_get(forwards_, Cf::kFxHouse, decode_forward);
}

const ledger::SettlementPolicy* Folder::Impl::find_settlement_policy(
    std::string_view merchant_id, std::string_view currency) const {
  settlement_key(&key_scratch_, partition_, merchant_id, kPolicyTag, currency);
  return cached_get(policies_, Cf::kSettlement, decode_policy);
}

const ledger::SettlementInstruction* Folder::Impl::find_instruction(
    std::string_view merchant_id, std::string_view instruction_id) const {
  settlement_key(&key_scratch_, partition_, merchant_id, kInstructionTag, instruction_id);
  return cached_get(instructions_, Cf::kSettlement, decode_instruction);
}

const ledger::FxRate* Folder::Impl::stored_rate_at_or_before(std::string_view key,
                                                             size_t prefix) const {
  StoreCursor cursor = store_.cursor(Cf::kFxRates, Reading::kFold);
  cursor.seek_for_prev(key);
  if (!cursor.valid()) {
    if (Status s = cursor.status("fx_rates"); !s && io_.ok()) io_ = s;
    return nullptr;
  }
  if (cursor.key().substr(0, prefix) != key.substr(0, prefix)) return nullptr;  // another pair
  auto rate = decode_rate(cursor.key(), cursor.value());
  if (!rate) {
    if (io_.ok()) io_ = rate.error();
    return nullptr;
  }
  return &rates_.emplace(std::string(cursor.key()), std::move(rate).value()).first->second;
}

const ledger::FxRate* Folder::Impl::newest_rate(std::string_view pair) const {
  rate_key(&key_scratch_, partition_, pair, std::numeric_limits<int64_t>::max());
  const size_t prefix = key_scratch_.size() - 8;  // partition | pair \0
  const std::string_view group(key_scratch_.data(), prefix);
  if (auto it = newest_rates_.find(group); it != newest_rates_.end()) {
    if (!it->second) return nullptr;
    rate_key(&key_scratch_, partition_, pair, *it->second);
    return &rates_.at(key_scratch_);
  }
  // The later of the store's newest and the newest folded since (not yet in the store).
  const std::string last = key_scratch_;
  const ledger::FxRate* newest = stored_rate_at_or_before(last, prefix);
  if (!io_.ok()) return nullptr;
  if (auto it = rates_.upper_bound(last); it != rates_.begin()) {
    --it;
    if (std::string_view(it->first).substr(0, prefix) == last.substr(0, prefix) &&
        (newest == nullptr || it->second.as_of_s > newest->as_of_s)) {
      newest = &it->second;
    }
  }
  newest_rates_.emplace(last.substr(0, prefix),
                        newest ? std::optional<int64_t>(newest->as_of_s) : std::nullopt);
  return newest;
}

const ledger::FxRate* Folder::Impl::latest_rate(std::string_view pair, int64_t at_s) const {
  const ledger::FxRate* newest = newest_rate(pair);
  if (newest == nullptr || newest->as_of_s <= at_s) return newest;  // the usual case
  // Before the newest: the later of the store's and of what this run folded.
  std::string key;
  rate_key(&key, partition_, pair, at_s);
  const size_t prefix = key.size() - 8;
  const ledger::FxRate* found = stored_rate_at_or_before(key, prefix);
  if (!io_.ok()) return nullptr;
  if (auto it = rates_.upper_bound(key); it != rates_.begin()) {
    --it;
    if (std::string_view(it->first).substr(0, prefix) == std::string_view(key).substr(0, prefix) &&
        (found == nullptr || it->second.as_of_s > found->as_of_s)) {
      found = &it->second;
    }
  }
  return found;
}

const ledger::Contract* Folder::Impl::find_contract(std::string_view merchant_id,
                                                    std::string_view method) const {
  make_key(&key_scratch_, partition_, merchant_id, method);
  auto it = contracts_.find(std::string_view(key_scratch_));
  return it == contracts_.end() ? nullptr : &it->second;
}

// This run's recent ids are in memory (including the uncommitted batch's); every id applied
// before is in the business_ids column family, since memory only drops committed ids.
bool Folder::Impl::merchant_business_id_seen(std::string_view merchant_id,
                                             std::string_view key) const {
  key_scratch_.assign(merchant_id);
  key_scratch_.push_back('\0');
  key_scratch_.append(key);
  if (business_ids_[partition_].count(std::string_view(key_scratch_)) != 0) return true;
  std::string stored_key = be32_string(partition_) + key_scratch_;
  std::string value;
  auto found = store_.get(Cf::kBusinessIds, stored_key, &value, Reading::kFold);
  if (found) return *found;
  // An I/O error aborts the fold (io_); the answer given with it is never committed.
  if (io_.ok()) io_ = found.error();
  return false;
}

Status Folder::Impl::load_caches() {
  auto load = [&](Cf cf, auto&& add) -> Result<bool> {
    StoreCursor it = store_.cursor(cf, Reading::kFold);
    size_t n = 0;
    for (it.seek_to_first(); it.valid(); it.next()) {
      if (++n > options_.payment_cache_max) return false;
      if (Status s = add(it.key(), it.value()); !s) return s.error();
    }
    if (Status s = it.status(cf_name(cf)); !s) return s.error();
    return true;
  };
  auto balances = load(Cf::kBalances, [&](std::string_view key, std::string_view value) {
    auto b = decode_balance(value);
    if (!b) return Status(b.error());
    {
      BalanceSlot slot;
      slot.balance = *b;
      balances_.try_emplace(key, std::move(slot));
    }
    return Status::Ok();
  });
  if (!balances) return balances.error();
  balances_complete_ = *balances;
  auto payments = load(Cf::kPayments, [&](std::string_view key, std::string_view value) {
    auto p = decode_payment(value);
    if (!p) return Status(p.error());
    payments_.try_emplace(key, PaymentSlot{*p, false});
    return Status::Ok();
  });
  if (!payments) return payments.error();
  payments_complete_ = *payments;
  StoreCursor it = store_.cursor(Cf::kContracts, Reading::kFold);
  for (it.seek_to_first(); it.valid(); it.next()) {
    auto c = decode_contract(it.value());
    if (!c) return c.error();
    contracts_.emplace(std::string(it.key()), std::move(c).value());
  }
  if (Status s = it.status("contracts"); !s) return s;
  if (!payments_complete_) payments_.clear();  // partial: keep only what the fold touches
  return Status::Ok();
}

Status Folder::Impl::load_clock() {
  constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
  uint32_t n = static_cast<uint32_t>(offsets_.size());
  watermarks_.assign(n, std::numeric_limits<int64_t>::min());
  deadlines_.assign(n, {});
  next_due_.assign(n, kNever);
  for (uint32_t p = 0; p < n; ++p) {
    std::string value;
    auto found = store_.get(Cf::kMeta, watermark_key(p), &value, Reading::kFold);
    if (!found) return found.error();
    if (!*found) continue;
    if (value.size() != 8) return make_error(Code::kCorrupt, "stored watermark is not 8 bytes");
    watermarks_[p] = unbias_time(read_be64(value));
  }
  earliest_.assign(n, std::numeric_limits<int64_t>::max());
  chains_.assign(n, ChainHead{});
  chains_dirty_.assign(n, false);
  for (uint32_t p = 0; p < n; ++p) {
    std::string value;
    auto found = store_.get(Cf::kMeta, earliest_key(p), &value, Reading::kFold);
    if (!found) return found.error();
    if (*found) {
      if (value.size() != 8) return make_error(Code::kCorrupt, "stored earliest time is not 8 bytes");
      earliest_[p] = unbias_time(read_be64(value));
    }
    // The partition's chain head: its latest checkpoint (written with every commit).
    StoreCursor c = store_.cursor(Cf::kJournal, Reading::kFold);
    const std::string last = chain_key(p, std::numeric_limits<uint64_t>::max());
    c.seek_for_prev(last);
    if (Status st = c.status("journal"); !st) return st;
    if (c.valid() && c.key().size() == last.size() &&
        c.key().substr(0, 5) == std::string_view(last).substr(0, 5)) {
      auto head = decode_chain_head(c.value());
      if (!head) return head.error();
      const uint64_t at = read_be64(c.key().substr(5));
      // write_audit puts a checkpoint at every commit that moves the offset, in the same batch:
      // the latest one covers the stored offset exactly. Otherwise the chain would go on from
      // an old head (a checkpoint deleted, or offsets edited).
      if (at != offsets_[p]) {
        return make_error(Code::kCorrupt,
                          fmt::format("partition {}: the latest hash-chain checkpoint covers "
                                      "offset {} but the store folded to {} (run `payledger "
                                      "verify`, then `payledger rebuild`)",
                                      p, at, offsets_[p]));
      }
      chains_[p] = *head;
    } else if (owned_[p] && offsets_[p] != 0) {
      return make_error(Code::kCorrupt,
                        fmt::format("partition {} is folded to offset {} but has no hash-chain "
                                    "checkpoint (run `payledger verify`, then `payledger "
                                    "rebuild`)",
                                    p, offsets_[p]));
    }
  }
  StoreCursor it = store_.cursor(Cf::kDeadlines, Reading::kFold);
  for (it.seek_to_first(); it.valid(); it.next()) {
    std::string_view key = it.key();
    uint32_t p = 0;
    int64_t at = 0;
    std::string_view merchant, payment;
    if (key.size() < 4 || !Reader(key.substr(0, 4)).be32(&p) || p >= n ||
        !split_deadline_index_key(key.substr(4), &at, &merchant, &payment)) {
      return make_error(Code::kCorrupt, "deadlines key is not partition + deadline + payment");
    }
    deadlines_[p].emplace(at, merchant, payment);
    next_due_[p] = std::min(next_due_[p], at);
  }
  if (Status s = it.status("deadline index"); !s) return s;
  return Status::Ok();
}

Status Folder::Impl::advance_clock(const LogRecord& rec, int64_t at_s) {
  int64_t& watermark = watermarks_[rec.partition];
  if (at_s > watermark) {  // a late (or same-time) event never moves the clock back
    watermark = at_s;
    watermarks_dirty_ = true;
  }
  // Compared on every record, not only when the watermark moves: a late hold whose deadline
  // has already passed lapses at the next record of its partition instead of never.
  if (next_due_[rec.partition] > watermark) return Status::Ok();
  return fire_due(rec);
}

// Fires, in (deadline, merchant, payment) order, every deadline the watermark reached. Each
// books the explicit expiry's entries at `rec` (its partition and offset) under the synthetic
// event id deadline:<payment>:<kind>.
Status Folder::Impl::fire_due(const LogRecord& rec) {
  const uint32_t p = rec.partition;
  auto& index = deadlines_[p];
  while (!index.empty() && next_due_[p] <= watermarks_[p]) {
    const DeadlineKey key = *index.begin();  // a copy: booking it erases it from the index
    const int64_t at = key.at_s();
    const std::string_view merchant = key.merchant(), payment = key.payment();
    const PaymentState* state = find_payment(merchant, payment);
    if (!io_.ok()) return io_;
    std::optional<ledger::Deadline> due = state == nullptr ? std::nullopt : ledger::deadline_of(*state);
    if (!due || due->at_s != at) {
      return make_error(Code::kCorrupt,
                        fmt::format("partition {}: the deadline index names payment '{}' of {} "
                                    "that has no deadline at {} (run `payledger rebuild`)",
                                    p, payment, merchant, at));
    }
    auto fired = ledger::fire_deadline(merchant, payment, *state, watermarks_[p]);
    firing_ = true;
    Status booked = fired ? apply(rec, fired->event, fired->effects) : Status(fired.error());
    firing_ = false;
    if (!io_.ok()) return io_;
    if (booked) {
      ++stats_.deadlines_fired;
    } else {
      // Not bookable (e.g. a balance would overflow): the payment stays as it is; an explicit
      // expiry can still release it, and would be parked with the same reason.
      ++stats_.deadlines_failed;
    }
    unschedule(p, key);  // no-op when apply() already moved the payment off its deadline
  }
  return Status::Ok();
}

void Folder::Impl::reschedule(uint32_t partition, std::string_view merchant,
                              std::string_view payment_id,
                              const std::optional<ledger::Deadline>& was,
                              const std::optional<ledger::Deadline>& now) {
  if (was) unschedule(partition, DeadlineKey(was->at_s, merchant, payment_id));
  if (!now) return;
  auto [it, inserted] = deadlines_[partition].emplace(now->at_s, merchant, payment_id);
  deadline_write_key(&deadline_key_, partition, *it);
  deadline_writes_.insert_or_assign(deadline_key_, true);
  next_due_[partition] = std::min(next_due_[partition], now->at_s);
}

void Folder::Impl::unschedule(uint32_t partition, const DeadlineKey& key) {
  auto& index = deadlines_[partition];
  auto it = index.find(key);
  if (it == index.end()) return;
  const bool was_first = it == index.begin();
  deadline_write_key(&deadline_key_, partition, key);
  index.erase(it);
  // A key is scheduled once ever (payment ids are unique per merchant): one put in this
  // batch means it never reached the store, so nothing needs deleting.
  auto w = deadline_writes_.find(std::string_view(deadline_key_));
  if (w != deadline_writes_.end() && w->second) {
    deadline_writes_.erase(w);
  } else if (w != deadline_writes_.end()) {
    w->second = false;
  } else {
    deadline_writes_.emplace(deadline_key_, false);
  }
  if (was_first) {
    next_due_[partition] =
        index.empty() ? std::numeric_limits<int64_t>::max() : index.begin()->at_s();
  }
}

Result<std::optional<Fingerprint>> Folder::Impl::applied_before(uint32_t partition,
                                                               std::string_view dkey,
                                                               uint64_t hash) {
  if (const Fingerprint* held = seen_[partition].find(dkey, hash)) {
    return std::optional<Fingerprint>(*held);
  }
  if (!seen_partial_[partition]) return std::optional<Fingerprint>();
  // The filter holds every id this process applied; if the partition had none stored when it
  // started, an id the filter never saw was never applied.
  if (id_filter_ != nullptr && filter_covers_[partition] &&
      !id_filter_->may_contain(partition, hash)) {
    return std::optional<Fingerprint>();
  }
  ++stats_.dedupe_probes;
  std::string value;
  auto found = store_.get(Cf::kDedupe, dedupe_id_key(partition, dkey), &value, Reading::kFold);
  if (!found) return found.error();
  if (!*found) return std::optional<Fingerprint>();
  auto fp = decode_dedupe_value(value);
  if (!fp) return fp.error();
  return std::optional<Fingerprint>(*fp);
}

void Folder::Impl::reject(const LogRecord& rec, const Error& error, const v1::Envelope* event) {
  Reject r;
  r.partition = rec.partition;
  r.offset = rec.offset;
  r.code = error.code;
  r.reason = error.reason;
  if (event != nullptr) {
    r.event_id = event->event_id();
    r.merchant_id = event->merchant_id();
  }
  r.format = rec.format;
  // A card number never reaches the rejects or the dead letters: keep masked copies only.
  r.reason = events::mask_pans(r.reason);
  r.event_id = events::mask_pans(r.event_id);
  r.merchant_id = events::mask_pans(r.merchant_id);
  r.key = events::mask_pans(rec.key);
  r.value = events::mask_record_value(rec.format, rec.value);
  rejects_.emplace_back(reject_key(rec.partition, rec.offset), encode_reject(r));
  ++stats_.rejected;
  if (options_.on_reject) options_.on_reject(r);
}

// One prepared record: parked if a check refused it, else the partition's clock, then dedupe
// and the rules. A record that fails a check is parked as a reject (Ok); an error is I/O or
// corruption.
Status Folder::Impl::process(const PreparedRecord& p) {
  const LogRecord& rec = p.rec;
  if (p.refused) {
    reject(rec, *p.refused, p.decoded ? &p.event : nullptr);
    return Status::Ok();
  }
  if (std::optional<Error> skew = clock_skew(rec, p.event)) {
    reject(rec, *skew, &p.event);
    return Status::Ok();
  }
  if (Status s = advance_clock(rec, p.event.occurred_at().seconds()); !s) return s;
  return admit(rec, p.event, p.fingerprint);
}

// One mistyped year would otherwise move the partition's clock past every deadline in it for
// good (the log is append-only): refused, and the clock stays where it is.
std::optional<Error> Folder::Impl::clock_skew(const LogRecord& rec,
                                              const v1::Envelope& event) const {
  const int64_t at_s = event.occurred_at().seconds(), watermark = watermarks_[rec.partition];
  if (watermark == std::numeric_limits<int64_t>::min() || at_s - watermark <= kClockSkewMaxS) {
    return std::nullopt;
  }
  return make_error(Code::kClockSkew,
                    fmt::format("occurred_at is {} days after the latest event of partition {} "
                                "(more than the {}-day bound): check the producer's clock",
                                (at_s - watermark) / 86400, rec.partition, kClockSkewMaxS / 86400));
}

// Dedupe by (merchant, event id) and content fingerprint, then the rules and their effects:
// applied, a no-op (retry, or an expiry already done), or parked.
Status Folder::Impl::admit(const LogRecord& rec, const v1::Envelope& event,
                           const Fingerprint& fingerprint) {
  dkey_.assign(event.merchant_id());  // dedupe_key(merchant, event id), in a reused buffer
  dkey_.push_back('\0');
  dkey_.append(event.event_id());
  const uint64_t hash = DedupeWindow::hash_of(dkey_);
  auto before = applied_before(rec.partition, dkey_, hash);
  if (!before) return before.error();
  if (*before) {
    if (**before == fingerprint) {
      ++stats_.duplicates;
    } else {  // same id, different event: not a retry. Parked rather than dropped silently.
      reject(rec,
             make_error(Code::kConflictingDuplicate,
                        fmt::format("event id '{}' was already applied with different content",
                                    event.event_id())),
             &event);
    }
    return Status::Ok();
  }
  if (ledger::expiry_already_done(event, *this)) {
    // The deadline (or an earlier expiry) already released it: a recorded no-op.
    if (!io_.ok()) return io_;
    ++stats_.expiries_noop;
    remember(rec, dkey_, hash, fingerprint);
    return Status::Ok();
  }
  if (!io_.ok()) return io_;
  auto fx = ledger::apply_event(event, *this);
  if (!io_.ok()) return io_;
  Status applied = fx ? apply(rec, event, *fx) : Status(fx.error());
  if (!io_.ok()) return io_;
  if (!applied) {
    reject(rec, applied.error(), &event);
    return Status::Ok();
  }
  remember(rec, dkey_, hash, fingerprint);
  ++stats_.applied;
  return Status::Ok();
}

void Folder::Impl::remember(const LogRecord& rec, std::string_view dkey, uint64_t hash,
                            const Fingerprint& fingerprint) {
  const size_t key_at = dedupe_keys_.size();
  append_dedupe_id_key(&dedupe_keys_, rec.partition, dkey);
  dedupe_writes_.push_back(
      DedupeWrite{key_at, dedupe_keys_.size() - key_at, rec.offset, fingerprint});
  seen_[rec.partition].push(dkey, hash, fingerprint);  // checks the id was not applied before
  ++unwritten_ids_[rec.partition];
  if (id_filter_ != nullptr) id_filter_->add(rec.partition, hash);
}

void Folder::Impl::start_id_filter() {
  id_filter_ = std::make_unique<IdFilter>(options_.dedupe_filter_bytes);
  for (uint32_t p = 0; p < seen_.size(); ++p) {
    seen_[p].for_each_hash([&](uint64_t hash) { id_filter_->add(p, hash); });
  }
}

// The effects of one event on the in-memory state: its lines on the balances (all or
// nothing), then the payment, contract, checkout and business id it changed.
Status Folder::Impl::apply(const LogRecord& rec, const v1::Envelope& event, ledger::Effects& fx) {
  if (Status s = post_lines(rec, event, fx.entry); !s) return s;
  keep_journal(rec, event, fx);  // before the updates below move their ids away
  if (fx.payment) keep_payment(rec.partition, event.merchant_id(), *fx.payment);
  if (fx.contract) {
    make_key(&key_scratch_, rec.partition, event.merchant_id(), fx.contract->method);
    contracts_.insert_or_assign(key_scratch_, std::move(fx.contract->contract));
    dirty_contracts_.push_back(key_scratch_);
  }
  if (fx.checkout) keep_checkout(rec.partition, event.merchant_id(), *fx.checkout);
  if (fx.quote) {
    make_key(&key_scratch_, rec.partition, event.merchant_id(), fx.quote->quote_id);
    quotes_.insert_or_assign(key_scratch_, std::move(fx.quote->quote));
    dirty_quotes_.push_back(key_scratch_);
  }
  if (fx.forward) {
    forward_key(&key_scratch_, rec.partition, fx.forward->forward_id);
    forwards_.insert_or_assign(key_scratch_, std::move(fx.forward->forward));
    dirty_forwards_.push_back(key_scratch_);
  }
  if (fx.policy) {
    settlement_key(&key_scratch_, rec.partition, event.merchant_id(), kPolicyTag,
                   fx.policy->currency);
    policies_.insert_or_assign(key_scratch_, std::move(fx.policy->policy));
    dirty_policies_.push_back(key_scratch_);
  }
  if (fx.instruction) {
    settlement_key(&key_scratch_, rec.partition, event.merchant_id(), kInstructionTag,
                   fx.instruction->instruction_id);
    instructions_.insert_or_assign(key_scratch_, std::move(fx.instruction->instruction));
    dirty_instructions_.push_back(key_scratch_);
  }
  if (fx.revaluation) {
    revaluation_writes_.emplace_back(
        revaluation_key(rec.partition, fx.revaluation->as_of_s, fx.revaluation->reporting),
        encode_revaluation(*fx.revaluation));
  }
  if (fx.rate) {
    // After newest_rate(), so that the group's newest is loaded before this one joins it.
    newest_rate(fx.rate->pair);
    rate_key(&key_scratch_, rec.partition, fx.rate->pair, fx.rate->as_of_s);
    std::string_view group(key_scratch_.data(), key_scratch_.size() - 8);
    auto& newest = newest_rates_.find(group)->second;
    if (!newest || *newest < fx.rate->as_of_s) newest = fx.rate->as_of_s;
    dirty_rates_.push_back(key_scratch_);
    rates_.insert_or_assign(key_scratch_, std::move(*fx.rate));
  }
  if (fx.merchant_business_id) {
    // One key per id: they are rare (payouts, fees, settlements), unlike event ids.
    std::string key = dedupe_key(event.merchant_id(), *fx.merchant_business_id);
    business_writes_.push_back(be32_string(rec.partition) + key);
    business_ids_[rec.partition].emplace(std::move(key));
  }
  return Status::Ok();
}

// Posts an entry's lines to the partition's balances. Every new balance is staged first, so
// an overflow on any line (kOverflow) changes nothing.
Status Folder::Impl::post_lines(const LogRecord& rec, const v1::Envelope& event,
                                const ledger::JournalEntry& entry) {
  struct Staged {
    BalanceSlot* slot;
    Balance next;
  };
  const size_t n = entry.lines.size();
  PAYLEDGER_CHECK(n <= ledger::kEntryLinesMax);
  // The rules promise a balanced entry; re-check it here, where it is about to be booked
  // (pair assertion: the rules check it when they build it, the fold before it commits).
  if (n != 0) {
    Status balanced = ledger::check_balanced(entry);
    PAYLEDGER_CHECK(balanced.ok(), balanced.ok() ? std::string() : balanced.error().reason);
  }
  BalanceSlot* slots[ledger::kEntryLinesMax];
  Staged staged[ledger::kEntryLinesMax];
  size_t staged_count = 0;
  for (size_t i = 0; i < n; ++i) {
    const auto& line = entry.lines[i];
    make_key(&key_scratch_, rec.partition, line.account.name(), line.asset.code());
    slots[i] = balance_slot(key_scratch_);
    if (slots[i] == nullptr) return io_;
    Staged* st = nullptr;
    for (size_t j = 0; j < staged_count; ++j) {
      if (staged[j].slot == slots[i]) st = &staged[j];
    }
    if (st == nullptr) {
      staged[staged_count] = Staged{slots[i], slots[i]->balance};
      st = &staged[staged_count++];
    }
    if (Status s = st->next.add(line.side, line.bucket, line.amount_minor); !s) {
      return make_error(Code::kOverflow, fmt::format("{} on {} {}", s.error().reason,
                                                     line.account.name(), line.asset.code()));
    }
  }
  for (size_t j = 0; j < staged_count; ++j) staged[j].slot->balance = staged[j].next;
  for (size_t i = 0; i < n; ++i) {
    const auto& line = entry.lines[i];
    BalanceSlot* slot = slots[i];
    if (!slot->dirty) {
      slot->dirty = true;
      slot->chunk_first_offset = rec.offset;
      make_key(&key_scratch_, rec.partition, line.account.name(), line.asset.code());
      dirty_balances_.emplace_back(&balances_.find(key_scratch_)->key, slot);
    }
    append_entry_line(&slot->chunk, rec.offset, line.side, line.bucket, line.amount_minor,
                      static_cast<uint8_t>(event.body_case()), event.event_id(),
                      event.occurred_at().seconds());
    post_history(rec, slot, {}, line, event);
    if (!io_.ok()) return io_;  // a day sum could not be read: the fold stops, nothing commits
  }
  return Status::Ok();
}

// The line in its account's history: the slot's chunk of this day's lines and the day's sum.
// `balance_key` may be empty (built here when the line moves the slot to another day).
void Folder::Impl::post_history(const LogRecord& rec, BalanceSlot* slot,
                                std::string_view balance_key, const ledger::Line& line,
                                const v1::Envelope& event) {
  const int64_t at = event.occurred_at().seconds();
  const int64_t day = utc_day(at);
  if (slot->day_sum_node == nullptr || slot->day_gen != day_gen_ || slot->hist_day != day) {
    std::string key;
    if (balance_key.empty()) {
      make_key(&key, rec.partition, line.account.name(), line.asset.code());
      balance_key = key;
    }
    flush_history_chunk(slot, balance_key);
    slot->day_sum_node = day_sum_for(balance_key, day);
    if (slot->day_sum_node == nullptr) return;  // io_ says why
    slot->day_gen = day_gen_;
    slot->hist_day = day;
  }
  if (slot->hist_chunk.empty()) slot->hist_first_offset = rec.offset;
  append_entry_line(&slot->hist_chunk, rec.offset, line.side, line.bucket, line.amount_minor,
                    static_cast<uint8_t>(event.body_case()), event.event_id(), at);
  // A day's sum is part of the account's totals, which post_lines checked for overflow.
  Status added = slot->day_sum_node->second.sum.add(line.side, line.bucket, line.amount_minor);
  PAYLEDGER_CHECK(added.ok(), "a day sum overflowed where its account's totals did not");
  if (!slot->day_sum_node->second.dirty) {
    slot->day_sum_node->second.dirty = true;
    dirty_day_sums_.push_back(slot->day_sum_node);
  }
}

// The slot's lines of its current day so far in this batch, as one history chunk.
void Folder::Impl::flush_history_chunk(BalanceSlot* slot, std::string_view balance_key) {
  if (slot->hist_chunk.empty()) return;
  std::string key;
  day_lines_key(&key, balance_key, slot->hist_day, slot->hist_first_offset);
  history_writes_.emplace_back(std::move(key), std::move(slot->hist_chunk));
  slot->hist_chunk.clear();
}

// The stored (or this run's) sum of an account's day, kept in day_sums_; nullptr on a store
// error (in io_).
DaySumNode* Folder::Impl::day_sum_for(std::string_view balance_key, int64_t day) {
  std::string key;
  day_sum_key(&key, balance_key, day);
  if (auto it = day_sums_.find(key); it != day_sums_.end()) return &*it;
  DaySum d;
  if (!read_balance(Cf::kHistory, key, &d.sum)) return nullptr;
  return &*day_sums_.try_emplace(std::move(key), d).first;
}

// The applied event (or fired deadline) in the journal, with the payment index.
void Folder::Impl::keep_journal(const LogRecord& rec, const v1::Envelope& event,
                                const ledger::Effects& fx) {
  if (rec.partition != journal_partition_ || rec.offset != journal_offset_) {
    journal_partition_ = rec.partition;
    journal_offset_ = rec.offset;
    journal_seq_ = 0;
  } else {
    ++journal_seq_;
  }
  const uint32_t seq = journal_seq_;
  std::string_view payment = fx.payment ? std::string_view(fx.payment->payment_id) : "";
  std::string_view reference = payment;
  if (reference.empty() && fx.instruction) reference = fx.instruction->instruction_id;
  if (reference.empty() && fx.merchant_business_id && !fx.merchant_business_id->empty()) {
    reference = std::string_view(*fx.merchant_business_id).substr(1);  // without its kind letter
  }
  std::string value;
  append_journal_entry(&value, static_cast<uint8_t>(event.body_case()), firing_,
                       event.occurred_at().seconds(), event.event_id(), event.merchant_id(),
                       payment, reference, fx.entry.lines);
  journal_writes_.emplace_back(journal_entry_key(rec.partition, rec.offset, seq),
                               std::move(value));
  if (!payment.empty()) {
    journal_writes_.emplace_back(
        journal_payment_key(rec.partition, event.merchant_id(), payment, rec.offset, seq),
        std::string());
  }
  const int64_t at = event.occurred_at().seconds();
  if (at < earliest_[rec.partition]) {
    earliest_[rec.partition] = at;
    earliest_dirty_ = true;
  }
}

// The payment's new state, in the cache and marked for the batch; its deadline follows it.
void Folder::Impl::keep_payment(uint32_t partition, std::string_view merchant,
                                ledger::PaymentUpdate& update) {
  make_key(&key_scratch_, partition, merchant, update.payment_id);
  auto* node = payments_.find(key_scratch_);
  std::optional<ledger::Deadline> was =
      node == nullptr ? std::nullopt : ledger::deadline_of(node->value.state);
  std::optional<ledger::Deadline> now = ledger::deadline_of(update.state);
  if (was != now) reschedule(partition, merchant, update.payment_id, was, now);
  if (node == nullptr) {
    node = payments_.try_emplace(key_scratch_, PaymentSlot{std::move(update.state), false}).first;
  } else {
    node->value.state = std::move(update.state);
  }
  if (!node->value.dirty) dirty_payments_.emplace_back(&node->key, &node->value);
  node->value.dirty = true;
}

void Folder::Impl::keep_checkout(uint32_t partition, std::string_view merchant,
                                 ledger::CheckoutUpdate& update) {
  make_key(&key_scratch_, partition, merchant, update.checkout_id);
  auto* node = checkouts_.find(key_scratch_);
  if (node == nullptr) {
    node = checkouts_.try_emplace(key_scratch_, CheckoutSlot{std::move(update.state), false})
               .first;
  } else {
    node->value.state = std::move(update.state);
  }
  if (!node->value.dirty) dirty_checkouts_.emplace_back(&node->key, &node->value);
  node->value.dirty = true;
}

// Writes everything folded since the last commit, with the offsets, in one WriteBatch. With
// wait=false and FoldOptions::write_behind the batch goes to the writer thread and the fold
// goes on while RocksDB inserts (and syncs) it; the next commit waits for it first.
Status Folder::Impl::commit(bool wait) {
  if (Status s = settle(); !s) return s;
  StoreBatch& wb = batches_[next_batch_];  // reused: buffers stay warm across commits
  next_batch_ ^= 1;
  wb.clear();
  write_balances(wb);
  write_audit(wb);
  write_states(wb);
  write_ids(wb);
  write_deadlines(wb);
  write_meta(wb);
  if (options_.before_commit) {
    if (Status s = options_.before_commit(); !s) return s;
  }
  stats_.keys_written += wb.count();
  stats_.bytes_written += wb.bytes();
  end_batch();
  stats_.cache_entries_max = std::max<uint64_t>(
      stats_.cache_entries_max,
      payments_.size() + checkouts_.size() + payments_old_.size() + checkouts_old_.size());
  if (!wait && writer_ != nullptr && !caches_over_budget()) {
    writer_->submit(&wb, options_.sync);
    in_flight_ = true;
    return Status::Ok();
  }
  if (Status s = store_.write(wb, options_.sync); !s) return s;
  written();
  drop_caches_over_budget();
  return Status::Ok();
}

// Only after a commit that wrote its batch itself: every cached entry and business id is
// then clean and in the store (never while a handed-off batch is in flight).
void Folder::Impl::drop_caches_over_budget() {
  const size_t young = payments_.size() + checkouts_.size();
  if (young + payments_old_.size() + checkouts_old_.size() > options_.payment_cache_max) {
    // The young generation (what recent events touched: the payments their captures and
    // refunds look up next) becomes the old one; what was old is dropped. A young generation
    // alone over budget is dropped too.
    const bool keep = young <= options_.payment_cache_max;
    payments_old_ = keep ? std::move(payments_) : FlatStringMap<PaymentSlot>();
    checkouts_old_ = keep ? std::move(checkouts_) : FlatStringMap<CheckoutSlot>();
    payments_.clear();
    checkouts_.clear();
    payments_complete_ = false;
  }
  size_t business_ids = 0;
  for (const auto& ids : business_ids_) business_ids += ids.size();
  if (business_ids > options_.business_ids_memory_max) {
    for (auto& ids : business_ids_) ids = StringSet();  // the store answers for them
  }
  if (quotes_.size() > options_.payment_cache_max) quotes_ = StringMap<ledger::FxQuote>();
  if (forwards_.size() > options_.payment_cache_max) forwards_ = StringMap<ledger::FxForward>();
  if (policies_.size() > options_.payment_cache_max) {
    policies_ = StringMap<ledger::SettlementPolicy>();
  }
  if (instructions_.size() > options_.payment_cache_max) {
    instructions_ = StringMap<ledger::SettlementInstruction>();
  }
  if (rates_.size() > options_.payment_cache_max) {
    rates_.clear();
    newest_rates_ = StringMap<std::optional<int64_t>>();
  }
  if (day_sums_.size() > options_.payment_cache_max) {
    day_sums_ = StringMap<DaySum>();
    ++day_gen_;  // every slot's day_sum_node is stale from now on
  }
}

// Waits for the batch the writer thread holds, if any.
Status Folder::Impl::settle() {
  if (!in_flight_) return Status::Ok();
  in_flight_ = false;
  if (Status s = writer_->wait(); !s) return s;
  written();
  return Status::Ok();
}

// After a batch is in the store: its ids may leave memory (the store answers for them now).
// (The caches are dropped only by a commit that wrote its batch itself: the next batch's
// dirty entries are in them while a handed-off batch is written.)
void Folder::Impl::written() {
  for (uint32_t p = 0; p < seen_.size(); ++p) {
    unwritten_ids_[p] -= writing_ids_[p];
    writing_ids_[p] = 0;
    while (seen_[p].size() > seen_per_partition_max_ && seen_[p].size() > unwritten_ids_[p]) {
      if (id_filter_ == nullptr && options_.dedupe_filter_bytes != 0) start_id_filter();
      seen_[p].pop_oldest();
      seen_partial_[p] = true;
    }
  }
}

bool Folder::Impl::caches_over_budget() const {
  size_t business_ids = 0;
  for (const auto& ids : business_ids_) business_ids += ids.size();
  return payments_.size() + checkouts_.size() + payments_old_.size() + checkouts_old_.size() >
             options_.payment_cache_max ||
         quotes_.size() > options_.payment_cache_max ||
         forwards_.size() > options_.payment_cache_max ||
         policies_.size() > options_.payment_cache_max ||
         instructions_.size() > options_.payment_cache_max ||
         rates_.size() > options_.payment_cache_max ||
         day_sums_.size() > options_.payment_cache_max ||
         business_ids > options_.business_ids_memory_max;
}

namespace {
// Keys go in sorted per column family: RocksDB's skiplist memtable inserts sorted runs far
// faster (it reuses the previous insert's position).
template <typename Dirty>
void sort_by_key(Dirty& dirty) {
  std::sort(dirty.begin(), dirty.end(), [](const auto& a, const auto& b) {
    return *a.first < *b.first;
  });
}
}  // namespace

// Touched balances and the batch's entry lines (one value per account, asset and partition).
void Folder::Impl::write_balances(StoreBatch& wb) {
  sort_by_key(dirty_balances_);
  std::string chunk_key, chunk;
  for (auto& [key, slot] : dirty_balances_) {
    wb.put(Cf::kBalances, *key, encode_balance(slot->balance));
    chunk_key = *key;  // partition | account \0 asset, then \0 first_offset
    chunk_key.push_back('\0');
    chunk_key += be64_string(slot->chunk_first_offset);
    chunk.clear();
    append_entry_chunk_header(&chunk, slot->balance);  // the balance after the chunk
    chunk += slot->chunk;
    wb.put(Cf::kEntries, chunk_key, chunk);
    slot->chunk.clear();
    slot->dirty = false;
    flush_history_chunk(slot, *key);
  }
}

// History (day chunks and sums), the journal, each partition's chain head and earliest time.
void Folder::Impl::write_audit(StoreBatch& wb) {
  for (DaySumNode* node : dirty_day_sums_) {
    history_writes_.emplace_back(node->first, encode_balance(node->second.sum));
    node->second.dirty = false;
  }
  dirty_day_sums_.clear();
  // In key order (the memtable inserts sorted runs far faster: unsorted, a fold took 25% more
  // instructions), sorting indices rather than moving the (key, value) strings.
  auto put_sorted = [&](Cf cf, std::vector<std::pair<std::string, std::string>>& writes) {
    write_order_.resize(writes.size());
    for (uint32_t i = 0; i < writes.size(); ++i) write_order_[i] = i;
    std::sort(write_order_.begin(), write_order_.end(),
              [&](uint32_t a, uint32_t b) { return writes[a].first < writes[b].first; });
    for (uint32_t i : write_order_) wb.put(cf, writes[i].first, writes[i].second);
    writes.clear();
  };
  put_sorted(Cf::kHistory, history_writes_);
  put_sorted(Cf::kJournal, journal_writes_);
  // A checkpoint wherever a partition's offset moved (records, or Kafka markers skipped), so
  // the latest one always covers the stored offset: a store whose latest checkpoint does not
  // is refused at load and named by verify.
  for (uint32_t p = 0; p < chains_.size(); ++p) {
    if (!chains_dirty_[p] && offsets_[p] == committed_[p]) continue;
    wb.put(Cf::kJournal, chain_key(p, offsets_[p]), encode_chain_head(chains_[p]));
    chains_dirty_[p] = false;
  }
  if (earliest_dirty_) {
    for (uint32_t p = 0; p < earliest_.size(); ++p) {
      if (earliest_[p] != std::numeric_limits<int64_t>::max()) {
        wb.put(Cf::kMeta, earliest_key(p), be64_string(bias_time(earliest_[p])));
      }
    }
    earliest_dirty_ = false;
  }
}

// Touched payments, contracts and checkouts, once each.
void Folder::Impl::write_states(StoreBatch& wb) {
  sort_by_key(dirty_payments_);
  for (auto& [key, slot] : dirty_payments_) {
    wb.put(Cf::kPayments, *key, encode_payment(slot->state));
    slot->dirty = false;
  }
  std::sort(dirty_contracts_.begin(), dirty_contracts_.end());
  dirty_contracts_.erase(std::unique(dirty_contracts_.begin(), dirty_contracts_.end()),
                         dirty_contracts_.end());
  for (const auto& key : dirty_contracts_) {
    wb.put(Cf::kContracts, key, encode_contract(contracts_.at(key)));
  }
  sort_by_key(dirty_checkouts_);
  for (auto& [key, slot] : dirty_checkouts_) {
    wb.put(Cf::kCheckouts, *key, encode_checkout(slot->state));
    slot->dirty = false;
  }
  std::sort(dirty_quotes_.begin(), dirty_quotes_.end());
  dirty_quotes_.erase(std::unique(dirty_quotes_.begin(), dirty_quotes_.end()),
                      dirty_quotes_.end());
  for (const auto& key : dirty_quotes_) wb.put(Cf::kFxQuotes, key, encode_quote(quotes_.at(key)));
  std::sort(dirty_rates_.begin(), dirty_rates_.end());
  dirty_rates_.erase(std::unique(dirty_rates_.begin(), dirty_rates_.end()), dirty_rates_.end());
  for (const auto& key : dirty_rates_) wb.put(Cf::kFxRates, key, encode_rate(rates_.at(key)));
  std::sort(dirty_forwards_.begin(), dirty_forwards_.end());
  dirty_forwards_.erase(std::unique(dirty_forwards_.begin(), dirty_forwards_.end()),
                        dirty_forwards_.end());
  for (const auto& key : dirty_forwards_) {
    wb.put(Cf::kFxHouse, key, encode_forward(forwards_.at(key)));
  }
  for (const auto& [key, value] : revaluation_writes_) wb.put(Cf::kFxHouse, key, value);
  for (auto* dirty : {&dirty_policies_, &dirty_instructions_}) {
    std::sort(dirty->begin(), dirty->end());
    dirty->erase(std::unique(dirty->begin(), dirty->end()), dirty->end());
  }
  for (const auto& key : dirty_policies_) {
    wb.put(Cf::kSettlement, key, encode_policy(policies_.at(key)));
  }
  for (const auto& key : dirty_instructions_) {
    wb.put(Cf::kSettlement, key, encode_instruction(instructions_.at(key)));
  }
}

// The batch's applied event ids (dedupe CF), business ids and rejects.
void Folder::Impl::write_ids(StoreBatch& wb) {
  auto dedupe_key_of = [&](const DedupeWrite& w) {
    return std::string_view(dedupe_keys_).substr(w.key_at, w.key_size);
  };
  std::sort(dedupe_writes_.begin(), dedupe_writes_.end(),
            [&](const DedupeWrite& a, const DedupeWrite& b) {
              return dedupe_key_of(a) < dedupe_key_of(b);
            });
  std::string dedupe_value;
  for (const DedupeWrite& w : dedupe_writes_) {
    dedupe_value.clear();
    append_dedupe_value(&dedupe_value, w.offset, w.fingerprint);
    wb.put(Cf::kDedupe, dedupe_key_of(w), dedupe_value);
  }
  std::sort(business_writes_.begin(), business_writes_.end());
  for (const auto& key : business_writes_) {
    wb.put(Cf::kBusinessIds, key, std::string_view());
  }
  for (const auto& [key, value] : rejects_) wb.put(Cf::kRejects, key, value);
}

void Folder::Impl::write_deadlines(StoreBatch& wb) {
  for (const auto& [key, put] : deadline_writes_) {
    if (put) {
      wb.put(Cf::kDeadlines, key, std::string_view());
    } else {
      wb.erase(Cf::kDeadlines, key);
    }
  }
}

// Watermarks, next offsets, partition count, log identity, log ends and last records.
void Folder::Impl::write_meta(StoreBatch& wb) {
  if (watermarks_dirty_) {
    for (uint32_t p = 0; p < watermarks_.size(); ++p) {
      if (watermarks_[p] != std::numeric_limits<int64_t>::min()) {
        wb.put(Cf::kMeta, watermark_key(p), be64_string(bias_time(watermarks_[p])));
      }
    }
  }
  if (offsets_dirty_) {
    for (uint32_t p = 0; p < offsets_.size(); ++p) {
      if (!owned_[p]) continue;
      // Pair assertion with Store::load_offsets: offsets only move forward, and the log of a
      // partition reached at least the offset folded from it (so stored offset <= log end).
      PAYLEDGER_CHECK(offsets_[p] >= committed_[p],
                      fmt::format("partition {} offset {} would move back from {}", p,
                                  offsets_[p], committed_[p]));
      wb.put(Cf::kMeta, offset_key(p), be64_string(offsets_[p]));
      if (!log_ends_[p] || *log_ends_[p] < offsets_[p]) {
        log_ends_[p] = offsets_[p];
        log_ends_dirty_ = true;
      }
    }
  }
  if (record_partitions_) {
    wb.put(Cf::kMeta, kPartitionsKey,
           be32_string(static_cast<uint32_t>(offsets_.size())));
  }
  if (record_identity_) wb.put(Cf::kMeta, kLogIdentityKey, options_.log_identity);
  if (log_ends_dirty_) {
    for (uint32_t p = 0; p < log_ends_.size(); ++p) {
      if (log_ends_[p]) wb.put(Cf::kMeta, log_end_key(p), be64_string(*log_ends_[p]));
    }
  }
  if (last_records_dirty_) {
    for (uint32_t p = 0; p < last_records_.size(); ++p) {
      if (!last_records_[p]) continue;
      wb.put(Cf::kMeta, last_record_key(p),
             be64_string(last_records_[p]->offset) + be64_string(last_records_[p]->fingerprint));
    }
  }
}

// The batch is in a WriteBatch: start the next one.
void Folder::Impl::end_batch() {
  committed_ = offsets_;
  writing_ids_ = unwritten_ids_;
  last_records_.assign(last_records_.size(), std::nullopt);
  last_records_dirty_ = false;
  record_partitions_ = false;
  record_identity_ = false;
  log_ends_dirty_ = false;
  offsets_dirty_ = false;
  dirty_balances_.clear();
  dirty_payments_.clear();
  dirty_checkouts_.clear();
  dirty_contracts_.clear();
  dirty_quotes_.clear();
  dirty_rates_.clear();
  dirty_forwards_.clear();
  dirty_policies_.clear();
  dirty_instructions_.clear();
  revaluation_writes_.clear();
  dedupe_writes_.clear();
  dedupe_keys_.clear();
  rejects_.clear();
  deadline_writes_.clear();
  watermarks_dirty_ = false;
  business_writes_.clear();
  batch_records_ = 0;
  ++stats_.batches;
}

Status Folder::Impl::start(uint32_t n) {
  auto recorded = store_.recorded_partitions();
  if (!recorded) return recorded.error();
  if (*recorded != 0 && *recorded != n) {
    return make_error(Code::kInvalidArgument,
                      fmt::format("projections were folded from a log with {} partitions; this "
                                  "log has {} (run `payledger rebuild`)",
                                  *recorded, n));
  }
  record_partitions_ = *recorded == 0;
  if (!options_.log_identity.empty()) {
    auto identity = store_.recorded_log_identity();
    if (!identity) return identity.error();
    if (!identity->empty() && *identity != options_.log_identity) {
      return make_error(Code::kInvalidArgument,
                        fmt::format("these projections fold log '{}', not '{}': use another "
                                    "--data directory, or `payledger rebuild` to refold",
                                    *identity, options_.log_identity));
    }
    record_identity_ = identity->empty();
  }
  auto ends = store_.load_log_ends(n);
  if (!ends) return ends.error();
  log_ends_ = std::move(ends).value();
  auto offsets = store_.load_offsets(n);
  if (!offsets) return offsets.error();
  offsets_.assign(n, 0);
  owned_.assign(n, false);
  for (uint32_t p = 0; p < n; ++p) {
    owned_[p] = (*offsets)[p].has_value();
    offsets_[p] = (*offsets)[p].value_or(0);
  }
  committed_ = offsets_;
  last_records_.assign(n, std::nullopt);
  seen_.resize(n);
  business_ids_.resize(n);
  // Ids applied by earlier runs are on disk only; memory fills with this run's ids.
  seen_partial_ = owned_;
  filter_covers_.assign(n, false);
  for (uint32_t p = 0; p < n; ++p) filter_covers_[p] = !owned_[p];
  seen_per_partition_max_ = std::max<size_t>(options_.dedupe_memory_ids_max / n, 1);
  unwritten_ids_.assign(n, 0);
  writing_ids_.assign(n, 0);
  if (options_.write_behind) {
    writer_ = std::make_unique<BatchWriter>(store_, options_.write_behind_when_waited);
  }
  if (Status s = load_caches(); !s) return s;
  return load_clock();
}

Status Folder::Impl::fold_record(const LogRecord& rec) {
  prepare_record(rec, static_cast<uint32_t>(offsets_.size()), &prepared_);
  return fold_prepared(prepared_);
}

Status Folder::Impl::fold_prepared(const PreparedRecord& p) {
  const LogRecord& rec = p.rec;
  if (rec.partition >= offsets_.size()) {
    return make_error(Code::kInvalidArgument,
                      fmt::format("record of partition {}; the log has {}", rec.partition,
                                  offsets_.size()));
  }
  // Offsets only move forward (Kafka may skip some: transaction markers, aborted records).
  PAYLEDGER_CHECK(rec.offset >= offsets_[rec.partition],
                  fmt::format("partition {} offset {} is behind the next offset {}", rec.partition,
                              rec.offset, offsets_[rec.partition]));
  partition_ = rec.partition;
  if (Status s = process(p); !s) return s;
  chain_step(&chains_[rec.partition], p.digest);  // applied, parked or a duplicate alike
  chains_dirty_[rec.partition] = true;
  if (options_.on_chained) options_.on_chained(rec.partition, rec.offset + 1, chains_[rec.partition]);
  offsets_[rec.partition] = rec.offset + 1;
  owned_[rec.partition] = true;
  offsets_dirty_ = true;
  ++stats_.records;
  if (++batch_records_ >= options_.batch_events_max) return commit(/*wait=*/false);
  return Status::Ok();
}

Folder::Folder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Folder::~Folder() = default;

Result<std::unique_ptr<Folder>> Folder::open(Store& store, uint32_t partitions,
                                             const FoldOptions& options) {
  auto impl = std::make_unique<Impl>(store, options);
  if (Status s = impl->start(partitions); !s) return s.error();
  return std::unique_ptr<Folder>(new Folder(std::move(impl)));
}

uint64_t Folder::next_offset(uint32_t partition) const { return impl_->offsets_[partition]; }
bool Folder::has_state(uint32_t partition) const { return impl_->owned_[partition]; }
size_t Folder::uncommitted() const { return impl_->batch_records_; }
// A failed fold_record or commit leaves in-memory state that no longer matches the store (a
// commit clears each batch's entry lines as it builds the WriteBatch): the folder refuses
// every later call with the first error, so a retry (e.g. a Kafka revoke after a failed final
// commit) can never write a half-built batch. The stored state stays whole.
Status Folder::fold_record(const events::LogRecord& rec) {
  if (!broken_.ok()) return broken_;
  Status s = impl_->fold_record(rec);
  return s.ok() ? s : fail(s);
}
Status Folder::fold_prepared(const PreparedRecord& p) {
  if (!broken_.ok()) return broken_;
  Status s = impl_->fold_prepared(p);
  return s.ok() ? s : fail(s);
}
// A batch the writer thread still holds is written whole anyway; its failure is added to the
// error instead of being dropped unreported behind it.
Status Folder::fail(Status error) {
  PAYLEDGER_CHECK(!error.ok(), "fail() needs an error");
  if (!broken_.ok()) return broken_;
  if (Status writing = impl_->settle(); !writing.ok()) {
    error = make_error(error.error().code,
                       fmt::format("{} (and the batch being written when it happened failed: {})",
                                   error.error().reason, writing.error().reason));
  }
  broken_ = error;
  return error;
}
bool Folder::writing() const { return impl_->writing(); }
void Folder::note_log_end(uint32_t partition, uint64_t end_offset) {
  PAYLEDGER_CHECK(partition < impl_->log_ends_.size());
  std::optional<uint64_t>& noted = impl_->log_ends_[partition];
  if (noted && end_offset <= *noted) return;  // an empty partition's end 0 is noted too
  noted = end_offset;
  impl_->log_ends_dirty_ = true;
}
void Folder::note_last_record(const events::LogRecord& rec) {
  PAYLEDGER_CHECK(rec.partition < impl_->last_records_.size());
  impl_->last_records_[rec.partition] = FoldedRecord{rec.offset, record_fingerprint(rec)};
  impl_->last_records_dirty_ = true;
}
void Folder::advance_to(uint32_t partition, uint64_t next_offset) {
  impl_->advance_to(partition, next_offset);
}
Status Folder::commit() {
  if (!broken_.ok()) return broken_;
  Status s = impl_->batch_records_ == 0 && !impl_->pending_meta() ? impl_->settle()
                                                                  : impl_->commit(/*wait=*/true);
  return s.ok() ? s : fail(s);
}
const FoldStats& Folder::stats() const { return impl_->stats_; }
size_t Folder::dedupe_ids_in_memory() const {
  return impl_->dedupe_ids_in_memory();
}

uint64_t record_fingerprint(const events::LogRecord& rec) {
  uint64_t h = 14695981039346656037ull;
  auto mix = [&](std::string_view bytes) {
    for (unsigned char c : bytes) {
      h ^= c;
      h *= 1099511628211ull;
    }
  };
  char format = static_cast<char>(rec.format);
  mix(std::string_view(&format, 1));
  mix(be64_string(rec.key.size()));
  mix(rec.key);
  mix(rec.value);
  return h;
}

namespace {

// The log still holds what the store folded from partition p: it reaches the stored offset
// and the last folded record is still the same record. Otherwise new appends would reuse
// offsets the books already hold and be skipped silently.
Status check_partition_holds_folded(Store& store, events::EventLog& log, uint32_t p,
                                    std::optional<uint64_t> next, uint64_t end,
                                    const std::optional<FoldedRecord>& last,
                                    events::ReadBatch* batch) {
  auto refuse = [&](std::string what) {
    return make_error(Code::kCorrupt,
                      fmt::format("partition {}: the projections in {} are folded to offset {} "
                                  "but {} (the log ends at offset {}): the log lost records "
                                  "these books hold (restored from an older backup?). Restore "
                                  "the log, or run `payledger rebuild` to refold the books from "
                                  "the log as it is",
                                  p, store.dir(), next.value_or(0), what, end));
  };
  if (next && *next > end) return refuse("the log is shorter");
  if (!last) return Status::Ok();
  if (last->offset >= end) {
    return refuse(fmt::format("the log no longer holds offset {} they folded", last->offset));
  }
  if (Status s = log.read(p, last->offset, 1, batch); !s) return s;
  PAYLEDGER_CHECK(!batch->records.empty() && batch->records[0].offset == last->offset);
  if (record_fingerprint(batch->records[0]) != last->fingerprint) {
    return refuse(fmt::format("the record at offset {} is not the one they folded there: the "
                              "log was replaced, or cut and appended to again",
                              last->offset));
  }
  return Status::Ok();
}

}  // namespace

Status check_log_holds_folded(Store& store, events::EventLog& log) {
  const uint32_t n = log.partition_count();
  auto offsets = store.load_offsets(n);
  if (!offsets) return offsets.error();
  auto last = store.load_last_records(n);
  if (!last) return last.error();
  events::ReadBatch batch;
  for (uint32_t p = 0; p < n; ++p) {
    auto end = log.end_offset(p);
    if (!end) return end.error();
    Status s = check_partition_holds_folded(store, log, p, (*offsets)[p], *end, (*last)[p], &batch);
    if (!s) return s;
  }
  return Status::Ok();
}

namespace {

// Reads the log on a thread of its own, in the order fold() reads it (partitions round robin,
// read_records_max records per read, until a round reads nothing), and prepares every record
// (prepare_record) while the fold applies the chunks before it (FoldOptions::read_ahead).
class ReadAhead {
 public:
  struct Chunk {
    events::ReadBatch batch;
    std::vector<PreparedRecord> prepared;  // reused: their Envelopes keep their allocations
    Status status;                          // a failed read: the fold stops here
  };

  ReadAhead(events::EventLog& log, std::vector<uint64_t> next, const FoldOptions& options)
      : log_(log), next_(std::move(next)), options_(options), chunks_(kChunks) {
    for (auto& c : chunks_) free_.push_back(&c);
    thread_ = std::thread([this] { run(); });
  }
  ~ReadAhead() {
    {
      std::lock_guard lock(mu_);
      quit_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  // The next chunk in log order, or nullptr once the reads are done.
  Chunk* next() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !ready_.empty() || done_; });
    if (ready_.empty()) return nullptr;
    Chunk* c = ready_.front();
    ready_.pop_front();
    return c;
  }
  void release(Chunk* c) {
    {
      std::lock_guard lock(mu_);
      free_.push_back(c);
    }
    cv_.notify_all();
  }

 private:
  static constexpr size_t kChunks = 4;

  Chunk* take_free() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !free_.empty() || quit_; });
    if (quit_) return nullptr;
    Chunk* c = free_.back();
    free_.pop_back();
    return c;
  }
  void hand_over(Chunk* c) {
    {
      std::lock_guard lock(mu_);
      ready_.push_back(c);
    }
    cv_.notify_all();
  }
  bool stopped() const { return options_.stop != nullptr && options_.stop->load(); }
  // false: stop reading (a failed read, or quit).
  bool read_one(uint32_t p, uint64_t* read, bool* any) {
    size_t want = options_.read_records_max;
    if (options_.records_max != 0) want = std::min<uint64_t>(want, options_.records_max - *read);
    Chunk* c = take_free();
    if (c == nullptr) return false;
    c->status = log_.read(p, next_[p], want, &c->batch);
    const auto& records = c->batch.records;
    if (c->status.ok()) {
      if (c->prepared.size() < records.size()) c->prepared.resize(records.size());
      const auto n = static_cast<uint32_t>(next_.size());
      for (size_t i = 0; i < records.size(); ++i) prepare_record(records[i], n, &c->prepared[i]);
      if (!records.empty()) next_[p] = records.back().offset + 1;
      *read += records.size();
      *any = *any || !records.empty();
    }
    const bool ok = c->status.ok();
    hand_over(c);
    return ok;
  }
  void run() {
    pthread_setname_np(pthread_self(), "fold-read");  // for top -H and perf
    uint64_t read = 0;
    bool more = true, limit_hit = false;
    while (more && !limit_hit && !stopped()) {
      more = false;
      for (uint32_t p = 0; p < next_.size() && !limit_hit && !stopped(); ++p) {
        if (!read_one(p, &read, &more)) {
          more = false;
          break;
        }
        limit_hit = options_.records_max != 0 && read >= options_.records_max;
      }
    }
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
  }

  events::EventLog& log_;
  std::vector<uint64_t> next_;  // per partition, the next offset to read
  const FoldOptions& options_;
  std::vector<Chunk> chunks_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Chunk*> free_;
  std::deque<Chunk*> ready_;
  bool done_ = false;  // the reader has handed over its last chunk
  bool quit_ = false;  // the fold no longer wants chunks
  std::thread thread_;
};

// The records of one read, folded in order. The record a commit stores as its partition's last
// is the last of the read, or one whose fold fills the batch (fold_record then commits).
template <typename Fold>
Status fold_read(Folder& folder, const std::vector<LogRecord>& records, size_t batch_max,
                 Fold&& fold_one) {
  for (size_t i = 0; i < records.size(); ++i) {
    if (i + 1 == records.size() || folder.uncommitted() + 1 >= batch_max) {
      folder.note_last_record(records[i]);
    }
    if (Status s = fold_one(i); !s) return s;
  }
  return Status::Ok();
}

// fold()'s loop with FoldOptions::read_ahead: the reads and per-record checks on the reader
// thread, the rest here.
Status fold_read_ahead(Folder& folder, events::EventLog& log, const FoldOptions& options,
                       FoldProgress& progress) {
  std::vector<uint64_t> next(log.partition_count());
  for (uint32_t p = 0; p < next.size(); ++p) next[p] = folder.next_offset(p);
  ReadAhead reader(log, std::move(next), options);
  while (ReadAhead::Chunk* c = reader.next()) {
    if (options.stop != nullptr && options.stop->load()) break;
    if (!c->status) return c->status;
    Status s = fold_read(folder, c->batch.records, options.batch_events_max,
                         [&](size_t i) { return folder.fold_prepared(c->prepared[i]); });
    if (!s) return s;
    reader.release(c);
    progress.events_done = folder.stats().records;
    if (options.on_progress) options.on_progress(progress);
  }
  return Status::Ok();
}

// fold()'s loop on one thread.
Status fold_in_turn(Folder& folder, events::EventLog& log, const FoldOptions& options,
                    FoldProgress& progress) {
  const uint32_t n = log.partition_count();
  events::ReadBatch batch;
  bool more = true;
  bool limit_hit = false;
  auto stopped = [&] { return options.stop != nullptr && options.stop->load(); };
  while (more && !limit_hit && !stopped()) {
    more = false;
    for (uint32_t p = 0; p < n && !limit_hit && !stopped(); ++p) {
      size_t want = options.read_records_max;
      if (options.records_max != 0) {
        want = std::min<uint64_t>(want, options.records_max - folder.stats().records);
      }
      if (Status s = log.read(p, folder.next_offset(p), want, &batch); !s) return s;
      Status s = fold_read(folder, batch.records, options.batch_events_max,
                           [&](size_t i) { return folder.fold_record(batch.records[i]); });
      if (!s) return s;
      more = more || !batch.records.empty();
      limit_hit = options.records_max != 0 && folder.stats().records >= options.records_max;
      progress.events_done = folder.stats().records;
      if (options.on_progress) options.on_progress(progress);
    }
  }
  return Status::Ok();
}

}  // namespace

Result<FoldStats> fold(Store& store, events::EventLog& log, const FoldOptions& options) {
  auto opened = Folder::open(store, log.partition_count(), options);
  if (!opened) return opened.error();
  Folder& folder = **opened;
  uint32_t n = log.partition_count();
  auto last = store.load_last_records(n);
  if (!last) return last.error();
  events::ReadBatch batch;
  FoldProgress progress;
  for (uint32_t p = 0; p < n; ++p) {
    auto end = log.end_offset(p);
    if (!end) return end.error();
    std::optional<uint64_t> next;
    if (folder.has_state(p)) next = folder.next_offset(p);
    if (Status s = check_partition_holds_folded(store, log, p, next, *end, (*last)[p], &batch);
        !s) {
      return s.error();
    }
    folder.note_log_end(p, *end);
    if (*end > folder.next_offset(p)) progress.events_total += *end - folder.next_offset(p);
  }
  Status folded = options.read_ahead ? fold_read_ahead(folder, log, options, progress)
                                     : fold_in_turn(folder, log, options, progress);
  if (!folded) return folder.fail(folded).error();
  if (Status s = folder.commit(); !s) return s.error();
  return folder.stats();
}

}  // namespace payledger::projections
