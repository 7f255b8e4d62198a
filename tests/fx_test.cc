// FX arithmetic (ledger/fx.h): pairs, conversions both ways, inverses, positions at weighted
// average cost, revaluation and forward marks. Every expected value is worked out by hand in
// the comment beside it.
#include <gtest/gtest.h>

#include <limits>

#include "ledger/fx.h"

namespace payledger::ledger {
namespace {

Asset asset(std::string_view code) { return Asset::find(code).value(); }
Rate rate(std::string_view text) { return Rate::parse(text).value(); }
CurrencyPair pair(std::string_view text) { return CurrencyPair::parse(text).value(); }
Amount money(std::string_view text, std::string_view code) {
  return Amount::parse(text, asset(code)).value();
}

TEST(CurrencyPair, OneCanonicalDirectionPerPair) {
  EXPECT_EQ(pair("USD/JPY").base(), asset("USD"));
  EXPECT_EQ(pair("USD/JPY").quote(), asset("JPY"));
  EXPECT_TRUE(CurrencyPair::parse("EUR/USD").ok());
  EXPECT_TRUE(CurrencyPair::parse("USD/BRL").ok());   // USD is a major, BRL is not
  EXPECT_TRUE(CurrencyPair::parse("BRL/MXN").ok());   // neither: alphabetical
  EXPECT_TRUE(CurrencyPair::parse("GBP/JPY").ok());
  auto inverted = CurrencyPair::parse("JPY/USD");
  ASSERT_FALSE(inverted.ok());
  EXPECT_EQ(inverted.error().code, Code::kInvalidArgument);
  EXPECT_NE(inverted.error().reason.find("use USD/JPY"), std::string::npos)
      << inverted.error().reason;
  EXPECT_FALSE(CurrencyPair::parse("USD/EUR").ok());
  EXPECT_FALSE(CurrencyPair::parse("MXN/BRL").ok());
  // of() puts any two assets in the canonical order.
  EXPECT_EQ(CurrencyPair::of(asset("INR"), asset("EUR"))->to_string(), "EUR/INR");
}

TEST(CurrencyPair, MalformedPairsAreRejectedWithAReason) {
  for (std::string_view bad : {"USDJPY", "USD/", "/JPY", "USD/JPY/EUR", ""}) {
    auto p = CurrencyPair::parse(bad);
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_EQ(p.error().code, Code::kInvalidArgument) << bad;
  }
  EXPECT_EQ(CurrencyPair::parse("USD/USD").error().code, Code::kInvalidArgument);
  EXPECT_EQ(CurrencyPair::parse("USD/XYZ").error().code, Code::kUnknownAsset);
}

TEST(FxConvert, ThousandDollarsToYenAndDinarHalfEvenAndHalfUp) {
  // 1,000.00 USD x 151.2345 = 151,234.5 JPY (exponent 0): half-even keeps the even 151,234,
  // half-up takes 151,235.
  auto usd = money("1000.00", "USD");
  EXPECT_EQ(convert(usd, pair("USD/JPY"), rate("151.2345"), RoundingMode::kHalfEven)->to_string(),
            "151234");
  EXPECT_EQ(convert(usd, pair("USD/JPY"), rate("151.2345"), RoundingMode::kHalfUp)->to_string(),
            "151235");
  // 1,000.00 USD x 0.3760505 = 376.0505 BHD (exponent 3: 376,050.5 fils): half-even 376.050,
  // half-up 376.051.
  EXPECT_EQ(convert(usd, pair("USD/BHD"), rate("0.3760505"), RoundingMode::kHalfEven)->to_string(),
            "376.050");
  EXPECT_EQ(convert(usd, pair("USD/BHD"), rate("0.3760505"), RoundingMode::kHalfUp)->to_string(),
            "376.051");
}

TEST(FxConvert, QuoteToBaseDividesOnceWithoutRoundingAnInverse) {
  // 151,234 JPY / 151.2345 = 999.99669... USD = 99,999.669 cents -> 100,000 cents.
  auto usd = convert(money("151234", "JPY"), pair("USD/JPY"), rate("151.2345"),
                     RoundingMode::kHalfEven);
  ASSERT_TRUE(usd.ok());
  EXPECT_EQ(usd->asset(), asset("USD"));
  EXPECT_EQ(usd->to_string(), "1000.00");
  // 1.00 EUR at EUR/USD 1.6 from the quote side: 1.00 USD / 1.6 = 0.625 EUR: 0.62 half-even,
  // 0.63 half-up (an inverse rounded first to 0.63 or 0.62 would give other cents for large
  // amounts: convert() never rounds the inverse).
  EXPECT_EQ(convert(money("1.00", "USD"), pair("EUR/USD"), rate("1.6"), RoundingMode::kHalfEven)
                ->to_string(),
            "0.62");
  EXPECT_EQ(convert(money("1.00", "USD"), pair("EUR/USD"), rate("1.6"), RoundingMode::kHalfUp)
                ->to_string(),
            "0.63");
}

TEST(FxConvert, AnAmountInNeitherAssetIsRefused) {
  auto r = convert(money("1.00", "GBP"), pair("USD/JPY"), rate("151"), RoundingMode::kHalfEven);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::kCurrencyMismatch);
}

TEST(FxInverse, RoundsOnceToTheScaleAsked) {
  // 1 / 151.235 = 0.006612226005884...: 10 decimals 0.0066122260, 12 decimals 0.006612226006.
  EXPECT_EQ(inverse(rate("151.235"), 10, RoundingMode::kHalfEven)->to_string(), "0.0066122260");
  EXPECT_EQ(inverse(rate("151.235"), 12, RoundingMode::kHalfEven)->to_string(), "0.006612226006");
  // 1 / 1.6 = 0.625: 0.62 half-even, 0.63 half-up.
  EXPECT_EQ(inverse(rate("1.6"), 2, RoundingMode::kHalfEven)->to_string(), "0.62");
  EXPECT_EQ(inverse(rate("1.6"), 2, RoundingMode::kHalfUp)->to_string(), "0.63");
  // 1 / 151.235 = 0.0066...: at 2 decimals 0.01 (rounded up from 0.66 hundredths), at 1
  // decimal 0.0: no rate.
  EXPECT_EQ(inverse(rate("151.235"), 2, RoundingMode::kHalfEven)->to_string(), "0.01");
  auto zero = inverse(rate("151.235"), 1, RoundingMode::kHalfEven);
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error().code, Code::kBadAmount);
}

// Positions below: EUR held, reported in USD (minor units: cents of each).
TEST(FxPosition, BuyThenSellRealisesAgainstTheAverageCost) {
  Position p;
  // Buy 100.00 EUR for 110.00 USD, then 100.00 EUR for 114.00 USD: 200.00 EUR at 224.00 USD
  // (average 1.12).
  p = trade(p, 10000, 11000, RoundingMode::kHalfEven).value();
  p = trade(p, 10000, 11400, RoundingMode::kHalfEven).value();
  EXPECT_EQ(p, (Position{20000, 22400, 0}));
  // Sell 50.00 EUR for 57.50 USD: cost out 224.00 x 50/200 = 56.00; realised 57.50 - 56.00
  // = +1.50.
  p = trade(p, -5000, -5750, RoundingMode::kHalfEven).value();
  EXPECT_EQ(p, (Position{15000, 16800, 150}));
  // Sell the remaining 150.00 EUR for 165.00 USD: cost out 168.00, realised 165.00 - 168.00
  // = -3.00, -1.50 in all; the position is flat with no cost left.
  p = trade(p, -15000, -16500, RoundingMode::kHalfEven).value();
  EXPECT_EQ(p, (Position{0, 0, -150}));
}

TEST(FxPosition, ThePartOfTheCostThatLeavesIsRoundedOnce) {
  // 300.00 EUR bought for 110.00 + 110.00 + 111.00 = 331.00 USD; sell 100.00 EUR for 111.00:
  // cost out 331.00 x 100/300 = 110.3333... = 11,033.33 cents -> 11,033 (half-even and
  // half-up agree); realised 111.00 - 110.33 = +0.67.
  Position p{30000, 33100, 0};
  EXPECT_EQ(trade(p, -10000, -11100, RoundingMode::kHalfEven).value(),
            (Position{20000, 22067, 67}));
  // A true half: 0.02 EUR that cost 0.05 USD, sell 0.01 EUR for 0.03 USD: the cost out is
  // 5 x 1/2 = 2.5 cents -> 2 half-even (realised 3 - 2 = 1), 3 half-up (realised 0).
  EXPECT_EQ(trade(Position{2, 5, 0}, -1, -3, RoundingMode::kHalfEven).value(),
            (Position{1, 3, 1}));  // out 2, realised 3 - 2 = 1
  EXPECT_EQ(trade(Position{2, 5, 0}, -1, -3, RoundingMode::kHalfUp).value(),
            (Position{1, 2, 0}));  // out 3, realised 3 - 3 = 0
}

TEST(FxPosition, ATradeCrossingZeroClosesThenOpensTheOtherWay) {
  // Long 100.00 EUR at 110.00 USD; sell 150.00 EUR for 168.00 USD. The first 100.00 close
  // the position with 168.00 x 100/150 = 112.00 of the proceeds: realised 112.00 - 110.00
  // = +2.00. The other 50.00 EUR open a short received 56.00 USD.
  Position p = trade(Position{10000, 11000, 0}, -15000, -16800, RoundingMode::kHalfEven).value();
  EXPECT_EQ(p, (Position{-5000, -5600, 200}));
  // Buy the 50.00 EUR back for 55.00 USD: received 56.00, paid 55.00: +1.00, +3.00 in all.
  p = trade(p, 5000, 5500, RoundingMode::kHalfEven).value();
  EXPECT_EQ(p, (Position{0, 0, 300}));
}

TEST(FxPosition, ABadTradeIsRefusedAndAnOverflowIsNamed) {
  // A sale (negative quantity) paid for (positive value) is not a trade.
  EXPECT_EQ(trade(Position{}, -100, 100, RoundingMode::kHalfEven).error().code,
            Code::kInvalidArgument);
  EXPECT_EQ(trade(Position{}, 0, 100, RoundingMode::kHalfEven).error().code,
            Code::kInvalidArgument);
  Position full{1, std::numeric_limits<Int128>::max(), 0};
  EXPECT_EQ(trade(full, 1, 1, RoundingMode::kHalfEven).error().code, Code::kOverflow);
}

TEST(FxRevaluation, UnrealisedAtTheClosingRateThenRealisedOnSettlement) {
  // docs reference (IAS 21 worked example): a EUR 1,000 receivable booked at 1.10 = USD
  // 1,100. At a closing rate of 1.12 it is worth 1,120: unrealised +20.00.
  Position p = trade(Position{}, 100000, 110000, RoundingMode::kHalfEven).value();
  EXPECT_EQ(unrealised(p, asset("EUR"), asset("USD"), pair("EUR/USD"), rate("1.12"),
                       RoundingMode::kHalfEven)
                .value(),
            Int128(2000));
  // Settled at 1.08 (USD 1,080): realised 1,080 - 1,100 = -20.00, nothing left unrealised.
  // (IAS 21 books +20 at the revaluation and -40 at settlement: the same -20 in all.)
  p = trade(p, -100000, -108000, RoundingMode::kHalfEven).value();
  EXPECT_EQ(p.realised, Int128(-2000));
  EXPECT_EQ(unrealised(p, asset("EUR"), asset("USD"), pair("EUR/USD"), rate("1.12"),
                       RoundingMode::kHalfEven)
                .value(),
            Int128(0));
  // A short is valued the other way: owing 1,000 EUR received 1,100 USD; at 1.12 owing
  // 1,120: -20.00.
  Position s{-100000, -110000, 0};
  EXPECT_EQ(unrealised(s, asset("EUR"), asset("USD"), pair("EUR/USD"), rate("1.12"),
                       RoundingMode::kHalfEven)
                .value(),
            Int128(-2000));
  // The reporting currency may be the pair's base: JPY held, valued in USD at USD/JPY 150:
  // 15,000 JPY cost 99.00 USD, worth 15,000 / 150 = 100.00: +1.00.
  EXPECT_EQ(unrealised(Position{15000, 9900, 0}, asset("JPY"), asset("USD"), pair("USD/JPY"),
                       rate("150"), RoundingMode::kHalfEven)
                .value(),
            Int128(100));
}

TEST(FxForward, MarkToMarketOfTheReferenceForward) {
  // docs reference (IFRS 9 worked example): buy 1,000,000 of the base forward at 1.20.
  auto notional = money("1000000.00", "EUR");
  auto k = rate("1.20");
  // 31 Mar: forward 1.21, discounted by 1.00835 (the reference's "discount factor", a
  // divisor: forward_mark's accrual): 1,000,000 x 0.01 / 1.00835 =
  // 9,917.1914... -> 9,917.19 USD.
  EXPECT_EQ(forward_mark(notional, pair("EUR/USD"), k, rate("1.21"), rate("1.00835"),
                         RoundingMode::kHalfEven)
                ->to_string(),
            "9917.19");
  // 30 Apr: forward 1.205, discount 1.00422 (our assumption: the reference gives only its
  // result, 4,979): 5,000 / 1.00422 = 4,978.9886... -> 4,978.99.
  EXPECT_EQ(forward_mark(notional, pair("EUR/USD"), k, rate("1.205"), rate("1.00422"),
                         RoundingMode::kHalfEven)
                ->to_string(),
            "4978.99");
  // Maturity: spot 1.215, no discounting: 1,000,000 x 0.015 = 15,000.00.
  EXPECT_EQ(forward_mark(notional, pair("EUR/USD"), k, rate("1.215"), rate("1"),
                         RoundingMode::kHalfEven)
                ->to_string(),
            "15000.00");
  // The seller of the same forward marks the opposite: -9,917.19.
  EXPECT_EQ(forward_mark(notional.negated(), pair("EUR/USD"), k, rate("1.21"), rate("1.00835"),
                         RoundingMode::kHalfEven)
                ->to_string(),
            "-9917.19");
  // Across exponents: sell 1,000,000.00 USD forward against JPY at 150.00, forward now 149.50:
  // -1,000,000 x (149.50 - 150.00) = +500,000 JPY.
  EXPECT_EQ(forward_mark(money("-1000000.00", "USD"), pair("USD/JPY"), rate("150.00"),
                         rate("149.50"), rate("1"), RoundingMode::kHalfEven)
                ->to_string(),
            "500000");
  // The notional must be in the base.
  EXPECT_EQ(forward_mark(money("1.00", "USD"), pair("EUR/USD"), k, k, rate("1"),
                         RoundingMode::kHalfEven)
                .error()
                .code,
            Code::kCurrencyMismatch);
}

}  // namespace
}  // namespace payledger::ledger
