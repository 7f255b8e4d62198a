// What the projections keep for audit (issue 12, docs/audit.md): each account's lines by
// event time with per-day sums (balances as of any moment), the journal of applied events
// (each event's lines, merchant and payment, for statements, timelines and exports) and
// the per-partition hash chain over every record folded (tamper evidence).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/schema/result.h"
#include "ledger/journal.h"

namespace payledger::projections {

using ledger::Int128;

// The UTC day (days since 1970-01-01, floor) of a moment in seconds.
int64_t utc_day(int64_t t_s);

// history CF, in the partition of the lines:
//   partition | account \0 asset \0 'd' be64 biased day -> Balance: that day's lines summed
//   partition | account \0 asset \0 'l' be64 biased day be64 first_offset -> that day's lines
//       one fold batch posted (entry-line encoding, offset order), so a day of a busy house
//       account is a few values, not one per line.
// A late event (occurred earlier, folded later) lands in its own day: the day's sum changes
// and a chunk is added under that day. `balance_key` is partition | account \0 asset.
inline constexpr char kDaySumTag = 'd';
inline constexpr char kDayLinesTag = 'l';
void day_sum_key(std::string* out, std::string_view balance_key, int64_t day);
void day_lines_key(std::string* out, std::string_view balance_key, int64_t day,
                   uint64_t first_offset);
struct HistoryKey {
  std::string_view balance_key;  // partition | account \0 asset
  char tag = 0;
  int64_t day = 0;
  uint64_t first_offset = 0;  // kDayLinesTag only
};
// Splits a history key; false if it has the wrong shape.
bool split_history_key(std::string_view key, HistoryKey* out);

// journal CF, in the partition of the record:
//   partition | 'e' be64 offset be32 seq -> JournalEntry: an applied event, or a deadline the
//       fold fired while folding that record (seq counts them at one offset, the record's own
//       event last)
//   partition | 'p' payment \0 merchant \0 be64 offset be32 seq -> empty: a payment's events
//       (payment first: a payment id is found without knowing its merchant)
//   partition | 'c' be64 next_offset -> ChainHead after the records before next_offset
inline constexpr char kJournalEntryTag = 'e';
inline constexpr char kJournalPaymentTag = 'p';
inline constexpr char kJournalChainTag = 'c';

struct JournalLine {
  std::string account;
  std::string asset;
  ledger::Side side = ledger::Side::kDebit;
  ledger::Bucket bucket = ledger::Bucket::kPosted;
  Int128 amount_minor = 0;
  friend bool operator==(const JournalLine&, const JournalLine&) = default;
};
struct JournalEntry {
  uint32_t partition = 0;  // from the key
  uint64_t offset = 0;     // from the key
  uint32_t seq = 0;        // from the key (a record can fire any number of deadlines)
  uint8_t body_case = 0;
  bool fired = false;  // a deadline the fold fired (an expiry), not the record's own event
  int64_t occurred_at_s = 0;
  std::string event_id;
  std::string merchant;
  std::string payment;    // the payment it changed, if any
  std::string reference;  // what a bank would quote: payment, instruction or business id
  std::vector<JournalLine> lines;
  friend bool operator==(const JournalEntry&, const JournalEntry&) = default;
};
std::string journal_entry_key(uint32_t partition, uint64_t offset, uint32_t seq);
std::string journal_payment_key(uint32_t partition, std::string_view merchant,
                                std::string_view payment, uint64_t offset, uint32_t seq);
std::string encode_journal_entry(const JournalEntry& e);
// The same encoding, from the fold's own types (no copies of the names).
void append_journal_entry(std::string* out, uint8_t body_case, bool fired, int64_t occurred_at_s,
                          std::string_view event_id, std::string_view merchant,
                          std::string_view payment, std::string_view reference,
                          const std::vector<ledger::Line>& lines);
// kCorrupt unless the key and value decode (every line positive, known side and bucket).
Result<JournalEntry> decode_journal_entry(std::string_view key, std::string_view bytes);
// Splits a payment index key into the entry it names; false if malformed.
bool split_journal_payment_key(std::string_view key, uint32_t* partition,
                               std::string_view* merchant, std::string_view* payment,
                               uint64_t* offset, uint32_t* seq);

// The hash chain of a partition: head_0 is 32 zero bytes; each record folded (applied,
// parked or a duplicate alike) moves it on: head_n+1 = SHA-256("plch1" head_n digest_n),
// where digest_n is the SHA-256 of the record's canonical encoding (records.h) if it decoded,
// else of "raw" and its bytes as logged. No offsets go in: the same records give the same
// heads on every log backend.
using Sha256Digest = std::array<unsigned char, 32>;
struct ChainHead {
  Sha256Digest head{};
  uint64_t records = 0;  // records chained so far
  friend bool operator==(const ChainHead&, const ChainHead&) = default;
};
Sha256Digest sha256_of(std::string_view bytes);
// A record that did not decode: SHA-256 of "raw" and its bytes.
Sha256Digest raw_record_digest(std::string_view value);
void chain_step(ChainHead* chain, const Sha256Digest& record_digest);
std::string chain_key(uint32_t partition, uint64_t next_offset);
std::string encode_chain_head(const ChainHead& c);
Result<ChainHead> decode_chain_head(std::string_view bytes);
std::string hex_of(const Sha256Digest& d);

}  // namespace payledger::projections
