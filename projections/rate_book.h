// The published rates of the stores, per pair and partition, loaded once per pair and parsed
// once: what the FX queries (positions, fx-pnl, fx-backtest) value money at.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "events/schema/result.h"
#include "ledger/fx.h"
#include "projections/queries.h"

namespace payledger::projections {

// Each partition's published rates of one pair, in as-of order, parsed once.
class RateBook {
 public:
  explicit RateBook(const Stores& stores) : stores_(stores) {}

  // The rate of `pair` in `partition` in force at `at_s` (the latest as-of not after it) and
  // its valuation rate (mid, or the bid/ask midpoint); nullptr if none.
  struct Entry {
    ledger::FxRate rate;
    ledger::Rate value;
  };
  Result<const Entry*> at(uint32_t partition, const std::string& pair, int64_t at_s);
  // Every rate of `pair` in `partition`, in as-of order (empty if none).
  Result<const std::vector<Entry>*> all(uint32_t partition, const std::string& pair);

 private:
  using ByPartition = std::map<uint32_t, std::vector<Entry>>;
  Result<const ByPartition*> load(const std::string& pair);

  const Stores& stores_;
  std::map<std::string, ByPartition> books_;
};

}  // namespace payledger::projections
