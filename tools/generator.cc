#include "tools/generator.h"

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <queue>
#include <span>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <fmt/format.h>

#include "events/codec.h"
#include "events/schema/ids.h"
#include "ledger/contract.h"
#include "ledger/fx.h"
#include "ledger/local_time.h"
#include "ledger/methods.h"
#include "ledger/payment.h"
#include "ledger/rate.h"
#include "ledger/settlement.h"
#include "settlement/calendar.h"
#include "settlement/schedule.h"

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
  bool percent(uint64_t p) { return below(100) < p; }

 private:
  uint64_t s_;
};

struct Market {
  const char* country;
  const char* currency;
  int64_t amount_min_minor;
  int64_t amount_max_minor;
  int64_t fee_fixed_minor;
  v1::BankRail rail;             // real-time rail of the market, if any
  v1::VoucherMethod voucher;     // cash voucher of the market, if any
  v1::Wallet wallet = v1::WALLET_UNSPECIFIED;  // e-wallet of the market, if any
  bool pay_by_bank = false;      // Open Banking A2A payments
  bool bnpl = false;             // buy now, pay later
};

// A spread of exponents: BRL/INR/USD/EUR/GBP/MXN (2), JPY (0), BHD (3).
constexpr Market kMarkets[] = {
    {"BR", "BRL", 1000, 200000, 50, v1::BANK_RAIL_PIX, v1::VOUCHER_METHOD_BOLETO},
    {"IN", "INR", 10000, 5000000, 300, v1::BANK_RAIL_UPI, v1::VOUCHER_METHOD_UNSPECIFIED},
    {"JP", "JPY", 500, 100000, 30, v1::BANK_RAIL_UNSPECIFIED, v1::VOUCHER_METHOD_KONBINI},
    {"BH", "BHD", 1000, 500000, 100, v1::BANK_RAIL_UNSPECIFIED, v1::VOUCHER_METHOD_UNSPECIFIED},
    {"US", "USD", 500, 150000, 30, v1::BANK_RAIL_UNSPECIFIED, v1::VOUCHER_METHOD_UNSPECIFIED, v1::WALLET_UNSPECIFIED, false, true},
    {"DE", "EUR", 500, 150000, 25, v1::BANK_RAIL_UNSPECIFIED, v1::VOUCHER_METHOD_UNSPECIFIED, v1::WALLET_UNSPECIFIED, true, true},
    {"GB", "GBP", 500, 150000, 20, v1::BANK_RAIL_UNSPECIFIED, v1::VOUCHER_METHOD_UNSPECIFIED, v1::WALLET_UNSPECIFIED, true, false},
    {"MX", "MXN", 5000, 2000000, 300, v1::BANK_RAIL_UNSPECIFIED, v1::VOUCHER_METHOD_OXXO},
    {"PH", "PHP", 10000, 2000000, 1000, v1::BANK_RAIL_UNSPECIFIED, v1::VOUCHER_METHOD_UNSPECIFIED, v1::WALLET_GCASH},
    {"ID", "IDR", 1000000, 500000000, 200000, v1::BANK_RAIL_UNSPECIFIED, v1::VOUCHER_METHOD_UNSPECIFIED, v1::WALLET_DANA},
    {"TH", "THB", 5000, 1000000, 500, v1::BANK_RAIL_UNSPECIFIED, v1::VOUCHER_METHOD_UNSPECIFIED, v1::WALLET_TRUEMONEY},
};

// A reference rate against USD per market currency (units of the canonical pair's quote per
// base, 4 decimals: USD/BRL 5.35, EUR/USD 1.16; late-2025 levels), where the daily published
// rates start their walk, and the half-spread around the mid in basis points (majors tight,
// emerging markets wider, the BHD peg tightest).
struct UsdReference {
  std::string_view currency;
  int64_t rate_e4;
  int64_t half_spread_bp;
};
constexpr UsdReference kUsdReferences[] = {
    {"BRL", 53500, 15},     {"INR", 885000, 10}, {"JPY", 1512000, 3}, {"BHD", 3760, 2},
    {"EUR", 11600, 2},      {"GBP", 13200, 3},   {"MXN", 184000, 12}, {"PHP", 589000, 15},
    {"IDR", 166500000, 20}, {"THB", 324000, 12}};
int64_t usd_reference_rate_e4(std::string_view currency) {
  for (const auto& r : kUsdReferences) {
    if (r.currency == currency) return r.rate_e4;
  }
  return 0;
}
// Rates are published daily as of 16:00 UTC (the WM/Reuters London fix).
constexpr int64_t kFixSecondOfDay = 16 * 3600;

constexpr int64_t kEpochSeconds = 1767225600;  // 2026-01-01T00:00:00Z
constexpr int64_t kDay = 86400;
// Card-not-present authorisations are valid for the card's pending timeout (7 days).
const int64_t kAuthValiditySeconds = ledger::method_facts(ledger::Method::kCard).pending_timeout_s;
// PIX refunds are refused after its refund window (ledger::MethodFacts::refund_window_s);
// the generator stops refunding a PIX payment a day before that.
const int64_t kPixRefundLastSecond =
    ledger::method_facts(ledger::Method::kPix).refund_window_s - kDay;
constexpr size_t kOpenPerMerchantMax = 64;
constexpr size_t kRefundablePerMerchantMax = 256;
// Every this many events, the schemes and voucher collectors settle what they owe.
constexpr uint64_t kSettlementEveryEvents = 2000;
// House events (settlements) are keyed by this id: they touch no merchant account.
constexpr const char* kHouseId = "psp-settlements";

// Contract price points per method: a percentage plus a fixed fee of `fixed_times` x the
// market's fee_fixed_minor (0: none). UPI is zero-MDR by regulation for most merchants;
// vouchers are usually priced per payment; cards carry the classic "x % + fixed".
struct Terms {
  const char* percent;
  int64_t fixed_times;
};
constexpr Terms kCardTerms[] = {{"2.9", 1}, {"2.5", 1}, {"3.4", 0}, {"1.99", 2}};
constexpr Terms kPixTerms[] = {{"0.99", 0}, {"0", 1}, {"1.19", 0}};
constexpr Terms kUpiTerms[] = {{"0", 0}, {"0.3", 0}};
constexpr Terms kVoucherTerms[] = {{"0", 2}, {"3.5", 1}, {"2.9", 0}};
constexpr Terms kWalletTerms[] = {{"2.5", 0}, {"1.5", 0}, {"2.8", 1}};
constexpr Terms kPayByBankTerms[] = {{"0.5", 1}, {"0", 1}, {"1", 0}};
constexpr uint64_t kLegacyBillingPercent = 20;  // merchants billed by fee_assessed events
// With rate publications on, this share of the contract merchants outside the US settle in
// USD (cross-border sellers): their payments convert, at a quote locked within the last
// 15 minutes when there is one, else at the day's fix, with a 0.4% markup.
constexpr uint64_t kSettlesInUsdPercent = 25;
constexpr uint64_t kContractEndsPercent = 30;   // of contract changes; the rest reprice

// Settlement (GeneratorOptions::settlement): each market whose currency has a business-day
// calendar pays by its banks' usual daily cut-off in the market's zone.
struct SettlementClock {
  const char* country;
  const char* time_zone;
  const char* cutoff_local;
};
constexpr SettlementClock kSettlementClocks[] = {
    {"GB", "Europe/London", "17:30"},       {"DE", "Europe/Berlin", "16:00"},
    {"US", "America/New_York", "17:00"},    {"BR", "America/Sao_Paulo", "16:00"},
    {"IN", "Asia/Kolkata", "15:00"},        {"JP", "Asia/Tokyo", "15:00"},
    {"MX", "America/Mexico_City", "16:00"},
};
// Rolling reserves drawn per policy (about half have none): percent held, days held.
struct ReserveTerms {
  const char* percent;
  uint32_t days;
};
constexpr ReserveTerms kReserveTerms[] = {{"5", 7}, {"2.5", 1}, {"10", 2}};
constexpr uint64_t kTokenisedPercent = 50;       // of the policies; the rest are batch
constexpr uint64_t kReservePercent = 50;         // of the policies hold a reserve
constexpr uint64_t kMinimumPayoutPercent = 30;   // of the policies set a minimum payout
constexpr uint64_t kReturnedPercent = 1;         // of the batch payouts sent come back
// The generator runs the tokenised rail's settlement at a sweep every 12-24 hours (not every
// sweep: at 15 minutes, settlement would crowd the stream's payments out).
constexpr int64_t kTokenisedRunMinS = 12 * 3600;
constexpr int64_t kTokenisedRunMaxS = 24 * 3600;
constexpr const char* kReturnReasons[] = {"AC04 account closed", "AC01 incorrect account number",
                                          "MS03 reason not specified"};

std::span<const Terms> terms_of(std::string_view method) {
  const ledger::MethodFacts* facts = ledger::find_method(method);
  if (facts == nullptr) throw std::logic_error(fmt::format("no method '{}'", method));
  switch (facts->method) {
    case ledger::Method::kCard: return kCardTerms;
    case ledger::Method::kPix: return kPixTerms;
    case ledger::Method::kUpi: return kUpiTerms;
    case ledger::Method::kPayByBank: return kPayByBankTerms;
    default: return facts->kind == ledger::PaymentKind::kVoucher ? kVoucherTerms : kWalletTerms;
  }
}

// The facts of the method a market's rail, voucher method or wallet names (set: callers
// check the market has one).
template <typename MethodEnum>
const ledger::MethodFacts& facts_of(MethodEnum value) {
  return ledger::method_facts(ledger::method_of(value).value());
}
template <typename MethodEnum>
std::string_view method_of(MethodEnum value) {
  return facts_of(value).name;
}
std::string_view name_of(ledger::Method method) { return ledger::method_name(method); }

// Generated amounts stay in int64 minor units: far below 2^63 by design.
struct OpenAuth {
  std::string payment_id;
  int64_t expires_at;  // captures only before this
};
enum class RefundKind : uint8_t { kNone, kCard, kPix, kWallet, kPayByBank };
struct Refundable {
  std::string payment_id;
  int64_t remaining;  // captured - refunded - charged back
  RefundKind kind;
  bool full_only = false;  // the wallet refunds whole payments only (TrueMoney)
  int64_t received_s = 0;  // PIX: when the money came in (its refund window runs from then)
};

struct Merchant {
  std::string id;
  const Market* market;
  Asset asset;
  uint64_t next_payment = 0;
  std::vector<OpenAuth> open{};
  std::vector<Refundable> refundable{};
  int64_t available = 0;  // posted payable, as the ledger will compute it
  bool onboarded = false;  // contracts decided (its first event, with contracts on)
  bool legacy = false;     // billed by explicit fee_assessed events, no contracts
  bool settles_usd = false;  // contracts settle in USD (kSettlesInUsdPercent)
  std::string quote_id = {};  // the latest quote locked for its checkout, if any
  int64_t quote_expires = 0;
  size_t contract_methods = 0;  // methods it signed contracts for
  // method -> the contract in force (none: never signed, or ended and not yet renewed)
  std::map<std::string, ledger::Contract, std::less<>> contracts{};
  // Settlement (GeneratorOptions::settlement): decided once, after its contracts. While it has
  // a policy it is paid by settlement instructions, never by payout_sent.
  bool settlement_decided = false;
  std::optional<ledger::SettlementPolicy> policy{};
  std::optional<ledger::Rate> reserve_fraction{};
  std::string last_instruction{};  // the latest cycle's id: one instruction per cycle
  int64_t tokens = 0;              // deposit tokens in its wallet, minor units
};

// Events that happen later to an earlier payment (expiries, statuses, disputes).
enum class Later : uint8_t {
  kAuthExpiry, kUpiResolve, kUpiReverseSettled, kVoucherPay, kVoucherExpiry,
  kDisputeRepresent, kDisputeResolve,
  kWalletVoid, kPayByBankOutcome, kBnplInstalment, kBnplRefund, kBnplCancel, kCheckoutEnd,
  kContractChange,  // payment_id holds the method
  // Settlement: payment_id holds the instruction id, amount its amount (the reserve for a
  // release), outcome the confirmation time (batch sent).
  kSettlementRun, kSettlementSent, kSettlementConfirm, kSettlementReturn, kTokenMint,
  kTokenTransfer, kTokenRedeem, kReserveRelease,
};
struct Scheduled {
  int64_t at;
  uint64_t seq;  // tie-break: deterministic order
  Later what;
  Merchant* merchant;
  std::string payment_id;
  int64_t amount;
  uint64_t outcome;  // what to do, drawn when scheduled
  bool operator>(const Scheduled& o) const { return at != o.at ? at > o.at : seq > o.seq; }
};

template <typename T>
T take_at(std::vector<T>& v, size_t i) {
  T out = std::move(v[i]);
  v[i] = std::move(v.back());
  v.pop_back();
  return out;
}

std::string date_of(int64_t t, ledger::Zone zone) {
  int64_t local = t + ledger::zone_offset_seconds(zone);
  int64_t days = local >= 0 ? local / kDay : (local - kDay + 1) / kDay;
  // civil_from_days (H. Hinnant)
  days += 719468;
  int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  unsigned doe = static_cast<unsigned>(days - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = static_cast<int64_t>(yoe) + era * 400;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  unsigned d = doy - (153 * mp + 2) / 5 + 1;
  unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return fmt::format("{:04}-{:02}-{:02}", y + (m <= 2), m, d);
}

}  // namespace

struct Generator::State {
  GeneratorOptions options;
  Rng rng;
  std::vector<Merchant> merchants;
  std::deque<std::pair<Merchant*, v1::Envelope>> queued;  // fees that follow their payment
  std::priority_queue<Scheduled, std::vector<Scheduled>, std::greater<>> later;
  struct Hold {
    int64_t remaining;  // uncaptured
    bool captured;      // captured before: the contract's fixed fee is charged once
  };
  std::unordered_map<std::string, Hold> held;  // card payment id -> its hold
  std::unordered_set<std::string> disputed;        // one dispute per payment here
  struct BnplOrder {
    int64_t amount;
    int64_t net_left;  // paid to the merchant, not yet clawed back
    uint32_t instalments;
    uint32_t next;
    bool cancelled;
  };
  std::unordered_map<std::string, BnplOrder> bnpl_orders;
  // What schemes owe per currency (captures - refunds - disputes) and collectors per
  // voucher method, settled every kSettlementEveryEvents.
  std::map<std::string, int64_t> scheme_owes;
  std::map<std::pair<int, std::string>, int64_t> collector_owes;
  std::deque<v1::Envelope> house;
  uint64_t later_seq = 0;
  uint64_t produced = 0;
  int64_t now_s = kEpochSeconds;
  // Published rates (issue 10): per currency of kUsdReferences its mid against USD in
  // millionths, a random walk from the reference (daily steps of up to +-0.6%); the next
  // fix to publish (the first, as of the fix before the stream starts, comes first).
  std::vector<int64_t> mid_e6;
  int64_t next_fix_s = kEpochSeconds - kDay + kFixSecondOfDay;
  std::deque<v1::Envelope> reference;
  // The house's FX (with rates): events queued after a fix (merchant "psp"), forwards to
  // settle by time, per currency what it took in since its last sweep and swept this week.
  std::deque<v1::Envelope> treasury;
  std::multimap<int64_t, v1::Envelope> forward_settlements;
  std::map<std::string, int64_t> house_took;
  std::map<std::string, int64_t> house_swept_week;
  uint64_t fixes = 0;
  int64_t last_payment_amount = 0;  // of the latest new_payment_body
  ledger::Rate mdr = ledger::Rate::parse("0.029").value();  // 2.9% merchant discount rate

  explicit State(const GeneratorOptions& o) : options(o), rng(o.seed) {
    for (const auto& r : kUsdReferences) mid_e6.push_back(r.rate_e4 * 100);
    uint32_t n = o.merchants == 0 ? 1 : o.merchants;
    std::vector<const Market*> markets;
    for (const Market& m : kMarkets) {
      if (o.market.empty() || o.market == m.country) markets.push_back(&m);
    }
    if (markets.empty()) throw std::invalid_argument("unknown market " + o.market);
    for (uint32_t i = 0; i < n; ++i) {
      const Market* m = markets[i % markets.size()];
      Merchant merchant{.id = fmt::format("m{:05}-{}", i, m->country),
                        .market = m,
                        .asset = Asset::find(m->currency).value()};
      merchants.push_back(std::move(merchant));
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

  void schedule(int64_t at, Later what, Merchant& m, std::string payment_id, int64_t amount,
                uint64_t outcome = 0) {
    later.push(Scheduled{at, later_seq++, what, &m, std::move(payment_id), amount, outcome});
  }

  void add_refundable(Merchant& m, Refundable r) {
    if (m.refundable.size() < kRefundablePerMerchantMax) m.refundable.push_back(std::move(r));
  }

  void queue_fee(Merchant& m, const std::string& payment_id, int64_t amount_minor) {
    Amount gross = Amount::from_minor(m.asset, amount_minor);
    auto pct = mdr.apply(gross, ledger::RoundingMode::kHalfEven).value();
    int64_t fee = static_cast<int64_t>(pct.minor()) + m.market->fee_fixed_minor;
    v1::Envelope e;
    auto* b = e.mutable_fee_assessed();
    // One fee per money-in event: several captures of one payment get distinct fee ids
    // (fee_id is an idempotency key per merchant).
    b->set_fee_id(fmt::format("fee-{}-{}", payment_id, produced));
    b->set_payment_id(payment_id);
    money(b->mutable_amount(), m, fee);
    b->set_kind("mdr");
    queued.emplace_back(&m, std::move(e));
  }

  // Money in of `amount` on a payment: the merchant pays its fee. A merchant on contracts is
  // charged the MDR of the method's contract in force by the ledger itself (nothing in the
  // stream; nothing while an ended contract is not yet renewed); others get a fee_assessed.
  void charge_fee(Merchant& m, std::string_view method, const std::string& payment_id,
                  int64_t amount, bool first) {
    if (!options.contracts || m.legacy) return queue_fee(m, payment_id, amount);
    m.available -= contract_fee_minor(m, method, amount, first);
  }

  // What the ledger's contract step will charge (ledger::contract_fee, the same rounding).
  int64_t contract_fee_minor(const Merchant& m, std::string_view method, int64_t amount,
                             bool first) {
    auto it = m.contracts.find(method);
    if (it == m.contracts.end()) return 0;
    auto fee = ledger::contract_fee(it->second, Amount::from_minor(m.asset, amount), first);
    return static_cast<int64_t>(fee.value().minor());
  }

  // ------------------------------------------------------------------ contracts

  // New terms for `method` (a first contract, a renewal or a repricing), drawn from the
  // method's price points; the next change is scheduled 1-7 days later.
  void set_contract(v1::Envelope* e, Merchant& m, const std::string& method) {
    std::span<const Terms> terms = terms_of(method);
    const Terms& t = terms[rng.below(terms.size())];
    bool refund_fees = rng.percent(30);
    auto* b = e->mutable_merchant_contract_set();
    b->set_method(method);
    b->set_percent(t.percent);
    b->set_refund_fees(refund_fees);
    if (m.settles_usd) {
      b->set_settlement_currency("USD");
      b->set_fx_markup_percent("0.4");
    }
    std::optional<Amount> fixed;
    if (t.fixed_times > 0) {
      int64_t fixed_minor = t.fixed_times * m.market->fee_fixed_minor;
      money(b->mutable_fixed(), m, fixed_minor);
      fixed = Amount::from_minor(m.asset, fixed_minor);
    }
    m.contracts[method] = ledger::make_contract(t.percent, fixed, refund_fees).value();
    schedule(now_s + rng.between(kDay, 7 * kDay), Later::kContractChange, m, method, 0,
             rng.below(100));
  }

  // Repricing, or the contract ends; an ended contract is renewed 1-48 hours later. Money in
  // between pays no MDR; refunds keep the fee terms they were charged under (the ledger's rule).
  void change_contract(v1::Envelope* e, Merchant& m, const Scheduled& s) {
    const std::string& method = s.payment_id;
    if (m.contracts.count(method) == 0 || s.outcome >= kContractEndsPercent) {
      return set_contract(e, m, method);
    }
    e->mutable_merchant_contract_ended()->set_method(method);
    m.contracts.erase(method);
    schedule(now_s + rng.between(3600, 2 * kDay), Later::kContractChange, m, method, 0, 0);
  }

  // A merchant's first event decides how it is billed: most sign a contract per payment
  // method (this event and the next ones, before any payment of theirs); the rest are billed
  // by fee_assessed events (false: nothing emitted, the caller makes a payment event).
  bool onboard(v1::Envelope* e, Merchant& m) {
    m.onboarded = true;
    m.legacy = rng.percent(kLegacyBillingPercent);
    if (m.legacy) return false;
    m.settles_usd = options.rates && m.market->currency != std::string_view("USD") &&
                    rng.percent(kSettlesInUsdPercent);
    const Market& k = *m.market;
    std::vector<std::string> methods = {std::string(name_of(ledger::Method::kCard))};
    if (k.rail != v1::BANK_RAIL_UNSPECIFIED) methods.emplace_back(method_of(k.rail));
    if (k.voucher != v1::VOUCHER_METHOD_UNSPECIFIED) methods.emplace_back(method_of(k.voucher));
    if (k.wallet != v1::WALLET_UNSPECIFIED) methods.emplace_back(method_of(k.wallet));
    if (k.pay_by_bank) methods.emplace_back(name_of(ledger::Method::kPayByBank));
    stamp(e, m);
    m.contract_methods = methods.size();
    set_contract(e, m, methods[0]);
    for (size_t i = 1; i < methods.size(); ++i) {
      v1::Envelope c;
      set_contract(&c, m, methods[i]);
      queued.emplace_back(&m, std::move(c));
    }
    return true;
  }

  // ------------------------------------------------------------------ settlement

  // An amount of `asset` (a deposit token) as the events write it.
  void asset_money(v1::Money* out, std::string_view asset, int exponent, int64_t minor) {
    out->set_currency(std::string(asset));
    out->set_amount(ledger::format_scaled(Int128(minor), exponent));
  }

  // After its contracts, a merchant paid in a currency with a calendar gets a settlement
  // policy (false: none, nothing emitted). A USD-settled merchant gets none: its payable is in
  // USD at rates this estimate does not track, so it stays unpaid as before issue 11.
  bool set_policy(v1::Envelope* e, Merchant& m) {
    m.settlement_decided = true;
    if (m.settles_usd) return false;
    const SettlementClock* clock = nullptr;
    for (const SettlementClock& c : kSettlementClocks) {
      if (c.country == std::string_view(m.market->country)) clock = &c;
    }
    if (clock == nullptr) return false;
    ledger::SettlementPolicy p;
    p.rail = rng.percent(kTokenisedPercent) ? ledger::Rail::kTokenised : ledger::Rail::kBatch;
    const std::string_view cutoff = clock->cutoff_local;
    p.cutoff_minute = ((cutoff[0] - '0') * 10 + (cutoff[1] - '0')) * 60 +
                      (cutoff[3] - '0') * 10 + (cutoff[4] - '0');
    p.time_zone = clock->time_zone;
    p.settlement_days = rng.percent(50) ? 1 : 2;
    if (rng.percent(kMinimumPayoutPercent)) p.minimum_payout = 2 * m.market->amount_max_minor;
    if (rng.percent(kReservePercent)) {
      const ReserveTerms& r = kReserveTerms[rng.below(std::size(kReserveTerms))];
      p.reserve_percent = r.percent;
      p.reserve_days = r.days;
      m.reserve_fraction = ledger::percent_fraction(r.percent).value();
    }
    if (p.rail == ledger::Rail::kTokenised) p.sweep_minutes = rng.percent(50) ? 15 : 5;
    stamp(e, m);
    auto* b = e->mutable_merchant_settlement_policy_set();
    b->set_currency(m.market->currency);
    b->set_rail(p.rail == ledger::Rail::kTokenised ? v1::SETTLEMENT_RAIL_TOKENISED
                                                   : v1::SETTLEMENT_RAIL_BATCH);
    b->set_cutoff_local(clock->cutoff_local);
    b->set_time_zone(p.time_zone);
    b->set_settlement_days(p.settlement_days);
    if (p.minimum_payout != 0) {
      money(b->mutable_minimum_payout(), m, static_cast<int64_t>(p.minimum_payout));
    }
    if (!p.reserve_percent.empty()) {
      b->set_reserve_percent(p.reserve_percent);
      b->set_reserve_days(p.reserve_days);
    }
    b->set_sweep_minutes(p.sweep_minutes);
    m.policy = std::move(p);
    schedule_run(m, now_s);
    return true;
  }

  // The first second after the calendar of the merchant's currency ends (2028-01-01): no
  // settlement is decided from then on.
  int64_t calendar_end_s(const Merchant& m) {
    auto calendar = settlement::builtin_calendar(m.market->currency);
    if (!calendar) return 0;
    return settlement::CivilDate{(*calendar)->last_year() + 1, 1, 1}.days_since_epoch() * kDay;
  }

  // The merchant's next settlement run after `after_s`: a batch cut-off (each business day),
  // or a tokenised sweep 12-24 hours on. A cycle the calendars cannot give (outside their
  // years) ends settlement for the merchant: payout_sent pays it again, as before issue 11.
  void schedule_run(Merchant& m, int64_t after_s) {
    const ledger::SettlementPolicy& p = *m.policy;
    int64_t at = 0;
    if (p.rail == ledger::Rail::kBatch) {
      auto cycle = settlement::next_batch_cycle(p, m.market->currency, after_s);
      if (!cycle) return fall_back(m);
      at = cycle->cutoff_s + rng.between(0, 600);
    } else {
      at = settlement::next_sweep(p, after_s + rng.between(kTokenisedRunMinS, kTokenisedRunMaxS))
               .cutoff_s +
           rng.between(0, 120);
    }
    if (at >= calendar_end_s(m)) return fall_back(m);
    schedule(at, Later::kSettlementRun, m, "", 0);
  }

  void fall_back(Merchant& m) { m.policy.reset(); }

  // A settlement run for the merchant: the cycle that closed last is paid what the estimate
  // says is available, less the reserve (rounded as the settle engine does: percent x
  // available, half-even), if that reaches the minimum payout. False: nothing to pay.
  bool settlement_run(v1::Envelope* e, Merchant& m) {
    if (!m.policy) return false;
    const ledger::SettlementPolicy& p = *m.policy;
    const std::string& currency = m.market->currency;
    if (now_s >= calendar_end_s(m)) {
      fall_back(m);
      return false;
    }
    auto cycle = settlement::last_cycle(p, currency, now_s);
    if (!cycle) {
      fall_back(m);
      return false;
    }
    const bool batch = p.rail == ledger::Rail::kBatch;
    schedule_run(m, batch ? cycle->cutoff_s + 1 : now_s);
    std::string id = cycle->instruction_id(currency, p.rail);
    const int64_t value_date_s = cycle->value_date.days_since_epoch() * kDay;
    // A late run (sparse event time) whose value date has gone: skip that cycle.
    if (id == m.last_instruction || m.available <= 0 ||
        (batch && cycle->funds_s < now_s) || value_date_s < (now_s / kDay - 1) * kDay) {
      return false;
    }
    const int64_t total = m.available;
    int64_t reserve = 0;
    if (m.reserve_fraction) {
      reserve = static_cast<int64_t>(
          m.reserve_fraction->apply(Amount::from_minor(m.asset, total), ledger::RoundingMode::kHalfEven)
              .value()
              .minor());
    }
    const int64_t amount = total - reserve;
    if (amount <= 0 || Int128(amount) < p.minimum_payout) return false;
    stamp(e, m);
    auto* b = e->mutable_settlement_instructed();
    b->set_instruction_id(id);
    money(b->mutable_amount(), m, amount);
    b->set_rail(batch ? v1::SETTLEMENT_RAIL_BATCH : v1::SETTLEMENT_RAIL_TOKENISED);
    b->mutable_value_date()->set_seconds(value_date_s);
    if (reserve != 0) {
      const int64_t release_s = now_s + int64_t{p.reserve_days} * kDay;
      money(b->mutable_reserve(), m, reserve);
      b->mutable_reserve_release_at()->set_seconds(release_s);
      schedule(release_s + rng.between(0, 3600), Later::kReserveRelease, m, id, reserve);
    }
    m.available -= total;
    m.last_instruction = id;
    if (batch) {
      const int64_t sent_s = now_s + rng.between(300, 3600);
      // Confirmed on or after the value date (its local midnight and its 00:00 UTC).
      const int64_t confirm_s =
          std::max({cycle->funds_s, value_date_s, sent_s + 60}) + rng.between(600, 6 * 3600);
      schedule(sent_s, Later::kSettlementSent, m, id, amount, static_cast<uint64_t>(confirm_s));
    } else {
      schedule(now_s + rng.between(10, 120), Later::kTokenMint, m, id, amount);
    }
    return true;
  }

  // The settlement follow-ups (Later::kSettlement*, kToken*, kReserveRelease); `e` is stamped.
  bool settlement_step(v1::Envelope* e, Merchant& m, const Scheduled& s) {
    const std::string token = ledger::deposit_token(m.market->currency);
    const int exponent = m.asset.exponent();
    switch (s.what) {
      case Later::kSettlementRun:
        return settlement_run(e, m);
      case Later::kSettlementSent:
        e->mutable_settlement_sent()->set_instruction_id(s.payment_id);
        if (rng.percent(kReturnedPercent)) {
          schedule(now_s + rng.between(3600, 2 * kDay), Later::kSettlementReturn, m,
                   s.payment_id, s.amount);
        } else {
          schedule(std::max(static_cast<int64_t>(s.outcome), now_s + 1), Later::kSettlementConfirm,
                   m, s.payment_id, s.amount);
        }
        return true;
      case Later::kSettlementConfirm:
        e->mutable_settlement_confirmed()->set_instruction_id(s.payment_id);
        return true;
      case Later::kSettlementReturn: {
        auto* b = e->mutable_settlement_returned();
        b->set_instruction_id(s.payment_id);
        b->set_reason(kReturnReasons[rng.below(std::size(kReturnReasons))]);
        m.available += s.amount;  // payable again
        return true;
      }
      case Later::kReserveRelease:
        e->mutable_settlement_reserve_released()->set_instruction_id(s.payment_id);
        m.available += s.amount;
        return true;
      case Later::kTokenMint: {
        auto* b = e->mutable_token_minted();
        b->set_mint_id(s.payment_id);
        asset_money(b->mutable_amount(), token, exponent, s.amount);
        schedule(now_s + rng.between(30, 300), Later::kTokenTransfer, m, s.payment_id, s.amount);
        return true;
      }
      case Later::kTokenTransfer:
        e->mutable_token_transferred()->set_instruction_id(s.payment_id);
        m.tokens += s.amount;
        schedule(now_s + rng.between(60, 900), Later::kSettlementConfirm, m, s.payment_id,
                 s.amount);
        schedule(now_s + rng.between(3600, 2 * kDay), Later::kTokenRedeem, m, s.payment_id, 0);
        return true;
      case Later::kTokenRedeem: {
        if (m.tokens <= 0) return false;
        const int64_t amount = rng.percent(50) ? m.tokens : rng.between(1, m.tokens);
        auto* b = e->mutable_token_redeemed();
        b->set_redemption_id(fmt::format("rdm-{}", produced));
        asset_money(b->mutable_amount(), token, exponent, amount);
        m.tokens -= amount;
        return true;
      }
      default:
        return false;
    }
  }

  // ------------------------------------------------------------------ new payments

  void card_auth(v1::Envelope* e, Merchant& m, const std::string& id, int64_t amount) {
    auto* b = e->mutable_card_authorised();
    b->set_payment_id(id);
    money(b->mutable_amount(), m, amount);
    // A leading hex letter: an all-digit token could pass for a card number (pan_detected).
    b->set_instrument_token(fmt::format("tok_{:016x}", rng.next() | (uint64_t{0xf} << 60)));
    int64_t expires = now_s + kAuthValiditySeconds;
    b->mutable_expires_at()->set_seconds(expires);
    held[id] = Hold{amount, false};
    if (m.open.size() < kOpenPerMerchantMax) m.open.push_back({id, expires});
    schedule(expires + rng.between(0, 3600), Later::kAuthExpiry, m, id, 0);
    maybe_coupon(m, id, amount, 5);
  }

  void bank_transfer(v1::Envelope* e, Merchant& m, const std::string& id, int64_t amount) {
    bool upi = m.market->rail == v1::BANK_RAIL_UPI;
    if (upi && rng.percent(15)) {  // outcome not known yet (pending / deemed)
      auto* b = e->mutable_upi_payment_pending();
      b->set_payment_id(id);
      money(b->mutable_amount(), m, amount);
      b->set_npci_code(rng.percent(50) ? "01" : "RB");
      uint64_t outcome = rng.below(100);  // <80 success, <90 failed, else reversed
      int64_t delay = outcome < 90 ? rng.between(5, 600) : rng.between(kDay, 5 * kDay);
      schedule(now_s + delay, Later::kUpiResolve, m, id, amount, outcome);
      return;
    }
    auto* b = e->mutable_bank_transfer_received();
    b->set_payment_id(id);
    b->set_rail(m.market->rail);
    money(b->mutable_amount(), m, amount);
    b->set_end_to_end_id(fmt::format("E2E{:029}", produced));
    m.available += amount;
    charge_fee(m, method_of(m.market->rail), id, amount, true);
    if (upi && rng.percent(2)) {
      // A reversal after settlement (payer repaid): hold it back from refunds and payouts.
      m.available -= amount;
      schedule(now_s + rng.between(kDay, 2 * kDay), Later::kUpiReverseSettled, m, id, amount);
      return;
    }
    add_refundable(m, {id, amount,
                      m.market->rail == v1::BANK_RAIL_PIX ? RefundKind::kPix : RefundKind::kNone,
                      false, now_s});
  }

  void voucher(v1::Envelope* e, Merchant& m, const std::string& id, int64_t amount) {
    auto* b = e->mutable_voucher_issued();
    b->set_payment_id(id);
    b->set_method(m.market->voucher);
    money(b->mutable_amount(), m, amount);
    ledger::Zone zone = facts_of(m.market->voucher).zone.value();
    std::string due = date_of(now_s + 3 * kDay, zone);
    b->set_expires_on(due);
    int64_t end = ledger::end_of_local_day(due, zone).value();
    uint64_t fate = rng.below(100);  // <70 paid in time, <73 paid late, else expires unpaid
    if (fate < 70) {
      // outcome: the voucher's expiry (paid before it: the merchant's money)
      schedule(rng.between(now_s + 60, end - 1), Later::kVoucherPay, m, id, amount,
               static_cast<uint64_t>(end));
    } else {
      schedule(end + rng.between(0, 3600), Later::kVoucherExpiry, m, id, amount, fate < 73);
    }
    maybe_coupon(m, id, amount, 10);
  }

  // E-wallet payments carry their fee; some are voided the same local day (then never
  // refunded), some get a coupon right after.
  void wallet_payment(v1::Envelope* e, Merchant& m, const std::string& id, int64_t amount) {
    auto* b = e->mutable_ewallet_payment_completed();
    b->set_payment_id(id);
    b->set_wallet(m.market->wallet);
    money(b->mutable_amount(), m, amount);
    // The wallet's own 2 % in the event, unless the merchant's wallet contract prices it.
    int64_t fee = amount / 50;
    if (!options.contracts || m.legacy) {
      money(b->mutable_fee(), m, fee);
    } else {
      fee = contract_fee_minor(m, method_of(m.market->wallet), amount, true);
    }
    m.available += amount - fee;
    const ledger::MethodFacts& wallet = facts_of(m.market->wallet);
    int64_t offset = ledger::zone_offset_seconds(wallet.zone.value());
    int64_t local_second = ((now_s + offset) % kDay + kDay) % kDay;
    if (rng.percent(4) && local_second + 3600 < wallet.void_until_local_s) {
      m.available -= amount - fee;  // the void will undo it
      schedule(now_s + rng.between(60, 3600), Later::kWalletVoid, m, id, amount);
    } else {
      add_refundable(m, {id, amount, RefundKind::kWallet, !wallet.partial_refunds});
    }
    maybe_coupon(m, id, amount, 20);
  }

  // A coupon right after `percent` of new payments, funded by the PSP, the merchant or a
  // wallet partner. Voids, expiries, failures, refunds and disputes of these payments give
  // the coupons back (docs/architecture.md, "Coupons on voids and refunds"). `available`
  // leaves coupons out: until the payment's fate is known they may still go back, so the
  // ledger's available balance is never below this estimate and payouts never bounce.
  void maybe_coupon(Merchant& m, const std::string& id, int64_t amount, uint64_t percent) {
    if (!rng.percent(percent)) return;
    v1::Envelope c;
    auto* cb = c.mutable_coupon_applied();
    cb->set_payment_id(id);
    cb->set_coupon_id(fmt::format("cpn-{}", produced));
    money(cb->mutable_amount(), m, std::max<int64_t>(1, amount / 10));
    uint64_t funder = rng.below(3);
    cb->set_funded_by(funder == 0   ? v1::COUPON_FUNDER_PSP
                      : funder == 1 ? v1::COUPON_FUNDER_MERCHANT
                                    : v1::COUPON_FUNDER_WALLET_PARTNER);
    if (funder == 2) cb->set_partner("wallet-rewards");
    queued.emplace_back(&m, std::move(c));
  }

  void pay_by_bank(v1::Envelope* e, Merchant& m, const std::string& id, int64_t amount) {
    auto* b = e->mutable_pay_by_bank_initiated();
    b->set_payment_id(id);
    money(b->mutable_amount(), m, amount);
    b->set_bank("bank-a");
    schedule(now_s + rng.between(10, 900), Later::kPayByBankOutcome, m, id, amount, rng.below(100));
    maybe_coupon(m, id, amount, 5);
  }

  void bnpl(v1::Envelope* e, Merchant& m, const std::string& id, int64_t amount) {
    auto* b = e->mutable_bnpl_order_approved();
    b->set_payment_id(id);
    b->set_provider(rng.percent(50) ? "afterpay" : "klarna");
    money(b->mutable_amount(), m, amount);
    int64_t fee = amount * 6 / 100;
    money(b->mutable_fee(), m, fee);
    uint32_t n = rng.percent(50) ? 3 : 4;
    b->set_instalments(n);
    m.available += amount - fee;
    bnpl_orders[id] = BnplOrder{amount, amount - fee, n, 1, false};
    schedule(now_s + rng.between(60, 3600), Later::kBnplInstalment, m, id, 0);
    uint64_t fate = rng.below(100);
    if (fate < 5) {
      schedule(now_s + 3 * kDay, Later::kBnplCancel, m, id, 0);
    } else if (fate < 15) {
      schedule(now_s + 2 * kDay, Later::kBnplRefund, m, id, 0);
    }
    maybe_coupon(m, id, amount, 10);
  }

  // A shopper paying from abroad locks a rate against USD for 15 minutes (issue 10); the
  // rate is the market's reference rate moved by up to +-0.5%.
  void lock_quote(v1::Envelope* e, Merchant& m) {
    const int64_t reference = current_mid_e6(m.market->currency) / 100;
    const int64_t rate = reference + (reference * static_cast<int64_t>(rng.below(101)) - reference * 50) / 10000;
    stamp(e, m);
    auto* b = e->mutable_fx_quote_locked();
    b->set_quote_id(fmt::format("fxq-{}", produced));
    b->set_pair(ledger::CurrencyPair::of(ledger::Asset::find("USD").value(),
                                         ledger::Asset::find(m.market->currency).value())
                    .value()
                    .to_string());
    b->set_rate(fmt::format("{}.{:04}", rate / 10000, rate % 10000));
    b->mutable_expires_at()->set_seconds(now_s + 15 * 60);
    m.quote_id = b->quote_id();
    m.quote_expires = now_s + 15 * 60;
  }

  // A payment of a USD-settled merchant converts at its unexpired quote, used once.
  void use_quote(v1::Envelope* e, Merchant& m) {
    using E = v1::Envelope;
    // (BNPL has no contract here, so its payments stay in their currency.)
    const E::BodyCase creates[] = {E::kCardAuthorised,      E::kBankTransferReceived,
                                   E::kUpiPaymentPending,   E::kVoucherIssued,
                                   E::kEwalletPaymentCompleted, E::kPayByBankInitiated};
    // Only while every method's contract runs (an ended one converts nothing).
    if (!m.settles_usd || m.quote_id.empty() || now_s >= m.quote_expires ||
        m.contracts.size() < m.contract_methods) {
      return;
    }
    if (std::find(std::begin(creates), std::end(creates), e->body_case()) == std::end(creates)) {
      return;
    }
    e->set_fx_quote_id(m.quote_id);
    m.quote_id.clear();
  }

  // The walk's mid of `currency` against USD now, in millionths.
  int64_t current_mid_e6(std::string_view currency) const {
    for (size_t i = 0; i < std::size(kUsdReferences); ++i) {
      if (kUsdReferences[i].currency == currency) return mid_e6[i];
    }
    return 0;
  }

  // The day's fix: every currency's mid moves by up to +-0.6% (uniform, in 0.01% steps) and
  // is published with its bid and ask, as of the fix, reference data for every partition.
  void publish_fix() {
    for (size_t i = 0; i < std::size(kUsdReferences); ++i) {
      const UsdReference& r = kUsdReferences[i];
      mid_e6[i] += mid_e6[i] * rng.between(-60, 60) / 10000;
      const int64_t half = std::max<int64_t>(1, mid_e6[i] * r.half_spread_bp / 10000);
      auto text = [](int64_t e6) { return ledger::format_scaled(Int128(e6), 6); };
      v1::Envelope e;
      auto* b = e.mutable_fx_rate_published();
      b->set_pair(ledger::CurrencyPair::of(ledger::Asset::find("USD").value(),
                                           ledger::Asset::find(r.currency).value())
                      .value()
                      .to_string());
      b->set_mid(text(mid_e6[i]));
      b->set_bid(text(mid_e6[i] - half));
      b->set_ask(text(mid_e6[i] + half));
      b->set_source("payledger-fix");
      b->mutable_as_of()->set_seconds(next_fix_s);
      reference.push_back(std::move(e));
    }
    queue_treasury();
    next_fix_s += kDay;
    ++fixes;
  }

  // After a fix: the day's revaluation run as of the fix; a sweep of what the house took in
  // of each currency (once it is worth more than a large payment) into USD at the bid/ask;
  // every 7th fix, a forward per currency swept that week, selling as much for USD a week
  // ahead at the mid plus 0.1% (forward points), settled 5 minutes after its value date.
  void queue_treasury() {
    const Asset usd = Asset::find("USD").value();
    v1::Envelope run;
    auto* rb = run.mutable_fx_revaluation_run();
    rb->mutable_as_of()->set_seconds(next_fix_s);
    rb->set_reporting_currency("USD");
    treasury.push_back(std::move(run));
    for (auto& [currency, took] : house_took) {
      const Market* market = nullptr;
      for (const Market& k : kMarkets) {
        if (k.currency == currency) market = &k;
      }
      if (market == nullptr || took < market->amount_max_minor) continue;
      const Asset asset = Asset::find(currency).value();
      const int64_t amount = took * 8 / 10;
      v1::Envelope e;
      auto* b = e.mutable_fx_conversion_executed();
      b->set_conversion_id(fmt::format("sweep-{}-{}", currency, fixes));
      b->mutable_from()->set_currency(currency);
      b->mutable_from()->set_amount(ledger::format_scaled(Int128(amount), asset.exponent()));
      b->set_to_currency("USD");
      treasury.push_back(std::move(e));
      house_swept_week[currency] += amount;
      took -= amount;
    }
    if (fixes % 7 != 6) return;
    for (auto& [currency, swept] : house_swept_week) {
      if (swept <= 0) continue;
      const Asset asset = Asset::find(currency).value();
      const auto pair = ledger::CurrencyPair::of(usd, asset).value();
      const int64_t mid = current_mid_e6(currency);
      const int64_t forward_e6 = mid + mid / 1000;
      v1::Envelope e;
      auto* b = e.mutable_fx_forward_booked();
      const std::string id = fmt::format("fwd-{}-{}", currency, fixes);
      b->set_forward_id(id);
      b->set_pair(pair.to_string());
      // The house will hold `swept` of the currency and sells it for USD.
      Int128 notional = swept;  // in the currency
      int exponent = asset.exponent();
      if (pair.base() == usd) {  // USD/BRL: buys USD, notional in USD = swept / rate
        b->set_side(v1::FX_SIDE_BUY);
        auto in_usd = ledger::convert(Amount::from_minor(asset, swept), pair,
                                      ledger::Rate::from_parts(forward_e6, 6).value(),
                                      ledger::RoundingMode::kHalfEven);
        notional = in_usd.value().minor();
        exponent = usd.exponent();
        b->mutable_notional()->set_currency("USD");
      } else {  // EUR/USD: sells EUR
        b->set_side(v1::FX_SIDE_SELL);
        b->mutable_notional()->set_currency(currency);
      }
      swept = 0;
      if (notional <= 0) continue;
      b->mutable_notional()->set_amount(ledger::format_scaled(notional, exponent));
      b->set_forward_rate(ledger::format_scaled(Int128(forward_e6), 6));
      const int64_t value_date = next_fix_s + 7 * kDay;
      b->mutable_value_date()->set_seconds(value_date);
      treasury.push_back(std::move(e));
      v1::Envelope settle;
      settle.mutable_fx_forward_settled()->set_forward_id(id);
      forward_settlements.emplace(value_date + 300, std::move(settle));
    }
  }

  // A merchant outside the US converts 10-50% of its available balance into USD (issue 10):
  // at its unexpired quote when it holds one (only USD-settled merchants' payments use
  // theirs), else at the fix's mid, with a 0.5% markup. False when it has too little.
  bool convert_balance(v1::Envelope* e, Merchant& m) {
    if (m.settles_usd || current_mid_e6(m.market->currency) == 0 ||
        m.available < 2 * m.market->amount_max_minor) {
      return false;
    }
    const int64_t amount = m.available * static_cast<int64_t>(rng.between(10, 50)) / 100;
    stamp(e, m);
    auto* b = e->mutable_fx_conversion_executed();
    b->set_conversion_id(fmt::format("cv-{}", produced));
    money(b->mutable_from(), m, amount);
    b->set_to_currency("USD");
    b->set_markup_percent("0.5");
    if (!m.quote_id.empty() && now_s < m.quote_expires) {
      b->set_quote_id(m.quote_id);
      m.quote_id.clear();
    }
    m.available -= amount;
    house_took[m.market->currency] += amount;
    return true;
  }

  // FX-heavy mix (GeneratorOptions::fx_heavy_percent): a quote lock or a balance conversion.
  bool fx_event(v1::Envelope* e, Merchant& m) {
    if (current_mid_e6(m.market->currency) == 0) return false;
    if (rng.percent(50) && convert_balance(e, m)) return true;
    lock_quote(e, m);
    return true;
  }

  void checkout(v1::Envelope* e, Merchant& m) {
    using M = ledger::Method;
    if (usd_reference_rate_e4(m.market->currency) != 0 && rng.percent(30)) {
      return lock_quote(e, m);
    }
    static constexpr M kMethods[] = {M::kCard, M::kPix, M::kUpi, M::kKonbini, M::kGcash, M::kBnpl};
    std::string id = fmt::format("co-{}", produced);
    stamp(e, m);
    auto* b = e->mutable_checkout_started();
    b->set_checkout_id(id);
    b->set_method(std::string(name_of(kMethods[rng.below(std::size(kMethods))])));
    b->set_market(m.market->country);
    // Industry surveys put online cart abandonment near 70%.
    schedule(now_s + rng.between(60, 3600), Later::kCheckoutEnd, m, id, 0, rng.percent(70));
  }

  void new_payment(v1::Envelope* e, Merchant& m) {
    if (rng.percent(8)) return checkout(e, m);
    new_payment_body(e, m);
    use_quote(e, m);
    // A USD-settled merchant's money in lands in the house's position in its currency (an
    // estimate: half of what is created, as some never capture or are refunded; the sweep
    // takes 80%).
    if (m.settles_usd) house_took[m.market->currency] += last_payment_amount / 2;
  }

  void new_payment_body(v1::Envelope* e, Merchant& m) {
    int64_t amount = rng.between(m.market->amount_min_minor, m.market->amount_max_minor);
    last_payment_amount = amount;
    std::string id = fmt::format("pay-{}-{}", m.id, m.next_payment++);
    stamp(e, m);
    if (m.market->wallet != v1::WALLET_UNSPECIFIED && rng.percent(60)) {
      wallet_payment(e, m, id, amount);
    } else if (m.market->pay_by_bank && rng.percent(25)) {
      pay_by_bank(e, m, id, amount);
    } else if (m.market->bnpl && rng.percent(10)) {
      bnpl(e, m, id, amount);
    } else if (m.market->rail != v1::BANK_RAIL_UNSPECIFIED && rng.percent(40)) {
      bank_transfer(e, m, id, amount);
    } else if (m.market->voucher != v1::VOUCHER_METHOD_UNSPECIFIED && rng.percent(20)) {
      voucher(e, m, id, amount);
    } else {
      card_auth(e, m, id, amount);
    }
  }

  // ------------------------------------------------------------------ follow-ups

  bool capture(v1::Envelope* e, Merchant& m) {
    std::erase_if(m.open, [&](const OpenAuth& a) { return a.expires_at <= now_s; });
    if (m.open.empty()) return false;
    size_t i = rng.below(m.open.size());
    OpenAuth& auth = m.open[i];
    Hold& hold = held.at(auth.payment_id);
    int64_t& remaining = hold.remaining;
    int64_t amount = rng.below(10) < 7 ? remaining : std::max<int64_t>(1, remaining / 2);
    stamp(e, m);
    auto* b = e->mutable_card_captured();
    b->set_payment_id(auth.payment_id);
    b->set_capture_id(fmt::format("cap-{}", produced));
    money(b->mutable_amount(), m, amount);
    m.available += amount;
    scheme_owes[m.market->currency] += amount;
    charge_fee(m, name_of(ledger::Method::kCard), auth.payment_id, amount, !hold.captured);
    hold.captured = true;
    add_refundable(m, {auth.payment_id, amount, RefundKind::kCard});
    remaining -= amount;
    if (remaining == 0) {
      held.erase(auth.payment_id);
      take_at(m.open, i);
    }
    return true;
  }

  bool void_auth(v1::Envelope* e, Merchant& m) {
    std::erase_if(m.open, [&](const OpenAuth& a) { return a.expires_at <= now_s; });
    if (m.open.empty()) return false;
    OpenAuth auth = take_at(m.open, rng.below(m.open.size()));
    held.erase(auth.payment_id);
    stamp(e, m);
    e->mutable_card_voided()->set_payment_id(auth.payment_id);
    return true;
  }

  bool refund(v1::Envelope* e, Merchant& m) {
    if (m.refundable.empty()) return false;
    size_t i = rng.below(m.refundable.size());
    Refundable& r = m.refundable[i];
    if (r.kind == RefundKind::kNone) return false;
    if (r.kind == RefundKind::kPix && now_s - r.received_s >= kPixRefundLastSecond) {
      take_at(m.refundable, i);  // past PIX's 90-day devolucao window: the ledger would refuse
      return false;
    }
    int64_t amount =
        r.full_only || rng.below(2) == 0 ? r.remaining : rng.between(1, r.remaining);
    stamp(e, m);
    if (r.kind == RefundKind::kWallet) {
      auto* b = e->mutable_ewallet_payment_refunded();
      b->set_payment_id(r.payment_id);
      b->set_refund_id(fmt::format("ref-{}", produced));
      money(b->mutable_amount(), m, amount);
    } else if (r.kind == RefundKind::kPayByBank) {
      auto* b = e->mutable_pay_by_bank_refund_sent();
      b->set_payment_id(r.payment_id);
      b->set_refund_id(fmt::format("ref-{}", produced));
      money(b->mutable_amount(), m, amount);
    } else if (r.kind == RefundKind::kCard) {
      auto* b = e->mutable_card_refunded();
      b->set_payment_id(r.payment_id);
      b->set_refund_id(fmt::format("ref-{}", produced));
      money(b->mutable_amount(), m, amount);
    } else {
      auto* b = e->mutable_bank_transfer_refunded();  // PIX devolucao
      b->set_payment_id(r.payment_id);
      b->set_refund_id(fmt::format("dev-{}", produced));
      money(b->mutable_amount(), m, amount);
    }
    m.available -= amount;
    if (r.kind == RefundKind::kCard) scheme_owes[m.market->currency] -= amount;
    r.remaining -= amount;
    if (r.remaining == 0) take_at(m.refundable, i);
    return true;
  }

  bool chargeback(v1::Envelope* e, Merchant& m) {
    if (m.refundable.empty()) return false;
    size_t i = rng.below(m.refundable.size());
    Refundable& r = m.refundable[i];
    if (r.kind != RefundKind::kCard || disputed.count(r.payment_id) != 0) return false;
    int64_t amount = r.remaining;
    int64_t fee = m.market->fee_fixed_minor * 50;  // a flat dispute fee
    stamp(e, m);
    auto* b = e->mutable_chargeback_opened();
    b->set_payment_id(r.payment_id);
    b->set_chargeback_id(fmt::format("cb-{}", produced));
    money(b->mutable_amount(), m, amount);
    money(b->mutable_fee(), m, fee);
    m.available -= amount + fee;
    scheme_owes[m.market->currency] -= amount;
    disputed.insert(r.payment_id);
    std::string payment_id = r.payment_id;
    take_at(m.refundable, i);  // the disputed part is not refunded too
    uint64_t won = rng.below(100) < 40;
    schedule(now_s + rng.between(kDay, 3 * kDay),
             rng.percent(60) ? Later::kDisputeRepresent : Later::kDisputeResolve, m, payment_id,
             amount, won);
    return true;
  }

  bool payout(v1::Envelope* e, Merchant& m) {
    // A USD-settled merchant's payable is in USD; its payouts are the settlement engine's
    // (issue 11), not simulated here.
    if (m.available <= 0 || m.settles_usd) return false;
    if (options.settlement && m.policy) return false;  // paid by its settlement cycles
    int64_t amount = std::max<int64_t>(1, m.available / 2);
    stamp(e, m);
    auto* b = e->mutable_payout_sent();
    b->set_payout_id(fmt::format("po-{}", produced));
    money(b->mutable_amount(), m, amount);
    b->set_destination(fmt::format("bank_{}", m.id));
    m.available -= amount;
    return true;
  }

  // Emits a scheduled event whose time has come; false if it no longer applies.
  bool scheduled(v1::Envelope* e, const Scheduled& s) {
    Merchant& m = *s.merchant;
    stamp(e, m);
    switch (s.what) {
      case Later::kAuthExpiry: {
        // Only an authorisation still holding money lapses (not captured in full or voided).
        if (held.erase(s.payment_id) == 0) return false;
        std::erase_if(m.open, [&](const OpenAuth& a) { return a.payment_id == s.payment_id; });
        e->mutable_card_authorisation_expired()->set_payment_id(s.payment_id);
        return true;
      }
      case Later::kUpiResolve: {
        auto* b = e->mutable_upi_payment_resolved();
        b->set_payment_id(s.payment_id);
        if (s.outcome < 80) {
          b->set_outcome(v1::UPI_OUTCOME_SUCCESS);
          m.available += s.amount;
          charge_fee(m, name_of(ledger::Method::kUpi), s.payment_id, s.amount, true);
        } else {
          b->set_outcome(s.outcome < 90 ? v1::UPI_OUTCOME_FAILED : v1::UPI_OUTCOME_REVERSED);
        }
        return true;
      }
      case Later::kUpiReverseSettled: {
        auto* b = e->mutable_upi_payment_resolved();
        b->set_payment_id(s.payment_id);
        b->set_outcome(v1::UPI_OUTCOME_REVERSED);
        return true;
      }
      case Later::kVoucherPay:
        e->mutable_voucher_paid()->set_payment_id(s.payment_id);
        collector_owes[{m.market->voucher, m.market->currency}] += voucher_amount(s);
      {
        // In time (outcome: the expiry; 1: paid after its expiry event): the merchant's money
        // (late: the customer's). With settlement on, decided by when the event comes out:
        // with sparse event time (max_seconds_between_events) a payment drawn in time can be
        // emitted after the expiry, the ledger books it to suspense, and a settlement of the
        // whole estimate would be refused. Off: as before issue 11 (the same stream).
        const bool in_time = options.settlement ? now_s < static_cast<int64_t>(s.outcome)
                                                : s.outcome != 1;
        if (in_time) {
          m.available += s.amount;
          charge_fee(m, method_of(m.market->voucher), s.payment_id, s.amount, true);
        }
        return true;
      }
      case Later::kVoucherExpiry:
        e->mutable_voucher_expired()->set_payment_id(s.payment_id);
        if (s.outcome != 0) {  // paid after all, too late: the money goes to suspense
          schedule(now_s + rng.between(3600, kDay), Later::kVoucherPay, m, s.payment_id, s.amount, 1);
        }
        return true;
      case Later::kDisputeRepresent:
        e->mutable_chargeback_represented()->set_payment_id(s.payment_id);
        schedule(now_s + rng.between(kDay, 5 * kDay), Later::kDisputeResolve, m, s.payment_id,
                 s.amount, s.outcome);
        return true;
      case Later::kWalletVoid:
        e->mutable_ewallet_payment_voided()->set_payment_id(s.payment_id);
        return true;
      case Later::kPayByBankOutcome:
        if (s.outcome < 85) {
          e->mutable_pay_by_bank_completed()->set_payment_id(s.payment_id);
          m.available += s.amount;
          charge_fee(m, name_of(ledger::Method::kPayByBank), s.payment_id, s.amount, true);
          add_refundable(m, {s.payment_id, s.amount, RefundKind::kPayByBank});
        } else if (s.outcome < 95) {
          auto* b = e->mutable_pay_by_bank_failed();
          b->set_payment_id(s.payment_id);
          b->set_reason("NO_CONSENT");
        } else {
          e->mutable_pay_by_bank_expired()->set_payment_id(s.payment_id);
        }
        return true;
      case Later::kBnplInstalment: {
        BnplOrder& o = bnpl_orders.at(s.payment_id);
        if (o.cancelled || o.next > o.instalments) return false;
        auto* b = e->mutable_bnpl_instalment_collected();
        b->set_payment_id(s.payment_id);
        b->set_number(o.next);
        money(b->mutable_amount(), m,
              static_cast<int64_t>(ledger::split_instalments(Int128(o.amount), o.instalments)[o.next - 1]));
        if (++o.next <= o.instalments) {
          schedule(now_s + 14 * kDay, Later::kBnplInstalment, m, s.payment_id, 0);
        }
        return true;
      }
      case Later::kBnplRefund: {
        BnplOrder& o = bnpl_orders.at(s.payment_id);
        if (o.cancelled || o.net_left <= 0) return false;
        int64_t amount = rng.between(1, o.net_left);
        auto* b = e->mutable_bnpl_refunded();
        b->set_payment_id(s.payment_id);
        b->set_refund_id(fmt::format("ref-{}", produced));
        money(b->mutable_amount(), m, amount);
        o.net_left -= amount;
        m.available -= amount;
        return true;
      }
      case Later::kBnplCancel: {
        BnplOrder& o = bnpl_orders.at(s.payment_id);
        e->mutable_bnpl_order_cancelled()->set_payment_id(s.payment_id);
        m.available -= o.net_left;
        o.net_left = 0;
        o.cancelled = true;
        return true;
      }
      case Later::kCheckoutEnd:
        if (s.outcome != 0) {
          e->mutable_checkout_abandoned()->set_checkout_id(s.payment_id);
        } else {
          auto* b = e->mutable_checkout_completed();
          b->set_checkout_id(s.payment_id);
          b->set_payment_id("pay-" + s.payment_id);
        }
        return true;
      case Later::kContractChange:
        change_contract(e, m, s);
        return true;
      case Later::kSettlementRun:
      case Later::kSettlementSent:
      case Later::kSettlementConfirm:
      case Later::kSettlementReturn:
      case Later::kTokenMint:
      case Later::kTokenTransfer:
      case Later::kTokenRedeem:
      case Later::kReserveRelease:
        return settlement_step(e, m, s);
      case Later::kDisputeResolve: {
        auto* b = e->mutable_chargeback_resolved();
        b->set_payment_id(s.payment_id);
        b->set_won(s.outcome != 0);
        if (s.outcome != 0) {
          m.available += s.amount;
          scheme_owes[m.market->currency] += s.amount;
        }
        return true;
      }
    }
    return false;
  }

  int64_t voucher_amount(const Scheduled& s) { return s.amount; }

  void queue_settlements() {
    for (auto& [currency, owed] : scheme_owes) {
      if (owed <= 0) continue;
      v1::Envelope e;
      auto* b = e.mutable_card_scheme_settlement_received();
      b->set_settlement_id(fmt::format("scheme-{}-{}", currency, produced));
      b->set_scheme(rng.percent(60) ? "visa" : "mastercard");
      b->mutable_amount()->set_currency(currency);
      b->mutable_amount()->set_amount(
          ledger::format_scaled(Int128(owed), Asset::find(currency).value().exponent()));
      house.push_back(std::move(e));
      owed = 0;
    }
    for (auto& [key, owed] : collector_owes) {
      if (owed <= 0) continue;
      v1::Envelope e;
      auto* b = e.mutable_voucher_collector_settled();
      b->set_settlement_id(fmt::format("collector-{}-{}", key.first, produced));
      b->set_method(static_cast<v1::VoucherMethod>(key.first));
      b->mutable_amount()->set_currency(key.second);
      b->mutable_amount()->set_amount(
          ledger::format_scaled(Int128(owed), Asset::find(key.second).value().exponent()));
      house.push_back(std::move(e));
      owed = 0;
    }
  }

  void next(v1::Envelope* e) {
    now_s += static_cast<int64_t>(rng.below(options.max_seconds_between_events));
    if (produced % kSettlementEveryEvents == kSettlementEveryEvents - 1) queue_settlements();
    if (options.rates && now_s >= next_fix_s) publish_fix();
    if (!reference.empty()) {
      *e = std::move(reference.front());
      reference.pop_front();
      e->set_event_id(fmt::format("evt-{:010}", produced));
      e->set_schema_version(events::kSchemaVersion);
      e->mutable_occurred_at()->set_seconds(now_s);
      return;
    }
    if (!forward_settlements.empty() && forward_settlements.begin()->first <= now_s) {
      treasury.push_back(std::move(forward_settlements.begin()->second));
      forward_settlements.erase(forward_settlements.begin());
    }
    if (!treasury.empty()) {
      *e = std::move(treasury.front());
      treasury.pop_front();
      e->set_event_id(fmt::format("evt-{:010}", produced));
      e->set_merchant_id(std::string(kHouseMerchantId));
      e->set_schema_version(events::kSchemaVersion);
      e->mutable_occurred_at()->set_seconds(now_s);
      return;
    }
    if (!house.empty()) {
      *e = std::move(house.front());
      house.pop_front();
      e->set_event_id(fmt::format("evt-{:010}", produced));
      e->set_merchant_id(kHouseId);
      e->set_schema_version(events::kSchemaVersion);
      e->mutable_occurred_at()->set_seconds(now_s);
      return;
    }
    if (!queued.empty()) {
      Merchant* m = queued.front().first;
      *e = std::move(queued.front().second);
      queued.pop_front();
      stamp(e, *m);
      if (e->has_fee_assessed()) {  // coupons never count in `available`
        m->available -= static_cast<int64_t>(
            ledger::parse_scaled(e->fee_assessed().amount().amount(), m->asset.exponent()).value());
      }
      return;
    }
    while (!later.empty() && later.top().at <= now_s) {
      Scheduled s = later.top();
      later.pop();
      if (scheduled(e, s)) return;
      e->Clear();
    }
    Merchant& m = merchants[rng.below(merchants.size())];
    if (options.contracts && !m.onboarded && onboard(e, m)) return;
    if (options.settlement && !m.settlement_decided && set_policy(e, m)) return;
    if (options.rates && options.fx_heavy_percent != 0 &&
        rng.percent(options.fx_heavy_percent) && fx_event(e, m)) {
      return;
    }
    uint64_t r = rng.below(1000);
    bool done = false;
    if (r < 300) {
      done = capture(e, m);
    } else if (r < 330) {
      done = void_auth(e, m);
    } else if (r < 400) {
      done = refund(e, m);
    } else if (r < 430) {
      done = payout(e, m);
    } else if (r < 436) {
      done = chargeback(e, m);
    } else if (options.rates && r < 446) {
      done = convert_balance(e, m);
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
