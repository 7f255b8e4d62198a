// FlatStringMap (projections/flat_string_map.h): the fold's payment, balance and checkout
// caches must be exact — every inserted key is found with its value and a never-inserted key
// never is — through growth, and node addresses must not move (the fold holds pointers to
// dirty nodes until the commit).
#include "projections/flat_string_map.h"

#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace payledger::projections {
namespace {

// partition | merchant \0 payment, as the fold builds payment keys (a \0 inside the key).
std::string key(int n) {
  return fmt::format("\x01m{:05}", n % 500) + '\0' + fmt::format("pay-{}", n);
}

TEST(FlatStringMap, EveryInsertedKeyIsFoundThroughGrowthAndNodesStayPut) {
  FlatStringMap<int> map;
  std::vector<FlatStringMap<int>::Node*> nodes;
  constexpr int kKeys = 100'000;  // grows the slot array 64 -> 262,144 slots
  for (int i = 0; i < kKeys; ++i) {
    auto [node, inserted] = map.try_emplace(key(i), i * 3);
    ASSERT_TRUE(inserted) << i;
    nodes.push_back(node);
  }
  EXPECT_EQ(map.size(), static_cast<size_t>(kKeys));
  for (int i = 0; i < kKeys; ++i) {
    FlatStringMap<int>::Node* found = map.find(key(i));
    ASSERT_EQ(found, nodes[i]) << i;  // same address as at insert, after every growth
    EXPECT_EQ(found->key, key(i));
    EXPECT_EQ(found->value, i * 3);
  }
  for (int i = kKeys; i < kKeys + 1000; ++i) EXPECT_EQ(map.find(key(i)), nullptr) << i;
  // A key that differs only after the \0 is another key.
  EXPECT_EQ(map.find(std::string("\x01m00001") + '\0'), nullptr);
}

TEST(FlatStringMap, APresentKeyKeepsItsValueOnASecondInsert) {
  FlatStringMap<std::string> map;
  auto first = map.try_emplace("a", std::string("one"));
  auto second = map.try_emplace("a", std::string("two"));
  EXPECT_TRUE(first.second);
  EXPECT_FALSE(second.second);
  EXPECT_EQ(first.first, second.first);
  EXPECT_EQ(map.find("a")->value, "one");
  EXPECT_EQ(map.size(), 1u);
}

TEST(FlatStringMap, ClearForgetsEveryKeyAndTheMapIsUsableAgain) {
  FlatStringMap<int> map;
  for (int i = 0; i < 1000; ++i) map.try_emplace(key(i), i);
  map.clear();
  EXPECT_EQ(map.size(), 0u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(map.find(key(i)), nullptr) << i;
  EXPECT_TRUE(map.try_emplace(key(7), 70).second);
  EXPECT_EQ(map.find(key(7))->value, 70);
  EXPECT_EQ(map.find(key(8)), nullptr);
}

}  // namespace
}  // namespace payledger::projections
