// Chart of accounts. Accounts have hierarchical names ("merchant:m42:payable",
// "psp:clearing:card", "psp:revenue:fees"); the first segments decide the account's type
// and therefore its normal side, used only for presenting balances.
#pragma once

#include <string>
#include <string_view>

#include "events/schema/result.h"

namespace payledger::ledger {

inline constexpr size_t kAccountNameLengthMax = 128;

enum class AccountType : uint8_t { kAsset, kLiability, kIncome, kExpense, kEquity };
enum class Side : uint8_t { kDebit = 0, kCredit = 1 };

std::string_view account_type_name(AccountType type);
// Assets and expenses grow with debits; liabilities, income and equity with credits.
Side normal_side(AccountType type);

class AccountId {
 public:
  // Validates a full name: ':'-separated valid segments, known top-level ("merchant", "psp").
  static Result<AccountId> parse(std::string_view name);

  const std::string& name() const { return name_; }
  AccountType type() const;

  friend bool operator==(const AccountId& a, const AccountId& b) { return a.name_ == b.name_; }
  friend bool operator<(const AccountId& a, const AccountId& b) { return a.name_ < b.name_; }

 private:
  friend class Chart;
  explicit AccountId(std::string name) : name_(std::move(name)) {}
  std::string name_;
};

// The accounts the posting rules use. Merchant ids must be valid segments (checked by
// event validation before the rules run).
class Chart {
 public:
  // What the PSP owes the merchant (liability): captured sales less refunds, fees, payouts.
  static AccountId merchant_payable(std::string_view merchant_id);
  // Receivable from the card schemes until scheme settlement arrives (asset).
  static AccountId clearing_card();
  // The PSP's settlement account on a real-time rail ("pix", "upi") (asset).
  static AccountId bank_rail(std::string_view rail);
  // The PSP's operating bank account, source of merchant payouts (asset).
  static AccountId bank_operating();
  // Fees charged to merchants (income).
  static AccountId revenue_fees();
  // Dispute fees charged to merchants on chargebacks (income); kept even when a dispute is won.
  static AccountId revenue_dispute_fees();
  // Money a collector (Konbini chain, Boleto bank, OXXO) owes the PSP for paid vouchers;
  // pending while a voucher is issued and unpaid (asset). `method`: "konbini", ...
  static AccountId receivable(std::string_view method);
  // Vouchers paid after expiry: the customer's money, to be refunded (liability).
  static AccountId suspense_voucher_refunds();
  // Coupons the PSP funds from its marketing budget (expense).
  static AccountId expense_marketing();
  // The PSP's currency position per asset: a conversion credits the currency the PSP took in
  // and debits the one it gave, so its balance (credit side) is the position, positive = long
  // (the position-account method; docs/fx.md).
  static AccountId fx_position();
  // FX markup kept on conversions (income).
  static AccountId revenue_fx();
  // Settlement (docs/settlement.md). What a settlement instruction took out of the merchant's
  // payable until the merchant has it (liability).
  static AccountId merchant_settling(std::string_view merchant_id);
  // The rolling reserve held back from the merchant's payouts until its release (liability).
  static AccountId merchant_reserve(std::string_view merchant_id);
  // Batch payouts that left the operating account and are not yet confirmed (asset).
  static AccountId settlement_in_transit();
  // Deposits set aside to back the deposit tokens minted (asset, in the currency).
  static AccountId token_backing();
  // Deposit tokens minted and not yet redeemed (liability, in the token): the supply.
  static AccountId token_issued();
  // The PSP's own token wallet (asset, in the token).
  static AccountId token_wallet();
  // The backing owed to the tokens merchants hold (liability, in the currency).
  static AccountId token_clearing();
  // A merchant's token wallet (memo of what it holds, asset, in the token).
  static AccountId merchant_token_wallet(std::string_view merchant_id);
};

}  // namespace payledger::ledger
