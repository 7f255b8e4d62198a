#include "ledger/rules.h"

#include <algorithm>
#include <stdexcept>

#include "events/schema/ids.h"
#include "ledger/rules_internal.h"

namespace payledger::ledger {
namespace internal {

Result<const PaymentState*> existing(const LedgerView& view, const v1::Envelope& e,
                                     const std::string& payment_id, std::string_view field) {
  if (payment_id.empty()) return missing(field);
  const PaymentState* state = view.find_payment(e.merchant_id(), payment_id);
  if (state == nullptr) {
    return make_error(Code::kUnknownPayment,
                      fmt::format("merchant {} has no payment '{}'", e.merchant_id(), payment_id));
  }
  return state;
}

Status fresh(const LedgerView& view, const v1::Envelope& e, const std::string& payment_id,
             std::string_view field) {
  if (payment_id.empty()) return missing(field);
  if (view.find_payment(e.merchant_id(), payment_id) != nullptr) {
    return make_error(Code::kPaymentExists, fmt::format("payment '{}' already exists", payment_id));
  }
  return Status::Ok();
}

Result<Effects> finish(Effects effects) {
  if (!effects.entry.lines.empty()) {
    Status s = check_balanced(effects.entry);
    // Every rule posts in pairs, so an unbalanced entry is a bug in the rules (pair
    // assertion with the fold's check before booking); amounts are bounded by the ceiling,
    // so an overflow here is a rejection at most.
    PAYLEDGER_CHECK(s.ok() || s.error().code != Code::kUnbalanced, s.error().reason);
    if (!s) return s.error();
    for (const auto& line : effects.entry.lines) {
      PAYLEDGER_CHECK(line.amount_minor.sign() >= 0, "journal lines carry non-negative amounts");
    }
  }
  if (effects.payment) {
    const PaymentState& p = effects.payment->state;
    PAYLEDGER_CHECK(p.captured <= p.authorised, "captured never exceeds authorised");
    PAYLEDGER_CHECK(p.refunded + p.charged_back <= p.captured,
                    "refunds and disputes never exceed captured");
    PAYLEDGER_CHECK(p.fee_returned <= p.fee, "fee returned never exceeds fee charged");
    PAYLEDGER_CHECK(p.coupons <= p.authorised, "coupons never exceed the payment");
    Int128 funded = 0;
    for (const auto& f : p.coupon_funding) {
      PAYLEDGER_CHECK(f.returned.sign() >= 0 && f.returned <= f.applied,
                      "coupons returned to a funder never exceed what it funded");
      funded = funded + f.applied;
    }
    PAYLEDGER_CHECK(funded == p.coupons, "every coupon has its funder");
  }
  return effects;
}

Effects with_payment(std::string payment_id, PaymentState state) {
  Effects fx;
  fx.payment = PaymentUpdate{std::move(payment_id), std::move(state)};
  return fx;
}

Status merchant_business_id(const LedgerView& view, const v1::Envelope& e, MerchantId kind,
                            std::string_view id, Effects& fx) {
  if (id.empty()) return Status::Ok();
  if (id.size() > kIdLengthMax) {
    return make_error(Code::kMalformed, fmt::format("{} is {} bytes; ids are at most {}",
                                                    merchant_id_name(kind), id.size(),
                                                    kIdLengthMax));
  }
  std::string key(1, static_cast<char>(kind));
  key.append(id);
  if (view.merchant_business_id_seen(e.merchant_id(), key)) {
    return make_error(Code::kDuplicateBusinessId,
                      fmt::format("{} '{}' was already applied for merchant {}; a retry must "
                                  "reuse the first event's event_id",
                                  merchant_id_name(kind), id, e.merchant_id()));
  }
  fx.merchant_business_id = std::move(key);
  return Status::Ok();
}

namespace {

// Fees are deducted from what the merchant is owed and earned by the PSP.
Result<Effects> on_fee(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.fee_assessed();
  auto amount = parse_money(b.amount(), b.has_amount(), "fee_assessed.amount");
  if (!amount) return amount.error();
  if (!b.payment_id().empty()) {
    auto state = existing(view, e, b.payment_id(), "fee_assessed.payment_id");
    if (!state) return state.error();
    if (!((*state)->asset == amount->asset())) {
      return make_error(Code::kCurrencyMismatch,
                        fmt::format("fee in {} on a payment in {}", amount->asset().code(),
                                    (*state)->asset.code()));
    }
    if ((*state)->fx) {
      // The merchant of a converted payment is owed in its settlement asset, never in the
      // payment's (docs/fx.md).
      return make_error(Code::kCurrencyMismatch,
                        fmt::format("payment {} settles in {}: assess the fee in {} without "
                                    "payment_id",
                                    b.payment_id(), (*state)->fx->settle,
                                    (*state)->fx->settle));
    }
  }
  Effects fx;
  if (Status s = merchant_business_id(view, e, MerchantId::kFee, b.fee_id(), fx); !s) {
    return s.error();
  }
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
  if (Status s = merchant_business_id(view, e, MerchantId::kPayout, b.payout_id(), fx); !s) {
    return s.error();
  }
  post(fx.entry, payable, Chart::bank_operating(), *amount, Bucket::kPosted);
  return finish(std::move(fx));
}

}  // namespace

// The method a contract names: one the table knows whose fees are the contract's.
Result<const MethodFacts*> contract_method(std::string_view method, std::string_view field) {
  const MethodFacts* facts = find_method(method);
  if (facts != nullptr && facts->contract_fees) return facts;
  return make_error(Code::kMalformed,
                    fmt::format("{} '{}' is not a payment method", field, method));
}

// A contract replaces the previous one for the merchant and method. A fixed fee that could
// never apply (another currency than a single-currency method's) is rejected here, at
// contract time, rather than skipped on every payment.
Result<Effects> on_contract_set(const v1::Envelope& e, const LedgerView&) {
  const auto& b = e.merchant_contract_set();
  auto method = contract_method(b.method(), "merchant_contract_set.method");
  if (!method) return method.error();
  std::optional<Amount> fixed;
  if (b.has_fixed()) {
    auto f = parse_money(b.fixed(), true, "merchant_contract_set.fixed");
    if (!f) return f.error();
    std::string_view currency = (*method)->currency;
    if (!currency.empty() && f->asset().code() != currency) {
      return make_error(Code::kCurrencyMismatch,
                        fmt::format("merchant_contract_set.fixed is in {} but {} payments are in "
                                    "{} only: the fixed fee could never apply",
                                    f->asset().code(), b.method(), currency));
    }
    fixed = *f;
  }
  if (b.percent().empty()) return missing("merchant_contract_set.percent");
  auto contract = make_contract(b.percent(), fixed, b.refund_fees());
  if (!contract) return contract.error();
  if (!b.settlement_currency().empty()) {
    auto settle = Asset::find(b.settlement_currency());
    if (!settle) {
      return make_error(Code::kUnknownAsset,
                        fmt::format("merchant_contract_set.settlement_currency: {}",
                                    settle.error().reason));
    }
    contract->settlement = *settle;
  }
  if (!b.fx_markup_percent().empty()) {
    if (!contract->settlement) {
      return make_error(Code::kMissingField,
                        "merchant_contract_set.settlement_currency (an fx_markup_percent "
                        "applies to conversions into it)");
    }
    auto markup = percent_fraction(b.fx_markup_percent());
    if (!markup) {
      return make_error(markup.error().code,
                        fmt::format("merchant_contract_set.fx_markup_percent: {}",
                                    markup.error().reason));
    }
    contract->fx_markup = std::move(markup).value();
  }
  if (b.fx_rate_max_age_hours() != 0) contract->rate_max_age_h = b.fx_rate_max_age_hours();
  Effects fx;
  fx.contract = ContractUpdate{b.method(), std::move(contract).value()};
  return fx;
}

// Ending a contract keeps a tombstone (ended) so the end is part of the books.
Result<Effects> on_contract_ended(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.merchant_contract_ended();
  if (auto method = contract_method(b.method(), "merchant_contract_ended.method"); !method) {
    return method.error();
  }
  const Contract* current = view.find_contract(e.merchant_id(), b.method());
  if (current == nullptr || current->ended) {
    return make_error(Code::kIllegalTransition,
                      fmt::format("merchant {} has no {} contract to end", e.merchant_id(),
                                  b.method()));
  }
  Effects fx;
  Contract ended;
  ended.ended = true;
  fx.contract = ContractUpdate{b.method(), std::move(ended)};
  return fx;
}

namespace {

// Fee policy: the fee charged is what is returned, pro rata, never more (docs/architecture.md,
// "Money rules"). Money-in charges the merchant's contract (charge_mdr); refunds then return
// refund_fee_due() of what was charged, full reversals reversal_fee_due(), whatever today's
// contract says (return_fees). BNPL fees are the provider's (the method takes no contract,
// methods.h) and handled by the BNPL rules; card voids release holds on which no fee was
// charged, so they return nothing.

// The amount of money this event brought into the payment that a contract prices, or zero:
// none for a late voucher payment (the customer's money) or an e-wallet payment that carries
// its own fee.
Int128 money_in(const v1::Envelope& e, const PaymentState* before, const PaymentState& after) {
  Int128 captured_before = before != nullptr ? before->captured : Int128(0);
  bool explicit_fee = e.has_ewallet_payment_completed() && e.ewallet_payment_completed().has_fee();
  if (after.captured <= captured_before || after.status == PaymentStatus::kPaidLate ||
      explicit_fee) {
    return 0;
  }
  return after.captured - captured_before;
}

// MDR: money-in pays the merchant's contract for the method (percentage of the amount, plus
// the fixed part with the payment's first money-in): Dr merchant payable / Cr fee revenue,
// recorded in the payment with the contract's refund terms.
// Both steps change `fx` (with a payment of a method with contract fees) in place; `before`
// is the payment as it was before the event (nullptr if new).
Status charge_mdr(const v1::Envelope& e, const LedgerView& view, const PaymentState* before,
                  Effects& fx) {
  PaymentState& after = fx.payment->state;
  Int128 received = money_in(e, before, after);
  if (received.is_zero()) return Status::Ok();
  const Contract* contract = view.find_contract(e.merchant_id(), method_name(after.method));
  if (contract == nullptr || contract->ended) return Status::Ok();
  bool first = before == nullptr || before->captured.is_zero();
  auto fee = contract_fee(*contract, Amount::from_minor(after.asset, received), first);
  if (!fee) return fee.error();
  // The refund terms are those of the first money-in charged under a contract.
  if (after.fee.is_zero()) after.fee_refundable = contract->refund_fees;
  if (first && contract->fixed) after.fee_fixed = contract->fixed->minor();
  if (fee->sign() > 0) {
    post(fx.entry, Chart::merchant_payable(e.merchant_id()), Chart::revenue_fees(), *fee,
         Bucket::kPosted);
    after.fee = after.fee + fee->minor();
  }
  return Status::Ok();
}

// Refunds and full reversals give back their share of the fee charged (Dr fee revenue / Cr
// merchant payable).
void return_fees(const v1::Envelope& e, const PaymentState* before, Effects& fx) {
  PaymentState& after = fx.payment->state;
  Int128 refunded_before = before != nullptr ? before->refunded : Int128(0);
  bool reversal = before != nullptr && after.kind != PaymentKind::kCard &&
                  before->status == PaymentStatus::kSettled &&
                  (after.status == PaymentStatus::kReversed ||
                   after.status == PaymentStatus::kVoided);
  Int128 back = reversal                           ? reversal_fee_due(after)
                : after.refunded > refunded_before ? refund_fee_due(after)
                                                   : Int128(0);
  if (back.sign() > 0) {
    post(fx.entry, Chart::revenue_fees(), Chart::merchant_payable(e.merchant_id()),
         Amount::from_minor(after.asset, back), Bucket::kPosted);
    after.fee_returned = after.fee_returned + back;
  }
  PAYLEDGER_CHECK(after.fee_returned <= after.fee, "fee returned never exceeds fee charged");
  PAYLEDGER_CHECK(after.fee_fixed <= after.fee, "the fixed fee is part of the fee charged");
}

// The fee steps, for an event that changed a payment of a method with contract fees.
Result<Effects> apply_fees(const v1::Envelope& e, const LedgerView& view, Effects fx) {
  if (!fx.payment || !method_facts(fx.payment->state.method).contract_fees) return fx;
  const PaymentState* before = view.find_payment(e.merchant_id(), fx.payment->payment_id);
  if (Status s = charge_mdr(e, view, before, fx); !s) return s.error();
  return_fees(e, before, fx);
  return finish(std::move(fx));
}

// Coupon policy (docs/architecture.md, "Coupons on voids and refunds"): a coupon follows the
// sale it paid for. Whenever an event changes the share of the sale that no longer stands
// (a void, reversal, cancellation, expiry, failure, late voucher payment, refund or dispute),
// each funder's returned total is brought to coupon_return_target in the same entry: the
// difference goes back to the PSP or partner that paid it (or, after a won dispute, is paid
// again). Cumulative targets: no rounding drift, a full refund returns exactly what applied.
Result<Effects> apply_coupons(const v1::Envelope& e, const LedgerView& view, Effects fx) {
  if (!fx.payment || fx.payment->state.coupon_funding.empty() || e.has_coupon_applied()) {
    return fx;
  }
  PaymentState& after = fx.payment->state;
  const PaymentState* before = view.find_payment(e.merchant_id(), fx.payment->payment_id);
  if (before == nullptr || coupon_share_gone(*before) == coupon_share_gone(after)) return fx;
  AccountId payable = Chart::merchant_payable(e.merchant_id());
  for (CouponFunding& f : after.coupon_funding) {
    Int128 target = coupon_return_target(f, after);
    PAYLEDGER_CHECK(target.sign() >= 0 && target <= f.applied, "a coupon returns what applied");
    Int128 delta = target - f.returned;
    f.returned = target;
    if (delta.is_zero() || f.funder == CouponFunder::kMerchant) continue;
    AccountId funder = coupon_funder_account(f.funder, f.partner);
    if (delta.sign() > 0) {
      post(fx.entry, payable, funder, Amount::from_minor(after.asset, delta), Bucket::kPosted);
    } else {
      post(fx.entry, funder, payable, Amount::from_minor(after.asset, -delta), Bucket::kPosted);
    }
  }
  return finish(std::move(fx));
}

}  // namespace
}  // namespace internal

Result<Amount> parse_money(const v1::Money& money, bool present, std::string_view field) {
  if (!present || money.currency().empty()) {
    return internal::missing(fmt::format("{}.currency", field));
  }
  if (money.amount().empty()) return internal::missing(fmt::format("{}.amount", field));
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
  if (amount->minor() > amount_minor_max(amount->asset())) {
    return make_error(
        Code::kOverflow,
        fmt::format("{} {} {} is above the per-event maximum {} {} (the amount ceiling)", field,
                    money.amount(), asset->code(),
                    format_scaled(amount_minor_max(amount->asset()), asset->exponent()),
                    asset->code()));
  }
  return amount;
}

namespace {

Result<Effects> dispatch(const v1::Envelope& event, const LedgerView& view) {
  using namespace internal;
  using E = v1::Envelope;
  switch (event.body_case()) {
    case E::kCardAuthorised: return on_card_authorised(event, view);
    case E::kCardCaptured: return on_card_captured(event, view);
    case E::kCardVoided: return on_card_voided(event, view);
    case E::kCardRefunded: return on_card_refunded(event, view);
    case E::kCardAuthorisationExpired: return on_card_expired(event, view);
    case E::kChargebackOpened: return on_chargeback_opened(event, view);
    case E::kChargebackRepresented: return on_chargeback_represented(event, view);
    case E::kChargebackResolved: return on_chargeback_resolved(event, view);
    case E::kCardSchemeSettlementReceived: return on_scheme_settlement(event, view);
    case E::kBankTransferReceived: return on_bank_transfer(event, view);
    case E::kBankTransferRefunded: return on_bank_transfer_refunded(event, view);
    case E::kUpiPaymentPending: return on_upi_pending(event, view);
    case E::kUpiPaymentResolved: return on_upi_resolved(event, view);
    case E::kVoucherIssued: return on_voucher_issued(event, view);
    case E::kVoucherPaid: return on_voucher_paid(event, view);
    case E::kVoucherExpired: return on_voucher_expired(event, view);
    case E::kVoucherCollectorSettled: return on_voucher_settled(event, view);
    case E::kEwalletPaymentCompleted: return on_ewallet_completed(event, view);
    case E::kEwalletPaymentVoided: return on_ewallet_voided(event, view);
    case E::kEwalletPaymentRefunded: return on_ewallet_refunded(event, view);
    case E::kPayByBankInitiated: return on_pay_by_bank_initiated(event, view);
    case E::kPayByBankCompleted: return on_pay_by_bank_completed(event, view);
    case E::kPayByBankFailed: return on_pay_by_bank_failed(event, view);
    case E::kPayByBankExpired: return on_pay_by_bank_expired(event, view);
    case E::kPayByBankRefundSent: return on_pay_by_bank_refund(event, view);
    case E::kBnplOrderApproved: return on_bnpl_approved(event, view);
    case E::kBnplInstalmentCollected: return on_bnpl_instalment(event, view);
    case E::kBnplOrderCancelled: return on_bnpl_cancelled(event, view);
    case E::kBnplRefunded: return on_bnpl_refunded(event, view);
    case E::kCouponApplied: return on_coupon_applied(event, view);
    case E::kCheckoutStarted: return on_checkout_started(event, view);
    case E::kCheckoutCompleted: return on_checkout_completed(event, view);
    case E::kCheckoutAbandoned: return on_checkout_abandoned(event, view);
    case E::kMerchantContractSet: return on_contract_set(event, view);
    case E::kMerchantContractEnded: return on_contract_ended(event, view);
    case E::kFxRatePublished: return on_fx_rate_published(event, view);
    case E::kFxQuoteLocked: return on_fx_quote_locked(event, view);
    case E::kFxConversionExecuted: return on_fx_conversion(event, view);
    case E::kFxForwardBooked: return on_fx_forward_booked(event, view);
    case E::kFxForwardSettled: return on_fx_forward_settled(event, view);
    case E::kFxRevaluationRun: return on_fx_revaluation_run(event, view);
    case E::kMerchantSettlementPolicySet: return on_settlement_policy_set(event, view);
    case E::kSettlementInstructed: return on_settlement_instructed(event, view);
    case E::kSettlementSent: return on_settlement_sent(event, view);
    case E::kSettlementConfirmed: return on_settlement_confirmed(event, view);
    case E::kSettlementReturned: return on_settlement_returned(event, view);
    case E::kSettlementReserveReleased: return on_reserve_released(event, view);
    case E::kTokenMinted: return on_token_minted(event, view);
    case E::kTokenTransferred: return on_token_transferred(event, view);
    case E::kTokenRedeemed: return on_token_redeemed(event, view);
    case E::kSettlementRunStarted: return on_settlement_run_started(event, view);
    case E::kFeeAssessed: return on_fee(event, view);
    case E::kPayoutSent: return on_payout(event, view);
    case E::BODY_NOT_SET: break;
  }
  return make_error(Code::kUnknownBody, "event has no body this ledger knows");
}

}  // namespace

Result<Effects> apply_event(const v1::Envelope& event, const LedgerView& view) {
  // Amounts are bounded by the ceiling, so no step below should overflow; if one ever does,
  // boost's checked integers throw, and the event becomes a kOverflow rejection here instead
  // of an exception out of the fold (which would stop it on this event at every restart).
  // The rules are pure: a rejection leaves nothing half-applied.
  try {
    // Every rule runs the same steps: the event's own rule (dispatch), then what follows
    // from the payment it changed: the MDR on money-in (charge_mdr), fees given back on
    // refunds and reversals (return_fees), coupons following the sale (apply_coupons), and
    // the conversion into the merchant's settlement asset (settle_in_contract_currency).
    auto fx = dispatch(event, view);
    if (!fx) return fx;
    fx = internal::apply_fees(event, view, std::move(fx).value());  // charge_mdr, return_fees
    if (!fx) return fx;
    fx = internal::apply_coupons(event, view, std::move(fx).value());
    if (!fx) return fx;
    fx = internal::settle_in_contract_currency(event, view, std::move(fx).value());
    if (fx) internal::check_token_supply(view, fx->entry);
    return fx;
  } catch (const std::overflow_error& error) {
    return make_error(Code::kOverflow, fmt::format("arithmetic overflow: {}", error.what()));
  } catch (const std::range_error& error) {
    return make_error(Code::kOverflow, fmt::format("arithmetic out of range: {}", error.what()));
  }
}

namespace {

// Rejections an empty ledger explains and a real one may not make: the payment or checkout
// is not there yet (existing(), checkout_outcome()), no money to pay out (on_payout), no
// contract to end (on_contract_ended; every other transition needs a payment found first).
bool needs_state(Code code) {
  return code == Code::kUnknownPayment || code == Code::kInsufficientFunds ||
         code == Code::kIllegalTransition || code == Code::kUnknownForward ||
         code == Code::kUnknownQuote || code == Code::kNoRate ||
         code == Code::kUnknownInstruction || code == Code::kNoSettlementPolicy ||
         code == Code::kNoBalance;
}

}  // namespace

// The same rules the fold runs, not a copy of their checks: what they reject against an
// empty ledger, less what only the empty ledger explains. Misses what a real ledger rejects
// first (a payment id already taken, a duplicate business id), which only the fold knows.
Status check_without_state(const v1::Envelope& event) {
  static const EmptyLedgerView empty;  // every check that needs no state; rejects for lack of
                                       // state are the codes of needs_state()
  auto fx = apply_event(event, empty);
  if (fx || needs_state(fx.error().code)) return Status::Ok();
  return fx.error();
}

}  // namespace payledger::ledger
