// Scans shared by the read-side queries (queries.cc, audit.cc, verify.cc): internal to
// payledger_projections.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ledger/account.h"
#include "ledger/asset.h"
#include "projections/queries.h"
#include "projections/records.h"
#include "projections/store.h"

namespace payledger::projections {

inline int exponent_of(std::string_view code) {
  auto asset = ledger::Asset::find(code);
  return asset ? asset->exponent() : 0;
}

inline ledger::Side normal_of(std::string_view account) {
  auto id = ledger::AccountId::parse(account);
  return id ? ledger::normal_side(id->type()) : ledger::Side::kDebit;
}

// Visits, in key order, the keys of `cf` that belong to each partition's owning store (a
// k-way merge over the stores; every stored key starts with its be32 partition).
template <typename F>
Status merged_scan(const Stores& stores, const Owners& owners, Cf cf, F&& visit) {
  std::vector<StoreCursor> its;
  for (Store* st : stores) its.push_back(st->cursor(cf, Reading::kQuery));
  for (auto& it : its) it.seek_to_first();
  auto owned = [&](size_t i) {
    std::string_view key = its[i].key();
    uint32_t p = 0;
    if (key.size() < 4 || !Reader(key.substr(0, 4)).be32(&p)) return false;
    auto o = owners.find(p);
    return o != owners.end() && o->second == i;
  };
  for (;;) {
    size_t next = its.size();
    for (size_t i = 0; i < its.size(); ++i) {
      while (its[i].valid() && !owned(i)) its[i].next();  // a stale or foreign copy
      if (its[i].valid() && (next == its.size() || its[i].key() < its[next].key())) next = i;
    }
    if (next == its.size()) break;
    if (Status s = visit(its[next].key(), its[next].value()); !s) return s;
    its[next].next();
  }
  for (auto& it : its) {
    if (Status s = it.status(cf_name(cf)); !s) return s;
  }
  return Status::Ok();
}

// The smallest key above every key that starts with `prefix` (empty: none is above all).
inline std::string prefix_end(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
  if (!prefix.empty()) prefix.back() = static_cast<char>(prefix.back() + 1);
  return prefix;
}

// Visits, per partition in order, the keys of `cf` in that partition's owning store that start
// with partition | `prefix`: bounded seeks, so a query about one key reads only its keys.
template <typename F>
Status prefix_scan(const Stores& stores, const Owners& owners, Cf cf, std::string_view prefix,
                   F&& visit) {
  for (const auto& [p, owner] : owners) {
    Store* st = stores[owner];
    std::string from = partition_prefix(p) + std::string(prefix);
    StoreCursor it = st->cursor(cf, Reading::kQuery, prefix_end(from));
    for (it.seek(from); it.valid() && it.key().starts_with(from); it.next()) {
      if (Status s = visit(it.key(), it.value()); !s) return s;
    }
    if (Status s = it.status(cf_name(cf)); !s) return s;
  }
  return Status::Ok();
}

}  // namespace payledger::projections
