// Journal entries and balances. An entry is a list of lines; every entry balances per
// asset and per bucket (posted money and pending holds are balanced separately, like
// TigerBeetle's two-phase transfers).
#pragma once

#include <string>
#include <vector>

#include "events/schema/result.h"
#include "ledger/account.h"
#include "ledger/amount.h"

namespace payledger::ledger {

// Most lines a single entry may have; bounds the work and size per event. The rules stay
// within 16 for an event's own lines, fees and coupons; a payment's conversion adds at most
// 6 (docs/fx.md).
inline constexpr size_t kEntryLinesMax = 24;

// Posted: money that moved. Pending: a hold (e.g. a card authorisation) that may still
// be captured or released; never part of a merchant's available balance.
enum class Bucket : uint8_t { kPosted = 0, kPending = 1 };

struct Line {
  AccountId account;
  Asset asset;
  Side side;
  Bucket bucket;
  Int128 amount_minor;  // > 0
};

struct JournalEntry {
  std::vector<Line> lines;
};

// kUnbalanced unless, for every (asset, bucket), debits equal credits; kInvalidArgument
// for an empty entry, a non-positive line or more than kEntryLinesMax lines.
Status check_balanced(const JournalEntry& entry);

// One account's totals in one asset. Debits and credits are kept apart (not netted) so a
// trial balance can be read straight off the store.
struct Balance {
  Int128 posted_debit = 0;
  Int128 posted_credit = 0;
  Int128 pending_debit = 0;
  Int128 pending_credit = 0;

  // Adds a line; kOverflow (and the balance unchanged) if a total would pass 128 bits.
  Status add(Side side, Bucket bucket, const Int128& amount_minor);
  // Net balance on the account's normal side (positive = normal).
  Int128 posted_net(Side normal) const;
  Int128 pending_net(Side normal) const;

  friend bool operator==(const Balance&, const Balance&) = default;
};

}  // namespace payledger::ledger
