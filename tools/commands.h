// The `payledger` subcommands. Each returns the process exit code: 0 ok, 1 rejected input or
// a failed check (or an I/O failure), 2 usage error. Human output goes to stdout; progress
// and errors to stderr; --json prints one JSON document on stdout.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace payledger::tools {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

// Set by SIGINT/SIGTERM (g_signal says which): long runs finish their batch or line, write
// it, say they were interrupted and exit 128 + the signal number (130 SIGINT, 143 SIGTERM).
extern std::atomic<bool> g_stop;
extern std::atomic<int> g_signal;
int interrupted_exit();

// Edit distance (insertions, deletions, substitutions) for "did you mean".
size_t edit_distance(const std::string& a, const std::string& b);

struct Common {
  std::string data;  // data directory: DIR/log (event log), DIR/projections (RocksDB)
  // Query commands: more data directories, one per scaled-out fold instance; answers merge.
  std::vector<std::string> more_data;
  bool json = false;
  bool quiet = false;  // no progress bar
  // Query commands: answer even when partitions are missing or behind their log (the
  // warnings are still printed; JSON says "complete": false). Otherwise such a query exits 1.
  bool allow_partial = false;
  // balance, statement, rejects, accounts: CSV on stdout (--csv, -O csv) for spreadsheets.
  bool csv = false;
};

// Which event log a command uses: the embedded one in DIR/log, or a Kafka topic.
struct LogArgs {
  std::string kind = "embedded";  // "embedded" | "kafka"
  std::string brokers = "127.0.0.1:19092";
  std::string topic = "payledger.events";
  std::vector<std::string> properties;  // -X key=value, passed to librdkafka
  std::string transactional_id;         // append; default payledger-append.<topic>
  std::string group = "payledger-fold";  // fold
  std::string instance_id;               // fold: static group membership (or empty)
  bool kafka() const { return kind == "kafka"; }
};

struct GenerateArgs {
  uint64_t events = 1000;
  uint64_t seed = 1;
  uint32_t merchants = 100;
  std::string market;  // one market only (BR, IN, JP, MX, US, DE, GB, BH); empty = all
  bool no_contracts = false;  // every fee an explicit fee_assessed (the pre-contract stream)
  bool no_rates = false;      // no daily FX rate publications
  std::string out = "-";
};
int cmd_generate(const GenerateArgs& args);

struct AppendArgs {
  Common common;
  LogArgs log;
  // Records per append batch (Kafka: per transaction); 0 = 10,000 for Kafka, 50,000 for
  // the embedded log (one write + fdatasync per partition per batch).
  uint64_t batch_events = 0;
  std::string input = "-";
  uint32_t partitions = 4;  // only when the log is created
  bool partitions_given = false;  // --partitions was on the command line
  bool sync = true;
  bool dry_run = false;  // check every line (stateless checks), write nothing
};
int cmd_append(const AppendArgs& args);

struct FoldArgs {
  Common common;
  LogArgs log;
  bool until_idle = false;  // kafka: stop once every assigned partition is read to its end
  bool allow_partial_history = false;  // kafka: fold partitions whose head was deleted
  uint64_t batch_events = 50000;
  bool sync = true;
};
int cmd_fold(const FoldArgs& args);
int cmd_rebuild(const FoldArgs& args);

struct DemoArgs {
  Common common;
  LogArgs log;
  uint64_t events = 200000;
  uint64_t seed = 42;
  uint32_t merchants = 500;
  uint32_t partitions = 4;
};
int cmd_demo(const DemoArgs& args);

struct TopicArgs {
  LogArgs log;
  uint32_t partitions = 4;
  int replication = 1;
  bool json = false;
};
int cmd_topic_create(const TopicArgs& args);

// The point in the books' past a query answers for (docs/audit.md): event time, log
// positions, or both. Empty: now.
struct PointArgs {
  std::string as_of;      // RFC 3339 (UTC or with an offset) or YYYY-MM-DD (its close)
  std::string at_offset;  // P:O,P:O,... next offsets, as `digest` prints them
  std::string from, to;   // statement: the event-time range, both ends included
};
int cmd_balance(const Common& common, const std::string& prefix, const PointArgs& point);
int cmd_statement(const Common& common, const std::string& account, uint64_t limit,
                  const PointArgs& point);
int cmd_trial_balance(const Common& common, const PointArgs& point);
int cmd_digest(const Common& common);
int cmd_rejects(const Common& common, uint64_t limit);
// One payment's state machine: kind, method, status, amounts, dispute; exit 1 if unknown.
int cmd_payment(const Common& common, const std::string& merchant, const std::string& payment);
// Checkout conversion: started, completed, abandoned and abandonment rate by method, market.
int cmd_report_checkout(const Common& common);

struct RatesArgs {
  std::string pair;   // one canonical pair ("" = all)
  std::string as_of;  // RFC 3339 time ("" = the newest)
  bool history = false;
};
// Published FX rates per pair (the latest, or every one with history), with 1/mid; exit 1
// if the partitions' copies differ (a publication that did not reach every partition).
int cmd_rates(const Common& common, const RatesArgs& args);

struct PositionsArgs {
  std::string merchant;           // only this merchant ("" = the house and every merchant)
  bool house_only = false;        // only the house (psp:fx:position) and its forwards
  std::string as_of;              // RFC 3339 or YYYY-MM-DD ("" = everything folded)
  std::string reporting = "USD";  // the currency cost and P&L are in
  std::string from, to;           // fx-pnl: the period [from, to)
};
// FX positions per owner and asset: amount, cost, average cost, realised and unrealised P&L
// in the reporting currency, and the house's forwards marked to market (docs/fx.md).
int cmd_positions(const Common& common, const PositionsArgs& args);
// FX P&L of a period: realised, unrealised at its start and end, forwards, revaluation runs.
int cmd_fx_pnl(const Common& common, const PositionsArgs& args);
// FX back-test: the merchant-driven currency flows replayed under hedging policies (spot at
// settlement, lock at checkout, forecast-driven forwards), cost per policy and currency.
int cmd_fx_backtest(const Common& common, const std::string& reporting);

struct ReplayArgs {
  Common common;
  std::string code;  // only rejects with this code name ("" = any)
  std::string at;    // only the reject at "p<partition>/<offset>" ("" = any)
};
// Appends the original records of the selected rejects to the log again; the next fold
// applies them if their cause is gone, or parks them again at their new position.
int cmd_replay(const ReplayArgs& args);

}  // namespace payledger::tools
