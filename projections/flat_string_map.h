// A string-keyed map for the fold's caches (payments, balances, checkouts): open addressing
// over a flat array of (64-bit hash, node index) slots, nodes in a deque so their addresses
// stay put (the fold keeps pointers to dirty nodes until the commit). A lookup touches one
// slot line and, only on a full hash match, the node; std::unordered_map walks a bucket
// array, the node before the match and the node (docs/architecture.md, "Fold performance").
// No erase: the caches only grow, or are dropped whole with clear().
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
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
    std::string key;
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
    nodes_.push_back(Node{std::string(key), std::move(value)});
    slots_[i] = Slot{h, static_cast<uint32_t>(nodes_.size())};
    return {&nodes_.back(), true};
  }

  size_t size() const { return nodes_.size(); }
  void clear() {
    nodes_.clear();
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

  std::vector<Slot> slots_;  // power-of-two size, at most half full
  size_t mask_ = 0;
  std::deque<Node> nodes_;
};

}  // namespace payledger::projections
