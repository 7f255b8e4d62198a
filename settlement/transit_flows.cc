#include "settlement/transit_flows.h"

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>
#include <tuple>

#include <fmt/format.h>

#include "payledger/v1/events.pb.h"

namespace payledger::settlement {
namespace {

using EventKey = std::pair<uint32_t, uint64_t>;  // (partition, offset): the event's identity

constexpr std::string_view kPayableSuffix = ":payable";

// Events that posted to `account` (any line, any asset).
Status events_posting_to(const projections::Stores& stores, const std::string& account,
                         std::set<EventKey>* out) {
  auto lines = projections::statement(stores, account, 0);
  if (!lines) return lines.error();
  for (const auto& l : *lines) out->insert({l.partition, l.line.offset});
  return Status::Ok();
}

}  // namespace

Result<std::vector<PayableFlow>> payable_flows(const projections::Stores& stores,
                                               std::string_view merchant,
                                               PayableFlowsRead* read) {
  PayableFlowsRead counts;
  // The merchants with a payable account: every merchant account is named merchant:<id>:...
  std::set<std::string> merchants;
  if (!merchant.empty()) {
    merchants.insert(std::string(merchant));
  } else {
    auto rows = projections::list_balances(stores, "merchant:");
    if (!rows) return rows.error();
    for (const auto& r : *rows) {
      std::string_view a = r.account;
      if (!a.ends_with(kPayableSuffix)) continue;
      a.remove_prefix(std::string_view("merchant:").size());
      a.remove_suffix(kPayableSuffix.size());
      if (a.find(':') == std::string_view::npos) merchants.insert(std::string(a));
    }
  }
  struct Keyed {
    int64_t at_s;
    uint32_t partition;
    uint64_t offset;
    PayableFlow flow;
  };
  std::vector<Keyed> keyed;
  try {
    for (const auto& m : merchants) {
      const std::string prefix = "merchant:" + m + ":";
      std::set<EventKey> settlement;
      if (Status s = events_posting_to(stores, prefix + "settling", &settlement); !s) {
        return s.error();
      }
      if (Status s = events_posting_to(stores, prefix + "reserve", &settlement); !s) {
        return s.error();
      }
      auto lines = projections::statement(stores, prefix + "payable", 0);
      if (!lines) return lines.error();
      // (partition, offset, asset) -> net credit; lines of one event are adjacent per asset.
      std::map<std::tuple<uint32_t, uint64_t, std::string>, Keyed> nets;
      std::set<EventKey> settlement_seen, payouts_seen;
      for (const auto& l : *lines) {
        const EventKey event{l.partition, l.line.offset};
        if (settlement.count(event) != 0) {
          settlement_seen.insert(event);
          continue;
        }
        if (l.line.body_case == static_cast<uint8_t>(v1::Envelope::kPayoutSent)) {
          payouts_seen.insert(event);
          continue;
        }
        if (l.line.bucket != ledger::Bucket::kPosted) continue;
        auto [it, fresh] = nets.try_emplace({l.partition, l.line.offset, l.asset});
        Keyed& k = it->second;
        if (fresh) {
          k = Keyed{l.line.occurred_at_s, l.partition, l.line.offset,
                    PayableFlow{m, l.asset, l.line.occurred_at_s, 0}};
        }
        // payable is a liability: a credit is more owed to the merchant, a debit less
        if (l.line.side == ledger::Side::kCredit) {
          k.flow.minor += l.line.amount_minor;
        } else {
          k.flow.minor -= l.line.amount_minor;
        }
      }
      counts.settlement_events += settlement_seen.size();
      counts.payout_events += payouts_seen.size();
      for (auto& [_, k] : nets) {
        if (k.flow.minor.is_zero()) {
          ++counts.zero_events;
          continue;
        }
        keyed.push_back(std::move(k));
      }
    }
  } catch (const std::overflow_error&) {
    return make_error(Code::kOverflow, "a payable flow exceeds 128 bits");
  }
  std::sort(keyed.begin(), keyed.end(), [](const Keyed& a, const Keyed& b) {
    return std::tie(a.at_s, a.partition, a.offset, a.flow.merchant, a.flow.currency) <
           std::tie(b.at_s, b.partition, b.offset, b.flow.merchant, b.flow.currency);
  });
  std::vector<PayableFlow> flows;
  flows.reserve(keyed.size());
  for (auto& k : keyed) flows.push_back(std::move(k.flow));
  counts.events = flows.size();
  if (read != nullptr) *read = counts;
  return flows;
}

Result<std::vector<PayableFlow>> payable_flows(projections::Store& store,
                                               std::string_view merchant,
                                               PayableFlowsRead* read) {
  return payable_flows(projections::Stores{&store}, merchant, read);
}

}  // namespace payledger::settlement
