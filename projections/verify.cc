#include "projections/verify.h"

#include <fmt/format.h>
#include <rocksdb/utilities/checkpoint.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "projections/scan.h"

namespace payledger::projections {

namespace {

using ledger::Balance;

std::string printable(std::string_view key) {
  std::string out;
  for (unsigned char c : key) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  return out;
}

std::optional<uint32_t> partition_of(std::string_view key) {
  uint32_t p = 0;
  if (key.size() < 4 || !Reader(key.substr(0, 4)).be32(&p)) return std::nullopt;
  return p;
}

std::string balance_text(const Balance& b, int exponent) {
  auto f = [&](const Int128& v) { return ledger::format_scaled(v, exponent); };
  return fmt::format("posted debit {} credit {}, pending debit {} credit {}", f(b.posted_debit),
                     f(b.posted_credit), f(b.pending_debit), f(b.pending_credit));
}

// One comparable element of a column family: a stored key and value, or one line of a chunk
// (group: the chunk's key without its first offset; value: the line's encoding).
struct Element {
  std::string group;
  std::string value;
  std::string key;                 // the stored key it came from
  std::optional<uint64_t> offset;  // of a line
};

// The elements of one column family of one store, in order.
class Elements {
 public:
  Elements(Store& store, Cf cf, bool check_headers)
      : store_(store),
        cf_(cf),
        check_headers_(check_headers),
        it_(store.cursor(cf, Reading::kQuery)) {
    it_.seek_to_first();
  }
  // The next element, or nullopt at the end; a finding (a chunk whose closing balance is not
  // its lines') or an error stops the walk.
  Result<std::optional<Element>> next() {
    while (pending_.empty()) {
      if (finding_) return std::optional<Element>();
      if (!it_.valid()) {
        if (Status s = it_.status(cf_name(cf_)); !s) return s.error();
        return std::optional<Element>();
      }
      if (Status s = expand(it_.key(), it_.value()); !s) return s.error();
      it_.next();
    }
    Element e = std::move(pending_.front());
    pending_.erase(pending_.begin());
    return std::optional<Element>(std::move(e));
  }
  const std::optional<Finding>& finding() const { return finding_; }

 private:
  Status expand(std::string_view key, std::string_view value) {
    if (cf_ == Cf::kMeta) {
      // Where the log was seen to end and its last record: noted per fold, not content.
      if (key.starts_with("log_end/") || key.starts_with("last_record/")) return Status::Ok();
      pending_.push_back(Element{std::string(key), std::string(value), std::string(key), {}});
      return Status::Ok();
    }
    if (cf_ == Cf::kJournal) {
      if (key.size() > 4 && key[4] == kJournalChainTag) return Status::Ok();  // checked apart
      pending_.push_back(Element{std::string(key), std::string(value), std::string(key), {}});
      return Status::Ok();
    }
    if (cf_ == Cf::kEntries) {
      KeyParts parts;
      uint64_t first = 0;
      if (!split_entry_key(key, &parts, &first)) {
        return make_error(Code::kCorrupt, fmt::format("{}: entries key {} has the wrong shape",
                                                      store_.dir(), printable(key)));
      }
      auto lines = decode_entry_chunk(value);
      if (!lines) return lines.error();
      std::string group(key.substr(0, key.size() - 8));
      if (group != running_group_) {
        running_group_ = group;
        running_ = Balance{};
      }
      for (const auto& l : *lines) {
        if (Status s = running_.add(l.side, l.bucket, l.amount_minor); !s) return s;
        std::string bytes;
        append_entry_line(&bytes, l);
        pending_.push_back(Element{group, std::move(bytes), std::string(key), l.offset});
      }
      if (check_headers_) {
        auto closing = entry_chunk_closing(value);
        if (!closing) return closing.error();
        if (!(*closing == running_)) {
          const int exponent = exponent_of(parts.b);
          finding_ = Finding{
              fmt::format("partition {}: the entries chunk of {} {} at offset {} says the "
                          "balance after it is {}, but the lines up to it add up to {}",
                          parts.partition, parts.a, parts.b, first,
                          balance_text(*closing, exponent), balance_text(running_, exponent)),
              std::string(cf_name(cf_)), parts.partition, first,
              fmt::format("{} {}", parts.a, parts.b)};
        }
      }
      return Status::Ok();
    }
    if (cf_ == Cf::kHistory) {
      HistoryKey hk;
      if (!split_history_key(key, &hk)) {
        return make_error(Code::kCorrupt, fmt::format("{}: history key {} has the wrong shape",
                                                      store_.dir(), printable(key)));
      }
      if (hk.tag == kDaySumTag) {
        pending_.push_back(Element{std::string(key), std::string(value), std::string(key), {}});
        return Status::Ok();
      }
      auto lines = decode_entry_lines(value);
      if (!lines) return lines.error();
      std::string group(key.substr(0, key.size() - 8));
      for (const auto& l : *lines) {
        std::string bytes;
        append_entry_line(&bytes, l);
        pending_.push_back(Element{group, std::move(bytes), std::string(key), l.offset});
      }
      return Status::Ok();
    }
    if (cf_ == Cf::kRejects) {
      // `payledger replay` marks a parked record resolved in place: not a fold's output.
      auto r = decode_reject(key, value);
      if (!r) return r.error();
      r->resolved.clear();
      pending_.push_back(Element{std::string(key), encode_reject(*r), std::string(key), {}});
      return Status::Ok();
    }
    pending_.push_back(Element{std::string(key), std::string(value), std::string(key), {}});
    return Status::Ok();
  }

  Store& store_;
  Cf cf_;
  bool check_headers_;
  StoreCursor it_;
  std::vector<Element> pending_;
  std::string running_group_;
  Balance running_;
  std::optional<Finding> finding_;
};

// Names a difference at element `a` (stored) against `b` (refolded); either may be missing.
Finding describe(Cf cf, const std::optional<Element>& a, const std::optional<Element>& b) {
  const Element& e = a ? *a : *b;
  Finding f;
  f.column_family = std::string(cf_name(cf));
  f.partition = partition_of(e.key);
  f.offset = e.offset;
  const char* presence = !a   ? "is missing from the stored projections"
                         : !b ? "is in the stored projections but not in the refold"
                              : "differs";
  KeyParts parts;
  if ((cf == Cf::kBalances || cf == Cf::kEntries || cf == Cf::kHistory) &&
      split_key(cf == Cf::kBalances ? std::string_view(e.key) : std::string_view(e.group),
                &parts)) {
    std::string_view asset = parts.b;
    if (cf != Cf::kBalances) asset = asset.substr(0, asset.find('\0'));
    f.account = fmt::format("{} {}", parts.a, asset);
    if (cf == Cf::kBalances && a && b) {
      auto sa = decode_balance(a->value), sb = decode_balance(b->value);
      const int exponent = exponent_of(asset);
      f.what = fmt::format(
          "partition {}: the balance of {} {} differs: stored {}; the log "
          "gives {}",
          parts.partition, parts.a, asset, sa ? balance_text(*sa, exponent) : "(does not decode)",
          sb ? balance_text(*sb, exponent) : "(does not decode)");
      return f;
    }
    f.what =
        fmt::format("partition {}: {} of {} {}{} {}", parts.partition,
                    cf == Cf::kBalances  ? "the balance"
                    : cf == Cf::kEntries ? "an entry line"
                                         : "the history",
                    parts.a, asset,
                    e.offset ? fmt::format(" at offset {}", *e.offset) : std::string(), presence);
    return f;
  }
  if (cf == Cf::kJournal && e.key.size() == 17) {
    f.offset = read_be64(std::string_view(e.key).substr(5));
    f.what = fmt::format("partition {}: the journal entry at offset {} {}", f.partition.value_or(0),
                         *f.offset, presence);
    return f;
  }
  if (cf == Cf::kRejects && e.key.size() == 12) {
    f.offset = read_be64(std::string_view(e.key).substr(4));
    f.what = fmt::format("partition {}: the parked record at offset {} {}", f.partition.value_or(0),
                         *f.offset, presence);
    return f;
  }
  f.what = fmt::format(
      "{}{} key {} {}", cf_name(cf),
      f.partition && cf != Cf::kMeta ? fmt::format(" (partition {})", *f.partition) : std::string(),
      printable(e.key), presence);
  if (cf == Cf::kMeta) f.partition.reset();
  return f;
}

struct Checkpoint {
  uint64_t next_offset = 0;
  ChainHead head;
};

// Every chain checkpoint `store` holds, per partition in offset order.
Result<std::map<uint32_t, std::vector<Checkpoint>>> stored_checkpoints(Store& store) {
  std::map<uint32_t, std::vector<Checkpoint>> out;
  StoreCursor it = store.cursor(Cf::kJournal, Reading::kQuery);
  for (it.seek_to_first(); it.valid(); it.next()) {
    std::string_view key = it.key();
    if (key.size() != 13 || key[4] != kJournalChainTag) continue;
    auto head = decode_chain_head(it.value());
    if (!head) return head.error();
    out[*partition_of(key)].push_back(Checkpoint{read_be64(key.substr(5)), *head});
  }
  if (Status s = it.status("journal"); !s) return s.error();
  return out;
}

}  // namespace

Result<std::optional<Finding>> first_difference(Store& stored, Store& refolded) {
  for (int c = 0; c < static_cast<int>(Cf::kCount); ++c) {
    const Cf cf = static_cast<Cf>(c);
    Elements a(stored, cf, /*check_headers=*/true);
    Elements b(refolded, cf, /*check_headers=*/false);
    for (;;) {
      auto ea = a.next();
      if (!ea) return ea.error();
      if (a.finding()) return a.finding();
      auto eb = b.next();
      if (!eb) return eb.error();
      if (!*ea && !*eb) break;
      if (*ea && *eb && (*ea)->group == (*eb)->group && (*ea)->value == (*eb)->value) continue;
      // Name the one that comes first in key order (a missing key shows as the other's).
      if (*ea && *eb && (*ea)->group != (*eb)->group) {
        if ((*ea)->group < (*eb)->group) return std::optional<Finding>(describe(cf, *ea, {}));
        return std::optional<Finding>(describe(cf, {}, *eb));
      }
      return std::optional<Finding>(describe(cf, *ea, *eb));
    }
  }
  return std::optional<Finding>();
}

Status BoundedLog::append(std::span<const events::AppendRecord>) {
  return make_error(Code::kInvalidArgument, "a bounded log is read-only");
}

Status BoundedLog::read(uint32_t partition, uint64_t from_offset, size_t max_records,
                        events::ReadBatch* out) {
  const uint64_t end = partition < ends_.size() ? ends_[partition] : 0;
  if (from_offset >= end) {
    out->clear();
    return Status::Ok();
  }
  if (Status s = log_.read(partition, from_offset, max_records, out); !s) return s;
  while (!out->records.empty() && out->records.back().offset >= end) out->records.pop_back();
  return Status::Ok();
}

Result<uint64_t> BoundedLog::end_offset(uint32_t partition) {
  auto end = log_.end_offset(partition);
  if (!end) return end.error();
  const uint64_t cap = partition < ends_.size() ? ends_[partition] : 0;
  return std::min(*end, cap);
}

Result<VerifyReport> verify_store(Store& stored, events::EventLog& log,
                                  const std::string& scratch_dir, FoldOptions options,
                                  const std::string& log_identity) {
  VerifyReport report;
  auto heads = chain_heads(Stores{&stored});
  if (!heads) return heads.error();
  report.heads = *heads;
  const uint32_t n = log.partition_count();
  std::vector<uint64_t> ends(n, 0);
  for (const auto& h : report.heads) {
    if (h.partition < n) ends[h.partition] = h.next_offset;
  }
  for (const auto& h : report.heads) {
    auto end = h.partition < n ? log.end_offset(h.partition) : Result<uint64_t>(uint64_t{0});
    if (!end) return end.error();
    if (*end < h.next_offset) {
      return make_error(Code::kInvalidArgument,
                        fmt::format("partition {}: the books are folded to offset {} but the log "
                                    "ends at {}: the log lost records the books hold (restore it, "
                                    "or `payledger rebuild` to refold the log as it is)",
                                    h.partition, h.next_offset, *end));
    }
  }
  auto checkpoints = stored_checkpoints(stored);
  if (!checkpoints) return checkpoints.error();
  // As the refold passes each stored checkpoint: the head the log's records give there.
  std::map<uint32_t, size_t> next_checkpoint;
  std::map<uint32_t, ChainHead> previous;  // the head before the record being chained
  auto check = [&](uint32_t p, uint64_t upto, const ChainHead& head, const ChainHead& before) {
    auto cps = checkpoints->find(p);
    if (cps == checkpoints->end()) return;
    size_t& i = next_checkpoint[p];
    for (; i < cps->second.size() && cps->second[i].next_offset <= upto; ++i) {
      const Checkpoint& cp = cps->second[i];
      // A checkpoint below `upto` sits past offsets with no record (Kafka markers): the head
      // before this record is its head.
      const ChainHead& expect = cp.next_offset == upto ? head : before;
      ++report.checkpoints;
      if (report.chain || expect == cp.head) continue;
      const uint64_t from = i == 0 ? 0 : cps->second[i - 1].next_offset;
      report.chain = Finding{
          fmt::format("partition {}: the log's records before offset {} hash to {} ({} records) "
                      "but the store recorded {} ({} records) when it folded them: a record in "
                      "offsets {}..{} is not what was folded",
                      p, cp.next_offset, hex_of(expect.head), expect.records, hex_of(cp.head.head),
                      cp.head.records, from, cp.next_offset - 1),
          "journal", p, cp.next_offset - 1, ""};
    }
  };
  options.log_identity = log_identity;
  auto outer = options.on_chained;
  options.on_chained = [&](uint32_t p, uint64_t next_offset, const ChainHead& head) {
    ChainHead& before = previous[p];
    check(p, next_offset, head, before);
    before = head;
    if (outer) outer(p, next_offset, head);
  };
  if (std::filesystem::exists(scratch_dir)) {
    return make_error(Code::kInvalidArgument,
                      fmt::format("scratch directory {} already exists", scratch_dir));
  }
  Status result = Status::Ok();
  {
    auto scratch = Store::open(scratch_dir, /*read_only=*/false);
    BoundedLog bounded(log, ends);
    auto stats = scratch ? fold(**scratch, bounded, options) : Result<FoldStats>(scratch.error());
    if (!stats) {
      result = stats.error();
    } else {
      report.records = stats->records;
      for (const auto& [p, cps] : *checkpoints) {  // checkpoints past the last record
        ChainHead last = previous[p];
        check(p, std::numeric_limits<uint64_t>::max(), last, last);
      }
      // The latest checkpoint must cover the stored offset (the fold writes one with every
      // commit that moves it): a deleted or stale one would let the chain go on from an old head.
      for (const auto& h : report.heads) {
        if (report.chain || h.next_offset == 0 || (h.chain && h.chain_at == h.next_offset)) {
          continue;
        }
        report.chain = Finding{
            h.chain ? fmt::format("partition {}: the latest hash-chain checkpoint covers offset "
                                  "{} but the books are folded to {}: checkpoints were removed",
                                  h.partition, h.chain_at, h.next_offset)
                    : fmt::format("partition {} is folded to offset {} but has no hash-chain "
                                  "checkpoint: they were removed",
                                  h.partition, h.next_offset),
            "journal", h.partition, h.next_offset, ""};
      }
      auto diff = first_difference(stored, **scratch);
      if (!diff) {
        result = diff.error();
      } else {
        report.first = *diff;
      }
    }
  }
  if (Status s = Store::destroy(scratch_dir); !s && result.ok()) result = s;
  if (!result) return result.error();
  return report;
}

namespace {

// SHA-256 over every key and value of every column family (names and lengths included): the
// copy a checkpoint holds, byte for byte (the projection digest leaves out what is not ledger
// content, e.g. chunk boundaries and offsets, which a restore depends on all the same).
Result<std::string> store_sha256(Store& store) {
  std::string buf;
  auto field = [&](std::string_view bytes) {
    Writer(&buf).be32(static_cast<uint32_t>(bytes.size()));
    buf.append(bytes);
  };
  Sha256Digest running{};
  auto fold_in = [&] {  // chains the buffer into the running digest, bounding memory
    std::string block(reinterpret_cast<const char*>(running.data()), running.size());
    block += buf;
    running = sha256_of(block);
    buf.clear();
  };
  for (int c = 0; c < static_cast<int>(Cf::kCount); ++c) {
    field(cf_name(static_cast<Cf>(c)));
    StoreCursor it = store.cursor(static_cast<Cf>(c), Reading::kQuery);
    for (it.seek_to_first(); it.valid(); it.next()) {
      field(it.key());
      field(it.value());
      if (buf.size() > (size_t{1} << 20)) fold_in();
    }
    if (Status s = it.status(cf_name(static_cast<Cf>(c))); !s) return s.error();
  }
  fold_in();
  return hex_of(running);
}

nlohmann::ordered_json heads_json(const std::vector<PartitionHead>& heads) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& h : heads) {
    out.push_back({{"partition", h.partition},
                   {"next_offset", h.next_offset},
                   {"records", h.chain ? h.chain->records : 0},
                   {"chain_head", h.chain ? hex_of(h.chain->head) : std::string()}});
  }
  return out;
}

}  // namespace

Result<CheckpointInfo> make_checkpoint(Store& store, const std::string& out_dir,
                                       const std::string& created_at) {
  if (std::filesystem::exists(out_dir)) {
    return make_error(
        Code::kInvalidArgument,
        fmt::format("{} already exists: a checkpoint goes into a new directory", out_dir));
  }
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) return make_error(Code::kIo, fmt::format("create {}: {}", out_dir, ec.message()));
  // A checkpoint that failed half way is removed: a retry starts clean.
  struct Cleanup {
    const std::string& dir;
    bool keep = false;
    ~Cleanup() {
      std::error_code ignored;
      if (!keep) std::filesystem::remove_all(dir, ignored);
    }
  } cleanup{out_dir};
  CheckpointInfo info;
  auto heads = chain_heads(Stores{&store});
  if (!heads) return heads.error();
  info.heads = *heads;
  auto id = store.recorded_log_identity();
  if (!id) return id.error();
  info.log_identity = *id;
  auto n = store.recorded_partitions();
  if (!n) return n.error();
  info.partitions = *n;
  info.created_at = created_at;
  rocksdb::Checkpoint* raw = nullptr;
  rocksdb::Status s = rocksdb::Checkpoint::Create(store.rocks(), &raw);
  std::unique_ptr<rocksdb::Checkpoint> cp(raw);
  if (s.ok()) s = cp->CreateCheckpoint(out_dir + "/projections");
  if (!s.ok()) return store_error(fmt::format("checkpoint {} into {}", store.dir(), out_dir), s);
  // The digest of the copy, so a restore can be checked against it.
  auto copy = Store::open(out_dir + "/projections", /*read_only=*/true);
  if (!copy) return copy.error();
  auto digest = projection_digest(Stores{copy->get()});
  if (!digest) return digest.error();
  info.digest = *digest;
  auto whole = store_sha256(**copy);
  if (!whole) return whole.error();
  info.store_sha256 = *whole;
  nlohmann::ordered_json j{{"format", "payledger-checkpoint-1"},
                           {"log_identity", info.log_identity},
                           {"partitions", info.partitions},
                           {"created_at", info.created_at},
                           {"digest", info.digest},
                           {"store_sha256", info.store_sha256},
                           {"positions", heads_json(info.heads)}};
  const std::string path = out_dir + "/checkpoint.json";
  {
    std::ofstream f(path + ".tmp");
    f << j.dump(2) << "\n";
    f.flush();
    if (!f) return make_error(Code::kIo, fmt::format("write {}", path));
  }
  std::filesystem::rename(path + ".tmp", path, ec);
  if (ec) return make_error(Code::kIo, fmt::format("rename {}: {}", path, ec.message()));
  cleanup.keep = true;
  return info;
}

Result<CheckpointInfo> read_checkpoint(const std::string& dir) {
  const std::string path = dir + "/checkpoint.json";
  std::ifstream f(path);
  if (!f) {
    return make_error(Code::kIo, fmt::format("{} is not a checkpoint: no {} (make one with "
                                             "`payledger checkpoint`)",
                                             dir, path));
  }
  CheckpointInfo info;
  try {
    auto j = nlohmann::json::parse(f);
    if (j.at("format") != "payledger-checkpoint-1") {
      return make_error(Code::kInvalidArgument, fmt::format("{}: unknown checkpoint format", path));
    }
    info.log_identity = j.at("log_identity").get<std::string>();
    info.partitions = j.at("partitions").get<uint32_t>();
    info.created_at = j.at("created_at").get<std::string>();
    info.digest = j.at("digest").get<std::string>();
    info.store_sha256 = j.at("store_sha256").get<std::string>();
    for (const auto& h : j.at("positions")) {
      PartitionHead ph;
      ph.partition = h.at("partition").get<uint32_t>();
      ph.next_offset = h.at("next_offset").get<uint64_t>();
      info.heads.push_back(ph);
    }
  } catch (const nlohmann::json::exception& e) {
    return make_error(Code::kCorrupt, fmt::format("{}: {}", path, e.what()));
  }
  // The copy must be what the manifest says: the same digest.
  auto copy = Store::open(dir + "/projections", /*read_only=*/true);
  if (!copy) return copy.error();
  auto whole = store_sha256(**copy);
  if (!whole) return whole.error();
  if (*whole != info.store_sha256) {
    return make_error(Code::kCorrupt,
                      fmt::format("{}: the projections' SHA-256 {} is not the manifest's {}: the "
                                  "checkpoint was changed after it was made",
                                  dir, *whole, info.store_sha256));
  }
  auto heads = chain_heads(Stores{copy->get()});
  if (!heads) return heads.error();
  info.heads = *heads;
  return info;
}

}  // namespace payledger::projections
