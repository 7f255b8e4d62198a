#include "settlement/settle.h"

#include <algorithm>
#include <map>
#include <tuple>
#include <set>
#include <utility>

#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>

#include "events/schema/check.h"
#include "events/codec.h"
#include "events/schema/ids.h"
#include "ledger/asset.h"
#include "ledger/contract.h"
#include "ledger/local_time.h"
#include "settlement/schedule.h"

namespace payledger::settlement {
namespace {

namespace v1 = payledger::v1;
using ledger::Int128;

v1::Envelope envelope(std::string event_id, const std::string& merchant, int64_t at_s) {
  v1::Envelope e;
  e.set_event_id(std::move(event_id));
  e.set_merchant_id(merchant);
  e.set_schema_version(events::kSchemaVersion);
  e.mutable_occurred_at()->set_seconds(at_s);
  return e;
}

std::string rfc3339(int64_t s) {
  google::protobuf::Timestamp t;
  t.set_seconds(s);
  return google::protobuf::util::TimeUtil::ToString(t);
}

void set_money(v1::Money* m, std::string_view asset, const Int128& minor) {
  auto a = ledger::Asset::find(asset);
  PAYLEDGER_CHECK(a.ok(), "a settled asset is known");
  m->set_currency(std::string(asset));
  m->set_amount(ledger::format_scaled(minor, a->exponent()));
}

v1::SettlementRail rail_enum(ledger::Rail rail) {
  return rail == ledger::Rail::kTokenised ? v1::SETTLEMENT_RAIL_TOKENISED
                                          : v1::SETTLEMENT_RAIL_BATCH;
}

// A batch run pays a cycle on the local day of its cut-off only: a run on another day (before
// that day's cut-off, a weekend, a holiday) finds no cycle due, and money a missed cycle did
// not pay waits for the next one, as a payout file missed is sent with the next day's.
Result<bool> batch_cycle_due(const ledger::SettlementPolicy& policy, const Cycle& c,
                             int64_t as_of_s) {
  auto zone = ledger::find_time_zone(policy.time_zone);
  if (!zone) return zone.error();
  const int64_t local = as_of_s + ledger::utc_offset_at(*zone, as_of_s);
  const int64_t local_day = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
  return c.cycle_date.days_since_epoch() == local_day;
}

struct MerchantBooks {
  std::map<std::string, Int128> payable;  // asset -> posted credit balance
  std::set<std::string> instructions;     // ids booked
  // Reserves held and not released: (instruction id, asset, amount, release time).
  struct Held {
    std::string id;
    std::string currency;
    Int128 amount;
    int64_t release_s;
  };
  std::vector<Held> held;
};

}  // namespace

std::string_view outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::kInstructed: return "instructed";
    case Outcome::kAlreadyInstructed: return "already_instructed";
    case Outcome::kNothingPayable: return "nothing_payable";
    case Outcome::kBelowMinimum: return "below_minimum";
    case Outcome::kNotDue: return "not_due";
    case Outcome::kFailed: return "failed";
  }
  return "unknown";
}

Result<Plan> plan_settlement(const projections::Stores& stores, int64_t as_of_s,
                             std::string_view merchant) {
  // The run decides from the books as folded: money that became payable after the as-of would
  // be paid under its cycle. So the as-of may not be before anything the books hold.
  auto owners = projections::partition_owners(stores);
  if (!owners) return owners.error();
  auto latest = projections::latest_event_time(stores, *owners);
  if (!latest) return latest.error();
  if (*latest && **latest > as_of_s) {
    return make_error(Code::kInvalidArgument,
                      fmt::format("the books hold events up to {}, after the as-of {}: settle "
                                  "decides from the books as folded, so its as-of may not be "
                                  "before their latest event",
                                  rfc3339(**latest), rfc3339(as_of_s)));
  }
  auto rows = projections::list_settlement(stores, merchant);
  if (!rows) return rows.error();
  std::map<std::string, MerchantBooks> books;
  for (const auto& p : rows->policies) books[p.merchant];
  if (books.empty()) return Plan{};
  for (const auto& row : rows->instructions) {
    auto it = books.find(row.merchant);
    if (it == books.end()) continue;
    it->second.instructions.insert(row.instruction_id);
    const auto& in = row.instruction;
    if (in.reserve != 0 && !in.reserve_released) {
      it->second.held.push_back({row.instruction_id, in.currency, in.reserve, in.reserve_release_s});
    }
  }
  auto balances = projections::list_balances(
      stores, merchant.empty() ? std::string("merchant:") : fmt::format("merchant:{}:", merchant));
  if (!balances) return balances.error();
  for (const auto& b : *balances) {
    // merchant:<id>:payable
    if (!b.account.ends_with(":payable")) continue;
    std::string id = b.account.substr(9, b.account.size() - 9 - 8);
    auto it = books.find(id);
    if (it == books.end()) continue;
    it->second.payable[b.asset] = b.balance.posted_net(ledger::Side::kCredit);
  }

  Plan plan;
  std::sort(rows->policies.begin(), rows->policies.end(), [](const auto& a, const auto& b) {
    return std::tie(a.merchant, a.currency) < std::tie(b.merchant, b.currency);
  });
  for (const auto& row : rows->policies) {
    const ledger::SettlementPolicy& policy = row.policy;
    MerchantBooks& mb = books[row.merchant];
    Decision d;
    d.merchant = row.merchant;
    d.currency = row.currency;
    d.rail = policy.rail;
    auto fail = [&](const Error& e) {
      d.outcome = Outcome::kFailed;
      d.reason = e.reason;
      ++plan.failed;
      plan.decisions.push_back(std::move(d));
    };
    auto cycle = last_cycle(policy, row.currency, as_of_s);
    if (!cycle) {
      fail(cycle.error());
      continue;
    }
    d.instruction_id = cycle->instruction_id(row.currency, policy.rail);
    // Reserves due by now go back to payable first (in this run's events, before the
    // instruction that may pay them out).
    for (const auto& h : mb.held) {
      if (h.currency != row.currency || h.release_s > as_of_s) continue;
      v1::Envelope e = envelope(fmt::format("release.{}", h.id), row.merchant, as_of_s);
      e.mutable_settlement_reserve_released()->set_instruction_id(h.id);
      plan.events.push_back(std::move(e));
      d.released += h.amount;
    }
    d.available = mb.payable[row.currency] + d.released;
    if (policy.rail == ledger::Rail::kBatch) {
      auto due = batch_cycle_due(policy, *cycle, as_of_s);
      if (!due) {
        fail(due.error());
        continue;
      }
      if (!*due) {
        d.outcome = Outcome::kNotDue;
        d.instruction_id.clear();
        plan.decisions.push_back(std::move(d));
        continue;
      }
    }
    if (mb.instructions.contains(d.instruction_id)) {
      d.outcome = Outcome::kAlreadyInstructed;
      plan.decisions.push_back(std::move(d));
      continue;
    }
    if (d.available <= 0) {
      d.outcome = Outcome::kNothingPayable;
      plan.decisions.push_back(std::move(d));
      continue;
    }
    const ledger::Asset asset = ledger::Asset::find(row.currency).value();
    if (!policy.reserve_percent.empty()) {
      auto fraction = ledger::percent_fraction(policy.reserve_percent);
      if (!fraction) {
        fail(fraction.error());
        continue;
      }
      if (*fraction) {
        // The one rounding step of a reserve: percent x available, half-even.
        auto reserve = (*fraction)->apply(ledger::Amount::from_minor(asset, d.available),
                                          ledger::RoundingMode::kHalfEven);
        if (!reserve) {
          fail(reserve.error());
          continue;
        }
        d.reserve = reserve->minor();
      }
    }
    d.amount = d.available - d.reserve;
    if (d.amount <= 0 || d.amount < policy.minimum_payout) {
      d.outcome = Outcome::kBelowMinimum;
      d.amount = 0;
      d.reserve = 0;
      plan.decisions.push_back(std::move(d));
      continue;
    }
    d.value_date = cycle->value_date.to_string();
    v1::Envelope e = envelope(fmt::format("settle.{}", d.instruction_id), row.merchant, as_of_s);
    auto* b = e.mutable_settlement_instructed();
    b->set_instruction_id(d.instruction_id);
    set_money(b->mutable_amount(), row.currency, d.amount);
    b->set_rail(rail_enum(policy.rail));
    // A date: its 00:00 UTC (the rule allows a day's slack for zones east of UTC).
    b->mutable_value_date()->set_seconds(cycle->value_date.days_since_epoch() * 86400);
    if (d.reserve != 0) {
      set_money(b->mutable_reserve(), row.currency, d.reserve);
      b->mutable_reserve_release_at()->set_seconds(as_of_s +
                                                   int64_t{policy.reserve_days} * 86400);
    }
    plan.events.push_back(std::move(e));
    if (policy.rail == ledger::Rail::kTokenised) {
      const std::string token = ledger::deposit_token(row.currency);
      v1::Envelope mint = envelope(fmt::format("mint.{}", d.instruction_id), row.merchant,
                                   as_of_s);
      mint.mutable_token_minted()->set_mint_id(d.instruction_id);
      set_money(mint.mutable_token_minted()->mutable_amount(), token, d.amount);
      plan.events.push_back(std::move(mint));
      v1::Envelope transfer = envelope(fmt::format("transfer.{}", d.instruction_id),
                                       row.merchant, as_of_s);
      transfer.mutable_token_transferred()->set_instruction_id(d.instruction_id);
      plan.events.push_back(std::move(transfer));
    }
    d.outcome = Outcome::kInstructed;
    plan.decisions.push_back(std::move(d));
  }
  return plan;
}

}  // namespace payledger::settlement
