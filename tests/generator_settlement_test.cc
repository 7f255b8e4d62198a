// The generator settles merchants (issue 11 item 7): merchants paid in a currency with a
// business-day calendar get a settlement policy after their contracts, half on each rail, and
// are paid at their cycles (instructed, sent, confirmed or returned; minted, transferred,
// confirmed, redeemed; reserves released) instead of by payout_sent. The stream folds with no
// rejects, the tokens in circulation equal their backing per currency, and outside the
// calendars' years the generator falls back to payout_sent.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "events/codec.h"
#include "events/embedded_log.h"
#include "ledger/account.h"
#include "ledger/settlement.h"
#include "projections/fold.h"
#include "projections/queries.h"
#include "projections/store.h"
#include "test_util.h"
#include "tools/generator.h"

namespace payledger::testing {
namespace {

using ledger::Chart;
using ledger::Int128;
using ledger::Side;

// `payledger generate --events 200000 --seed 7 --merchants 300` (every market, contracts and
// rates on, as the CLI has them).
tools::GeneratorOptions settled_stream() {
  tools::GeneratorOptions o{200000, 7, 300, "", true};
  o.rates = true;
  o.settlement = true;
  return o;
}

constexpr int64_t k2028 = 1830297600;  // 2028-01-01T00:00:00Z: the calendars end before it

TEST(GeneratorSettlement, EveryRailStepOccursFoldsWithNoRejectsAndTokensEqualBacking) {
  tools::Generator gen(settled_stream());
  MemoryLedger l;
  std::vector<events::AppendRecord> records;
  std::map<std::string, int> kinds;
  std::map<std::string, std::string> rail_of;  // merchant -> its policy's rail
  std::set<std::string> rails_instructed;
  std::set<std::string> policy_currencies;
  int payouts_with_policy = 0;
  v1::Envelope e;
  while (gen.next(&e)) {
    Status s = l.apply(e);
    ASSERT_TRUE(s.ok()) << e.event_id() << " " << events::body_name(e) << ": "
                        << code_name(s.error().code) << ": " << s.error().reason << "\n"
                        << events::to_json(e);
    ++kinds[std::string(events::body_name(e))];
    if (e.has_merchant_settlement_policy_set()) {
      const auto& p = e.merchant_settlement_policy_set();
      rail_of[e.merchant_id()] = v1::SettlementRail_Name(p.rail());
      policy_currencies.insert(p.currency());
    }
    if (e.has_settlement_instructed()) {
      rails_instructed.insert(v1::SettlementRail_Name(e.settlement_instructed().rail()));
    }
    // 200,000 events span ~4.6 days of 2026: nobody falls back to payout_sent.
    if (e.has_payout_sent() && rail_of.count(e.merchant_id()) != 0) ++payouts_with_policy;
    records.push_back(events::event_record(e));
  }
  EXPECT_EQ(payouts_with_policy, 0);
  for (const char* kind :
       {"merchant_settlement_policy_set", "settlement_instructed", "settlement_sent",
        "settlement_confirmed", "settlement_returned", "settlement_reserve_released",
        "token_minted", "token_transferred", "token_redeemed"}) {
    EXPECT_GT(kinds[kind], 0) << kind;
  }
  EXPECT_EQ(rails_instructed,
            (std::set<std::string>{"SETTLEMENT_RAIL_BATCH", "SETTLEMENT_RAIL_TOKENISED"}));
  // Both rails drawn: about half each of the merchants with a policy.
  int tokenised = 0;
  for (const auto& [m, rail] : rail_of) tokenised += rail == "SETTLEMENT_RAIL_TOKENISED";
  EXPECT_GT(tokenised, static_cast<int>(rail_of.size()) / 4);
  EXPECT_LT(tokenised, static_cast<int>(rail_of.size()) * 3 / 4);
  // The seven currencies with a calendar; no policy for BHD, PHP, IDR, THB merchants.
  EXPECT_EQ(policy_currencies,
            (std::set<std::string>{"BRL", "EUR", "GBP", "INR", "JPY", "MXN", "USD"}));
  // Hundreds of settlement payouts (about one a business day per batch merchant, one every
  // 12-24 hours per tokenised one, ~4.6 days).
  EXPECT_GT(kinds["settlement_instructed"], 300);

  // Tokens in circulation (psp:token:issued in C.TDS) equal the deposits set aside for them
  // (psp:token:backing in C), per currency; and some tokens are still out (not all redeemed).
  Int128 outstanding = 0;
  for (const std::string& ccy : policy_currencies) {
    const auto token = ledger::Asset::find(ledger::deposit_token(ccy)).value();
    const auto cash = ledger::Asset::find(ccy).value();
    const Int128 supply = l.balance(Chart::token_issued(), token).posted_net(Side::kCredit);
    const Int128 backing = l.balance(Chart::token_backing(), cash).posted_net(Side::kDebit);
    EXPECT_EQ(supply, backing) << ccy;
    EXPECT_GE(supply.sign(), 0) << ccy;
    outstanding += supply;
  }
  EXPECT_GT(outstanding.sign(), 0);

  // The real fold (RocksDB store, 4 partitions) books every record.
  TempDir dir;
  events::EmbeddedLogOptions lo;
  lo.partitions = 4;
  lo.sync = false;
  auto log = events::EmbeddedLog::open(dir.path() + "/log", lo).value();
  ASSERT_TRUE(log->append(records).ok());
  auto store = projections::Store::open(dir.path() + "/projections", false).value();
  projections::FoldOptions fo;
  fo.sync = false;
  auto stats = projections::fold(*store, *log, fo);
  ASSERT_TRUE(stats.ok()) << stats.error().reason;
  EXPECT_EQ(stats->rejected, 0u);
  auto tb = projections::trial_balance(*store);
  ASSERT_TRUE(tb.ok()) << tb.error().reason;
  EXPECT_TRUE(tb->balanced());
}

TEST(GeneratorSettlement, TheSameOptionsGiveTheSameEventsAndOffGivesNoSettlement) {
  auto stream = [](tools::GeneratorOptions o) {
    o.events = 30000;
    tools::Generator gen(o);
    std::string all;
    int settlement = 0;
    v1::Envelope e;
    while (gen.next(&e)) {
      all += events::encode(e);
      settlement += e.has_merchant_settlement_policy_set() || e.has_settlement_instructed() ||
                    e.has_token_minted();
    }
    return std::make_pair(all, settlement);
  };
  tools::GeneratorOptions on = settled_stream();
  auto first = stream(on);
  EXPECT_EQ(first, stream(on));
  EXPECT_GT(first.second, 0);
  tools::GeneratorOptions off = on;
  off.settlement = false;
  EXPECT_EQ(stream(off).second, 0);
}

// Event time sped up (0..19,999 s per event, ~10,000 s on average): 20,000 events span ~6.3
// years, past the calendars' last year (2027). No policy or instruction is dated 2028 or
// later; the settled merchants are paid by payout_sent again; nothing is rejected.
TEST(GeneratorSettlement, PastTheCalendarsYearsMerchantsFallBackToPayouts) {
  // BR (the stream GeneratorWindows runs at this speed): no contracts, whose repricing
  // would crowd out everything else; no e-wallet, whose same-day voids need denser time.
  tools::GeneratorOptions go{20000, 11, 20, "BR", false};
  go.max_seconds_between_events = 20000;
  go.settlement = true;
  tools::Generator gen(go);
  MemoryLedger l;
  std::set<std::string> settled;  // merchants with a policy
  int instructed = 0, late_decisions = 0, payouts_after = 0;
  v1::Envelope e;
  while (gen.next(&e)) {
    Status s = l.apply(e);
    ASSERT_TRUE(s.ok()) << e.event_id() << " " << events::body_name(e) << ": "
                        << code_name(s.error().code) << ": " << s.error().reason;
    const bool late = e.occurred_at().seconds() >= k2028;
    if (e.has_merchant_settlement_policy_set()) settled.insert(e.merchant_id());
    if (e.has_settlement_instructed()) ++instructed;
    if (late && (e.has_merchant_settlement_policy_set() || e.has_settlement_instructed())) {
      ++late_decisions;
    }
    if (late && e.has_payout_sent() && settled.count(e.merchant_id()) != 0) ++payouts_after;
  }
  EXPECT_GT(e.occurred_at().seconds(), k2028);  // the stream did reach 2028
  EXPECT_FALSE(settled.empty());
  EXPECT_GT(instructed, 50);
  EXPECT_EQ(late_decisions, 0);
  EXPECT_GT(payouts_after, 20);
}

}  // namespace
}  // namespace payledger::testing
