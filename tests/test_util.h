// Helpers shared by the tests: event builders, an in-memory LedgerView, temp directories.
#pragma once

#include <map>
#include <set>
#include <string>

#include "events/event_log.h"
#include "ledger/rules.h"
#include "payledger/v1/events.pb.h"

namespace payledger::testing {

namespace v1 = payledger::v1;

// An envelope with schema version 1, the given ids and an occurred_at.
v1::Envelope envelope(const std::string& event_id, const std::string& merchant = "m1");
v1::Envelope card_authorised(const std::string& event_id, const std::string& payment,
                             const std::string& amount, const std::string& currency = "USD");
v1::Envelope card_captured(const std::string& event_id, const std::string& payment,
                           const std::string& amount, const std::string& currency = "USD");
v1::Envelope card_voided(const std::string& event_id, const std::string& payment);
v1::Envelope card_refunded(const std::string& event_id, const std::string& payment,
                           const std::string& amount, const std::string& currency = "USD");
v1::Envelope payout(const std::string& event_id, const std::string& amount,
                    const std::string& currency = "USD");

// Parses one event from the JSON mapping (fails the test on bad JSON). Fields not given
// default to schema_version 1, merchant m1, occurred_at 2026-01-01T00:00:00Z.
v1::Envelope json_event(const std::string& json);

// A LedgerView over maps, with apply() to commit effects like the fold does.
class MemoryLedger : public ledger::LedgerView {
 public:
  const ledger::PaymentState* find_payment(std::string_view merchant,
                                           std::string_view payment) const override;
  ledger::Balance balance(const ledger::AccountId& account, ledger::Asset asset) const override;
  const ledger::CheckoutState* find_checkout(std::string_view merchant,
                                             std::string_view checkout) const override;
  const ledger::Contract* find_contract(std::string_view merchant,
                                        std::string_view method) const override;
  bool merchant_business_id_seen(std::string_view merchant, std::string_view id) const override;
  const ledger::FxQuote* find_quote(std::string_view merchant,
                                    std::string_view quote) const override;
  const ledger::FxRate* latest_rate(std::string_view pair, int64_t at_s) const override;
  const ledger::FxForward* find_forward(std::string_view forward_id) const override;
  const ledger::SettlementPolicy* find_settlement_policy(std::string_view merchant,
                                                         std::string_view currency) const override;
  const ledger::SettlementInstruction* find_instruction(std::string_view merchant,
                                                        std::string_view id) const override;
  // Applies an event; returns the rejection or commits the effects.
  Status apply(const v1::Envelope& event);

  std::map<std::string, ledger::PaymentState> payments;  // merchant \0 payment
  std::map<std::string, ledger::Balance> balances;       // account \0 asset
  std::map<std::string, ledger::CheckoutState> checkouts;  // merchant \0 checkout
  std::map<std::string, ledger::Contract> contracts;       // merchant \0 method
  std::set<std::string> business_ids;                      // merchant \0 kind + id
  std::map<std::string, ledger::FxQuote> quotes;           // merchant \0 quote
  std::map<std::pair<std::string, int64_t>, ledger::FxRate> rates;  // (pair, as-of)
  std::map<std::string, ledger::FxForward> forwards;                 // forward id
  std::vector<ledger::FxRevaluation> revaluations;
  std::map<std::string, ledger::SettlementPolicy> policies;            // merchant \0 currency
  std::map<std::string, ledger::SettlementInstruction> instructions;   // merchant \0 id
};

// Applies `e` to `l`: "ok", or the rejection's code name ("insufficient_funds").
std::string apply_code(MemoryLedger& l, const v1::Envelope& e);
// Applies `e` to `l`: "ok", or the rejection's reason.
std::string apply_reason(MemoryLedger& l, const v1::Envelope& e);

// Posted balance of `account` in `currency` on its normal side (credit for payables and
// revenue, debit for receivables and expenses), as a decimal string ("12.50").
std::string posted(const MemoryLedger& l, const ledger::AccountId& account,
                   const std::string& currency, ledger::Side normal = ledger::Side::kCredit);

// The projection digest of `records` folded from a fresh embedded log of `partitions`: the
// reference other backends must match.
std::string embedded_digest(const std::vector<events::AppendRecord>& records,
                            uint32_t partitions = 4);

// A fresh empty directory under the test temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace payledger::testing
