// Bank reconciliation (issue 12 item 4): a bank statement's entries matched against the
// ledger's movements on a bank/clearing account, the statement's own arithmetic checked, its
// balances compared with the ledger's, and the result kept per statement under
// DIR/reconciliation so a statement is reported once and a movement is claimed once.
//
// reconcile() is pure: (statement, movements, options, movements other statements claimed)
// -> Report. The stored results are I/O at the edge (load_/store_ functions below).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/schema/result.h"
#include "settlement/bank_statement.h"

namespace payledger::settlement {

// One posted ledger line on the bank account: what the bank should show.
struct BookMovement {
  std::string account, asset;
  int exponent = 0;
  Int128 amount = 0;  // signed: + = money into the bank account (debit of an asset account)
  int64_t occurred_at_s = 0;
  std::string reference;  // end-to-end reference the bank echoes
  std::string event_id, merchant;
  uint32_t partition = 0;
  uint64_t offset = 0;
  // Its index among its event's lines on this account and asset (an event may post two lines
  // to one account and asset): with partition, offset and event id, the line's identity.
  uint32_t line = 0;
};
// "partition:offset:event_id:account:asset:line": the identity a statement claims a movement by,
// one per ledger line.
std::string movement_key(const BookMovement& m);

inline constexpr int kDateToleranceDaysDefault = 2;
inline constexpr int kDateToleranceDaysMax = 31;

struct ReconcileOptions {
  int date_tolerance_days = kDateToleranceDaysDefault;  // 0..kDateToleranceDaysMax
  // The ledger's balance of the account before the opening date and at the end of the closing
  // date, compared with the statement's OPBD and CLBD; nullopt: not checked.
  std::optional<Int128> ledger_opening, ledger_closing;
};

enum class BreakKind : uint8_t {
  kMissingInLedger,  // a booked statement entry no movement matches
  kMissingInBank,    // a movement in the statement's period no entry matches
  kAmountMismatch,   // same reference, different amount (entry and movement both named)
  kDuplicateEntry,   // the same entry twice in the statement; the copy is never matched
  kAlreadyMatched,   // the entry's movement was claimed by another statement
};
std::string_view break_kind_name(BreakKind k);

struct MatchedItem {
  StatementEntry entry;
  BookMovement movement;
  int days_off = 0;  // value date - movement's UTC date (0 = exact pass)
};
struct BreakItem {
  BreakKind kind;
  std::optional<StatementEntry> entry;
  std::optional<BookMovement> movement;
  std::string detail;  // e.g. "duplicate of line 12", "claimed by STMT-1"
};
// A reversal (RvslInd=true) and the entry it reverses (same reference, opposite amount): they
// net to zero on the account, so neither is a break when the ledger has no movement for it.
struct ReversalPair {
  StatementEntry original, reversal;
};

struct TotalsCheck {                            // opening + sum of booked entries = closing?
  Int128 opening = 0, credits = 0, debits = 0;  // debits as a positive sum
  Int128 computed_closing = 0, stated_closing = 0;
  Int128 difference() const { return stated_closing - computed_closing; }
  bool ok() const { return computed_closing == stated_closing; }
};
struct BalanceCheck {
  Int128 statement = 0;
  std::optional<Int128> ledger;  // nullopt: not checked
  bool ok() const { return !ledger || *ledger == statement; }
};

struct Report {
  std::string statement_id, file, format, account, currency;
  int exponent = 0;
  int64_t opening_day = 0, closing_day = 0;
  int date_tolerance_days = 0;
  std::vector<MatchedItem> matched;
  std::vector<BreakItem> breaks;  // in statement order, then missing_in_bank in log order
  std::vector<ReversalPair> reversals;
  std::vector<StatementEntry> not_booked;  // PDNG / INFO entries: listed, not matched
  TotalsCheck totals;
  BalanceCheck opening, closing;
  size_t entry_count = 0;  // entries in the statement, booked or not
  // Movement keys this statement claims: the matched ones (an amount_mismatch movement stays
  // free for a corrected statement).
  std::vector<std::string> claimed_keys;
  bool clean() const { return breaks.empty() && totals.ok() && opening.ok() && closing.ok(); }
};

// Matches the statement's booked entries with `movements` (all of one account, in the
// statement's currency; kCurrencyMismatch otherwise; kInvalidArgument if two share a key). `claimed_elsewhere` maps movement keys
// to the statement id that already claimed them; those movements are never matched again.
// Passes, each over the entries in file order: duplicates removed; reversal pairs found;
// exact (reference, amount, value date = the movement's UTC date); within the tolerance
// (nearest date first); already_matched; amount_mismatch (same reference, nearest date);
// the rest missing_in_ledger; unmatched movements dated in [opening, closing]: missing_in_bank.
Result<Report> reconcile(const BankStatement& statement, const std::vector<BookMovement>& movements,
                         const ReconcileOptions& options,
                         const std::map<std::string, std::string>& claimed_elsewhere);

// The report as JSON (amounts as exact decimal strings); the stored form, printed unchanged
// on a re-run.
nlohmann::ordered_json report_json(const Report& report);
// exit status of a report's JSON: true if no breaks and every check holds.
bool report_json_clean(const nlohmann::ordered_json& report);

// ---- stored results: DIR/reconciliation -----------------------------------------------------

// An exclusive flock on DIR/reconciliation/lock, held for one run: two reconciles of one DIR
// never interleave their read-claims / match / store (the claims file is read-modify-write).
class ReconcileLock {
 public:
  static Result<ReconcileLock> acquire(const std::string& dir);  // waits for another run
  ReconcileLock(ReconcileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  ReconcileLock& operator=(ReconcileLock&&) = delete;
  ReconcileLock(const ReconcileLock&) = delete;
  ~ReconcileLock();

 private:
  explicit ReconcileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// SHA-256 of the statement file's bytes, lower-case hex: a statement's identity.
std::string statement_sha256(std::string_view bytes);

struct Claim {
  std::string statement_id, sha256;
};
// DIR/reconciliation/matched.json: movement key -> the statement that claimed it (empty if
// nothing is stored yet; kCorrupt if the file does not parse).
Result<std::map<std::string, Claim>> load_claims(const std::string& dir);
// DIR/reconciliation/statements/SHA.json; nullopt if this statement was never reconciled.
Result<std::optional<nlohmann::ordered_json>> load_stored_report(const std::string& dir,
                                                                 const std::string& sha256);
// Stores the report and adds its claimed keys to matched.json: the claims first, then the
// report, each written atomically (temp file, fsync, rename, fsync of the directory). A crash
// between them leaves claims whose statement re-runs (its own claims do not block it).
Status store_report(const std::string& dir, const std::string& sha256, const Report& report,
                    const nlohmann::ordered_json& report_json);

}  // namespace payledger::settlement
