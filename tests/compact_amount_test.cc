// The compact i128 form of payment record amounts (Writer/Reader::i128_compact in
// projections/records.h): every value round-trips, small values take few bytes, and the
// reader refuses forms the writer never produces (one encoding per value, so the digest of
// the same books is the same bytes).
#include <iterator>
#include <string>

#include <gtest/gtest.h>

#include "projections/records.h"

namespace payledger::projections {
namespace {

using ledger::Int128;

std::string encode(const Int128& v) {
  std::string out;
  Writer(&out).i128_compact(v);
  return out;
}

TEST(CompactAmount, ValuesRoundTripInFewBytes) {
  const unsigned __int128 max = ~static_cast<unsigned __int128>(0);
  struct Case {
    Int128 value;
    size_t bytes;
  } cases[] = {
      {Int128(0), 1},                  // head 0x00 only
      {Int128(1), 2},                  // 0x01 0x01
      {Int128(-1), 2},                 // 0x81 0x01
      {Int128(255), 2},                // 0x01 0xff
      {Int128(256), 3},                // 0x02 0x01 0x00
      {Int128(3765712), 4},            // 0x39 0x75 0xd0: 3 bytes + head
      {Int128(-4294967296), 6},        // 2^32: 5 magnitude bytes + head
      {ledger::int128_from(false, max), 17},
      {ledger::int128_from(true, max), 17},
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    const Case& c = cases[i];
    std::string bytes = encode(c.value);
    EXPECT_EQ(bytes.size(), c.bytes) << "case " << i;
    Reader r(bytes);
    Int128 back = 7;
    ASSERT_TRUE(r.i128_compact(&back)) << "case " << i;
    EXPECT_TRUE(r.done());
    EXPECT_TRUE(back == c.value) << "case " << i;
  }
  EXPECT_EQ(encode(Int128(-1)), std::string("\x81\x01", 2));
  EXPECT_EQ(encode(Int128(256)), std::string("\x02\x01\x00", 3));
}

TEST(CompactAmount, NonMinimalNegativeZeroTruncatedAndOverlongFormsAreRefused) {
  Int128 v;
  std::string overlong(18, '\x01');  // head says 17 magnitude bytes: more than 128 bits
  overlong[0] = '\x11';
  for (const std::string& bad : {
           std::string("\x02\x00\x01", 3),  // leading zero byte: 1 written in 2 bytes
           std::string("\x80", 1),          // negative zero
           std::string("\x03\x01\x02", 3),  // says 3 bytes, has 2
           overlong,
           std::string(),                   // nothing
       }) {
    Reader r(bad);
    EXPECT_FALSE(r.i128_compact(&v)) << testing::PrintToString(bad);
  }
}

}  // namespace
}  // namespace payledger::projections
