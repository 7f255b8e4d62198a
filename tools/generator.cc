#include "tools/generator.h"

#include <deque>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "events/codec.h"
#include "ledger/rate.h"

namespace payledger::tools {
namespace {

namespace v1 = payledger::v1;
using ledger::Amount;
using ledger::Asset;
using ledger::Int128;

// splitmix64: tiny, fast and specified bit for bit, unlike std:: distributions.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), n > 0 (rejection sampling: no modulo bias).
  uint64_t below(uint64_t n) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t v;
    do v = next(); while (v >= limit);
    return v % n;
  }
  int64_t between(int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(below(hi - lo + 1)); }

 private:
  uint64_t s_;
};

struct Market {
  const char* country;
  const char* currency;
  int64_t amount_min_minor;
  int64_t amount_max_minor;
  int64_t fee_fixed_minor;
  v1::BankRail rail;  // real-time rail of the market, if any
};

// A spread of exponents: BRL/INR/USD/EUR/GBP/MXN (2), JPY (0), BHD (3).
constexpr Market kMarkets[] = {
    {"BR", "BRL", 1000, 200000, 50, v1::BANK_RAIL_PIX},
    {"IN", "INR", 10000, 5000000, 300, v1::BANK_RAIL_UPI},
    {"JP", "JPY", 500, 100000, 30, v1::BANK_RAIL_UNSPECIFIED},
    {"BH", "BHD", 1000, 500000, 100, v1::BANK_RAIL_UNSPECIFIED},
    {"US", "USD", 500, 150000, 30, v1::BANK_RAIL_UNSPECIFIED},
    {"DE", "EUR", 500, 150000, 25, v1::BANK_RAIL_UNSPECIFIED},
    {"GB", "GBP", 500, 150000, 20, v1::BANK_RAIL_UNSPECIFIED},
    {"MX", "MXN", 5000, 2000000, 300, v1::BANK_RAIL_UNSPECIFIED},
};

// Generated payments keep their amounts in int64 minor units: far below 2^63 by design.
struct OpenAuth {
  std::string payment_id;
  int64_t remaining;  // authorised - captured
};
struct Refundable {
  std::string payment_id;
  int64_t remaining;  // captured - refunded
  bool card;          // bank-transfer refunds (PIX devolucao) come with a later issue
};

struct Merchant {
  std::string id;
  const Market* market;
  Asset asset;
  uint64_t next_payment = 0;
  std::vector<OpenAuth> open;
  std::vector<Refundable> refundable;
  int64_t available = 0;  // posted payable, as the ledger will compute it
};

constexpr size_t kOpenPerMerchantMax = 64;
constexpr size_t kRefundablePerMerchantMax = 256;
constexpr int64_t kEpochSeconds = 1767225600;  // 2026-01-01T00:00:00Z

template <typename T>
T take_at(std::vector<T>& v, size_t i) {
  T out = std::move(v[i]);
  v[i] = std::move(v.back());
  v.pop_back();
  return out;
}

}  // namespace

struct Generator::State {
  GeneratorOptions options;
  Rng rng;
  std::vector<Merchant> merchants;
  std::deque<std::pair<Merchant*, v1::Envelope>> queued;  // fees that follow their payment
  uint64_t produced = 0;
  int64_t now_s = kEpochSeconds;
  ledger::Rate mdr = ledger::Rate::parse("0.029").value();  // 2.9% merchant discount rate

  explicit State(const GeneratorOptions& o) : options(o), rng(o.seed) {
    uint32_t n = o.merchants == 0 ? 1 : o.merchants;
    for (uint32_t i = 0; i < n; ++i) {
      const Market* m = &kMarkets[i % std::size(kMarkets)];
      merchants.push_back(Merchant{fmt::format("m{:05}-{}", i, m->country), m,
                                   Asset::find(m->currency).value(), 0, {}, {}, 0});
    }
  }

  void stamp(v1::Envelope* e, const Merchant& m) {
    e->set_event_id(fmt::format("evt-{:010}", produced));
    e->set_merchant_id(m.id);
    e->set_schema_version(events::kSchemaVersion);
    e->mutable_occurred_at()->set_seconds(now_s);
  }

  void money(v1::Money* out, const Merchant& m, int64_t minor) {
    out->set_currency(m.market->currency);
    out->set_amount(ledger::format_scaled(Int128(minor), m.asset.exponent()));
  }

  void queue_fee(Merchant& m, const std::string& payment_id, int64_t amount_minor) {
    Amount gross = Amount::from_minor(m.asset, amount_minor);
    auto pct = mdr.apply(gross, ledger::RoundingMode::kHalfEven).value();
    int64_t fee = static_cast<int64_t>(pct.minor()) + m.market->fee_fixed_minor;
    v1::Envelope e;
    e.set_merchant_id(m.id);  // stamped when emitted
    auto* b = e.mutable_fee_assessed();
    b->set_fee_id("fee-" + payment_id);
    b->set_payment_id(payment_id);
    money(b->mutable_amount(), m, fee);
    b->set_kind("mdr");
    queued.emplace_back(&m, std::move(e));
  }

  void new_payment(v1::Envelope* e, Merchant& m) {
    int64_t amount = rng.between(m.market->amount_min_minor, m.market->amount_max_minor);
    std::string id = fmt::format("pay-{}-{}", m.id, m.next_payment++);
    stamp(e, m);
    if (m.market->rail != v1::BANK_RAIL_UNSPECIFIED && rng.below(100) < 40) {
      auto* b = e->mutable_bank_transfer_received();
      b->set_payment_id(id);
      b->set_rail(m.market->rail);
      money(b->mutable_amount(), m, amount);
      b->set_end_to_end_id(fmt::format("E2E{:029}", produced));
      m.available += amount;
      if (m.refundable.size() < kRefundablePerMerchantMax) m.refundable.push_back({id, amount, false});
      queue_fee(m, id, amount);
      return;
    }
    auto* b = e->mutable_card_authorised();
    b->set_payment_id(id);
    money(b->mutable_amount(), m, amount);
    b->set_instrument_token(fmt::format("tok_{:016x}", rng.next()));
    if (m.open.size() < kOpenPerMerchantMax) m.open.push_back({id, amount});
  }

  bool capture(v1::Envelope* e, Merchant& m) {
    if (m.open.empty()) return false;
    size_t i = rng.below(m.open.size());
    OpenAuth& auth = m.open[i];
    int64_t amount = rng.below(10) < 7 ? auth.remaining : std::max<int64_t>(1, auth.remaining / 2);
    stamp(e, m);
    auto* b = e->mutable_card_captured();
    b->set_payment_id(auth.payment_id);
    b->set_capture_id(fmt::format("cap-{}", produced));
    money(b->mutable_amount(), m, amount);
    m.available += amount;
    queue_fee(m, auth.payment_id, amount);
    if (m.refundable.size() < kRefundablePerMerchantMax) {
      m.refundable.push_back({auth.payment_id, amount, true});
    }
    auth.remaining -= amount;
    if (auth.remaining == 0) take_at(m.open, i);
    return true;
  }

  bool void_auth(v1::Envelope* e, Merchant& m) {
    if (m.open.empty()) return false;
    OpenAuth auth = take_at(m.open, rng.below(m.open.size()));
    stamp(e, m);
    e->mutable_card_voided()->set_payment_id(auth.payment_id);
    return true;
  }

  bool refund(v1::Envelope* e, Merchant& m) {
    if (m.refundable.empty()) return false;
    size_t i = rng.below(m.refundable.size());
    Refundable& r = m.refundable[i];
    if (!r.card) return false;
    int64_t amount = rng.below(2) == 0 ? r.remaining : rng.between(1, r.remaining);
    stamp(e, m);
    auto* b = e->mutable_card_refunded();
    b->set_payment_id(r.payment_id);
    b->set_refund_id(fmt::format("ref-{}", produced));
    money(b->mutable_amount(), m, amount);
    m.available -= amount;
    r.remaining -= amount;
    if (r.remaining == 0) take_at(m.refundable, i);
    return true;
  }

  bool payout(v1::Envelope* e, Merchant& m) {
    if (m.available <= 0) return false;
    int64_t amount = std::max<int64_t>(1, m.available / 2);
    stamp(e, m);
    auto* b = e->mutable_payout_sent();
    b->set_payout_id(fmt::format("po-{}", produced));
    money(b->mutable_amount(), m, amount);
    b->set_destination(fmt::format("bank_{}", m.id));
    m.available -= amount;
    return true;
  }

  void next(v1::Envelope* e) {
    now_s += static_cast<int64_t>(rng.below(3));
    if (!queued.empty()) {
      Merchant* m = queued.front().first;
      *e = std::move(queued.front().second);
      queued.pop_front();
      stamp(e, *m);
      m->available -= static_cast<int64_t>(
          ledger::parse_scaled(e->fee_assessed().amount().amount(), m->asset.exponent()).value());
      return;
    }
    Merchant& m = merchants[rng.below(merchants.size())];
    uint64_t r = rng.below(100);
    bool done = false;
    if (r < 30) {
      done = capture(e, m);
    } else if (r < 33) {
      done = void_auth(e, m);
    } else if (r < 40) {
      done = refund(e, m);
    } else if (r < 43) {
      done = payout(e, m);
    }
    if (!done) new_payment(e, m);
  }
};

Generator::Generator(const GeneratorOptions& options)
    : state_(std::make_unique<State>(options)) {}
Generator::~Generator() = default;

bool Generator::next(v1::Envelope* out) {
  if (state_->produced >= state_->options.events) return false;
  out->Clear();
  state_->next(out);
  ++state_->produced;
  return true;
}

}  // namespace payledger::tools
