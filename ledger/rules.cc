#include "ledger/rules.h"

#include <fmt/format.h>

namespace payledger::ledger {
namespace {

namespace v1 = payledger::v1;

Line line(AccountId account, const Amount& amount, Side side, Bucket bucket) {
  return Line{std::move(account), amount.asset(), side, bucket, amount.minor()};
}

// Dr `debit` / Cr `credit` for `amount` in `bucket`.
void post(JournalEntry& entry, const AccountId& debit, const AccountId& credit,
          const Amount& amount, Bucket bucket) {
  entry.lines.push_back(line(debit, amount, Side::kDebit, bucket));
  entry.lines.push_back(line(credit, amount, Side::kCredit, bucket));
}

Error missing(std::string_view field) {
  return make_error(Code::kMissingField, fmt::format("{} is required", field));
}

Result<const PaymentState*> existing(const LedgerView& view, const v1::Envelope& e,
                                     const std::string& payment_id) {
  if (payment_id.empty()) return missing("payment_id");
  const PaymentState* state = view.find_payment(e.merchant_id(), payment_id);
  if (state == nullptr) {
    return make_error(Code::kUnknownPayment,
                      fmt::format("merchant {} has no payment '{}'", e.merchant_id(), payment_id));
  }
  return state;
}

Result<Effects> finish(Effects effects) {
  if (Status s = check_balanced(effects.entry); !s) return s.error();
  return effects;
}

// Authorisation holds funds: pending receivable from the scheme, pending payable to the
// merchant. No money has moved yet.
Result<Effects> on_authorised(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.card_authorised();
  if (b.payment_id().empty()) return missing("card_authorised.payment_id");
  auto amount = parse_money(b.amount(), b.has_amount(), "card_authorised.amount");
  if (!amount) return amount.error();
  if (view.find_payment(e.merchant_id(), b.payment_id()) != nullptr) {
    return make_error(Code::kPaymentExists,
                      fmt::format("payment '{}' already exists", b.payment_id()));
  }
  auto state = card_authorise(*amount);
  Effects fx;
  post(fx.entry, Chart::clearing_card(), Chart::merchant_payable(e.merchant_id()), *amount,
       Bucket::kPending);
  fx.payment = PaymentUpdate{b.payment_id(), std::move(state).value()};
  return finish(std::move(fx));
}

// Capture turns part of the hold into money owed: release that part of the pending hold
// and post it as a receivable from the scheme and a payable to the merchant.
Result<Effects> on_captured(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.card_captured();
  auto amount = parse_money(b.amount(), b.has_amount(), "card_captured.amount");
  if (!amount) return amount.error();
  auto state = existing(view, e, b.payment_id());
  if (!state) return state.error();
  auto next = card_capture(**state, *amount);
  if (!next) return next.error();
  Effects fx;
  AccountId payable = Chart::merchant_payable(e.merchant_id());
  post(fx.entry, payable, Chart::clearing_card(), *amount, Bucket::kPending);
  post(fx.entry, Chart::clearing_card(), payable, *amount, Bucket::kPosted);
  fx.payment = PaymentUpdate{b.payment_id(), std::move(next).value()};
  return finish(std::move(fx));
}

// Void releases whatever hold remains; captured money is untouched.
Result<Effects> on_voided(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.card_voided();
  auto state = existing(view, e, b.payment_id());
  if (!state) return state.error();
  auto next = card_void(**state);
  if (!next) return next.error();
  Amount released = Amount::from_minor((*state)->asset, (*state)->held());
  Effects fx;
  post(fx.entry, Chart::merchant_payable(e.merchant_id()), Chart::clearing_card(), released,
       Bucket::kPending);
  fx.payment = PaymentUpdate{b.payment_id(), std::move(next).value()};
  return finish(std::move(fx));
}

// A refund reduces what the PSP owes the merchant and what the scheme owes the PSP.
Result<Effects> on_refunded(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.card_refunded();
  auto amount = parse_money(b.amount(), b.has_amount(), "card_refunded.amount");
  if (!amount) return amount.error();
  auto state = existing(view, e, b.payment_id());
  if (!state) return state.error();
  if ((*state)->kind != PaymentKind::kCard) {
    return make_error(Code::kIllegalTransition, "card refund of a payment that is not a card");
  }
  auto next = payment_refund(**state, *amount);
  if (!next) return next.error();
  Effects fx;
  post(fx.entry, Chart::merchant_payable(e.merchant_id()), Chart::clearing_card(), *amount,
       Bucket::kPosted);
  fx.payment = PaymentUpdate{b.payment_id(), std::move(next).value()};
  return finish(std::move(fx));
}

// PIX and UPI settle instantly: cash is in the PSP's rail account and owed to the merchant.
Result<Effects> on_bank_transfer(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.bank_transfer_received();
  if (b.payment_id().empty()) return missing("bank_transfer_received.payment_id");
  auto amount = parse_money(b.amount(), b.has_amount(), "bank_transfer_received.amount");
  if (!amount) return amount.error();
  std::string_view rail;
  std::string_view rail_currency;
  switch (b.rail()) {
    case v1::BANK_RAIL_PIX: rail = "pix", rail_currency = "BRL"; break;
    case v1::BANK_RAIL_UPI: rail = "upi", rail_currency = "INR"; break;
    default: return missing("bank_transfer_received.rail");
  }
  if (amount->asset().code() != rail_currency) {
    return make_error(Code::kCurrencyMismatch, fmt::format("{} settles in {} only, not {}", rail,
                                                           rail_currency,
                                                           amount->asset().code()));
  }
  if (view.find_payment(e.merchant_id(), b.payment_id()) != nullptr) {
    return make_error(Code::kPaymentExists,
                      fmt::format("payment '{}' already exists", b.payment_id()));
  }
  Effects fx;
  post(fx.entry, Chart::bank_rail(rail), Chart::merchant_payable(e.merchant_id()), *amount,
       Bucket::kPosted);
  fx.payment = PaymentUpdate{b.payment_id(), bank_transfer_received(*amount)};
  return finish(std::move(fx));
}

// Fees are deducted from what the merchant is owed and earned by the PSP.
Result<Effects> on_fee(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.fee_assessed();
  auto amount = parse_money(b.amount(), b.has_amount(), "fee_assessed.amount");
  if (!amount) return amount.error();
  if (!b.payment_id().empty()) {
    auto state = existing(view, e, b.payment_id());
    if (!state) return state.error();
    if (!((*state)->asset == amount->asset())) {
      return make_error(Code::kCurrencyMismatch,
                        fmt::format("fee in {} on a payment in {}", amount->asset().code(),
                                    (*state)->asset.code()));
    }
  }
  Effects fx;
  post(fx.entry, Chart::merchant_payable(e.merchant_id()), Chart::revenue_fees(), *amount,
       Bucket::kPosted);
  return finish(std::move(fx));
}

// A payout pays the merchant's available (posted) balance out of the operating account;
// it may never exceed that balance: pending holds are not the merchant's money yet.
Result<Effects> on_payout(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.payout_sent();
  if (b.payout_id().empty()) return missing("payout_sent.payout_id");
  auto amount = parse_money(b.amount(), b.has_amount(), "payout_sent.amount");
  if (!amount) return amount.error();
  AccountId payable = Chart::merchant_payable(e.merchant_id());
  Int128 available = view.balance(payable, amount->asset()).posted_net(Side::kCredit);
  if (amount->minor() > available) {
    return make_error(Code::kInsufficientFunds,
                      fmt::format("payout of {} {} exceeds available {} {}", amount->to_string(),
                                  amount->asset().code(),
                                  format_scaled(available, amount->asset().exponent()),
                                  amount->asset().code()));
  }
  Effects fx;
  post(fx.entry, payable, Chart::bank_operating(), *amount, Bucket::kPosted);
  return finish(std::move(fx));
}

}  // namespace

Result<Amount> parse_money(const v1::Money& money, bool present, std::string_view field) {
  if (!present || money.currency().empty()) return missing(fmt::format("{}.currency", field));
  if (money.amount().empty()) return missing(fmt::format("{}.amount", field));
  auto asset = Asset::find(money.currency());
  if (!asset) return asset.error();
  auto amount = Amount::parse(money.amount(), *asset);
  if (!amount) {
    return make_error(amount.error().code,
                      fmt::format("{}: {} ({})", field, amount.error().reason, asset->code()));
  }
  if (amount->sign() <= 0) {
    return make_error(Code::kNonPositiveAmount,
                      fmt::format("{} must be greater than zero, got {}", field, money.amount()));
  }
  return amount;
}

Result<Effects> apply_event(const v1::Envelope& event, const LedgerView& view) {
  switch (event.body_case()) {
    case v1::Envelope::kCardAuthorised: return on_authorised(event, view);
    case v1::Envelope::kCardCaptured: return on_captured(event, view);
    case v1::Envelope::kCardVoided: return on_voided(event, view);
    case v1::Envelope::kCardRefunded: return on_refunded(event, view);
    case v1::Envelope::kBankTransferReceived: return on_bank_transfer(event, view);
    case v1::Envelope::kFeeAssessed: return on_fee(event, view);
    case v1::Envelope::kPayoutSent: return on_payout(event, view);
    case v1::Envelope::BODY_NOT_SET: break;
  }
  return make_error(Code::kUnknownBody, "event has no body this ledger knows");
}

}  // namespace payledger::ledger
