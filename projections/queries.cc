#include "projections/queries.h"

#include <algorithm>
#include <map>
#include <optional>
#include <tuple>
#include <memory>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "ledger/account.h"
#include "ledger/asset.h"
#include "projections/scan.h"

namespace payledger::projections {
namespace {

using ledger::Int128;

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr);
  }
  // Length-prefixed so concatenations cannot collide.
  void field(std::string_view bytes) {
    std::string len = be32_string(static_cast<uint32_t>(bytes.size()));
    EVP_DigestUpdate(ctx_.get(), len.data(), len.size());
    EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size());
  }
  std::string hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_.get(), md, &n);
    std::string out;
    for (unsigned int i = 0; i < n; ++i) out += fmt::format("{:02x}", md[i]);
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx_;
};


}  // namespace

namespace {

// Refuses stores of different logs (recorded identity or partition count differ).
Status check_same_log(const Stores& stores) {
  size_t with_identity = stores.size();
  size_t with_partitions = stores.size();
  std::string identity;
  uint32_t partitions = 0;
  for (size_t i = 0; i < stores.size(); ++i) {
    auto id = stores[i]->recorded_log_identity();
    if (!id) return id.error();
    if (!id->empty()) {
      if (with_identity == stores.size()) {
        with_identity = i;
        identity = *id;
      } else if (*id != identity) {
        return make_error(Code::kInvalidArgument,
                          fmt::format("{} and {} hold the books of different logs ('{}' and "
                                      "'{}'): they cannot be merged; query each on its own",
                                      stores[with_identity]->dir(), stores[i]->dir(), identity,
                                      *id));
      }
    }
    auto n = stores[i]->recorded_partitions();
    if (!n) return n.error();
    if (*n != 0) {
      if (with_partitions == stores.size()) {
        with_partitions = i;
        partitions = *n;
      } else if (*n != partitions) {
        return make_error(Code::kInvalidArgument,
                          fmt::format("{} and {} were folded from logs of {} and {} partitions: "
                                      "they cannot be merged; query each on its own",
                                      stores[with_partitions]->dir(), stores[i]->dir(),
                                      partitions, *n));
      }
    }
  }
  return Status::Ok();
}

struct Folded {
  size_t store = 0;
  uint64_t next = 0;
};

// Partition -> the store that folded it furthest and its next offset.
Result<std::map<uint32_t, Folded>> furthest_folds(const Stores& stores) {
  if (Status s = check_same_log(stores); !s) return s.error();
  std::map<uint32_t, Folded> best;
  for (size_t i = 0; i < stores.size(); ++i) {
    StoreCursor it = stores[i]->cursor(Cf::kMeta, Reading::kQuery);
    std::string prefix = offset_key(0).substr(0, offset_key(0).size() - 4);
    for (it.seek(prefix); it.valid() && it.key().starts_with(prefix); it.next()) {
      uint32_t p = 0;
      if (!Reader(it.key().substr(prefix.size())).be32(&p) || it.value().size() != 8) {
        return make_error(Code::kCorrupt, "stored offset has the wrong shape");
      }
      uint64_t next = read_be64(it.value());
      auto b = best.find(p);
      if (b == best.end() || next > b->second.next) {  // ties keep the earlier store
        best[p] = Folded{i, next};
      }
    }
    if (Status s = it.status("offsets"); !s) return s.error();
  }
  return best;
}

}  // namespace

Result<Owners> partition_owners(const Stores& stores) {
  auto best = furthest_folds(stores);
  if (!best) return best.error();
  Owners owner;
  for (const auto& [p, f] : *best) owner[p] = f.store;
  return owner;
}

Result<Coverage> coverage(const Stores& stores,
                          const std::optional<std::vector<uint64_t>>& log_ends) {
  auto best = furthest_folds(stores);
  if (!best) return best.error();
  Coverage cov;
  for (Store* st : stores) {
    auto id = st->recorded_log_identity();
    if (!id) return id.error();
    if (!id->empty()) cov.log_identity = *id;
    auto n = st->recorded_partitions();
    if (!n) return n.error();
    if (*n != 0) cov.partitions = *n;
  }
  if (log_ends) {
    if (cov.partitions != 0 && cov.partitions != log_ends->size()) {
      return make_error(Code::kInvalidArgument,
                        fmt::format("the projections were folded from a log of {} partitions but "
                                    "the log has {}; run `payledger rebuild`",
                                    cov.partitions, log_ends->size()));
    }
    cov.partitions = static_cast<uint32_t>(log_ends->size());
  }
  std::vector<std::optional<uint64_t>> known(cov.partitions);
  if (log_ends) {
    for (uint32_t p = 0; p < cov.partitions; ++p) known[p] = (*log_ends)[p];
  }
  for (Store* st : stores) {
    auto noted = st->load_log_ends(cov.partitions);
    if (!noted) return noted.error();
    for (uint32_t p = 0; p < cov.partitions; ++p) {
      if ((*noted)[p] && (!known[p] || *known[p] < *(*noted)[p])) known[p] = (*noted)[p];
    }
  }
  for (uint32_t p = 0; p < cov.partitions; ++p) {
    auto f = best->find(p);
    PartitionGap gap{p, std::nullopt, std::nullopt, known[p]};
    if (f != best->end()) {
      if (!known[p] || *known[p] <= f->second.next) continue;  // whole (as far as known)
      gap.store = f->second.store;
      gap.folded = f->second.next;
    } else if (known[p] && *known[p] == 0) {
      continue;  // an empty partition needs no store
    }
    cov.gaps.push_back(gap);
  }
  return cov;
}

Result<std::vector<BalanceRow>> list_balances(const Stores& stores, std::string_view prefix) {
  auto owners = partition_owners(stores);
  if (!owners) return owners.error();
  std::map<std::pair<std::string, std::string>, ledger::Balance> merged;
  try {
    // Only the keys of accounts starting with `prefix`: one bounded seek per partition in its
    // owning store, never the whole column family (one account: a few keys per partition).
    Status s = prefix_scan(stores, *owners, Cf::kBalances, prefix,
                           [&](std::string_view key, std::string_view v) {
      KeyParts parts;
      if (!split_key(key, &parts)) return Status(make_error(Code::kCorrupt, "bad balance key"));
      if (!parts.a.starts_with(prefix)) return Status::Ok();
      auto b = decode_balance(v);
      if (!b) return Status(b.error());
      auto& total = merged[{std::string(parts.a), std::string(parts.b)}];
      total.posted_debit += b->posted_debit;
      total.posted_credit += b->posted_credit;
      total.pending_debit += b->pending_debit;
      total.pending_credit += b->pending_credit;
      return Status::Ok();
    });
    if (!s) return s.error();
  } catch (const std::overflow_error&) {
    return make_error(Code::kOverflow, "merged balance exceeds 128 bits");
  }
  std::vector<BalanceRow> rows;
  for (auto& [key, balance] : merged) {
    rows.push_back(BalanceRow{key.first, key.second, exponent_of(key.second),
                              normal_of(key.first), balance});
  }
  return rows;
}

namespace {
Result<std::vector<StatementLine>> statement_of(const Stores& stores, const Owners& owners,
                                                std::string_view account, size_t limit,
                                                size_t* total);
}  // namespace

Result<std::vector<StatementLine>> statement(const Stores& stores, std::string_view account,
                                             size_t limit, size_t* total) {
  auto owners = partition_owners(stores);
  if (!owners) return owners.error();
  return statement_of(stores, *owners, account, limit, total);
}

Result<std::vector<StatementLine>> partition_statement(const Stores& stores,
                                                       const Owners& owners, uint32_t partition,
                                                       std::string_view account) {
  auto it = owners.find(partition);
  if (it == owners.end()) return std::vector<StatementLine>{};
  return statement_of(stores, Owners{{partition, it->second}}, account, 0, nullptr);
}

namespace {
Result<std::vector<StatementLine>> statement_of(const Stores& stores, const Owners& owners_in,
                                                std::string_view account, size_t limit,
                                                size_t* total) {
  const Owners* owners = &owners_in;
  // One bounded iterator per partition over the account's chunks (keys: partition | account
  // \0 asset \0 first offset, so each is ordered by asset, then offset). Walking them asset by
  // asset, and within an asset partition by partition, visits lines in the statement's order
  // (asset, partition, offset): only the first `limit` lines are decoded, the rest counted.
  struct Cursor {
    uint32_t partition = 0;
    std::string prefix;
    std::optional<StoreCursor> it;
  };
  std::vector<Cursor> cursors(owners->size());
  size_t c = 0;
  for (const auto& [p, owner] : *owners) {
    Cursor& cur = cursors[c++];
    Store* st = stores[owner];
    cur.partition = p;
    cur.prefix = partition_prefix(p) + std::string(account) + '\0';
    // prefix_end is never empty here: the prefix ends in \0
    cur.it.emplace(st->cursor(Cf::kEntries, Reading::kQuery, prefix_end(cur.prefix)));
    cur.it->seek(cur.prefix);
  }
  auto valid = [](const Cursor& cur) {
    return cur.it->valid() && cur.it->key().starts_with(cur.prefix);
  };
  std::vector<StatementLine> lines;
  size_t counted = 0;
  for (;;) {
    // The smallest asset any partition still holds.
    std::optional<std::string> asset;
    for (const Cursor& cur : cursors) {
      if (!valid(cur)) continue;
      KeyParts parts;
      uint64_t first = 0;
      if (!split_entry_key(cur.it->key(), &parts, &first)) {
        return make_error(Code::kCorrupt, "entry key has the wrong shape");
      }
      if (!asset || parts.b < *asset) asset = std::string(parts.b);
    }
    if (!asset) break;
    for (Cursor& cur : cursors) {
      for (; valid(cur); cur.it->next()) {
        KeyParts parts;
        uint64_t first = 0;
        if (!split_entry_key(cur.it->key(), &parts, &first)) {
          return make_error(Code::kCorrupt, "entry key has the wrong shape");
        }
        if (parts.b != *asset) break;
        if (limit == 0 || lines.size() < limit) {
          auto chunk = decode_entry_chunk(cur.it->value());
          if (!chunk) return chunk.error();
          for (auto& l : *chunk) lines.push_back({*asset, cur.partition, std::move(l)});
        } else {
          auto n = count_entry_chunk(cur.it->value());
          if (!n) return n.error();
          counted += *n;
        }
      }
      if (Status s = cur.it->status("entries"); !s) return s.error();
    }
  }
  // Already in (asset, partition, offset) order; the sort only guards the walk above.
  std::stable_sort(lines.begin(), lines.end(), [](const StatementLine& a, const StatementLine& b) {
    return std::tie(a.asset, a.partition, a.line.offset) <
           std::tie(b.asset, b.partition, b.line.offset);
  });
  if (total != nullptr) *total = lines.size() + counted;
  if (limit != 0 && lines.size() > limit) lines.resize(limit);
  return lines;
}
}  // namespace

bool TrialBalance::balanced() const {
  for (const auto& row : assets) {
    if (!row.balanced()) return false;
  }
  return true;
}

Result<TrialBalance> trial_balance(const Stores& stores) {
  auto rows = list_balances(stores, "");
  if (!rows) return rows.error();
  return trial_balance_of(*rows);
}

Result<TrialBalance> trial_balance_of(const std::vector<BalanceRow>& rows) {
  std::map<std::string, TrialBalanceRow> by_asset;
  TrialBalance tb;
  try {
    for (const auto& r : rows) {
      auto& t = by_asset[r.asset];
      t.asset = r.asset;
      t.exponent = r.exponent;
      Int128 posted = r.balance.posted_debit - r.balance.posted_credit;
      if (posted.sign() > 0) t.debit += posted; else t.credit -= posted;
      Int128 pending = r.balance.pending_debit - r.balance.pending_credit;
      if (pending.sign() > 0) t.pending_debit += pending; else t.pending_credit -= pending;
      ++tb.accounts;
    }
  } catch (const std::overflow_error&) {
    return make_error(Code::kOverflow, "trial balance totals exceed 128 bits");
  }
  for (auto& [_, row] : by_asset) tb.assets.push_back(std::move(row));
  return tb;
}

Result<std::vector<RateRow>> list_rates(const Stores& stores, std::string_view pair,
                                        std::optional<int64_t> as_of, bool history) {
  auto owners = partition_owners(stores);
  if (!owners) return owners.error();
  std::vector<RateRow> rows;
  std::string prefix = pair.empty() ? std::string() : std::string(pair) + '\0';
  Status s = prefix_scan(stores, *owners, Cf::kFxRates, prefix,
                         [&](std::string_view key, std::string_view v) -> Status {
    auto rate = decode_rate(key, v);
    if (!rate) return rate.error();
    if (as_of && rate->as_of_s > *as_of) return Status::Ok();  // keys are in as-of order
    uint32_t p = 0;
    Reader(key.substr(0, 4)).be32(&p);
    // Keys run partition, pair, as-of: a later rate of the same pair replaces the row.
    if (!history && !rows.empty() && rows.back().partition == p &&
        rows.back().rate.pair == rate->pair) {
      rows.back().rate = std::move(rate).value();
    } else {
      rows.push_back(RateRow{p, std::move(rate).value()});
    }
    return Status::Ok();
  });
  if (!s) return s.error();
  return rows;
}

Result<std::vector<ForwardRow>> list_forwards(const Stores& stores) {
  auto owners = partition_owners(stores);
  if (!owners) return owners.error();
  std::vector<ForwardRow> rows;
  Status s = prefix_scan(stores, *owners, Cf::kFxHouse, std::string(1, kForwardTag),
                         [&](std::string_view key, std::string_view v) -> Status {
    auto forward = decode_forward(v);
    if (!forward) return forward.error();
    uint32_t p = 0;
    Reader(key.substr(0, 4)).be32(&p);
    rows.push_back(ForwardRow{p, std::string(key.substr(5)), std::move(forward).value()});
    return Status::Ok();
  });
  if (!s) return s.error();
  return rows;
}

Result<std::vector<RevaluationRow>> list_revaluations(const Stores& stores) {
  auto owners = partition_owners(stores);
  if (!owners) return owners.error();
  std::vector<RevaluationRow> rows;
  Status s = prefix_scan(stores, *owners, Cf::kFxHouse, std::string(1, kRevaluationTag),
                         [&](std::string_view key, std::string_view v) -> Status {
    auto run = decode_revaluation(key, v);
    if (!run) return run.error();
    uint32_t p = 0;
    Reader(key.substr(0, 4)).be32(&p);
    rows.push_back(RevaluationRow{p, std::move(run).value()});
    return Status::Ok();
  });
  if (!s) return s.error();
  return rows;
}

// The latest event time folded (max watermark over the owned partitions); nullopt if none.
Result<std::optional<int64_t>> latest_event_time(const Stores& stores, const Owners& owners) {
  std::optional<int64_t> latest;
  for (const auto& [p, owner] : owners) {
    std::string value;
    auto found = stores[owner]->get(Cf::kMeta, watermark_key(p), &value, Reading::kQuery);
    if (!found) return found.error();
    if (!*found) continue;
    if (value.size() != 8) {
      return make_error(Code::kCorrupt, fmt::format("{}: watermark of partition {} is {} bytes, "
                                                    "not 8; run `payledger rebuild`",
                                                    stores[owner]->dir(), p, value.size()));
    }
    int64_t t = unbias_time(read_be64(value));
    latest = latest ? std::max(*latest, t) : t;
  }
  return latest;
}

Result<SettlementRows> list_settlement(const Stores& stores, std::string_view merchant) {
  auto owners = partition_owners(stores);
  if (!owners) return owners.error();
  SettlementRows rows;
  Status s = prefix_scan(stores, *owners, Cf::kSettlement, "",
                         [&](std::string_view key, std::string_view v) -> Status {
    uint32_t p = 0;
    Reader(key.substr(0, 4)).be32(&p);
    std::string_view rest = key.substr(4);
    size_t nul = rest.find('\0');
    if (nul == std::string_view::npos || nul + 1 >= rest.size()) {
      return make_error(Code::kCorrupt, fmt::format("settlement key of partition {} has no "
                                                    "merchant and tag (run `payledger rebuild`)",
                                                    p));
    }
    std::string_view who = rest.substr(0, nul);
    if (!merchant.empty() && who != merchant) return Status::Ok();
    const char tag = rest[nul + 1];
    std::string_view id = rest.substr(nul + 2);
    if (tag == kPolicyTag) {
      auto policy = decode_policy(v);
      if (!policy) return policy.error();
      rows.policies.push_back(
          PolicyRow{p, std::string(who), std::string(id), std::move(policy).value()});
    } else if (tag == kInstructionTag) {
      auto in = decode_instruction(v);
      if (!in) return in.error();
      rows.instructions.push_back(
          InstructionRow{p, std::string(who), std::string(id), std::move(in).value()});
    } else {
      return make_error(Code::kCorrupt,
                        fmt::format("settlement key of partition {}, merchant {} has an unknown "
                                    "tag (run `payledger rebuild`)",
                                    p, who));
    }
    return Status::Ok();
  });
  if (!s) return s.error();
  return rows;
}

std::vector<PairRates> rates_by_pair(const std::vector<RateRow>& rows) {
  std::map<std::string, std::map<uint32_t, std::vector<ledger::FxRate>>> pairs;
  for (const auto& row : rows) pairs[row.rate.pair][row.partition].push_back(row.rate);
  std::vector<PairRates> out;
  for (auto& [pair, by_partition] : pairs) {
    auto& [partition, rates] = *by_partition.begin();
    uint32_t agreeing = 0;
    for (const auto& [p, list] : by_partition) agreeing += list == rates ? 1 : 0;
    out.push_back(PairRates{pair, partition, std::move(rates), agreeing});
  }
  return out;
}

Result<std::vector<Reject>> list_rejects(const Stores& stores, size_t limit, size_t* total) {
  auto owners = partition_owners(stores);
  if (!owners) return owners.error();
  std::vector<Reject> out;
  size_t seen = 0;
  Status s = merged_scan(stores, *owners, Cf::kRejects, [&](std::string_view key, std::string_view v) {
    ++seen;
    if (limit != 0 && out.size() >= limit) return Status::Ok();
    auto r = decode_reject(key, v);
    if (!r) return Status(r.error());
    out.push_back(std::move(r).value());
    return Status::Ok();
  });
  if (!s) return s.error();
  if (total != nullptr) *total = seen;
  return out;
}

Result<std::optional<ledger::PaymentState>> find_payment(const Stores& stores,
                                                         std::string_view merchant,
                                                         std::string_view payment_id) {
  auto owners = partition_owners(stores);
  if (!owners) return owners.error();
  if (stores.empty()) return std::optional<ledger::PaymentState>();
  auto partitions = stores[0]->recorded_partitions();
  if (!partitions) return partitions.error();
  if (*partitions == 0) return std::optional<ledger::PaymentState>();
  uint32_t p = events::partition_for_key(merchant, *partitions);
  auto owner = owners->find(p);
  if (owner == owners->end()) return std::optional<ledger::PaymentState>();
  Store* st = stores[owner->second];
  std::string value;
  auto found = st->get(Cf::kPayments, payment_key(p, merchant, payment_id), &value,
                       Reading::kQuery);
  if (!found) return found.error();
  if (!*found) return std::optional<ledger::PaymentState>();
  auto state = decode_payment(value);
  if (!state) return state.error();
  return std::optional<ledger::PaymentState>(std::move(state).value());
}

Result<std::vector<CheckoutRow>> checkout_report(const Stores& stores) {
  auto owners = partition_owners(stores);
  if (!owners) return owners.error();
  std::map<std::pair<std::string, std::string>, CheckoutRow> rows;
  CheckoutRow total{"*", "*"};
  Status s = merged_scan(stores, *owners, Cf::kCheckouts, [&](std::string_view, std::string_view v) {
    auto c = decode_checkout(v);
    if (!c) return Status(c.error());
    CheckoutRow& row = rows[{c->method, c->market}];
    row.method = c->method;
    row.market = c->market;
    for (CheckoutRow* r : {&row, &total}) {
      ++r->started;
      if (c->status == ledger::CheckoutStatus::kCompleted) ++r->completed;
      if (c->status == ledger::CheckoutStatus::kAbandoned) ++r->abandoned;
    }
    return Status::Ok();
  });
  if (!s) return s.error();
  std::vector<CheckoutRow> out;
  for (auto& [_, row] : rows) out.push_back(std::move(row));
  out.push_back(total);
  return out;
}

Result<std::string> projection_digest(const Stores& stores) {
  auto owners = partition_owners(stores);
  if (!owners) return owners.error();
  Sha256 sha;
  for (Cf cf : {Cf::kBalances, Cf::kPayments, Cf::kCheckouts, Cf::kContracts}) {
    sha.field(cf_name(cf));
    Status s = merged_scan(stores, *owners, cf, [&](std::string_view key, std::string_view value) {
      sha.field(key);
      sha.field(value);
      return Status::Ok();
    });
    if (!s) return s.error();
  }
  // Entries: hash logical lines, not chunks, so batch boundaries do not matter.
  sha.field(cf_name(Cf::kEntries));
  std::string line_bytes;
  // The chunk headers (closing balances at batch ends) are not hashed: batch boundaries
  // differ between folds of one log. `payledger verify` checks each against its lines.
  Status s = merged_scan(stores, *owners, Cf::kEntries, [&](std::string_view key, std::string_view v) {
    if (key.size() < 8) return Status(make_error(Code::kCorrupt, "entry key too short"));
    std::string_view prefix = key.substr(0, key.size() - 8);  // without first_offset
    auto chunk = decode_entry_chunk(v);
    if (!chunk) return Status(chunk.error());
    for (const auto& l : *chunk) {
      line_bytes.clear();
      append_entry_line(&line_bytes, l);
      sha.field(prefix);
      // Without the log offset (the first 8 bytes): offsets are positions in one log
      // backend (Kafka spends some on transaction markers), not ledger content; the order of
      // lines, which is hashed, is the same on every backend.
      sha.field(std::string_view(line_bytes).substr(8));
    }
    return Status::Ok();
  });
  if (!s) return s.error();
  // History: each account's day sums (batch-independent totals; the day chunks hold the
  // entries' lines again and are checked by `payledger verify`).
  sha.field(cf_name(Cf::kHistory));
  s = merged_scan(stores, *owners, Cf::kHistory, [&](std::string_view key, std::string_view v) {
    HistoryKey hk;
    if (!split_history_key(key, &hk)) {
      return Status(make_error(Code::kCorrupt, "history key has the wrong shape"));
    }
    if (hk.tag != kDaySumTag) return Status::Ok();
    sha.field(key);
    sha.field(v);
    return Status::Ok();
  });
  if (!s) return s.error();
  // The state that decides what a future fold does with the next events (the same events on
  // two stores that differ here give different books later), hashed so such stores differ
  // now: the deadline index and the business ids (keys only), the dedupe fingerprints
  // (without the offset the id was applied at, a backend position as above) and each folded
  // partition's event-time watermark. Not hashed: offsets, noted log ends, last records and
  // the log identity (where in which log, not what), and the parked rejects (keyed by offset).
  for (Cf cf : {Cf::kDeadlines, Cf::kBusinessIds}) {
    sha.field(cf_name(cf));
    s = merged_scan(stores, *owners, cf, [&](std::string_view key, std::string_view) {
      sha.field(key);
      return Status::Ok();
    });
    if (!s) return s.error();
  }
  // Locked FX quotes, published rates and the house's forwards and revaluation runs (issue
  // 10), settlement policies and instructions (issue 11), keys and values, each named only when
  // there are any: the digest of a log without FX events is the one it had before they
  // existed.
  for (Cf cf : {Cf::kFxQuotes, Cf::kFxRates, Cf::kFxHouse, Cf::kSettlement}) {
    bool named = false;
    s = merged_scan(stores, *owners, cf, [&](std::string_view key, std::string_view v) {
      if (!named) sha.field(cf_name(cf));
      named = true;
      sha.field(key);
      sha.field(v);
      return Status::Ok();
    });
    if (!s) return s.error();
  }
  sha.field(cf_name(Cf::kDedupe));
  s = merged_scan(stores, *owners, Cf::kDedupe, [&](std::string_view key, std::string_view v) {
    if (auto fp = decode_dedupe_value(v); !fp) return Status(fp.error());
    sha.field(key);
    sha.field(v.substr(8));  // decoded above: be64 offset + 16 bytes of fingerprint
    return Status::Ok();
  });
  if (!s) return s.error();
  sha.field("watermarks");
  for (const auto& [p, owner] : *owners) {
    Store* st = stores[owner];
    std::string value;
    auto found = st->get(Cf::kMeta, watermark_key(p), &value, Reading::kQuery);
    if (!found) return found.error();
    if (!*found) continue;  // nothing folded there yet
    if (value.size() != 8) {
      return make_error(Code::kCorrupt, fmt::format("{}: the stored watermark of partition {} is "
                                                    "not 8 bytes (run `payledger rebuild`)",
                                                    st->dir(), p));
    }
    sha.field(be32_string(p));
    sha.field(value);
  }
  return sha.hex();
}

}  // namespace payledger::projections
