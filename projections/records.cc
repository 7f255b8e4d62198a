#include "projections/records.h"

#include <algorithm>
#include <cstring>
#include <tuple>

#include <google/protobuf/timestamp.pb.h>
#include <openssl/evp.h>

#include <fmt/format.h>

#include "events/schema/check.h"
#include "ledger/local_time.h"
#include "payledger/v1/events.pb.h"

namespace payledger::projections {
namespace {

using ledger::Balance;
using ledger::PaymentState;

Error corrupt(std::string_view what) {
  return make_error(Code::kCorrupt, fmt::format("stored {} does not decode", what));
}

}  // namespace

void Writer::be32(uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>((v >> (8 * (3 - i))) & 0xff);
  out_->append(b, sizeof b);
}
void Writer::be64(uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>((v >> (8 * (7 - i))) & 0xff);
  out_->append(b, sizeof b);
}
void Writer::i128(const Int128& v) {
  unsigned __int128 mag = ledger::int128_magnitude(v);
  char b[17];
  b[0] = ledger::int128_negative(v) ? 1 : 0;
  for (int i = 0; i < 16; ++i) b[1 + i] = static_cast<char>((mag >> (8 * (15 - i))) & 0xff);
  out_->append(b, sizeof b);
}
void Writer::i128_compact(const Int128& v) {
  const unsigned __int128 mag = ledger::int128_magnitude(v);
  const uint64_t hi = static_cast<uint64_t>(mag >> 64), lo = static_cast<uint64_t>(mag);
  const int bits = hi != 0 ? 128 - __builtin_clzll(hi) : lo != 0 ? 64 - __builtin_clzll(lo) : 0;
  const int n = (bits + 7) / 8;
  char b[17];
  b[0] = static_cast<char>((mag != 0 && ledger::int128_negative(v) ? 0x80 : 0) | n);
  for (int i = 0; i < n; ++i) b[1 + i] = static_cast<char>((mag >> (8 * (n - 1 - i))) & 0xff);
  out_->append(b, 1 + n);
}
void Writer::str16(std::string_view s) {
  PAYLEDGER_CHECK(s.size() <= 0xffff);
  u8(static_cast<uint8_t>(s.size() >> 8));
  u8(static_cast<uint8_t>(s.size() & 0xff));
  out_->append(s);
}
void Writer::str32(std::string_view s) {
  be32(static_cast<uint32_t>(s.size()));
  out_->append(s);
}

bool Reader::take(size_t n, const char** p) {
  if (in_.size() - pos_ < n) return false;
  *p = in_.data() + pos_;
  pos_ += n;
  return true;
}
bool Reader::u8(uint8_t* v) {
  const char* p;
  if (!take(1, &p)) return false;
  *v = static_cast<uint8_t>(*p);
  return true;
}
bool Reader::be32(uint32_t* v) {
  const char* p;
  if (!take(4, &p)) return false;
  *v = 0;
  for (int i = 0; i < 4; ++i) *v = (*v << 8) | static_cast<unsigned char>(p[i]);
  return true;
}
bool Reader::be64(uint64_t* v) {
  const char* p;
  if (!take(8, &p)) return false;
  *v = 0;
  for (int i = 0; i < 8; ++i) *v = (*v << 8) | static_cast<unsigned char>(p[i]);
  return true;
}
bool Reader::i128(Int128* v) {
  uint8_t sign;
  uint64_t hi, lo;
  if (!u8(&sign) || sign > 1 || !be64(&hi) || !be64(&lo)) return false;
  *v = ledger::int128_from(sign != 0, (static_cast<unsigned __int128>(hi) << 64) | lo);
  return true;
}
bool Reader::i128_compact(Int128* v) {
  uint8_t head;
  const char* p;
  if (!u8(&head)) return false;
  const bool negative = (head & 0x80) != 0;
  const size_t n = head & 0x7f;
  if (n > 16 || (n == 0 && negative) || !take(n, &p)) return false;
  if (n != 0 && p[0] == 0) return false;  // not minimal
  unsigned __int128 mag = 0;
  for (size_t i = 0; i < n; ++i) mag = (mag << 8) | static_cast<unsigned char>(p[i]);
  *v = ledger::int128_from(negative, mag);
  return true;
}
bool Reader::str16(std::string_view* s) {
  uint8_t hi, lo;
  if (!u8(&hi) || !u8(&lo)) return false;
  const char* p;
  size_t n = (size_t{hi} << 8) | lo;
  if (!take(n, &p)) return false;
  *s = std::string_view(p, n);
  return true;
}
bool Reader::str32(std::string_view* s) {
  uint32_t n;
  const char* p;
  if (!be32(&n) || !take(n, &p)) return false;
  *s = std::string_view(p, n);
  return true;
}

std::string be32_string(uint32_t v) {
  std::string s;
  Writer(&s).be32(v);
  return s;
}
std::string be64_string(uint64_t v) {
  std::string s;
  Writer(&s).be64(v);
  return s;
}
uint64_t read_be64(std::string_view s) {
  PAYLEDGER_CHECK(s.size() >= 8);
  uint64_t v = 0;
  Reader(s.substr(0, 8)).be64(&v);
  return v;
}

void make_key(std::string* out, uint32_t partition, std::string_view a, std::string_view b) {
  out->clear();
  Writer(out).be32(partition);
  out->append(a);
  out->push_back('\0');
  out->append(b);
}

bool split_key(std::string_view key, KeyParts* out) {
  if (key.size() < 5) return false;
  Reader(key.substr(0, 4)).be32(&out->partition);
  std::string_view rest = key.substr(4);
  size_t z = rest.find('\0');
  if (z == std::string_view::npos) return false;
  out->a = rest.substr(0, z);
  out->b = rest.substr(z + 1);
  return true;
}

std::string partition_prefix(uint32_t partition) { return be32_string(partition); }

std::string balance_key(uint32_t partition, std::string_view account, std::string_view asset) {
  std::string k;
  make_key(&k, partition, account, asset);
  return k;
}

std::string encode_balance(const Balance& b) {
  std::string s;
  Writer w(&s);
  w.i128_compact(b.posted_debit);
  w.i128_compact(b.posted_credit);
  w.i128_compact(b.pending_debit);
  w.i128_compact(b.pending_credit);
  return s;
}

Result<Balance> decode_balance(std::string_view bytes) {
  Balance b;
  Reader r(bytes);
  if (!r.i128_compact(&b.posted_debit) || !r.i128_compact(&b.posted_credit) ||
      !r.i128_compact(&b.pending_debit) || !r.i128_compact(&b.pending_credit) || !r.done()) {
    return corrupt("balance");
  }
  // Read-back invariant: totals of lines are never negative.
  if (b.posted_debit.sign() < 0 || b.posted_credit.sign() < 0 || b.pending_debit.sign() < 0 ||
      b.pending_credit.sign() < 0) {
    return corrupt("balance (negative total)");
  }
  return b;
}

std::string payment_key(uint32_t partition, std::string_view merchant,
                        std::string_view payment_id) {
  return balance_key(partition, merchant, payment_id);
}

// Payment record layout version; decode rejects others rather than misreading them.
// 5: coupons per funder with what was returned to each.
constexpr uint8_t kPaymentRecordVersion = 6;

std::string encode_payment(const PaymentState& p) {
  std::string s;
  s.reserve(96);  // a typical record (~60-80 bytes) without regrowing
  Writer w(&s);
  w.u8(kPaymentRecordVersion);
  w.u8(static_cast<uint8_t>(p.kind));
  w.u8(static_cast<uint8_t>(p.status));
  w.u8(static_cast<uint8_t>(p.method));
  w.u8(static_cast<uint8_t>(p.dispute));
  w.str16(p.asset.code());
  w.i128_compact(p.authorised);
  w.i128_compact(p.captured);
  w.i128_compact(p.refunded);
  w.i128_compact(p.charged_back);
  w.i128_compact(p.dispute_amount);
  w.be32(p.captures);
  w.be32(p.refunds);
  w.be32(p.disputes);
  w.be64(static_cast<uint64_t>(p.created_at_s));
  w.be64(static_cast<uint64_t>(p.expires_at_s));
  w.i128_compact(p.fee);
  w.be32(p.instalments);
  w.be32(p.instalments_collected);
  w.i128_compact(p.fee_fixed);
  w.i128_compact(p.fee_returned);
  w.u8(p.fee_refundable ? 1 : 0);
  w.i128_compact(p.coupons);
  w.be32(static_cast<uint32_t>(p.coupon_funding.size()));
  for (const auto& f : p.coupon_funding) {
    w.u8(static_cast<uint8_t>(f.funder));
    w.str16(f.partner);
    w.i128_compact(f.applied);
    w.i128_compact(f.returned);
  }
  w.be32(static_cast<uint32_t>(p.business_ids.size()));
  for (const auto& id : p.business_ids) w.str16(id);
  if (p.fx) {  // only then: a payment in its merchant's currency keeps its earlier bytes
    w.str16(p.fx->settle);
    w.str16(p.fx->pair);
    w.str16(p.fx->rate);
    w.str16(p.fx->markup);
    w.str16(p.fx->quote_id);
    w.i128_compact(p.fx->posted);
    w.i128_compact(p.fx->pending);
  }
  return s;
}

namespace {

// Read-back pair of the rules' coupon checks: one entry per funder, sorted, a partner exactly
// on partner entries, 0 <= returned <= applied, the applied amounts summing to `coupons`.
Status decode_coupon_funding(Reader& r, PaymentState& p) {
  uint32_t n = 0;
  if (!r.be32(&n) || n > ledger::kPaymentBusinessIdsMax || p.coupons.sign() < 0) {
    return corrupt("payment (coupons)");
  }
  Int128 funded = 0;
  p.coupon_funding.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    uint8_t funder = 0;
    std::string_view partner;
    ledger::CouponFunding f;
    if (!r.u8(&funder) || funder < 1 || funder > 3 || !r.str16(&partner) ||
        !r.i128_compact(&f.applied) || !r.i128_compact(&f.returned)) {
      return corrupt("payment (coupons)");
    }
    f.funder = static_cast<ledger::CouponFunder>(funder);
    f.partner = std::string(partner);
    if ((f.funder == ledger::CouponFunder::kPartner) == partner.empty() ||
        f.applied.sign() <= 0 || f.applied > p.coupons - funded || f.returned.sign() < 0 ||
        f.returned > f.applied) {
      return corrupt("payment (coupon amounts)");
    }
    if (!p.coupon_funding.empty() &&
        !(std::tie(p.coupon_funding.back().funder, p.coupon_funding.back().partner) <
          std::tie(f.funder, f.partner))) {
      return corrupt("payment (coupon funders out of order)");
    }
    funded = funded + f.applied;
    p.coupon_funding.push_back(std::move(f));
  }
  if (funded != p.coupons) return corrupt("payment (coupons without their funders)");
  return Status::Ok();
}

}  // namespace

Result<PaymentState> decode_payment(std::string_view bytes) {
  Reader r(bytes);
  uint8_t version, kind, status, method, dispute;
  std::string_view code;
  if (!r.u8(&version) || version != kPaymentRecordVersion || !r.u8(&kind) || !r.u8(&status) ||
      !r.u8(&method) || !r.u8(&dispute) || !r.str16(&code)) {
    return corrupt("payment");
  }
  if (kind < 1 || kind > 6 || status < 1 || status > 11 || method > 10 || dispute > 4) {
    return corrupt("payment (enum out of range)");
  }
  auto asset = ledger::Asset::find(code);
  if (!asset) return corrupt("payment (unknown asset)");
  PaymentState p{.kind = static_cast<ledger::PaymentKind>(kind),
                 .status = static_cast<ledger::PaymentStatus>(status),
                 .asset = *asset,
                 .method = static_cast<ledger::Method>(method),
                 .dispute = static_cast<ledger::DisputeStatus>(dispute)};
  uint64_t created = 0, expires = 0;
  if (!r.i128_compact(&p.authorised) || !r.i128_compact(&p.captured) ||
      !r.i128_compact(&p.refunded) || !r.i128_compact(&p.charged_back) ||
      !r.i128_compact(&p.dispute_amount) || !r.be32(&p.captures) || !r.be32(&p.refunds) ||
      !r.be32(&p.disputes) || !r.be64(&created) || !r.be64(&expires) ||
      !r.i128_compact(&p.fee) || !r.be32(&p.instalments) || !r.be32(&p.instalments_collected)) {
    return corrupt("payment");
  }
  uint8_t fee_refundable = 0;
  uint32_t ids = 0;
  if (!r.i128_compact(&p.fee_fixed) || !r.i128_compact(&p.fee_returned) ||
      !r.u8(&fee_refundable) || fee_refundable > 1 || !r.i128_compact(&p.coupons)) {
    return corrupt("payment");
  }
  if (Status s = decode_coupon_funding(r, p); !s) return s.error();
  if (!r.be32(&ids) || ids > ledger::kPaymentBusinessIdsMax) return corrupt("payment");
  p.fee_refundable = fee_refundable == 1;
  p.business_ids.reserve(ids);
  for (uint32_t i = 0; i < ids; ++i) {
    std::string_view id;
    if (!r.str16(&id) || id.size() < 2) return corrupt("payment (business id)");
    // Stored sorted and unique: lookups binary-search them.
    if (!p.business_ids.empty() && !(p.business_ids.back() < id)) {
      return corrupt("payment (business ids out of order)");
    }
    p.business_ids.emplace_back(id);
  }
  if (!r.done()) {
    std::string_view settle, pair, rate, markup, quote_id;
    ledger::PaymentFx fx;
    if (!r.str16(&settle) || !r.str16(&pair) || !r.str16(&rate) || !r.str16(&markup) ||
        !r.str16(&quote_id) || !r.i128_compact(&fx.posted) || !r.i128_compact(&fx.pending)) {
      return corrupt("payment (fx)");
    }
    // The terms must be usable as stored: a pair of the payment's asset and another
    // settlement asset, rates that parse.
    auto settle_asset = ledger::Asset::find(settle);
    auto parsed_pair = ledger::CurrencyPair::parse(pair);
    if (!settle_asset || !parsed_pair || *settle_asset == p.asset ||
        !parsed_pair->has(*settle_asset) || !parsed_pair->has(p.asset) ||
        !ledger::Rate::parse(rate) || (!markup.empty() && !ledger::Rate::parse(markup))) {
      return corrupt("payment (fx terms)");
    }
    fx.settle = settle;
    fx.pair = pair;
    fx.rate = rate;
    fx.markup = markup;
    fx.quote_id = quote_id;
    p.fx = std::move(fx);
  }
  if (!r.done()) return corrupt("payment");
  p.created_at_s = static_cast<int64_t>(created);
  p.expires_at_s = static_cast<int64_t>(expires);
  // Read-back invariants of the state machines.
  if (p.captured > p.authorised || p.refunded + p.charged_back > p.captured ||
      p.fee_returned > p.fee || p.fee_fixed > p.fee || p.coupons > p.authorised ||
      p.fee.sign() < 0 || p.fee_returned.sign() < 0 || p.fee_fixed.sign() < 0 ||
      p.coupons.sign() < 0) {
    return corrupt("payment (amounts)");
  }
  return p;
}

std::string encode_checkout(const ledger::CheckoutState& c) {
  std::string s;
  Writer w(&s);
  w.u8(static_cast<uint8_t>(c.status));
  w.str16(c.method);
  w.str16(c.market);
  return s;
}

Result<ledger::CheckoutState> decode_checkout(std::string_view bytes) {
  Reader r(bytes);
  uint8_t status;
  std::string_view method, market;
  if (!r.u8(&status) || status < 1 || status > 3 || !r.str16(&method) || !r.str16(&market) ||
      !r.done()) {
    return corrupt("checkout");
  }
  return ledger::CheckoutState{static_cast<ledger::CheckoutStatus>(status), std::string(method),
                               std::string(market)};
}

std::string encode_quote(const ledger::FxQuote& q) {
  std::string s;
  Writer w(&s);
  w.str16(q.pair);
  w.str16(q.rate);
  w.be64(static_cast<uint64_t>(q.locked_at_s));
  w.be64(static_cast<uint64_t>(q.expires_at_s));
  w.str16(q.used_by);
  return s;
}

Result<ledger::FxQuote> decode_quote(std::string_view bytes) {
  Reader r(bytes);
  std::string_view pair, rate, used_by;
  uint64_t locked = 0, expires = 0;
  if (!r.str16(&pair) || !r.str16(&rate) || !r.be64(&locked) || !r.be64(&expires) ||
      !r.str16(&used_by) || !r.done()) {
    return corrupt("fx quote");
  }
  return ledger::FxQuote{std::string(pair), std::string(rate), static_cast<int64_t>(locked),
                         static_cast<int64_t>(expires), std::string(used_by)};
}

void rate_key(std::string* out, uint32_t partition, std::string_view pair, int64_t as_of_s) {
  out->clear();
  Writer w(out);
  w.be32(partition);
  out->append(pair);
  out->push_back('\0');
  // Sign bit flipped: byte order is time order, before 1970 included.
  w.be64(static_cast<uint64_t>(as_of_s) ^ (uint64_t{1} << 63));
}

void forward_key(std::string* out, uint32_t partition, std::string_view forward_id) {
  out->clear();
  Writer w(out);
  w.be32(partition);
  out->push_back(kForwardTag);
  out->append(forward_id);
}

std::string encode_forward(const ledger::FxForward& f) {
  std::string s;
  Writer w(&s);
  w.str16(f.pair);
  w.u8(f.buy ? 1 : 0);
  w.i128(f.notional);
  w.str16(f.rate);
  w.be64(static_cast<uint64_t>(f.booked_at_s));
  w.be64(static_cast<uint64_t>(f.value_date_s));
  w.be64(static_cast<uint64_t>(f.settled_at_s));
  return s;
}

Result<ledger::FxForward> decode_forward(std::string_view bytes) {
  Reader r(bytes);
  std::string_view pair, rate;
  uint8_t buy = 0;
  Int128 notional = 0;
  uint64_t booked = 0, value_date = 0, settled = 0;
  if (!r.str16(&pair) || !r.u8(&buy) || buy > 1 || !r.i128(&notional) || !r.str16(&rate) ||
      !r.be64(&booked) || !r.be64(&value_date) || !r.be64(&settled) || !r.done() ||
      notional.sign() <= 0 || !ledger::CurrencyPair::parse(pair) || !ledger::Rate::parse(rate)) {
    return corrupt("fx forward");
  }
  return ledger::FxForward{std::string(pair), buy == 1, notional, std::string(rate),
                           static_cast<int64_t>(booked), static_cast<int64_t>(value_date),
                           static_cast<int64_t>(settled)};
}

void settlement_key(std::string* out, uint32_t partition, std::string_view merchant, char tag,
                    std::string_view id) {
  out->clear();
  Writer w(out);
  w.be32(partition);
  out->append(merchant);
  out->push_back('\0');
  out->push_back(tag);
  out->append(id);
}

std::string encode_policy(const ledger::SettlementPolicy& p) {
  std::string s;
  Writer w(&s);
  w.u8(static_cast<uint8_t>(p.rail));
  w.be32(static_cast<uint32_t>(p.cutoff_minute));
  w.str16(p.time_zone);
  w.be32(p.settlement_days);
  w.i128(p.minimum_payout);
  w.str16(p.reserve_percent);
  w.be32(p.reserve_days);
  w.be32(p.sweep_minutes);
  w.be64(static_cast<uint64_t>(p.set_at_s));
  return s;
}

Result<ledger::SettlementPolicy> decode_policy(std::string_view bytes) {
  Reader r(bytes);
  uint8_t rail = 0;
  uint32_t cutoff = 0, days = 0, reserve_days = 0, sweep = 0;
  uint64_t set_at = 0;
  std::string_view zone, percent;
  ledger::SettlementPolicy p;
  if (!r.u8(&rail) || (rail != 1 && rail != 2) || !r.be32(&cutoff) || cutoff >= 24 * 60 ||
      !r.str16(&zone) || !r.be32(&days) || !r.i128(&p.minimum_payout) || !r.str16(&percent) ||
      !r.be32(&reserve_days) || !r.be32(&sweep) || !r.be64(&set_at) || !r.done() ||
      p.minimum_payout.sign() < 0 || !ledger::find_time_zone(zone) ||
      (!percent.empty() && !ledger::percent_fraction(percent))) {
    return corrupt("settlement policy");
  }
  p.rail = static_cast<ledger::Rail>(rail);
  p.cutoff_minute = static_cast<int32_t>(cutoff);
  p.time_zone = std::string(zone);
  p.settlement_days = days;
  p.reserve_percent = std::string(percent);
  p.reserve_days = reserve_days;
  p.sweep_minutes = sweep;
  p.set_at_s = static_cast<int64_t>(set_at);
  return p;
}

std::string encode_instruction(const ledger::SettlementInstruction& in) {
  std::string s;
  Writer w(&s);
  w.str16(in.currency);
  w.u8(static_cast<uint8_t>(in.rail));
  w.i128(in.amount);
  w.i128(in.reserve);
  w.be64(static_cast<uint64_t>(in.reserve_release_s));
  w.u8(in.reserve_released ? 1 : 0);
  w.u8(in.minted ? 1 : 0);
  w.u8(static_cast<uint8_t>(in.status));
  w.be64(static_cast<uint64_t>(in.instructed_s));
  w.be64(static_cast<uint64_t>(in.cutoff_s));
  w.be64(static_cast<uint64_t>(in.value_date_s));
  w.be64(static_cast<uint64_t>(in.sent_s));
  w.be64(static_cast<uint64_t>(in.done_s));
  w.str16(in.return_reason);
  return s;
}

Result<ledger::SettlementInstruction> decode_instruction(std::string_view bytes) {
  Reader r(bytes);
  std::string_view currency, reason;
  uint8_t rail = 0, released = 0, minted = 0, status = 0;
  uint64_t release = 0, instructed = 0, cutoff = 0, value_date = 0, sent = 0, done = 0;
  ledger::SettlementInstruction in;
  if (!r.str16(&currency) || !r.u8(&rail) || (rail != 1 && rail != 2) || !r.i128(&in.amount) ||
      !r.i128(&in.reserve) || !r.be64(&release) || !r.u8(&released) || released > 1 || !r.u8(&minted) || minted > 1 ||
      !r.u8(&status) || status < 1 || status > 5 || !r.be64(&instructed) ||
      !r.be64(&cutoff) || !r.be64(&value_date) || !r.be64(&sent) || !r.be64(&done) || !r.str16(&reason) ||
      !r.done() || in.amount.sign() <= 0 || in.reserve.sign() < 0 ||
      !ledger::Asset::find(currency)) {
    return corrupt("settlement instruction");
  }
  in.currency = std::string(currency);
  in.rail = static_cast<ledger::Rail>(rail);
  in.reserve_release_s = static_cast<int64_t>(release);
  in.reserve_released = released == 1;
  in.minted = minted == 1;
  in.status = static_cast<ledger::InstructionStatus>(status);
  in.instructed_s = static_cast<int64_t>(instructed);
  in.cutoff_s = static_cast<int64_t>(cutoff);
  in.value_date_s = static_cast<int64_t>(value_date);
  in.sent_s = static_cast<int64_t>(sent);
  in.done_s = static_cast<int64_t>(done);
  in.return_reason = std::string(reason);
  return in;
}

std::string revaluation_key(uint32_t partition, int64_t as_of_s, std::string_view reporting) {
  std::string out;
  Writer w(&out);
  w.be32(partition);
  out.push_back(kRevaluationTag);
  w.be64(static_cast<uint64_t>(as_of_s) ^ (uint64_t{1} << 63));
  out.append(reporting);
  return out;
}

std::string encode_revaluation(const ledger::FxRevaluation& v) {
  std::string s;
  Writer w(&s);
  w.be64(static_cast<uint64_t>(v.as_of_s));
  w.str16(v.reporting);
  w.be64(static_cast<uint64_t>(v.run_at_s));
  w.str16(v.event_id);
  return s;
}

Result<ledger::FxRevaluation> decode_revaluation(std::string_view key, std::string_view bytes) {
  Reader r(bytes);
  std::string_view reporting, event_id;
  uint64_t as_of = 0, run_at = 0;
  if (!r.be64(&as_of) || !r.str16(&reporting) || !r.be64(&run_at) || !r.str16(&event_id) ||
      !r.done() || key.size() < 5 ||
      key.substr(4) != revaluation_key(0, static_cast<int64_t>(as_of), reporting).substr(4)) {
    return corrupt("fx revaluation run");
  }
  return ledger::FxRevaluation{static_cast<int64_t>(as_of), std::string(reporting),
                               static_cast<int64_t>(run_at), std::string(event_id)};
}

std::string encode_rate(const ledger::FxRate& r) {
  std::string s;
  Writer w(&s);
  w.str16(r.pair);
  w.be64(static_cast<uint64_t>(r.as_of_s));
  w.str16(r.mid);
  w.str16(r.bid);
  w.str16(r.ask);
  w.str16(r.source);
  w.str16(r.event_id);
  return s;
}

Result<ledger::FxRate> decode_rate(std::string_view key, std::string_view bytes) {
  Reader r(bytes);
  std::string_view pair, mid, bid, ask, source, event_id;
  uint64_t as_of = 0;
  if (!r.str16(&pair) || !r.be64(&as_of) || !r.str16(&mid) || !r.str16(&bid) ||
      !r.str16(&ask) || !r.str16(&source) || !r.str16(&event_id) || !r.done()) {
    return corrupt("fx rate");
  }
  ledger::FxRate rate{std::string(pair), static_cast<int64_t>(as_of), std::string(mid),
                      std::string(bid),  std::string(ask),            std::string(source),
                      std::string(event_id)};
  uint32_t partition = 0;
  std::string expected;
  if (key.size() < 4 || !Reader(key.substr(0, 4)).be32(&partition)) return corrupt("fx rate key");
  rate_key(&expected, partition, rate.pair, rate.as_of_s);
  auto parses = [](const std::string& text) { return ledger::Rate::parse(text).ok(); };
  if (expected != key || !ledger::CurrencyPair::parse(rate.pair) ||
      (rate.mid.empty() ? !(parses(rate.bid) && parses(rate.ask)) : !parses(rate.mid))) {
    return corrupt("fx rate (does not match its key, or its rates do not parse)");
  }
  return rate;
}

std::string encode_contract(const ledger::Contract& c) {
  std::string s;
  Writer w(&s);
  // A zero-percent contract stores mantissa 0 (a Rate is always > 0).
  w.i128(c.rate ? c.rate->mantissa() : Int128(0));
  w.u8(static_cast<uint8_t>(c.rate ? c.rate->scale() : 0));
  w.u8(c.fixed ? 1 : 0);
  w.str16(c.fixed ? c.fixed->asset().code() : std::string());
  w.i128(c.fixed ? c.fixed->minor() : Int128(0));
  w.u8(c.refund_fees ? 1 : 0);
  w.u8(c.ended ? 1 : 0);
  if (c.settlement) {  // only then: a contract without one keeps its earlier bytes
    w.str16(c.settlement->code());
    w.i128(c.fx_markup ? c.fx_markup->mantissa() : Int128(0));
    w.u8(static_cast<uint8_t>(c.fx_markup ? c.fx_markup->scale() : 0));
    w.be32(c.rate_max_age_h);
  }
  return s;
}

Result<ledger::Contract> decode_contract(std::string_view bytes) {
  Reader r(bytes);
  Int128 mantissa, fixed_minor;
  uint8_t scale, has_fixed, refund_fees, ended;
  std::string_view code;
  if (!r.i128(&mantissa) || !r.u8(&scale) || !r.u8(&has_fixed) || !r.str16(&code) ||
      !r.i128(&fixed_minor) || !r.u8(&refund_fees) || !r.u8(&ended) || has_fixed > 1 ||
      refund_fees > 1 || ended > 1) {
    return corrupt("contract");
  }
  ledger::Contract settlement_terms;
  if (!r.done()) {
    std::string_view settle;
    Int128 markup;
    uint8_t markup_scale;
    uint32_t max_age;
    if (!r.str16(&settle) || !r.i128(&markup) || !r.u8(&markup_scale) || !r.be32(&max_age) ||
        !r.done() || max_age == 0) {
      return corrupt("contract (settlement)");
    }
    auto asset = ledger::Asset::find(settle);
    if (!asset) return corrupt("contract (settlement asset)");
    settlement_terms.settlement = *asset;
    if (!markup.is_zero()) {
      auto m = ledger::Rate::from_parts(markup, markup_scale);
      if (!m) return corrupt("contract (fx markup)");
      settlement_terms.fx_markup = std::move(m).value();
    }
    settlement_terms.rate_max_age_h = max_age;
  }
  std::optional<ledger::Rate> rate;
  if (!mantissa.is_zero()) {
    auto parsed = ledger::Rate::from_parts(mantissa, scale);
    if (!parsed) return corrupt("contract (rate)");
    rate = std::move(parsed).value();
  }
  std::optional<ledger::Amount> fixed;
  if (has_fixed) {
    auto asset = ledger::Asset::find(code);
    if (!asset) return corrupt("contract (asset)");
    fixed = ledger::Amount::from_minor(*asset, fixed_minor);
  }
  if (fixed && fixed->sign() <= 0) return corrupt("contract (fixed fee)");
  settlement_terms.rate = std::move(rate);
  settlement_terms.fixed = std::move(fixed);
  settlement_terms.refund_fees = refund_fees == 1;
  settlement_terms.ended = ended == 1;
  return settlement_terms;
}

std::string entry_chunk_key(uint32_t partition, std::string_view account, std::string_view asset,
                            uint64_t first_offset) {
  std::string k = balance_key(partition, account, asset);
  k.push_back('\0');
  Writer(&k).be64(first_offset);
  return k;
}

bool split_entry_key(std::string_view key, KeyParts* parts, uint64_t* first_offset) {
  if (key.size() < 9 || key[key.size() - 9] != '\0') return false;
  if (!split_key(key.substr(0, key.size() - 9), parts)) return false;
  *first_offset = read_be64(key.substr(key.size() - 8));
  return true;
}

void append_entry_line(std::string* chunk, const EntryLine& line) {
  append_entry_line(chunk, line.offset, line.side, line.bucket, line.amount_minor,
                    line.body_case, line.event_id, line.occurred_at_s);
}

void append_entry_line(std::string* chunk, uint64_t offset, ledger::Side side,
                       ledger::Bucket bucket, const Int128& amount_minor, uint8_t body_case,
                       std::string_view event_id, int64_t occurred_at_s) {
  Writer w(chunk);
  w.be64(offset);
  w.u8(static_cast<uint8_t>(side));
  w.u8(static_cast<uint8_t>(bucket));
  w.i128_compact(amount_minor);
  w.u8(body_case);
  w.str16(event_id);
  w.be64(static_cast<uint64_t>(occurred_at_s));
}

namespace {

// One entry line as stored, checked, its event id still pointing into the chunk. Shared by
// decode_entry_chunk and count_entry_chunk so the two can never disagree about the layout.
struct RawEntryLine {
  uint64_t offset = 0;
  uint8_t side = 0, bucket = 0, body_case = 0;
  Int128 amount_minor;
  std::string_view event_id;
  uint64_t at = 0;
};

Status read_entry_line(Reader& r, const uint64_t* previous_offset, RawEntryLine* l) {
  if (!r.be64(&l->offset) || !r.u8(&l->side) || !r.u8(&l->bucket) || l->side > 1 ||
      l->bucket > 1 || !r.i128_compact(&l->amount_minor) || !r.u8(&l->body_case) ||
      !r.str16(&l->event_id) || !r.be64(&l->at)) {
    return corrupt("entry chunk");
  }
  if (l->amount_minor.sign() <= 0) return corrupt("entry chunk (non-positive line)");
  if (previous_offset != nullptr && l->offset < *previous_offset) {
    return corrupt("entry chunk (order)");
  }
  return {};
}

}  // namespace

void append_entry_chunk_header(std::string* out, const ledger::Balance& closing) {
  const std::string b = encode_balance(closing);
  Writer(out).u8(static_cast<uint8_t>(b.size()));  // at most 4 x 17 bytes
  out->append(b);
}

namespace {
// The header's length (1 + its balance's), after checking the balance decodes.
Result<size_t> entry_chunk_header(std::string_view bytes, ledger::Balance* closing) {
  if (bytes.empty() || static_cast<uint8_t>(bytes[0]) + size_t{1} > bytes.size()) {
    return corrupt("entry chunk header");
  }
  const size_t n = static_cast<uint8_t>(bytes[0]);
  auto b = decode_balance(bytes.substr(1, n));
  if (!b) return corrupt("entry chunk header (balance)");
  if (closing != nullptr) *closing = *b;
  return n + 1;
}
}  // namespace

Result<ledger::Balance> entry_chunk_closing(std::string_view bytes) {
  ledger::Balance b;
  auto n = entry_chunk_header(bytes, &b);
  if (!n) return n.error();
  return b;
}

Result<std::vector<EntryLine>> decode_entry_chunk(std::string_view bytes) {
  auto n = entry_chunk_header(bytes, nullptr);
  if (!n) return n.error();
  return decode_entry_lines(bytes.substr(*n));
}

Result<std::vector<EntryLine>> decode_entry_lines(std::string_view bytes) {
  std::vector<EntryLine> lines;
  Reader r(bytes);
  while (!r.done()) {
    RawEntryLine raw;
    if (Status s = read_entry_line(r, lines.empty() ? nullptr : &lines.back().offset, &raw); !s) {
      return s.error();
    }
    EntryLine l;
    l.offset = raw.offset;
    l.amount_minor = raw.amount_minor;
    l.body_case = raw.body_case;
    l.side = static_cast<ledger::Side>(raw.side);
    l.bucket = static_cast<ledger::Bucket>(raw.bucket);
    l.event_id = std::string(raw.event_id);
    l.occurred_at_s = static_cast<int64_t>(raw.at);
    lines.push_back(std::move(l));
  }
  return lines;
}

Result<size_t> count_entry_chunk(std::string_view bytes) {
  auto header = entry_chunk_header(bytes, nullptr);
  if (!header) return header.error();
  Reader r(bytes.substr(*header));
  size_t n = 0;
  uint64_t previous = 0;
  while (!r.done()) {
    RawEntryLine raw;
    if (Status s = read_entry_line(r, n == 0 ? nullptr : &previous, &raw); !s) return s.error();
    previous = raw.offset;
    ++n;
  }
  return n;
}

std::string dedupe_key(std::string_view merchant, std::string_view event_id) {
  std::string k(merchant);
  k.push_back('\0');
  k.append(event_id);
  return k;
}

std::string dedupe_id_key(uint32_t partition, std::string_view dedupe_key) {
  std::string k;
  append_dedupe_id_key(&k, partition, dedupe_key);
  return k;
}
void append_dedupe_id_key(std::string* out, uint32_t partition, std::string_view dedupe_key) {
  Writer(out).be32(partition);
  out->append(dedupe_key);
}

std::string encode_dedupe_value(uint64_t offset, const Fingerprint& fingerprint) {
  std::string s;
  append_dedupe_value(&s, offset, fingerprint);
  return s;
}
void append_dedupe_value(std::string* out, uint64_t offset, const Fingerprint& fingerprint) {
  Writer w(out);
  w.be64(offset);
  w.be64(fingerprint.hi);
  w.be64(fingerprint.lo);
}

Result<Fingerprint> decode_dedupe_value(std::string_view bytes) {
  Reader r(bytes);
  uint64_t offset = 0;
  Fingerprint f;
  if (!r.be64(&offset) || !r.be64(&f.hi) || !r.be64(&f.lo) || !r.done()) {
    return corrupt("dedupe record");
  }
  return f;
}

namespace {

namespace pb = google::protobuf;

void canonical_unknown(const pb::UnknownFieldSet& set, Writer& w) {
  std::vector<int> order(static_cast<size_t>(set.field_count()));
  for (int i = 0; i < set.field_count(); ++i) order[static_cast<size_t>(i)] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return set.field(a).number() < set.field(b).number(); });
  for (int i : order) {
    const pb::UnknownField& f = set.field(i);
    w.be32(static_cast<uint32_t>(f.number()));
    w.u8('x');
    w.u8(static_cast<uint8_t>(f.type()));
    switch (f.type()) {
      case pb::UnknownField::TYPE_VARINT: w.be64(f.varint()); break;
      case pb::UnknownField::TYPE_FIXED32: w.be64(f.fixed32()); break;
      case pb::UnknownField::TYPE_FIXED64: w.be64(f.fixed64()); break;
      case pb::UnknownField::TYPE_LENGTH_DELIMITED: w.str32(f.length_delimited()); break;
      case pb::UnknownField::TYPE_GROUP:
        canonical_unknown(f.group(), w);
        w.be32(0);
        break;
    }
  }
}

// Fields listed per nesting depth, reused across events (the fold's hot path).
thread_local std::vector<std::vector<const pb::FieldDescriptor*>> t_fields;

void canonical_message(const pb::Message& m, Writer& w, size_t depth);

void canonical_value(const pb::Message& m, const pb::Reflection& r, const pb::FieldDescriptor* f,
                     int i, Writer& w, size_t depth) {
  using F = pb::FieldDescriptor;
  const bool rep = f->is_repeated();
  w.be32(static_cast<uint32_t>(f->number()));
  switch (f->cpp_type()) {
    case F::CPPTYPE_INT32:
      w.u8('i');
      w.be64(static_cast<uint64_t>(int64_t{rep ? r.GetRepeatedInt32(m, f, i) : r.GetInt32(m, f)}));
      break;
    case F::CPPTYPE_INT64:
      w.u8('i');
      w.be64(static_cast<uint64_t>(rep ? r.GetRepeatedInt64(m, f, i) : r.GetInt64(m, f)));
      break;
    case F::CPPTYPE_ENUM:
      w.u8('i');
      w.be64(static_cast<uint64_t>(
          int64_t{rep ? r.GetRepeatedEnumValue(m, f, i) : r.GetEnumValue(m, f)}));
      break;
    case F::CPPTYPE_UINT32:
      w.u8('u');
      w.be64(rep ? r.GetRepeatedUInt32(m, f, i) : r.GetUInt32(m, f));
      break;
    case F::CPPTYPE_UINT64:
      w.u8('u');
      w.be64(rep ? r.GetRepeatedUInt64(m, f, i) : r.GetUInt64(m, f));
      break;
    case F::CPPTYPE_BOOL:
      w.u8('b');
      w.u8((rep ? r.GetRepeatedBool(m, f, i) : r.GetBool(m, f)) ? 1 : 0);
      break;
    case F::CPPTYPE_FLOAT:
    case F::CPPTYPE_DOUBLE: {
      double d = f->cpp_type() == F::CPPTYPE_FLOAT
                     ? double{rep ? r.GetRepeatedFloat(m, f, i) : r.GetFloat(m, f)}
                     : (rep ? r.GetRepeatedDouble(m, f, i) : r.GetDouble(m, f));
      uint64_t bits = 0;
      std::memcpy(&bits, &d, sizeof bits);
      w.u8('d');
      w.be64(bits);
      break;
    }
    case F::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& v = rep ? r.GetRepeatedStringReference(m, f, i, &scratch)
                                 : r.GetStringReference(m, f, &scratch);
      w.u8('s');
      w.str32(v);
      break;
    }
    case F::CPPTYPE_MESSAGE:
      w.u8('m');
      canonical_message(rep ? r.GetRepeatedMessage(m, f, i) : r.GetMessage(m, f), w, depth + 1);
      break;
  }
}

void canonical_message(const pb::Message& m, Writer& w, size_t depth) {
  const pb::Reflection& r = *m.GetReflection();
  if (t_fields.size() <= depth) t_fields.resize(depth + 1);
  std::vector<const pb::FieldDescriptor*>& fields = t_fields[depth];
  r.ListFields(m, &fields);  // the set fields, ordered by field number
  for (const pb::FieldDescriptor* f : fields) {
    PAYLEDGER_CHECK(!f->is_map(), "map fields have no canonical order");
    if (!f->is_repeated()) {
      canonical_value(m, r, f, 0, w, depth);
      continue;
    }
    int n = r.FieldSize(m, f);
    for (int i = 0; i < n; ++i) canonical_value(m, r, f, i, w, depth);
  }
  canonical_unknown(r.GetUnknownFields(m), w);
  w.be32(0);
}

}  // namespace

void canonical_encoding(const google::protobuf::Message& message, std::string* out) {
  out->clear();
  out->append("plc1");
  Writer w(out);
  canonical_message(message, w, 0);
}

Fingerprint content_fingerprint(std::string_view bytes) {
  return fingerprint_of(sha256_of(bytes));
}

Fingerprint fingerprint_of(const Sha256Digest& digest) {
  Fingerprint f;
  for (int i = 0; i < 8; ++i) f.hi = (f.hi << 8) | digest[i];
  for (int i = 8; i < 16; ++i) f.lo = (f.lo << 8) | digest[i];
  return f;
}

namespace {

// The canonical encoding without reflection (see canonical_encoding(Envelope) in records.h):
// the same bytes, written from the generated accessors. "Set" follows Reflection::ListFields
// for proto3: a string, number, enum or bool is set when not empty/zero; a message field when
// has_x(); a oneof member when its case is selected (even if empty).
class Enc {
 public:
  explicit Enc(std::string* out) : out_(out) {}
  void str(uint32_t number, const std::string& v) {
    if (v.empty()) return;
    head(number, 's');
    put32(static_cast<uint32_t>(v.size()));
    out_->append(v);
  }
  void i(uint32_t number, int64_t v) {
    if (v == 0) return;
    head(number, 'i');
    put64(static_cast<uint64_t>(v));
  }
  void u(uint32_t number, uint64_t v) {
    if (v == 0) return;
    head(number, 'u');
    put64(v);
  }
  void b(uint32_t number, bool v) {
    if (!v) return;
    head(number, 'b');
    out_->push_back(1);
  }
  template <typename M>
  void msg(uint32_t number, bool has, const M& m) {
    if (!has) return;
    head(number, 'm');
    body(m);
  }
  // A message's fields, its unknown fields and the terminating be32(0).
  template <typename M>
  void body(const M& m);

 private:
  void head(uint32_t number, char type) {
    char b[5] = {static_cast<char>(number >> 24), static_cast<char>(number >> 16),
                 static_cast<char>(number >> 8), static_cast<char>(number), type};
    out_->append(b, sizeof b);
  }
  void put32(uint32_t v) {
    char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                 static_cast<char>(v >> 8), static_cast<char>(v)};
    out_->append(b, sizeof b);
  }
  void put64(uint64_t v) {
    put32(static_cast<uint32_t>(v >> 32));
    put32(static_cast<uint32_t>(v));
  }
  std::string* out_;
};

void fields(Enc& e, const pb::Timestamp& m) {
  e.i(1, m.seconds());
  e.i(2, m.nanos());
}
void fields(Enc& e, const v1::Money& m) {
  e.str(1, m.currency());
  e.str(2, m.amount());
}
void fields(Enc& e, const v1::CardAuthorised& m) {
  e.str(1, m.payment_id());
  e.msg(2, m.has_amount(), m.amount());
  e.str(3, m.instrument_token());
  e.msg(4, m.has_expires_at(), m.expires_at());
}
void fields(Enc& e, const v1::CardAuthorisationExpired& m) {
  e.str(1, m.payment_id());
}
void fields(Enc& e, const v1::ChargebackOpened& m) {
  e.str(1, m.payment_id());
  e.str(2, m.chargeback_id());
  e.msg(3, m.has_amount(), m.amount());
  e.msg(4, m.has_fee(), m.fee());
}
void fields(Enc& e, const v1::ChargebackRepresented& m) {
  e.str(1, m.payment_id());
}
void fields(Enc& e, const v1::ChargebackResolved& m) {
  e.str(1, m.payment_id());
  e.b(2, m.won());
}
void fields(Enc& e, const v1::CardSchemeSettlementReceived& m) {
  e.str(1, m.settlement_id());
  e.str(2, m.scheme());
  e.msg(3, m.has_amount(), m.amount());
}
void fields(Enc& e, const v1::CardCaptured& m) {
  e.str(1, m.payment_id());
  e.str(2, m.capture_id());
  e.msg(3, m.has_amount(), m.amount());
}
void fields(Enc& e, const v1::CardVoided& m) {
  e.str(1, m.payment_id());
}
void fields(Enc& e, const v1::CardRefunded& m) {
  e.str(1, m.payment_id());
  e.str(2, m.refund_id());
  e.msg(3, m.has_amount(), m.amount());
}
void fields(Enc& e, const v1::BankTransferReceived& m) {
  e.str(1, m.payment_id());
  e.i(2, m.rail());
  e.msg(3, m.has_amount(), m.amount());
  e.str(4, m.end_to_end_id());
}
void fields(Enc& e, const v1::BankTransferRefunded& m) {
  e.str(1, m.payment_id());
  e.str(2, m.refund_id());
  e.msg(3, m.has_amount(), m.amount());
}
void fields(Enc& e, const v1::UpiPaymentPending& m) {
  e.str(1, m.payment_id());
  e.msg(2, m.has_amount(), m.amount());
  e.str(3, m.npci_code());
}
void fields(Enc& e, const v1::UpiPaymentResolved& m) {
  e.str(1, m.payment_id());
  e.i(2, m.outcome());
}
void fields(Enc& e, const v1::VoucherIssued& m) {
  e.str(1, m.payment_id());
  e.i(2, m.method());
  e.msg(3, m.has_amount(), m.amount());
  e.str(4, m.expires_on());
}
void fields(Enc& e, const v1::VoucherPaid& m) {
  e.str(1, m.payment_id());
}
void fields(Enc& e, const v1::VoucherExpired& m) {
  e.str(1, m.payment_id());
}
void fields(Enc& e, const v1::VoucherCollectorSettled& m) {
  e.str(1, m.settlement_id());
  e.i(2, m.method());
  e.msg(3, m.has_amount(), m.amount());
}
void fields(Enc& e, const v1::FeeAssessed& m) {
  e.str(1, m.fee_id());
  e.str(2, m.payment_id());
  e.msg(3, m.has_amount(), m.amount());
  e.str(4, m.kind());
}
void fields(Enc& e, const v1::PayoutSent& m) {
  e.str(1, m.payout_id());
  e.msg(2, m.has_amount(), m.amount());
  e.str(3, m.destination());
}
void fields(Enc& e, const v1::EWalletPaymentCompleted& m) {
  e.str(1, m.payment_id());
  e.i(2, m.wallet());
  e.msg(3, m.has_amount(), m.amount());
  e.msg(4, m.has_fee(), m.fee());
}
void fields(Enc& e, const v1::EWalletPaymentVoided& m) {
  e.str(1, m.payment_id());
}
void fields(Enc& e, const v1::EWalletPaymentRefunded& m) {
  e.str(1, m.payment_id());
  e.str(2, m.refund_id());
  e.msg(3, m.has_amount(), m.amount());
}
void fields(Enc& e, const v1::PayByBankInitiated& m) {
  e.str(1, m.payment_id());
  e.msg(2, m.has_amount(), m.amount());
  e.str(3, m.bank());
}
void fields(Enc& e, const v1::PayByBankCompleted& m) {
  e.str(1, m.payment_id());
}
void fields(Enc& e, const v1::PayByBankFailed& m) {
  e.str(1, m.payment_id());
  e.str(2, m.reason());
}
void fields(Enc& e, const v1::PayByBankExpired& m) {
  e.str(1, m.payment_id());
}
void fields(Enc& e, const v1::PayByBankRefundSent& m) {
  e.str(1, m.payment_id());
  e.str(2, m.refund_id());
  e.msg(3, m.has_amount(), m.amount());
}
void fields(Enc& e, const v1::BnplOrderApproved& m) {
  e.str(1, m.payment_id());
  e.str(2, m.provider());
  e.msg(3, m.has_amount(), m.amount());
  e.msg(4, m.has_fee(), m.fee());
  e.u(5, m.instalments());
}
void fields(Enc& e, const v1::BnplInstalmentCollected& m) {
  e.str(1, m.payment_id());
  e.u(2, m.number());
  e.msg(3, m.has_amount(), m.amount());
}
void fields(Enc& e, const v1::BnplOrderCancelled& m) {
  e.str(1, m.payment_id());
}
void fields(Enc& e, const v1::BnplRefunded& m) {
  e.str(1, m.payment_id());
  e.str(2, m.refund_id());
  e.msg(3, m.has_amount(), m.amount());
}
void fields(Enc& e, const v1::CouponApplied& m) {
  e.str(1, m.payment_id());
  e.str(2, m.coupon_id());
  e.msg(3, m.has_amount(), m.amount());
  e.i(4, m.funded_by());
  e.str(5, m.partner());
}
void fields(Enc& e, const v1::CheckoutStarted& m) {
  e.str(1, m.checkout_id());
  e.str(2, m.method());
  e.str(3, m.market());
}
void fields(Enc& e, const v1::CheckoutCompleted& m) {
  e.str(1, m.checkout_id());
  e.str(2, m.payment_id());
}
void fields(Enc& e, const v1::CheckoutAbandoned& m) {
  e.str(1, m.checkout_id());
}
void fields(Enc& e, const v1::MerchantContractSet& m) {
  e.str(1, m.method());
  e.str(2, m.percent());
  e.msg(3, m.has_fixed(), m.fixed());
  e.b(4, m.refund_fees());
  e.str(5, m.settlement_currency());
  e.str(6, m.fx_markup_percent());
  e.u(7, m.fx_rate_max_age_hours());
}
void fields(Enc& e, const v1::MerchantContractEnded& m) {
  e.str(1, m.method());
}
void fields(Enc& e, const v1::FxRatePublished& m) {
  e.str(1, m.pair());
  e.str(2, m.mid());
  e.str(3, m.bid());
  e.str(4, m.ask());
  e.str(5, m.source());
  e.msg(6, m.has_as_of(), m.as_of());
}
void fields(Enc& e, const v1::FxQuoteLocked& m) {
  e.str(1, m.quote_id());
  e.str(2, m.pair());
  e.str(3, m.rate());
  e.msg(4, m.has_expires_at(), m.expires_at());
}
void fields(Enc& e, const v1::FxConversionExecuted& m) {
  e.str(1, m.conversion_id());
  e.msg(2, m.has_from(), m.from());
  e.str(3, m.to_currency());
  e.str(4, m.quote_id());
  e.str(5, m.markup_percent());
  e.str(6, m.rate());
}
void fields(Enc& e, const v1::FxForwardBooked& m) {
  e.str(1, m.forward_id());
  e.str(2, m.pair());
  e.i(3, m.side());
  e.msg(4, m.has_notional(), m.notional());
  e.str(5, m.forward_rate());
  e.msg(6, m.has_value_date(), m.value_date());
}
void fields(Enc& e, const v1::FxForwardSettled& m) {
  e.str(1, m.forward_id());
}
void fields(Enc& e, const v1::FxRevaluationRun& m) {
  e.msg(1, m.has_as_of(), m.as_of());
  e.str(2, m.reporting_currency());
}
void fields(Enc& e, const v1::MerchantSettlementPolicySet& m) {
  e.str(1, m.currency());
  e.i(2, m.rail());
  e.str(3, m.cutoff_local());
  e.str(4, m.time_zone());
  e.u(5, m.settlement_days());
  e.msg(6, m.has_minimum_payout(), m.minimum_payout());
  e.str(7, m.reserve_percent());
  e.u(8, m.reserve_days());
  e.u(9, m.sweep_minutes());
}
void fields(Enc& e, const v1::SettlementInstructed& m) {
  e.str(1, m.instruction_id());
  e.msg(2, m.has_amount(), m.amount());
  e.i(3, m.rail());
  e.msg(4, m.has_value_date(), m.value_date());
  e.msg(5, m.has_reserve(), m.reserve());
  e.msg(6, m.has_reserve_release_at(), m.reserve_release_at());
  e.msg(7, m.has_cycle_cutoff(), m.cycle_cutoff());
}
void fields(Enc& e, const v1::SettlementSent& m) { e.str(1, m.instruction_id()); }
void fields(Enc& e, const v1::SettlementConfirmed& m) { e.str(1, m.instruction_id()); }
void fields(Enc& e, const v1::SettlementReturned& m) {
  e.str(1, m.instruction_id());
  e.str(2, m.reason());
}
void fields(Enc& e, const v1::SettlementReserveReleased& m) { e.str(1, m.instruction_id()); }
void fields(Enc& e, const v1::TokenMinted& m) {
  e.str(1, m.mint_id());
  e.msg(2, m.has_amount(), m.amount());
  e.str(3, m.instruction_id());
}
void fields(Enc& e, const v1::TokenTransferred& m) { e.str(1, m.instruction_id()); }
void fields(Enc& e, const v1::SettlementRunStarted& m) { e.msg(1, m.has_as_of(), m.as_of()); }
void fields(Enc& e, const v1::TokenRedeemed& m) {
  e.str(1, m.redemption_id());
  e.msg(2, m.has_amount(), m.amount());
}

#define PAYLEDGER_BODIES(BODY) \
    BODY(CardAuthorised, card_authorised) \
    BODY(CardCaptured, card_captured) \
    BODY(CardVoided, card_voided) \
    BODY(CardRefunded, card_refunded) \
    BODY(BankTransferReceived, bank_transfer_received) \
    BODY(FeeAssessed, fee_assessed) \
    BODY(PayoutSent, payout_sent) \
    BODY(CardAuthorisationExpired, card_authorisation_expired) \
    BODY(ChargebackOpened, chargeback_opened) \
    BODY(ChargebackRepresented, chargeback_represented) \
    BODY(ChargebackResolved, chargeback_resolved) \
    BODY(CardSchemeSettlementReceived, card_scheme_settlement_received) \
    BODY(BankTransferRefunded, bank_transfer_refunded) \
    BODY(UpiPaymentPending, upi_payment_pending) \
    BODY(UpiPaymentResolved, upi_payment_resolved) \
    BODY(VoucherIssued, voucher_issued) \
    BODY(VoucherPaid, voucher_paid) \
    BODY(VoucherExpired, voucher_expired) \
    BODY(VoucherCollectorSettled, voucher_collector_settled) \
    BODY(EwalletPaymentCompleted, ewallet_payment_completed) \
    BODY(EwalletPaymentVoided, ewallet_payment_voided) \
    BODY(EwalletPaymentRefunded, ewallet_payment_refunded) \
    BODY(PayByBankInitiated, pay_by_bank_initiated) \
    BODY(PayByBankCompleted, pay_by_bank_completed) \
    BODY(PayByBankFailed, pay_by_bank_failed) \
    BODY(PayByBankExpired, pay_by_bank_expired) \
    BODY(PayByBankRefundSent, pay_by_bank_refund_sent) \
    BODY(BnplOrderApproved, bnpl_order_approved) \
    BODY(BnplInstalmentCollected, bnpl_instalment_collected) \
    BODY(BnplOrderCancelled, bnpl_order_cancelled) \
    BODY(BnplRefunded, bnpl_refunded) \
    BODY(CouponApplied, coupon_applied) \
    BODY(CheckoutStarted, checkout_started) \
    BODY(CheckoutCompleted, checkout_completed) \
    BODY(CheckoutAbandoned, checkout_abandoned) \
    BODY(MerchantContractSet, merchant_contract_set) \
    BODY(MerchantContractEnded, merchant_contract_ended) \
    BODY(FxQuoteLocked, fx_quote_locked) \
    BODY(FxRatePublished, fx_rate_published) \
    BODY(FxConversionExecuted, fx_conversion_executed) \
    BODY(FxForwardBooked, fx_forward_booked) \
    BODY(FxForwardSettled, fx_forward_settled) \
    BODY(FxRevaluationRun, fx_revaluation_run) \
    BODY(MerchantSettlementPolicySet, merchant_settlement_policy_set) \
    BODY(SettlementInstructed, settlement_instructed) \
    BODY(SettlementSent, settlement_sent) \
    BODY(SettlementConfirmed, settlement_confirmed) \
    BODY(SettlementReturned, settlement_returned) \
    BODY(SettlementReserveReleased, settlement_reserve_released) \
    BODY(TokenMinted, token_minted) \
    BODY(TokenTransferred, token_transferred) \
    BODY(TokenRedeemed, token_redeemed) \
    BODY(SettlementRunStarted, settlement_run_started)

void fields(Enc& e, const v1::Envelope& m) {
  e.str(1, m.event_id());
  e.str(2, m.merchant_id());
  e.msg(3, m.has_occurred_at(), m.occurred_at());
  e.u(4, m.schema_version());
  e.str(5, m.correlation_id());
  e.str(6, m.causation_id());
  e.str(7, m.fx_quote_id());
  switch (m.body_case()) {
#define PAYLEDGER_BODY_CASE(Case, field) \
  case v1::Envelope::k##Case:            \
    e.msg(v1::Envelope::k##Case, true, m.field()); \
    break;
    PAYLEDGER_BODIES(PAYLEDGER_BODY_CASE)
#undef PAYLEDGER_BODY_CASE
#undef PAYLEDGER_BODIES
    case v1::Envelope::BODY_NOT_SET:
      break;
  }
}

template <typename M>
void Enc::body(const M& m) {
  fields(*this, m);
  const pb::UnknownFieldSet& unknown = m.GetReflection()->GetUnknownFields(m);
  if (!unknown.empty()) {
    Writer w(out_);
    canonical_unknown(unknown, w);
  }
  put32(0);
}

// Sets every field of `m` (and of its message fields, one level down) to a value that is not
// the default, so that a field the reflection-free encoder misses shows in its bytes.
void fill_every_field(pb::Message* m, int depth) {
  using F = pb::FieldDescriptor;
  const pb::Descriptor* d = m->GetDescriptor();
  const pb::Reflection* r = m->GetReflection();
  for (int k = 0; k < d->field_count(); ++k) {
    const F* f = d->field(k);
    if (f->containing_oneof() != nullptr || f->is_repeated()) continue;
    const int n = f->number();
    switch (f->cpp_type()) {
      case F::CPPTYPE_INT32: r->SetInt32(m, f, -n); break;
      case F::CPPTYPE_INT64: r->SetInt64(m, f, -int64_t{n} * 1000003); break;
      case F::CPPTYPE_UINT32: r->SetUInt32(m, f, static_cast<uint32_t>(n) + 7); break;
      case F::CPPTYPE_UINT64: r->SetUInt64(m, f, static_cast<uint64_t>(n) + 7); break;
      case F::CPPTYPE_BOOL: r->SetBool(m, f, true); break;
      case F::CPPTYPE_FLOAT: r->SetFloat(m, f, 1.5f); break;
      case F::CPPTYPE_DOUBLE: r->SetDouble(m, f, 2.5); break;
      case F::CPPTYPE_ENUM: r->SetEnumValue(m, f, n + 1); break;
      case F::CPPTYPE_STRING: r->SetString(m, f, fmt::format("{}-{}", f->name(), n)); break;
      case F::CPPTYPE_MESSAGE:
        if (depth < 3) fill_every_field(r->MutableMessage(m, f), depth + 1);
        break;
    }
  }
}

// Whether the reflection-free encoder gives the reflection encoder's bytes for every body,
// each with every field set: checked once per process, so a field added to the schema but
// not to fields() above sends the fold back to reflection (same bytes, slower) rather than
// to other fingerprints. The test suite asserts it holds.
bool fast_path_matches() {
  const pb::Descriptor* d = v1::Envelope::descriptor();
  std::string slow, fast;
  for (int k = 0; k < d->field_count(); ++k) {
    const pb::FieldDescriptor* f = d->field(k);
    if (f->containing_oneof() == nullptr) continue;
    v1::Envelope e;
    fill_every_field(&e, 0);
    fill_every_field(e.GetReflection()->MutableMessage(&e, f), 1);
    canonical_encoding(static_cast<const pb::Message&>(e), &slow);
    fast.assign("plc1");
    Enc(&fast).body(e);
    if (fast != slow) return false;
  }
  return true;
}

}  // namespace

void canonical_encoding(const v1::Envelope& event, std::string* out) {
  static const bool fast = fast_path_matches();
  if (!fast) return canonical_encoding(static_cast<const google::protobuf::Message&>(event), out);
  out->assign("plc1");
  Enc(out).body(event);
}

bool canonical_encoding_fast_path() {
  static const bool fast = fast_path_matches();
  return fast;
}

std::string offset_key(uint32_t partition) { return "offset/" + be32_string(partition); }
std::string log_end_key(uint32_t partition) { return "log_end/" + be32_string(partition); }
std::string last_record_key(uint32_t partition) {
  return "last_record/" + be32_string(partition);
}

std::string watermark_key(uint32_t partition) { return "watermark/" + be32_string(partition); }
std::string earliest_key(uint32_t partition) { return "earliest/" + be32_string(partition); }
uint64_t bias_time(int64_t t_s) { return static_cast<uint64_t>(t_s) ^ (uint64_t{1} << 63); }
int64_t unbias_time(uint64_t biased) {
  return static_cast<int64_t>(biased ^ (uint64_t{1} << 63));
}

std::string deadline_index_key(int64_t at_s, std::string_view merchant,
                               std::string_view payment_id) {
  std::string k = be64_string(bias_time(at_s));
  k.append(merchant);
  k.push_back('\0');
  k.append(payment_id);
  return k;
}

bool split_deadline_index_key(std::string_view key, int64_t* at_s, std::string_view* merchant,
                              std::string_view* payment_id) {
  if (key.size() < 9) return false;
  *at_s = unbias_time(read_be64(key));
  std::string_view rest = key.substr(8);
  size_t z = rest.find('\0');
  if (z == std::string_view::npos) return false;
  *merchant = rest.substr(0, z);
  *payment_id = rest.substr(z + 1);
  return true;
}

std::string reject_key(uint32_t partition, uint64_t offset) {
  return be32_string(partition) + be64_string(offset);
}

std::string encode_reject(const Reject& rj) {
  std::string s;
  Writer w(&s);
  w.u8(static_cast<uint8_t>(rj.code));
  w.str16(rj.reason.substr(0, 0xffff));
  w.str16(rj.event_id.substr(0, 0xffff));
  w.str16(rj.merchant_id.substr(0, 0xffff));
  w.u8(static_cast<uint8_t>(rj.format));
  w.str16(rj.key.substr(0, 0xffff));
  w.str32(rj.value);
  if (!rj.resolved.empty()) w.str16(rj.resolved.substr(0, 0xffff));  // optional trailer
  return s;
}

Result<Reject> decode_reject(std::string_view key, std::string_view bytes) {
  Reject rj;
  Reader k(key);
  if (!k.be32(&rj.partition) || !k.be64(&rj.offset) || !k.done()) return corrupt("reject key");
  Reader r(bytes);
  uint8_t code, format;
  std::string_view reason, event_id, merchant, rkey, value;
  if (!r.u8(&code) || !r.str16(&reason) || !r.str16(&event_id) || !r.str16(&merchant) ||
      !r.u8(&format) || !r.str16(&rkey) || !r.str32(&value)) {
    return corrupt("reject");
  }
  std::string_view resolved;
  if (!r.done() && (!r.str16(&resolved) || !r.done())) return corrupt("reject");
  rj.resolved = resolved;
  rj.code = static_cast<Code>(code);
  rj.reason = reason;
  rj.event_id = event_id;
  rj.merchant_id = merchant;
  rj.format = static_cast<events::RecordFormat>(format);
  rj.key = rkey;
  rj.value = value;
  return rj;
}

}  // namespace payledger::projections
