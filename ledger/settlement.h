// Settlement state the posting rules keep (docs/settlement.md): each merchant's settlement
// policy per currency and each settlement instruction with its lifecycle. The decisions
// (netting, cut-offs, value dates) are made by payledger_settlement and arrive as events; the
// rules here only check and book them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "events/schema/result.h"
#include "ledger/amount.h"

namespace payledger::ledger {

enum class Rail : uint8_t {
  kBatch = 1,      // a bank payout file: cut-off, T+N business days, sent, confirmed/returned
  kTokenised = 2,  // tokenised deposits: minted, transferred to the merchant's wallet, 24/7
};
std::string_view rail_name(Rail rail);

// merchant_settlement_policy_set: how one merchant is paid out in one currency.
struct SettlementPolicy {
  Rail rail = Rail::kBatch;
  int32_t cutoff_minute = 0;     // batch: minutes after local midnight of the daily cut-off
  std::string time_zone;         // batch: a zone local_time.h knows ("Europe/London")
  uint32_t settlement_days = 0;  // batch: T+N business days after the cut-off's day
  Int128 minimum_payout = 0;     // minor units of the currency; 0 = none
  std::string reserve_percent;   // exact decimal 0-100 ("" = no reserve)
  uint32_t reserve_days = 0;     // days a reserve is held before it is released
  uint32_t sweep_minutes = 0;    // tokenised: how often the rail sweeps payables
  int64_t set_at_s = 0;          // the event's occurred_at
  friend bool operator==(const SettlementPolicy&, const SettlementPolicy&) = default;
};

enum class InstructionStatus : uint8_t {
  kInstructed = 1,   // booked: out of payable, into merchant:<id>:settling
  kSent = 2,         // batch: the payout left the operating account (in transit)
  kTransferred = 3,  // tokenised: deposit tokens are in the merchant's wallet
  kConfirmed = 4,    // the merchant's bank confirmed the funds
  kReturned = 5,     // batch: the payout came back; the money is payable again
};
std::string_view instruction_status_name(InstructionStatus status);

// settlement_instructed and what happened to it since.
struct SettlementInstruction {
  std::string currency;  // asset code of amount and reserve
  Rail rail = Rail::kBatch;
  Int128 amount = 0;   // paid to the merchant, minor units
  Int128 reserve = 0;  // held back into merchant:<id>:reserve, minor units
  int64_t reserve_release_s = 0;
  bool reserve_released = false;
  bool minted = false;  // tokenised: a token_minted named it (once)
  InstructionStatus status = InstructionStatus::kInstructed;
  int64_t instructed_s = 0;
  int64_t cutoff_s = 0;      // the cycle's cut-off: the money payable by then
  int64_t value_date_s = 0;  // the date the funds are due at the merchant (00:00 UTC)
  int64_t sent_s = 0;        // batch: sent; tokenised: transferred
  int64_t done_s = 0;        // confirmed or returned
  std::string return_reason;
  friend bool operator==(const SettlementInstruction&, const SettlementInstruction&) = default;
};

// The deposit token of a currency on the tokenised rail: "<CCY>.TDS" (the "tUSD" is
// USD.TDS), registered for every currency payledger has a business-day calendar for. Empty
// if `currency` has none.
std::string deposit_token(std::string_view currency);
// The currency a deposit token is backed by ("USD" for "USD.TDS"), or empty if `token` is not
// a deposit token.
std::string token_currency(std::string_view token);

}  // namespace payledger::ledger
