#include "projections/history.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <cstring>

#include "events/schema/check.h"
#include "projections/records.h"

namespace payledger::projections {

namespace {

Error corrupt(std::string_view what) {
  return make_error(Code::kCorrupt, fmt::format("stored {} does not decode", what));
}

uint32_t read_be32(std::string_view s) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}

}  // namespace

int64_t utc_day(int64_t t_s) { return t_s >= 0 ? t_s / 86400 : -((-t_s + 86399) / 86400); }

void day_sum_key(std::string* out, std::string_view balance_key, int64_t day) {
  out->assign(balance_key);
  out->push_back('\0');
  out->push_back(kDaySumTag);
  Writer(out).be64(bias_time(day));
}

void day_lines_key(std::string* out, std::string_view balance_key, int64_t day,
                   uint64_t first_offset) {
  out->assign(balance_key);
  out->push_back('\0');
  out->push_back(kDayLinesTag);
  Writer w(out);
  w.be64(bias_time(day));
  w.be64(first_offset);
}

bool split_history_key(std::string_view key, HistoryKey* out) {
  // The tag sits 18 bytes from the end for a chunk of lines, 10 for a day sum. Lines first:
  // a day sum's asset code (upper case) never puts "\0l" there, while a chunk's day bytes
  // could read as "\0d" (day 100).
  for (size_t tail : {size_t{18}, size_t{10}}) {
    if (key.size() < tail + 6) continue;
    const char tag = key[key.size() - tail + 1];
    if (key[key.size() - tail] != '\0') continue;
    if ((tail == 10 && tag != kDaySumTag) || (tail == 18 && tag != kDayLinesTag)) continue;
    out->balance_key = key.substr(0, key.size() - tail);
    KeyParts parts;
    if (!split_key(out->balance_key, &parts)) return false;
    out->tag = tag;
    out->day = unbias_time(read_be64(key.substr(key.size() - tail + 2)));
    out->first_offset = tail == 18 ? read_be64(key.substr(key.size() - 8)) : 0;
    return true;
  }
  return false;
}

std::string journal_entry_key(uint32_t partition, uint64_t offset, uint32_t seq) {
  std::string k;
  Writer w(&k);
  w.be32(partition);
  w.u8(static_cast<uint8_t>(kJournalEntryTag));
  w.be64(offset);
  w.be32(seq);
  return k;
}

std::string journal_payment_key(uint32_t partition, std::string_view merchant,
                                std::string_view payment, uint64_t offset, uint32_t seq) {
  std::string k;
  Writer w(&k);
  w.be32(partition);
  w.u8(static_cast<uint8_t>(kJournalPaymentTag));
  k.append(payment);
  k.push_back('\0');
  k.append(merchant);
  k.push_back('\0');
  w.be64(offset);
  w.be32(seq);
  return k;
}

bool split_journal_payment_key(std::string_view key, uint32_t* partition,
                               std::string_view* merchant, std::string_view* payment,
                               uint64_t* offset, uint32_t* seq) {
  if (key.size() < 4 + 1 + 2 + 12 || key[4] != kJournalPaymentTag) return false;
  *partition = read_be32(key);
  std::string_view ids = key.substr(5, key.size() - 5 - 12);
  const size_t z = ids.find('\0');
  if (z == std::string_view::npos || ids.back() != '\0') return false;
  *payment = ids.substr(0, z);
  *merchant = ids.substr(z + 1, ids.size() - z - 2);
  *offset = read_be64(key.substr(key.size() - 12));
  *seq = read_be32(key.substr(key.size() - 4));
  return true;
}

namespace {

void write_header(Writer& w, uint8_t body_case, bool fired, int64_t occurred_at_s,
                  std::string_view event_id, std::string_view merchant, std::string_view payment,
                  std::string_view reference, size_t lines) {
  w.u8(1);  // version
  w.u8(body_case);
  w.u8(fired ? 1 : 0);
  w.be64(static_cast<uint64_t>(occurred_at_s));
  w.str16(event_id);
  w.str16(merchant);
  w.str16(payment);
  w.str16(reference);
  PAYLEDGER_CHECK(lines <= 255, "a journal entry has at most 255 lines");
  w.u8(static_cast<uint8_t>(lines));
}

void write_line(Writer& w, std::string_view account, std::string_view asset, ledger::Side side,
                ledger::Bucket bucket, const Int128& amount_minor) {
  w.str16(account);
  w.str16(asset);
  w.u8(static_cast<uint8_t>((static_cast<uint8_t>(side) << 1) | static_cast<uint8_t>(bucket)));
  w.i128_compact(amount_minor);
}

}  // namespace

std::string encode_journal_entry(const JournalEntry& e) {
  std::string s;
  Writer w(&s);
  write_header(w, e.body_case, e.fired, e.occurred_at_s, e.event_id, e.merchant, e.payment,
               e.reference, e.lines.size());
  for (const auto& l : e.lines) write_line(w, l.account, l.asset, l.side, l.bucket, l.amount_minor);
  return s;
}

void append_journal_entry(std::string* out, uint8_t body_case, bool fired, int64_t occurred_at_s,
                          std::string_view event_id, std::string_view merchant,
                          std::string_view payment, std::string_view reference,
                          const std::vector<ledger::Line>& lines) {
  Writer w(out);
  write_header(w, body_case, fired, occurred_at_s, event_id, merchant, payment, reference,
               lines.size());
  for (const auto& l : lines) {
    write_line(w, l.account.name(), l.asset.code(), l.side, l.bucket, l.amount_minor);
  }
}

Result<JournalEntry> decode_journal_entry(std::string_view key, std::string_view bytes) {
  JournalEntry e;
  if (key.size() != 17 || key[4] != kJournalEntryTag) return corrupt("journal key");
  e.partition = read_be32(key);
  e.offset = read_be64(key.substr(5));
  e.seq = read_be32(key.substr(13));
  Reader r(bytes);
  uint8_t version = 0, fired = 0, n = 0;
  uint64_t at = 0;
  std::string_view event_id, merchant, payment, reference;
  if (!r.u8(&version) || version != 1 || !r.u8(&e.body_case) || !r.u8(&fired) || fired > 1 ||
      !r.be64(&at) || !r.str16(&event_id) || !r.str16(&merchant) || !r.str16(&payment) ||
      !r.str16(&reference) || !r.u8(&n)) {
    return corrupt(fmt::format("journal entry at partition {} offset {}", e.partition, e.offset));
  }
  e.fired = fired == 1;
  e.occurred_at_s = static_cast<int64_t>(at);
  e.event_id = event_id;
  e.merchant = merchant;
  e.payment = payment;
  e.reference = reference;
  e.lines.reserve(n);
  for (uint8_t i = 0; i < n; ++i) {
    std::string_view account, asset;
    uint8_t sb = 0;
    JournalLine l;
    if (!r.str16(&account) || !r.str16(&asset) || !r.u8(&sb) || sb > 3 ||
        !r.i128_compact(&l.amount_minor) || l.amount_minor.sign() <= 0) {
      return corrupt(fmt::format("journal line at partition {} offset {}", e.partition, e.offset));
    }
    l.account = account;
    l.asset = asset;
    l.side = static_cast<ledger::Side>(sb >> 1);
    l.bucket = static_cast<ledger::Bucket>(sb & 1);
    e.lines.push_back(std::move(l));
  }
  if (!r.done()) {
    return corrupt(fmt::format("journal entry at partition {} offset {} (trailing bytes)",
                               e.partition, e.offset));
  }
  return e;
}

Sha256Digest sha256_of(std::string_view bytes) {
  // Fetched and allocated once per thread, as content_fingerprint does (records.cc).
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  PAYLEDGER_CHECK(sha256 != nullptr, "OpenSSL has no SHA256");
  struct Ctx {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Ctx() { EVP_MD_CTX_free(ctx); }
  };
  thread_local Ctx t;
  PAYLEDGER_CHECK(t.ctx != nullptr, "OpenSSL could not allocate a digest context");
  Sha256Digest d;
  unsigned int size = 0;
  PAYLEDGER_CHECK(EVP_DigestInit_ex2(t.ctx, sha256, nullptr) == 1 &&
                  EVP_DigestUpdate(t.ctx, bytes.data(), bytes.size()) == 1 &&
                  EVP_DigestFinal_ex(t.ctx, d.data(), &size) == 1 && size == d.size());
  return d;
}

Sha256Digest raw_record_digest(std::string_view value) {
  std::string bytes = "raw";
  bytes.append(value);
  return sha256_of(bytes);
}

void chain_step(ChainHead* chain, const Sha256Digest& record_digest) {
  char buf[5 + 32 + 32];
  std::memcpy(buf, "plch1", 5);
  std::memcpy(buf + 5, chain->head.data(), 32);
  std::memcpy(buf + 37, record_digest.data(), 32);
  chain->head = sha256_of(std::string_view(buf, sizeof buf));
  ++chain->records;
}

std::string chain_key(uint32_t partition, uint64_t next_offset) {
  std::string k;
  Writer w(&k);
  w.be32(partition);
  w.u8(static_cast<uint8_t>(kJournalChainTag));
  w.be64(next_offset);
  return k;
}

std::string encode_chain_head(const ChainHead& c) {
  std::string s(reinterpret_cast<const char*>(c.head.data()), c.head.size());
  Writer(&s).be64(c.records);
  return s;
}

Result<ChainHead> decode_chain_head(std::string_view bytes) {
  if (bytes.size() != 40) return corrupt("chain head");
  ChainHead c;
  std::memcpy(c.head.data(), bytes.data(), 32);
  c.records = read_be64(bytes.substr(32));
  return c;
}

std::string hex_of(const Sha256Digest& d) {
  std::string out;
  out.reserve(64);
  for (unsigned char b : d) out += fmt::format("{:02x}", b);
  return out;
}

}  // namespace payledger::projections
