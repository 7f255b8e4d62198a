#include "tools/commands.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "events/codec.h"
#include "events/embedded_log.h"
#include "events/kafka_log.h"
#include "ledger/account.h"
#include "projections/fold.h"
#include "projections/kafka_fold.h"
#include "projections/queries.h"
#include "tools/generator.h"
#include "tools/progress.h"

namespace payledger::tools {

std::atomic<bool> g_stop{false};

namespace {

namespace v1 = payledger::v1;
using json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

// Records per append call: bounds memory while appending large NDJSON files.
constexpr size_t kAppendBatchMax = 50000;

std::string log_dir(const std::string& data) { return data + "/log"; }
std::string projections_dir(const std::string& data) { return data + "/projections"; }

int fail(const Error& e) {
  fmt::print(stderr, "payledger: error: {} ({})\n", e.reason, code_name(e.code));
  return kExitFailed;
}

int usage(std::string_view message) {
  fmt::print(stderr, "payledger: {}\n", message);
  return kExitUsage;
}

void print_json(const json& j) { std::cout << j.dump(2) << "\n"; }

std::string iso_time(int64_t seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string scaled(const ledger::Int128& v, int exponent) {
  return ledger::format_scaled(v, exponent);
}

Result<std::unique_ptr<events::EmbeddedLog>> open_log(const std::string& data, bool writer,
                                                      uint32_t partitions, bool sync) {
  events::EmbeddedLogOptions o;
  o.writer = writer;
  o.partitions = partitions;
  o.sync = sync;
  return events::EmbeddedLog::open(log_dir(data), o);
}

Result<std::unique_ptr<projections::Store>> open_store(const std::string& data, bool read_only) {
  return projections::Store::open(projections_dir(data), read_only);
}

Result<events::KafkaOptions> kafka_options(const LogArgs& log) {
  events::KafkaOptions o;
  o.brokers = log.brokers;
  o.topic = log.topic;
  o.transactional_id = log.transactional_id;
  for (const auto& kv : log.properties) {
    auto parsed = events::parse_kafka_property(kv);
    if (!parsed) return parsed.error();
    o.extra.push_back(*parsed);
  }
  return o;
}

// The log appends go to: the embedded log in DIR/log, or the Kafka topic.
Result<std::unique_ptr<events::EventLog>> open_append_log(const Common& common,
                                                          const LogArgs& log,
                                                          uint32_t partitions, bool sync) {
  if (log.kafka()) {
    auto o = kafka_options(log);
    if (!o) return o.error();
    auto k = events::KafkaLog::open(*o);
    if (!k) return k.error();
    return std::unique_ptr<events::EventLog>(std::move(k).value());
  }
  auto e = open_log(common.data, /*writer=*/true, partitions, sync);
  if (!e) return e.error();
  return std::unique_ptr<events::EventLog>(std::move(e).value());
}

// The stores a query reads: --data plus any more instances' data directories.
struct OpenStores {
  std::vector<std::unique_ptr<projections::Store>> owned;
  projections::Stores stores;
};

Result<OpenStores> open_stores(const Common& common) {
  OpenStores out;
  std::vector<std::string> dirs{common.data};
  dirs.insert(dirs.end(), common.more_data.begin(), common.more_data.end());
  for (const auto& d : dirs) {
    auto st = open_store(d, true);
    if (!st) return st.error();
    out.stores.push_back(st->get());
    out.owned.push_back(std::move(st).value());
  }
  return out;
}

json stats_json(const projections::FoldStats& s, uint64_t events_per_s, int64_t elapsed_ms) {
  return json{{"records", s.records},       {"applied", s.applied},
              {"rejected", s.rejected},     {"duplicates", s.duplicates},
              {"batches", s.batches},       {"elapsed_ms", elapsed_ms},
              {"deadlines_fired", s.deadlines_fired}, {"expiries_noop", s.expiries_noop},
              {"events_per_s", events_per_s}};
}

// Folds the log (embedded DIR/log, or the Kafka topic as a group member) into DIR's
// projections, with a progress display unless quiet.
Result<projections::FoldStats> run_fold(const FoldArgs& args, Clock::duration* elapsed) {
  const Common& common = args.common;
  bool show = !common.quiet && !common.json && stderr_is_tty();
  projections::FoldOptions options;
  options.batch_events_max = args.batch_events;
  options.sync = args.sync;
  options.stop = &g_stop;
  auto start = Clock::now();
  if (args.log.kafka()) {
    auto kafka = kafka_options(args.log);
    if (!kafka) return kafka.error();
    // Reach the brokers before touching DIR: a broker that is down leaves no partial state.
    auto partitions = events::topic_partitions(*kafka);
    if (!partitions) return partitions.error();
    auto store = open_store(common.data, /*read_only=*/false);
    if (!store) return store.error();
    projections::KafkaFoldOptions ko;
    ko.fold = options;
    ko.group = args.log.group;
    ko.until_idle = args.until_idle;
    auto last_shown = Clock::now();
    ko.on_commit = [&](const projections::Folder& folder) {
      const projections::FoldStats& s = folder.stats();
      if (!show || Clock::now() - last_shown < std::chrono::milliseconds(250)) return;
      last_shown = Clock::now();
      fmt::print(stderr, "\r  folding from kafka: {} records ({} applied, {} rejected)   ",
                 s.records, s.applied, s.rejected);
    };
    auto stats = projections::fold_kafka(**store, *kafka, ko);
    *elapsed = Clock::now() - start;
    if (show) fmt::print(stderr, "\n");
    return stats;
  }
  auto log = open_log(common.data, /*writer=*/false, 0, false);
  if (!log) return log.error();
  auto store = open_store(common.data, /*read_only=*/false);
  if (!store) return store.error();
  Progress progress("folding", show);
  options.on_progress = [&](const projections::FoldProgress& p) {
    progress.update(p.events_done, p.events_total);
  };
  auto stats = projections::fold(**store, **log, options);
  *elapsed = Clock::now() - start;
  if (stats) progress.finish(stats->records, stats->records);
  return stats;
}

void print_fold_summary(const projections::FoldStats& s, Clock::duration elapsed) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
  fmt::print("folded {} records in {} ms ({} events/s): {} applied, {} rejected, {} duplicates\n",
             s.records, ms, per_second(s.records, elapsed), s.applied, s.rejected, s.duplicates);
  if (s.deadlines_fired + s.expiries_noop > 0) {
    fmt::print("deadlines: {} expiries booked from event time, {} explicit expiries of already "
               "expired payments recorded as no-ops\n",
               s.deadlines_fired, s.expiries_noop);
  }
  if (s.rejected > 0) fmt::print("see the rejected events with `payledger rejects`\n");
}

int finish_fold(const Common& common, Result<projections::FoldStats> stats,
                Clock::duration elapsed) {
  if (!stats) return fail(stats.error());
  if (common.json) {
    print_json(stats_json(*stats, per_second(stats->records, elapsed),
                          std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()));
  } else {
    print_fold_summary(*stats, elapsed);
  }
  return kExitOk;
}

// Reads NDJSON lines; a line that is not a valid event is kept as raw JSON so the fold
// parks it with its reason (bad input is never silently dropped).
events::AppendRecord to_record(const std::string& line, v1::Envelope* scratch) {
  scratch->Clear();
  if (events::from_json(line, scratch)) {
    return events::AppendRecord{scratch->merchant_id(), events::encode(*scratch),
                                events::RecordFormat::kProtobuf};
  }
  return events::AppendRecord{"", line, events::RecordFormat::kRawJson};
}

}  // namespace

int cmd_generate(const GenerateArgs& args) {
  std::ofstream file;
  std::ostream* out = &std::cout;
  if (args.out != "-") {
    file.open(args.out);
    if (!file) return fail(make_error(Code::kIo, fmt::format("cannot write {}", args.out)));
    out = &file;
  }
  Generator gen({args.events, args.seed, args.merchants, args.market});
  v1::Envelope e;
  while (gen.next(&e)) *out << events::to_json(e) << '\n';
  out->flush();
  if (!*out) return fail(make_error(Code::kIo, "write failed"));
  return kExitOk;
}

int cmd_append(const AppendArgs& args) {
  if (!args.log.kafka() && args.common.data.empty()) {
    return usage("append to the embedded log needs --data DIR (or --log kafka)");
  }
  std::ifstream file;
  std::istream* in = &std::cin;
  if (args.input != "-") {
    file.open(args.input);
    if (!file) return fail(make_error(Code::kIo, fmt::format("cannot read {}", args.input)));
    in = &file;
  }
  auto log = open_append_log(args.common, args.log, args.partitions, args.sync);
  if (!log) return fail(log.error());
  size_t batch_max = args.log.kafka() ? args.batch_events : kAppendBatchMax;
  std::vector<events::AppendRecord> batch;
  v1::Envelope scratch;
  uint64_t appended = 0, unparsed = 0;
  std::string line;
  auto flush = [&]() -> Status {
    Status s = (*log)->append(batch);
    if (s) appended += batch.size();
    batch.clear();
    return s;
  };
  while (std::getline(*in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    batch.push_back(to_record(line, &scratch));
    if (batch.back().format == events::RecordFormat::kRawJson) ++unparsed;
    if (batch.size() >= batch_max) {
      if (Status s = flush(); !s) return fail(s.error());
    }
  }
  if (Status s = flush(); !s) return fail(s.error());
  if (args.common.json) {
    print_json(json{{"appended", appended}, {"unparsed", unparsed}});
  } else {
    fmt::print("appended {} events to {}\n", appended,
               args.log.kafka() ? fmt::format("kafka topic {} on {}", args.log.topic,
                                              args.log.brokers)
                                : log_dir(args.common.data));
    if (unparsed > 0) {
      fmt::print(stderr,
                 "warning: {} lines are not valid events; they were logged as raw input and "
                 "the fold will park them (see `payledger rejects`)\n",
                 unparsed);
    }
  }
  return kExitOk;
}

int cmd_fold(const FoldArgs& args) {
  Clock::duration elapsed{};
  auto stats = run_fold(args, &elapsed);
  return finish_fold(args.common, std::move(stats), elapsed);
}

int cmd_rebuild(const FoldArgs& args) {
  if (!args.log.kafka() && !std::filesystem::exists(log_dir(args.common.data) + "/partitions")) {
    return fail(make_error(Code::kIo, fmt::format("no event log at {}", log_dir(args.common.data))));
  }
  if (Status s = projections::Store::destroy(projections_dir(args.common.data)); !s) {
    return fail(s.error());
  }
  if (!args.common.json) fmt::print("dropped projections; refolding from offset 0\n");
  return cmd_fold(args);
}

int cmd_balance(const Common& common, const std::string& prefix) {
  auto opened = open_stores(common);
  if (!opened) return fail(opened.error());
  auto rows = projections::list_balances(opened->stores, prefix);
  if (!rows) return fail(rows.error());
  if (common.json) {
    json out = json::array();
    for (const auto& r : *rows) {
      const auto& b = r.balance;
      out.push_back(json{
          {"account", r.account},
          {"asset", r.asset},
          {"normal_side", r.normal == ledger::Side::kDebit ? "debit" : "credit"},
          {"posted", scaled(b.posted_net(r.normal), r.exponent)},
          {"pending", scaled(b.pending_net(r.normal), r.exponent)},
          {"available", scaled(b.posted_net(r.normal), r.exponent)},
          {"posted_debit", scaled(b.posted_debit, r.exponent)},
          {"posted_credit", scaled(b.posted_credit, r.exponent)},
          {"pending_debit", scaled(b.pending_debit, r.exponent)},
          {"pending_credit", scaled(b.pending_credit, r.exponent)}});
    }
    print_json(out);
    return kExitOk;
  }
  fmt::print("{:<36} {:<8} {:>22} {:>22}\n", "ACCOUNT", "ASSET", "POSTED (available)", "PENDING");
  for (const auto& r : *rows) {
    fmt::print("{:<36} {:<8} {:>22} {:>22}\n", r.account, r.asset,
               scaled(r.balance.posted_net(r.normal), r.exponent),
               scaled(r.balance.pending_net(r.normal), r.exponent));
  }
  fmt::print("{} balances (signed on each account's normal side)\n", rows->size());
  return kExitOk;
}

int cmd_statement(const Common& common, const std::string& account, uint64_t limit) {
  if (auto id = ledger::AccountId::parse(account); !id) return usage(id.error().reason);
  auto opened = open_stores(common);
  if (!opened) return fail(opened.error());
  auto lines = projections::statement(opened->stores, account, limit);
  if (!lines) return fail(lines.error());
  ledger::Side normal = ledger::normal_side(ledger::AccountId::parse(account)->type());
  std::map<std::string, ledger::Int128> running;  // posted balance per asset
  json out = json::array();
  if (!common.json) {
    fmt::print("{:<14} {:<20} {:<16} {:<22} {:<7} {:<2} {:>16} {:<6} {:>18}\n", "LOG POS", "TIME",
               "EVENT", "KIND", "BUCKET", "", "AMOUNT", "ASSET", "POSTED BALANCE");
  }
  for (const auto& s : *lines) {
    int exponent = ledger::Asset::find(s.asset) ? ledger::Asset::find(s.asset)->exponent() : 0;
    const auto& l = s.line;
    bool posted = l.bucket == ledger::Bucket::kPosted;
    if (posted) {
      running[s.asset] += l.side == normal ? l.amount_minor : ledger::Int128(-l.amount_minor);
    }
    std::string side = l.side == ledger::Side::kDebit ? "Dr" : "Cr";
    std::string kind(events::body_name_of(l.body_case));
    if (common.json) {
      out.push_back(json{{"partition", s.partition}, {"offset", l.offset},
                         {"occurred_at", iso_time(l.occurred_at_s)}, {"event_id", l.event_id},
                         {"kind", kind}, {"bucket", posted ? "posted" : "pending"},
                         {"side", side == "Dr" ? "debit" : "credit"},
                         {"amount", scaled(l.amount_minor, exponent)}, {"asset", s.asset},
                         {"posted_balance", scaled(running[s.asset], exponent)}});
    } else {
      fmt::print("{:<14} {:<20} {:<16} {:<22} {:<7} {:<2} {:>16} {:<6} {:>18}\n",
                 fmt::format("p{}/{}", s.partition, l.offset), iso_time(l.occurred_at_s),
                 l.event_id, kind, posted ? "posted" : "pending", side,
                 scaled(l.amount_minor, exponent), s.asset, scaled(running[s.asset], exponent));
    }
  }
  if (common.json) {
    print_json(json{{"account", account}, {"lines", out}});
  } else {
    fmt::print("{} lines\n", lines->size());
  }
  return kExitOk;
}

int cmd_trial_balance(const Common& common) {
  auto opened = open_stores(common);
  if (!opened) return fail(opened.error());
  auto tb = projections::trial_balance(opened->stores);
  if (!tb) return fail(tb.error());
  if (common.json) {
    json assets = json::array();
    for (const auto& r : tb->assets) {
      assets.push_back(json{{"asset", r.asset},
                            {"debit", scaled(r.debit, r.exponent)},
                            {"credit", scaled(r.credit, r.exponent)},
                            {"pending_debit", scaled(r.pending_debit, r.exponent)},
                            {"pending_credit", scaled(r.pending_credit, r.exponent)},
                            {"balanced", r.balanced()}});
    }
    print_json(json{{"balanced", tb->balanced()}, {"accounts", tb->accounts}, {"assets", assets}});
  } else {
    fmt::print("{:<8} {:>22} {:>22} {:>20} {:>20}  {}\n", "ASSET", "DEBIT", "CREDIT",
               "PENDING DEBIT", "PENDING CREDIT", "OK");
    for (const auto& r : tb->assets) {
      fmt::print("{:<8} {:>22} {:>22} {:>20} {:>20}  {}\n", r.asset, scaled(r.debit, r.exponent),
                 scaled(r.credit, r.exponent), scaled(r.pending_debit, r.exponent),
                 scaled(r.pending_credit, r.exponent), r.balanced() ? "yes" : "NO");
    }
    fmt::print("{} over {} account balances\n",
               tb->balanced() ? "balanced" : "NOT BALANCED", tb->accounts);
  }
  return tb->balanced() ? kExitOk : kExitFailed;
}

int cmd_digest(const Common& common) {
  auto opened = open_stores(common);
  if (!opened) return fail(opened.error());
  auto digest = projections::projection_digest(opened->stores);
  if (!digest) return fail(digest.error());
  if (common.json) {
    print_json(json{{"algorithm", "sha256"}, {"digest", *digest}});
  } else {
    fmt::print("{}\n", *digest);
  }
  return kExitOk;
}

int cmd_rejects(const Common& common, uint64_t limit) {
  auto opened = open_stores(common);
  if (!opened) return fail(opened.error());
  auto rejects = projections::list_rejects(opened->stores, limit);
  if (!rejects) return fail(rejects.error());
  if (common.json) {
    json out = json::array();
    for (const auto& r : *rejects) {
      json j{{"partition", r.partition}, {"offset", r.offset},
             {"code", code_name(r.code)}, {"reason", r.reason},
             {"event_id", r.event_id},    {"merchant_id", r.merchant_id}};
      v1::Envelope e;
      if (r.format == events::RecordFormat::kRawJson) {
        j["raw"] = r.value;
      } else if (events::decode(r.value, &e)) {
        j["event"] = json::parse(events::to_json(e));
      }
      out.push_back(std::move(j));
    }
    print_json(out);
    return kExitOk;
  }
  for (const auto& r : *rejects) {
    fmt::print("p{}/{:<8} {:<22} {:<16} {:<14} {}\n", r.partition, r.offset, code_name(r.code),
               r.event_id.empty() ? "-" : r.event_id, r.merchant_id.empty() ? "-" : r.merchant_id,
               r.reason);
  }
  fmt::print("{} rejected events\n", rejects->size());
  return kExitOk;
}

int cmd_payment(const Common& common, const std::string& merchant, const std::string& payment) {
  auto opened = open_stores(common);
  if (!opened) return fail(opened.error());
  auto state = projections::find_payment(opened->stores, merchant, payment);
  if (!state) return fail(state.error());
  if (!*state) {
    return fail(make_error(Code::kUnknownPayment,
                           fmt::format("merchant {} has no payment '{}'", merchant, payment)));
  }
  const ledger::PaymentState& p = **state;
  int x = p.asset.exponent();
  json j{{"merchant_id", merchant},
         {"payment_id", payment},
         {"kind", ledger::payment_kind_name(p.kind)},
         {"method", ledger::method_name(p.method)},
         {"status", ledger::payment_status_name(p.status)},
         {"asset", p.asset.code()},
         {"amount", scaled(p.authorised, x)},
         {"captured", scaled(p.captured, x)},
         {"refunded", scaled(p.refunded, x)},
         {"charged_back", scaled(p.charged_back, x)},
         {"held", scaled(p.held(), x)},
         {"fee", scaled(p.fee, x)},
         {"dispute", ledger::dispute_status_name(p.dispute)},
         {"created_at", iso_time(p.created_at_s)}};
  if (p.expires_at_s != 0) j["expires_at"] = iso_time(p.expires_at_s);
  if (p.instalments != 0) {
    j["instalments"] = p.instalments;
    j["instalments_collected"] = p.instalments_collected;
  }
  if (common.json) {
    print_json(j);
  } else {
    for (const auto& [k, v] : j.items()) {
      fmt::print("{:<22} {}\n", k, v.is_string() ? v.get<std::string>() : v.dump());
    }
  }
  return kExitOk;
}

std::string percent_bp(uint64_t bp) { return fmt::format("{}.{:02}%", bp / 100, bp % 100); }

int cmd_report_checkout(const Common& common) {
  auto opened = open_stores(common);
  if (!opened) return fail(opened.error());
  auto rows = projections::checkout_report(opened->stores);
  if (!rows) return fail(rows.error());
  if (common.json) {
    json out = json::array();
    for (const auto& r : *rows) {
      out.push_back(json{{"method", r.method}, {"market", r.market}, {"started", r.started},
                         {"completed", r.completed}, {"abandoned", r.abandoned},
                         {"open", r.started - r.completed - r.abandoned},
                         {"abandonment_rate", percent_bp(r.abandonment_bp())}});
    }
    print_json(out);
    return kExitOk;
  }
  fmt::print("{:<12} {:<7} {:>10} {:>10} {:>10} {:>8} {:>12}\n", "METHOD", "MARKET", "STARTED",
             "COMPLETED", "ABANDONED", "OPEN", "ABANDONMENT");
  for (const auto& r : *rows) {
    fmt::print("{:<12} {:<7} {:>10} {:>10} {:>10} {:>8} {:>12}\n", r.method, r.market, r.started,
               r.completed, r.abandoned, r.started - r.completed - r.abandoned,
               percent_bp(r.abandonment_bp()));
  }
  fmt::print("abandonment = abandoned / (completed + abandoned); open checkouts excluded\n");
  return kExitOk;
}

int cmd_replay(const ReplayArgs& args) {
  uint32_t at_partition = 0;
  uint64_t at_offset = 0;
  if (!args.at.empty() &&
      std::sscanf(args.at.c_str(), "p%u/%lu", &at_partition, &at_offset) != 2) {
    return usage(fmt::format("--at '{}' is not a log position like p2/1500", args.at));
  }
  std::vector<events::AppendRecord> records;
  {
    auto store = open_store(args.common.data, true);
    if (!store) return fail(store.error());
    auto rejects = projections::list_rejects(**store, 0);
    if (!rejects) return fail(rejects.error());
    for (const auto& r : *rejects) {
      if (!args.code.empty() && code_name(r.code) != args.code) continue;
      if (!args.at.empty() && (r.partition != at_partition || r.offset != at_offset)) continue;
      records.push_back({r.key, r.value, r.format});
    }
  }
  auto log = open_log(args.common.data, /*writer=*/true, 0, true);
  if (!log) return fail(log.error());
  if (Status s = (*log)->append(records); !s) return fail(s.error());
  if (args.common.json) {
    print_json(json{{"replayed", records.size()}});
  } else {
    fmt::print("appended {} rejected events again; run `payledger fold` to apply them\n",
               records.size());
  }
  return kExitOk;
}

int cmd_topic_create(const TopicArgs& args) {
  auto o = kafka_options(args.log);
  if (!o) return fail(o.error());
  if (Status s = events::create_topic(*o, args.partitions, args.replication); !s) {
    return fail(s.error());
  }
  if (args.json) {
    print_json(json{{"topic", args.log.topic}, {"partitions", args.partitions},
                    {"brokers", args.log.brokers}});
  } else {
    fmt::print("topic {} ready with {} partitions on {}\n", args.log.topic, args.partitions,
               args.log.brokers);
  }
  return kExitOk;
}

int cmd_demo(const DemoArgs& args) {
  Common common = args.common;
  if (common.data.empty()) {
    char tmpl[] = "/tmp/payledger-demo-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return fail(make_error(Code::kIo, "cannot create a temp dir"));
    common.data = tmpl;
  } else if (std::filesystem::exists(log_dir(common.data))) {
    return usage(fmt::format("{} already holds an event log; give a new --data dir",
                             common.data));
  }
  bool human = !common.json;
  if (human) {
    fmt::print("payledger demo: {} events, {} merchants, seed {}, data in {}\n", args.events,
               args.merchants, args.seed, common.data);
  }
  // 1. generate + append (binary Protobuf records, keyed by merchant)
  FoldArgs fold;
  fold.common = common;
  fold.log = args.log;
  fold.until_idle = true;
  size_t batch_max = kAppendBatchMax;
  if (args.log.kafka()) {
    // A fresh topic and group per demo, named after its data directory.
    std::string suffix = std::filesystem::path(common.data).filename().string();
    fold.log.topic = args.log.topic + "." + suffix;
    fold.log.group = "payledger-demo." + suffix;
    auto o = kafka_options(fold.log);
    if (!o) return fail(o.error());
    if (Status s = events::create_topic(*o, args.partitions, 1); !s) return fail(s.error());
    if (human) fmt::print("kafka topic {} on {}\n", fold.log.topic, fold.log.brokers);
    batch_max = 10000;  // records per transaction
  }
  auto log = open_append_log(common, fold.log, args.partitions, true);
  if (!log) return fail(log.error());
  Progress gen_progress("appending", human && !common.quiet && stderr_is_tty());
  auto t0 = Clock::now();
  Generator gen({args.events, args.seed, args.merchants, ""});
  std::vector<events::AppendRecord> batch;
  v1::Envelope e;
  uint64_t appended = 0;
  while (gen.next(&e)) {
    batch.push_back({e.merchant_id(), events::encode(e), events::RecordFormat::kProtobuf});
    if (batch.size() >= batch_max) {
      if (Status s = (*log)->append(batch); !s) return fail(s.error());
      appended += batch.size();
      batch.clear();
      gen_progress.update(appended, args.events);
    }
  }
  if (Status s = (*log)->append(batch); !s) return fail(s.error());
  appended += batch.size();
  gen_progress.finish(appended, args.events);
  auto append_elapsed = Clock::now() - t0;
  log->reset();
  // 2. fold
  Clock::duration fold_elapsed{};
  auto stats = run_fold(fold, &fold_elapsed);
  if (!stats) return fail(stats.error());
  // 3. summary
  auto store = open_store(common.data, true);
  if (!store) return fail(store.error());
  auto tb = projections::trial_balance(**store);
  if (!tb) return fail(tb.error());
  auto house = projections::list_balances(**store, "psp:");
  if (!house) return fail(house.error());
  auto digest = projections::projection_digest(**store);
  if (!digest) return fail(digest.error());
  uint64_t fold_rate = per_second(stats->records, fold_elapsed);
  if (common.json) {
    json tbj = json::array();
    for (const auto& r : tb->assets) {
      tbj.push_back(json{{"asset", r.asset}, {"debit", scaled(r.debit, r.exponent)},
                         {"credit", scaled(r.credit, r.exponent)}, {"balanced", r.balanced()}});
    }
    print_json(json{{"data", common.data},
                    {"appended", appended},
                    {"append_events_per_s", per_second(appended, append_elapsed)},
                    {"fold", stats_json(*stats, fold_rate,
                                        std::chrono::duration_cast<std::chrono::milliseconds>(
                                            fold_elapsed)
                                            .count())},
                    {"balanced", tb->balanced()},
                    {"trial_balance", tbj},
                    {"digest", *digest}});
    return tb->balanced() ? kExitOk : kExitFailed;
  }
  fmt::print("\ngenerated and appended {} events ({} events/s)\n", appended,
             per_second(appended, append_elapsed));
  print_fold_summary(*stats, fold_elapsed);
  fmt::print("\nhouse accounts (posted / pending):\n");
  for (const auto& r : *house) {
    fmt::print("  {:<22} {:>20} {:>20} {}\n", r.account,
               scaled(r.balance.posted_net(r.normal), r.exponent),
               scaled(r.balance.pending_net(r.normal), r.exponent), r.asset);
  }
  fmt::print("\ntrial balance: {} across {} assets and {} account balances\n",
             tb->balanced() ? "BALANCED" : "NOT BALANCED", tb->assets.size(), tb->accounts);
  for (const auto& r : tb->assets) {
    fmt::print("  {:<6} debit {:>22}  credit {:>22}  {}\n", r.asset, scaled(r.debit, r.exponent),
               scaled(r.credit, r.exponent), r.balanced() ? "ok" : "UNBALANCED");
  }
  fmt::print("\nprojection digest: {}\n", *digest);
  fmt::print("\nexplore: payledger balance --data {} --account merchant:\n", common.data);
  fmt::print("         payledger statement --data {} --account psp:revenue:fees --limit 20\n",
             common.data);
  return tb->balanced() ? kExitOk : kExitFailed;
}

}  // namespace payledger::tools
