#include "projections/dedupe_window.h"

#include <cstdlib>
#include <cstring>
#include <functional>
#include <utility>

#include "events/schema/check.h"

namespace payledger::projections {
namespace {

// First ring capacity; the index has twice as many slots.
constexpr size_t kRingInitial = 1024;
// Ring positions are stored + 1 in 32 bits.
constexpr size_t kRingMax = size_t{1} << 31;

}  // namespace

void DedupeWindow::Entry::set_key(std::string_view k) {
  size = static_cast<uint32_t>(k.size());
  if (k.size() <= kInlineKey) {
    if (!k.empty()) std::memcpy(inline_key, k.data(), k.size());
    if (!long_key.empty()) std::string().swap(long_key);
  } else {
    long_key.assign(k);
  }
}

uint64_t DedupeWindow::hash_of(std::string_view key) { return std::hash<std::string_view>{}(key); }

const Fingerprint* DedupeWindow::find(std::string_view key, uint64_t h) const {
  if (size_ == 0) return nullptr;
  const size_t mask = index_.size() - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    const Slot& slot = index_[i];
    if (slot.position_1 == 0) return nullptr;
    if (slot.hash_lo != static_cast<uint32_t>(h)) continue;
    const Entry& e = ring_[slot.position_1 - 1];
    if (e.hash == h && e.key() == key) return &e.fingerprint;
  }
}

void DedupeWindow::index_insert(uint64_t hash, uint32_t position, std::string_view key) {
  const size_t mask = index_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    Slot& slot = index_[i];
    if (slot.position_1 == 0) {
      slot = Slot{static_cast<uint32_t>(hash), position + 1};
      return;
    }
    if (slot.hash_lo == static_cast<uint32_t>(hash)) {
      const Entry& e = ring_[slot.position_1 - 1];
      PAYLEDGER_CHECK(e.hash != hash || e.key() != key, "an event id was applied twice");
    }
  }
}

void DedupeWindow::push(std::string_view key, uint64_t h, const Fingerprint& fingerprint) {
  if (size_ == ring_.size()) grow();
  const size_t position = (head_ + size_) & (ring_.size() - 1);
  index_insert(h, static_cast<uint32_t>(position), key);  // checks the key is new
  Entry& e = ring_[position];
  e.set_key(key);  // no allocation unless the key is longer than kInlineKey
  e.fingerprint = fingerprint;
  e.hash = h;
  ++size_;
}

void DedupeWindow::pop_oldest() {
  PAYLEDGER_CHECK(size_ != 0, "pop from an empty dedupe window");
  const size_t mask = index_.size() - 1;
  const uint32_t position_1 = static_cast<uint32_t>(head_ + 1);
  size_t i = ring_[head_].hash & mask;
  while (index_[i].position_1 != position_1) {
    PAYLEDGER_CHECK(index_[i].position_1 != 0, "dedupe window index lost an entry");
    i = (i + 1) & mask;
  }
  // Backward-shift deletion (Knuth 6.4, algorithm R): move later members of the probe run
  // into the hole unless that would put them before their home slot.
  for (size_t j = (i + 1) & mask; index_[j].position_1 != 0; j = (j + 1) & mask) {
    const size_t home = index_[j].hash_lo & mask;
    const bool home_in_hole_to_j = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (home_in_hole_to_j) continue;
    index_[i] = index_[j];
    i = j;
  }
  index_[i] = Slot{};
  head_ = (head_ + 1) & (ring_.size() - 1);
  --size_;
}

void DedupeWindow::grow() {
  const size_t capacity = ring_.empty() ? kRingInitial : ring_.size() * 2;
  PAYLEDGER_CHECK(capacity <= kRingMax, "dedupe window above 2^31 ids");
  std::vector<Entry> ring(capacity);
  for (size_t k = 0; k < size_; ++k) ring[k] = std::move(ring_[(head_ + k) & (ring_.size() - 1)]);
  ring_ = std::move(ring);
  head_ = 0;
  index_.assign(capacity * 2, Slot{});
  for (size_t k = 0; k < size_; ++k) {
    index_insert(ring_[k].hash, static_cast<uint32_t>(k), ring_[k].key());
  }
}

IdFilter::IdFilter(size_t bytes) {
  blocks_ = 1;
  while (blocks_ * 2 * sizeof(Block) <= bytes) blocks_ *= 2;
  bits_.reset(static_cast<Block*>(std::calloc(blocks_, sizeof(Block))));
  PAYLEDGER_CHECK(bits_ != nullptr, "out of memory for the dedupe filter");
}

void IdFilter::FreeBlocks::operator()(Block* b) const { std::free(b); }

uint64_t IdFilter::mix(uint32_t partition, uint64_t hash) {
  // splitmix64's finaliser over the id's hash and its partition: well-spread bits; the block
  // comes from a second mix (~partition) so that it is independent of the six bit positions.
  uint64_t z = hash ^ (uint64_t{partition} * 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void IdFilter::add(uint32_t partition, uint64_t hash) {
  const uint64_t z = mix(partition, hash);
  Block& b = bits_[mix(~partition, hash) & (blocks_ - 1)];
  for (int i = 0; i < 6; ++i) {
    const uint64_t bit = (z >> (9 * i)) & 511;
    b.words[bit >> 6] |= uint64_t{1} << (bit & 63);
  }
}

bool IdFilter::may_contain(uint32_t partition, uint64_t hash) const {
  const uint64_t z = mix(partition, hash);
  const Block& b = bits_[mix(~partition, hash) & (blocks_ - 1)];
  for (int i = 0; i < 6; ++i) {
    const uint64_t bit = (z >> (9 * i)) & 511;
    if ((b.words[bit >> 6] & (uint64_t{1} << (bit & 63))) == 0) return false;
  }
  return true;
}

}  // namespace payledger::projections
