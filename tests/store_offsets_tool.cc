// Test helper for the process-level Kafka tests: prints what a data directory's store holds
// per partition, read-only (safe while a fold writes), so a test can wait on observable
// progress instead of sleeping. Usage: payledger_store_offsets DIR PARTITIONS
// Output: one line "P NEXT LOG_END" per partition ("-" where none is stored), then
// "sum NEXT_SUM LOG_END_SUM". Exit 1 if the store cannot be opened (not created yet).
#include <cstdio>
#include <cstdlib>
#include <string>

#include "projections/store.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: payledger_store_offsets DIR PARTITIONS\n");
    return 2;
  }
  auto partitions = static_cast<uint32_t>(std::strtoul(argv[2], nullptr, 10));
  auto store = payledger::projections::Store::open(std::string(argv[1]) + "/projections", true);
  if (!store) return 1;
  auto next = (*store)->load_offsets(partitions);
  auto ends = (*store)->load_log_ends(partitions);
  if (!next || !ends) return 1;
  uint64_t next_sum = 0, end_sum = 0;
  for (uint32_t p = 0; p < partitions; ++p) {
    std::string n = (*next)[p] ? std::to_string(*(*next)[p]) : "-";
    std::string e = (*ends)[p] ? std::to_string(*(*ends)[p]) : "-";
    next_sum += (*next)[p].value_or(0);
    end_sum += (*ends)[p].value_or(0);
    std::printf("%u %s %s\n", p, n.c_str(), e.c_str());
  }
  std::printf("sum %llu %llu\n", static_cast<unsigned long long>(next_sum),
              static_cast<unsigned long long>(end_sum));
  return 0;
}
