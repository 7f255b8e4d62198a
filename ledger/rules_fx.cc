// FX rules (issue 10, docs/fx.md): published rates and locked quotes. No money moves when a
// rate is published or a quote is locked; payments that convert (next step) read them.
#include <fmt/format.h>

#include "events/schema/ids.h"
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
  if (b.source().empty()) return missing("fx_rate_published.source");
  if (!valid_id(b.source())) {
    return make_error(Code::kMalformed,
                      fmt::format("fx_rate_published.source '{}' must be 1-64 chars of A-Z a-z "
                                  "0-9 _ - .",
                                  b.source()));
  }
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
  if (b.quote_id().empty()) return missing("fx_quote_locked.quote_id");
  if (!valid_id(b.quote_id())) {
    return make_error(Code::kMalformed,
                      fmt::format("fx_quote_locked.quote_id '{}' must be 1-64 chars of A-Z a-z "
                                  "0-9 _ - .",
                                  b.quote_id()));
  }
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
