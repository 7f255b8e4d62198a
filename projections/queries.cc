#include "projections/queries.h"

#include <map>
#include <memory>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "ledger/account.h"
#include "ledger/asset.h"

namespace payledger::projections {
namespace {

using ledger::Int128;

Error rocks_error(std::string_view what, const rocksdb::Status& s) {
  return make_error(Code::kIo, fmt::format("{}: {}", what, s.ToString()));
}

int exponent_of(std::string_view code) {
  auto asset = ledger::Asset::find(code);
  return asset ? asset->exponent() : 0;
}

ledger::Side normal_of(std::string_view account) {
  auto id = ledger::AccountId::parse(account);
  return id ? ledger::normal_side(id->type()) : ledger::Side::kDebit;
}

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr);
  }
  // Length-prefixed so concatenations cannot collide.
  void field(std::string_view bytes) {
    std::string len = be32_string(static_cast<uint32_t>(bytes.size()));
    EVP_DigestUpdate(ctx_.get(), len.data(), len.size());
    EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size());
  }
  std::string hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_.get(), md, &n);
    std::string out;
    for (unsigned int i = 0; i < n; ++i) out += fmt::format("{:02x}", md[i]);
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx_;
};

}  // namespace

Result<std::vector<BalanceRow>> list_balances(Store& store, std::string_view prefix) {
  std::vector<BalanceRow> rows;
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(query_read_options(), store.cf(Cf::kBalances)));
  for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size())); it->Valid(); it->Next()) {
    std::string_view key(it->key().data(), it->key().size());
    if (!key.starts_with(prefix)) break;
    std::string_view account, asset;
    if (!split_balance_key(key, &account, &asset)) {
      return make_error(Code::kCorrupt, "balance key without asset");
    }
    auto b = decode_balance(std::string_view(it->value().data(), it->value().size()));
    if (!b) return b.error();
    rows.push_back(BalanceRow{std::string(account), std::string(asset), exponent_of(asset),
                              normal_of(account), *b});
  }
  if (!it->status().ok()) return rocks_error("scan balances", it->status());
  return rows;
}

Result<std::vector<StatementLine>> statement(Store& store, std::string_view account,
                                             size_t limit) {
  std::vector<StatementLine> lines;
  std::string prefix = std::string(account) + '\0';
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(query_read_options(), store.cf(Cf::kEntries)));
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    std::string_view key(it->key().data(), it->key().size());
    if (!key.starts_with(prefix)) break;
    std::string_view rest = key.substr(prefix.size());
    size_t z = rest.find('\0');
    if (z == std::string_view::npos || rest.size() != z + 1 + 4 + 8) {
      return make_error(Code::kCorrupt, "entry key has the wrong shape");
    }
    uint32_t partition = 0;
    Reader(rest.substr(z + 1, 4)).be32(&partition);
    auto chunk = decode_entry_chunk(std::string_view(it->value().data(), it->value().size()));
    if (!chunk) return chunk.error();
    for (auto& l : *chunk) {
      lines.push_back(StatementLine{std::string(rest.substr(0, z)), partition, std::move(l)});
      if (limit != 0 && lines.size() >= limit) return lines;
    }
  }
  if (!it->status().ok()) return rocks_error("scan entries", it->status());
  return lines;
}

bool TrialBalance::balanced() const {
  for (const auto& row : assets) {
    if (!row.balanced()) return false;
  }
  return true;
}

Result<TrialBalance> trial_balance(Store& store) {
  auto rows = list_balances(store, "");
  if (!rows) return rows.error();
  std::map<std::string, TrialBalanceRow> by_asset;
  TrialBalance tb;
  try {
    for (const auto& r : *rows) {
      auto& t = by_asset[r.asset];
      t.asset = r.asset;
      t.exponent = r.exponent;
      Int128 posted = r.balance.posted_debit - r.balance.posted_credit;
      if (posted.sign() > 0) t.debit += posted; else t.credit -= posted;
      Int128 pending = r.balance.pending_debit - r.balance.pending_credit;
      if (pending.sign() > 0) t.pending_debit += pending; else t.pending_credit -= pending;
      ++tb.accounts;
    }
  } catch (const std::overflow_error&) {
    return make_error(Code::kOverflow, "trial balance totals exceed 128 bits");
  }
  for (auto& [_, row] : by_asset) tb.assets.push_back(std::move(row));
  return tb;
}

Result<std::vector<Reject>> list_rejects(Store& store, size_t limit) {
  std::vector<Reject> out;
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(query_read_options(), store.cf(Cf::kRejects)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto r = decode_reject(std::string_view(it->key().data(), it->key().size()),
                           std::string_view(it->value().data(), it->value().size()));
    if (!r) return r.error();
    out.push_back(std::move(r).value());
    if (limit != 0 && out.size() >= limit) break;
  }
  if (!it->status().ok()) return rocks_error("scan rejects", it->status());
  return out;
}

Result<std::string> projection_digest(Store& store) {
  Sha256 sha;
  for (Cf cf : {Cf::kBalances, Cf::kPayments}) {
    sha.field(cf_name(cf));
    std::unique_ptr<rocksdb::Iterator> it(store.db()->NewIterator(query_read_options(),
                                                                  store.cf(cf)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      sha.field(std::string_view(it->key().data(), it->key().size()));
      sha.field(std::string_view(it->value().data(), it->value().size()));
    }
    if (!it->status().ok()) return rocks_error("scan for digest", it->status());
  }
  // Entries: hash logical lines, not chunks, so batch boundaries do not matter.
  sha.field(cf_name(Cf::kEntries));
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(query_read_options(), store.cf(Cf::kEntries)));
  std::string line_bytes;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string_view key(it->key().data(), it->key().size());
    if (key.size() < 8) return make_error(Code::kCorrupt, "entry key too short");
    std::string_view prefix = key.substr(0, key.size() - 8);  // without first_offset
    auto chunk = decode_entry_chunk(std::string_view(it->value().data(), it->value().size()));
    if (!chunk) return chunk.error();
    for (const auto& l : *chunk) {
      line_bytes.clear();
      append_entry_line(&line_bytes, l);
      sha.field(prefix);
      sha.field(line_bytes);
    }
  }
  if (!it->status().ok()) return rocks_error("scan entries for digest", it->status());
  return sha.hex();
}

}  // namespace payledger::projections
