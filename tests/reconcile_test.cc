// Bank-statement reconciliation (issue 12 item 4): camt.053 and CSV parsing, each kind of
// break, the statement's self-check, the ledger balance checks, and the stored results.
// Every expected amount is written by hand, with its arithmetic in a comment.
#include "settlement/reconcile.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "settlement/bank_statement.h"

namespace payledger::settlement {
namespace {

using json = nlohmann::ordered_json;

// 2025-01-02 is day 20090 since 1970-01-01 (python: (date(2025,1,2)-date(1970,1,1)).days);
// 2025-01-02T00:00:00Z is 20090 * 86400 = 1735776000 s.
constexpr int64_t kJan2 = 20090;
constexpr int64_t kJan2Midnight = 1735776000;
constexpr int64_t kHour = 3600;

// The camt.053.001.02 snippet of /work/shared/reference/payments-domain.md (validates against
// the XSD): opening 1000.00, +250.00 (ORDER-42), -100.00 (NOTPROVIDED), closing 1150.00.
const char* kReferenceCamt = R"(<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
 <BkToCstmrStmt>
  <GrpHdr><MsgId>MSG-20250103-0001</MsgId><CreDtTm>2025-01-03T06:00:00Z</CreDtTm></GrpHdr>
  <Stmt>
   <Id>STMT-20250102-001</Id><ElctrncSeqNb>2</ElctrncSeqNb><CreDtTm>2025-01-03T06:00:00Z</CreDtTm>
   <Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>
   <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">1000.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2025-01-02</Dt></Dt></Bal>
   <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">1150.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2025-01-02</Dt></Dt></Bal>
   <Ntry><Amt Ccy="EUR">250.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
    <BookgDt><Dt>2025-01-02</Dt></BookgDt><ValDt><Dt>2025-01-02</Dt></ValDt>
    <AcctSvcrRef>BANKREF-0001</AcctSvcrRef>
    <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
    <NtryDtls><TxDtls><Refs><EndToEndId>ORDER-42</EndToEndId></Refs>
     <AmtDtls><TxAmt><Amt Ccy="EUR">250.00</Amt></TxAmt></AmtDtls>
     <RmtInf><Ustrd>INV-2025-0042</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
   <Ntry><Amt Ccy="EUR">100.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts>
    <BookgDt><Dt>2025-01-02</Dt></BookgDt><ValDt><Dt>2025-01-03</Dt></ValDt>
    <AcctSvcrRef>BANKREF-0002</AcctSvcrRef>
    <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
    <NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>
     <RmtInf><Strd><CdtrRefInf><Ref>RF18539007547034</Ref></CdtrRefInf></Strd></RmtInf></TxDtls></NtryDtls></Ntry>
  </Stmt>
 </BkToCstmrStmt>
</Document>
)";

void replace_first(std::string* s, const std::string& from, const std::string& to) {
  size_t at = s->find(from);
  ASSERT_NE(at, std::string::npos) << from;
  s->replace(at, from.size(), to);
}

// A CSV statement: the header lines, then `rows` (each a full CSV line with its newline).
std::string csv(const std::string& rows, const std::string& opening = "1000.00",
                const std::string& closing = "1150.00", const std::string& id = "S1") {
  return "#statement," + id + "\n#account,psp:bank:operating\n#opening,2025-01-02," + opening +
         ",EUR\n#closing,2025-01-03," + closing +
         ",EUR\ndate,value_date,amount,currency,reference,entry_ref,reversal,description\n" + rows;
}

BankStatement parse_csv(const std::string& text) {
  auto st = parse_statement_csv(text, "s.csv");
  EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().reason);
  return st.ok() ? *st : BankStatement{};
}

BookMovement mv(const std::string& ref, int64_t minor, int64_t at_s, uint64_t offset) {
  return BookMovement{
      "psp:bank:operating", "EUR", 2, Int128(minor), at_s, ref, ref, "m1", 0, offset};
}

Report run(const BankStatement& st, const std::vector<BookMovement>& mvs, int tolerance = 2,
           const std::map<std::string, std::string>& claimed = {}) {
  ReconcileOptions opt;
  opt.date_tolerance_days = tolerance;
  auto r = reconcile(st, mvs, opt, claimed);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().reason);
  return r.ok() ? *r : Report{};
}

size_t count(const Report& r, BreakKind k) {
  size_t n = 0;
  for (const BreakItem& b : r.breaks) n += b.kind == k;
  return n;
}

// ---- parsing ------------------------------------------------------------------------------

TEST(BankStatement, ParsesTheReferenceCamt053) {
  auto st = parse_statement(kReferenceCamt, "ref.xml");
  ASSERT_TRUE(st.ok()) << st.error().reason;
  EXPECT_EQ(st->format, "camt.053");
  EXPECT_EQ(st->id, "STMT-20250102-001");
  EXPECT_EQ(st->account, "DE89370400440532013000");
  EXPECT_EQ(st->currency, "EUR");
  EXPECT_EQ(st->opening.amount_minor, Int128(100000));  // 1000.00 EUR
  EXPECT_EQ(st->closing.amount_minor, Int128(115000));  // 1150.00 EUR
  EXPECT_EQ(st->opening.day, kJan2);
  ASSERT_EQ(st->entries.size(), 2u);
  EXPECT_EQ(st->entries[0].amount_minor, Int128(25000));  // CRDT 250.00
  EXPECT_EQ(st->entries[0].reference, "ORDER-42");
  EXPECT_EQ(st->entries[0].servicer_ref, "BANKREF-0001");
  EXPECT_EQ(st->entries[0].line, 12);  // the first <Ntry> is on line 12 of the text
  EXPECT_EQ(st->entries[1].amount_minor, Int128(-10000));  // DBIT 100.00
  EXPECT_EQ(st->entries[1].reference, "");                 // NOTPROVIDED is no reference
  EXPECT_EQ(st->entries[1].value_day, kJan2 + 1);          // ValDt 2025-01-03
  EXPECT_EQ(st->entries[1].booking_day, kJan2);
  // 1000.00 + 250.00 - 100.00 = 1150.00: the statement adds up.
  Report r = run(*st, {});
  EXPECT_TRUE(r.totals.ok());
  EXPECT_EQ(r.totals.computed_closing, Int128(115000));
}

TEST(BankStatement, PrefixedV08NamespaceAndStatusCodeParse) {
  const char* xml = R"(<c:Document xmlns:c="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
<c:BkToCstmrStmt><c:Stmt><c:Id>S8</c:Id>
<c:Acct><c:Id><c:Othr><c:Id>psp:bank:operating</c:Id></c:Othr></c:Id><c:Ccy>JPY</c:Ccy></c:Acct>
<c:Bal><c:Tp><c:CdOrPrtry><c:Cd>OPBD</c:Cd></c:CdOrPrtry></c:Tp><c:Amt Ccy="JPY">5</c:Amt><c:CdtDbtInd>DBIT</c:CdtDbtInd><c:Dt><c:Dt>2025-01-02</c:Dt></c:Dt></c:Bal>
<c:Bal><c:Tp><c:CdOrPrtry><c:Cd>CLBD</c:Cd></c:CdOrPrtry></c:Tp><c:Amt Ccy="JPY">1195</c:Amt><c:CdtDbtInd>CRDT</c:CdtDbtInd><c:Dt><c:Dt>2025-01-02</c:Dt></c:Dt></c:Bal>
<c:Ntry><c:Amt Ccy="JPY">1200</c:Amt><c:CdtDbtInd>CRDT</c:CdtDbtInd><c:Sts><c:Cd>BOOK</c:Cd></c:Sts><c:ValDt><c:DtTm>2025-01-02T10:00:00</c:DtTm></c:ValDt></c:Ntry>
</c:Stmt></c:BkToCstmrStmt></c:Document>)";
  auto st = parse_statement(xml, "v8.xml");
  ASSERT_TRUE(st.ok()) << st.error().reason;
  EXPECT_EQ(st->account, "psp:bank:operating");
  EXPECT_EQ(st->exponent, 0);
  EXPECT_EQ(st->opening.amount_minor, Int128(-5));  // DBIT 5 JPY
  ASSERT_EQ(st->entries.size(), 1u);
  EXPECT_EQ(st->entries[0].status, EntryStatus::kBooked);
  EXPECT_EQ(st->entries[0].value_day, kJan2);
  // -5 + 1200 = 1195
  EXPECT_TRUE(run(*st, {}).totals.ok());
}

TEST(BankStatement, MalformedXmlNamesTheLine) {
  // Line 3 closes <Id> with </Idd>.
  std::string xml =
      "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\">\n"
      "<BkToCstmrStmt><Stmt>\n"
      "<Id>S1</Idd>\n"
      "</Stmt></BkToCstmrStmt></Document>\n";
  auto st = parse_statement(xml, "bad.xml");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Code::kMalformed);
  EXPECT_NE(st.error().reason.find("bad.xml:3: malformed XML"), std::string::npos)
      << st.error().reason;
}

TEST(BankStatement, OtherCamtMessageIsRefused) {
  auto st = parse_statement(
      "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.052.001.02\"><BkToCstmrAcctRpt/>"
      "</Document>",
      "rpt.xml");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().reason.find("not a camt.053 statement"), std::string::npos);
}

TEST(BankStatement, EntryInAnotherCurrencyIsRefused) {
  std::string xml = kReferenceCamt;
  replace_first(&xml, "<Amt Ccy=\"EUR\">250.00", "<Amt Ccy=\"USD\">250.00");
  auto st = parse_statement(xml, "usd.xml");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Code::kCurrencyMismatch);
  EXPECT_NE(st.error().reason.find("usd.xml:12:"), std::string::npos) << st.error().reason;
}

TEST(BankStatement, MoreDecimalsThanTheCurrencyIsRefused) {
  std::string xml = kReferenceCamt;
  replace_first(&xml, ">250.00<", ">250.001<");  // EUR has 2 decimals
  auto st = parse_statement(xml, "dec.xml");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Code::kBadAmount);
  EXPECT_NE(st.error().reason.find("dec.xml:12:"), std::string::npos) << st.error().reason;
  // CSV: 0.5 JPY (JPY has no decimals), on line 5 of the file.
  auto c = parse_statement_csv(
      "#statement,J\n#opening,2025-01-02,0,JPY\n#closing,2025-01-02,0,JPY\n"
      "date,value_date,amount,currency,reference,entry_ref,reversal,description\n"
      "2025-01-02,,0.5,JPY,r,,,\n",
      "j.csv");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, Code::kBadAmount);
  EXPECT_NE(c.error().reason.find("j.csv:5:"), std::string::npos) << c.error().reason;
}

TEST(BankStatement, MissingClosingBalanceIsRefused) {
  std::string xml = kReferenceCamt;
  replace_first(&xml, "CLBD", "CLAV");  // only an available balance left
  auto st = parse_statement(xml, "nocl.xml");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, Code::kMissingField);
  EXPECT_NE(st.error().reason.find("closing booked"), std::string::npos);
}

TEST(BankStatement, MalformedCsvLineNamesFileAndLine) {
  // Line 6: 7 fields instead of 8.
  auto c =
      parse_statement_csv(csv("2025-01-02,,250.00,EUR,A,,,\n2025-01-02,,1.00,EUR,B,,\n"), "s.csv");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().reason.find("s.csv:7: 7 fields"), std::string::npos) << c.error().reason;
  auto d = parse_statement_csv(csv("2025-02-30,,250.00,EUR,A,,,\n"), "s.csv");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().reason.find("s.csv:6: date '2025-02-30'"), std::string::npos)
      << d.error().reason;
}

TEST(BankStatement, CsvQuotedDescription) {
  BankStatement st = parse_csv(csv(
      "2025-01-02,2025-01-03,-100.00,EUR,P1,E1,false,\"pay, \"\"out\"\"\"\n", "1000.00", "900.00"));
  ASSERT_EQ(st.entries.size(), 1u);
  EXPECT_EQ(st.entries[0].info, "pay, \"out\"");
  EXPECT_EQ(st.entries[0].amount_minor, Int128(-10000));
  EXPECT_EQ(st.entries[0].value_day, kJan2 + 1);
}

// ---- matching -----------------------------------------------------------------------------

TEST(Reconcile, ExactMatch) {
  BankStatement st = parse_csv(csv("2025-01-02,,250.00,EUR,A,,,\n", "1000.00", "1250.00"));
  Report r = run(st, {mv("A", 25000, kJan2Midnight + 9 * kHour, 7)});
  ASSERT_EQ(r.matched.size(), 1u);
  EXPECT_EQ(r.matched[0].days_off, 0);
  EXPECT_TRUE(r.breaks.empty());
  EXPECT_EQ(r.claimed_keys, std::vector<std::string>{"0:7:A:psp:bank:operating:EUR:0"});
  EXPECT_TRUE(r.clean());  // 1000.00 + 250.00 = 1250.00
}

// An event may post two lines to one account and asset: two movements, one key each (the
// line's index in its event), both matched; a key given twice is refused, not a crash.
TEST(Reconcile, TwoLinesOfOneEventOnOneAccountAreTwoMovements) {
  // 1000.00 + 250.00 - 1.50 = 1248.50
  BankStatement st = parse_csv(
      csv("2025-01-02,,250.00,EUR,P9,N1,,\n2025-01-02,,-1.50,EUR,P9,N2,,\n", "1000.00",
          "1248.50"));
  BookMovement in = mv("P9", 25000, kJan2Midnight + kHour, 4);
  BookMovement fee = mv("P9", -150, kJan2Midnight + kHour, 4);  // same event, same offset
  fee.line = 1;
  Report r = run(st, {in, fee});
  ASSERT_EQ(r.matched.size(), 2u);
  EXPECT_TRUE(r.breaks.empty());
  EXPECT_EQ(r.claimed_keys, (std::vector<std::string>{"0:4:P9:psp:bank:operating:EUR:0",
                                                      "0:4:P9:psp:bank:operating:EUR:1"}));
  fee.line = 0;  // the same key twice: the caller's mistake, refused
  ReconcileOptions opt;
  auto refused = reconcile(st, {in, fee}, opt, {});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Code::kInvalidArgument);
  EXPECT_NE(refused.error().reason.find("0:4:P9:psp:bank:operating:EUR:0"), std::string::npos);
}

TEST(Reconcile, MatchWithinToleranceButNotBeyond) {
  // Value date Jan 4, movement on Jan 2: 2 days off.
  BankStatement st = parse_csv(csv("2025-01-03,2025-01-04,250.00,EUR,A,,,\n", "0", "250.00"));
  Report r = run(st, {mv("A", 25000, kJan2Midnight + 23 * kHour, 1)}, 2);
  ASSERT_EQ(r.matched.size(), 1u);
  EXPECT_EQ(r.matched[0].days_off, 2);
  EXPECT_TRUE(r.breaks.empty());
  json j = report_json(r);
  EXPECT_EQ(j["summary"]["matched_within_tolerance"]["count"], 1);
  EXPECT_EQ(j["summary"]["matched_within_tolerance"]["amount"], "250.00");
  // With 1 day of tolerance: the entry is missing in the ledger, the movement (Jan 2, inside
  // the period Jan 2..Jan 3) missing in the bank.
  Report t = run(st, {mv("A", 25000, kJan2Midnight + 23 * kHour, 1)}, 1);
  EXPECT_TRUE(t.matched.empty());
  EXPECT_EQ(count(t, BreakKind::kMissingInLedger), 1u);
  EXPECT_EQ(count(t, BreakKind::kMissingInBank), 1u);
  EXPECT_EQ(t.breaks[0].detail, "the movement with reference A is 2 days off (tolerance 1)");
}

TEST(Reconcile, MissingInLedgerAndMissingInBank) {
  // Statement: A +250.00, B -40.00. Ledger: A, and C +75.00 on Jan 3 (in the period) and
  // D +9.99 on Jan 5 (after the closing date: not expected on this statement).
  BankStatement st = parse_csv(
      csv("2025-01-02,,250.00,EUR,A,,,\n2025-01-03,,-40.00,EUR,B,,,\n", "1000.00", "1210.00"));
  Report r =
      run(st, {mv("A", 25000, kJan2Midnight, 1), mv("C", 7500, kJan2Midnight + 30 * kHour, 2),
               mv("D", 999, kJan2Midnight + 72 * kHour, 3)});
  EXPECT_EQ(r.matched.size(), 1u);
  ASSERT_EQ(r.breaks.size(), 2u);
  EXPECT_EQ(r.breaks[0].kind, BreakKind::kMissingInLedger);
  EXPECT_EQ(r.breaks[0].entry->reference, "B");
  EXPECT_EQ(r.breaks[1].kind, BreakKind::kMissingInBank);
  EXPECT_EQ(r.breaks[1].movement->reference, "C");
  json j = report_json(r);
  EXPECT_EQ(j["summary"]["missing_in_ledger"]["amount"], "-40.00");
  EXPECT_EQ(j["summary"]["missing_in_bank"]["amount"], "75.00");
  EXPECT_TRUE(r.totals.ok());  // 1000.00 + 250.00 - 40.00 = 1210.00
  EXPECT_FALSE(r.clean());
}

TEST(Reconcile, AmountMismatchNamesBothAndConsumesTheMovement) {
  BankStatement st = parse_csv(csv("2025-01-02,,250.00,EUR,A,,,\n", "0", "250.00"));
  Report r = run(st, {mv("A", 20500, kJan2Midnight, 4)});
  ASSERT_EQ(r.breaks.size(), 1u);  // not also missing_in_bank
  EXPECT_EQ(r.breaks[0].kind, BreakKind::kAmountMismatch);
  EXPECT_EQ(r.breaks[0].movement->offset, 4u);
  // 250.00 - 205.00 = 45.00
  EXPECT_EQ(r.breaks[0].detail, "statement 250.00, ledger 205.00 (difference 45.00)");
  EXPECT_TRUE(r.claimed_keys.empty());
}

TEST(Reconcile, ReversalPairIsReportedAndNotABreak) {
  // +100.00 R, then its reversal -100.00 R (RvslInd). 1000.00 + 100.00 - 100.00 = 1000.00.
  BankStatement st = parse_csv(
      csv("2025-01-02,,100.00,EUR,R,N1,false,in\n2025-01-03,,-100.00,EUR,R,N2,true,reversal\n",
          "1000.00", "1000.00"));
  Report r = run(st, {});
  ASSERT_EQ(r.reversals.size(), 1u);
  EXPECT_EQ(r.reversals[0].original.line, 6);
  EXPECT_EQ(r.reversals[0].reversal.line, 7);
  EXPECT_TRUE(r.breaks.empty());
  EXPECT_TRUE(r.clean());
  json j = report_json(r);
  EXPECT_EQ(j["summary"]["reversal_pairs"]["count"], 1);
  EXPECT_EQ(j["summary"]["reversal_pairs"]["amount"], "0.00");  // 100.00 - 100.00
  // The ledger booked the original only: it matches; the reversal stays in the pair.
  Report m = run(st, {mv("R", 10000, kJan2Midnight, 9)});
  EXPECT_EQ(m.matched.size(), 1u);
  EXPECT_TRUE(m.breaks.empty());
}

TEST(Reconcile, DuplicateEntryIsReportedAndNeverMatchedTwice) {
  // The same AcctSvcrRef twice: the second is a duplicate, the one movement matches once.
  // Totals count both: 0 + 250.00 + 250.00 = 500.00.
  BankStatement st = parse_csv(
      csv("2025-01-02,,250.00,EUR,A,BR1,,\n2025-01-02,,250.00,EUR,A,BR1,,\n", "0", "500.00"));
  Report r = run(st, {mv("A", 25000, kJan2Midnight, 1)});
  EXPECT_EQ(r.matched.size(), 1u);
  ASSERT_EQ(r.breaks.size(), 1u);
  EXPECT_EQ(r.breaks[0].kind, BreakKind::kDuplicateEntry);
  EXPECT_EQ(r.breaks[0].entry->line, 7);
  EXPECT_EQ(r.breaks[0].detail, "duplicate of line 6 (same NtryRef BR1)");
  // Same reference + amount + date, no refs: also a duplicate.
  BankStatement s2 =
      parse_csv(csv("2025-01-02,,250.00,EUR,A,,,\n2025-01-02,,250.00,EUR,A,,,\n", "0", "500.00"));
  Report r2 = run(s2, {mv("A", 25000, kJan2Midnight, 1), mv("A", 25000, kJan2Midnight, 2)});
  EXPECT_EQ(r2.matched.size(), 1u);
  EXPECT_EQ(count(r2, BreakKind::kDuplicateEntry), 1u);
  EXPECT_EQ(count(r2, BreakKind::kMissingInBank), 1u);  // the second movement
}

TEST(Reconcile, TotalsThatDoNotAddUpAreReportedAndEntriesStillMatched) {
  // 1000.00 + 250.00 - 100.00 = 1150.00, but the statement says 1160.00: 10.00 off.
  BankStatement st = parse_csv(
      csv("2025-01-02,,250.00,EUR,A,,,\n2025-01-02,,-100.00,EUR,B,,,\n", "1000.00", "1160.00"));
  Report r = run(st, {mv("A", 25000, kJan2Midnight, 1), mv("B", -10000, kJan2Midnight, 2)});
  EXPECT_EQ(r.matched.size(), 2u);
  EXPECT_FALSE(r.totals.ok());
  EXPECT_EQ(r.totals.credits, Int128(25000));
  EXPECT_EQ(r.totals.debits, Int128(10000));
  EXPECT_EQ(r.totals.computed_closing, Int128(115000));
  EXPECT_EQ(r.totals.difference(), Int128(1000));
  json j = report_json(r);
  EXPECT_EQ(j["failed_checks"], json::array({"statement_totals_do_not_add_up"}));
  EXPECT_EQ(j["checks"]["statement_totals"]["difference"], "10.00");
  EXPECT_FALSE(r.clean());
}

TEST(Reconcile, OpeningBalanceThatDisagreesWithTheLedger) {
  BankStatement st = parse_csv(csv("2025-01-02,,250.00,EUR,A,,,\n", "1000.00", "1250.00"));
  ReconcileOptions opt;
  opt.ledger_opening = Int128(99000);   // 990.00 in the ledger before Jan 2
  opt.ledger_closing = Int128(125000);  // 1250.00 at the end of Jan 3
  auto r = reconcile(st, {mv("A", 25000, kJan2Midnight, 1)}, opt, {});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->opening.ok());
  EXPECT_TRUE(r->closing.ok());
  json j = report_json(*r);
  EXPECT_EQ(j["failed_checks"], json::array({"opening_balance_disagrees"}));
  EXPECT_EQ(j["checks"]["opening_balance"]["difference"], "10.00");  // 1000.00 - 990.00
  EXPECT_FALSE(r->clean());
}

TEST(Reconcile, MovementsInAnotherCurrencyAreRefused) {
  BankStatement st = parse_csv(csv("2025-01-02,,250.00,EUR,A,,,\n", "0", "250.00"));
  BookMovement usd = mv("A", 25000, kJan2Midnight, 1);
  usd.asset = "USD";
  auto r = reconcile(st, {usd}, ReconcileOptions{}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::kCurrencyMismatch);
}

TEST(Reconcile, PendingEntriesAreListedNotMatchedNorSummed) {
  const char* xml = R"(<Document><BkToCstmrStmt><Stmt><Id>P</Id>
<Acct><Id><IBAN>X</IBAN></Id><Ccy>EUR</Ccy></Acct>
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">0</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2025-01-02</Dt></Dt></Bal>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">0</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2025-01-02</Dt></Dt></Bal>
<Ntry><Amt Ccy="EUR">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>PDNG</Sts><BookgDt><Dt>2025-01-02</Dt></BookgDt></Ntry>
</Stmt></BkToCstmrStmt></Document>)";
  auto st = parse_statement(xml, "p.xml");
  ASSERT_TRUE(st.ok()) << st.error().reason;
  Report r = run(*st, {});
  EXPECT_EQ(r.not_booked.size(), 1u);
  EXPECT_TRUE(r.totals.ok());  // 0 + nothing booked = 0
  EXPECT_TRUE(r.breaks.empty());
}

// ---- stored results -----------------------------------------------------------------------

class ReconcileStore : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (std::filesystem::temp_directory_path() /
            ("recon_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(ReconcileStore, AMovementMatchedByAnEarlierStatementIsAlreadyMatched) {
  std::vector<BookMovement> ledger = {mv("A", 25000, kJan2Midnight, 1)};
  std::string first = csv("2025-01-02,,250.00,EUR,A,,,\n", "0", "250.00", "S1");
  BankStatement s1 = parse_csv(first);
  Report r1 = run(s1, ledger);
  ASSERT_EQ(r1.matched.size(), 1u);
  std::string sha1 = statement_sha256(first);
  ASSERT_TRUE(store_report(dir_, sha1, r1, report_json(r1)).ok());

  // A second statement (another file) with the same entry.
  std::string second = csv("2025-01-02,,250.00,EUR,A,,,\n", "0", "250.00", "S2");
  auto claims = load_claims(dir_);
  ASSERT_TRUE(claims.ok());
  ASSERT_EQ(claims->size(), 1u);
  EXPECT_EQ(claims->at("0:1:A:psp:bank:operating:EUR:0").statement_id, "S1");
  std::map<std::string, std::string> elsewhere;
  for (const auto& [k, c] : *claims) elsewhere.emplace(k, c.statement_id);
  Report r2 = run(parse_csv(second), ledger, 2, elsewhere);
  EXPECT_TRUE(r2.matched.empty());
  ASSERT_EQ(r2.breaks.size(), 1u);  // and no missing_in_bank: S1 has the movement
  EXPECT_EQ(r2.breaks[0].kind, BreakKind::kAlreadyMatched);
  EXPECT_EQ(r2.breaks[0].detail, "movement 0:1:A:psp:bank:operating:EUR:0 was matched by statement S1");
}

TEST_F(ReconcileStore, ReRunReadsTheSameReport) {
  std::string text = csv("2025-01-02,,250.00,EUR,A,,,\n", "0", "250.00");
  Report r = run(parse_csv(text), {});  // missing_in_ledger
  json j = report_json(r);
  std::string sha = statement_sha256(text);
  EXPECT_EQ(sha.size(), 64u);
  auto none = load_stored_report(dir_, sha);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(store_report(dir_, sha, r, j).ok());
  auto stored = load_stored_report(dir_, sha);
  ASSERT_TRUE(stored.ok());
  ASSERT_TRUE(stored->has_value());
  EXPECT_EQ((**stored).dump(), j.dump());
  EXPECT_FALSE(report_json_clean(**stored));
}

TEST(Reconcile, Sha256OfKnownBytes) {
  // sha256("abc"), FIPS 180-2 appendix B.1.
  EXPECT_EQ(statement_sha256("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace payledger::settlement
