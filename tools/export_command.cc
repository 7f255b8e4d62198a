// payledger export (issue 12 item 5, docs/cli.md "Export to hledger / beancount"): the journal
// of applied events as a plain-text accounting journal that hledger or beancount accepts and
// whose balances are payledger's own.
//
// Two passes over the books: list_balances names every account and asset there is (so the
// account, commodity and open directives come first and every name is checked before a line is
// written), then the journal is streamed entry by entry, one transaction each.
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "events/codec.h"
#include "ledger/account.h"
#include "ledger/amount.h"
#include "ledger/asset.h"
#include "ledger/local_time.h"
#include "projections/audit.h"
#include "tools/query_stores.h"

namespace payledger::tools {

namespace {

using json = nlohmann::ordered_json;

enum class Format { kHledger, kBeancount };

// Output buffered per file write; a journal line is well under this.
constexpr size_t kWriteBufferBytes = size_t{1} << 20;

// What one payledger account is called in the export: its posted and its pending account.
struct AccountNames {
  std::string posted;
  std::string pending;
};

struct AssetOut {
  int exponent = 0;
  std::string symbol;  // as written after an amount
};

// Everything the first pass learned: names of every account and asset, the open date.
struct Plan {
  Format format = Format::kHledger;
  std::unordered_map<std::string, AccountNames> accounts;
  std::map<std::string, std::string> declared;  // output account -> payledger account (sorted)
  std::map<std::string, AssetOut> assets;
  std::string open_date;  // beancount: the books' first event date
};

// "YYYY-MM-DD" of the UTC day of a moment.
std::string utc_date(int64_t t_s) {
  using namespace std::chrono;
  const year_month_day d{sys_days{days{projections::utc_day(t_s)}}};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(d.year()),
                     static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
}

bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Appends a payledger segment ([A-Za-z0-9_.-]+) as a beancount account component
// ([A-Z0-9][A-Za-z0-9-]*): the first letter upper-cased, '_' and '.' become '-', and a
// segment starting with '-', '_' or '.' gets an "X" in front. Not injective in general:
// collisions are caught by the caller. (Built by appending: GCC 12's -Wrestrict misfires on
// string insert and operator+ here.)
void append_beancount_component(std::string_view segment, std::string* out) {
  const char first = segment.empty() ? '\0' : segment[0];
  if (!(is_upper(first) || is_lower(first) || is_digit(first))) out->push_back('X');
  for (size_t i = 0; i < segment.size(); ++i) {
    char c = segment[i];
    if (c == '_' || c == '.') {
      c = '-';
    } else if (i == 0 && is_lower(c)) {
      c = static_cast<char>(c - 'a' + 'A');
    }
    out->push_back(c);
  }
}

std::string_view beancount_root(ledger::AccountType type) {
  switch (type) {
    case ledger::AccountType::kAsset:
      return "Assets";
    case ledger::AccountType::kLiability:
      return "Liabilities";
    case ledger::AccountType::kIncome:
      return "Income";
    case ledger::AccountType::kExpense:
      return "Expenses";
    case ledger::AccountType::kEquity:
      return "Equity";
  }
  return "Equity";
}

// hledger keeps payledger's names; pending lines go to "pending:<account>" (payledger names
// start with "merchant:" or "psp:", so the trees never meet). beancount: the account type's
// root, then each segment as a component; pending lines to "<Root>:Pending:<components>".
Result<AccountNames> account_names(Format format, const std::string& account) {
  auto id = ledger::AccountId::parse(account);
  if (!id) {
    return make_error(Code::kCorrupt, fmt::format("the books hold account '{}' that is not a "
                                                  "valid account name: {}",
                                                  account, id.error().reason));
  }
  AccountNames names;
  if (format == Format::kHledger) {
    names.posted = account;
    names.pending.append("pending:").append(account);
    return names;
  }
  std::string components;
  size_t start = 0;
  while (start <= account.size()) {
    size_t end = account.find(':', start);
    if (end == std::string::npos) end = account.size();
    components.push_back(':');
    append_beancount_component(std::string_view(account).substr(start, end - start), &components);
    start = end + 1;
  }
  const std::string_view root = beancount_root(id->type());
  names.posted.append(root).append(components);
  names.pending.append(root).append(":Pending").append(components);
  return names;
}

// hledger: a symbol of letters only is written bare, anything else in double quotes
// ("USD.TDS"). beancount: the symbol must match its currency syntax (2.3.5, core/amount.py
// CURRENCY_RE: [A-Z][A-Z0-9'._-]{0,22}[A-Z0-9]), else the export fails.
Result<std::string> commodity_symbol(Format format, const std::string& code) {
  if (format == Format::kHledger) {
    bool letters = !code.empty();
    for (char c : code) letters = letters && (is_upper(c) || is_lower(c));
    if (letters) return code;
    if (code.find_first_of("\"\n") != std::string::npos) {
      return make_error(Code::kInvalidArgument,
                        fmt::format("asset '{}' cannot be written as an hledger commodity", code));
    }
    return fmt::format("\"{}\"", code);
  }
  bool ok = code.size() >= 2 && code.size() <= 24 && is_upper(code.front()) &&
            (is_upper(code.back()) || is_digit(code.back()));
  for (char c : code) {
    ok = ok && (is_upper(c) || is_digit(c) || c == '\'' || c == '.' || c == '_' || c == '-');
  }
  if (!ok) {
    return make_error(Code::kInvalidArgument,
                      fmt::format("asset '{}' is not a valid beancount currency name "
                                  "([A-Z][A-Z0-9'._-]{{0,22}}[A-Z0-9])",
                                  code));
  }
  return code;
}

// Records an output account name; two payledger accounts under one name fail the export.
Status declare(Plan* plan, const std::string& out_name, const std::string& account) {
  auto [it, added] = plan->declared.emplace(out_name, account);
  if (!added && it->second != account) {
    return make_error(
        Code::kInvalidArgument,
        fmt::format("accounts '{}' and '{}' both map to the {} account '{}': the "
                    "export would merge them; nothing was written",
                    it->second, account, plan->format == Format::kHledger ? "hledger" : "beancount",
                    out_name));
  }
  return Status::Ok();
}

// First pass: every account and asset in the books (now: an --as-of export uses a subset).
Status plan_accounts(const std::vector<projections::BalanceRow>& rows, Plan* plan) {
  for (const auto& r : rows) {
    if (!plan->assets.contains(r.asset)) {
      auto asset = ledger::Asset::find(r.asset);
      if (!asset) return asset.error();
      auto symbol = commodity_symbol(plan->format, r.asset);
      if (!symbol) return symbol.error();
      plan->assets.emplace(r.asset, AssetOut{asset->exponent(), std::move(symbol).value()});
    }
    auto found = plan->accounts.find(r.account);
    if (found == plan->accounts.end()) {
      auto names = account_names(plan->format, r.account);
      if (!names) return names.error();
      found = plan->accounts.emplace(r.account, std::move(names).value()).first;
      if (Status s = declare(plan, found->second.posted, r.account); !s) return s;
    }
    const auto& b = r.balance;
    if (b.pending_debit != 0 || b.pending_credit != 0) {
      if (Status s = declare(plan, found->second.pending, r.account); !s) return s;
    }
  }
  return Status::Ok();
}

// Text for a description or a tag value: no comment, tag or line breaks inside.
std::string plain(std::string_view text, bool beancount) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out.push_back(' ');
    } else if (beancount && (c == '"' || c == '\\')) {
      out.push_back('\\');
      out.push_back(c);
    } else if (!beancount && (c == ';' || c == ',')) {
      out.push_back('_');  // ';' starts a comment, ',' ends a tag value
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void write_header(const Plan& plan, const std::optional<int64_t>& as_of, fmt::memory_buffer* b) {
  auto out = std::back_inserter(*b);
  const std::string scope =
      as_of ? fmt::format("events that occurred at or before {}", ledger::utc_rfc3339(*as_of))
            : std::string("every applied event");
  if (plan.format == Format::kHledger) {
    fmt::format_to(out,
                   "; payledger export: {} (one transaction per journal entry).\n"
                   "; Pending (held) lines are under pending:<account>.\n"
                   "decimal-mark .\n\n",
                   scope);
    for (const auto& [code, a] : plan.assets) {
      // The display style: no digit groups, the asset's decimals. hledger 1.25 refuses a
      // commodity directive without a decimal mark: "1000. JPY" for no decimals.
      fmt::format_to(out, "commodity 1000.{} {}\n",
                     std::string(static_cast<size_t>(a.exponent), '0'), a.symbol);
    }
    b->push_back('\n');
    for (const auto& [name, account] : plan.declared) fmt::format_to(out, "account {}\n", name);
    b->push_back('\n');
    return;
  }
  fmt::format_to(out,
                 "; payledger export: {} (one transaction per journal entry).\n"
                 "; Pending (held) lines are under <Root>:Pending:<account>.\n"
                 "option \"title\" \"payledger\"\n\n",
                 scope);
  for (const auto& [code, a] : plan.assets) {
    fmt::format_to(out, "{} commodity {}\n", plan.open_date, a.symbol);
  }
  b->push_back('\n');
  for (const auto& [name, account] : plan.declared) {
    fmt::format_to(out, "{} open {}\n", plan.open_date, name);
    fmt::format_to(out, "  payledger-account: \"{}\"\n", plain(account, true));
  }
  b->push_back('\n');
}

// One journal entry as one transaction: debits positive, credits negative.
Status write_entry(const Plan& plan, const projections::JournalEntry& e, fmt::memory_buffer* b) {
  auto out = std::back_inserter(*b);
  const std::string date = utc_date(e.occurred_at_s);
  const std::string_view kind = events::body_name_of(e.body_case);
  const bool bean = plan.format == Format::kBeancount;
  if (bean && date < plan.open_date) {
    return make_error(Code::kCorrupt,
                      fmt::format("event {} occurred on {}, before the books' first event ({})",
                                  e.event_id, date, plan.open_date));
  }
  const std::string position = fmt::format("{}/{}/{}", e.partition, e.offset, e.seq);
  // What happened, to whom: "card_captured p2", an expiry the fold fired "... (fired)".
  std::string what(kind);
  if (e.fired) what += " (fired)";
  if (bean) {
    if (!e.payment.empty()) what.append(" ").append(e.payment);
    fmt::format_to(out,
                   "{} * \"{}\" \"{}\"\n  event-id: \"{}\"\n  time: \"{}\"\n  position: \"{}\"\n",
                   date, plain(e.merchant, true), plain(what, true), plain(e.event_id, true),
                   ledger::utc_rfc3339(e.occurred_at_s), position);
    if (!e.reference.empty()) {
      fmt::format_to(out, "  reference: \"{}\"\n", plain(e.reference, true));
    }
  } else {
    if (!e.merchant.empty()) what.append(" ").append(e.merchant);
    if (!e.payment.empty()) what.append(" ").append(e.payment);
    fmt::format_to(out, "{} {}  ; event:{}, time:{}, position:{}", date, plain(what, false),
                   plain(e.event_id, false), ledger::utc_rfc3339(e.occurred_at_s), position);
    if (!e.reference.empty()) fmt::format_to(out, ", reference:{}", plain(e.reference, false));
    b->push_back('\n');
  }
  for (const auto& l : e.lines) {
    auto account = plan.accounts.find(l.account);
    auto asset = plan.assets.find(l.asset);
    if (account == plan.accounts.end() || asset == plan.assets.end()) {
      return make_error(Code::kCorrupt,
                        fmt::format("event {} posts to {} in {}, which the balances do not "
                                    "hold: the books changed during the export?",
                                    e.event_id, l.account, l.asset));
    }
    const std::string& name =
        l.bucket == ledger::Bucket::kPending ? account->second.pending : account->second.posted;
    if (l.bucket == ledger::Bucket::kPending && !plan.declared.contains(name)) {
      return make_error(Code::kCorrupt,
                        fmt::format("event {} holds a pending line on {} that its balance "
                                    "does not show",
                                    e.event_id, l.account));
    }
    const ledger::Int128 signed_minor =
        l.side == ledger::Side::kDebit ? l.amount_minor : ledger::Int128(-l.amount_minor);
    fmt::format_to(out, "{}{:<60}  {} {}\n", bean ? "  " : "    ", name,
                   ledger::format_scaled(signed_minor, asset->second.exponent),
                   asset->second.symbol);
  }
  b->push_back('\n');
  return Status::Ok();
}

// Where the journal goes: stdout, or FILE.tmp renamed to FILE once complete.
class Sink {
 public:
  static Result<Sink> open(const std::string& path) {
    Sink s;
    s.path_ = path;
    if (path.empty() || path == "-") {
      s.file_ = stdout;
      return s;
    }
    s.tmp_ = path + ".tmp";
    s.file_ = std::fopen(s.tmp_.c_str(), "wb");
    if (s.file_ == nullptr) {
      return make_error(Code::kIo,
                        fmt::format("cannot write {}: {}", s.tmp_, std::strerror(errno)));
    }
    return s;
  }
  Sink() = default;
  Sink(Sink&& o) noexcept { *this = std::move(o); }
  Sink& operator=(Sink&& o) noexcept {
    std::swap(file_, o.file_);
    std::swap(path_, o.path_);
    std::swap(tmp_, o.tmp_);
    return *this;
  }
  ~Sink() { abandon(); }

  Status write(fmt::memory_buffer* b) {
    if (b->size() == 0) return Status::Ok();
    if (std::fwrite(b->data(), 1, b->size(), file_) != b->size()) {
      return make_error(Code::kIo, fmt::format("write {}: {}", shown(), std::strerror(errno)));
    }
    bytes_ += b->size();
    b->clear();
    return Status::Ok();
  }
  // Flushes and (for a file) syncs, closes and renames it into place.
  Status commit() {
    if (std::fflush(file_) != 0) {
      return make_error(Code::kIo, fmt::format("write {}: {}", shown(), std::strerror(errno)));
    }
    if (tmp_.empty()) return Status::Ok();
    const bool synced = ::fsync(::fileno(file_)) == 0;
    const bool closed = std::fclose(file_) == 0;
    file_ = nullptr;
    if (!synced || !closed || std::rename(tmp_.c_str(), path_.c_str()) != 0) {
      Error e = make_error(Code::kIo, fmt::format("write {}: {}", path_, std::strerror(errno)));
      std::remove(tmp_.c_str());
      return e;
    }
    tmp_.clear();
    return Status::Ok();
  }
  uint64_t bytes() const { return bytes_; }

 private:
  std::string shown() const { return tmp_.empty() ? std::string("stdout") : tmp_; }
  // An unfinished file is removed: a half journal is never left under FILE.
  void abandon() {
    if (tmp_.empty() || file_ == nullptr) return;
    std::fclose(file_);
    file_ = nullptr;
    std::remove(tmp_.c_str());
  }
  std::FILE* file_ = nullptr;
  std::string path_, tmp_;
  uint64_t bytes_ = 0;
};

struct Counts {
  uint64_t transactions = 0;
  uint64_t postings = 0;
  uint64_t skipped_empty = 0;  // entries with no lines
  uint64_t after_as_of = 0;    // entries that occurred after --as-of
};

}  // namespace

int cmd_export(const Common& common, const ExportArgs& args) {
  Plan plan;
  if (args.format == "hledger") {
    plan.format = Format::kHledger;
  } else if (args.format == "beancount") {
    plan.format = Format::kBeancount;
  } else {
    return usage(fmt::format("--format must be hledger or beancount, not '{}'", args.format));
  }
  const bool to_stdout = args.out.empty() || args.out == "-";
  if (common.json && to_stdout) {
    return usage("--json prints a summary of the export: it needs -o FILE for the journal");
  }
  auto opened = open_query_stores(common);
  if (!opened) return fail(opened.error());
  PointArgs point_args;
  point_args.as_of = args.as_of;
  auto point = read_point(opened->stores, point_args);
  if (!point) return fail_point(point.error());
  auto rows = projections::list_balances(opened->stores, "");
  if (!rows) return fail(rows.error());
  if (Status s = plan_accounts(*rows, &plan); !s) return fail(s.error());
  auto owners = projections::partition_owners(opened->stores);
  if (!owners) return fail(owners.error());
  auto earliest = projections::earliest_event_time(opened->stores, *owners);
  if (!earliest) return fail(earliest.error());
  plan.open_date = *earliest ? utc_date(**earliest) : std::string("1970-01-01");

  auto sink = Sink::open(args.out);
  if (!sink) return fail(sink.error());
  fmt::memory_buffer header;
  write_header(plan, point->as_of_s, &header);
  if (Status s = sink->write(&header); !s) return fail(s.error());
  Counts counts;
  fmt::memory_buffer buffer;
  Status streamed = projections::for_each_journal_entry(
      opened->stores, [&](const projections::JournalEntry& e) -> Status {
        if (g_stop.load()) return make_error(Code::kIo, "interrupted");
        if (e.lines.empty()) {
          ++counts.skipped_empty;
          return Status::Ok();
        }
        if (point->as_of_s && e.occurred_at_s > *point->as_of_s) {
          ++counts.after_as_of;
          return Status::Ok();
        }
        if (Status s = write_entry(plan, e, &buffer); !s) return s;
        ++counts.transactions;
        counts.postings += e.lines.size();
        if (buffer.size() >= kWriteBufferBytes) return sink->write(&buffer);
        return Status::Ok();
      });
  if (g_stop.load()) return interrupted_exit();  // the Sink removes FILE.tmp
  if (!streamed) return fail(streamed.error());
  if (Status s = sink->write(&buffer); !s) return fail(s.error());
  if (Status s = sink->commit(); !s) return fail(s.error());
  if (to_stdout) return kExitOk;
  if (common.json) {
    json doc{{"format", args.format},
             {"output", args.out},
             {"as_of", point->as_of_s ? json(ledger::utc_rfc3339(*point->as_of_s)) : json(nullptr)},
             {"transactions", counts.transactions},
             {"postings", counts.postings},
             {"accounts", plan.declared.size()},
             {"commodities", plan.assets.size()},
             {"entries_after_as_of", counts.after_as_of},
             {"entries_without_lines", counts.skipped_empty},
             {"bytes", sink->bytes()}};
    if (!opened->complete) {
      doc["complete"] = false;
      doc["gaps"] = opened->gaps;
    }
    std::cout << doc.dump(2) << "\n";
  } else {
    fmt::print("wrote {} transactions ({} postings, {} accounts, {} commodities) to {} for {}\n",
               counts.transactions, counts.postings, plan.declared.size(), plan.assets.size(),
               args.out, args.format);
  }
  return kExitOk;
}

}  // namespace payledger::tools
