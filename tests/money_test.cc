#include <gtest/gtest.h>

#include "ledger/amount.h"
#include "ledger/rate.h"

namespace payledger::ledger {
namespace {

Asset asset(const char* code) { return Asset::find(code).value(); }

struct ParseCase {
  const char* currency;
  const char* text;
  const char* minor;      // expected minor units, as a decimal integer
  const char* formatted;  // expected to_string()
};
void PrintTo(const ParseCase& c, std::ostream* os) { *os << c.currency << " " << c.text; }

class ParseTable : public ::testing::TestWithParam<ParseCase> {};

TEST_P(ParseTable, ParsesToMinorUnitsAndFormatsBack) {
  const ParseCase& c = GetParam();
  auto a = Amount::parse(c.text, asset(c.currency));
  ASSERT_TRUE(a.ok()) << a.error().reason;
  EXPECT_EQ(a->minor(), Int128(c.minor));
  EXPECT_EQ(a->to_string(), c.formatted);
}

INSTANTIATE_TEST_SUITE_P(
    Money, ParseTable,
    ::testing::Values(ParseCase{"USD", "12.34", "1234", "12.34"},
                      ParseCase{"USD", "12.3", "1230", "12.30"},
                      ParseCase{"USD", "12", "1200", "12.00"},
                      ParseCase{"USD", "0.05", "5", "0.05"},
                      ParseCase{"USD", "-0.05", "-5", "-0.05"},
                      ParseCase{"JPY", "1200", "1200", "1200"},
                      ParseCase{"JPY", "0", "0", "0"},
                      ParseCase{"BHD", "1.234", "1234", "1.234"},
                      ParseCase{"BHD", "0.001", "1", "0.001"},
                      ParseCase{"KWD", "10.5", "10500", "10.500"},
                      ParseCase{"CLF", "1.2345", "12345", "1.2345"},
                      ParseCase{"USD", "170141183460469231731687303715884105.72",
                                "17014118346046923173168730371588410572",
                                "170141183460469231731687303715884105.72"}));

struct BadCase {
  const char* currency;
  const char* text;
  Code code;
};
void PrintTo(const BadCase& c, std::ostream* os) { *os << c.currency << " '" << c.text << "'"; }

class BadParseTable : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadParseTable, IsRejectedWithCode) {
  const BadCase& c = GetParam();
  auto a = Amount::parse(c.text, asset(c.currency));
  ASSERT_FALSE(a.ok()) << c.text;
  EXPECT_EQ(a.error().code, c.code) << a.error().reason;
}

INSTANTIATE_TEST_SUITE_P(
    Money, BadParseTable,
    ::testing::Values(BadCase{"USD", "12.345", Code::kBadAmount},  // too many decimals
                      BadCase{"JPY", "12.5", Code::kBadAmount},    // JPY has no minor unit
                      BadCase{"BHD", "1.2345", Code::kBadAmount},
                      BadCase{"USD", "", Code::kBadAmount},
                      BadCase{"USD", "+1.00", Code::kBadAmount},
                      BadCase{"USD", "1e5", Code::kBadAmount},
                      BadCase{"USD", ".5", Code::kBadAmount},
                      BadCase{"USD", "5.", Code::kBadAmount},
                      BadCase{"USD", "1.2.3", Code::kBadAmount},
                      BadCase{"USD", "1,00", Code::kBadAmount},
                      BadCase{"USD", "999999999999999999999999999999999999999999",
                              Code::kOverflow}));

TEST(Asset, UnknownCurrencyIsRejected) {
  auto a = Asset::find("XYZ");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, Code::kUnknownAsset);
}

TEST(Asset, ExponentsFollowIso4217) {
  EXPECT_EQ(asset("JPY").exponent(), 0);
  EXPECT_EQ(asset("KRW").exponent(), 0);
  EXPECT_EQ(asset("USD").exponent(), 2);
  EXPECT_EQ(asset("BHD").exponent(), 3);
  EXPECT_EQ(asset("UYW").exponent(), 4);
  EXPECT_EQ(asset("IDR").exponent(), 2);  // ISO says 2, whatever some libraries say
}

TEST(Asset, TokenAssetsDeclareTheirExponent) {
  auto t = Asset::register_token("EUR.TEST", 6);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->kind(), AssetKind::kToken);
  EXPECT_EQ(Amount::parse("1.000001", *t)->minor(), Int128(1000001));
  EXPECT_FALSE(Asset::register_token("EUR.TEST", 2).ok());  // exponent is fixed once set
  EXPECT_FALSE(Asset::register_token("bad code", 2).ok());
}

TEST(Amount, AdditionOverflowIsAnErrorNotAWrap) {
  Int128 max = std::numeric_limits<Int128>::max();
  Amount big = Amount::from_minor(asset("USD"), max);
  auto sum = big.plus(Amount::from_minor(asset("USD"), 1));
  ASSERT_FALSE(sum.ok());
  EXPECT_EQ(sum.error().code, Code::kOverflow);
  EXPECT_EQ(big.minor(), max);
}

TEST(Amount, AddingDifferentAssetsIsRejected) {
  auto sum = Amount::from_minor(asset("USD"), 1).plus(Amount::from_minor(asset("EUR"), 1));
  ASSERT_FALSE(sum.ok());
  EXPECT_EQ(sum.error().code, Code::kCurrencyMismatch);
}

struct RoundCase {
  const char* numerator;
  const char* denominator;
  RoundingMode mode;
  const char* expected;
};
void PrintTo(const RoundCase& c, std::ostream* os) {
  *os << c.numerator << "/" << c.denominator << " " << rounding_mode_name(c.mode);
}

class RoundingTable : public ::testing::TestWithParam<RoundCase> {};

TEST_P(RoundingTable, RoundsOnceAsNamed) {
  const RoundCase& c = GetParam();
  auto q = divide_rounded(Int256(c.numerator), Int256(c.denominator), c.mode);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(*q, Int128(c.expected)) << c.numerator << "/" << c.denominator << " "
                                    << rounding_mode_name(c.mode);
}

INSTANTIATE_TEST_SUITE_P(
    Rounding, RoundingTable,
    ::testing::Values(
        // 2.345 -> 2.34 half-even, 2.35 half-up (the textbook banker's case)
        RoundCase{"2345", "10", RoundingMode::kHalfEven, "234"},
        RoundCase{"2345", "10", RoundingMode::kHalfUp, "235"},
        RoundCase{"2355", "10", RoundingMode::kHalfEven, "236"},
        RoundCase{"2345", "10", RoundingMode::kHalfDown, "234"},
        RoundCase{"-2345", "10", RoundingMode::kHalfEven, "-234"},
        RoundCase{"-2345", "10", RoundingMode::kHalfUp, "-235"},
        RoundCase{"2341", "10", RoundingMode::kUp, "235"},
        RoundCase{"2349", "10", RoundingMode::kDown, "234"},
        RoundCase{"-2341", "10", RoundingMode::kFloor, "-235"},
        RoundCase{"-2349", "10", RoundingMode::kCeiling, "-234"},
        RoundCase{"2346", "10", RoundingMode::kHalfEven, "235"},
        RoundCase{"2344", "10", RoundingMode::kHalfUp, "234"}));

TEST(Rate, ConvertsAcrossExponentsAndRoundsOnce) {
  // 100.00 USD at 151.235 JPY/USD = 15123.5 JPY -> 15124 half-even (4 is even? 15124 yes)
  auto rate = Rate::parse("151.235").value();
  auto usd = Amount::parse("100.00", asset("USD")).value();
  auto jpy = rate.convert(usd, asset("JPY"), RoundingMode::kHalfEven);
  ASSERT_TRUE(jpy.ok());
  EXPECT_EQ(jpy->to_string(), "15124");
  // 1000 JPY at 0.0026545 BHD/JPY = 2.6545 BHD -> 2.654 half-even, 2.655 half-up
  auto r2 = Rate::parse("0.0026545").value();
  auto yen = Amount::parse("1000", asset("JPY")).value();
  EXPECT_EQ(r2.convert(yen, asset("BHD"), RoundingMode::kHalfEven)->to_string(), "2.654");
  EXPECT_EQ(r2.convert(yen, asset("BHD"), RoundingMode::kHalfUp)->to_string(), "2.655");
}

TEST(Rate, PercentageFeeIsExact) {
  auto pct = Rate::parse("0.029").value();
  auto fee = pct.apply(Amount::parse("10.50", asset("USD")).value(), RoundingMode::kHalfEven);
  EXPECT_EQ(fee->to_string(), "0.30");  // 0.3045 -> 0.30
}

TEST(Rate, RejectsNonPositiveAndTooPrecise) {
  EXPECT_FALSE(Rate::parse("0").ok());
  EXPECT_FALSE(Rate::parse("-1.2").ok());
  EXPECT_FALSE(Rate::parse("0.1234567890123456789").ok());
}

}  // namespace
}  // namespace payledger::ledger
