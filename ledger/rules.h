// Posting rules: pure functions (event, current state) -> effects | rejection.
// No clocks, randomness or I/O: the same log gives the same books on any machine.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "events/schema/result.h"
#include "ledger/journal.h"
#include "ledger/checkout.h"
#include "ledger/contract.h"
#include "ledger/fx.h"
#include "ledger/payment.h"
#include "ledger/settlement.h"
#include "payledger/v1/events.pb.h"

namespace payledger::ledger {

// Read-only view of the ledger state the rules may consult.
class LedgerView {
 public:
  virtual ~LedgerView() = default;
  // The payment's state, or nullptr if this merchant has no payment with that id.
  virtual const PaymentState* find_payment(std::string_view merchant_id,
                                           std::string_view payment_id) const = 0;
  // The account's current balance in `asset` (all zero if never posted to).
  virtual Balance balance(const AccountId& account, Asset asset) const = 0;
  // The checkout's state, or nullptr if this merchant has no checkout with that id.
  virtual const CheckoutState* find_checkout(std::string_view merchant_id,
                                             std::string_view checkout_id) const = 0;
  // The merchant's contract for `method` ("card", "pix", ...), or nullptr if none.
  virtual const Contract* find_contract(std::string_view merchant_id,
                                        std::string_view method) const = 0;
  // Whether the merchant already applied this merchant-level business id (a payout, fee or
  // settlement id, as kind letter + id; see Effects::merchant_business_id).
  virtual bool merchant_business_id_seen(std::string_view merchant_id,
                                         std::string_view key) const = 0;
  // The merchant's locked FX quote with that id, or nullptr.
  virtual const FxQuote* find_quote(std::string_view merchant_id,
                                    std::string_view quote_id) const = 0;
  // The latest published rate of `pair` (canonical text) whose as-of is not after `at_s`
  // (seconds since the epoch), or nullptr if none was published by then.
  virtual const FxRate* latest_rate(std::string_view pair, int64_t at_s) const = 0;
  // The house's forward with that id (fx_forward_booked), or nullptr.
  virtual const FxForward* find_forward(std::string_view forward_id) const = 0;
  // The merchant's settlement policy for `currency` (asset code), or nullptr.
  virtual const SettlementPolicy* find_settlement_policy(std::string_view merchant_id,
                                                         std::string_view currency) const = 0;
  // The merchant's settlement instruction with that id, or nullptr.
  virtual const SettlementInstruction* find_instruction(std::string_view merchant_id,
                                                        std::string_view instruction_id) const = 0;
};

// A ledger with nothing in it: no payment, checkout, contract or business id; every balance
// zero. The base of views that hold one thing (an expiry's one payment) and the ledger
// check_without_state runs the rules against.
class EmptyLedgerView : public LedgerView {
 public:
  const PaymentState* find_payment(std::string_view, std::string_view) const override {
    return nullptr;
  }
  Balance balance(const AccountId&, Asset) const override { return Balance{}; }
  const CheckoutState* find_checkout(std::string_view, std::string_view) const override {
    return nullptr;
  }
  const Contract* find_contract(std::string_view, std::string_view) const override {
    return nullptr;
  }
  bool merchant_business_id_seen(std::string_view, std::string_view) const override {
    return false;
  }
  const FxQuote* find_quote(std::string_view, std::string_view) const override {
    return nullptr;
  }
  const FxRate* latest_rate(std::string_view, int64_t) const override { return nullptr; }
  const FxForward* find_forward(std::string_view) const override { return nullptr; }
  const SettlementPolicy* find_settlement_policy(std::string_view,
                                                 std::string_view) const override {
    return nullptr;
  }
  const SettlementInstruction* find_instruction(std::string_view,
                                                std::string_view) const override {
    return nullptr;
  }
};

struct PaymentUpdate {
  std::string payment_id;
  PaymentState state;
};

struct CheckoutUpdate {
  std::string checkout_id;
  CheckoutState state;
};

struct ContractUpdate {
  std::string method;
  Contract contract;
};

struct QuoteUpdate {
  std::string quote_id;
  FxQuote quote;
};

struct ForwardUpdate {
  std::string forward_id;
  FxForward forward;
};

struct PolicyUpdate {
  std::string currency;
  SettlementPolicy policy;
};

struct InstructionUpdate {
  std::string instruction_id;
  SettlementInstruction instruction;
};

// What one accepted event does: a balanced journal entry (possibly empty) and at most one
// payment and one checkout update.
struct Effects {
  JournalEntry entry;
  std::optional<PaymentUpdate> payment;
  std::optional<CheckoutUpdate> checkout;
  std::optional<ContractUpdate> contract;
  std::optional<QuoteUpdate> quote;
  std::optional<FxRate> rate;  // a published rate to keep (reference data)
  std::optional<ForwardUpdate> forward;          // a forward booked or settled (house)
  std::optional<FxRevaluation> revaluation;      // a revaluation run to keep (house)
  std::optional<PolicyUpdate> policy;            // a settlement policy set
  std::optional<InstructionUpdate> instruction;  // a settlement instruction booked or moved on
  // A merchant-level business id to remember (kind letter + id): payout, fee and settlement
  // ids are idempotency keys per merchant, as refund and capture ids are per payment.
  std::optional<std::string> merchant_business_id;
};

// Parses an event amount: known asset, exact decimal within the asset's exponent, > 0 and at
// most the asset's amount ceiling (amount_minor_max, else kOverflow). `field` names the
// field in rejection reasons.
Result<Amount> parse_money(const payledger::v1::Money& money, bool present,
                           std::string_view field);

// Applies one structurally valid event (see events::validate) to the view. Returns the
// effects, whose entry is checked balanced, or a rejection with code and reason.
Result<Effects> apply_event(const payledger::v1::Envelope& event, const LedgerView& view);

// The rejections apply_event makes that no ledger state can change (amounts, currencies,
// times, methods, ...), for checking input before it is logged (`append --dry-run`).
Status check_without_state(const payledger::v1::Envelope& event);

}  // namespace payledger::ledger
