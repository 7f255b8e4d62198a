// FX rules (issue 10, docs/fx.md): locked quotes. No money moves when a quote is locked; a
// payment that converts at it (next step) marks it used.
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
