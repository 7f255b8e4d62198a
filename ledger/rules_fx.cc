// FX rules (issue 10, docs/fx.md): published rates and locked quotes. No money moves when a
// rate is published or a quote is locked; payments that convert (next step) read them.
#include <fmt/format.h>

#include "events/schema/ids.h"
#include "ledger/contract.h"
#include "ledger/fx.h"
#include "ledger/rules_internal.h"

namespace payledger::ledger::internal {

// A pair of an event: canonical, known assets. `field` names it in the reason.
Result<CurrencyPair> event_pair(std::string_view text, std::string_view field) {
  if (text.empty()) return missing(field);
  auto pair = CurrencyPair::parse(text);
  if (pair) return pair;
  Code code = pair.error().code == Code::kUnknownAsset ? Code::kUnknownAsset : Code::kMalformed;
  return make_error(code, fmt::format("{}: {}", field, pair.error().reason));
}

// A rate of an event: an exact decimal > 0 with at most kRateScaleMax decimals.
Result<Rate> event_rate(std::string_view text, std::string_view field) {
  if (text.empty()) return missing(field);
  auto rate = Rate::parse(text);
  if (rate) return rate;
  // A well-formed decimal that is zero or negative gets its own code.
  size_t point = text.find('.');
  int decimals = point == std::string_view::npos ? 0 : static_cast<int>(text.size() - point - 1);
  if (decimals > kRateScaleMax) {
    return make_error(rate.error().code, fmt::format("{}: {}", field, rate.error().reason));
  }
  if (auto value = parse_scaled(text, decimals); value && value->sign() <= 0) {
    return make_error(Code::kNonPositiveAmount,
                      fmt::format("{} '{}': a rate must be greater than zero", field, text));
  }
  return make_error(rate.error().code, fmt::format("{}: {}", field, rate.error().reason));
}

namespace {

// An id-like text field: present, and 1-64 chars of A-Z a-z 0-9 _ - . (missing_field /
// malformed naming `field`).
Status event_id_text(std::string_view text, std::string_view field) {
  if (text.empty()) return missing(field);
  if (valid_id(text)) return Status::Ok();
  return make_error(Code::kMalformed,
                    fmt::format("{} '{}' must be 1-64 chars of A-Z a-z 0-9 _ - .", field, text));
}

// A rate field of fx_rate_published that may be absent (mid, bid, ask).
Result<std::optional<Rate>> optional_rate(const std::string& text, std::string_view field) {
  if (text.empty()) return std::optional<Rate>();
  auto rate = event_rate(text, field);
  if (!rate) return rate.error();
  return std::optional<Rate>(std::move(rate).value());
}

}  // namespace

// A rate as of a moment, once per pair and as-of: mid, or bid and ask, or all three with
// bid <= mid <= ask. Nothing is posted; the rate is kept for the partition's conversions.
Result<Effects> on_fx_rate_published(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.fx_rate_published();
  auto pair = event_pair(b.pair(), "fx_rate_published.pair");
  if (!pair) return pair.error();
  auto mid = optional_rate(b.mid(), "fx_rate_published.mid");
  if (!mid) return mid.error();
  auto bid = optional_rate(b.bid(), "fx_rate_published.bid");
  if (!bid) return bid.error();
  auto ask = optional_rate(b.ask(), "fx_rate_published.ask");
  if (!ask) return ask.error();
  if (!*mid && !*bid && !*ask) return missing("fx_rate_published.mid (or bid and ask)");
  if (bid->has_value() != ask->has_value()) {
    return missing(*bid ? "fx_rate_published.ask (bid given without it)"
                        : "fx_rate_published.bid (ask given without it)");
  }
  if (*bid && compare(**bid, **ask) > 0) {
    return make_error(Code::kMalformed,
                      fmt::format("fx_rate_published: bid {} is above ask {} for {}", b.bid(),
                                  b.ask(), b.pair()));
  }
  if (*bid && *mid && (compare(**mid, **bid) < 0 || compare(**mid, **ask) > 0)) {
    return make_error(Code::kMalformed,
                      fmt::format("fx_rate_published: mid {} is outside bid {} .. ask {} for {}",
                                  b.mid(), b.bid(), b.ask(), b.pair()));
  }
  if (Status s = event_id_text(b.source(), "fx_rate_published.source"); !s) return s.error();
  if (!b.has_as_of()) return missing("fx_rate_published.as_of");
  const int64_t as_of = b.as_of().seconds();
  if (as_of > event_time(e)) {
    return make_error(Code::kMalformed,
                      fmt::format("fx_rate_published.as_of is after occurred_at: a rate is "
                                  "published once it is observed, not ahead ({} as of {}s, "
                                  "published at {}s)",
                                  b.pair(), as_of, event_time(e)));
  }
  const std::string canonical = pair->to_string();
  if (const FxRate* known = view.latest_rate(canonical, as_of);
      known != nullptr && known->as_of_s == as_of) {
    return make_error(Code::kDuplicateBusinessId,
                      fmt::format("a {} rate as of {}s is already published (event {}); a "
                                  "correction needs its own as-of",
                                  canonical, as_of, known->event_id));
  }
  auto text = [](const std::optional<Rate>& r) { return r ? r->to_string() : std::string(); };
  Effects fx;
  fx.rate = FxRate{canonical, as_of, text(*mid), text(*bid), text(*ask), b.source(),
                   e.event_id()};
  return fx;
}

// A quote is locked once per id; it must expire after it is locked. Nothing is posted.
Result<Effects> on_fx_quote_locked(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.fx_quote_locked();
  if (Status s = event_id_text(b.quote_id(), "fx_quote_locked.quote_id"); !s) return s.error();
  auto pair = event_pair(b.pair(), "fx_quote_locked.pair");
  if (!pair) return pair.error();
  auto rate = event_rate(b.rate(), "fx_quote_locked.rate");
  if (!rate) return rate.error();
  if (!b.has_expires_at()) return missing("fx_quote_locked.expires_at");
  if (b.expires_at().seconds() <= event_time(e)) {
    return make_error(Code::kExpired,
                      fmt::format("fx_quote_locked.expires_at is not after the lock itself "
                                  "(occurred_at): quote {} would never be usable",
                                  b.quote_id()));
  }
  if (view.find_quote(e.merchant_id(), b.quote_id()) != nullptr) {
    return make_error(Code::kDuplicateBusinessId,
                      fmt::format("merchant {} already locked quote {}", e.merchant_id(),
                                  b.quote_id()));
  }
  Effects fx;
  fx.quote = QuoteUpdate{b.quote_id(), FxQuote{pair->to_string(), rate->to_string(),
                                               event_time(e), b.expires_at().seconds(), {}}};
  return fx;
}

}  // namespace payledger::ledger::internal

namespace payledger::ledger::internal {
namespace {


// The merchant's quote `quote_id` if a conversion of `pair` (by a `user`: "payment",
// "conversion") may use it at the event's time: locked, unused, unexpired, of that pair.
Result<const FxQuote*> usable_quote(const v1::Envelope& e, const LedgerView& view,
                                    std::string_view quote_id, std::string_view pair,
                                    std::string_view user) {
  const FxQuote* quote = view.find_quote(e.merchant_id(), quote_id);
  if (quote == nullptr) {
    return make_error(Code::kUnknownQuote,
                      fmt::format("merchant {} has no FX quote {}", e.merchant_id(), quote_id));
  }
  if (!quote->used_by.empty()) {
    const bool by_conversion = quote->used_by.starts_with("conversion ");
    return make_error(Code::kQuoteUsed,
                      fmt::format("FX quote {} was already used by {}{}", quote_id,
                                  by_conversion ? "" : "payment ", quote->used_by));
  }
  if (event_time(e) >= quote->expires_at_s) {
    return make_error(Code::kExpired, fmt::format("FX quote {} expired {} s before this event",
                                                  quote_id, event_time(e) - quote->expires_at_s));
  }
  if (quote->pair != pair) {
    return make_error(Code::kCurrencyMismatch,
                      fmt::format("FX quote {} is for {}, the {} converts {}", quote_id,
                                  quote->pair, user, pair));
  }
  return quote;
}

// The latest published rate of `pair` at the event's time, not older than `max_age_h` hours
// (`whose` names the limit in the reason: "contract's", "default"); `without` says what
// else the event could have named.
Result<const FxRate*> fresh_rate(const v1::Envelope& e, const LedgerView& view,
                                 std::string_view pair, uint32_t max_age_h,
                                 std::string_view whose, std::string_view without) {
  const FxRate* published = view.latest_rate(pair, event_time(e));
  if (published == nullptr) {
    return make_error(Code::kNoRate,
                      fmt::format("no {} rate is published at or before this event, {}", pair,
                                  without));
  }
  const int64_t age = event_time(e) - published->as_of_s;
  if (age > int64_t{max_age_h} * 3600) {
    return make_error(Code::kStaleRate,
                      fmt::format("the latest {} rate (event {}) is {} h old, more than the "
                                  "{} {} h",
                                  pair, published->event_id, age / 3600, whose, max_age_h));
  }
  return published;
}

// The terms a new payment of `merchant` converts at into `settle`: the quote the event names
// (unused, unexpired, of the pair), else the latest published rate not older than the
// contract allows.
Result<PaymentFx> fx_terms(const v1::Envelope& e, const LedgerView& view, Asset from,
                           Asset settle, const Contract& contract,
                           std::optional<QuoteUpdate>* used) {
  auto pair = CurrencyPair::of(from, settle);
  if (!pair) return pair.error();
  PaymentFx fx;
  fx.settle = settle.code();
  fx.pair = pair->to_string();
  fx.markup = contract.fx_markup ? contract.fx_markup->to_string() : std::string();
  if (!e.fx_quote_id().empty()) {
    auto quote = usable_quote(e, view, e.fx_quote_id(), fx.pair, "payment");
    if (!quote) return quote.error();
    fx.rate = (*quote)->rate;
    fx.quote_id = e.fx_quote_id();
    FxQuote now_used = **quote;
    *used = QuoteUpdate{e.fx_quote_id(), std::move(now_used)};
    return fx;
  }
  auto published = fresh_rate(e, view, fx.pair, contract.rate_max_age_h, "contract's",
                              "and it names no locked quote (fx_quote_id)");
  if (!published) return published.error();
  auto rate = mid_rate(**published);
  if (!rate) return rate.error();
  fx.rate = rate->to_string();
  return fx;
}

// What `net` (a net credit to the merchant in the payment's asset) is worth in the
// settlement asset: `value` converted at the payment's rate, `markup` the PSP's share of its
// size (never negative: when the merchant's net is a debt, chargebacks beyond the sale, the
// markup adds to it), each rounded once, half-even.
struct Converted {
  Int128 value = 0;
  Int128 markup = 0;
};
Result<Converted> converted(const PaymentFx& terms, Asset from, const Int128& net) {
  if (net.is_zero()) return Converted{};
  auto pair = CurrencyPair::parse(terms.pair);
  if (!pair) return pair.error();
  auto rate = Rate::parse(terms.rate);
  if (!rate) return rate.error();
  auto value = convert(Amount::from_minor(from, net), *pair, *rate, RoundingMode::kHalfEven);
  if (!value) return value.error();
  Converted out{value->minor(), 0};
  if (!terms.markup.empty()) {
    auto markup = Rate::parse(terms.markup);
    if (!markup) return markup.error();
    auto kept = markup->apply(value->sign() < 0 ? Amount::from_minor(value->asset(),
                                                                     -value->minor())
                                                : *value,
                              RoundingMode::kHalfEven);
    if (!kept) return kept.error();
    out.markup = kept->minor();
  }
  return out;
}

// Lines for a signed net credit to `account` (nothing when zero).
void credit_net(std::vector<Line>& lines, const AccountId& account, Asset asset, Bucket bucket,
                const Int128& net) {
  if (net.is_zero()) return;
  lines.push_back(Line{account, asset, net.sign() > 0 ? Side::kCredit : Side::kDebit, bucket,
                       net.sign() > 0 ? net : Int128(-net)});
}

}  // namespace

// Cross-currency settlement (docs/fx.md). A payment created while the merchant's contract for
// its method names another settlement asset converts for its whole life at the rate fixed
// now; every line of the event on the merchant's payable in the payment's asset moves to the
// PSP's FX position in that asset, and the merchant is credited in the settlement asset the
// change in the converted value of its running net, less the markup's change; the FX
// position takes the other side. Converting running totals (not each line) keeps the
// merchant at exactly the payment's net converted once: a refund in parts gives back what
// came in, to the cent, with no residue to book.
Result<Effects> settle_in_contract_currency(const v1::Envelope& e, const LedgerView& view,
                                            Effects fx) {
  const bool names_quote = !e.fx_quote_id().empty();
  // A quote named where nothing converts: illegal in this state (the merchant's contract, the
  // payment's first event), malformed on an event that concerns no payment at all.
  auto not_converting = [&](std::string_view why, Code code) -> Result<Effects> {
    if (!names_quote) return std::move(fx);
    return make_error(code, fmt::format("fx_quote_id {}: {}", e.fx_quote_id(), why));
  };
  if (!fx.payment) {
    return not_converting("the event concerns no payment to convert", Code::kMalformed);
  }
  PaymentState& after = fx.payment->state;
  const Asset from = after.asset;
  if (!after.fx) {
    // The contract first: most merchants settle in the payment's asset.
    const Contract* contract =
        view.find_contract(e.merchant_id(), method_name(after.method));
    if (contract == nullptr || contract->ended || !contract->settlement ||
        *contract->settlement == from) {
      return not_converting(fmt::format("merchant {} settles {} payments in {}", e.merchant_id(),
                                        method_name(after.method), from.code()),
                            Code::kIllegalTransition);
    }
    if (view.find_payment(e.merchant_id(), fx.payment->payment_id) != nullptr) {
      // Started before the contract named a settlement asset: it keeps its terms.
      return not_converting("only the event that creates a payment names its quote",
                            Code::kIllegalTransition);
    }
    std::optional<QuoteUpdate> used;
    auto terms = fx_terms(e, view, from, *contract->settlement, *contract, &used);
    if (!terms) return terms.error();
    after.fx = std::move(terms).value();
    if (used) {
      used->quote.used_by = fx.payment->payment_id;
      fx.quote = std::move(used);
    }
  } else if (names_quote) {
    return not_converting("only the event that creates a payment names its quote",
                          Code::kIllegalTransition);
  }
  PaymentFx& terms = *after.fx;
  auto settle = Asset::find(terms.settle);
  if (!settle) return settle.error();
  // The event's lines on the merchant's payable in the payment's asset, netted per bucket
  // (credit positive), leave the entry; each bucket then gets one line on the position in
  // that asset and the settlement asset's lines for the change in the converted net.
  const AccountId payable = Chart::merchant_payable(e.merchant_id());
  Int128 net[2] = {0, 0};  // by Bucket: kPosted, kPending
  bool touched[2] = {false, false};
  std::vector<Line> lines;
  lines.reserve(fx.entry.lines.size() + 8);
  for (Line& line : fx.entry.lines) {
    if (!(line.account == payable) || line.asset != from) {
      lines.push_back(std::move(line));
      continue;
    }
    const int b = line.bucket == Bucket::kPosted ? 0 : 1;
    touched[b] = true;
    net[b] += line.side == Side::kCredit ? line.amount_minor : Int128(-line.amount_minor);
  }
  for (int b = 0; b < 2; ++b) {
    if (!touched[b]) continue;
    const Bucket bucket = b == 0 ? Bucket::kPosted : Bucket::kPending;
    Int128& running = b == 0 ? terms.posted : terms.pending;
    auto before = converted(terms, from, running);
    if (!before) return before.error();
    running += net[b];
    auto now = converted(terms, from, running);
    if (!now) return now.error();
    const Int128 value = now->value - before->value;
    const Int128 markup = now->markup - before->markup;
    credit_net(lines, Chart::fx_position(), from, bucket, net[b]);
    credit_net(lines, payable, *settle, bucket, value - markup);
    credit_net(lines, Chart::revenue_fx(), *settle, bucket, markup);
    credit_net(lines, Chart::fx_position(), *settle, bucket, -value);
  }
  // Netting replaces k >= 1 payable lines of a bucket by at most 4: at most 6 more lines.
  if (lines.size() > kEntryLinesMax) {
    return make_error(Code::kInvalidArgument,
                      fmt::format("converting payment {} into {} needs {} journal lines, more "
                                  "than the {} an entry may have",
                                  fx.payment->payment_id, terms.settle, lines.size(),
                                  kEntryLinesMax));
  }
  fx.entry.lines = std::move(lines);
  return fx;
}

namespace {

// The published rate a treasury trade deals at: the bid when it sells the pair's base, the
// ask when it buys it (the market's side against the PSP), else the mid.
Result<Rate> dealing_rate(const FxRate& r, bool sells_base) {
  const std::string& side = sells_base ? r.bid : r.ask;
  return Rate::parse(side.empty() ? r.mid : side);
}

// Dr `debit` / Cr `credit` of `minor` units of `asset`, posted.
void move(JournalEntry& entry, const AccountId& debit, const AccountId& credit, Asset asset,
          const Int128& minor) {
  post(entry, debit, credit, Amount::from_minor(asset, minor), Bucket::kPosted);
}

}  // namespace

// A conversion of money held (docs/fx.md "Conversions"). A merchant's: its available balance
// in `from` moves to the PSP's position, and the position pays the merchant the value in the
// target asset less the markup (FX revenue). The house's: a treasury trade of its position
// against its operating bank account in both assets. Each number rounded once, half-even.
Result<Effects> on_fx_conversion(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.fx_conversion_executed();
  if (Status s = event_id_text(b.conversion_id(), "fx_conversion_executed.conversion_id"); !s) {
    return s.error();
  }
  auto from = parse_money(b.from(), b.has_from(), "fx_conversion_executed.from");
  if (!from) return from.error();
  if (b.to_currency().empty()) return missing("fx_conversion_executed.to_currency");
  auto to = Asset::find(b.to_currency());
  if (!to) {
    return make_error(Code::kUnknownAsset,
                      fmt::format("fx_conversion_executed.to_currency: {}", to.error().reason));
  }
  if (*to == from->asset()) {
    return make_error(Code::kMalformed,
                      fmt::format("fx_conversion_executed converts {} into {}: a conversion "
                                  "needs two different assets",
                                  from->asset().code(), to->code()));
  }
  auto pair = CurrencyPair::of(from->asset(), *to);
  if (!pair) return pair.error();
  const std::string pair_text = pair->to_string();
  const bool house = e.merchant_id() == kHouseMerchantId;
  std::optional<Rate> markup;
  if (house) {
    if (!b.quote_id().empty() || !b.markup_percent().empty()) {
      return make_error(Code::kMalformed,
                        "fx_conversion_executed of the house (merchant_id 'psp') is dealt at "
                        "`rate` or the published bid/ask: quote_id and markup_percent are a "
                        "merchant's");
    }
  } else {
    if (!b.rate().empty()) {
      return make_error(Code::kMalformed,
                        "fx_conversion_executed.rate is the house's dealt rate: a merchant "
                        "converts at its locked quote (quote_id) or the published rate");
    }
    if (!b.markup_percent().empty()) {
      auto m = percent_fraction(b.markup_percent());
      if (!m) {
        return make_error(m.error().code, fmt::format("fx_conversion_executed.markup_percent: {}",
                                                      m.error().reason));
      }
      markup = *m;
    }
    if (!b.quote_id().empty()) {
      if (Status s = event_id_text(b.quote_id(), "fx_conversion_executed.quote_id"); !s) {
        return s.error();
      }
    }
  }
  std::optional<Rate> dealt;
  if (!b.rate().empty()) {
    auto r = event_rate(b.rate(), "fx_conversion_executed.rate");
    if (!r) return r.error();
    dealt = *r;
  }
  Effects fx;
  if (Status s = merchant_business_id(view, e, MerchantId::kConversion, b.conversion_id(), fx);
      !s) {
    return s.error();
  }
  const AccountId payable = Chart::merchant_payable(e.merchant_id());
  if (!house) {
    Int128 available = view.balance(payable, from->asset()).posted_net(Side::kCredit);
    if (from->minor() > available) {
      return make_error(Code::kInsufficientFunds,
                        fmt::format("conversion {} of {} {} exceeds merchant {}'s available {} "
                                    "balance {}",
                                    b.conversion_id(), from->to_string(), from->asset().code(),
                                    e.merchant_id(), from->asset().code(),
                                    Amount::from_minor(from->asset(), available).to_string()));
    }
  }
  // The rate: dealt (house), the merchant's quote, or the published one.
  if (!dealt && !b.quote_id().empty()) {
    auto quote = usable_quote(e, view, b.quote_id(), pair_text, "conversion");
    if (!quote) return quote.error();
    auto r = Rate::parse((*quote)->rate);
    if (!r) return r.error();
    dealt = *r;
    FxQuote now_used = **quote;
    now_used.used_by = "conversion " + b.conversion_id();
    fx.quote = QuoteUpdate{b.quote_id(), std::move(now_used)};
  }
  if (!dealt) {
    auto published = fresh_rate(e, view, pair_text, kRateMaxAgeHoursDefault, "default",
                                house ? "and the conversion names no dealt rate"
                                      : "and the conversion names no locked quote (quote_id)");
    if (!published) return published.error();
    auto r = house ? dealing_rate(**published, from->asset() == pair->base())
                   : mid_rate(**published);
    if (!r) return r.error();
    dealt = *r;
  }
  auto value = convert(*from, *pair, *dealt, RoundingMode::kHalfEven);
  if (!value) return value.error();
  Int128 kept = 0;
  if (markup) {
    auto k = markup->apply(*value, RoundingMode::kHalfEven);
    if (!k) return k.error();
    kept = k->minor();
  }
  if (value->minor() - kept <= 0) {
    return make_error(Code::kNonPositiveAmount,
                      fmt::format("conversion {} of {} {} at {} {} gives {} {} after the "
                                  "markup: nothing to convert into",
                                  b.conversion_id(), from->to_string(), from->asset().code(),
                                  pair_text, dealt->to_string(),
                                  Amount::from_minor(*to, value->minor() - kept).to_string(),
                                  to->code()));
  }
  if (house) {
    // Sell `from` out of the position through the operating bank account; buy `to` into it.
    move(fx.entry, Chart::fx_position(), Chart::bank_operating(), from->asset(), from->minor());
    move(fx.entry, Chart::bank_operating(), Chart::fx_position(), *to, value->minor());
  } else {
    move(fx.entry, payable, Chart::fx_position(), from->asset(), from->minor());
    fx.entry.lines.push_back(
        Line{Chart::fx_position(), *to, Side::kDebit, Bucket::kPosted, value->minor()});
    fx.entry.lines.push_back(
        Line{payable, *to, Side::kCredit, Bucket::kPosted, value->minor() - kept});
    if (kept != 0) {
      fx.entry.lines.push_back(Line{Chart::revenue_fx(), *to, Side::kCredit, Bucket::kPosted, kept});
    }
  }
  return finish(std::move(fx));
}

// A forward is booked once per id, for a value date after its booking. Nothing is posted.
Result<Effects> on_fx_forward_booked(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.fx_forward_booked();
  if (Status s = event_id_text(b.forward_id(), "fx_forward_booked.forward_id"); !s) {
    return s.error();
  }
  auto pair = event_pair(b.pair(), "fx_forward_booked.pair");
  if (!pair) return pair.error();
  if (b.side() != v1::FX_SIDE_BUY && b.side() != v1::FX_SIDE_SELL) {
    return missing("fx_forward_booked.side (FX_SIDE_BUY or FX_SIDE_SELL of the pair's base)");
  }
  auto notional = parse_money(b.notional(), b.has_notional(), "fx_forward_booked.notional");
  if (!notional) return notional.error();
  if (notional->asset() != pair->base()) {
    return make_error(Code::kCurrencyMismatch,
                      fmt::format("fx_forward_booked.notional is in {}; a {} forward's "
                                  "notional is in its base, {}",
                                  notional->asset().code(), pair->to_string(),
                                  pair->base().code()));
  }
  auto rate = event_rate(b.forward_rate(), "fx_forward_booked.forward_rate");
  if (!rate) return rate.error();
  if (!b.has_value_date()) return missing("fx_forward_booked.value_date");
  if (b.value_date().seconds() <= event_time(e)) {
    return make_error(Code::kExpired,
                      fmt::format("fx_forward_booked.value_date is not after the booking "
                                  "(occurred_at): forward {} would be due before it exists",
                                  b.forward_id()));
  }
  if (view.find_forward(b.forward_id()) != nullptr) {
    return make_error(Code::kDuplicateBusinessId,
                      fmt::format("the house already booked forward {}", b.forward_id()));
  }
  Effects fx;
  fx.forward = ForwardUpdate{
      b.forward_id(),
      FxForward{pair->to_string(), b.side() == v1::FX_SIDE_BUY, notional->minor(),
                rate->to_string(), event_time(e), b.value_date().seconds(), 0}};
  return fx;
}

// On or after its value date, the forward exchanges its notional at its rate (rounded once,
// half-even) through the operating bank account: the position takes the base in and gives
// the quote currency (a buy), or the other way round (a sell).
Result<Effects> on_fx_forward_settled(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.fx_forward_settled();
  if (Status s = event_id_text(b.forward_id(), "fx_forward_settled.forward_id"); !s) {
    return s.error();
  }
  const FxForward* forward = view.find_forward(b.forward_id());
  if (forward == nullptr) {
    return make_error(Code::kUnknownForward,
                      fmt::format("the house booked no forward {}", b.forward_id()));
  }
  if (forward->settled_at_s != 0) {
    return make_error(Code::kIllegalTransition,
                      fmt::format("forward {} was already settled (at {}s)", b.forward_id(),
                                  forward->settled_at_s));
  }
  if (event_time(e) < forward->value_date_s) {
    return make_error(Code::kIllegalTransition,
                      fmt::format("forward {} settles on its value date ({}s), not {} s before",
                                  b.forward_id(), forward->value_date_s,
                                  forward->value_date_s - event_time(e)));
  }
  auto pair = CurrencyPair::parse(forward->pair);
  if (!pair) return pair.error();
  auto rate = Rate::parse(forward->rate);
  if (!rate) return rate.error();
  const Amount base = Amount::from_minor(pair->base(), forward->notional);
  auto quote = convert(base, *pair, *rate, RoundingMode::kHalfEven);
  if (!quote) return quote.error();
  Effects fx;
  if (forward->buy) {
    move(fx.entry, Chart::bank_operating(), Chart::fx_position(), base.asset(), base.minor());
    move(fx.entry, Chart::fx_position(), Chart::bank_operating(), quote->asset(), quote->minor());
  } else {
    move(fx.entry, Chart::fx_position(), Chart::bank_operating(), base.asset(), base.minor());
    move(fx.entry, Chart::bank_operating(), Chart::fx_position(), quote->asset(), quote->minor());
  }
  FxForward settled = *forward;
  settled.settled_at_s = event_time(e);
  fx.forward = ForwardUpdate{b.forward_id(), std::move(settled)};
  return finish(std::move(fx));
}

// A revaluation point, once per as-of and reporting currency. Nothing is posted.
Result<Effects> on_fx_revaluation_run(const v1::Envelope& e, const LedgerView& view) {
  const auto& b = e.fx_revaluation_run();
  if (!b.has_as_of()) return missing("fx_revaluation_run.as_of");
  if (b.as_of().seconds() > event_time(e)) {
    return make_error(Code::kMalformed,
                      "fx_revaluation_run.as_of is after occurred_at: a revaluation is run once "
                      "its moment has passed");
  }
  if (b.reporting_currency().empty()) return missing("fx_revaluation_run.reporting_currency");
  auto reporting = Asset::find(b.reporting_currency());
  if (!reporting) {
    return make_error(Code::kUnknownAsset, fmt::format("fx_revaluation_run.reporting_currency: {}",
                                                       reporting.error().reason));
  }
  Effects fx;
  if (Status s = merchant_business_id(
          view, e, MerchantId::kRevaluation,
          fmt::format("{}:{}", b.as_of().seconds(), reporting->code()), fx);
      !s) {
    return s.error();
  }
  fx.revaluation = FxRevaluation{b.as_of().seconds(), reporting->code(), event_time(e),
                                 e.event_id()};
  return fx;
}

}  // namespace payledger::ledger::internal
