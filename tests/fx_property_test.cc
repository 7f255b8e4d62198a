// Property (issue 10): after any random mix of FX events — rates, quotes, cross-currency
// payments and their refunds, merchant and treasury conversions, forwards booked and settled —
// every asset's legs sum to zero (debits = credits, posted and pending), whatever was accepted
// or rejected, and a rejected event changes nothing.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "events/codec.h"
#include "test_util.h"

namespace payledger::testing {
namespace {

std::string at(int64_t minute) {
  return fmt::format("2026-01-{:02}T{:02}:{:02}:00Z", 1 + minute / 1440, (minute / 60) % 24,
                     minute % 60);
}

// Per asset: posted debits - credits and pending debits - credits over every account.
std::map<std::string, std::pair<ledger::Int128, ledger::Int128>> legs(const MemoryLedger& l) {
  std::map<std::string, std::pair<ledger::Int128, ledger::Int128>> out;
  for (const auto& [key, b] : l.balances) {
    const std::string asset = key.substr(key.find('\0') + 1);
    out[asset].first += b.posted_debit - b.posted_credit;
    out[asset].second += b.pending_debit - b.pending_credit;
  }
  return out;
}

TEST(FxProperty, EveryAssetsLegsSumToZeroAfterAnyRandomMix) {
  const char* kCurrencies[] = {"BRL", "JPY", "EUR", "BHD"};
  const char* kPairs[] = {"USD/BRL", "USD/JPY", "EUR/USD", "USD/BHD"};
  const char* kMids[] = {"5.1234", "151.2", "1.0842", "0.376"};
  std::map<std::string, int> accepted_kinds;  // over all seeds: each kind must apply sometimes
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    std::mt19937 rng(seed);
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint32_t>(n)); };
    MemoryLedger l;
    int id = 0, accepted = 0;
    auto apply = [&](const std::string& merchant, int64_t minute, const std::string& body) {
      const std::string json =
          fmt::format(R"({{"event_id":"e{}","merchant_id":"{}","occurred_at":"{}",{}}})", id++,
                      merchant, at(minute), body);
      const auto before = l.balances;
      Status s = l.apply(json_event(json));
      if (s.ok()) {
        ++accepted;
        ++accepted_kinds[body.substr(1, body.find('"', 1) - 1) +
                         (merchant == "psp" ? " (house)" : "")];
      } else {
        EXPECT_EQ(l.balances, before) << "a rejected event moved money: " << json;
        EXPECT_NE(s.error().code, Code::kUnbalanced)
            << "a rule built an unbalanced entry: " << json;
      }
      for (const auto& [asset, sums] : legs(l)) {
        ASSERT_TRUE(sums.first.is_zero() && sums.second.is_zero())
            << "seed " << seed << ": " << asset << " legs do not sum to zero after " << json;
      }
    };
    // m1 settles card payments in EUR (1% markup); m2 keeps its currencies.
    apply("m1", 0,
          R"("merchant_contract_set":{"method":"card","percent":"2.9","settlement_currency":"EUR",)"
          R"("fx_markup_percent":"1"})");
    for (int i = 0; i < 4; ++i) {
      apply("", 0,
            fmt::format(R"("fx_rate_published":{{"pair":"{}","mid":"{}","source":"t",)"
                        R"("as_of":"{}"}})",
                        kPairs[i], kMids[i], at(0)));
    }
    apply("", 0,
          R"("fx_rate_published":{"pair":"EUR/BRL","mid":"5.55","source":"t",)"
          R"("as_of":")" +
              at(0) + R"("})");
    // Payments made (merchant, currency index, amount text), and which were captured.
    struct Made {
      std::string merchant;
      int currency;
      std::string amount;
      bool captured = false;
    };
    std::vector<Made> made;
    auto amount_of = [&](int c, bool small) {
      const std::string code = kCurrencies[c];
      if (code == "JPY") return std::to_string(small ? 100 + pick(100) : 1000 + pick(90000));
      const std::string text =
          fmt::format("{}.{:02}", small ? 1 + pick(5) : 10 + pick(900), pick(100));
      return code == "BHD" ? text + std::to_string(pick(10)) : text;
    };
    auto money = [&](int c, const std::string& amount) {
      return fmt::format(R"({{"currency":"{}","amount":"{}"}})", kCurrencies[c], amount);
    };
    for (int step = 1; step <= 200; ++step) {
      const int64_t minute = step * 7;
      const int c = pick(4);
      const std::string merchant = pick(2) == 0 ? "m1" : "m2";
      switch (pick(9)) {
        case 0: {
          made.push_back(Made{merchant, c, amount_of(c, false)});
          apply(merchant, minute,
                fmt::format(R"("card_authorised":{{"payment_id":"p{}","amount":{},)"
                            R"("expires_at":"{}"}})",
                            made.size() - 1, money(c, made.back().amount), at(minute + 5 * 1440)));
          break;
        }
        case 1: {
          if (made.empty()) break;
          Made& p = made[pick(static_cast<int>(made.size()))];
          const size_t i = static_cast<size_t>(&p - made.data());
          apply(p.merchant, minute,
                fmt::format(R"("card_captured":{{"payment_id":"p{}","amount":{}}})", i,
                            money(p.currency, p.amount)));
          p.captured = true;
          break;
        }
        case 2: {
          if (made.empty()) break;
          const size_t i = static_cast<size_t>(pick(static_cast<int>(made.size())));
          if (!made[i].captured) break;
          apply(
              made[i].merchant, minute,
              fmt::format(R"("card_refunded":{{"payment_id":"p{}","refund_id":"r{}","amount":{}}})",
                          i, step, money(made[i].currency, amount_of(made[i].currency, true))));
          break;
        }
        case 3:
          apply(merchant, minute,
                fmt::format(R"("fx_quote_locked":{{"quote_id":"q{}","pair":"{}","rate":"{}",)"
                            R"("expires_at":"{}"}})",
                            step, kPairs[c], kMids[c], at(minute + 30)));
          break;
        case 4: {
          // m2 keeps its currencies: it converts a little of one it was paid in, to USD or
          // to another, at the rate or at a quote it locked just before (when one fits).
          int from = c;
          for (const Made& p : made) {
            if (p.merchant == "m2" && p.captured) from = p.currency;
          }
          const int to = pick(3);
          const char* to_code = to == 0 ? "USD" : kCurrencies[(from + to) % 4];
          apply(
              "m2", minute,
              fmt::format(R"("fx_conversion_executed":{{"conversion_id":"c{}","from":{},)"
                          R"("to_currency":"{}","markup_percent":"0.{}"{}}})",
                          step, money(from, amount_of(from, true)), to_code, pick(10),
                          pick(2) ? fmt::format(R"(,"quote_id":"q{}")", step - 1 - pick(3)) : ""));
          break;
        }
        case 5:
          apply("psp", minute,
                fmt::format(R"("fx_conversion_executed":{{"conversion_id":"h{}","from":{},)"
                            R"("to_currency":"{}"}})",
                            step, money(c, amount_of(c, false)),
                            pick(2) ? "USD" : kCurrencies[(c + 1 + pick(3)) % 4]));
          break;
        case 6:
          apply("psp", minute,
                fmt::format(R"("fx_forward_booked":{{"forward_id":"f{}","pair":"{}",)"
                            R"("side":"{}","notional":{{"currency":"{}","amount":"{}.{:02}"}},)"
                            R"("forward_rate":"{}","value_date":"{}"}})",
                            step, kPairs[c], pick(2) ? "FX_SIDE_BUY" : "FX_SIDE_SELL",
                            std::string(kPairs[c]).substr(0, 3), 1 + pick(900), pick(100), kMids[c],
                            at(minute + 7 * (1 + pick(4)))));
          break;
        case 7:
          apply("psp", minute,
                fmt::format(R"("fx_forward_settled":{{"forward_id":"f{}"}})", pick(step)));
          break;
        case 8:
          apply(merchant, minute,
                fmt::format(R"("payout_sent":{{"payout_id":"o{}","amount":{},)"
                            R"("destination":"bank"}})",
                            step, money(c, amount_of(c, true))));
          break;
      }
    }
    EXPECT_GT(accepted, 60) << "seed " << seed << ": the mix must mostly apply to prove much";
  }
  for (const char* kind :
       {"card_authorised", "card_captured", "card_refunded", "fx_quote_locked",
        "fx_conversion_executed", "fx_conversion_executed (house)", "fx_forward_booked (house)",
        "fx_forward_settled (house)", "payout_sent"}) {
    EXPECT_GT(accepted_kinds[kind], 0) << kind << " never applied: the mix does not test it";
  }
  for (const auto& [kind, n] : accepted_kinds) std::printf("  %s: %d accepted\n", kind.c_str(), n);
}

}  // namespace
}  // namespace payledger::testing
