#include "projections/rate_book.h"

#include <fmt/format.h>

#include <algorithm>

namespace payledger::projections {

Result<const RateBook::Entry*> RateBook::at(uint32_t partition, const std::string& pair,
                                            int64_t at_s) {
  auto list = all(partition, pair);
  if (!list) return list.error();
  auto after = std::upper_bound((*list)->begin(), (*list)->end(), at_s,
                                [](int64_t t, const Entry& e) { return t < e.rate.as_of_s; });
  if (after == (*list)->begin()) return static_cast<const Entry*>(nullptr);
  return &*(after - 1);
}

Result<const std::vector<RateBook::Entry>*> RateBook::all(uint32_t partition,
                                                          const std::string& pair) {
  static const std::vector<Entry> kNone;
  auto loaded = load(pair);
  if (!loaded) return loaded.error();
  auto it = (*loaded)->find(partition);
  return it == (*loaded)->end() ? &kNone : &it->second;
}

Result<const RateBook::ByPartition*> RateBook::load(const std::string& pair) {
  if (auto it = books_.find(pair); it != books_.end()) return &it->second;
  auto rows = list_rates(stores_, pair, std::nullopt, /*history=*/true);
  if (!rows) return rows.error();
  ByPartition book;
  for (auto& row : *rows) {
    auto value = ledger::mid_rate(row.rate);
    if (!value) {
      return make_error(Code::kCorrupt,
                        fmt::format("stored {} rate as of {}s of partition {}: {}", pair,
                                    row.rate.as_of_s, row.partition, value.error().reason));
    }
    book[row.partition].push_back(Entry{std::move(row.rate), std::move(value).value()});
  }
  return &books_.emplace(pair, std::move(book)).first->second;
}

}  // namespace payledger::projections
