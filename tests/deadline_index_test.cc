// The fold's in-memory deadline index (issue 9, "per-event path"): entries keyed by (deadline,
// merchant \0 payment) with the ids inline, spilling to the heap past 48 bytes. Deadlines must
// still fire in (deadline, merchant, payment) byte order — the order the deadlines CF holds
// them in — for short and long ids alike, across a restart (the index reloaded from the
// store), and a payment moved off its deadline must not fire.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "projections/fold.h"
#include "projections/queries.h"
#include "testlib.h"

namespace payledger::testing {
namespace {

v1::Envelope timed(v1::Envelope e, const std::string& merchant, const std::string& when) {
  e.set_merchant_id(merchant);
  v1::Envelope t = json_event(R"({"event_id":"t","occurred_at":")" + when + R"("})");
  *e.mutable_occurred_at() = t.occurred_at();
  return e;
}

v1::Envelope hold(const std::string& id, const std::string& merchant, const std::string& payment,
                  const std::string& expires) {
  v1::Envelope e = timed(card_authorised(id, payment, "10.00"), merchant, "2026-01-01T00:00:00Z");
  v1::Envelope t = json_event(R"({"event_id":"t","occurred_at":")" + expires + R"("})");
  *e.mutable_card_authorised()->mutable_expires_at() = t.occurred_at();
  return e;
}

TEST(DeadlineIndex, FiresInDeadlineMerchantPaymentOrderForShortAndLongIdsAcrossARestart) {
  const std::string long_id = "p-" + std::string(60, 'z');     // m1 \0 long_id: 65 bytes
  const std::string long_void = "p-" + std::string(70, 'v');   // voided before its deadline
  Books books(1);
  books.append({hold("a1", "m1", "p2", "2026-01-03T00:00:00Z"),
                hold("a2", "m1", long_id, "2026-01-03T00:00:00Z"),
                hold("a3", "m0", "p9", "2026-01-03T00:00:00Z"),
                hold("a4", "m1", "p1", "2026-01-02T23:59:59Z"),
                hold("a5", "m1", long_void, "2026-01-02T00:00:00Z")});
  books.append({timed(card_voided("v5", long_void), "m1", "2026-01-01T00:00:01Z")});
  EXPECT_EQ(books.fold().deadlines_fired, 0u);
  books.reopen_store();  // the index is rebuilt from the deadlines column family
  // Another merchant's hold (expiring 7 days on) moves the partition's clock past them all.
  books.append({timed(card_authorised("b1", "q1", "1.00"), "m9", "2026-01-04T00:00:00Z")});
  auto stats = books.fold();
  EXPECT_EQ(stats.deadlines_fired, 4u);  // the voided one is off the index
  EXPECT_EQ(stats.deadlines_failed, 0u);
  // The releases hit the card clearing account in firing order: p1 (earlier deadline), then
  // at 2026-01-03: m0/p9 before m1's ids, and "p-zzz…" before "p2" ('-' 0x2d < '2' 0x32).
  std::vector<std::string> fired;
  for (const auto& l : projections::statement(books.store(), "psp:clearing:card", 0).value()) {
    if (l.line.event_id.rfind("deadline:", 0) == 0) fired.push_back(l.line.event_id);
  }
  const std::string kind = ":card_authorisation";
  EXPECT_EQ(fired, (std::vector<std::string>{"deadline:p1" + kind, "deadline:p9" + kind,
                                             "deadline:" + long_id + kind, "deadline:p2" + kind}));
  EXPECT_EQ(books.payment("m1", long_id)->status, ledger::PaymentStatus::kExpired);
  EXPECT_EQ(books.payment("m1", long_void)->status, ledger::PaymentStatus::kVoided);
  // Pending: 5 x 10.00 held - 4 x 10.00 released - 10.00 voided + m9's 1.00 = 1.00.
  EXPECT_EQ(books.balance("psp:clearing:card", "USD"), "0.00/1.00");
  EXPECT_TRUE(books.rejects().empty());
}

}  // namespace
}  // namespace payledger::testing
