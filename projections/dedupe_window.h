// The in-memory part of one partition's idempotency index (docs/architecture.md,
// "Idempotency policy"): the most recently applied dedupe keys (merchant \0 event_id) with
// their content fingerprints, oldest first. Exact: a key is found only if it was pushed and
// not yet popped; hashes only narrow the search.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "projections/records.h"

namespace payledger::projections {

// A ring of entries (FIFO) plus an open-addressing index (linear probing, at most half
// full) of 64-bit key hashes. A lookup reads one flat probe run and compares a key only when
// the hashes match; popping the oldest entry needs no search by key. Once the ring has grown,
// pushes reuse the slots' key buffers: no allocation per event. (It replaced a node-based
// unordered_map + deque whose three cache misses per lookup and per trim were ~6% of a fold.)
class DedupeWindow {
 public:
  // The hash find/push use for `key` (callers that also need it compute it once).
  static uint64_t hash_of(std::string_view key);
  // The fingerprint stored for `key` (whose hash_of is `hash`), or nullptr if not held.
  const Fingerprint* find(std::string_view key, uint64_t hash) const;
  const Fingerprint* find(std::string_view key) const { return find(key, hash_of(key)); }
  // Adds `key` as the newest entry. Requires (PAYLEDGER_CHECK) that it is not held already.
  void push(std::string_view key, uint64_t hash, const Fingerprint& fingerprint);
  void push(std::string_view key, const Fingerprint& fingerprint) {
    push(key, hash_of(key), fingerprint);
  }
  // Drops the oldest entry. Requires a non-empty window.
  void pop_oldest();
  size_t size() const { return size_; }
  // Calls fn(hash) for every entry held.
  template <typename Fn>
  void for_each_hash(Fn&& fn) const {
    for (size_t k = 0; k < size_; ++k) fn(ring_[(head_ + k) & (ring_.size() - 1)].hash);
  }

 private:
  // Keys of up to kInlineKey bytes (every generated merchant \0 event id) are held in the
  // entry itself: no heap string per id, so dropping a window of 262k ids frees one array
  // instead of 262k strings. Longer keys spill into `long_key`.
  static constexpr size_t kInlineKey = 40;
  struct Entry {
    std::string_view key() const {
      return size <= kInlineKey ? std::string_view(inline_key, size) : std::string_view(long_key);
    }
    void set_key(std::string_view k);
    Fingerprint fingerprint;
    uint64_t hash = 0;
    uint32_t size = 0;
    char inline_key[kInlineKey];
    std::string long_key;
  };
  // One index slot: the low 32 bits of the key's hash (its home slot and a quick reject) and
  // the entry's ring position + 1 (0 = empty).
  struct Slot {
    uint32_t hash_lo = 0;
    uint32_t position_1 = 0;
  };
  // Doubles the ring (oldest entry to position 0) and rebuilds the index at twice its size.
  void grow();
  void index_insert(uint64_t hash, uint32_t position, std::string_view key);

  std::vector<Entry> ring_;  // capacity a power of two
  size_t head_ = 0;          // position of the oldest entry
  size_t size_ = 0;
  std::vector<Slot> index_;  // size a power of two, 2 x ring_.size()
};

// A Bloom filter of fixed size over the ids a fold applied (their DedupeWindow::hash_of, mixed
// with the partition): lets an id that left the window, and that the filter has never seen, be
// known new without a RocksDB probe. Blocked (one 64-byte block per id, 6 bits in it): one
// cache line per lookup. "Maybe" answers stay exact by probing the store. Its memory is fixed
// (FoldOptions::dedupe_filter_bytes) whatever the history: past ~10 bits per id its false
// positives grow and so do the probes, never the memory.
class IdFilter {
 public:
  // `bytes` rounded down to a power-of-two number of 64-byte blocks, at least one block.
  explicit IdFilter(size_t bytes);
  void add(uint32_t partition, uint64_t hash);
  bool may_contain(uint32_t partition, uint64_t hash) const;
  size_t bytes() const { return blocks_ * sizeof(Block); }

 private:
  struct Block {
    uint64_t words[8];
  };
  struct FreeBlocks {
    void operator()(Block* b) const;
  };
  static uint64_t mix(uint32_t partition, uint64_t hash);
  size_t blocks_ = 0;  // a power of two
  std::unique_ptr<Block[], FreeBlocks> bits_;  // calloc'd: pages are zeroed as first touched
};

}  // namespace payledger::projections
