#include "ledger/journal.h"

#include <stdexcept>

#include <fmt/format.h>

namespace payledger::ledger {

Status check_balanced(const JournalEntry& entry) {
  if (entry.lines.empty()) return make_error(Code::kInvalidArgument, "entry has no lines");
  if (entry.lines.size() > kEntryLinesMax) {
    return make_error(Code::kInvalidArgument,
                      fmt::format("entry has {} lines, limit {}", entry.lines.size(),
                                  kEntryLinesMax));
  }
  // Lines per entry are few: a quadratic scan over distinct (asset, bucket) pairs is cheaper
  // than a map and allocation-free.
  try {
    for (size_t i = 0; i < entry.lines.size(); ++i) {
      const Line& li = entry.lines[i];
      if (li.amount_minor.sign() <= 0) {
        return make_error(Code::kInvalidArgument,
                          fmt::format("line on {} is not positive", li.account.name()));
      }
      bool first = true;
      for (size_t j = 0; j < i; ++j) {
        if (entry.lines[j].asset == li.asset && entry.lines[j].bucket == li.bucket) first = false;
      }
      if (!first) continue;
      Int128 net = 0;
      for (size_t j = i; j < entry.lines.size(); ++j) {
        const Line& lj = entry.lines[j];
        if (!(lj.asset == li.asset) || lj.bucket != li.bucket) continue;
        net += lj.side == Side::kDebit ? lj.amount_minor : Int128(-lj.amount_minor);
      }
      if (!net.is_zero()) {
        return make_error(Code::kUnbalanced,
                          fmt::format("{} {} lines do not balance: debits - credits = {}",
                                      li.asset.code(),
                                      li.bucket == Bucket::kPosted ? "posted" : "pending",
                                      format_scaled(net, li.asset.exponent())));
      }
    }
  } catch (const std::overflow_error&) {
    return make_error(Code::kOverflow, "entry totals exceed 128 bits");
  }
  return Status::Ok();
}

Status Balance::add(Side side, Bucket bucket, const Int128& amount_minor) {
  Int128& total = bucket == Bucket::kPosted
                      ? (side == Side::kDebit ? posted_debit : posted_credit)
                      : (side == Side::kDebit ? pending_debit : pending_credit);
  try {
    total = total + amount_minor;  // assigned only if the sum did not overflow
  } catch (const std::overflow_error&) {
    return make_error(Code::kOverflow, "balance would exceed 128 bits");
  }
  return Status::Ok();
}

Int128 Balance::posted_net(Side normal) const {
  return normal == Side::kDebit ? posted_debit - posted_credit : posted_credit - posted_debit;
}

Int128 Balance::pending_net(Side normal) const {
  return normal == Side::kDebit ? pending_debit - pending_credit
                                : pending_credit - pending_debit;
}

}  // namespace payledger::ledger
