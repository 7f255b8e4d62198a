// Reconciliation against folded books (issue 12 items 4 and 7): the ledger's movements read
// from the journal (references are payment / payout / settlement ids), and a statement
// generated from the books with injected breaks reconciles to exactly those breaks. Every
// expected amount is written by hand, with its arithmetic in a comment.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "events/codec.h"
#include "events/embedded_log.h"
#include "projections/fold.h"
#include "projections/store.h"
#include "settlement/bank_statement.h"
#include "settlement/reconcile.h"
#include "tests/test_util.h"
#include "tools/bank_statement_gen.h"
#include "tools/query_stores.h"

namespace payledger {
namespace {

using ledger::Int128;
using settlement::BreakKind;
using testing::TempDir;

// 2025-01-02 is day 20090 since 1970-01-01 (python: (date(2025,1,2)-date(1970,1,1)).days).
constexpr int64_t kJan2 = 20090;

std::string ev(const std::string& id, const std::string& at, const std::string& body) {
  return "{\"event_id\":\"" + id + "\",\"merchant_id\":\"m1\",\"occurred_at\":\"" + at + "\"," +
         body + "}";
}
std::string scheme(const std::string& id, const std::string& amount) {
  return "\"card_scheme_settlement_received\":{\"settlement_id\":\"" + id +
         "\",\"scheme\":\"visa\",\"amount\":{\"currency\":\"EUR\",\"amount\":\"" + amount + "\"}}";
}
std::string payout(const std::string& id, const std::string& amount) {
  return "\"payout_sent\":{\"payout_id\":\"" + id +
         "\",\"amount\":{\"currency\":\"EUR\",\"amount\":\"" + amount + "\"}}";
}

// psp:bank:operating in EUR moves six times from 2025-01-02 to 01-04 (index: reference,
// amount, day): 0 visa-1 +250.00 (2nd), 1 visa-2 +100.00 (3rd), 2 po1 -40.00 (3rd),
// 3 visa-3 +75.00 (4th), 4 visa-4 +30.00 (4th), 5 po2 -20.00 (4th). The capture on the 1st
// gives m1 the payable the payouts need; it does not touch the bank. The ledger's balance:
// 0.00 before the 2nd, 250 + 100 - 40 + 75 + 30 - 20 = 395.00 at the end of the 4th.
class ReconcileBooks : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<std::string> lines = {
        ev("a1", "2025-01-01T08:00:00Z",
           "\"card_authorised\":{\"payment_id\":\"p1\",\"amount\":{\"currency\":\"EUR\","
           "\"amount\":\"100.00\"},\"expires_at\":\"2025-02-01T00:00:00Z\"}"),
        ev("c1", "2025-01-01T08:05:00Z",
           "\"card_captured\":{\"payment_id\":\"p1\",\"amount\":{\"currency\":\"EUR\","
           "\"amount\":\"100.00\"}}"),
        ev("s1", "2025-01-02T09:00:00Z", scheme("visa-1", "250.00")),
        ev("s2", "2025-01-03T10:00:00Z", scheme("visa-2", "100.00")),
        ev("o1", "2025-01-03T12:00:00Z", payout("po1", "40.00")),
        ev("s3", "2025-01-04T09:00:00Z", scheme("visa-3", "75.00")),
        ev("s4", "2025-01-04T11:00:00Z", scheme("visa-4", "30.00")),
        ev("o2", "2025-01-04T12:00:00Z", payout("po2", "20.00")),
    };
    std::vector<events::AppendRecord> records;
    for (const auto& l : lines) records.push_back(events::event_record(testing::json_event(l)));
    events::EmbeddedLogOptions lo;
    lo.partitions = 1;
    lo.sync = false;
    log_ = events::EmbeddedLog::open(dir_.path() + "/log", lo).value();
    ASSERT_TRUE(log_->append(records).ok());
    store_ = projections::Store::open(dir_.path() + "/projections", false).value();
    projections::FoldOptions fo;
    fo.sync = false;
    auto stats = projections::fold(*store_, *log_, fo);
    ASSERT_TRUE(stats.ok()) << stats.error().reason;
    ASSERT_EQ(stats->applied, 8u);
  }
  projections::Stores stores() { return {store_.get()}; }
  tools::BookSide book() {
    auto b = tools::load_book_side(stores(), "psp:bank:operating",
                                   ledger::Asset::find("EUR").value(), kJan2, kJan2 + 2, 2);
    EXPECT_TRUE(b.ok()) << (b.ok() ? "" : b.error().reason);
    return b.ok() ? *b : tools::BookSide{};
  }
  tools::StatementGenOptions options(uint32_t breaks = 1) {
    tools::StatementGenOptions o;
    o.account = "psp:bank:operating";
    o.currency = "EUR";
    o.from_day = kJan2;
    o.to_day = kJan2 + 2;
    o.breaks = breaks;
    o.seed = 7;
    return o;
  }
  settlement::Report reconcile_text(const std::string& xml) {
    auto st = settlement::parse_statement(xml, "gen.xml");
    EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().reason);
    auto r = tools::reconcile_against_books(stores(), *st, "psp:bank:operating", 2, {});
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().reason);
    return r.ok() ? *r : settlement::Report{};
  }

  TempDir dir_;
  std::unique_ptr<events::EmbeddedLog> log_;
  std::unique_ptr<projections::Store> store_;
};

TEST_F(ReconcileBooks, MovementsComeFromTheJournalWithBusinessReferences) {
  tools::BookSide b = book();
  ASSERT_EQ(b.movements.size(), 6u);
  std::vector<std::string> refs;
  for (const auto& m : b.movements) refs.push_back(m.reference);
  EXPECT_EQ(refs, (std::vector<std::string>{"visa-1", "visa-2", "po1", "visa-3", "visa-4", "po2"}));
  EXPECT_EQ(b.movements[2].amount, Int128(-4000));  // payout po1: -40.00
  EXPECT_EQ(b.movements[2].event_id, "o1");
  EXPECT_EQ(b.opening, Int128(0));
  EXPECT_EQ(b.closing, Int128(39500));  // 250 + 100 - 40 + 75 + 30 - 20 = 395.00
  // The 3rd only: opening 250.00 (the 2nd's), closing 250 + 100 - 40 = 310.00.
  auto day3 = tools::load_book_side(stores(), "psp:bank:operating",
                                    ledger::Asset::find("EUR").value(), kJan2 + 1, kJan2 + 1, 0);
  ASSERT_TRUE(day3.ok());
  EXPECT_EQ(day3->opening, Int128(25000));
  EXPECT_EQ(day3->closing, Int128(31000));
  EXPECT_EQ(day3->movements.size(), 2u);
}

TEST_F(ReconcileBooks, GeneratedStatementReportsExactlyTheInjectedBreaks) {
  tools::BreakPlan plan;
  plan.dropped = {1};                // visa-2 +100.00: missing_in_bank
  plan.amount_off = {2};             // po1 -40.00, the bank shows -40.01: amount_mismatch
  plan.shifted = {3};                // visa-3 +75.00, value date the 5th: within the tolerance
  plan.fee_days = {kJan2 + 1};       // a -1.00 fee on the 3rd: missing_in_ledger
  plan.reversal_days = {kJan2 + 2};  // +25.00 and its reversal on the 4th
  tools::GeneratedStatement g = tools::build_statement(book(), ledger::Asset::find("EUR").value(),
                                                       options(), kJan2, kJan2 + 2, plan);
  // 6 movements - 1 dropped + 1 fee + 2 for the reversal pair = 8 entries.
  EXPECT_EQ(g.movements, 6u);
  EXPECT_EQ(g.entries, 8u);
  EXPECT_EQ(g.opening, Int128(0));
  // 0 + 250.00 - 40.01 - 1.00 + 75.00 + 30.00 - 20.00 + 25.00 - 25.00 = 293.99
  EXPECT_EQ(g.closing, Int128(29399));
  EXPECT_EQ(g.closing_difference(), Int128(-10101));  // 293.99 - 395.00 = -101.01

  settlement::Report r = reconcile_text(g.xml);
  auto j = settlement::report_json(r);
  const auto& s = j["summary"];
  EXPECT_EQ(s["matched_exact"]["count"], 3);          // visa-1, visa-4, po2
  EXPECT_EQ(s["matched_exact"]["amount"], "260.00");  // 250 + 30 - 20
  EXPECT_EQ(s["matched_within_tolerance"]["count"], 1);
  EXPECT_EQ(s["matched_within_tolerance"]["amount"], "75.00");
  EXPECT_EQ(s["missing_in_bank"]["count"], 1);
  EXPECT_EQ(s["missing_in_bank"]["amount"], "100.00");
  EXPECT_EQ(s["missing_in_ledger"]["count"], 1);
  EXPECT_EQ(s["missing_in_ledger"]["amount"], "-1.00");
  EXPECT_EQ(s["amount_mismatch"]["count"], 1);
  EXPECT_EQ(s["amount_mismatch"]["amount"], "-40.01");
  EXPECT_EQ(s["reversal_pairs"]["count"], 1);
  EXPECT_EQ(s["reversal_pairs"]["amount"], "0.00");
  EXPECT_EQ(s["duplicate_entry"]["count"], 0);
  EXPECT_EQ(s["already_matched"]["count"], 0);
  EXPECT_EQ(j["failed_checks"], nlohmann::ordered_json::array({"closing_balance_disagrees"}));
  EXPECT_EQ(j["checks"]["closing_balance"]["statement"], "293.99");
  EXPECT_EQ(j["checks"]["closing_balance"]["ledger"], "395.00");
  EXPECT_EQ(j["checks"]["closing_balance"]["difference"], "-101.01");
  EXPECT_TRUE(j["checks"]["statement_totals"]["ok"].get<bool>());
  EXPECT_TRUE(j["checks"]["opening_balance"]["ok"].get<bool>());
  ASSERT_EQ(r.breaks.size(), 3u);
  EXPECT_EQ(r.breaks[0].kind, BreakKind::kAmountMismatch);  // statement order: po1 first
  EXPECT_EQ(r.breaks[0].movement->reference, "po1");
  EXPECT_EQ(r.breaks[1].kind, BreakKind::kMissingInLedger);
  EXPECT_EQ(r.breaks[1].entry->reference, "FEE-20250103-1");
  EXPECT_EQ(r.breaks[2].kind, BreakKind::kMissingInBank);
  EXPECT_EQ(r.breaks[2].movement->reference, "visa-2");
  EXPECT_TRUE(tools::differences_from_injected(r, g).empty());
}

TEST_F(ReconcileBooks, ABreakThatWasNotInjectedIsNamed) {
  tools::BreakPlan plan;  // a clean statement...
  tools::GeneratedStatement g = tools::build_statement(book(), ledger::Asset::find("EUR").value(),
                                                       options(0), kJan2, kJan2 + 2, plan);
  EXPECT_EQ(g.entries, 6u);
  EXPECT_TRUE(tools::differences_from_injected(reconcile_text(g.xml), g).empty());
  // ...with visa-4's +30.00 entry gone (and CLBD lowered so the statement still adds up):
  // a real break, missing_in_bank, that nobody injected.
  std::string xml = g.xml;
  size_t at = xml.find("<EndToEndId>visa-4<");
  ASSERT_NE(at, std::string::npos);
  size_t begin = xml.rfind("<Ntry>", at), end = xml.find("</Ntry>", at) + 7;
  xml.erase(begin, end - begin);
  // CLBD 395.00 - 30.00 = 365.00
  size_t clbd = xml.find("<Amt Ccy=\"EUR\">395.00</Amt>");
  ASSERT_NE(clbd, std::string::npos);
  xml.replace(clbd, 27, "<Amt Ccy=\"EUR\">365.00</Amt>");
  auto diffs = tools::differences_from_injected(reconcile_text(xml), g);
  ASSERT_FALSE(diffs.empty());
  EXPECT_NE(diffs[0].find("missing_in_bank"), std::string::npos) << diffs[0];
}

TEST_F(ReconcileBooks, SeededBreaksReadBackAsInjected) {
  auto g = tools::generate_statement(stores(), options(2));  // 3 x 2 = all six movements
  ASSERT_TRUE(g.ok()) << g.error().reason;
  EXPECT_EQ(g->dropped.size(), 2u);
  EXPECT_EQ(g->amount_off.size(), 2u);
  EXPECT_EQ(g->shifted.size(), 2u);
  EXPECT_EQ(g->entries, 10u);  // 6 - 2 dropped + 2 fees + 2 x 2 reversal entries
  auto diffs = tools::differences_from_injected(reconcile_text(g->xml), *g);
  EXPECT_TRUE(diffs.empty()) << diffs.front();
  auto again = tools::generate_statement(stores(), options(2));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->xml, g->xml);  // same seed, same statement
}

TEST_F(ReconcileBooks, TooFewMovementsForTheBreaksIsRefused) {
  auto g = tools::generate_statement(stores(), options(3));  // needs 9, there are 6
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().code, Code::kInvalidArgument);
  EXPECT_NE(g.error().reason.find("there are 6"), std::string::npos) << g.error().reason;
}

}  // namespace
}  // namespace payledger
