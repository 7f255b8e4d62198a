// Storage of the fold's caches (issue 9, "per-event path"): keys of the flat maps live in a
// key arena and dedupe-window keys inline in their ring entries, so that dropping the caches
// frees a few blocks. The maps must stay exact across arena blocks and for keys of every
// length: empty, inline, longer than the inline room, longer than an arena block.
#include <deque>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "projections/dedupe_window.h"
#include "projections/flat_string_map.h"

namespace payledger::projections {
namespace {

// Key n: empty for 0, else n % 300 filler bytes and "/n" (distinct lengths 2..306, across
// the 40-byte inline room), plus one 300 KiB key (over a 256 KiB arena block).
std::string key(uint64_t n) {
  if (n == 0) return "";
  if (n == 777) return std::string(300 << 10, 'k') + std::to_string(n);
  return std::string(n % 300, static_cast<char>('a' + n % 26)) + fmt::format("/{}", n);
}

TEST(FoldCachesStorage, FlatMapKeysSpanArenaBlocksAndStayValidAndExact) {
  FlatStringMap<uint64_t> map;
  std::deque<FlatStringMap<uint64_t>::Node*> nodes;
  const uint64_t n = 20000;  // ~3 MB of keys: a dozen arena blocks
  for (uint64_t i = 0; i < n; ++i) {
    auto [node, inserted] = map.try_emplace(key(i), i);
    ASSERT_TRUE(inserted) << i;
    nodes.push_back(node);
  }
  for (uint64_t i = 0; i < n; ++i) {
    auto* found = map.find(key(i));
    ASSERT_NE(found, nullptr) << i;
    EXPECT_EQ(found, nodes[i]);
    EXPECT_EQ(found->key, key(i));  // the view still points at the right bytes
    EXPECT_EQ(found->value, i);
  }
  EXPECT_EQ(map.find("not a key"), nullptr);
  map.clear();
  EXPECT_EQ(map.find(key(1)), nullptr);
  auto [node, inserted] = map.try_emplace(key(1), 5);  // usable again after clear
  EXPECT_TRUE(inserted);
  EXPECT_EQ(node->key, key(1));
}

TEST(FoldCachesStorage, DedupeWindowHoldsShortAndLongKeysExactly) {
  DedupeWindow w;
  const uint64_t n = 6000;  // grows the ring, then pops the oldest half
  auto fp = [](uint64_t i) { return Fingerprint{i, ~i}; };
  for (uint64_t i = 1; i < n; ++i) w.push(key(i), fp(i));
  w.push(key(0), fp(0));  // the empty key
  for (uint64_t i = 1; i < n / 2; ++i) w.pop_oldest();
  for (uint64_t i = 1; i < n; ++i) {
    const Fingerprint* f = w.find(key(i));
    if (i < n / 2) {
      EXPECT_EQ(f, nullptr) << i;
    } else {
      ASSERT_NE(f, nullptr) << i;
      EXPECT_EQ(*f, fp(i));
    }
  }
  ASSERT_NE(w.find(key(0)), nullptr);
  // A long key popped and a short one pushed into its entry (and the reverse): both exact.
  for (uint64_t i = n; i < n + 3000; ++i) {
    w.pop_oldest();
    w.push(key(i), fp(i));
  }
  for (uint64_t i = n; i < n + 3000; ++i) ASSERT_NE(w.find(key(i)), nullptr) << i;
  EXPECT_EQ(w.find(key(n / 2)), nullptr);
}

}  // namespace
}  // namespace payledger::projections
