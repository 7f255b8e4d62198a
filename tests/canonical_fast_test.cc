// The fold's reflection-free canonical encoding (issue 9, "per-event path") writes exactly the
// bytes of the reflection encoder, which defines the form and stays the oracle: the dedupe
// fingerprint is taken over these bytes, stored, and part of the digest, so one differing byte
// would turn every retry of an old event into a conflicting duplicate.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>

#include <google/protobuf/unknown_field_set.h>

#include "events/codec.h"
#include "projections/records.h"
#include "tools/generator.h"

namespace payledger::testing {
namespace {

namespace pb = google::protobuf;

std::string by_reflection(const v1::Envelope& e) {
  std::string out;
  projections::canonical_encoding(static_cast<const pb::Message&>(e), &out);
  return out;
}

std::string fast(const v1::Envelope& e) {
  std::string out = "stale bytes from the previous event";  // the fold reuses its buffer
  projections::canonical_encoding(e, &out);
  return out;
}

TEST(CanonicalFast, SelfCheckPassesSoTheFoldUsesTheFastPath) {
  // Every body with every field set gave the reflection bytes (records.cc, fast_path_matches):
  // false means a schema field is missing from the fast encoder.
  EXPECT_TRUE(projections::canonical_encoding_fast_path());
}

// Every event the generator emits, in every market, with and without contracts, and with
// long gaps (expiries, late refunds), as produced and as the fold sees it (decoded from the
// serialized bytes): the same bytes as the reflection encoder.
TEST(CanonicalFast, SameBytesAsReflectionOnEveryGeneratedEvent) {
  std::set<int> bodies;
  size_t events = 0;
  for (std::string market : {"", "BR", "IN", "JP", "MX", "US", "DE", "GB", "BH"}) {
    for (bool contracts : {true, false}) {
      for (uint32_t gap : {5u, 4000u}) {
        tools::Generator gen({market.empty() ? 20000u : 3000u, 42, 50, market, contracts, gap});
        v1::Envelope e;
        while (gen.next(&e)) {
          ++events;
          bodies.insert(static_cast<int>(e.body_case()));
          ASSERT_EQ(fast(e), by_reflection(e)) << e.ShortDebugString();
          v1::Envelope decoded;
          ASSERT_TRUE(events::decode(events::encode(e), &decoded).ok());
          ASSERT_EQ(fast(decoded), by_reflection(decoded)) << e.ShortDebugString();
        }
      }
    }
  }
  EXPECT_GT(events, 100000u);
  // The generator's whole method mix: cards, PIX, UPI, vouchers, wallets, pay by bank, BNPL,
  // coupons, checkouts, contracts, fees, payouts (not every body: e.g. chargebacks).
  EXPECT_GE(bodies.size(), 20u) << "generator covers fewer bodies than expected";
}

v1::Envelope base() {
  v1::Envelope e;
  e.set_event_id("e1");
  e.set_merchant_id("m1");
  e.mutable_occurred_at()->set_seconds(1767225600);
  e.set_schema_version(1);
  return e;
}

TEST(CanonicalFast, SameBytesAsReflectionOnEdgeCases) {
  std::vector<v1::Envelope> cases;
  cases.push_back(v1::Envelope());  // nothing set: "plc1" + be32(0)
  {
    v1::Envelope e = base();  // no body
    cases.push_back(e);
  }
  {
    v1::Envelope e = base();  // a body selected but empty (a oneof member is set when selected)
    e.mutable_card_voided();
    cases.push_back(e);
  }
  {
    v1::Envelope e = base();  // a message field present but all defaults, and defaults set
    auto* c = e.mutable_card_captured();
    c->mutable_amount();
    c->set_payment_id("");
    e.set_schema_version(0);
    e.mutable_occurred_at()->set_seconds(0);
    cases.push_back(e);
  }
  {
    v1::Envelope e = base();  // negative times, nanos, max unsigned, unknown enum value
    e.mutable_occurred_at()->set_seconds(-62135596800);
    e.mutable_occurred_at()->set_nanos(-1);
    e.set_schema_version(UINT32_MAX);
    auto* b = e.mutable_bank_transfer_received();
    b->set_rail(static_cast<v1::BankRail>(99));
    b->set_payment_id(std::string("p\0x", 3));  // bytes, not C strings
    cases.push_back(e);
  }
  {
    v1::Envelope e = base();  // bools and uint32 in bodies, two Money fields
    e.mutable_chargeback_resolved()->set_won(true);
    cases.push_back(e);
    v1::Envelope f = base();
    auto* o = f.mutable_bnpl_order_approved();
    o->set_instalments(4);
    o->mutable_amount()->set_currency("USD");
    o->mutable_amount()->set_amount("10.00");
    o->mutable_fee()->set_amount("0.30");
    cases.push_back(f);
  }
  {
    // Unknown fields (from a newer producer) on the envelope, the body, a Money and the
    // Timestamp, of every wire type, numbers out of order.
    v1::Envelope e = base();
    auto* c = e.mutable_card_refunded();
    c->set_payment_id("p1");
    c->mutable_amount()->set_currency("BRL");
    auto add_unknown = [](pb::Message* m) {
      pb::UnknownFieldSet* u = m->GetReflection()->MutableUnknownFields(m);
      u->AddVarint(90, 7);
      u->AddLengthDelimited(60, "future");
      u->AddFixed32(70, 5);
      u->AddFixed64(61, 6);
      pb::UnknownFieldSet* g = u->AddGroup(80);
      g->AddVarint(2, 1);
      g->AddLengthDelimited(1, "in group");
      u->AddVarint(60, 3);  // same number as an earlier one: stable order kept
    };
    add_unknown(&e);
    add_unknown(c);
    add_unknown(c->mutable_amount());
    add_unknown(e.mutable_occurred_at());
    cases.push_back(e);
  }
  for (const v1::Envelope& e : cases) {
    EXPECT_EQ(fast(e), by_reflection(e)) << e.ShortDebugString();
  }
  // The hand-made first case, written out: "plc1" then the envelope's terminating be32(0).
  EXPECT_EQ(fast(cases[0]), std::string("plc1\0\0\0\0", 8));
}

// The fingerprint is the first 128 bits of SHA-256 (FIPS 180-2 test vector: SHA-256("abc") =
// ba7816bf8f01cfea 414140de5dae2223 ...), the same on every call of a thread (the digest
// context is reused across calls) and on another thread.
TEST(CanonicalFast, FingerprintIsSha256PrefixOnEveryCallAndThread) {
  const projections::Fingerprint abc{0xba7816bf8f01cfeaULL, 0x414140de5dae2223ULL};
  EXPECT_EQ(projections::content_fingerprint("abc"), abc);
  EXPECT_NE(projections::content_fingerprint("abd"), abc);
  EXPECT_EQ(projections::content_fingerprint("abc"), abc);
  projections::Fingerprint other;
  std::thread([&] { other = projections::content_fingerprint("abc"); }).join();
  EXPECT_EQ(other, abc);
}

}  // namespace
}  // namespace payledger::testing
