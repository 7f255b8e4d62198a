// FX quotes (issue 10): fx_quote_locked is kept per merchant and id, moves no money, and bad
// quotes are rejected with a code and a reason, leaving nothing behind; the fold stores
// quotes, finds them again after a restart, and the digest covers them.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <string>
#include <vector>

#include "events/codec.h"
#include "events/embedded_log.h"
#include "ledger/rules.h"
#include "projections/fold.h"
#include "projections/queries.h"
#include "projections/store.h"
#include "test_util.h"

namespace payledger::testing {
namespace {

// 2026-01-01T00:00:00Z is json_event's default occurred_at; this quote expires 15 minutes on.
std::string quote(const std::string& id, const std::string& pair, const std::string& rate,
                  const std::string& expires = "2026-01-01T00:15:00Z",
                  const std::string& event_id = "lock-1") {
  return fmt::format(R"({{"event_id":"{}","fx_quote_locked":{{"quote_id":"{}","pair":"{}",)"
                     R"("rate":"{}","expires_at":"{}"}}}})",
                     event_id, id, pair, rate, expires);
}

std::string code_of(const Status& s) {
  return s.ok() ? "ok" : std::string(code_name(s.error().code));
}

TEST(FxQuote, ALockedQuoteIsKeptAndMovesNoMoney) {
  MemoryLedger l;
  ASSERT_EQ(code_of(l.apply(json_event(quote("q1", "USD/BRL", "5.4321")))), "ok");
  ASSERT_EQ(l.quotes.size(), 1u);
  const ledger::FxQuote& q = l.quotes.begin()->second;
  // 2026-01-01T00:00:00Z = 1767225600 s; expiry 900 s later.
  EXPECT_EQ(q, (ledger::FxQuote{"USD/BRL", "5.4321", 1767225600, 1767226500, ""}));
  EXPECT_TRUE(l.balances.empty()) << "a quote lock posts nothing";
}

TEST(FxQuote, BadQuotesAreRejectedWithAReasonAndLeaveNothing) {
  struct Case {
    std::string json, code, reason_part;
  };
  const Case cases[] = {
      {quote("q1", "BRL/USD", "0.18"), "malformed", "use USD/BRL"},
      {quote("q1", "USD/XYZ", "1.5"), "unknown_asset", "XYZ"},
      {quote("q1", "USD/USD", "1"), "malformed", "twice"},
      {quote("q1", "", "5.4"), "missing_field", "fx_quote_locked.pair"},
      {quote("q1", "USD/BRL", "0"), "non_positive_amount", "greater than zero"},
      {quote("q1", "USD/BRL", "0.000"), "non_positive_amount", "greater than zero"},
      {quote("q1", "USD/BRL", "-5.4"), "non_positive_amount", "greater than zero"},
      {quote("q1", "USD/BRL", "5.4321000000000000001"), "bad_amount", "more than 18 decimals"},
      {quote("q1", "USD/BRL", "five"), "bad_amount", "fx_quote_locked.rate"},
      {quote("q1", "USD/BRL", "."), "bad_amount", "fx_quote_locked.rate"},
      {quote("q1", "USD/BRL", "-0.000000000000000001"), "non_positive_amount", "greater than"},
      {quote("q1", "USD/BRL", "-0.0000000000000000001"), "bad_amount", "more than 18 decimals"},
      {quote("q1", "USD/BRL", "5.4", "2026-01-01T00:00:00Z"), "expired", "never be usable"},
      {quote("q1", "USD/BRL", "5.4", "2025-12-31T23:00:00Z"), "expired", "never be usable"},
      {quote("bad id!", "USD/BRL", "5.4"), "malformed", "quote_id"},
  };
  for (const Case& c : cases) {
    MemoryLedger l;
    Status s = l.apply(json_event(c.json));
    ASSERT_FALSE(s.ok()) << c.json;
    EXPECT_EQ(code_name(s.error().code), c.code) << c.json << ": " << s.error().reason;
    EXPECT_NE(s.error().reason.find(c.reason_part), std::string::npos)
        << c.json << ": " << s.error().reason;
    EXPECT_TRUE(l.quotes.empty()) << c.json;
  }
}

TEST(FxQuote, AQuoteIdIsLockedOncePerMerchant) {
  MemoryLedger l;
  ASSERT_EQ(code_of(l.apply(json_event(quote("q1", "USD/BRL", "5.4321")))), "ok");
  // Another event locking q1 again at another rate: rejected, the first quote stands.
  std::string again = quote("q1", "USD/BRL", "5.5", "2026-01-01T00:15:00Z", "lock-2");
  Status s = l.apply(json_event(again));
  EXPECT_EQ(code_of(s), "duplicate_business_id") << again;
  EXPECT_EQ(l.quotes.begin()->second.rate, "5.4321");
  // Another merchant may use the same quote id.
  std::string other = R"({"merchant_id":"m2",)" + quote("q1", "USD/BRL", "5.5").substr(1);
  EXPECT_EQ(code_of(l.apply(json_event(other))), "ok") << other;
  EXPECT_EQ(l.quotes.size(), 2u);
}

// Through the fold: the quote is stored, read back after a restart (a second lock of the
// same id is then rejected from the store, not from memory), and changes the digest.
TEST(FxQuote, TheFoldStoresQuotesAndFindsThemAfterARestart) {
  TempDir dir;
  events::EmbeddedLogOptions o;
  o.partitions = 2;
  o.sync = false;
  auto log = events::EmbeddedLog::open(dir.path() + "/log", o).value();
  auto record = [](const std::string& json) {
    v1::Envelope e = json_event(json);
    return events::event_record(e);
  };
  ASSERT_TRUE(log->append(std::vector{record(quote("q1", "USD/BRL", "5.4321"))}).ok());
  projections::FoldOptions fo;
  fo.sync = false;
  std::string digest_with_quote;
  {
    auto store = projections::Store::open(dir.path() + "/projections", false).value();
    auto stats = projections::fold(*store, *log, fo);
    ASSERT_TRUE(stats.ok()) << stats.error().reason;
    EXPECT_EQ(stats->applied, 1u);
    digest_with_quote = projections::projection_digest(*store).value();
  }
  std::string again = quote("q1", "USD/BRL", "5.5", "2026-01-01T00:15:00Z", "lock-2");
  ASSERT_TRUE(log->append(std::vector{record(again)}).ok());
  auto store = projections::Store::open(dir.path() + "/projections", false).value();
  auto stats = projections::fold(*store, *log, fo);
  ASSERT_TRUE(stats.ok()) << stats.error().reason;
  EXPECT_EQ(stats->applied, 0u);
  EXPECT_EQ(stats->rejected, 1u) << "the second lock of q1 must be found in the store";
  auto rejects = projections::list_rejects(*store, 0).value();
  ASSERT_EQ(rejects.size(), 1u);
  EXPECT_EQ(rejects[0].code, Code::kDuplicateBusinessId);
  // The digest covers the quote: the same log without it digests differently.
  v1::Envelope other = json_event(quote("q1", "USD/BRL", "5.4322"));
  EXPECT_NE(embedded_digest({record(quote("q1", "USD/BRL", "5.4321"))}, 2),
            embedded_digest({events::event_record(other)},
                            2));
  EXPECT_EQ(embedded_digest({record(quote("q1", "USD/BRL", "5.4321"))}, 2), digest_with_quote);
}

}  // namespace
}  // namespace payledger::testing
