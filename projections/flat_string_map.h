// A string-keyed map for the fold's caches (payments, balances, checkouts): open addressing
// over a flat array of (64-bit hash, node index) slots, nodes in a deque so their addresses
// stay put (the fold keeps pointers to dirty nodes until the commit). A lookup touches one
// slot line and, only on a full hash match, the node; std::unordered_map walks a bucket
// array, the node before the match and the node (docs/architecture.md, "Fold performance").
// No erase: the caches only grow, or are dropped whole with clear().
// Keys live in an arena of large blocks, not one heap string each: an insert allocates
// nothing for its key, and dropping the map (clear(), or the fold's exit) frees a few blocks
// instead of one allocation per key (destroying the caches was ~6% of a 500k-event fold).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "events/schema/check.h"

namespace payledger::projections {

template <typename V>
class FlatStringMap {
 public:
  struct Node {
    std::string_view key;  // in the map's key arena: valid until clear() or destruction
    V value;
  };

  // The node holding `key`, or nullptr.
  Node* find(std::string_view key) const {
    if (slots_.empty()) return nullptr;
    const uint64_t h = hash_of(key);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.node == 0) return nullptr;
      if (s.hash == h) {
        Node& n = const_cast<Node&>(nodes_[s.node - 1]);
        if (n.key == key) return &n;
      }
    }
  }

  // Inserts key -> value unless the key is present; returns its node and whether it was
  // inserted (a present key keeps its value).
  std::pair<Node*, bool> try_emplace(std::string_view key, V value) {
    if ((nodes_.size() + 1) * 2 > slots_.size()) grow();
    const uint64_t h = hash_of(key);
    size_t i = h & mask_;
    for (;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.node == 0) break;
      if (s.hash == h && nodes_[s.node - 1].key == key) return {&nodes_[s.node - 1], false};
    }
    PAYLEDGER_CHECK(nodes_.size() < UINT32_MAX - 1, "flat map full");
    nodes_.push_back(Node{store_key(key), std::move(value)});
    slots_[i] = Slot{h, static_cast<uint32_t>(nodes_.size())};
    return {&nodes_.back(), true};
  }

  size_t size() const { return nodes_.size(); }
  void clear() {
    nodes_.clear();
    blocks_.clear();
    block_used_ = block_size_ = 0;
    slots_.clear();
    slots_.shrink_to_fit();
    mask_ = 0;
  }

 private:
  struct Slot {
    uint64_t hash = 0;
    uint32_t node = 0;  // index into nodes_ + 1; 0 = empty
  };
  static uint64_t hash_of(std::string_view key) { return std::hash<std::string_view>{}(key); }
  void grow() {
    std::vector<Slot> old = std::move(slots_);
    const size_t n = old.empty() ? 64 : old.size() * 2;
    slots_.assign(n, Slot{});
    mask_ = n - 1;
    for (const Slot& s : old) {
      if (s.node == 0) continue;
      size_t i = s.hash & mask_;
      while (slots_[i].node != 0) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }

  // Copies `key` into the arena (a new block when the current one is full).
  std::string_view store_key(std::string_view key) {
    if (key.empty()) return {};
    if (block_size_ - block_used_ < key.size()) {
      block_size_ = std::max(kBlockBytes, key.size());
      blocks_.push_back(std::make_unique_for_overwrite<char[]>(block_size_));
      block_used_ = 0;
    }
    char* at = blocks_.back().get() + block_used_;
    std::memcpy(at, key.data(), key.size());
    block_used_ += key.size();
    return std::string_view(at, key.size());
  }

  static constexpr size_t kBlockBytes = size_t{256} << 10;
  std::vector<std::unique_ptr<char[]>> blocks_;  // the key arena
  size_t block_used_ = 0;
  size_t block_size_ = 0;
  std::vector<Slot> slots_;  // power-of-two size, at most half full
  size_t mask_ = 0;
  std::deque<Node> nodes_;
};

}  // namespace payledger::projections
