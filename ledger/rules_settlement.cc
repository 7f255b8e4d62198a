// Settlement posting rules (docs/settlement.md): policies, instructions and their lifecycle on
// the batch and tokenised rails, and deposit tokens. Decisions (what to pay, when) are made by
// payledger_settlement and arrive as events; these rules check them against the books and
// post them. Accounts, per currency C and its deposit token T = "C.TDS":
//   instructed  Dr merchant payable (amount + reserve) / Cr merchant settling (amount),
//               Cr merchant reserve (reserve)
//   sent        Dr psp:settlement:in-transit / Cr psp:bank:operating            (batch)
//   confirmed   Dr merchant settling / Cr psp:settlement:in-transit             (batch)
//   returned    [if sent: Dr psp:bank:operating / Cr in-transit]
//               Dr merchant settling / Cr merchant payable                      (batch)
//   released    Dr merchant reserve / Cr merchant payable
//   minted      Dr psp:token:backing / Cr psp:bank:operating (C);
//               Dr psp:token:wallet / Cr psp:token:issued (T)
//   transferred Dr merchant token-wallet / Cr psp:token:wallet (T);
//               Dr merchant settling / Cr psp:token:clearing (C)             (tokenised)
//   redeemed    Dr psp:token:issued / Cr merchant token-wallet (T);
//               Dr psp:token:clearing / Cr psp:token:backing (C)
// So the supply (psp:token:issued in T) and the deposits set aside (psp:token:backing in C)
// move only together: check_token_supply asserts it after every event.
#include <fmt/format.h>

#include <algorithm>

#include "events/schema/check.h"
#include "events/schema/ids.h"
#include "ledger/contract.h"
#include "ledger/local_time.h"
#include "ledger/rules_internal.h"

namespace payledger::ledger::internal {
namespace {

constexpr uint32_t kSettlementDaysMax = 10;
constexpr uint32_t kReserveDaysMax = 365;
constexpr uint32_t kSweepMinutesMax = 1440;
constexpr size_t kReturnReasonMax = 256;

// kMissingField / kMalformed unless `id` is a valid business id.
Status business_id(const std::string& id, std::string_view field) {
  if (id.empty()) return missing(field);
  if (!valid_id(id)) {
    return make_error(Code::kMalformed,
                      fmt::format("{} '{}' must be 1-64 chars of A-Z a-z 0-9 _ - .", field, id));
  }
  return Status::Ok();
}

Result<Rail> parse_rail(v1::SettlementRail rail, std::string_view field) {
  switch (rail) {
    case v1::SETTLEMENT_RAIL_BATCH:
      return Rail::kBatch;
    case v1::SETTLEMENT_RAIL_TOKENISED:
      return Rail::kTokenised;
    default:
      return missing(field);
  }
}

// "HH:MM", 00:00-23:59, as minutes after midnight.
Result<int32_t> parse_cutoff(std::string_view text, std::string_view field) {
  auto digit = [&](size_t i) { return text[i] >= '0' && text[i] <= '9'; };
  if (text.size() == 5 && digit(0) && digit(1) && text[2] == ':' && digit(3) && digit(4)) {
    int32_t hours = (text[0] - '0') * 10 + (text[1] - '0');
    int32_t minutes = (text[3] - '0') * 10 + (text[4] - '0');
    if (hours < 24 && minutes < 60) return hours * 60 + minutes;
  }
  return make_error(Code::kMalformed,
                    fmt::format("{} '{}' is not a time of day HH:MM (00:00-23:59)", field, text));
}

Error bad_range(std::string_view field, uint32_t value, uint32_t lo, uint32_t hi) {
  return make_error(Code::kMalformed, fmt::format("{} {} is outside {}..{}", field, value, lo, hi));
}

// The instruction an answer names: kMissingField / kUnknownInstruction.
Result<const SettlementInstruction*> instruction(const v1::Envelope& e, const LedgerView& view,
                                                 const std::string& id, std::string_view field) {
  if (id.empty()) return missing(field);
  const SettlementInstruction* found = view.find_instruction(e.merchant_id(), id);
  if (found == nullptr) {
    return make_error(Code::kUnknownInstruction,
                      fmt::format("{} '{}': merchant {} has no such settlement instruction", field,
                                  id, e.merchant_id()));
  }
  return found;
}

// kIllegalTransition unless the instruction is on `rail` and in `from` (or `also`).
Status expect(const std::string& id, const SettlementInstruction& in, Rail rail,
              std::string_view what, InstructionStatus from,
              std::optional<InstructionStatus> also = std::nullopt) {
  if (in.rail != rail) {
    return make_error(Code::kIllegalTransition,
                      fmt::format("instruction {} is on the {} rail: it cannot be {}", id,
                                  rail_name(in.rail), what));
  }
  if (in.status != from && (!also || in.status != *also)) {
    std::string_view dup = in.status == InstructionStatus::kConfirmed && what == "confirmed"
                               ? " (a duplicate confirmation)"
                               : "";
    return make_error(Code::kIllegalTransition,
                      fmt::format("instruction {} is {}: it cannot be {}{}", id,
                                  instruction_status_name(in.status), what, dup));
  }
  return Status::Ok();
}

Effects with_instruction(std::string id, SettlementInstruction in) {
  Effects fx;
  fx.instruction = InstructionUpdate{std::move(id), std::move(in)};
  return fx;
}

Amount amount_of(const SettlementInstruction& in, const Int128& minor) {
  auto asset = Asset::find(in.currency);
  PAYLEDGER_CHECK(asset.ok(), "a booked instruction's currency is known");
  return Amount::from_minor(*asset, minor);
}

// An amount in a deposit token, and the currency backing it (same exponent).
struct TokenAmount {
  Amount tokens;
  Amount deposits;
};
Result<TokenAmount> token_amount(const v1::Money& money, bool present, std::string_view field) {
  auto amount = parse_money(money, present, field);
  if (!amount) return amount.error();
  std::string currency = token_currency(amount->asset().code());
  if (currency.empty()) {
    return make_error(Code::kCurrencyMismatch,
                      fmt::format("{} is in {}, not a deposit token (\"<CCY>.TDS\")", field,
                                  amount->asset().code()));
  }
  Asset backing = Asset::find(currency).value();
  PAYLEDGER_CHECK(backing.exponent() == amount->asset().exponent(),
                  "a deposit token has its currency's exponent");
  return TokenAmount{*amount, Amount::from_minor(backing, amount->minor())};
}

// The account's posted balance on its debit side.
Int128 held(const LedgerView& view, const AccountId& account, Asset asset) {
  return view.balance(account, asset).posted_net(Side::kDebit);
}

}  // namespace

Result<Effects> on_settlement_policy_set(const v1::Envelope& e, const LedgerView&) {
  const auto& b = e.merchant_settlement_policy_set();
  constexpr std::string_view kName = "merchant_settlement_policy_set";
  if (b.currency().empty()) return missing("merchant_settlement_policy_set.currency");
  auto currency = Asset::find(b.currency());
  if (!currency) return currency.error();
  if (currency->kind() != AssetKind::kFiat || deposit_token(b.currency()).empty()) {
    return make_error(Code::kUnknownAsset,
                      fmt::format("{}.currency {}: settlement pays out a currency with a "
                                  "business-day calendar and a deposit token (USD, EUR, GBP, "
                                  "JPY, BRL, INR, MXN)",
                                  kName, b.currency()));
  }
  SettlementPolicy policy;
  auto rail = parse_rail(b.rail(), "merchant_settlement_policy_set.rail");
  if (!rail) return rail.error();
  policy.rail = *rail;
  if (b.cutoff_local().empty()) return missing("merchant_settlement_policy_set.cutoff_local");
  auto cutoff = parse_cutoff(b.cutoff_local(), "merchant_settlement_policy_set.cutoff_local");
  if (!cutoff) return cutoff.error();
  policy.cutoff_minute = *cutoff;
  if (b.time_zone().empty()) return missing("merchant_settlement_policy_set.time_zone");
  auto zone = find_time_zone(b.time_zone());
  if (!zone) {
    return make_error(Code::kMalformed, fmt::format("merchant_settlement_policy_set.time_zone: {}",
                                                    zone.error().reason));
  }
  policy.time_zone = b.time_zone();
  if (b.settlement_days() > kSettlementDaysMax) {
    return bad_range("merchant_settlement_policy_set.settlement_days", b.settlement_days(), 0,
                     kSettlementDaysMax);
  }
  policy.settlement_days = b.settlement_days();
  if (b.has_minimum_payout()) {
    auto minimum =
        parse_money(b.minimum_payout(), true, "merchant_settlement_policy_set.minimum_payout");
    if (!minimum) return minimum.error();
    if (!(minimum->asset() == *currency)) {
      return make_error(Code::kCurrencyMismatch,
                        fmt::format("{}.minimum_payout is in {}, the policy pays {}", kName,
                                    minimum->asset().code(), b.currency()));
    }
    policy.minimum_payout = minimum->minor();
  }
  auto reserve = percent_fraction(b.reserve_percent().empty() ? "0" : b.reserve_percent());
  if (!reserve) {
    return make_error(reserve.error().code,
                      fmt::format("{}.reserve_percent: {}", kName, reserve.error().reason));
  }
  if (*reserve) {
    if (b.reserve_days() < 1 || b.reserve_days() > kReserveDaysMax) {
      return bad_range("merchant_settlement_policy_set.reserve_days", b.reserve_days(), 1,
                       kReserveDaysMax);
    }
    policy.reserve_percent = b.reserve_percent();
    policy.reserve_days = b.reserve_days();
  } else if (b.reserve_days() != 0) {
    return make_error(Code::kMalformed, fmt::format("{}.reserve_days {} without a reserve_percent",
                                                    kName, b.reserve_days()));
  }
  if (b.sweep_minutes() > kSweepMinutesMax) {
    return bad_range("merchant_settlement_policy_set.sweep_minutes", b.sweep_minutes(), 0,
                     kSweepMinutesMax);
  }
  policy.sweep_minutes = b.sweep_minutes();
  policy.set_at_s = event_time(e);
  Effects fx;
  fx.policy = PolicyUpdate{b.currency(), std::move(policy)};
  return fx;
}

Result<Effects> on_settlement_instructed(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.settlement_instructed();
  constexpr std::string_view kName = "settlement_instructed";
  if (Status s = business_id(b.instruction_id(), "settlement_instructed.instruction_id"); !s) {
    return s.error();
  }
  auto amount = parse_money(b.amount(), b.has_amount(), "settlement_instructed.amount");
  if (!amount) return amount.error();
  auto rail = parse_rail(b.rail(), "settlement_instructed.rail");
  if (!rail) return rail.error();
  if (!b.has_value_date()) return missing("settlement_instructed.value_date");
  const int64_t now = event_time(e);
  // A value date is a local banking day (its 00:00 UTC): west of UTC the local day of an
  // instruction can be the UTC day before, hence a day of slack.
  const int64_t utc_day = now >= 0 ? now / 86400 : -((-now + 86399) / 86400);
  if (b.value_date().seconds() < (utc_day - 1) * 86400) {
    return make_error(Code::kMalformed,
                      fmt::format("{}.value_date is before the instruction's day", kName));
  }
  Int128 reserve = 0;
  int64_t release_s = 0;
  if (b.has_reserve()) {
    auto r = parse_money(b.reserve(), true, "settlement_instructed.reserve");
    if (!r) return r.error();
    if (!(r->asset() == amount->asset())) {
      return make_error(Code::kCurrencyMismatch,
                        fmt::format("{}.reserve is in {}, the amount in {}", kName,
                                    r->asset().code(), amount->asset().code()));
    }
    if (!b.has_reserve_release_at()) return missing("settlement_instructed.reserve_release_at");
    if (b.reserve_release_at().seconds() <= now) {
      return make_error(Code::kMalformed,
                        fmt::format("{}.reserve_release_at is not after the instruction", kName));
    }
    reserve = r->minor();
    release_s = b.reserve_release_at().seconds();
  } else if (b.has_reserve_release_at()) {
    return make_error(Code::kMalformed,
                      fmt::format("{}.reserve_release_at without a reserve", kName));
  }
  int64_t cutoff_s = now;
  if (b.has_cycle_cutoff()) {
    if (b.cycle_cutoff().seconds() > now) {
      return make_error(Code::kMalformed,
                        fmt::format("{}.cycle_cutoff is after the instruction", kName));
    }
    cutoff_s = b.cycle_cutoff().seconds();
  }
  const std::string& currency = amount->asset().code();
  const AccountId payable = Chart::merchant_payable(e.merchant_id());
  const Balance balance = view.balance(payable, amount->asset());
  if (balance == Balance{}) {
    return make_error(Code::kNoBalance, fmt::format("merchant {} has no {} balance to settle",
                                                    e.merchant_id(), currency));
  }
  const SettlementPolicy* policy = view.find_settlement_policy(e.merchant_id(), currency);
  if (policy == nullptr) {
    return make_error(
        Code::kNoSettlementPolicy,
        fmt::format("merchant {} has no settlement policy for {}", e.merchant_id(), currency));
  }
  if (policy->rail != *rail) {
    return make_error(
        Code::kIllegalTransition,
        fmt::format("merchant {} is paid in {} by the {} rail, not {}", e.merchant_id(), currency,
                    rail_name(policy->rail), rail_name(*rail)));
  }
  if (view.find_instruction(e.merchant_id(), b.instruction_id()) != nullptr) {
    return make_error(Code::kDuplicateBusinessId,
                      fmt::format("{}.instruction_id '{}' was already booked for merchant {}; "
                                  "a retry must reuse the first event's event_id",
                                  kName, b.instruction_id(), e.merchant_id()));
  }
  const Int128 available = balance.posted_net(Side::kCredit);
  const Int128 total = amount->minor() + reserve;
  if (total > available) {
    return make_error(
        Code::kInsufficientFunds,
        fmt::format("settlement of {} {} (reserve {}) exceeds available {} {}", amount->to_string(),
                    currency, format_scaled(reserve, amount->asset().exponent()),
                    format_scaled(available, amount->asset().exponent()), currency));
  }
  SettlementInstruction in;
  in.currency = currency;
  in.rail = *rail;
  in.amount = amount->minor();
  in.reserve = reserve;
  in.reserve_release_s = release_s;
  in.instructed_s = now;
  in.cutoff_s = cutoff_s;
  in.value_date_s = b.value_date().seconds();
  Effects fx = with_instruction(b.instruction_id(), std::move(in));
  post(fx.entry, payable, Chart::merchant_settling(e.merchant_id()), *amount, Bucket::kPosted);
  if (reserve != 0) {
    post(fx.entry, payable, Chart::merchant_reserve(e.merchant_id()),
         Amount::from_minor(amount->asset(), reserve), Bucket::kPosted);
  }
  return finish(std::move(fx));
}

Result<Effects> on_settlement_sent(const v1::Envelope& e, const LedgerView& view) {
  const auto& id = e.settlement_sent().instruction_id();
  auto in = instruction(e, view, id, "settlement_sent.instruction_id");
  if (!in) return in.error();
  if (Status s = expect(id, **in, Rail::kBatch, "sent", InstructionStatus::kInstructed); !s) {
    return s.error();
  }
  SettlementInstruction next = **in;
  next.status = InstructionStatus::kSent;
  next.sent_s = event_time(e);
  Effects fx = with_instruction(id, next);
  post(fx.entry, Chart::settlement_in_transit(), Chart::bank_operating(),
       amount_of(next, next.amount), Bucket::kPosted);
  return finish(std::move(fx));
}

Result<Effects> on_settlement_confirmed(const v1::Envelope& e, const LedgerView& view) {
  const auto& id = e.settlement_confirmed().instruction_id();
  auto in = instruction(e, view, id, "settlement_confirmed.instruction_id");
  if (!in) return in.error();
  const bool batch = (*in)->rail == Rail::kBatch;
  if (Status s = expect(id, **in, (*in)->rail, "confirmed",
                        batch ? InstructionStatus::kSent : InstructionStatus::kTransferred);
      !s) {
    return s.error();
  }
  SettlementInstruction next = **in;
  next.status = InstructionStatus::kConfirmed;
  next.done_s = event_time(e);
  Effects fx = with_instruction(id, next);
  // A tokenised payout was the merchant's when the tokens reached its wallet; the bank's
  // confirmation moves nothing more.
  if (batch) {
    post(fx.entry, Chart::merchant_settling(e.merchant_id()), Chart::settlement_in_transit(),
         amount_of(next, next.amount), Bucket::kPosted);
  }
  return finish(std::move(fx));
}

Result<Effects> on_settlement_returned(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.settlement_returned();
  auto in = instruction(e, view, b.instruction_id(), "settlement_returned.instruction_id");
  if (!in) return in.error();
  if (b.reason().empty()) return missing("settlement_returned.reason");
  if (b.reason().size() > kReturnReasonMax ||
      std::any_of(b.reason().begin(), b.reason().end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    return make_error(Code::kMalformed,
                      fmt::format("settlement_returned.reason must be 1-{} bytes of text "
                                  "without control characters",
                                  kReturnReasonMax));
  }
  if (Status s = expect(b.instruction_id(), **in, Rail::kBatch, "returned",
                        InstructionStatus::kInstructed, InstructionStatus::kSent);
      !s) {
    return s.error();
  }
  SettlementInstruction next = **in;
  const bool was_sent = next.status == InstructionStatus::kSent;
  next.status = InstructionStatus::kReturned;
  next.done_s = event_time(e);
  next.return_reason = b.reason();
  const Amount amount = amount_of(next, next.amount);
  Effects fx = with_instruction(b.instruction_id(), next);
  if (was_sent) {
    post(fx.entry, Chart::bank_operating(), Chart::settlement_in_transit(), amount,
         Bucket::kPosted);
  }
  post(fx.entry, Chart::merchant_settling(e.merchant_id()),
       Chart::merchant_payable(e.merchant_id()), amount, Bucket::kPosted);
  return finish(std::move(fx));
}

Result<Effects> on_reserve_released(const v1::Envelope& e, const LedgerView& view) {
  const auto& id = e.settlement_reserve_released().instruction_id();
  auto in = instruction(e, view, id, "settlement_reserve_released.instruction_id");
  if (!in) return in.error();
  if ((*in)->reserve == 0) {
    return make_error(Code::kIllegalTransition, fmt::format("instruction {} held no reserve", id));
  }
  if ((*in)->reserve_released) {
    return make_error(Code::kIllegalTransition,
                      fmt::format("instruction {}'s reserve was already released", id));
  }
  if (event_time(e) < (*in)->reserve_release_s) {
    return make_error(Code::kNotYetExpired,
                      fmt::format("instruction {}'s reserve is held until {} (epoch seconds)", id,
                                  (*in)->reserve_release_s));
  }
  SettlementInstruction next = **in;
  next.reserve_released = true;
  Effects fx = with_instruction(id, next);
  post(fx.entry, Chart::merchant_reserve(e.merchant_id()), Chart::merchant_payable(e.merchant_id()),
       amount_of(next, next.reserve), Bucket::kPosted);
  return finish(std::move(fx));
}

Result<Effects> on_token_minted(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.token_minted();
  if (Status s = business_id(b.mint_id(), "token_minted.mint_id"); !s) return s.error();
  auto amount = token_amount(b.amount(), b.has_amount(), "token_minted.amount");
  if (!amount) return amount.error();
  Effects fx;
  if (!b.instruction_id().empty()) {
    auto in = instruction(e, view, b.instruction_id(), "token_minted.instruction_id");
    if (!in) return in.error();
    if (Status s = expect(b.instruction_id(), **in, Rail::kTokenised, "minted for",
                          InstructionStatus::kInstructed);
        !s) {
      return s.error();
    }
    if ((*in)->minted) {
      return make_error(Code::kIllegalTransition,
                        fmt::format("instruction {} was minted for already", b.instruction_id()));
    }
    if ((*in)->currency != amount->deposits.asset().code() ||
        (*in)->amount != amount->tokens.minor()) {
      return make_error(Code::kIllegalTransition,
                        fmt::format("token_minted.amount {} {} is not instruction {}'s {} {}",
                                    amount->tokens.to_string(), amount->tokens.asset().code(),
                                    b.instruction_id(),
                                    format_scaled((*in)->amount, amount->tokens.asset().exponent()),
                                    (*in)->currency));
    }
    SettlementInstruction next = **in;
    next.minted = true;
    fx.instruction = InstructionUpdate{b.instruction_id(), std::move(next)};
  }
  if (Status s = merchant_business_id(view, e, MerchantId::kMint, b.mint_id(), fx); !s) {
    return s.error();
  }
  post(fx.entry, Chart::token_backing(), Chart::bank_operating(), amount->deposits,
       Bucket::kPosted);
  post(fx.entry, Chart::token_wallet(), Chart::token_issued(), amount->tokens, Bucket::kPosted);
  return finish(std::move(fx));
}

Result<Effects> on_token_transferred(const v1::Envelope& e, const LedgerView& view) {
  const auto& id = e.token_transferred().instruction_id();
  auto in = instruction(e, view, id, "token_transferred.instruction_id");
  if (!in) return in.error();
  if (Status s = expect(id, **in, Rail::kTokenised, "transferred", InstructionStatus::kInstructed);
      !s) {
    return s.error();
  }
  SettlementInstruction next = **in;
  const Amount deposits = amount_of(next, next.amount);
  const Asset token = Asset::find(deposit_token(next.currency)).value();
  const Amount tokens = Amount::from_minor(token, next.amount);
  const Int128 wallet = held(view, Chart::token_wallet(), token);
  if (wallet < next.amount) {
    return make_error(
        Code::kInsufficientFunds,
        fmt::format("the PSP's token wallet holds {} {}, the transfer needs {}: "
                    "mint first",
                    format_scaled(wallet, token.exponent()), token.code(), tokens.to_string()));
  }
  next.status = InstructionStatus::kTransferred;
  next.sent_s = event_time(e);
  Effects fx = with_instruction(id, next);
  post(fx.entry, Chart::merchant_token_wallet(e.merchant_id()), Chart::token_wallet(), tokens,
       Bucket::kPosted);
  post(fx.entry, Chart::merchant_settling(e.merchant_id()), Chart::token_clearing(), deposits,
       Bucket::kPosted);
  return finish(std::move(fx));
}

Result<Effects> on_token_redeemed(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.token_redeemed();
  if (Status s = business_id(b.redemption_id(), "token_redeemed.redemption_id"); !s) {
    return s.error();
  }
  auto amount = token_amount(b.amount(), b.has_amount(), "token_redeemed.amount");
  if (!amount) return amount.error();
  // A retry of an applied redemption is a duplicate, whatever the wallet holds now.
  Effects fx;
  if (Status s = merchant_business_id(view, e, MerchantId::kRedemption, b.redemption_id(), fx);
      !s) {
    return s.error();
  }
  const AccountId wallet = Chart::merchant_token_wallet(e.merchant_id());
  const Int128 holds = held(view, wallet, amount->tokens.asset());
  if (amount->tokens.minor() > holds) {
    return make_error(
        Code::kInsufficientFunds,
        fmt::format("redemption of {} {} exceeds the {} merchant {}'s wallet holds",
                    amount->tokens.to_string(), amount->tokens.asset().code(),
                    format_scaled(holds, amount->tokens.asset().exponent()), e.merchant_id()));
  }
  post(fx.entry, Chart::token_issued(), wallet, amount->tokens, Bucket::kPosted);
  post(fx.entry, Chart::token_clearing(), Chart::token_backing(), amount->deposits,
       Bucket::kPosted);
  return finish(std::move(fx));
}

// Moves nothing: its time brings the partition's deadlines due by the run before it decides.
Result<Effects> on_settlement_run_started(const v1::Envelope& e, const LedgerView&) {
  const auto& b = e.settlement_run_started();
  if (!b.has_as_of()) return missing("settlement_run_started.as_of");
  if (b.as_of().seconds() != event_time(e) || b.as_of().nanos() != e.occurred_at().nanos()) {
    return make_error(Code::kMalformed, "settlement_run_started.as_of must equal occurred_at");
  }
  return Effects{};
}

void check_token_supply(const LedgerView& view, const JournalEntry& entry) {
  static const AccountId issued = Chart::token_issued();
  static const AccountId backing = Chart::token_backing();
  for (const Line& line : entry.lines) {
    // Each currency whose supply or backing this entry moves (checked once per line: an
    // entry has at most kEntryLinesMax lines).
    std::string currency;
    if (line.account == issued)
      currency = token_currency(line.asset.code());
    else if (line.account == backing)
      currency = line.asset.code();
    else
      continue;
    const std::string token_code = deposit_token(currency);
    PAYLEDGER_CHECK(!currency.empty() && !token_code.empty(),
                    fmt::format("{} moved in {}, which is not a deposit token's",
                                line.account.name(), line.asset.code()));
    const Asset token = Asset::find(token_code).value();
    const Asset cash = Asset::find(currency).value();
    Int128 supply = view.balance(issued, token).posted_net(Side::kCredit);
    Int128 set_aside = view.balance(backing, cash).posted_net(Side::kDebit);
    for (const Line& l : entry.lines) {
      if (l.bucket != Bucket::kPosted) continue;
      const Int128 debit = l.side == Side::kDebit ? l.amount_minor : Int128(-l.amount_minor);
      if (l.account == issued && l.asset == token) supply -= debit;
      if (l.account == backing && l.asset == cash) set_aside += debit;
    }
    PAYLEDGER_CHECK(supply == set_aside,
                    fmt::format("tokens in circulation ({} {}) equal the deposits set aside for "
                                "them ({} {})",
                                format_scaled(supply, token.exponent()), token.code(),
                                format_scaled(set_aside, cash.exponent()), currency));
  }
}

}  // namespace payledger::ledger::internal
