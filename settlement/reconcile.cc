#include "settlement/reconcile.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <unordered_map>

#include "events/durable_file.h"
#include "ledger/local_time.h"

namespace payledger::settlement {

namespace {

using json = nlohmann::ordered_json;
constexpr int64_t kDaySeconds = 86400;
constexpr int kStoreVersion = 1;

int64_t utc_day(int64_t t_s) {
  return t_s >= 0 ? t_s / kDaySeconds : -((-t_s + kDaySeconds - 1) / kDaySeconds);
}

int64_t abs_days(int64_t d) { return d < 0 ? -d : d; }

// The working state of one reconciliation: which entries and movements are taken.
struct Matcher {
  const BankStatement& st;
  const std::vector<BookMovement>& mv;
  const ReconcileOptions& opt;
  std::vector<std::string> keys;            // per movement
  std::vector<int64_t> days;                // per movement: its UTC date
  std::vector<const std::string*> claimer;  // per movement: the other statement, or null
  std::vector<bool> used;                   // per movement: matched or paired here
  std::unordered_map<std::string, std::vector<size_t>> by_reference;
  std::vector<bool> done;                                  // per entry: has its outcome
  std::vector<bool> paired;                                // per entry: in a reversal pair
  std::vector<std::pair<size_t, BreakItem>> entry_breaks;  // (entry index, break)
  std::vector<std::pair<size_t, MatchedItem>> matched;

  std::string amount_text(const Int128& v) const { return ledger::format_scaled(v, st.exponent); }

  // The movement for entry `e` among `candidates` (same reference) that `ok` accepts, nearest
  // in date (first in log order on a tie); nullopt if none.
  template <typename Ok>
  std::optional<size_t> nearest(const StatementEntry& e, Ok ok) const {
    auto it = by_reference.find(e.reference);
    if (e.reference.empty() || it == by_reference.end()) return std::nullopt;
    std::optional<size_t> best;
    for (size_t m : it->second) {
      if (!ok(m)) continue;
      if (!best || abs_days(e.value_day - days[m]) < abs_days(e.value_day - days[*best])) best = m;
    }
    return best;
  }

  void match(size_t i, size_t m) {
    used[m] = true;
    done[i] = true;
    const StatementEntry& e = st.entries[i];
    matched.emplace_back(i, MatchedItem{e, mv[m], static_cast<int>(e.value_day - days[m])});
  }

  void add_break(size_t i, BreakKind kind, std::optional<size_t> m, std::string detail) {
    done[i] = true;
    BreakItem b{kind, st.entries[i], std::nullopt, std::move(detail)};
    if (m) b.movement = mv[*m];
    entry_breaks.emplace_back(i, std::move(b));
  }

  bool candidate(size_t i) const {
    return !done[i] && st.entries[i].status == EntryStatus::kBooked;
  }

  // Same AcctSvcrRef, same NtryRef, or same reference + amount + value date + direction as an
  // earlier booked entry: a copy, reported and never matched.
  void duplicates() {
    std::map<std::string, int> seen;
    for (size_t i = 0; i < st.entries.size(); ++i) {
      if (!candidate(i)) continue;
      const StatementEntry& e = st.entries[i];
      std::vector<std::pair<std::string, std::string>> ids;  // (seen key, what it is)
      // fmt, not operator+: GCC 12 warns (-Wrestrict) on "literal" + std::string inlined.
      if (!e.servicer_ref.empty()) {
        ids.emplace_back(fmt::format("s\n{}", e.servicer_ref),
                         fmt::format("AcctSvcrRef {}", e.servicer_ref));
      }
      if (!e.entry_ref.empty()) {
        ids.emplace_back(fmt::format("n\n{}", e.entry_ref), fmt::format("NtryRef {}", e.entry_ref));
      }
      if (!e.reference.empty()) {
        ids.emplace_back(fmt::format("r\n{}\n{}\n{}\n{}", e.reference, amount_text(e.amount_minor),
                                     e.value_day, e.reversal),
                         fmt::format("reference {}, amount {} and value date {}", e.reference,
                                     amount_text(e.amount_minor), day_text(e.value_day)));
      }
      bool dup = false;
      for (const auto& [key, what] : ids) {
        auto it = seen.find(key);
        if (it == seen.end()) continue;
        add_break(i, BreakKind::kDuplicateEntry, std::nullopt,
                  fmt::format("duplicate of line {} (same {})", it->second, what));
        dup = true;
        break;
      }
      if (dup) continue;
      for (const auto& id : ids) seen.emplace(id.first, e.line);
    }
  }

  void reversal_pairs(std::vector<ReversalPair>* out) {
    for (size_t r = 0; r < st.entries.size(); ++r) {
      const StatementEntry& rv = st.entries[r];
      if (!candidate(r) || !rv.reversal || rv.reference.empty() || paired[r]) continue;
      for (size_t o = 0; o < st.entries.size(); ++o) {
        const StatementEntry& orig = st.entries[o];
        if (!candidate(o) || orig.reversal || paired[o] || orig.reference != rv.reference ||
            orig.amount_minor != -rv.amount_minor) {
          continue;
        }
        paired[o] = paired[r] = true;
        out->push_back(ReversalPair{orig, rv});
        break;
      }
    }
  }

  void pass(bool exact) {
    for (size_t i = 0; i < st.entries.size(); ++i) {
      if (!candidate(i)) continue;
      const StatementEntry& e = st.entries[i];
      auto m = nearest(e, [&](size_t k) {
        int64_t off = abs_days(e.value_day - days[k]);
        return !claimer[k] && !used[k] && mv[k].amount == e.amount_minor &&
               (exact ? off == 0 : off <= opt.date_tolerance_days);
      });
      if (m) match(i, *m);
    }
  }

  void unmatched_entries() {
    for (size_t i = 0; i < st.entries.size(); ++i) {
      if (!candidate(i)) continue;
      const StatementEntry& e = st.entries[i];
      auto claimed = nearest(e, [&](size_t k) {
        return claimer[k] && mv[k].amount == e.amount_minor &&
               abs_days(e.value_day - days[k]) <= opt.date_tolerance_days;
      });
      if (claimed) {
        add_break(i, BreakKind::kAlreadyMatched, claimed,
                  fmt::format("movement {} was matched by statement {}", keys[*claimed],
                              *claimer[*claimed]));
        continue;
      }
      auto other = nearest(
          e, [&](size_t k) { return !claimer[k] && !used[k] && mv[k].amount != e.amount_minor; });
      if (other) {
        used[*other] = true;
        add_break(i, BreakKind::kAmountMismatch, other,
                  fmt::format("statement {}, ledger {} (difference {})",
                              amount_text(e.amount_minor), amount_text(mv[*other].amount),
                              amount_text(e.amount_minor - mv[*other].amount)));
        continue;
      }
      if (paired[i]) continue;  // reported in `reversals`: the pair nets to zero
      auto late = nearest(e, [&](size_t k) { return !claimer[k] && !used[k]; });
      add_break(i, BreakKind::kMissingInLedger, std::nullopt,
                e.reference.empty() ? std::string("no end-to-end reference")
                : late ? fmt::format("the movement with reference {} is {} days off (tolerance {})",
                                     e.reference, abs_days(e.value_day - days[*late]),
                                     opt.date_tolerance_days)
                       : fmt::format("no movement with reference {}", e.reference));
    }
  }
};

TotalsCheck totals(const BankStatement& st) {
  TotalsCheck t;
  t.opening = st.opening.amount_minor;
  t.stated_closing = st.closing.amount_minor;
  for (const StatementEntry& e : st.entries) {
    if (e.status != EntryStatus::kBooked) continue;
    if (e.amount_minor >= 0) {
      t.credits += e.amount_minor;
    } else {
      t.debits -= e.amount_minor;
    }
  }
  t.computed_closing = t.opening + t.credits - t.debits;
  return t;
}

json entry_json(const StatementEntry& e, int exponent) {
  return json{{"line", e.line},
              {"booking_date", day_text(e.booking_day)},
              {"value_date", day_text(e.value_day)},
              {"amount", ledger::format_scaled(e.amount_minor, exponent)},
              {"reversal", e.reversal},
              {"status", entry_status_name(e.status)},
              {"reference", e.reference},
              {"entry_ref", e.entry_ref},
              {"servicer_ref", e.servicer_ref},
              {"info", e.info}};
}

json movement_json(const BookMovement& m) {
  return json{{"key", movement_key(m)},
              {"account", m.account},
              {"asset", m.asset},
              {"amount", ledger::format_scaled(m.amount, m.exponent)},
              {"occurred_at", ledger::utc_rfc3339(m.occurred_at_s)},
              {"reference", m.reference},
              {"event_id", m.event_id},
              {"merchant", m.merchant},
              {"partition", m.partition},
              {"offset", m.offset},
              {"line", m.line}};
}

std::string reconciliation_dir(const std::string& dir) { return dir + "/reconciliation"; }

Result<std::optional<std::string>> read_if_exists(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (ec) return make_error(Code::kIo, fmt::format("{}: {}", path, ec.message()));
    return std::optional<std::string>();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(Code::kIo, fmt::format("{}: cannot open", path));
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return make_error(Code::kIo, fmt::format("{}: read failed", path));
  return std::optional<std::string>(ss.str());
}

Result<json> parse_stored(const std::string& text, const std::string& path) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return make_error(Code::kCorrupt, fmt::format("{}: not a JSON object", path));
  }
  return j;
}

}  // namespace

std::string movement_key(const BookMovement& m) {
  return fmt::format("{}:{}:{}:{}:{}:{}", m.partition, m.offset, m.event_id, m.account, m.asset,
                     m.line);
}

std::string_view break_kind_name(BreakKind k) {
  switch (k) {
    case BreakKind::kMissingInLedger:
      return "missing_in_ledger";
    case BreakKind::kMissingInBank:
      return "missing_in_bank";
    case BreakKind::kAmountMismatch:
      return "amount_mismatch";
    case BreakKind::kDuplicateEntry:
      return "duplicate_entry";
    case BreakKind::kAlreadyMatched:
      return "already_matched";
  }
  return "?";
}

Result<Report> reconcile(const BankStatement& st, const std::vector<BookMovement>& mv,
                         const ReconcileOptions& opt,
                         const std::map<std::string, std::string>& claimed_elsewhere) {
  if (opt.date_tolerance_days < 0 || opt.date_tolerance_days > kDateToleranceDaysMax) {
    return make_error(Code::kInvalidArgument,
                      fmt::format("date tolerance {} days is outside 0..{}",
                                  opt.date_tolerance_days, kDateToleranceDaysMax));
  }
  Matcher x{st, mv, opt, {}, {}, {}, {}, {}, {}, {}, {}, {}};
  std::set<std::string> key_set;
  for (size_t k = 0; k < mv.size(); ++k) {
    const BookMovement& m = mv[k];
    if (m.asset != st.currency || m.exponent != st.exponent) {
      return make_error(
          Code::kCurrencyMismatch,
          fmt::format("{}: statement {} is in {} but the ledger movement {} of {} is "
                      "in {}",
                      st.file, st.id, st.currency, movement_key(m), m.account, m.asset));
    }
    x.keys.push_back(movement_key(m));
    if (!key_set.insert(x.keys.back()).second) {
      // Bad input from the caller, not a broken invariant here: refuse it, never abort.
      return make_error(Code::kInvalidArgument,
                        fmt::format("two ledger movements share the key {}", x.keys.back()));
    }
    x.days.push_back(utc_day(m.occurred_at_s));
    auto c = claimed_elsewhere.find(x.keys.back());
    x.claimer.push_back(c == claimed_elsewhere.end() ? nullptr : &c->second);
    x.used.push_back(false);
    if (!m.reference.empty()) x.by_reference[m.reference].push_back(k);
  }
  x.done.assign(st.entries.size(), false);
  x.paired.assign(st.entries.size(), false);

  Report r;
  r.statement_id = st.id;
  r.file = st.file;
  r.format = st.format;
  r.account = st.account;
  r.currency = st.currency;
  r.exponent = st.exponent;
  r.opening_day = st.opening.day;
  r.closing_day = st.closing.day;
  r.date_tolerance_days = opt.date_tolerance_days;
  r.entry_count = st.entries.size();
  for (const StatementEntry& e : st.entries) {
    if (e.status != EntryStatus::kBooked) r.not_booked.push_back(e);
  }
  x.duplicates();
  x.reversal_pairs(&r.reversals);
  x.pass(/*exact=*/true);
  x.pass(/*exact=*/false);
  x.unmatched_entries();

  // Statement order for entry outcomes (passes found them out of order).
  auto by_entry = [](const auto& a, const auto& b) { return a.first < b.first; };
  std::stable_sort(x.matched.begin(), x.matched.end(), by_entry);
  std::stable_sort(x.entry_breaks.begin(), x.entry_breaks.end(), by_entry);
  for (auto& [i, item] : x.matched) {
    r.claimed_keys.push_back(movement_key(item.movement));
    r.matched.push_back(std::move(item));
  }
  for (auto& [i, b] : x.entry_breaks) r.breaks.push_back(std::move(b));
  for (size_t k = 0; k < mv.size(); ++k) {
    if (x.claimer[k] || x.used[k] || x.days[k] < st.opening.day || x.days[k] > st.closing.day) {
      continue;
    }
    r.breaks.push_back(
        BreakItem{BreakKind::kMissingInBank, std::nullopt, mv[k],
                  mv[k].reference.empty()
                      ? std::string("no statement entry")
                      : fmt::format("no statement entry with reference {}", mv[k].reference)});
  }
  r.totals = totals(st);
  r.opening = BalanceCheck{st.opening.amount_minor, opt.ledger_opening};
  r.closing = BalanceCheck{st.closing.amount_minor, opt.ledger_closing};
  return r;
}

json report_json(const Report& r) {
  const int e = r.exponent;
  auto amt = [&](const Int128& v) { return ledger::format_scaled(v, e); };
  json summary = json::object();
  auto add = [&](const std::string& name, size_t count, const Int128& amount) {
    summary[name] = json{{"count", count}, {"amount", amt(amount)}};
  };
  Int128 exact = 0, tolerance = 0;
  size_t n_exact = 0, n_tolerance = 0;
  for (const MatchedItem& m : r.matched) {
    (m.days_off == 0 ? exact : tolerance) += m.entry.amount_minor;
    ++(m.days_off == 0 ? n_exact : n_tolerance);
  }
  add("matched_exact", n_exact, exact);
  add("matched_within_tolerance", n_tolerance, tolerance);
  for (BreakKind k :
       {BreakKind::kMissingInLedger, BreakKind::kMissingInBank, BreakKind::kAmountMismatch,
        BreakKind::kDuplicateEntry, BreakKind::kAlreadyMatched}) {
    size_t n = 0;
    Int128 sum = 0;
    for (const BreakItem& b : r.breaks) {
      if (b.kind != k) continue;
      ++n;
      sum += b.entry ? b.entry->amount_minor : b.movement->amount;
    }
    add(std::string(break_kind_name(k)), n, sum);
  }
  Int128 rev = 0;
  for (const ReversalPair& p : r.reversals)
    rev += p.original.amount_minor + p.reversal.amount_minor;
  add("reversal_pairs", r.reversals.size(), rev);
  Int128 nb = 0;
  for (const StatementEntry& x : r.not_booked) nb += x.amount_minor;
  add("not_booked", r.not_booked.size(), nb);

  const TotalsCheck& t = r.totals;
  json checks{{"statement_totals",
               {{"ok", t.ok()},
                {"opening", amt(t.opening)},
                {"credits", amt(t.credits)},
                {"debits", amt(t.debits)},
                {"computed_closing", amt(t.computed_closing)},
                {"stated_closing", amt(t.stated_closing)},
                {"difference", amt(t.difference())}}}};
  auto balance = [&](const BalanceCheck& b, const char* name) {
    checks[name] = json{{"checked", b.ledger.has_value()},
                        {"ok", b.ok()},
                        {"statement", amt(b.statement)},
                        {"ledger", b.ledger ? json(amt(*b.ledger)) : json()},
                        {"difference", b.ledger ? json(amt(b.statement - *b.ledger)) : json()}};
  };
  balance(r.opening, "opening_balance");
  balance(r.closing, "closing_balance");
  json failed = json::array();
  if (!t.ok()) failed.push_back("statement_totals_do_not_add_up");
  if (!r.opening.ok()) failed.push_back("opening_balance_disagrees");
  if (!r.closing.ok()) failed.push_back("closing_balance_disagrees");

  json matched = json::array();
  for (const MatchedItem& m : r.matched) {
    matched.push_back(json{{"pass", m.days_off == 0 ? "exact" : "tolerance"},
                           {"days_off", m.days_off},
                           {"entry", entry_json(m.entry, e)},
                           {"movement", movement_json(m.movement)}});
  }
  json breaks = json::array();
  for (const BreakItem& b : r.breaks) {
    breaks.push_back(json{{"kind", break_kind_name(b.kind)},
                          {"detail", b.detail},
                          {"entry", b.entry ? entry_json(*b.entry, e) : json()},
                          {"movement", b.movement ? movement_json(*b.movement) : json()}});
  }
  json reversals = json::array();
  for (const ReversalPair& p : r.reversals) {
    reversals.push_back(
        json{{"original", entry_json(p.original, e)}, {"reversal", entry_json(p.reversal, e)}});
  }
  json not_booked = json::array();
  for (const StatementEntry& x : r.not_booked) not_booked.push_back(entry_json(x, e));

  return json{
      {"statement",
       {{"id", r.statement_id},
        {"file", r.file},
        {"format", r.format},
        {"account", r.account},
        {"currency", r.currency},
        {"opening", {{"date", day_text(r.opening_day)}, {"amount", amt(r.totals.opening)}}},
        {"closing", {{"date", day_text(r.closing_day)}, {"amount", amt(r.totals.stated_closing)}}},
        {"entries", r.entry_count}}},
      {"date_tolerance_days", r.date_tolerance_days},
      {"clean", r.clean()},
      {"failed_checks", failed},
      {"summary", summary},
      {"checks", checks},
      {"breaks", breaks},
      {"matched", matched},
      {"reversals", reversals},
      {"not_booked", not_booked},
      {"claimed", r.claimed_keys}};
}

bool report_json_clean(const json& report) {
  auto it = report.find("clean");
  return it != report.end() && it->is_boolean() && it->get<bool>();
}

Result<ReconcileLock> ReconcileLock::acquire(const std::string& dir) {
  std::string rdir = reconciliation_dir(dir);
  if (Status s = events::create_directories_durably(rdir); !s) return s.error();
  std::string path = rdir + "/lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return make_error(Code::kIo, fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  }
  int rc;
  do {
    rc = ::flock(fd, LOCK_EX);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    int err = errno;
    ::close(fd);
    return make_error(Code::kIo, fmt::format("{}: cannot lock: {}", path, std::strerror(err)));
  }
  return ReconcileLock(fd);
}

ReconcileLock::~ReconcileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

std::string statement_sha256(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  PAYLEDGER_CHECK(
      EVP_Digest(bytes.data(), bytes.size(), md, &n, EVP_sha256(), nullptr) == 1 && n == 32,
      "SHA-256 failed");
  std::string hex;
  for (unsigned i = 0; i < n; ++i) hex += fmt::format("{:02x}", md[i]);
  return hex;
}

Result<std::map<std::string, Claim>> load_claims(const std::string& dir) {
  std::string path = reconciliation_dir(dir) + "/matched.json";
  auto text = read_if_exists(path);
  if (!text) return text.error();
  std::map<std::string, Claim> out;
  if (!*text) return out;
  auto j = parse_stored(**text, path);
  if (!j) return j.error();
  auto claims = j->find("claims");
  if (claims == j->end() || !claims->is_object()) {
    return make_error(Code::kCorrupt, fmt::format("{}: no \"claims\" object", path));
  }
  for (const auto& [key, c] : claims->items()) {
    if (!c.is_object() || !c.contains("statement") || !c["statement"].is_string() ||
        !c.contains("sha256") || !c["sha256"].is_string()) {
      return make_error(Code::kCorrupt, fmt::format("{}: claim {} is malformed", path, key));
    }
    out.emplace(key, Claim{c["statement"].get<std::string>(), c["sha256"].get<std::string>()});
  }
  return out;
}

Result<std::optional<json>> load_stored_report(const std::string& dir, const std::string& sha256) {
  std::string path = reconciliation_dir(dir) + "/statements/" + sha256 + ".json";
  auto text = read_if_exists(path);
  if (!text) return text.error();
  if (!*text) return std::optional<json>();
  auto j = parse_stored(**text, path);
  if (!j) return j.error();
  return std::optional<json>(std::move(j).value());
}

Status store_report(const std::string& dir, const std::string& sha256, const Report& report,
                    const json& report_json) {
  std::string rdir = reconciliation_dir(dir);
  std::string sdir = rdir + "/statements";
  if (Status s = events::create_directories_durably(sdir); !s) return s;
  auto claims = load_claims(dir);
  if (!claims) return claims.error();
  json all = json::object();
  for (const auto& [key, c] : *claims) {
    all[key] = json{{"statement", c.statement_id}, {"sha256", c.sha256}};
  }
  for (const std::string& key : report.claimed_keys) {
    auto it = claims->find(key);
    if (it != claims->end() && it->second.sha256 != sha256) {
      // reconcile() never matches a movement claimed elsewhere: another run stored meanwhile.
      return make_error(Code::kConflictingDuplicate,
                        fmt::format("movement {} was claimed by statement {} meanwhile; run "
                                    "reconcile again",
                                    key, it->second.statement_id));
    }
    all[key] = json{{"statement", report.statement_id}, {"sha256", sha256}};
  }
  json doc{{"version", kStoreVersion}, {"claims", all}};
  if (Status s = events::replace_file_durably(rdir, "matched.json", doc.dump(1) + "\n"); !s) {
    return s;
  }
  return events::replace_file_durably(sdir, sha256 + ".json", report_json.dump(2) + "\n");
}

}  // namespace payledger::settlement
