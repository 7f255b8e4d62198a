#include "settlement/settle.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

#include "events/codec.h"
#include "events/schema/check.h"
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

// When a reserve held by `c` is released: batch, the cut-off's local time on the local date
// `reserve_days` later (so a clock change in between moves nothing); tokenised, the sweep
// `reserve_days` x 24 h later (UTC).
int64_t release_at(const ledger::SettlementPolicy& policy, const Cycle& c) {
  const int64_t days = policy.reserve_days;
  if (policy.rail == ledger::Rail::kTokenised) return c.cutoff_s + days * 86400;
  auto zone = ledger::find_time_zone(policy.time_zone);
  PAYLEDGER_CHECK(zone.ok(), "a stored policy's zone is known");
  return ledger::local_to_utc(*zone, (c.cycle_date.days_since_epoch() + days) * 86400 +
                                         int64_t{policy.cutoff_minute} * 60);
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
  std::map<std::string, Int128> payable;       // asset -> posted credit balance
  std::set<std::string> instructions;          // ids booked
  std::map<std::string, int64_t> last_cutoff;  // currency -> latest instructed cycle's cut-off
  // Reserves held and not released: (instruction id, asset, amount, release time).
  struct Held {
    std::string id;
    std::string currency;
    Int128 amount;
    int64_t release_s;
  };
  std::vector<Held> held;
};

// The merchant's posted payable lines in `currency` around a cycle: their net after the
// cut-off (credits +, debits -), and the new money of the cycle: the net of (since, cutoff]
// (all history without `since`) other than settlement itself (instructions, returns, reserve
// releases, payouts) and the merchant's FX conversions (money already payable, re-denominated).
struct CycleFlows {
  Int128 after_cutoff = 0;
  Int128 new_money = 0;
};
Result<CycleFlows> cycle_flows(const projections::Stores& stores, const projections::Owners& owners,
                               uint32_t partition, const std::string& merchant,
                               const std::string& currency, int64_t cutoff_s,
                               std::optional<int64_t> since_s) {
  auto lines = projections::partition_statement(stores, owners, partition,
                                                fmt::format("merchant:{}:payable", merchant));
  if (!lines) return lines.error();
  CycleFlows out;
  for (const auto& l : *lines) {
    if (l.asset != currency || l.line.bucket != ledger::Bucket::kPosted) continue;
    const Int128 signed_minor =
        l.line.side == ledger::Side::kCredit ? l.line.amount_minor : Int128(-l.line.amount_minor);
    if (l.line.occurred_at_s > cutoff_s) {
      out.after_cutoff += signed_minor;
      continue;
    }
    if (since_s && l.line.occurred_at_s <= *since_s) continue;
    switch (l.line.body_case) {
      case v1::Envelope::kSettlementInstructed:
      case v1::Envelope::kSettlementReturned:
      case v1::Envelope::kSettlementReserveReleased:
      case v1::Envelope::kPayoutSent:
      case v1::Envelope::kFxConversionExecuted:
        break;
      default:
        out.new_money += signed_minor;
    }
  }
  return out;
}

}  // namespace

std::string_view outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::kInstructed:
      return "instructed";
    case Outcome::kAlreadyInstructed:
      return "already_instructed";
    case Outcome::kNothingPayable:
      return "nothing_payable";
    case Outcome::kBelowMinimum:
      return "below_minimum";
    case Outcome::kNotDue:
      return "not_due";
    case Outcome::kFailed:
      return "failed";
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
                                  ledger::utc_rfc3339(**latest), ledger::utc_rfc3339(as_of_s)));
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
    auto& last = it->second.last_cutoff[in.currency];
    last = std::max(last, in.cutoff_s);
    if (in.reserve != 0 && !in.reserve_released) {
      it->second.held.push_back(
          {row.instruction_id, in.currency, in.reserve, in.reserve_release_s});
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
    auto decided = [&](Outcome outcome) {
      d.outcome = outcome;
      if (outcome != Outcome::kInstructed) d.amount = d.reserve = 0;
      plan.decisions.push_back(std::move(d));
    };
    auto fail = [&](const Error& e) {
      d.reason = e.reason;
      ++plan.failed;
      decided(Outcome::kFailed);
    };
    // Reserves due by now go back to payable first, whatever the cycle (in this run's events,
    // before an instruction that may pay them out).
    std::vector<const MerchantBooks::Held*> releasing;
    for (const auto& h : mb.held) {
      if (h.currency != row.currency || h.release_s > as_of_s) continue;
      v1::Envelope e = envelope(fmt::format("release.{}", h.id), row.merchant, as_of_s);
      e.mutable_settlement_reserve_released()->set_instruction_id(h.id);
      plan.events.push_back(std::move(e));
      d.released += h.amount;
      releasing.push_back(&h);
    }
    auto cycle = last_cycle(policy, row.currency, as_of_s);
    if (!cycle) {
      // Walking back past the first year a calendar covers finds no cycle: none is due yet
      // (when the as-of itself is covered); anything else is a real failure.
      if (next_cycle(policy, row.currency, as_of_s)) {
        decided(Outcome::kNotDue);
      } else {
        fail(cycle.error());
      }
      continue;
    }
    if (policy.rail == ledger::Rail::kBatch) {
      auto due = batch_cycle_due(policy, *cycle, as_of_s);
      if (!due) {
        fail(due.error());
        continue;
      }
      if (!*due) {
        decided(Outcome::kNotDue);
        continue;
      }
    }
    d.instruction_id = cycle->instruction_id(row.currency, policy.rail);
    if (mb.instructions.contains(d.instruction_id)) {
      decided(Outcome::kAlreadyInstructed);
      continue;
    }
    // The cycle pays what was payable at its cut-off (money payable later waits for the next
    // cycle, whenever this run happens), and no more than is payable now; a reserve released
    // by the cut-off joins it. The reserve is taken on the cycle's new money only: what became
    // payable since the previous instruction's cut-off, less refunds, fees and chargebacks —
    // never again on released reserves, returned payouts or carried money already reserved.
    auto flows = cycle_flows(
        stores, *owners, row.partition, row.merchant, row.currency, cycle->cutoff_s,
        mb.last_cutoff.contains(row.currency) ? std::optional(mb.last_cutoff[row.currency])
                                              : std::nullopt);
    if (!flows) {
      fail(flows.error());
      continue;
    }
    const Int128 now = mb.payable[row.currency];
    const Int128 at_cutoff = now - flows->after_cutoff;
    d.available = std::min(now, at_cutoff);
    for (const auto* h : releasing) {
      if (h->release_s <= cycle->cutoff_s) d.available += h->amount;
    }
    if (d.available <= 0) {
      decided(Outcome::kNothingPayable);
      continue;
    }
    const ledger::Asset asset = ledger::Asset::find(row.currency).value();
    if (!policy.reserve_percent.empty()) {
      auto fraction = ledger::percent_fraction(policy.reserve_percent);
      if (!fraction) {
        fail(fraction.error());
        continue;
      }
      const Int128 base = std::clamp(flows->new_money, Int128(0), d.available);
      if (*fraction && base > 0) {
        // The one rounding step of a reserve: percent x the cycle's new money, half-even.
        auto reserve = (*fraction)->apply(ledger::Amount::from_minor(asset, base),
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
      decided(Outcome::kBelowMinimum);
      continue;
    }
    d.value_date = cycle->value_date.to_string();
    v1::Envelope e = envelope(fmt::format("settle.{}", d.instruction_id), row.merchant, as_of_s);
    auto* b = e.mutable_settlement_instructed();
    b->set_instruction_id(d.instruction_id);
    set_money(b->mutable_amount(), row.currency, d.amount);
    b->set_rail(rail_enum(policy.rail));
    // A date: its 00:00 UTC (the rule allows a day's slack for zones west of UTC).
    b->mutable_value_date()->set_seconds(cycle->value_date.days_since_epoch() * 86400);
    b->mutable_cycle_cutoff()->set_seconds(cycle->cutoff_s);
    if (d.reserve != 0) {
      set_money(b->mutable_reserve(), row.currency, d.reserve);
      // The same cut-off N days on (local time: across a clock change too), so the release is
      // due at that cycle whenever the runs happen.
      b->mutable_reserve_release_at()->set_seconds(
          std::max(release_at(policy, *cycle), as_of_s + 1));
    }
    plan.events.push_back(std::move(e));
    if (policy.rail == ledger::Rail::kTokenised) {
      const std::string token = ledger::deposit_token(row.currency);
      v1::Envelope mint = envelope(fmt::format("mint.{}", d.instruction_id), row.merchant, as_of_s);
      mint.mutable_token_minted()->set_mint_id(d.instruction_id);
      mint.mutable_token_minted()->set_instruction_id(d.instruction_id);
      set_money(mint.mutable_token_minted()->mutable_amount(), token, d.amount);
      plan.events.push_back(std::move(mint));
      v1::Envelope transfer =
          envelope(fmt::format("transfer.{}", d.instruction_id), row.merchant, as_of_s);
      transfer.mutable_token_transferred()->set_instruction_id(d.instruction_id);
      plan.events.push_back(std::move(transfer));
    }
    decided(Outcome::kInstructed);
  }
  return plan;
}

}  // namespace payledger::settlement
