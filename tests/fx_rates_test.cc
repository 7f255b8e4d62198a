// Published FX rates (issue 10): fx_rate_published is reference data, appended to every
// partition under the broadcast key and kept per partition, pair and as-of; bad publications
// are rejected with a code and a reason, leaving nothing behind; the fold finds the latest
// rate at or before a moment from memory or from the store (after restarts and cache drops).
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "events/codec.h"
#include "ledger/rules.h"
#include "projections/queries.h"
#include "test_util.h"
#include "testlib.h"

namespace payledger::testing {
namespace {

// 2026-01-01T00:00:00Z = 1767225600 s.
constexpr int64_t kDay0 = 1767225600;

// A publication at occurred_at `published_s`, as of `as_of_s`; rates in `fields` as JSON.
std::string rate_json(const std::string& event_id, const std::string& pair,
                      const std::string& fields, int64_t as_of_s, int64_t published_s,
                      const std::string& source = "ECB") {
  google::protobuf::Timestamp as_of, at;
  as_of.set_seconds(as_of_s);
  at.set_seconds(published_s);
  return fmt::format(R"({{"event_id":"{}","occurred_at":"{}","fx_rate_published":)"
                     R"({{"pair":"{}",{}"source":"{}","as_of":"{}"}}}})",
                     event_id, google::protobuf::util::TimeUtil::ToString(at), pair,
                     fields.empty() ? "" : fields + ",", source,
                     google::protobuf::util::TimeUtil::ToString(as_of));
}

std::string code_of(const Status& s) {
  return s.ok() ? "ok" : std::string(code_name(s.error().code));
}

TEST(FxRate, APublishedRateIsKeptAsGivenAndMovesNoMoney) {
  MemoryLedger l;
  std::string json = rate_json("r1", "USD/BRL", R"("mid":"5.43210","bid":"5.43","ask":"5.44")",
                               kDay0 - 3600, kDay0);
  ASSERT_EQ(code_of(l.apply(json_event(json))), "ok") << json;
  ASSERT_EQ(l.rates.size(), 1u);
  // As given, trailing zero included; as-of one hour before the publication.
  EXPECT_EQ(l.rates.begin()->second,
            (ledger::FxRate{"USD/BRL", kDay0 - 3600, "5.43210", "5.43", "5.44", "ECB", "r1"}));
  EXPECT_TRUE(l.balances.empty()) << "a rate publication posts nothing";
}

TEST(FxRate, BadPublicationsAreRejectedWithAReasonAndLeaveNothing) {
  struct Case {
    std::string fields, pair, code, reason_part;
    int64_t as_of = kDay0 - 60;
    std::string source = "ECB";
  };
  const Case cases[] = {
      {R"("mid":"0.18")", "BRL/USD", "malformed", "use USD/BRL"},
      {R"("mid":"1.5")", "USD/XYZ", "unknown_asset", "XYZ"},
      {R"("mid":"1")", "USD/USD", "malformed", "twice"},
      {R"("mid":"5.4")", "", "missing_field", "fx_rate_published.pair"},
      {R"("mid":"0")", "USD/BRL", "non_positive_amount", "greater than zero"},
      {R"("mid":"-5.4")", "USD/BRL", "non_positive_amount", "fx_rate_published.mid"},
      {R"("bid":"0","ask":"5.4")", "USD/BRL", "non_positive_amount", "fx_rate_published.bid"},
      {R"("mid":"5.4321000000000000001")", "USD/BRL", "bad_amount", "more than 18 decimals"},
      {R"("mid":"5,43")", "USD/BRL", "bad_amount", "fx_rate_published.mid"},
      {R"("ask":"5.44")", "USD/BRL", "missing_field", "bid (ask given without it)"},
      {R"("bid":"5.43")", "USD/BRL", "missing_field", "ask (bid given without it)"},
      {"", "USD/BRL", "missing_field", "mid (or bid and ask)"},
      {R"("bid":"5.45","ask":"5.44")", "USD/BRL", "malformed", "bid 5.45 is above ask 5.44"},
      // 5.4 < 5.43: the mid below the bid; 5.450 > 5.44 above the ask.
      {R"("mid":"5.4","bid":"5.43","ask":"5.44")", "USD/BRL", "malformed", "outside bid"},
      {R"("mid":"5.450","bid":"5.43","ask":"5.44")", "USD/BRL", "malformed", "outside bid"},
      // One second after the publication itself.
      {R"("mid":"5.4")", "USD/BRL", "malformed", "as_of is after occurred_at", kDay0 + 1},
      {R"("mid":"5.4")", "USD/BRL", "missing_field", "fx_rate_published.source", kDay0 - 60, ""},
      {R"("mid":"5.4")", "USD/BRL", "malformed", "source 'E C B'", kDay0 - 60, "E C B"},
  };
  for (const Case& c : cases) {
    MemoryLedger l;
    std::string json = rate_json("r1", c.pair, c.fields, c.as_of, kDay0, c.source);
    Status s = l.apply(json_event(json));
    ASSERT_FALSE(s.ok()) << json;
    EXPECT_EQ(code_name(s.error().code), c.code) << json << ": " << s.error().reason;
    EXPECT_NE(s.error().reason.find(c.reason_part), std::string::npos)
        << json << ": " << s.error().reason;
    EXPECT_TRUE(l.rates.empty()) << json;
  }
  // Equal bid and ask, and a mid on either edge, are fine.
  MemoryLedger l;
  EXPECT_EQ(code_of(l.apply(json_event(rate_json(
                "r1", "USD/BRL", R"("mid":"5.44","bid":"5.43","ask":"5.440")", kDay0, kDay0)))),
            "ok");
  // No as-of, and a merchant named on reference data.
  v1::Envelope no_as_of = json_event(rate_json("r2", "USD/JPY", R"("mid":"150")", 0, kDay0));
  no_as_of.mutable_fx_rate_published()->clear_as_of();
  EXPECT_EQ(code_of(l.apply(no_as_of)), "missing_field");
  v1::Envelope with_merchant = json_event(rate_json("r3", "USD/JPY", R"("mid":"150")", 0, kDay0));
  with_merchant.set_merchant_id("m1");
  Status s = l.apply(with_merchant);
  EXPECT_EQ(code_of(s), "malformed");
  EXPECT_NE(s.error().reason.find("names none"), std::string::npos) << s.error().reason;
  EXPECT_EQ(l.rates.size(), 1u);
}

TEST(FxRate, OnePublicationPerPairAndAsOf) {
  MemoryLedger l;
  ASSERT_EQ(code_of(l.apply(json_event(rate_json("r1", "USD/BRL", R"("mid":"5.4")", kDay0,
                                                 kDay0)))),
            "ok");
  Status s = l.apply(json_event(rate_json("r2", "USD/BRL", R"("mid":"5.5")", kDay0, kDay0 + 5)));
  EXPECT_EQ(code_of(s), "duplicate_business_id");
  EXPECT_NE(s.error().reason.find("(event r1)"), std::string::npos) << s.error().reason;
  // Another as-of (even an earlier one: a late publication) and another pair are fine.
  EXPECT_EQ(code_of(l.apply(json_event(rate_json("r3", "USD/BRL", R"("mid":"5.3")", kDay0 - 86400,
                                                 kDay0 + 5)))),
            "ok");
  EXPECT_EQ(code_of(l.apply(json_event(rate_json("r4", "USD/JPY", R"("mid":"150")", kDay0,
                                                 kDay0 + 5)))),
            "ok");
  EXPECT_EQ(l.rates.size(), 3u);
  EXPECT_EQ(l.rates.at({"USD/BRL", kDay0}).mid, "5.4") << "the first publication stands";
}

std::vector<projections::RateRow> all_rates(Books& books) {
  return projections::list_rates(projections::Stores{&books.store()}, "", std::nullopt, true)
      .value();
}

TEST(FxRate, APublicationReachesEveryPartitionAndIsKeptInEach) {
  Books books(3);
  books.append({json_event(rate_json("r1", "USD/BRL", R"("mid":"5.4321")", kDay0, kDay0))});
  // Three records, one per partition, under the broadcast key.
  for (uint32_t p = 0; p < 3; ++p) {
    EXPECT_EQ(books.log().end_offset(p).value(), 1u) << "partition " << p;
  }
  auto stats = books.fold();
  EXPECT_EQ(stats.applied, 3u);
  auto rows = all_rates(books);
  ASSERT_EQ(rows.size(), 3u);
  for (uint32_t p = 0; p < 3; ++p) {
    EXPECT_EQ(rows[p].partition, p);
    EXPECT_EQ(rows[p].rate,
              (ledger::FxRate{"USD/BRL", kDay0, "5.4321", "", "", "ECB", "r1"}));
  }
  // The digest covers rates: another mid, another digest.
  Books other(3);
  other.append({json_event(rate_json("r1", "USD/BRL", R"("mid":"5.4322")", kDay0, kDay0))});
  other.fold();
  EXPECT_NE(books.digest(), other.digest());
}

TEST(FxRate, ARateInOnePartitionOrAMerchantEventEverywhereIsRejected) {
  Books books(3);
  v1::Envelope rate = json_event(rate_json("r1", "USD/BRL", R"("mid":"5.4")", kDay0, kDay0));
  // A rate written under a merchant's key (another producer): only that partition has it.
  books.append_raw("m1", events::encode(rate), events::RecordFormat::kProtobuf);
  // A merchant's event under the broadcast key: every partition has it.
  v1::Envelope lock = json_event(
      R"({"event_id":"lock-1","fx_quote_locked":{"quote_id":"q1","pair":"USD/BRL",)"
      R"("rate":"5.4","expires_at":"2026-01-01T00:15:00Z"}})");
  books.append_raw(std::string(events::kBroadcastKey), events::encode(lock),
                   events::RecordFormat::kProtobuf);
  auto stats = books.fold();
  EXPECT_EQ(stats.applied, 0u);
  EXPECT_EQ(stats.rejected, 4u);  // the rate once, the lock in each of the 3 partitions
  auto rejects = projections::list_rejects(books.store(), 0).value();
  ASSERT_EQ(rejects.size(), 4u);
  int rate_rejects = 0, lock_rejects = 0;
  for (const auto& r : rejects) {
    EXPECT_EQ(r.code, Code::kMalformed);
    if (r.reason.find("reached only partition") != std::string::npos) ++rate_rejects;
    if (r.reason.find("reference data (fx_rate_published, settlement_run_started) only") !=
        std::string::npos) {
      ++lock_rejects;
    }
  }
  EXPECT_EQ(rate_rejects, 1);
  EXPECT_EQ(lock_rejects, 3);
  EXPECT_TRUE(all_rates(books).empty());
}

// Partitions whose copies differ are told apart: here a store where partition 1 holds one
// more USD/BRL rate than partition 0 (written behind the fold's back).
TEST(FxRate, CopiesThatDifferBetweenPartitionsAreCounted) {
  Books books(2);
  books.append({json_event(rate_json("r1", "USD/BRL", R"("mid":"5.4")", kDay0, kDay0)),
                json_event(rate_json("r2", "USD/JPY", R"("mid":"150")", kDay0, kDay0))});
  books.fold();
  auto agree = projections::rates_by_pair(all_rates(books));
  ASSERT_EQ(agree.size(), 2u);
  EXPECT_EQ(agree[0].pair, "USD/BRL");
  EXPECT_EQ(agree[0].agreeing, 2u);
  EXPECT_EQ(agree[1].agreeing, 2u);
  projections::StoreBatch wb(books.store());
  std::string key;
  projections::rate_key(&key, 1, "USD/BRL", kDay0 + 60);
  wb.put(projections::Cf::kFxRates, key,
         projections::encode_rate({"USD/BRL", kDay0 + 60, "5.5", "", "", "ECB", "r9"}));
  ASSERT_TRUE(books.store().write(wb, false).ok());
  auto differ = projections::rates_by_pair(all_rates(books));
  ASSERT_EQ(differ.size(), 2u);
  EXPECT_EQ(differ[0].partition, 0u);
  EXPECT_EQ(differ[0].rates.size(), 1u);
  EXPECT_EQ(differ[0].agreeing, 1u) << "partition 1 holds another history of USD/BRL";
  EXPECT_EQ(differ[1].agreeing, 2u);
}

// Property: publications of two pairs at random as-of times (many repeated with another
// event id), appended in chunks and folded with restarts and a cache that is dropped after
// nearly every batch, keep exactly the first publication of each (pair, as-of) in every
// partition; every later one is rejected as a duplicate, found in memory or in the store.
TEST(FxRate, TheFirstPublicationOfEachAsOfWinsWhateverTheCacheHolds) {
  for (size_t cache_max : {size_t{1}, size_t{262144}}) {
    Books books(2);
    std::mt19937_64 rng(42);
    std::map<std::pair<std::string, int64_t>, std::string> first;  // (pair, as-of) -> event
    uint64_t duplicates = 0;
    int next_id = 0;
    for (int chunk = 0; chunk < 6; ++chunk) {
      std::vector<v1::Envelope> events;
      for (int i = 0; i < 40; ++i) {
        std::string pair = rng() % 2 == 0 ? "USD/BRL" : "EUR/USD";
        int64_t as_of = kDay0 + static_cast<int64_t>(rng() % 30) * 86400;
        std::string id = fmt::format("r{}", next_id++);
        std::string mid = fmt::format("{}.{}", 1 + rng() % 6, rng() % 10000);
        events.push_back(json_event(
            rate_json(id, pair, fmt::format(R"("mid":"{}")", mid), as_of, kDay0 + 40 * 86400)));
        if (!first.try_emplace({pair, as_of}, id).second) ++duplicates;
      }
      books.append(events);
      projections::FoldOptions o;
      o.payment_cache_max = cache_max;
      o.batch_events_max = 7;  // many commits, so the cache is dropped between lookups
      books.fold(o);
      books.reopen_store();
    }
    auto rows = all_rates(books);
    ASSERT_EQ(rows.size(), 2 * first.size()) << "cache_max " << cache_max;
    for (uint32_t p = 0; p < 2; ++p) {
      auto it = first.begin();
      for (const auto& row : rows) {
        if (row.partition != p) continue;
        ASSERT_NE(it, first.end());
        EXPECT_EQ(row.rate.pair, it->first.first);
        EXPECT_EQ(row.rate.as_of_s, it->first.second);
        EXPECT_EQ(row.rate.event_id, it->second) << "cache_max " << cache_max;
        ++it;
      }
    }
    auto rejects = projections::list_rejects(books.store(), 0).value();
    EXPECT_EQ(rejects.size(), 2 * duplicates) << "cache_max " << cache_max;
    for (const auto& r : rejects) EXPECT_EQ(r.code, Code::kDuplicateBusinessId);
    EXPECT_GT(duplicates, 20u) << "the draw must repeat as-of times for this test to mean much";
  }
}

}  // namespace
}  // namespace payledger::testing
