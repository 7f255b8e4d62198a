#include "projections/exposure.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "events/schema/check.h"
#include "ledger/fx.h"
#include "projections/records.h"

namespace payledger::projections {

using ledger::Int128;

void ExposureBucket::add(const ExposureBucket& o) {
  card_holds += o.card_holds;
  vouchers_outstanding += o.vouchers_outstanding;
  vouchers_expected += o.vouchers_expected;
  bnpl_upfronts += o.bnpl_upfronts;
  payables += o.payables;
}

bool money_in_account(std::string_view account) {
  if (account == "psp:bank:operating" || account == "psp:receivable:partner-wallet-rewards") {
    return false;
  }
  return account.starts_with("psp:clearing:") || account.starts_with("psp:bank:") ||
         account.starts_with("psp:receivable:");
}

Int128 scale_half_even(const Int128& amount, uint64_t num, uint64_t den) {
  PAYLEDGER_CHECK(den > 0 && amount >= 0, "scale_half_even of a negative amount or by 0");
  const Int128 product = amount * Int128(num);
  Int128 q = product / Int128(den);
  const Int128 twice_r = (product % Int128(den)) * 2;
  if (twice_r > Int128(den) || (twice_r == Int128(den) && q % 2 != 0)) q += 1;
  return q;
}

namespace {

int64_t day_of(int64_t t_s) {
  return t_s >= 0 ? t_s / kDaySeconds : -((-t_s + kDaySeconds - 1) / kDaySeconds);
}

// Visits every key of `cf` in each partition's owning store, partition by partition.
template <typename F>
Status owned_scan(const Stores& stores, const Owners& owners, Cf cf, F&& visit) {
  for (const auto& [p, owner] : owners) {
    StoreCursor it = stores[owner]->cursor(cf, Reading::kQuery, partition_prefix(p + 1));
    for (it.seek(partition_prefix(p)); it.valid(); it.next()) {
      if (Status s = visit(p, it.key(), it.value()); !s) return s;
    }
    if (Status s = it.status(cf_name(cf)); !s) return s;
  }
  return Status::Ok();
}

struct Builder {
  int64_t as_of_day = 0;
  int horizon = 0;
  std::map<std::string, CurrencyExposure> by_asset;

  CurrencyExposure& currency(const std::string& code) {
    auto [it, fresh] = by_asset.try_emplace(code);
    if (fresh) {
      it->second.asset = code;
      auto asset = ledger::Asset::find(code);
      it->second.exponent = asset ? asset->exponent() : 0;
      it->second.weeks.resize((horizon + 6) / 7);
    }
    return it->second;
  }
  // The bucket of a value date (overdue: week 0).
  ExposureBucket& bucket(const std::string& code, int64_t value_s) {
    CurrencyExposure& c = currency(code);
    int64_t ahead = std::max<int64_t>(0, day_of(value_s) - as_of_day);
    if (ahead >= horizon) return c.later;
    return c.weeks[static_cast<size_t>(ahead / 7)];
  }
};

struct VoucherItem {
  std::string asset;
  std::string method;
  int64_t value_s = 0;
  Int128 amount = 0;
};

Status scan_payments(const Stores& stores, const Owners& owners, int64_t as_of_s, Builder& b,
                     Exposure& out) {
  std::map<std::string, VoucherPayRate> rates;
  std::vector<VoucherItem> vouchers;
  Status s = owned_scan(stores, owners, Cf::kPayments,
                        [&](uint32_t p, std::string_view key, std::string_view value) -> Status {
    auto st = decode_payment(value);
    if (!st) {
      return make_error(Code::kCorrupt, fmt::format("payment record in partition {}: {}", p,
                                                    st.error().reason));
    }
    (void)key;
    const ledger::PaymentState& ps = *st;
    const std::string code = ps.asset.code();
    switch (ps.kind) {
      case ledger::PaymentKind::kCard: {
        const Int128 held = ps.held();
        if (held <= 0) break;
        if (ps.expires_at_s != 0 && ps.expires_at_s <= as_of_s) {
          ++out.lapsed_holds;  // the hold lapses: no capture will come
          break;
        }
        int64_t value_s = ps.expires_at_s != 0
                              ? ps.expires_at_s
                              : ps.created_at_s + kCardHoldNoExpiryDays * kDaySeconds;
        b.bucket(code, value_s).card_holds += held;
        break;
      }
      case ledger::PaymentKind::kVoucher: {
        const std::string method(ledger::method_name(ps.method));
        VoucherPayRate& r = rates[method];
        r.method = method;
        switch (ps.status) {
          case ledger::PaymentStatus::kPaid:
            ++r.paid, ++r.ended;
            break;
          case ledger::PaymentStatus::kPaidLate:
          case ledger::PaymentStatus::kExpired:
            ++r.ended;
            break;
          case ledger::PaymentStatus::kPending:
            if (ps.expires_at_s != 0 && ps.expires_at_s <= as_of_s) {
              ++out.lapsed_vouchers;
              break;
            }
            ++r.outstanding;
            vouchers.push_back({code, method,
                                ps.expires_at_s != 0
                                    ? ps.expires_at_s
                                    : ps.created_at_s + kVoucherNoExpiryDays * kDaySeconds,
                                ps.authorised});
            break;
          default:
            break;
        }
        break;
      }
      case ledger::PaymentKind::kBnpl: {
        if (ps.status != ledger::PaymentStatus::kSettled) break;  // cancelled: clawed back
        // What psp:receivable:bnpl holds for the order: the net paid up front less what
        // refunds clawed back (captured - refunded - (fee - fee_returned)).
        const Int128 owed = ps.refundable() - (ps.fee - ps.fee_returned);
        if (owed <= 0) break;
        int64_t value_s = std::max(ps.created_at_s + kBnplUpfrontDays * kDaySeconds,
                                   b.as_of_day * kDaySeconds);
        b.bucket(code, value_s).bnpl_upfronts += owed;
        break;
      }
      default:
        break;
    }
    return Status::Ok();
  });
  if (!s) return s;
  // Expected vouchers: per currency, method and bucket, face value x paid / ended, rounded
  // half-even once; a method with no ended voucher yet counts at face value (rate unknown).
  std::map<std::tuple<std::string, std::string, ExposureBucket*>, Int128> face;
  for (const auto& v : vouchers) {
    ExposureBucket& bucket = b.bucket(v.asset, v.value_s);
    bucket.vouchers_outstanding += v.amount;
    face[{v.asset, v.method, &bucket}] += v.amount;
  }
  for (const auto& [k, amount] : face) {
    const VoucherPayRate& r = rates.at(std::get<1>(k));
    std::get<2>(k)->vouchers_expected +=
        r.ended == 0 ? amount : scale_half_even(amount, r.paid, r.ended);
  }
  for (auto& [m, r] : rates) out.voucher_rates.push_back(r);
  return Status::Ok();
}

Status scan_quotes(const Stores& stores, const Owners& owners, int64_t as_of_s, Builder& b) {
  return owned_scan(stores, owners, Cf::kFxQuotes,
                    [&](uint32_t p, std::string_view, std::string_view value) -> Status {
    auto q = decode_quote(value);
    if (!q) {
      return make_error(Code::kCorrupt, fmt::format("fx quote in partition {}: {}", p,
                                                    q.error().reason));
    }
    if (!q->used_by.empty() || q->locked_at_s > as_of_s || q->expires_at_s <= as_of_s) {
      return Status::Ok();
    }
    auto pair = ledger::CurrencyPair::parse(q->pair);
    if (!pair) {
      return make_error(Code::kCorrupt, fmt::format("fx quote in partition {}: {}", p,
                                                    pair.error().reason));
    }
    ++b.currency(pair->base().code()).open_quotes[q->pair];
    ++b.currency(pair->quote().code()).open_quotes[q->pair];
    return Status::Ok();
  });
}

Status scan_payables(const Stores& stores, int64_t as_of_s, Builder& b) {
  auto rows = list_balances(stores, "merchant:");
  if (!rows) return rows.error();
  const int64_t value_s = (day_of(as_of_s) + kPayableSettlementDays) * kDaySeconds;
  for (const auto& r : *rows) {
    // Owed (payable), held in a rolling reserve, or instructed and not yet paid (settling,
    // issue 11): all still to leave.
    if (!r.account.ends_with(":payable") && !r.account.ends_with(":settling") &&
        !r.account.ends_with(":reserve")) {
      continue;
    }
    b.bucket(r.asset, value_s).payables += r.balance.posted_net(r.normal);
  }
  // Batch payouts sent have left the bank already; their settling is not still to come.
  auto sent = list_balances(stores, "psp:settlement:in-transit");
  if (!sent) return sent.error();
  for (const auto& r : *sent) {
    if (r.account != "psp:settlement:in-transit") continue;
    b.bucket(r.asset, value_s).payables -= r.balance.posted_net(r.normal);
  }
  return Status::Ok();
}

// Posted debits of the money-in accounts per asset and UTC day, before the as-of day.
Status scan_history(const Stores& stores, Builder& b, Exposure& out) {
  auto rows = list_balances(stores, "psp:");
  if (!rows) return rows.error();
  std::vector<std::string> accounts;
  for (const auto& r : *rows) {
    if (money_in_account(r.account) &&
        (accounts.empty() || accounts.back() != r.account)) {
      accounts.push_back(r.account);
    }
  }
  std::map<std::string, std::map<int64_t, Int128>> daily;  // asset -> day -> minor units
  for (const auto& account : accounts) {
    auto lines = statement(stores, account, 0);
    if (!lines) return lines.error();
    for (const auto& l : *lines) {
      if (l.line.bucket != ledger::Bucket::kPosted || l.line.side != ledger::Side::kDebit) continue;
      int64_t day = day_of(l.line.occurred_at_s);
      if (day >= b.as_of_day) continue;  // the as-of day is forecast, not history
      daily[l.asset][day] += l.line.amount_minor;
    }
  }
  out.money_in_accounts = accounts;
  for (const auto& [asset, days] : daily) {
    CurrencyExposure& c = b.currency(asset);
    c.history_first_day = days.begin()->first;
    for (int64_t d = c.history_first_day; d < b.as_of_day; ++d) {
      auto it = days.find(d);
      // Exact minor units to a double once, for the forecast only (never booked).
      c.history.push_back(
          it == days.end() ? 0.0 : std::stod(ledger::format_scaled(it->second, c.exponent)));
    }
  }
  return Status::Ok();
}

}  // namespace

// The house's forwards open at the as-of (booked by then, not settled by then): per currency,
// the amount they sell on their value dates (positive: hedges money coming in) less what they
// buy. The quote leg is notional x rate rounded once, half-even, as its settlement books it.
Status scan_forwards(const Stores& stores, int64_t as_of_s, Builder& b) {
  auto rows = list_forwards(stores);
  if (!rows) return rows.error();
  try {
    for (const ForwardRow& row : *rows) {
      const ledger::FxForward& f = row.forward;
      if (f.booked_at_s > as_of_s || (f.settled_at_s != 0 && f.settled_at_s <= as_of_s)) continue;
      auto pair = ledger::CurrencyPair::parse(f.pair);
      auto rate = ledger::Rate::parse(f.rate);
      if (!pair || !rate) {
        return make_error(Code::kCorrupt, fmt::format("forward {} of partition {}",
                                                      row.forward_id, row.partition));
      }
      auto quote = ledger::convert(ledger::Amount::from_minor(pair->base(), f.notional), *pair,
                                   *rate, ledger::RoundingMode::kHalfEven);
      if (!quote) return quote.error();
      const ledger::Int128 base_sold = f.buy ? ledger::Int128(-f.notional) : f.notional;
      const ledger::Int128 quote_sold = f.buy ? quote->minor() : ledger::Int128(-quote->minor());
      auto& base = b.currency(pair->base().code()).forwards_hedged;
      base = base.value_or(0) + base_sold;
      auto& q = b.currency(pair->quote().code()).forwards_hedged;
      q = q.value_or(0) + quote_sold;
    }
  } catch (const std::overflow_error&) {
    return make_error(Code::kOverflow, "forwards hedged exceed 128 bits");
  }
  for (auto& [code, c] : b.by_asset) c.forwards_hedged = c.forwards_hedged.value_or(0);
  return Status::Ok();
}

Result<Exposure> exposure(const Stores& stores, std::optional<int64_t> as_of, int horizon_days) {
  PAYLEDGER_CHECK(horizon_days >= 1 && horizon_days <= kExposureHorizonMaxDays,
                  "exposure horizon out of range");
  auto owners = partition_owners(stores);
  if (!owners) return owners.error();
  Exposure out;
  out.horizon_days = horizon_days;
  if (as_of) {
    out.as_of_s = *as_of;
  } else {
    auto t = latest_event_time(stores, *owners);
    if (!t) return t.error();
    out.as_of_s = t->value_or(0);
    out.as_of_from_books = true;
  }
  Builder b;
  b.as_of_day = day_of(out.as_of_s);
  b.horizon = horizon_days;
  if (Status s = scan_payments(stores, *owners, out.as_of_s, b, out); !s) return s.error();
  if (Status s = scan_quotes(stores, *owners, out.as_of_s, b); !s) return s.error();
  if (Status s = scan_payables(stores, out.as_of_s, b); !s) return s.error();
  if (Status s = scan_history(stores, b, out); !s) return s.error();
  if (Status s = scan_forwards(stores, out.as_of_s, b); !s) return s.error();
  for (auto& [code, c] : b.by_asset) {
    for (const auto& w : c.weeks) c.total.add(w);
    c.total.add(c.later);
    c.fit = forecast_fit(c.history, 7);
    c.forecast = projections::forecast(c.fit, horizon_days);
    out.currencies.push_back(std::move(c));
  }
  return out;
}

}  // namespace payledger::projections
