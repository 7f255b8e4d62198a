#include "projections/positions.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <map>
#include <stdexcept>
#include <tuple>

#include "events/schema/ids.h"
#include "ledger/account.h"
#include "projections/rate_book.h"

namespace payledger::projections {

namespace {

using ledger::Int128;

// The canonical pair of `asset` and the reporting currency.
std::string pair_of(ledger::Asset asset, ledger::Asset reporting) {
  auto pair = ledger::CurrencyPair::of(asset, reporting);
  PAYLEDGER_CHECK(pair.ok(), "two different assets always make a pair");
  return pair->to_string();
}

// One event's posted net on one account, per asset (credit positive), in log order.
struct Leg {
  ledger::Asset asset;
  Int128 net;
};
struct Move {
  int64_t at_s = 0;
  uint32_t partition = 0;  // whose rates value it
  uint64_t offset = 0;
  std::vector<Leg> legs;
};

}  // namespace

bool booked_before(const EntryLine& a, const EntryLine& b) {
  // Expiries fired by a record are booked at its offset, before it (ledger deadlines).
  const bool a_deadline = std::string_view(a.event_id).starts_with(kDeadlineEventIdPrefix);
  const bool b_deadline = std::string_view(b.event_id).starts_with(kDeadlineEventIdPrefix);
  return std::tie(a.offset, b_deadline, a.event_id) < std::tie(b.offset, a_deadline, b.event_id);
}

namespace {

// The account's lines of one partition (all assets) as events in booking order: one move per
// event (offset and event id: the expiries a record fires share its offset).
Result<std::vector<Move>> moves_of(std::vector<const StatementLine*> lines) {
  std::stable_sort(lines.begin(), lines.end(), [](const StatementLine* a, const StatementLine* b) {
    return booked_before(a->line, b->line);
  });
  std::vector<Move> out;
  const EntryLine* last = nullptr;
  try {
    for (const StatementLine* l : lines) {
      if (l->line.bucket != ledger::Bucket::kPosted) continue;
      auto asset = ledger::Asset::find(l->asset);
      if (!asset) return asset.error();
      if (last == nullptr || l->line.offset != last->offset || l->line.event_id != last->event_id) {
        out.push_back(Move{l->line.occurred_at_s, l->partition, l->line.offset, {}});
        last = &l->line;
      }
      const Int128 amount = l->line.side == ledger::Side::kCredit ? l->line.amount_minor
                                                                  : Int128(-l->line.amount_minor);
      auto& legs = out.back().legs;
      auto leg =
          std::find_if(legs.begin(), legs.end(), [&](const Leg& g) { return g.asset == *asset; });
      if (leg == legs.end()) {
        legs.push_back(Leg{*asset, amount});
      } else {
        leg->net += amount;
      }
    }
  } catch (const std::overflow_error&) {
    return make_error(Code::kOverflow, "a position trade exceeds 128 bits");
  }
  for (auto& m : out) {
    std::erase_if(m.legs, [](const Leg& g) { return g.net.is_zero(); });
  }
  std::erase_if(out, [](const Move& m) { return m.legs.empty(); });
  return out;
}

// `net` of `asset` valued in the reporting currency at the rate in force at `at_s` in
// `partition` (its mid), rounded once; nullopt if no rate.
Result<std::optional<Int128>> mid_value(RateBook& rates, uint32_t partition, ledger::Asset asset,
                                        const Int128& net, ledger::Asset reporting, int64_t at_s) {
  const std::string pair_text = pair_of(asset, reporting);
  auto rate = rates.at(partition, pair_text, at_s);
  if (!rate) return rate.error();
  if (*rate == nullptr) return std::optional<Int128>();
  auto pair = ledger::CurrencyPair::parse(pair_text);
  if (!pair) return pair.error();
  auto v = ledger::convert(ledger::Amount::from_minor(asset, net), *pair, (*rate)->value,
                           ledger::RoundingMode::kHalfEven);
  if (!v) return v.error();
  return std::optional<Int128>(v->minor());
}

// The reporting value of each leg of an exchange (docs/fx.md "Positions"): both legs of a
// two-asset event are worth the same, what was received: the reporting leg itself when one
// leg is in the reporting currency (so a conversion's dealt rate and markup show as realised
// P&L), else the received leg at its mid; a lone leg (a sale, a payout) at its mid.
Result<std::vector<std::optional<Int128>>> leg_values(RateBook& rates, uint32_t partition,
                                                      const Move& m, ledger::Asset reporting) {
  std::vector<std::optional<Int128>> out(m.legs.size());
  if (m.legs.size() == 2) {
    const Leg& a = m.legs[0];
    const Leg& b = m.legs[1];
    if (a.asset == reporting || b.asset == reporting) {
      const size_t r = a.asset == reporting ? 0 : 1;
      const Int128& paid = m.legs[r].net;
      if (paid.sign() != m.legs[1 - r].net.sign()) {  // an exchange: one in, one out
        out[1 - r] = Int128(-paid);
        return out;
      }
    } else if (a.net.sign() != b.net.sign()) {
      const size_t in = a.net.sign() > 0 ? 0 : 1;
      auto v = mid_value(rates, partition, m.legs[in].asset, m.legs[in].net, reporting, m.at_s);
      if (!v) return v.error();
      if (*v) {
        out[in] = **v;
        out[1 - in] = Int128(-**v);
        return out;
      }
    }
  }
  for (size_t i = 0; i < m.legs.size(); ++i) {
    if (m.legs[i].asset == reporting) continue;
    auto v = mid_value(rates, partition, m.legs[i].asset, m.legs[i].net, reporting, m.at_s);
    if (!v) return v.error();
    out[i] = *v;
  }
  return out;
}

// Replays one account's moves in one partition up to and including `cutoff_s`: each leg
// outside the reporting currency is a trade of that asset's position.
Result<std::map<std::string, PositionState>> replay(RateBook& rates, const std::vector<Move>& moves,
                                                    ledger::Asset reporting, int64_t cutoff_s) {
  std::map<std::string, PositionState> out;
  for (const Move& m : moves) {
    if (m.at_s > cutoff_s) continue;
    auto values = leg_values(rates, m.partition, m, reporting);
    if (!values) return values.error();
    for (size_t i = 0; i < m.legs.size(); ++i) {
      const Leg& leg = m.legs[i];
      if (leg.asset == reporting) continue;
      PositionState& st = out[leg.asset.code()];
      ++st.trades;
      Int128 value = 0;
      if ((*values)[i]) {
        value = *(*values)[i];
      } else {
        ++st.unpriced;  // the amount stays exact; cost and P&L are unknown from here on
      }
      if (!value.is_zero() && value.sign() != leg.net.sign()) {
        value = 0;  // rounding can only make a value zero, never flip it; keep trade() total
      }
      auto next = ledger::trade(st.position, leg.net, value, ledger::RoundingMode::kHalfEven);
      if (!next) return next.error();
      st.position = *next;
    }
  }
  return out;
}

// Unrealised P&L of `st` at the rate in force at `at_s` in `partition`.
Status value_at(RateBook& rates, PositionState& st, uint32_t partition, ledger::Asset asset,
                ledger::Asset reporting, int64_t at_s) {
  const std::string pair_text = pair_of(asset, reporting);
  auto rate = rates.at(partition, pair_text, at_s);
  if (!rate) return rate.error();
  if (*rate == nullptr) return Status::Ok();
  auto pair = ledger::CurrencyPair::parse(pair_text);
  if (!pair) return pair.error();
  auto u = ledger::unrealised(st.position, asset, reporting, *pair, (*rate)->value,
                              ledger::RoundingMode::kHalfEven);
  if (!u) return u.error();
  st.unrealised = *u;
  st.mark = (*rate)->rate;
  return Status::Ok();
}

// The forwards booked by `at_s`, each marked at the spot in force then (or at its
// settlement, once settled): notional x (spot - contract), in the quote currency, then
// converted into the reporting currency at that moment's rate (each rounded once).
Result<std::vector<ForwardValue>> forwards_at(RateBook& rates, const std::vector<ForwardRow>& rows,
                                              ledger::Asset reporting, int64_t at_s) {
  std::vector<ForwardValue> out;
  for (const ForwardRow& row : rows) {
    const ledger::FxForward& f = row.forward;
    if (f.booked_at_s > at_s) continue;
    ForwardValue v{row, f.settled_at_s != 0 && f.settled_at_s <= at_s, {}, {}, {}};
    const int64_t when = v.settled ? f.settled_at_s : at_s;
    auto spot = rates.at(row.partition, f.pair, when);
    if (!spot) return spot.error();
    if (*spot != nullptr) {
      auto pair = ledger::CurrencyPair::parse(f.pair);
      auto contract = ledger::Rate::parse(f.rate);
      auto one = ledger::Rate::parse("1");
      if (!pair || !contract || !one) {
        return make_error(Code::kCorrupt, fmt::format("stored forward {}", row.forward_id));
      }
      const Int128 notional = f.buy ? f.notional : Int128(-f.notional);
      auto mark =
          ledger::forward_mark(ledger::Amount::from_minor(pair->base(), notional), *pair, *contract,
                               (*spot)->value, *one, ledger::RoundingMode::kHalfEven);
      if (!mark) return mark.error();
      v.spot = (*spot)->rate;
      v.mark_quote = mark->minor();
      if (pair->quote() == reporting) {
        v.mark_reporting = mark->minor();
      } else {
        const std::string to_reporting = pair_of(pair->quote(), reporting);
        auto r = rates.at(row.partition, to_reporting, when);
        if (!r) return r.error();
        if (*r != nullptr) {
          auto rp = ledger::CurrencyPair::parse(to_reporting);
          if (!rp) return rp.error();
          auto in_reporting =
              ledger::convert(*mark, *rp, (*r)->value, ledger::RoundingMode::kHalfEven);
          if (!in_reporting) return in_reporting.error();
          v.mark_reporting = in_reporting->minor();
        }
      }
    }
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace

Result<PositionsAnswer> positions(const Stores& stores, const PositionsRequest& request) {
  const ledger::Asset reporting = request.reporting;
  const int64_t end_s = request.as_of.value_or(std::numeric_limits<int64_t>::max());
  // The accounts: the house's position, each merchant's payable.
  std::vector<std::pair<std::string, std::string>> accounts;  // owner, account
  if (request.house) accounts.emplace_back(kHouseOwner, ledger::Chart::fx_position().name());
  if (request.merchants) {
    std::string prefix = request.merchant
                             ? ledger::Chart::merchant_payable(*request.merchant).name()
                             : std::string("merchant:");
    auto balances = list_balances(stores, prefix);
    if (!balances) return balances.error();
    std::string last;
    for (const BalanceRow& b : *balances) {
      constexpr std::string_view kSuffix = ":payable";
      if (b.account == last || !b.account.ends_with(kSuffix)) continue;
      if (request.merchant && b.account != prefix) continue;
      last = b.account;
      std::string owner = b.account.substr(9, b.account.size() - 9 - kSuffix.size());
      accounts.emplace_back(std::move(owner), b.account);
    }
  }
  RateBook rates(stores);
  PositionsAnswer answer{reporting, {}, {}, {}};
  for (const auto& [owner, account] : accounts) {
    auto lines = statement(stores, account, 0);
    if (!lines) return lines.error();
    std::map<uint32_t, std::vector<const StatementLine*>> by_partition;
    for (const StatementLine& l : *lines) by_partition[l.partition].push_back(&l);
    // One stream per owner: the house's position moves in every partition, consolidated in
    // event-time order (then partition, offset: deterministic), so its average cost is the
    // whole house's, not a sum of per-partition averages.
    std::vector<Move> moves;
    for (const auto& [partition, group] : by_partition) {
      auto part = moves_of(group);
      if (!part) return part.error();
      moves.insert(moves.end(), part->begin(), part->end());
    }
    std::stable_sort(moves.begin(), moves.end(), [](const Move& a, const Move& b) {
      return std::tie(a.at_s, a.partition, a.offset) < std::tie(b.at_s, b.partition, b.offset);
    });
    // Unrealised at the rates of the owner's first partition (every partition folds the same).
    const uint32_t valuing = by_partition.empty() ? 0 : by_partition.begin()->first;
    std::map<std::string, PositionRow> rows;
    struct Cut {
      int64_t at_s;
      bool start;
    };
    std::vector<Cut> cuts{{end_s, false}};
    if (request.from) cuts.push_back({*request.from - 1, true});
    for (const Cut& cut : cuts) {
      auto states = replay(rates, moves, reporting, cut.at_s);
      if (!states) return states.error();
      for (auto& [code, st] : *states) {
        auto asset = ledger::Asset::find(code);
        if (!asset) return asset.error();
        if (Status s = value_at(rates, st, valuing, *asset, reporting, cut.at_s); !s) {
          return s.error();
        }
        PositionRow& row = rows.try_emplace(code, PositionRow{owner, *asset, {}, {}}).first->second;
        (cut.start ? row.start.emplace() : row.end) = std::move(st);
      }
    }
    for (auto& [code, row] : rows) {
      if (request.from && !row.start) row.start = PositionState{};
      answer.rows.push_back(std::move(row));
    }
  }
  if (request.house) {
    auto forwards = list_forwards(stores);
    if (!forwards) return forwards.error();
    auto end = forwards_at(rates, *forwards, reporting, end_s);
    if (!end) return end.error();
    answer.forwards = std::move(end).value();
    if (request.from) {
      auto start = forwards_at(rates, *forwards, reporting, *request.from - 1);
      if (!start) return start.error();
      answer.forwards_start = std::move(start).value();
    }
  }
  return answer;
}

}  // namespace payledger::projections
