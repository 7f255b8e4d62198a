// Bank statements for reconciliation (issue 12 item 4): an ISO 20022 camt.053 statement
// (BkToCstmrStmt, any version: elements are matched by local name, whatever the namespace) or
// the simple CSV statement of docs/cli.md "Reconciliation", parsed into exact minor units of
// the statement's currency. Bad input is an error naming the file and the line; nothing is
// skipped silently and nothing is rounded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "events/schema/result.h"
#include "ledger/amount.h"

namespace payledger::settlement {

using ledger::Int128;

// Explicit limits: a statement larger than this is refused, not read.
inline constexpr size_t kStatementBytesMax = size_t{64} << 20;
inline constexpr size_t kStatementEntriesMax = 1'000'000;
// Longest reference, id or text field kept (longer text is an error: camt caps them at 35-500).
inline constexpr size_t kStatementTextMax = 1000;

// Ntry/Sts: only booked entries are money on the account; pending and info entries are listed.
enum class EntryStatus : uint8_t { kBooked, kPending, kInfo };
std::string_view entry_status_name(EntryStatus s);  // "BOOK", "PDNG", "INFO"

struct StatementEntry {
  int line = 0;             // line of the Ntry (camt) or of the CSV row, 1-based
  Int128 amount_minor = 0;  // signed: + credit (money into the account), - debit
  bool reversal = false;    // RvslInd=true
  EntryStatus status = EntryStatus::kBooked;
  int64_t booking_day = 0;   // days since 1970-01-01 (BookgDt; the value date if absent)
  int64_t value_day = 0;     // days since 1970-01-01 (ValDt; the booking date if absent)
  std::string entry_ref;     // NtryRef ("" if none)
  std::string servicer_ref;  // AcctSvcrRef ("" if none)
  std::string reference;     // TxDtls/Refs/EndToEndId ("" if none, NOTPROVIDED or batched)
  std::string info;          // AddtlNtryInf / CSV description
};

struct StatementBalance {
  Int128 amount_minor = 0;  // signed (CdtDbtInd DBIT = negative)
  int64_t day = 0;          // days since 1970-01-01
};

struct BankStatement {
  std::string file;                     // as given, for messages
  std::string format;                   // "camt.053" or "csv"
  std::string id;                       // Stmt/Id or #statement
  std::string account;                  // Acct/Id/IBAN, Acct/Id/Othr/Id or #account ("" if none)
  std::string currency;                 // Acct/Ccy (or the balances' Ccy) / #currency
  int exponent = 0;                     // of `currency` in the asset table
  StatementBalance opening;             // OPBD (or PRCD)
  StatementBalance closing;             // CLBD
  std::vector<StatementEntry> entries;  // in file order
};

// Parses camt.053 XML. Errors (kMalformed unless noted) name `file` and a line: malformed XML,
// a document that is not camt.053 (e.g. camt.052), not exactly one Stmt, missing required
// elements (Stmt/Id, OPBD and CLBD balances, Ntry Amt, CdtDbtInd, Sts, a date), bad dates,
// kBadAmount for amounts that are negative, not decimal or have more decimals than the currency,
// kUnknownAsset for a currency not in the asset table, kCurrencyMismatch for an Amt in another
// currency than the account's.
Result<BankStatement> parse_camt053(std::string_view bytes, std::string_view file);

// Parses the CSV statement (docs/cli.md "Reconciliation"): `#statement,ID`, optional
// `#account,ID`, `#opening,DATE,AMOUNT,CCY`, `#closing,DATE,AMOUNT,CCY` lines, then the header
// `date,value_date,amount,currency,reference,entry_ref,reversal,description` and one row per
// booked entry (amount signed: + credit, - debit; fields may be "quoted" with "" inside).
// A malformed line is an error "FILE:LINE: ..." (kMalformed, kBadAmount, kUnknownAsset or
// kCurrencyMismatch).
Result<BankStatement> parse_statement_csv(std::string_view text, std::string_view file);

// camt.053 if the first non-blank byte is '<', the CSV statement otherwise.
Result<BankStatement> parse_statement(std::string_view bytes, std::string_view file);

// Reads the whole file (at most kStatementBytesMax bytes; kIo if unreadable).
Result<std::string> read_statement_bytes(const std::string& path);

// YYYY-MM-DD -> days since 1970-01-01 (proleptic Gregorian); false if not a valid date.
bool parse_day(std::string_view text, int64_t* day);
std::string day_text(int64_t day);  // days since 1970-01-01 -> YYYY-MM-DD

}  // namespace payledger::settlement
