#include "settlement/transit_flows.h"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <tuple>

#include <fmt/format.h>

#include "payledger/v1/events.pb.h"

namespace payledger::settlement {
namespace {

constexpr std::string_view kPayableSuffix = ":payable";

// Events that posted to `account` (any line, any asset).
Status events_posting_to(const projections::Stores& stores, const std::string& account,
                         std::set<StoredEvent>* out) {
  auto lines = projections::statement(stores, account, 0);
  if (!lines) return lines.error();
  for (const auto& l : *lines) out->insert({l.partition, l.line.offset});
  return Status::Ok();
}

// A flow and the event it came from (to order flows of equal times as the log has them).
struct Keyed {
  int64_t at_s = 0;
  uint32_t partition = 0;
  uint64_t offset = 0;
  PayableFlow flow;
};

Result<std::vector<Keyed>> keyed_flows(std::string_view merchant,
                                       const std::vector<projections::StatementLine>& payable,
                                       const std::set<StoredEvent>& settlement_events,
                                       PayableFlowsRead* read) {
  // (asset, partition, offset) -> the event's net credit, in statement order
  std::map<std::tuple<std::string, uint32_t, uint64_t>, Keyed> nets;
  std::set<StoredEvent> settlement_seen, payouts_seen, conversions_seen;
  try {
    for (const auto& l : payable) {
      const StoredEvent event{l.partition, l.line.offset};
      if (settlement_events.count(event) != 0) {
        settlement_seen.insert(event);
        continue;
      }
      if (l.line.body_case == static_cast<uint8_t>(v1::Envelope::kPayoutSent)) {
        payouts_seen.insert(event);
        continue;
      }
      // A merchant's FX conversion re-denominates money already payable (less in one
      // currency, more in another): no money becomes payable or is refunded.
      if (l.line.body_case == static_cast<uint8_t>(v1::Envelope::kFxConversionExecuted)) {
        conversions_seen.insert(event);
        continue;
      }
      if (l.line.bucket != ledger::Bucket::kPosted) continue;
      auto [it, fresh] = nets.try_emplace({l.asset, l.partition, l.line.offset});
      Keyed& k = it->second;
      if (fresh) {
        k = Keyed{l.line.occurred_at_s, l.partition, l.line.offset,
                  PayableFlow{std::string(merchant), l.asset, l.line.occurred_at_s, 0}};
      }
      // payable is a liability: a credit is more owed to the merchant, a debit less
      if (l.line.side == ledger::Side::kCredit) {
        k.flow.minor += l.line.amount_minor;
      } else {
        k.flow.minor -= l.line.amount_minor;
      }
    }
  } catch (const std::overflow_error&) {
    return make_error(Code::kOverflow,
                      fmt::format("merchant {}: a payable flow exceeds 128 bits", merchant));
  }
  std::vector<Keyed> flows;
  for (auto& [_, k] : nets) {
    if (k.flow.minor.is_zero()) {
      ++read->zero_events;
      continue;
    }
    flows.push_back(std::move(k));
  }
  read->settlement_events += settlement_seen.size();
  read->payout_events += payouts_seen.size();
  read->conversion_events += conversions_seen.size();
  read->events += flows.size();
  return flows;
}

}  // namespace

Result<std::vector<PayableFlow>> flows_from_statement(
    std::string_view merchant, const std::vector<projections::StatementLine>& payable,
    const std::set<StoredEvent>& settlement_events, PayableFlowsRead* read) {
  PayableFlowsRead counts;
  auto keyed = keyed_flows(merchant, payable, settlement_events, read ? read : &counts);
  if (!keyed) return keyed.error();
  std::vector<PayableFlow> flows;
  flows.reserve(keyed->size());
  for (auto& k : *keyed) flows.push_back(std::move(k.flow));
  return flows;
}

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
  std::vector<Keyed> all;
  for (const auto& m : merchants) {
    const std::string prefix = "merchant:" + m + ":";
    std::set<StoredEvent> settlement;
    if (Status s = events_posting_to(stores, prefix + "settling", &settlement); !s) {
      return s.error();
    }
    if (Status s = events_posting_to(stores, prefix + "reserve", &settlement); !s) {
      return s.error();
    }
    auto lines = projections::statement(stores, prefix + "payable", 0);
    if (!lines) return lines.error();
    auto keyed = keyed_flows(m, *lines, settlement, &counts);
    if (!keyed) return keyed.error();
    for (auto& k : *keyed) all.push_back(std::move(k));
  }
  std::sort(all.begin(), all.end(), [](const Keyed& a, const Keyed& b) {
    return std::tie(a.at_s, a.partition, a.offset, a.flow.merchant, a.flow.currency) <
           std::tie(b.at_s, b.partition, b.offset, b.flow.merchant, b.flow.currency);
  });
  std::vector<PayableFlow> flows;
  flows.reserve(all.size());
  for (auto& k : all) flows.push_back(std::move(k.flow));
  if (read != nullptr) *read = counts;
  return flows;
}

Result<std::vector<PayableFlow>> payable_flows(projections::Store& store,
                                               std::string_view merchant,
                                               PayableFlowsRead* read) {
  return payable_flows(projections::Stores{&store}, merchant, read);
}

}  // namespace payledger::settlement
