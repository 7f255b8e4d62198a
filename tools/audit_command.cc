// Audit commands (issue 12, docs/audit.md): the point-in-time options of the book queries,
// verify, checkpoint, rebuild --from-checkpoint and accounts.
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "ledger/account.h"
#include "ledger/asset.h"
#include "ledger/local_time.h"
#include "projections/audit.h"
#include "projections/verify.h"
#include "tools/progress.h"
#include "tools/query_stores.h"

namespace payledger::tools {

namespace {

using json = nlohmann::ordered_json;

void print_json(const json& j) {
  std::cout << j.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
}

json finding_json(const projections::Finding& f) {
  json j{{"what", f.what}, {"column_family", f.column_family}};
  if (f.partition) j["partition"] = *f.partition;
  if (f.offset) j["offset"] = *f.offset;
  if (!f.account.empty()) j["account"] = f.account;
  return j;
}

}  // namespace

Result<projections::PointInTime> read_point(const projections::Stores& stores,
                                            const PointArgs& args) {
  projections::PointInTime at;
  if (!args.as_of.empty()) {
    std::optional<int64_t> t;
    if (auto bad = read_as_of(args.as_of, &t); bad) return make_error(Code::kMalformed, *bad);
    auto owners = projections::partition_owners(stores);
    if (!owners) return owners.error();
    auto earliest = projections::earliest_event_time(stores, *owners);
    if (!earliest) return earliest.error();
    if (!*earliest) {
      return make_error(
          Code::kInvalidArgument,
          fmt::format("--as-of {}: the books hold no event yet", ledger::utc_rfc3339(*t)));
    }
    if (*t < **earliest) {
      return make_error(Code::kInvalidArgument,
                        fmt::format("--as-of {} is before the books' first event ({}): there "
                                    "were no books yet",
                                    ledger::utc_rfc3339(*t), ledger::utc_rfc3339(**earliest)));
    }
    at.as_of_s = *t;
  }
  if (!args.at_offset.empty()) {
    auto heads = projections::chain_heads(stores);
    if (!heads) return heads.error();
    uint32_t partitions = 0;
    for (auto* st : stores) {
      auto n = st->recorded_partitions();
      if (!n) return n.error();
      partitions = std::max(partitions, *n);
    }
    auto positions = projections::parse_positions(args.at_offset, partitions);
    if (!positions) return make_error(Code::kMalformed, positions.error().reason);
    for (const auto& [p, o] : *positions) {
      uint64_t folded = 0;
      for (const auto& h : *heads) {
        if (h.partition == p) folded = h.next_offset;
      }
      if (o > folded) {
        return make_error(Code::kInvalidArgument,
                          fmt::format("--at-offset {}:{} is beyond what the books folded of "
                                      "partition {} (next offset {}): fold first, or ask for "
                                      "a position they hold",
                                      p, o, p, folded));
      }
    }
    at.at_offsets = std::move(positions).value();
  }
  return at;
}

int fail_point(const Error& e) {
  if (e.code == Code::kMalformed) return usage(e.reason);
  return fail(e);
}

int cmd_verify(const VerifyArgs& args) {
  const std::string& data = args.common.data;
  // No fold may move the books while they are compared (taken before the log is read).
  if (Status s = lock_for_fold(data); !s) return fail(s.error());
  // Opening the log reads every record and checks its CRC: a damaged record is named here
  // (file, byte, partition, record) before anything is refolded.
  auto log = open_embedded_log(data);
  if (!log) return fail(log.error());
  auto store = projections::Store::open(projections_path(data), /*read_only=*/true);
  if (!store) return fail(store.error());
  auto recorded = (*store)->recorded_log_identity();
  if (!recorded) return fail(recorded.error());
  if (!recorded->empty() && *recorded != (*log)->identity()) {
    return fail(make_error(Code::kInvalidArgument,
                           fmt::format("{} holds the books of log '{}', but {}/log is '{}'", data,
                                       *recorded, data, (*log)->identity())));
  }
  const std::string scratch = fmt::format("{}/verify.tmp-{}", data, ::getpid());
  std::error_code ec;
  std::filesystem::remove_all(scratch, ec);
  const bool show = !args.common.quiet && !args.common.json && stderr_is_tty();
  Progress progress("refolding", show);
  projections::FoldOptions options;
  options.batch_events_max = args.batch_events;
  options.sync = false;  // a scratch store: nothing to keep after a crash
  options.write_behind = true;
  options.read_ahead = true;
  options.on_progress = [&](const projections::FoldProgress& p) {
    progress.update(p.events_done, p.events_total);
  };
  auto report = projections::verify_store(**store, **log, scratch, options, (*log)->identity());
  if (!report) return fail(report.error());
  progress.finish(report->records, report->records);
  // The log may reach further than the books: what verify covered is what is folded.
  std::vector<std::string> behind;
  for (const auto& h : report->heads) {
    auto end = (*log)->end_offset(h.partition);
    if (end && *end > h.next_offset) {
      behind.push_back(
          fmt::format("partition {} folded to {} of {}", h.partition, h.next_offset, *end));
    }
  }
  if (args.common.json) {
    json heads = json::array();
    for (const auto& h : report->heads) {
      heads.push_back(json{{"partition", h.partition},
                           {"next_offset", h.next_offset},
                           {"records_chained", h.chain ? h.chain->records : 0},
                           {"chain_head", h.chain ? projections::hex_of(h.chain->head) : ""}});
    }
    json j{{"ok", report->ok()},
           {"records_refolded", report->records},
           {"chain_checkpoints_checked", report->checkpoints},
           {"partitions", heads}};
    j["chain"] = report->chain ? finding_json(*report->chain) : json(nullptr);
    j["first_difference"] = report->first ? finding_json(*report->first) : json(nullptr);
    j["not_folded"] = behind;
    print_json(j);
  } else {
    fmt::print(
        "refolded {} records of {} partition(s) into a scratch store; {} chain "
        "checkpoints checked against the log\n",
        report->records, report->heads.size(), report->checkpoints);
    for (const auto& h : report->heads) {
      fmt::print("  partition {}: next offset {}, chain head {}\n", h.partition, h.next_offset,
                 h.chain ? projections::hex_of(h.chain->head) : "-");
    }
    if (report->chain) fmt::print("CHAIN MISMATCH: {}\n", report->chain->what);
    if (report->first) fmt::print("DIFFERENCE: {}\n", report->first->what);
    if (report->ok()) {
      fmt::print(
          "verified: the stored projections equal a refold of the log, and every chain "
          "checkpoint matches its records\n");
    }
    for (const auto& b : behind) {
      fmt::print("note: {} (verify covers what is folded; `payledger fold` for the rest)\n", b);
    }
  }
  return report->ok() ? kExitOk : kExitFailed;
}

int cmd_checkpoint(const Common& common, const std::string& out_dir) {
  if (Status s = lock_for_fold(common.data); !s) return fail(s.error());
  auto store = projections::Store::open(projections_path(common.data), /*read_only=*/false);
  if (!store) return fail(store.error());
  auto info = projections::make_checkpoint(**store, out_dir, ledger::utc_rfc3339(::time(nullptr)));
  if (!info) return fail(info.error());
  if (common.json) {
    json heads = json::array();
    for (const auto& h : info->heads) {
      heads.push_back(json{{"partition", h.partition},
                           {"next_offset", h.next_offset},
                           {"chain_head", h.chain ? projections::hex_of(h.chain->head) : ""}});
    }
    print_json(json{{"checkpoint", out_dir},
                    {"digest", info->digest},
                    {"log_identity", info->log_identity},
                    {"positions", heads}});
  } else {
    fmt::print("checkpoint of {} in {} (digest {})\n", projections_path(common.data), out_dir,
               info->digest);
    for (const auto& h : info->heads) {
      fmt::print("  partition {}: next offset {}, chain head {}\n", h.partition, h.next_offset,
                 h.chain ? projections::hex_of(h.chain->head) : "-");
    }
    fmt::print("restore with `payledger rebuild --data DIR --from-checkpoint {}`\n", out_dir);
  }
  return kExitOk;
}

int cmd_restore(const FoldArgs& args, const std::string& checkpoint_dir, bool verify) {
  const std::string& data = args.common.data;
  if (args.log.kafka()) {
    return usage("--from-checkpoint restores books of the embedded log (DIR/log)");
  }
  auto info = projections::read_checkpoint(checkpoint_dir);
  if (!info) return fail(info.error());
  {
    auto log = open_embedded_log(data);
    if (!log) return fail(log.error());
    if (!info->log_identity.empty() && info->log_identity != (*log)->identity()) {
      return fail(
          make_error(Code::kInvalidArgument,
                     fmt::format("{} holds the books of log '{}', but {}/log is '{}'; "
                                 "nothing was changed",
                                 checkpoint_dir, info->log_identity, data, (*log)->identity())));
    }
    for (const auto& h : info->heads) {
      auto end = (*log)->end_offset(h.partition);
      if (!end) return fail(end.error());
      if (*end < h.next_offset) {
        return fail(make_error(
            Code::kInvalidArgument,
            fmt::format("the checkpoint covers partition {} to offset {} but {}/log ends at {}: "
                        "it is of a longer log; nothing was changed",
                        h.partition, h.next_offset, data, *end)));
      }
    }
  }
  if (Status s = lock_for_fold(data); !s) return fail(s.error());
  const std::string target = projections_path(data);
  // Copied beside the projections first: a copy that fails leaves them as they were.
  const std::string staged = target + ".restoring";
  std::error_code ec;
  std::filesystem::remove_all(staged, ec);
  std::filesystem::copy(checkpoint_dir + "/projections", staged,
                        std::filesystem::copy_options::recursive, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove_all(staged, ignored);
    return fail(make_error(Code::kIo, fmt::format("copy {}/projections to {}: {}; nothing was "
                                                  "changed",
                                                  checkpoint_dir, staged, ec.message())));
  }
  if (Status s = projections::Store::destroy(target); !s) return fail(s.error());
  std::filesystem::rename(staged, target, ec);
  if (ec) {
    return fail(
        make_error(Code::kIo, fmt::format("rename {} to {}: {}", staged, target, ec.message())));
  }
  if (!args.common.json) {
    fmt::print("restored {} from {} (digest {}); folding the log's tail\n", target, checkpoint_dir,
               info->digest);
  }
  int rc = cmd_fold(args);
  if (rc != kExitOk || !verify) return rc;
  VerifyArgs v;
  v.common = args.common;
  v.batch_events = args.batch_events;
  return cmd_verify(v);
}

int cmd_accounts(const Common& common, const std::string& prefix) {
  auto opened = open_query_stores(common);
  if (!opened) return fail(opened.error());
  auto rows = projections::list_balances(opened->stores, prefix);
  if (!rows) return fail(rows.error());
  if (rows->empty() && !prefix.empty()) {
    return fail(
        make_error(Code::kInvalidArgument, fmt::format("no account starts with '{}'", prefix)));
  }
  struct Account {
    std::string type;
    std::string normal;
    std::vector<std::string> assets;
  };
  std::map<std::string, Account> accounts;
  for (const auto& r : *rows) {
    Account& a = accounts[r.account];
    if (a.type.empty()) {
      auto id = ledger::AccountId::parse(r.account);
      a.type = id ? std::string(ledger::account_type_name(id->type())) : "unknown";
      a.normal = r.normal == ledger::Side::kDebit ? "debit" : "credit";
    }
    a.assets.push_back(r.asset);
  }
  if (common.csv) {
    std::cout << csv_record({"account", "type", "normal_side", "assets"});
    for (const auto& [name, a] : accounts) {
      std::string assets;
      for (const auto& x : a.assets) assets += (assets.empty() ? "" : " ") + x;
      std::cout << csv_record({name, a.type, a.normal, assets});
    }
    return kExitOk;
  }
  std::map<std::string, size_t> assets;
  for (const auto& r : *rows) ++assets[r.asset];
  // The event time the books span (what --as-of can ask about).
  auto owners = projections::partition_owners(opened->stores);
  if (!owners) return fail(owners.error());
  auto first = projections::earliest_event_time(opened->stores, *owners);
  if (!first) return fail(first.error());
  auto latest = projections::latest_event_time(opened->stores, *owners);
  if (!latest) return fail(latest.error());
  if (common.json) {
    json list = json::array();
    for (const auto& [name, a] : accounts) {
      list.push_back(json{
          {"account", name}, {"type", a.type}, {"normal_side", a.normal}, {"assets", a.assets}});
    }
    json asset_list = json::array();
    for (const auto& [code, n] : assets) {
      auto asset = ledger::Asset::find(code);
      asset_list.push_back(
          json{{"asset", code}, {"exponent", asset ? asset->exponent() : 0}, {"accounts", n}});
    }
    json doc{{"accounts", list}, {"assets", asset_list}};
    doc["first_event_at"] = *first ? json(ledger::utc_rfc3339(**first)) : json(nullptr);
    doc["latest_event_at"] = *latest ? json(ledger::utc_rfc3339(**latest)) : json(nullptr);
    if (!opened->complete) {
      doc["complete"] = false;
      doc["gaps"] = opened->gaps;
    }
    print_json(doc);
    return kExitOk;
  }
  fmt::print("{:<40} {:<10} {:<7} {}\n", "ACCOUNT", "TYPE", "NORMAL", "ASSETS");
  for (const auto& [name, a] : accounts) {
    std::string list;
    for (const auto& x : a.assets) list += (list.empty() ? "" : " ") + x;
    fmt::print("{:<40} {:<10} {:<7} {}\n", name, a.type, a.normal, list);
  }
  fmt::print("{} accounts in {} assets", accounts.size(), assets.size());
  if (*first && *latest) {
    fmt::print("; events from {} to {}", ledger::utc_rfc3339(**first),
               ledger::utc_rfc3339(**latest));
  }
  fmt::print("\n");
  return kExitOk;
}

}  // namespace payledger::tools
