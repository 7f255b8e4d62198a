#include "settlement/bank_statement.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <optional>
#include <pugixml.hpp>

#include "ledger/local_time.h"
#include "settlement/calendar.h"

namespace payledger::settlement {

namespace {

using ledger::Asset;

// ---- dates --------------------------------------------------------------------------------

bool leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

std::string at(std::string_view file, int line) { return fmt::format("{}:{}", file, line); }

// ---- amounts ------------------------------------------------------------------------------

// A decimal amount of `asset`, exactly, within the amount ceiling. `unsigned_only`: the camt
// Amt, whose sign comes only from CdtDbtInd.
Result<Int128> parse_amount(std::string_view text, Asset asset, bool unsigned_only,
                            const std::string& where) {
  if (unsigned_only && !text.empty() && text.front() == '-') {
    return make_error(
        Code::kBadAmount,
        fmt::format("{}: amount '{}' is negative (the sign is CdtDbtInd)", where, text));
  }
  auto a = ledger::Amount::parse(text, asset);
  if (!a) {
    return make_error(a.error().code,
                      fmt::format("{}: amount '{}' is not a {} amount ({} decimals at most): {}",
                                  where, text, asset.code(), asset.exponent(), a.error().reason));
  }
  Int128 max = ledger::amount_minor_max(asset);
  if (a->minor() > max || a->minor() < -max) {
    return make_error(Code::kBadAmount, fmt::format("{}: amount '{}' {} exceeds the amount ceiling",
                                                    where, text, asset.code()));
  }
  return a->minor();
}

Result<Asset> find_currency(std::string_view code, const std::string& where) {
  auto asset = Asset::find(code);
  if (!asset) {
    return make_error(Code::kUnknownAsset,
                      fmt::format("{}: currency '{}' is not in the asset table", where, code));
  }
  return *asset;
}

// ---- camt.053 -----------------------------------------------------------------------------

std::string_view local_name(const char* name) {
  std::string_view n(name);
  size_t colon = n.find(':');
  return colon == std::string_view::npos ? n : n.substr(colon + 1);
}

pugi::xml_node child(pugi::xml_node node, std::string_view name) {
  for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element && local_name(c.name()) == name) return c;
  }
  return {};
}

// node/a/b/... by local names; an empty node if any step is missing.
pugi::xml_node path(pugi::xml_node node, std::initializer_list<std::string_view> names) {
  for (std::string_view n : names) {
    if (!node) return {};
    node = child(node, n);
  }
  return node;
}

std::vector<pugi::xml_node> children(pugi::xml_node node, std::string_view name) {
  std::vector<pugi::xml_node> out;
  for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element && local_name(c.name()) == name) out.push_back(c);
  }
  return out;
}

// The element's text, trimmed of surrounding whitespace.
std::string text_of(pugi::xml_node node) {
  std::string_view t = node.child_value();
  size_t b = t.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  size_t e = t.find_last_not_of(" \t\r\n");
  return std::string(t.substr(b, e - b + 1));
}

// Line numbers of nodes: pugixml gives byte offsets into the buffer we parsed in place.
class Lines {
 public:
  explicit Lines(std::string_view bytes) {
    for (size_t i = 0; i < bytes.size(); ++i) {
      if (bytes[i] == '\n') starts_.push_back(i + 1);
    }
  }
  int of_offset(ptrdiff_t offset) const {
    if (offset < 0) return 0;
    auto it = std::upper_bound(starts_.begin(), starts_.end(), static_cast<size_t>(offset));
    return static_cast<int>(it - starts_.begin()) + 1;
  }
  int of(pugi::xml_node node) const { return of_offset(node.offset_debug()); }

 private:
  std::vector<size_t> starts_;
};

struct Camt {
  std::string_view file;
  const Lines& lines;
  std::string where(pugi::xml_node n) const { return at(file, lines.of(n)); }

  Result<std::string> required_text(pugi::xml_node parent,
                                    std::initializer_list<std::string_view> p,
                                    std::string_view what) const {
    pugi::xml_node n = path(parent, p);
    std::string t = n ? text_of(n) : std::string();
    if (t.empty()) {
      return make_error(Code::kMissingField, fmt::format("{}: {} has no {}", where(parent),
                                                         local_name(parent.name()), what));
    }
    if (t.size() > kStatementTextMax) {
      return make_error(Code::kMalformed, fmt::format("{}: {} is longer than {} characters",
                                                      where(n), what, kStatementTextMax));
    }
    return t;
  }

  // Dt or DtTm (its date part: the bank's own calendar date) of a date choice element.
  Result<int64_t> date_of(pugi::xml_node choice, std::string_view what) const {
    pugi::xml_node dt = child(choice, "Dt");
    std::string t;
    if (dt) {
      t = text_of(dt);
    } else if (pugi::xml_node dtm = child(choice, "DtTm")) {
      t = text_of(dtm).substr(0, 10);
    }
    int64_t day = 0;
    if (!parse_day(t, &day)) {
      return make_error(Code::kMalformed,
                        fmt::format("{}: {} '{}' is not a date (YYYY-MM-DD)", where(choice), what,
                                    text_of(dt ? dt : choice)));
    }
    return day;
  }

  // Amt (in the statement's currency) and CdtDbtInd of a Bal or Ntry: the signed amount.
  Result<Int128> signed_amount(pugi::xml_node parent, Asset asset) const {
    pugi::xml_node amt = child(parent, "Amt");
    if (!amt) {
      return make_error(Code::kMissingField,
                        fmt::format("{}: {} has no Amt", where(parent), local_name(parent.name())));
    }
    std::string ccy = amt.attribute("Ccy").value();
    if (ccy != asset.code()) {
      return make_error(Code::kCurrencyMismatch,
                        fmt::format("{}: Amt is in '{}' but the statement's account is in {}",
                                    where(amt), ccy, asset.code()));
    }
    auto minor = parse_amount(text_of(amt), asset, true, where(amt));
    if (!minor) return minor.error();
    auto ind = required_text(parent, {"CdtDbtInd"}, "CdtDbtInd");
    if (!ind) return ind.error();
    if (*ind == "CRDT") return *minor;
    if (*ind == "DBIT") return Int128(-*minor);
    return make_error(Code::kMalformed, fmt::format("{}: CdtDbtInd '{}' is neither CRDT nor DBIT",
                                                    where(child(parent, "CdtDbtInd")), *ind));
  }

  Status balances(pugi::xml_node stmt, Asset asset, BankStatement* out) const {
    std::optional<StatementBalance> opbd, prcd, clbd;
    for (pugi::xml_node bal : children(stmt, "Bal")) {
      std::string code = text_of(path(bal, {"Tp", "CdOrPrtry", "Cd"}));
      std::optional<StatementBalance>* slot = code == "OPBD"   ? &opbd
                                              : code == "PRCD" ? &prcd
                                              : code == "CLBD" ? &clbd
                                                               : nullptr;
      if (slot == nullptr) continue;  // available, interim, forward... balances: not checked
      if (slot->has_value()) {
        return make_error(Code::kMalformed,
                          fmt::format("{}: a second {} balance", where(bal), code));
      }
      auto amount = signed_amount(bal, asset);
      if (!amount) return amount.error();
      pugi::xml_node dt = child(bal, "Dt");
      if (!dt) {
        return make_error(Code::kMissingField,
                          fmt::format("{}: {} balance has no Dt", where(bal), code));
      }
      auto day = date_of(dt, "balance date");
      if (!day) return day.error();
      *slot = StatementBalance{*amount, *day};
    }
    if (!opbd) opbd = prcd;  // some banks send the previous closing instead of the opening
    if (!opbd || !clbd) {
      return make_error(Code::kMissingField, fmt::format("{}: Stmt has no {} balance", where(stmt),
                                                         !opbd ? "opening booked (OPBD or PRCD)"
                                                               : "closing booked (CLBD)"));
    }
    if (clbd->day < opbd->day) {
      return make_error(Code::kMalformed,
                        fmt::format("{}: the closing balance date {} is before the opening {}",
                                    where(stmt), day_text(clbd->day), day_text(opbd->day)));
    }
    out->opening = *opbd;
    out->closing = *clbd;
    return {};
  }

  // The entry's end-to-end reference: the EndToEndId its transactions share ("" if none, if
  // SEPA's NOTPROVIDED, or if a batched entry's transactions carry different ones).
  std::string reference(pugi::xml_node ntry) const {
    std::string ref;
    for (pugi::xml_node dtls : children(ntry, "NtryDtls")) {
      for (pugi::xml_node tx : children(dtls, "TxDtls")) {
        std::string id = text_of(path(tx, {"Refs", "EndToEndId"}));
        if (id.empty() || id == "NOTPROVIDED") return {};
        if (!ref.empty() && ref != id) return {};
        ref = id;
      }
    }
    return ref.size() > kStatementTextMax ? std::string() : ref;
  }

  Result<StatementEntry> entry(pugi::xml_node ntry, Asset asset) const {
    StatementEntry e;
    e.line = lines.of(ntry);
    auto amount = signed_amount(ntry, asset);
    if (!amount) return amount.error();
    e.amount_minor = *amount;
    std::string rvsl = text_of(child(ntry, "RvslInd"));
    if (rvsl == "true" || rvsl == "1") {
      e.reversal = true;
    } else if (!rvsl.empty() && rvsl != "false" && rvsl != "0") {
      return make_error(Code::kMalformed,
                        fmt::format("{}: RvslInd '{}' is not true or false", where(ntry), rvsl));
    }
    pugi::xml_node sts = child(ntry, "Sts");
    std::string status = text_of(sts);
    if (status.empty()) status = text_of(child(sts, "Cd"));  // v08: <Sts><Cd>BOOK</Cd></Sts>
    if (status == "BOOK") {
      e.status = EntryStatus::kBooked;
    } else if (status == "PDNG") {
      e.status = EntryStatus::kPending;
    } else if (status == "INFO") {
      e.status = EntryStatus::kInfo;
    } else {
      return make_error(
          status.empty() ? Code::kMissingField : Code::kMalformed,
          fmt::format("{}: Ntry status '{}' is not BOOK, PDNG or INFO", where(ntry), status));
    }
    pugi::xml_node bookg = child(ntry, "BookgDt"), val = child(ntry, "ValDt");
    if (!bookg && !val) {
      return make_error(Code::kMissingField,
                        fmt::format("{}: Ntry has neither BookgDt nor ValDt", where(ntry)));
    }
    auto bday = date_of(bookg ? bookg : val, bookg ? "BookgDt" : "ValDt");
    if (!bday) return bday.error();
    auto vday = date_of(val ? val : bookg, val ? "ValDt" : "BookgDt");
    if (!vday) return vday.error();
    e.booking_day = *bday;
    e.value_day = *vday;
    for (auto [field, name] :
         {std::pair{&e.entry_ref, "NtryRef"}, std::pair{&e.servicer_ref, "AcctSvcrRef"},
          std::pair{&e.info, "AddtlNtryInf"}}) {
      *field = text_of(child(ntry, name));
      if (field->size() > kStatementTextMax) {
        return make_error(Code::kMalformed, fmt::format("{}: {} is longer than {} characters",
                                                        where(ntry), name, kStatementTextMax));
      }
    }
    e.reference = reference(ntry);
    return e;
  }
};

// The namespace of the root, if any: a camt.053 one, or an error naming what it is.
Status check_namespace(pugi::xml_node root, std::string_view file, const Lines& lines) {
  std::string_view name(root.name());
  size_t colon = name.find(':');
  std::string attr = colon == std::string_view::npos
                         ? std::string("xmlns")
                         : "xmlns:" + std::string(name.substr(0, colon));
  std::string_view ns = root.attribute(attr.c_str()).value();
  if (ns.empty()) return {};
  constexpr std::string_view kCamt053 = "urn:iso:std:iso:20022:tech:xsd:camt.053.";
  if (!ns.starts_with(kCamt053)) {
    return make_error(Code::kMalformed, fmt::format("{}: not a camt.053 statement (namespace '{}')",
                                                    at(file, lines.of(root)), ns));
  }
  return {};
}

// ---- CSV ----------------------------------------------------------------------------------

constexpr std::string_view kCsvHeader =
    "date,value_date,amount,currency,reference,entry_ref,reversal,description";
constexpr size_t kCsvColumns = 8;

// Splits one CSV line: fields separated by commas, a field "quoted" with "" for a quote.
Result<std::vector<std::string>> split_csv(std::string_view line, const std::string& where) {
  std::vector<std::string> fields(1);
  size_t i = 0;
  while (i < line.size()) {
    char c = line[i];
    if (c == '"' && fields.back().empty()) {
      ++i;
      for (;;) {
        if (i >= line.size()) {
          return make_error(Code::kMalformed, fmt::format("{}: unterminated quoted field", where));
        }
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            fields.back() += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        fields.back() += line[i++];
      }
      if (i < line.size() && line[i] != ',') {
        return make_error(
            Code::kMalformed,
            fmt::format("{}: text after a closing quote in field {}", where, fields.size()));
      }
      continue;
    }
    if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
    ++i;
  }
  for (const std::string& f : fields) {
    if (f.size() > kStatementTextMax) {
      return make_error(Code::kMalformed, fmt::format("{}: a field is longer than {} characters",
                                                      where, kStatementTextMax));
    }
  }
  return fields;
}

struct CsvHead {
  std::optional<std::string> id, account;
  std::optional<Asset> asset;
  std::optional<StatementBalance> opening, closing;
};

// One `#name,...` line before the header.
Status csv_directive(const std::vector<std::string>& f, const std::string& where, CsvHead* h) {
  const std::string& name = f[0];
  auto need = [&](size_t n) -> Status {
    if (f.size() == n) return {};
    return make_error(Code::kMalformed, fmt::format("{}: {} takes {} field(s), got {}", where, name,
                                                    n - 1, f.size() - 1));
  };
  if (name == "#statement" || name == "#account") {
    if (Status s = need(2); !s) return s;
    auto& slot = name == "#statement" ? h->id : h->account;
    if (slot) return make_error(Code::kMalformed, fmt::format("{}: a second {} line", where, name));
    if (f[1].empty()) return make_error(Code::kMalformed, fmt::format("{}: empty {}", where, name));
    slot = f[1];
    return {};
  }
  if (name == "#opening" || name == "#closing") {
    if (Status s = need(4); !s) return s;
    auto& slot = name == "#opening" ? h->opening : h->closing;
    if (slot) return make_error(Code::kMalformed, fmt::format("{}: a second {} line", where, name));
    auto asset = find_currency(f[3], where);
    if (!asset) return asset.error();
    if (h->asset && !(*h->asset == *asset)) {
      return make_error(Code::kCurrencyMismatch,
                        fmt::format("{}: {} is in {} but the statement is in {}", where, name, f[3],
                                    h->asset->code()));
    }
    h->asset = *asset;
    StatementBalance b;
    if (!parse_day(f[1], &b.day)) {
      return make_error(Code::kMalformed,
                        fmt::format("{}: {} date '{}' is not YYYY-MM-DD", where, name, f[1]));
    }
    auto amount = parse_amount(f[2], *asset, false, where);
    if (!amount) return amount.error();
    b.amount_minor = *amount;
    slot = b;
    return {};
  }
  return make_error(Code::kMalformed,
                    fmt::format("{}: unknown line '{}' (expected #statement, #account, #opening, "
                                "#closing or the header '{}')",
                                where, name, kCsvHeader));
}

Result<StatementEntry> csv_row(const std::vector<std::string>& f, int line, Asset asset,
                               const std::string& where) {
  if (f.size() != kCsvColumns) {
    return make_error(Code::kMalformed, fmt::format("{}: {} fields, expected {} ({})", where,
                                                    f.size(), kCsvColumns, kCsvHeader));
  }
  StatementEntry e;
  e.line = line;
  if (!parse_day(f[0], &e.booking_day)) {
    return make_error(Code::kMalformed,
                      fmt::format("{}: date '{}' is not YYYY-MM-DD", where, f[0]));
  }
  e.value_day = e.booking_day;
  if (!f[1].empty() && !parse_day(f[1], &e.value_day)) {
    return make_error(Code::kMalformed,
                      fmt::format("{}: value_date '{}' is not YYYY-MM-DD", where, f[1]));
  }
  if (f[3] != asset.code()) {
    return make_error(
        Code::kCurrencyMismatch,
        fmt::format("{}: currency '{}' but the statement is in {}", where, f[3], asset.code()));
  }
  auto amount = parse_amount(f[2], asset, false, where);
  if (!amount) return amount.error();
  e.amount_minor = *amount;
  e.reference = f[4];
  e.entry_ref = f[5];
  if (f[6] == "true") {
    e.reversal = true;
  } else if (!f[6].empty() && f[6] != "false") {
    return make_error(Code::kMalformed,
                      fmt::format("{}: reversal '{}' is not true, false or empty", where, f[6]));
  }
  e.info = f[7];
  return e;
}

}  // namespace

std::string_view entry_status_name(EntryStatus s) {
  switch (s) {
    case EntryStatus::kBooked:
      return "BOOK";
    case EntryStatus::kPending:
      return "PDNG";
    case EntryStatus::kInfo:
      return "INFO";
  }
  return "?";
}

bool parse_day(std::string_view t, int64_t* day) {
  if (t.size() != 10 || t[4] != '-' || t[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (t[i] < '0' || t[i] > '9') return false;
  }
  auto num = [&](size_t pos, size_t len) {
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) v = v * 10 + (t[i] - '0');
    return v;
  };
  int y = num(0, 4), m = num(5, 2), d = num(8, 2);
  static constexpr int kMonthDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return false;
  if (d > kMonthDays[m - 1] + (m == 2 && leap(y) ? 1 : 0)) return false;
  *day = ledger::days_from_civil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
  return true;
}

std::string day_text(int64_t z) { return CivilDate::from_days(z).to_string(); }

Result<BankStatement> parse_camt053(std::string_view bytes, std::string_view file) {
  if (bytes.size() > kStatementBytesMax) {
    return make_error(Code::kInvalidArgument,
                      fmt::format("{}: larger than {} bytes", file, kStatementBytesMax));
  }
  Lines lines(bytes);
  pugi::xml_document doc;
  // Parsed from our own buffer with no encoding conversion, so offset_debug() gives offsets
  // into `bytes` and error lines are exact.
  pugi::xml_parse_result parsed =
      doc.load_buffer(bytes.data(), bytes.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!parsed) {
    return make_error(Code::kMalformed,
                      fmt::format("{}: malformed XML: {}", at(file, lines.of_offset(parsed.offset)),
                                  parsed.description()));
  }
  pugi::xml_node root = doc.document_element();
  if (!root || local_name(root.name()) != "Document") {
    return make_error(Code::kMalformed,
                      fmt::format("{}: not a camt.053 statement (root element '{}', expected "
                                  "Document)",
                                  at(file, root ? lines.of(root) : 1), root ? root.name() : ""));
  }
  if (Status s = check_namespace(root, file, lines); !s) return s.error();
  pugi::xml_node report = child(root, "BkToCstmrStmt");
  if (!report) {
    pugi::xml_node first = root.first_child();
    return make_error(Code::kMalformed,
                      fmt::format("{}: not a camt.053 statement (Document holds '{}', expected "
                                  "BkToCstmrStmt)",
                                  at(file, lines.of(first ? first : root)),
                                  first ? local_name(first.name()) : ""));
  }
  auto stmts = children(report, "Stmt");
  if (stmts.size() != 1) {
    return make_error(Code::kInvalidArgument,
                      fmt::format("{}: {} Stmt elements; reconcile takes one statement per file",
                                  at(file, lines.of(report)), stmts.size()));
  }
  pugi::xml_node stmt = stmts[0];
  Camt camt{file, lines};
  BankStatement out;
  out.file = std::string(file);
  out.format = "camt.053";
  auto id = camt.required_text(stmt, {"Id"}, "Id");
  if (!id) return id.error();
  out.id = *id;
  pugi::xml_node acct = child(stmt, "Acct");
  if (!acct) {
    return make_error(Code::kMissingField, fmt::format("{}: Stmt has no Acct", camt.where(stmt)));
  }
  out.account = text_of(path(acct, {"Id", "IBAN"}));
  if (out.account.empty()) out.account = text_of(path(acct, {"Id", "Othr", "Id"}));
  std::string ccy = text_of(child(acct, "Ccy"));
  if (ccy.empty()) {
    // Acct/Ccy is optional in the schema: then the opening balance's currency is the account's.
    for (pugi::xml_node bal : children(stmt, "Bal")) {
      ccy = child(bal, "Amt").attribute("Ccy").value();
      if (!ccy.empty()) break;
    }
  }
  if (ccy.empty()) {
    return make_error(
        Code::kMissingField,
        fmt::format("{}: the account has no currency (Acct/Ccy or Bal/Amt@Ccy)", camt.where(acct)));
  }
  auto asset = find_currency(ccy, camt.where(acct));
  if (!asset) return asset.error();
  out.currency = asset->code();
  out.exponent = asset->exponent();
  if (Status s = camt.balances(stmt, *asset, &out); !s) return s.error();
  auto ntries = children(stmt, "Ntry");
  if (ntries.size() > kStatementEntriesMax) {
    return make_error(Code::kInvalidArgument,
                      fmt::format("{}: more than {} entries", file, kStatementEntriesMax));
  }
  for (pugi::xml_node ntry : ntries) {
    auto e = camt.entry(ntry, *asset);
    if (!e) return e.error();
    out.entries.push_back(std::move(e).value());
  }
  return out;
}

Result<BankStatement> parse_statement_csv(std::string_view text, std::string_view file) {
  if (text.size() > kStatementBytesMax) {
    return make_error(Code::kInvalidArgument,
                      fmt::format("{}: larger than {} bytes", file, kStatementBytesMax));
  }
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // a UTF-8 byte-order mark
  CsvHead head;
  BankStatement out;
  out.file = std::string(file);
  out.format = "csv";
  bool in_rows = false;
  int line = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view raw = text.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line;
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    std::string where = at(file, line);
    if (raw.empty()) return make_error(Code::kMalformed, fmt::format("{}: blank line", where));
    if (!in_rows) {
      if (raw == kCsvHeader) {
        if (!head.id || !head.opening || !head.closing) {
          return make_error(Code::kMissingField,
                            fmt::format("{}: the header comes after the #statement, #opening and "
                                        "#closing lines (missing: {})",
                                        where,
                                        !head.id        ? "#statement"
                                        : !head.opening ? "#opening"
                                                        : "#closing"));
        }
        in_rows = true;
        continue;
      }
      if (raw.front() != '#') {
        return make_error(Code::kMalformed,
                          fmt::format("{}: expected a #statement/#account/#opening/#closing line "
                                      "or the header '{}'",
                                      where, kCsvHeader));
      }
      auto f = split_csv(raw, where);
      if (!f) return f.error();
      if (Status s = csv_directive(*f, where, &head); !s) return s.error();
      continue;
    }
    if (out.entries.size() >= kStatementEntriesMax) {
      return make_error(Code::kInvalidArgument,
                        fmt::format("{}: more than {} entries", where, kStatementEntriesMax));
    }
    auto f = split_csv(raw, where);
    if (!f) return f.error();
    auto e = csv_row(*f, line, *head.asset, where);
    if (!e) return e.error();
    out.entries.push_back(std::move(e).value());
  }
  if (!in_rows) {
    return make_error(Code::kMissingField,
                      fmt::format("{}:{}: no header line '{}'", file, line, kCsvHeader));
  }
  if (head.closing->day < head.opening->day) {
    return make_error(Code::kMalformed,
                      fmt::format("{}: the closing date {} is before the opening date {}", file,
                                  day_text(head.closing->day), day_text(head.opening->day)));
  }
  out.id = *head.id;
  out.account = head.account.value_or("");
  out.currency = head.asset->code();
  out.exponent = head.asset->exponent();
  out.opening = *head.opening;
  out.closing = *head.closing;
  return out;
}

Result<BankStatement> parse_statement(std::string_view bytes, std::string_view file) {
  size_t first = bytes.find_first_not_of(" \t\r\n");
  // A UTF-8 byte-order mark before the XML declaration.
  if (first != std::string_view::npos && bytes.substr(first).starts_with("\xEF\xBB\xBF")) {
    first += 3;
  }
  if (first != std::string_view::npos && first < bytes.size() && bytes[first] == '<') {
    return parse_camt053(bytes, file);
  }
  return parse_statement_csv(bytes, file);
}

Result<std::string> read_statement_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return make_error(Code::kIo, fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  }
  std::string bytes;
  char buf[1 << 16];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    bytes.append(buf, static_cast<size_t>(in.gcount()));
    if (bytes.size() > kStatementBytesMax) {
      return make_error(Code::kInvalidArgument,
                        fmt::format("{}: larger than {} bytes", path, kStatementBytesMax));
    }
  }
  if (in.bad()) return make_error(Code::kIo, fmt::format("{}: read failed", path));
  return bytes;
}

}  // namespace payledger::settlement
