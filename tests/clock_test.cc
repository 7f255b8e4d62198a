// Deadlines fired from the log's own event time (issue 8 item 6): a partition's watermark is
// the max occurred_at folded there; an event that moves it past a payment's deadline first
// books that payment's expiry. No wall clock, no scheduler.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "events/codec.h"
#include "events/embedded_log.h"
#include "ledger/deadlines.h"
#include "projections/fold.h"
#include "projections/queries.h"
#include "testlib.h"

namespace payledger::testing {
namespace {

using projections::FoldOptions;
using projections::Store;

v1::Envelope at(v1::Envelope e, const std::string& merchant, const std::string& when) {
  e.set_merchant_id(merchant);
  v1::Envelope t = json_event(R"({"event_id":"t","occurred_at":")" + when + R"("})");
  *e.mutable_occurred_at() = t.occurred_at();
  return e;
}

v1::Envelope auth(const std::string& id, const std::string& merchant, const std::string& payment,
                  const std::string& amount, const std::string& when,
                  const std::string& expires = "") {
  v1::Envelope e = at(card_authorised(id, payment, amount), merchant, when);
  if (!expires.empty()) {
    v1::Envelope t = json_event(R"({"event_id":"t","occurred_at":")" + expires + R"("})");
    *e.mutable_card_authorised()->mutable_expires_at() = t.occurred_at();
  }
  return e;
}

TEST(Clock, CardHoldStaysPendingUntilALaterEventOnItsPartitionPassesTheDeadline) {
  Books books(1);  // one partition: m2's events move m1's clock
  books.append({auth("a1", "m1", "p1", "100.00", "2026-01-01T00:00:00Z", "2026-01-08T00:00:00Z"),
                auth("b1", "m2", "q1", "5.00", "2026-01-07T23:59:59Z")});
  books.fold();
  // One second before the deadline nothing lapses: the whole 100.00 is still held.
  EXPECT_EQ(books.balance("merchant:m1:payable", "USD"), "0.00/100.00");
  EXPECT_EQ(books.payment("m1", "p1")->status, ledger::PaymentStatus::kAuthorised);

  books.reopen_store();  // the watermark and the deadline index survive a restart
  books.append({auth("b2", "m2", "q2", "7.00", "2026-01-08T00:00:00Z")});
  auto stats = books.fold();
  EXPECT_EQ(stats.deadlines_fired, 1u);
  // Released by hand: pending 100.00 - 100.00 = 0.00; nothing posted.
  EXPECT_EQ(books.balance("merchant:m1:payable", "USD"), "0.00/0.00");
  // m2's holds (5.00 + 7.00 = 12.00) are untouched; the clearing pending is m2's only.
  EXPECT_EQ(books.balance("psp:clearing:card", "USD"), "0.00/12.00");
  EXPECT_EQ(books.payment("m1", "p1")->status, ledger::PaymentStatus::kExpired);
  EXPECT_TRUE(books.rejects().empty());
  // The release is booked under the synthetic id, at the record that moved the watermark.
  auto lines = projections::statement(books.store(), "merchant:m1:payable", 0).value();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1].line.event_id, "deadline:p1:card_authorisation");
  EXPECT_EQ(lines[1].line.offset, 2u);  // b2's offset
  EXPECT_EQ(lines[1].line.occurred_at_s, 1767830400);  // 2026-01-08T00:00:00Z, the deadline
}

TEST(Clock, AnAuthorisationWithoutExpiryLapsesAfterSevenDaysLessWhatWasCaptured) {
  Books books(1);
  v1::Envelope cap = at(card_captured("c1", "p1", "60.00"), "m1", "2026-01-02T00:00:00Z");
  books.append({auth("a1", "m1", "p1", "100.00", "2026-01-01T00:00:00Z"), cap,
                auth("b1", "m2", "q1", "5.00", "2026-01-08T00:00:00Z")});
  auto stats = books.fold();
  EXPECT_EQ(stats.deadlines_fired, 1u);
  // Posted 60.00 (the capture); pending 100.00 - 60.00 captured - 40.00 released = 0.00.
  EXPECT_EQ(books.balance("merchant:m1:payable", "USD"), "60.00/0.00");
  auto p = books.payment("m1", "p1");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->status, ledger::PaymentStatus::kExpired);
  EXPECT_EQ(p->expires_at_s, 1767225600 + ledger::kCardAuthorisationDefaultSeconds);
}

TEST(Clock, ACaptureFoldedAfterTheAutoExpiryIsRejectedAsExpired) {
  Books books(1);
  books.append({auth("a1", "m1", "p1", "100.00", "2026-01-01T00:00:00Z", "2026-01-08T00:00:00Z"),
                auth("b1", "m2", "q1", "5.00", "2026-01-09T00:00:00Z"),
                // A late event: it happened before the deadline but is folded after it fired.
                at(card_captured("c1", "p1", "10.00"), "m1", "2026-01-07T00:00:00Z")});
  auto stats = books.fold();
  EXPECT_EQ(stats.deadlines_fired, 1u);
  auto rejects = books.rejects();
  ASSERT_EQ(rejects.size(), 1u);
  EXPECT_EQ(rejects[0].event_id, "c1");
  EXPECT_EQ(rejects[0].code, Code::kExpired);
  EXPECT_EQ(books.balance("merchant:m1:payable", "USD"), "0.00/0.00");
}

TEST(Clock, AnExplicitExpiryAfterTheDeadlineFiredIsARecordedNoOp) {
  Books books(1);
  v1::Envelope expiry = envelope("x1");
  expiry.mutable_card_authorisation_expired()->set_payment_id("p1");
  books.append({auth("a1", "m1", "p1", "100.00", "2026-01-01T00:00:00Z", "2026-01-08T00:00:00Z"),
                at(expiry, "m1", "2026-01-08T00:30:00Z")});
  auto stats = books.fold();
  EXPECT_EQ(stats.deadlines_fired, 1u);  // x1 itself moved the watermark past the deadline
  EXPECT_EQ(stats.expiries_noop, 1u);
  EXPECT_EQ(stats.rejected, 0u);
  // Released once: pending 100.00 - 100.00 = 0.00 (a second release would show -100.00).
  EXPECT_EQ(books.balance("merchant:m1:payable", "USD"), "0.00/0.00");
  EXPECT_EQ(books.balance("psp:clearing:card", "USD"), "0.00/0.00");
  // Its id is consumed: the same id with other content is a conflicting duplicate.
  v1::Envelope reuse = at(envelope("x1"), "m1", "2026-01-08T01:00:00Z");
  reuse.mutable_card_voided()->set_payment_id("p1");
  books.append({reuse});
  EXPECT_EQ(books.fold().rejected, 1u);
  EXPECT_EQ(books.rejects().back().code, Code::kConflictingDuplicate);
}

TEST(Clock, AnUnpaidVoucherExpiresAtTheEndOfItsLocalDay) {
  Books books(1);
  // Konbini: expires_on 2026-01-07 ends at 2026-01-08 00:00 JST = 2026-01-07T15:00:00Z.
  v1::Envelope issued = json_event(
      R"({"event_id":"v1","merchant_id":"m1","occurred_at":"2026-01-05T00:00:00Z",)"
      R"("voucher_issued":{"payment_id":"k1","method":"VOUCHER_METHOD_KONBINI",)"
      R"("amount":{"currency":"JPY","amount":"3000"},"expires_on":"2026-01-07"}})");
  books.append({issued, auth("b1", "m2", "q1", "5.00", "2026-01-07T14:59:59Z")});
  books.fold();
  EXPECT_EQ(books.balance("merchant:m1:payable", "JPY"), "0/3000");
  books.append({auth("b2", "m2", "q2", "5.00", "2026-01-07T15:00:00Z")});
  EXPECT_EQ(books.fold().deadlines_fired, 1u);
  // Pending 3000 - 3000 released = 0; nothing posted.
  EXPECT_EQ(books.balance("merchant:m1:payable", "JPY"), "0/0");
  EXPECT_EQ(books.balance("psp:receivable:konbini", "JPY"), "0/0");
  // Paid after that: the customer's money, in suspense (the existing late-payment rule).
  v1::Envelope paid = at(envelope("v2"), "m1", "2026-01-08T00:00:00Z");
  paid.mutable_voucher_paid()->set_payment_id("k1");
  books.append({paid});
  books.fold();
  EXPECT_EQ(books.balance("psp:suspense:voucher-refunds", "JPY"), "3000/0");
  EXPECT_EQ(books.payment("m1", "k1")->status, ledger::PaymentStatus::kPaidLate);
}

TEST(Clock, LateEventsDoNotMoveTheWatermarkBack) {
  Books books(1);
  books.append({auth("a1", "m1", "p1", "100.00", "2026-01-01T00:00:00Z", "2026-01-08T00:00:00Z"),
                auth("b1", "m2", "q1", "5.00", "2026-01-07T00:00:00Z"),
                auth("b2", "m2", "q2", "5.00", "2026-01-02T00:00:00Z")});  // late, still folds
  auto stats = books.fold();
  EXPECT_EQ(stats.applied, 3u);
  EXPECT_EQ(stats.deadlines_fired, 0u);
  EXPECT_EQ(books.balance("merchant:m1:payable", "USD"), "0.00/100.00");
}

TEST(Clock, ALateHoldWhoseDeadlineHasPassedLapsesAtTheNextRecord) {
  Books books(1);
  // The watermark is already at Jan 20 when a hold from Jan 1 (deadline Jan 8) arrives.
  books.append({auth("b1", "m2", "q1", "5.00", "2026-01-20T00:00:00Z"),
                auth("a1", "m1", "p1", "100.00", "2026-01-01T00:00:00Z", "2026-01-08T00:00:00Z")});
  auto stats = books.fold();
  EXPECT_EQ(stats.deadlines_fired, 0u);  // nothing after it yet
  EXPECT_EQ(books.balance("merchant:m1:payable", "USD"), "0.00/100.00");
  // Any later record of the partition, even one that does not move the watermark, fires it.
  books.append({auth("b2", "m2", "q2", "7.00", "2026-01-19T00:00:00Z")});
  stats = books.fold();
  EXPECT_EQ(stats.deadlines_fired, 1u);
  // Released: pending 100.00 - 100.00 = 0.00.
  EXPECT_EQ(books.balance("merchant:m1:payable", "USD"), "0.00/0.00");
  EXPECT_EQ(books.payment("m1", "p1")->status, ledger::PaymentStatus::kExpired);
}

TEST(Clock, AnEventMoreThanAYearAfterItsPartitionsLatestIsRejectedAndTheClockStays) {
  Books books(1);
  books.append({auth("a1", "m1", "p1", "100.00", "2026-01-01T00:00:00Z", "2026-01-08T00:00:00Z"),
                auth("b1", "m2", "q1", "1.00", "2099-01-01T00:00:00Z"),    // a mistyped year
                auth("b2", "m2", "q2", "2.00", "2026-01-02T00:00:00Z")});
  auto stats = books.fold();
  EXPECT_EQ(stats.applied, 2u);
  EXPECT_EQ(stats.deadlines_fired, 0u);  // the hold is not expired by the bad clock
  EXPECT_EQ(books.balance("merchant:m1:payable", "USD"), "0.00/100.00");
  auto rejects = books.rejects();
  ASSERT_EQ(rejects.size(), 1u);
  EXPECT_EQ(rejects[0].code, Code::kClockSkew);
  EXPECT_EQ(rejects[0].event_id, "b1");
  // Within the bound the clock moves as before: 366 days later is still accepted.
  books.append({auth("b3", "m2", "q3", "3.00", "2027-01-02T00:00:00Z")});
  stats = books.fold();
  EXPECT_EQ(stats.applied, 1u);
  EXPECT_EQ(stats.deadlines_fired, 2u);  // p1 (Jan 8) and q2 (Jan 2 + 7 days)
  EXPECT_EQ(books.balance("merchant:m1:payable", "USD"), "0.00/0.00");  // 100.00 released
}

// Many merchants over 4 partitions and ~14 days: holds, vouchers and pay-by-bank payments, some
// resolved, most left to their deadlines.
std::vector<v1::Envelope> deadline_stream() {
  std::vector<v1::Envelope> out;
  const int64_t start = 1767225600;  // 2026-01-01T00:00:00Z
  for (int i = 0; i < 2000; ++i) {
    std::string merchant = fmt::format("m{}", i % 37);
    std::string id = fmt::format("e{}", i);
    std::string pay = fmt::format("p{}", i);
    v1::Envelope e = envelope(id, merchant);
    e.mutable_occurred_at()->set_seconds(start + i * 600);
    switch (i % 5) {
      case 0:
      case 1: {
        auto* b = e.mutable_card_authorised();
        b->set_payment_id(pay);
        b->mutable_amount()->set_currency("USD");
        b->mutable_amount()->set_amount(fmt::format("{}.00", 10 + i % 90));
        if (i % 2 == 0) b->mutable_expires_at()->set_seconds(start + i * 600 + 3 * 86400);
        break;
      }
      case 2: {
        auto* b = e.mutable_voucher_issued();
        b->set_payment_id(pay);
        b->set_method(v1::VOUCHER_METHOD_OXXO);
        b->mutable_amount()->set_currency("MXN");
        b->mutable_amount()->set_amount("250.00");
        b->set_expires_on(i < 1000 ? "2026-01-04" : "2026-01-10");
        break;
      }
      case 3: {
        auto* b = e.mutable_pay_by_bank_initiated();
        b->set_payment_id(pay);
        b->mutable_amount()->set_currency("GBP");
        b->mutable_amount()->set_amount("42.00");
        break;
      }
      case 4: {  // capture 5.00 of the hold authorised 4 events ago
        e.set_merchant_id(fmt::format("m{}", (i - 4) % 37));
        auto* b = e.mutable_card_captured();
        b->set_payment_id(fmt::format("p{}", i - 4));
        b->mutable_amount()->set_currency("USD");
        b->mutable_amount()->set_amount("5.00");
        break;
      }
    }
    out.push_back(std::move(e));
  }
  return out;
}

TEST(Clock, TheSameLogGivesTheSameBooksWhateverTheBatchReadSizeRestartOrRebuild) {
  Books books(4);
  books.append(deadline_stream());
  auto reference = books.fold();
  ASSERT_GT(reference.deadlines_fired, 100u);
  std::string digest = books.digest();

  struct Shape {
    size_t batch;
    size_t read;
  };
  for (Shape shape : {Shape{1, 1}, Shape{7, 3}, Shape{500, 64}, Shape{50000, 4096}}) {
    books.drop_store();
    FoldOptions o;
    o.batch_events_max = shape.batch;
    o.read_records_max = shape.read;
    auto stats = books.fold(o);
    EXPECT_EQ(stats.deadlines_fired, reference.deadlines_fired) << shape.batch << "/" << shape.read;
    EXPECT_EQ(books.digest(), digest) << "batch " << shape.batch << " read " << shape.read;
  }
  // Stopped and restarted several times (each run commits and reopens the store).
  books.drop_store();
  for (int run = 0; run < 6; ++run) {
    FoldOptions o;
    o.records_max = 377;
    o.batch_events_max = 100;
    books.fold(o);
    books.reopen_store();
  }
  books.fold();
  EXPECT_EQ(books.digest(), digest) << "resumed";
}

}  // namespace
}  // namespace payledger::testing
