// DedupeWindow (projections/dedupe_window.h): the fold's in-memory idempotency window must be
// exact — a held key is always found with its fingerprint, a popped or never-pushed key never
// is — through ring growth, wrap-around and index deletions.
#include "projections/dedupe_window.h"

#include <deque>
#include <random>
#include <string>
#include <unordered_map>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace payledger::projections {
namespace {

Fingerprint fp(uint64_t n) { return Fingerprint{n, ~n}; }
// merchant \0 event_id, as the fold builds it.
std::string key(uint64_t n) {
  return fmt::format("m{:05}", n % 500) + '\0' + fmt::format("evt-{:010}", n);
}

TEST(DedupeWindowIndex, FindsEveryHeldKeyWithItsFingerprintAcrossGrowth) {
  DedupeWindow w;
  for (uint64_t n = 0; n < 5000; ++n) w.push(key(n), fp(n));  // grows 1024 -> 8192
  ASSERT_EQ(w.size(), 5000u);
  for (uint64_t n = 0; n < 5000; ++n) {
    const Fingerprint* f = w.find(key(n));
    ASSERT_NE(f, nullptr) << n;
    EXPECT_EQ(*f, fp(n));
  }
  EXPECT_EQ(w.find(key(5000)), nullptr);
  EXPECT_EQ(w.find(""), nullptr);
}

TEST(DedupeWindowIndex, PoppedKeysAreForgottenOldestFirst) {
  DedupeWindow w;
  for (uint64_t n = 0; n < 3000; ++n) w.push(key(n), fp(n));
  for (int i = 0; i < 1000; ++i) w.pop_oldest();
  EXPECT_EQ(w.size(), 2000u);
  for (uint64_t n = 0; n < 1000; ++n) EXPECT_EQ(w.find(key(n)), nullptr) << n;
  for (uint64_t n = 1000; n < 3000; ++n) EXPECT_NE(w.find(key(n)), nullptr) << n;
}

TEST(DedupeWindowIndex, KeysSharingAPrefixAreDistinct) {
  DedupeWindow w;
  w.push(std::string("m1\0e1", 5), fp(1));
  EXPECT_EQ(w.find(std::string("m1\0e10", 6)), nullptr);
  EXPECT_EQ(w.find(std::string("m1\0e", 4)), nullptr);
  EXPECT_EQ(w.find("m1"), nullptr);
  w.push(std::string("m1\0e10", 6), fp(10));
  EXPECT_EQ(*w.find(std::string("m1\0e1", 5)), fp(1));
  EXPECT_EQ(*w.find(std::string("m1\0e10", 6)), fp(10));
}

// Model check against unordered_map + deque (what the fold used before): a sliding window
// that wraps the ring many times, grows and shrinks, with random ids and lookups of held,
// popped and never-seen ids.
TEST(DedupeWindowIndex, MatchesAMapAndQueueModel) {
  std::mt19937_64 rng(20261128);
  DedupeWindow w;
  std::unordered_map<std::string, Fingerprint> model;
  std::deque<std::string> order;
  uint64_t next = 0;
  for (int step = 0; step < 200000; ++step) {
    const uint64_t r = rng() % 100;
    const size_t cap = step < 100000 ? 700 : 3000;  // the window grows after half the run
    if (r < 55) {
      std::string k = fmt::format("m{}", rng() % 50) + '\0' + fmt::format("{:x}", rng());
      if (model.count(k) != 0) continue;
      w.push(k, fp(next));
      model.emplace(k, fp(next++));
      order.push_back(std::move(k));
    } else if (r < 80 && !order.empty() && order.size() > cap / 2) {
      w.pop_oldest();
      model.erase(order.front());
      order.pop_front();
    } else if (!order.empty()) {
      const std::string& k = r < 90 ? order[rng() % order.size()] : order.front();
      const Fingerprint* f = w.find(k);
      ASSERT_NE(f, nullptr) << "step " << step;
      ASSERT_EQ(*f, model.at(k));
    }
    while (order.size() > cap) {
      const std::string gone = order.front();
      w.pop_oldest();
      model.erase(gone);
      order.pop_front();
      ASSERT_EQ(w.find(gone), nullptr) << "step " << step;
    }
    ASSERT_EQ(w.size(), order.size());
  }
}

TEST(DedupeWindowIndex, PushingAHeldKeyIsABug) {
  DedupeWindow w;
  w.push(key(1), fp(1));
  EXPECT_DEATH(w.push(key(1), fp(2)), "an event id was applied twice");
}

}  // namespace
}  // namespace payledger::projections
