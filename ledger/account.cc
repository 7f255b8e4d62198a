#include "ledger/account.h"

#include <fmt/format.h>

#include "events/schema/ids.h"

namespace payledger::ledger {

std::string_view account_type_name(AccountType type) {
  switch (type) {
    case AccountType::kAsset: return "asset";
    case AccountType::kLiability: return "liability";
    case AccountType::kIncome: return "income";
    case AccountType::kExpense: return "expense";
    case AccountType::kEquity: return "equity";
  }
  return "unknown";
}

Side normal_side(AccountType type) {
  return type == AccountType::kAsset || type == AccountType::kExpense ? Side::kDebit
                                                                      : Side::kCredit;
}

Result<AccountId> AccountId::parse(std::string_view name) {
  if (name.empty() || name.size() > kAccountNameLengthMax) {
    return make_error(Code::kInvalidArgument, fmt::format("account name '{}' has a bad length",
                                                          name));
  }
  if (!name.starts_with("merchant:") && !name.starts_with("psp:")) {
    return make_error(Code::kInvalidArgument,
                      fmt::format("account '{}' must start with 'merchant:' or 'psp:'", name));
  }
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find(':', start);
    if (end == std::string_view::npos) end = name.size();
    if (!valid_id(name.substr(start, end - start))) {
      return make_error(Code::kInvalidArgument,
                        fmt::format("account '{}' has an empty or invalid segment", name));
    }
    start = end + 1;
  }
  return AccountId(std::string(name));
}

AccountType AccountId::type() const {
  std::string_view n = name_;
  if (n.starts_with("merchant:")) {
    // A merchant's token wallet holds tokens (asset); everything else is owed to it.
    return n.ends_with(":token-wallet") ? AccountType::kAsset : AccountType::kLiability;
  }
  if (n == "psp:token:issued" || n == "psp:token:clearing") return AccountType::kLiability;
  if (n.starts_with("psp:revenue:")) return AccountType::kIncome;
  if (n.starts_with("psp:expense:")) return AccountType::kExpense;
  if (n.starts_with("psp:equity:")) return AccountType::kEquity;
  // Currency position accounts (the position-account method of FX bookkeeping): a conversion
  // credits the currency bought and debits the one sold, so the balance on the credit side
  // is the PSP's position, positive = long (docs/fx.md).
  if (n.starts_with("psp:fx:")) return AccountType::kEquity;
  if (n.starts_with("psp:suspense:")) return AccountType::kLiability;
  return AccountType::kAsset;  // psp:clearing:*, psp:bank:*
}

namespace {
// prefix + segment + suffix in one allocation: the rules name an account or two per event, and
// fmt::format's parsing of the format string was ~1,000 instructions per event of a fold.
std::string joined(std::string_view prefix, std::string_view segment, std::string_view suffix) {
  std::string s;
  s.reserve(prefix.size() + segment.size() + suffix.size());
  s.append(prefix).append(segment).append(suffix);
  return s;
}
}  // namespace

AccountId Chart::merchant_payable(std::string_view merchant_id) {
  return AccountId(joined("merchant:", merchant_id, ":payable"));
}
AccountId Chart::clearing_card() { return AccountId("psp:clearing:card"); }
AccountId Chart::bank_rail(std::string_view rail) {
  return AccountId(joined("psp:bank:", rail, ""));
}
AccountId Chart::bank_operating() { return AccountId("psp:bank:operating"); }
AccountId Chart::revenue_fees() { return AccountId("psp:revenue:fees"); }
AccountId Chart::fx_position() { return AccountId("psp:fx:position"); }
AccountId Chart::revenue_fx() { return AccountId("psp:revenue:fx"); }
AccountId Chart::revenue_dispute_fees() { return AccountId("psp:revenue:dispute-fees"); }
AccountId Chart::receivable(std::string_view method) {
  return AccountId(joined("psp:receivable:", method, ""));
}
AccountId Chart::suspense_voucher_refunds() { return AccountId("psp:suspense:voucher-refunds"); }
AccountId Chart::expense_marketing() { return AccountId("psp:expense:marketing"); }
AccountId Chart::merchant_settling(std::string_view merchant_id) {
  return AccountId(joined("merchant:", merchant_id, ":settling"));
}
AccountId Chart::merchant_reserve(std::string_view merchant_id) {
  return AccountId(joined("merchant:", merchant_id, ":reserve"));
}
AccountId Chart::settlement_in_transit() { return AccountId("psp:settlement:in-transit"); }
AccountId Chart::token_backing() { return AccountId("psp:token:backing"); }
AccountId Chart::token_issued() { return AccountId("psp:token:issued"); }
AccountId Chart::token_wallet() { return AccountId("psp:token:wallet"); }
AccountId Chart::token_clearing() { return AccountId("psp:token:clearing"); }
AccountId Chart::merchant_token_wallet(std::string_view merchant_id) {
  return AccountId(joined("merchant:", merchant_id, ":token-wallet"));
}

}  // namespace payledger::ledger
