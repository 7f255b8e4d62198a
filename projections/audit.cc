#include "projections/audit.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <tuple>

#include "projections/scan.h"

namespace payledger::projections {

namespace {

using ledger::Balance;

Error corrupt_key(std::string_view what) {
  return make_error(Code::kCorrupt, fmt::format("{} key has the wrong shape", what));
}

Status add_line(Balance* b, const EntryLine& l) { return b->add(l.side, l.bucket, l.amount_minor); }

Status add_balance(Balance* total, const Balance& b) {
  try {
    total->posted_debit += b.posted_debit;
    total->posted_credit += b.posted_credit;
    total->pending_debit += b.pending_debit;
    total->pending_credit += b.pending_credit;
  } catch (const std::overflow_error&) {
    return make_error(Code::kOverflow, "balance exceeds 128 bits");
  }
  return Status::Ok();
}

// The next offset a point in time includes of partition p (everything: max).
uint64_t offset_cap(const PointInTime& at, uint32_t p) {
  auto it = at.at_offsets.find(p);
  return it == at.at_offsets.end() ? std::numeric_limits<uint64_t>::max() : it->second;
}

// One partition's share of an account in one asset (balance key `bkey`) at `at`.
Result<Balance> share_at(Store* st, uint32_t p, const std::string& bkey, const PointInTime& at) {
  const uint64_t cap = offset_cap(at, p);
  Balance b;
  if (cap == 0) return b;  // before the partition's first record: nothing yet
  if (!at.as_of_s) {
    // As known at an offset: the last chunk that starts before it, its closing balance less
    // its lines at or after the offset (one chunk read, whatever the history's length).
    std::string prefix = bkey + '\0';
    std::string probe = prefix + be64_string(cap - 1);
    StoreCursor it = st->cursor(Cf::kEntries, Reading::kQuery, prefix_end(prefix));
    it.seek_for_prev(probe);
    if (Status s = it.status("entries"); !s) return s.error();
    if (!it.valid() || !it.key().starts_with(prefix)) return b;  // nothing before the offset
    auto closing = entry_chunk_closing(it.value());
    if (!closing) return closing.error();
    auto lines = decode_entry_chunk(it.value());
    if (!lines) return lines.error();
    b = *closing;
    try {
      for (const auto& l : *lines) {
        if (l.offset < cap) continue;
        // Take the line back out: its side's total shrinks.
        Int128& total = l.bucket == ledger::Bucket::kPosted
                            ? (l.side == ledger::Side::kDebit ? b.posted_debit : b.posted_credit)
                            : (l.side == ledger::Side::kDebit ? b.pending_debit : b.pending_credit);
        total -= l.amount_minor;
        if (total.sign() < 0) {
          return make_error(Code::kCorrupt,
                            fmt::format("{}: the closing balance of an entries chunk is less "
                                        "than its lines (run `payledger verify`)",
                                        st->dir()));
        }
      }
    } catch (const std::overflow_error&) {
      return make_error(Code::kOverflow, "balance exceeds 128 bits");
    }
    return b;
  }
  const int64_t t = *at.as_of_s;
  const int64_t day = utc_day(t);
  std::string from, to;
  if (at.at_offsets.empty() || cap == std::numeric_limits<uint64_t>::max()) {
    // Whole days before the as-of from their sums; its own day line by line.
    day_sum_key(&from, bkey, std::numeric_limits<int64_t>::min());
    day_sum_key(&to, bkey, day);
    StoreCursor it = st->cursor(Cf::kHistory, Reading::kQuery, to);
    for (it.seek(from); it.valid(); it.next()) {
      auto sum = decode_balance(it.value());
      if (!sum) return sum.error();
      if (Status s = add_balance(&b, *sum); !s) return s.error();
    }
    if (Status s = it.status("history"); !s) return s.error();
    day_lines_key(&from, bkey, day, 0);
    day_lines_key(&to, bkey, day + 1, 0);
  } else {
    // As of a time as known at an offset: every line of every day up to the as-of (a day's
    // sum counts lines that arrived after the offset too).
    day_lines_key(&from, bkey, std::numeric_limits<int64_t>::min(), 0);
    day_lines_key(&to, bkey, day + 1, 0);
  }
  StoreCursor it = st->cursor(Cf::kHistory, Reading::kQuery, to);
  for (it.seek(from); it.valid(); it.next()) {
    HistoryKey hk;
    if (!split_history_key(it.key(), &hk) || hk.tag != kDayLinesTag) return corrupt_key("history");
    if (hk.first_offset >= cap) continue;  // the whole chunk arrived after the offset
    auto lines = decode_entry_lines(it.value());
    if (!lines) return lines.error();
    for (const auto& l : *lines) {
      if (l.offset >= cap || l.occurred_at_s > t) continue;
      if (Status s = add_line(&b, l); !s) return s.error();
    }
  }
  if (Status s = it.status("history"); !s) return s.error();
  return b;
}

bool empty(const Balance& b) {
  return b.posted_debit.sign() == 0 && b.posted_credit.sign() == 0 && b.pending_debit.sign() == 0 &&
         b.pending_credit.sign() == 0;
}

}  // namespace

Result<std::map<uint32_t, uint64_t>> parse_positions(std::string_view text, uint32_t partitions) {
  std::map<uint32_t, uint64_t> out;
  auto bad = [&](std::string_view part, std::string_view why) {
    return make_error(Code::kInvalidArgument,
                      fmt::format("--at-offset '{}': {} (expected P:O,P:O,... with P a "
                                  "partition and O the next offset, as `payledger digest` "
                                  "prints them)",
                                  part, why));
  };
  if (text.empty()) return bad(text, "empty");
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    std::string_view part = text.substr(start, comma - start);
    const size_t colon = part.find(':');
    if (colon == std::string_view::npos) return bad(part, "no ':'");
    uint32_t p = 0;
    uint64_t o = 0;
    std::string_view ps = part.substr(0, colon), os = part.substr(colon + 1);
    auto r1 = std::from_chars(ps.data(), ps.data() + ps.size(), p);
    auto r2 = std::from_chars(os.data(), os.data() + os.size(), o);
    if (ps.empty() || os.empty() || r1.ec != std::errc() || r1.ptr != ps.data() + ps.size() ||
        r2.ec != std::errc() || r2.ptr != os.data() + os.size()) {
      return bad(part, "not two whole numbers");
    }
    if (p >= partitions) {
      return bad(part, fmt::format("the log has partitions 0..{}", partitions - 1));
    }
    if (!out.emplace(p, o).second) return bad(part, "partition given twice");
    start = comma + 1;
  }
  return out;
}

Result<std::vector<BalanceRow>> balances_at(const Stores& stores, std::string_view prefix,
                                            const PointInTime& at) {
  if (at.now()) return list_balances(stores, prefix);
  auto owners = partition_owners(stores);
  if (!owners) return owners.error();
  std::map<std::pair<std::string, std::string>, Balance> merged;
  // The accounts come from the balances CF (every account ever posted to has a key there).
  Status s = prefix_scan(
      stores, *owners, Cf::kBalances, prefix,
      [&](std::string_view key, std::string_view) -> Status {
        KeyParts parts;
        if (!split_key(key, &parts)) return corrupt_key("balance");
        if (!parts.a.starts_with(prefix)) return Status::Ok();
        Store* st = stores[owners->at(parts.partition)];
        auto share = share_at(st, parts.partition, std::string(key), at);
        if (!share) return share.error();
        if (empty(*share)) return Status::Ok();
        return add_balance(&merged[{std::string(parts.a), std::string(parts.b)}], *share);
      });
  if (!s) return s.error();
  std::vector<BalanceRow> rows;
  for (auto& [key, balance] : merged) {
    rows.push_back(
        BalanceRow{key.first, key.second, exponent_of(key.second), normal_of(key.first), balance});
  }
  return rows;
}

Result<std::optional<int64_t>> earliest_event_time(const Stores& stores, const Owners& owners) {
  std::optional<int64_t> earliest;
  for (const auto& [p, owner] : owners) {
    std::string value;
    auto found = stores[owner]->get(Cf::kMeta, earliest_key(p), &value, Reading::kQuery);
    if (!found) return found.error();
    if (!*found) continue;
    if (value.size() != 8) {
      return make_error(Code::kCorrupt, fmt::format("{}: the stored earliest time of partition {} "
                                                    "is not 8 bytes (run `payledger rebuild`)",
                                                    stores[owner]->dir(), p));
    }
    const int64_t t = unbias_time(read_be64(value));
    if (!earliest || t < *earliest) earliest = t;
  }
  return earliest;
}

namespace {

// The journal entry of `line` (partition p): the entry at its offset with its event id.
Result<std::optional<JournalEntry>> journal_of(Store* st, uint32_t p, const EntryLine& line) {
  std::string from = journal_entry_key(p, line.offset, 0);
  std::string to = from.substr(0, from.size() - 4);  // without the seq
  to = prefix_end(to);
  StoreCursor it = st->cursor(Cf::kJournal, Reading::kQuery, to);
  for (it.seek(from); it.valid(); it.next()) {
    auto e = decode_journal_entry(it.key(), it.value());
    if (!e) return e.error();
    if (e->event_id == line.event_id) return std::optional<JournalEntry>(std::move(e).value());
  }
  if (Status s = it.status("journal"); !s) return s.error();
  return std::optional<JournalEntry>();
}

}  // namespace

Result<AccountStatement> statement_between(const Stores& stores, std::string_view account,
                                           std::optional<int64_t> from_s,
                                           std::optional<int64_t> to_s, const PointInTime& at,
                                           size_t limit) {
  auto owners = partition_owners(stores);
  if (!owners) return owners.error();
  if (at.as_of_s && (!to_s || *at.as_of_s < *to_s)) to_s = at.as_of_s;
  AccountStatement out;
  out.account = std::string(account);
  out.normal = normal_of(account);
  std::map<std::string, AssetStatement> assets;
  std::vector<TimedLine> lines;
  std::vector<Store*> line_store;  // per line, the store that holds its journal entry
  const std::string acct_prefix = std::string(account) + '\0';
  Status s = prefix_scan(stores, *owners, Cf::kBalances, acct_prefix,
                         [&](std::string_view key, std::string_view) -> Status {
                           KeyParts parts;
                           if (!split_key(key, &parts)) return corrupt_key("balance");
                           if (parts.a != account) return Status::Ok();
                           const uint32_t p = parts.partition;
                           Store* st = stores[owners->at(p)];
                           const std::string bkey(key);
                           AssetStatement& a = assets[std::string(parts.b)];
                           a.asset = std::string(parts.b);
                           a.exponent = exponent_of(parts.b);
                           if (from_s) {
                             PointInTime before = at;
                             before.as_of_s = *from_s - 1;
                             auto opening = share_at(st, p, bkey, before);
                             if (!opening) return opening.error();
                             if (Status added = add_balance(&a.opening, *opening); !added)
                               return added;
                           }
                           const uint64_t cap = offset_cap(at, p);
                           std::string from, to;
                           day_lines_key(
                               &from, bkey,
                               from_s ? utc_day(*from_s) : std::numeric_limits<int64_t>::min(), 0);
                           if (to_s) {
                             day_lines_key(&to, bkey, utc_day(*to_s) + 1, 0);
                           } else {
                             to = prefix_end(bkey + '\0' + kDayLinesTag);
                           }
                           StoreCursor it = st->cursor(Cf::kHistory, Reading::kQuery, to);
                           for (it.seek(from); it.valid(); it.next()) {
                             HistoryKey hk;
                             if (!split_history_key(it.key(), &hk) || hk.tag != kDayLinesTag)
                               return corrupt_key("history");
                             if (hk.first_offset >= cap) continue;
                             auto chunk = decode_entry_lines(it.value());
                             if (!chunk) return chunk.error();
                             for (auto& l : *chunk) {
                               if (l.offset >= cap) continue;
                               if (from_s && l.occurred_at_s < *from_s) continue;
                               if (to_s && l.occurred_at_s > *to_s) continue;
                               TimedLine t;
                               t.asset = a.asset;
                               t.partition = p;
                               t.line = std::move(l);
                               lines.push_back(std::move(t));
                               line_store.push_back(st);
                             }
                           }
                           return it.status("history");
                         });
  if (!s) return s.error();
  // Event time, then log position: the order of the statement (late events in their place).
  std::vector<size_t> order(lines.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  // Stable: lines of one event keep the order they were posted in (their running balances).
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
    const TimedLine& a = lines[x];
    const TimedLine& b = lines[y];
    return std::tie(a.asset, a.line.occurred_at_s, a.partition, a.line.offset) <
           std::tie(b.asset, b.line.occurred_at_s, b.partition, b.line.offset);
  });
  for (auto& [_, a] : assets) a.closing = a.opening;
  for (size_t i : order) {
    TimedLine& t = lines[i];
    AssetStatement& a = assets[t.asset];
    if (Status added = add_line(&a.closing, t.line); !added) return added.error();
    t.running = a.closing;
    ++a.lines;
    if (limit != 0 && out.lines.size() >= limit) continue;
    auto entry = journal_of(line_store[i], t.partition, t.line);
    if (!entry) return entry.error();
    if (*entry) {
      t.merchant = (*entry)->merchant;
      t.payment = (*entry)->payment;
      t.reference = (*entry)->reference;
      t.fired = (*entry)->fired;
    }
    out.lines.push_back(std::move(t));
  }
  for (auto& [_, a] : assets) out.assets.push_back(std::move(a));
  return out;
}

Status for_each_journal_entry(const Stores& stores,
                              const std::function<Status(const JournalEntry&)>& visit) {
  auto owners = partition_owners(stores);
  if (!owners) return owners.error();
  const std::string tag(1, kJournalEntryTag);
  return prefix_scan(stores, *owners, Cf::kJournal, tag,
                     [&](std::string_view key, std::string_view value) -> Status {
                       auto e = decode_journal_entry(key, value);
                       if (!e) return e.error();
                       return visit(*e);
                     });
}

Result<std::vector<JournalEntry>> payment_timeline(const Stores& stores, std::string_view merchant,
                                                   std::string_view payment,
                                                   std::vector<std::string>* merchants_found) {
  auto owners = partition_owners(stores);
  if (!owners) return owners.error();
  std::vector<JournalEntry> out;
  std::vector<std::string> merchants;
  std::string prefix(1, kJournalPaymentTag);
  prefix.append(payment);
  prefix.push_back('\0');
  if (!merchant.empty()) {
    prefix.append(merchant);
    prefix.push_back('\0');
  }
  for (const auto& [p, owner] : *owners) {
    Store* st = stores[owner];
    std::string from = partition_prefix(p) + prefix;
    StoreCursor it = st->cursor(Cf::kJournal, Reading::kQuery, prefix_end(from));
    for (it.seek(from); it.valid() && it.key().starts_with(from); it.next()) {
      uint32_t kp = 0;
      std::string_view m, pay;
      uint64_t offset = 0;
      uint32_t seq = 0;
      if (!split_journal_payment_key(it.key(), &kp, &m, &pay, &offset, &seq) || pay != payment) {
        return corrupt_key("journal payment");
      }
      if (std::find(merchants.begin(), merchants.end(), m) == merchants.end()) {
        merchants.emplace_back(m);
      }
      std::string value;
      auto found =
          st->get(Cf::kJournal, journal_entry_key(p, offset, seq), &value, Reading::kQuery);
      if (!found) return found.error();
      if (!*found) {
        return make_error(Code::kCorrupt,
                          fmt::format("{}: payment {} names journal entry {}/{}/{} that is not "
                                      "stored (run `payledger verify`)",
                                      st->dir(), payment, p, offset, seq));
      }
      auto e = decode_journal_entry(journal_entry_key(p, offset, seq), value);
      if (!e) return e.error();
      out.push_back(std::move(e).value());
    }
    if (Status s = it.status("journal"); !s) return s.error();
  }
  if (merchants_found != nullptr) *merchants_found = merchants;
  return out;
}

Result<std::vector<PartitionHead>> chain_heads(const Stores& stores) {
  auto best = partition_owners(stores);
  if (!best) return best.error();
  std::vector<PartitionHead> out;
  for (const auto& [p, owner] : *best) {
    Store* st = stores[owner];
    PartitionHead h;
    h.partition = p;
    std::string value;
    auto found = st->get(Cf::kMeta, offset_key(p), &value, Reading::kQuery);
    if (!found) return found.error();
    if (*found && value.size() == 8) h.next_offset = read_be64(value);
    const std::string last = chain_key(p, std::numeric_limits<uint64_t>::max());
    StoreCursor it = st->cursor(Cf::kJournal, Reading::kQuery);
    it.seek_for_prev(last);
    if (Status s = it.status("journal"); !s) return s.error();
    if (it.valid() && it.key().size() == last.size() &&
        it.key().substr(0, 5) == std::string_view(last).substr(0, 5)) {
      auto head = decode_chain_head(it.value());
      if (!head) return head.error();
      h.chain = *head;
      h.chain_at = read_be64(it.key().substr(5));
    }
    out.push_back(std::move(h));
  }
  return out;
}

}  // namespace payledger::projections
