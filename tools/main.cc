// payledger: the command-line front end. See docs/cli.md for every command.
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstring>
#include <string>
#include <vector>

#include "events/kafka_log.h"
#include "tools/commands.h"
#include "tools/bank_statement_gen.h"
#include "tools/query_stores.h"

namespace {

// A count parsed into an unsigned integer would turn "-5" into 2^64 - 5 and run for ever.
const CLI::Validator kCountNotNegative(
    [](std::string& value) {
      return value.find('-') != std::string::npos ? std::string("must not be negative")
                                                   : std::string();
    },
    "COUNT");

using namespace payledger::tools;

void add_common(CLI::App* cmd, Common* common, bool json = true, bool required = true) {
  auto* data = cmd->add_option("--data", common->data,
                               "Data directory: DIR/log holds the embedded event log, "
                               "DIR/projections the RocksDB projections");
  if (required) data->required();
  if (json) cmd->add_flag("--json", common->json, "Print one JSON document on stdout");
}

// Query commands take --data once per fold instance; answers merge across them.
void add_query_common(CLI::App* cmd, std::vector<std::string>* dirs, Common* common) {
  cmd->add_option("--data", *dirs,
                  "Data directory (repeat for each instance of a scaled-out fold: answers "
                  "merge, each partition taken from the instance that folded it furthest)")
      ->required();
  cmd->add_flag("--json", common->json, "Print one JSON document on stdout");
  cmd->add_flag("--allow-partial", common->allow_partial,
                "Answer even if partitions are missing or behind their log (warned on stderr; "
                "JSON has \"complete\": false); otherwise such a query exits 1");
}

void split_dirs(const std::vector<std::string>& dirs, Common* common) {
  if (dirs.empty()) return;
  common->data = dirs.front();
  common->more_data.assign(dirs.begin() + 1, dirs.end());
}

// -X key=value, refused (a usage error) for keys payledger sets itself for safety.
CLI::Validator kafka_property_validator() {
  return CLI::Validator(
      [](std::string& kv) -> std::string {
        auto parsed = payledger::events::parse_kafka_property(kv);
        if (parsed) return std::string();
        std::string why = parsed.error().reason;  // CLI11 names the option itself
        return why.starts_with("-X ") ? why.substr(3) : why;
      },
      "KEY=VALUE");
}

void add_log_options(CLI::App* cmd, LogArgs* log) {
  cmd->add_option("--log", log->kind, "Event log: embedded (DIR/log) or kafka")
      ->capture_default_str()
      ->check(CLI::IsMember({"embedded", "kafka"}));
  cmd->add_option("--brokers", log->brokers, "Kafka bootstrap servers")->capture_default_str();
  cmd->add_option("--topic", log->topic, "Kafka topic")->capture_default_str();
  cmd->add_option("-X", log->properties,
                  "librdkafka property key=value (repeatable), as in kcat")
      ->check(kafka_property_validator());
}

void add_fold_options(CLI::App* cmd, FoldArgs* args) {
  add_common(cmd, &args->common);
  add_log_options(cmd, &args->log);
  cmd->add_option("--group", args->log.group, "Kafka consumer group (scale-out: run several "
                                              "folds with one group and their own --data)")
      ->capture_default_str();
  cmd->add_option("--instance-id", args->log.instance_id,
                  "Kafka: static group member id (group.instance.id): a fold restarted after a "
                  "crash with the same id takes its partitions back at once instead of after "
                  "the session timeout (10 s). One id per running fold")
      ->check([](const std::string& id) {
        return payledger::events::valid_instance_id(id)
                   ? std::string()
                   : "use 1-249 characters of A-Z a-z 0-9 . _ - (got '" + id + "')";
      });
  cmd->add_flag("--allow-partial-history", args->allow_partial_history,
                "Kafka: fold a partition whose first records were deleted (retention) from "
                "where the log now starts; the books then miss that history");
  cmd->add_flag("--until-idle", args->until_idle,
                "Kafka: stop once every assigned partition is read to its end (otherwise run "
                "until SIGINT/SIGTERM)");
  cmd->add_option("--batch", args->batch_events, "Events per atomic RocksDB WriteBatch")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{1000000}));
  cmd->add_flag("!--no-sync", args->sync, "Do not fsync the WAL at each batch commit");
  cmd->add_flag("--quiet,-q", args->common.quiet, "No progress bar");
}

// An unknown command word (first word, or the word after `report`/`topic`) is a mistyped
// command: name it and suggest the nearest one, instead of CLI11's "A subcommand is
// required". Returns the exit code, or -1 to go on parsing.
int check_command(CLI::App& app, int argc, char** argv) {
  CLI::App* parent = &app;
  std::string path = "";
  for (int k = 1; k < argc && argv[k][0] != '-'; ++k) {
    auto subs = parent->get_subcommands([](CLI::App*) { return true; });
    if (subs.empty()) return -1;  // a leaf command: the rest are its arguments
    std::string word = argv[k];
    std::string best, names;
    size_t best_distance = 4;  // suggest only close names
    CLI::App* match = nullptr;
    for (CLI::App* sub : subs) {
      const std::string& name = sub->get_name();
      if (name == word) match = sub;
      names += (names.empty() ? "" : ", ") + name;
      if (size_t d = edit_distance(word, name); d < best_distance) {
        best_distance = d;
        best = name;
      }
    }
    if (match != nullptr) {
      parent = match;
      path += word + " ";
      continue;
    }
    if (best.empty()) {
      fprintf(stderr, "payledger: unknown command '%s%s'; commands: %s (see payledger --help)\n",
              path.c_str(), word.c_str(), names.c_str());
    } else {
      fprintf(stderr, "payledger: unknown command '%s%s'; did you mean '%s%s'?\n", path.c_str(),
              word.c_str(), path.c_str(), best.c_str());
    }
    return kExitUsage;
  }
  return -1;
}

// A count option: CLI11 would read "-5" into an unsigned as a huge number (i.e. "all").
const CLI::Validator kCount(
    [](std::string& v) {
      return !v.empty() && v[0] == '-' ? "must be 0 (all) or a positive count, not " + v
                                       : std::string();
    },
    "COUNT");

// SIGINT/SIGTERM ask long runs to stop at a clean point. No SA_RESTART: a read waiting on a
// terminal returns EINTR so `append` notices at once.
void on_signal(int sig) {
  g_signal = sig;
  g_stop = true;
}

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

// A query command's --data dirs and the arguments every query shares.
struct Query {
  Common common;
  std::vector<std::string> dirs;
  CLI::App* cmd = nullptr;
};

// Every command's arguments, filled in by parsing, and its subcommand.
struct Commands {
  GenerateArgs gen;
  CLI::App* generate = nullptr;
  AppendArgs append;
  CLI::App* append_cmd = nullptr;
  CLI::Option* append_partitions = nullptr;
  FoldArgs fold, rebuild;
  CLI::App* fold_cmd = nullptr;
  CLI::App* rebuild_cmd = nullptr;
  DemoArgs demo;
  CLI::App* demo_cmd = nullptr;
  Query balance, statement, tb, digest, rejects, payment, report_checkout, rates;
  RatesArgs rates_args;
  Query positions, fx_pnl, fx_backtest;
  std::string backtest_reporting = "USD";
  PositionsArgs positions_args, fx_pnl_args;
  std::string prefix, account, payment_merchant, payment_id;
  PointArgs balance_point, statement_point, tb_point;
  Query accounts;
  std::string accounts_prefix;
  VerifyArgs verify;
  CLI::App* verify_cmd = nullptr;
  Query checkpoint;
  std::string checkpoint_out, restore_from;
  bool restore_verify = false;
  uint64_t statement_limit = 0, rejects_limit = 0;
  ReplayArgs replay;
  CLI::App* replay_cmd = nullptr;
  TopicArgs topic;
  CLI::App* topic_create = nullptr;
  Query exposure;
  ExposureArgs exposure_args;
  SettleArgs settle;
  CLI::App* settle_cmd = nullptr;
  Query settle_report;
  SettleReportArgs settle_report_args;
  Query settlements, wallets;
  SettlementsArgs settlements_args;
  std::string wallets_merchant;
  Query reconcile;
  ReconcileArgs reconcile_args;
  Query export_;
  ExportArgs export_args;
  Query generate_statement;
  GenerateStatementArgs generate_statement_args;
};

void add_generate(CLI::App& app, Commands& c) {
  GenerateArgs& gen = c.gen;
  c.generate = app.add_subcommand(
      "generate", "Write a seeded, realistic stream of payment events as NDJSON");
  CLI::App* generate = c.generate;
  generate->add_option("--events,-n", gen.events, "Number of events")
      ->check(kCountNotNegative)
      ->capture_default_str();
  generate->add_option("--seed", gen.seed, "Random seed (same seed => same events)")
      ->capture_default_str();
  generate->add_option("--merchants", gen.merchants, "Number of merchants")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1000000u));
  generate->add_option("--market", gen.market,
                       "Only this market's merchants: BR (cards, PIX, Boleto), IN (cards, UPI), "
                       "JP (cards, Konbini), MX (cards, OXXO), PH/ID/TH (cards, GCash/DANA/TrueMoney), "
                       "US (cards, BNPL), DE (cards, pay-by-bank, BNPL), GB (cards, pay-by-bank), BH")
      ->check(CLI::IsMember({"BR", "IN", "JP", "MX", "US", "DE", "GB", "BH", "PH", "ID", "TH"}));
  generate->add_flag("--no-contracts", gen.no_contracts,
                     "No merchant contracts: every fee an explicit fee_assessed event");
  generate->add_flag("--no-rates", gen.no_rates,
                     "No daily FX rate publications (fx_rate_published, one record per "
                     "partition each)");
  generate->add_option("--out,-o", gen.out, "Output file ('-' = stdout)")->capture_default_str();
}

void add_append(CLI::App& app, Commands& c) {
  AppendArgs& append = c.append;
  c.append_cmd = app.add_subcommand(
      "append", "Append NDJSON events (payledger.v1 JSON mapping) to the embedded log");
  CLI::App* append_cmd = c.append_cmd;
  add_common(append_cmd, &append.common, true, /*required=*/false);
  append_cmd->add_option("input", append.input, "NDJSON file ('-' = stdin)")
      ->capture_default_str();
  c.append_partitions =
      append_cmd
          ->add_option("--partitions", append.partitions,
                       "Partitions when the log is created (keyed by merchant); on an existing "
                       "log with another count: usage error")
          ->capture_default_str()
          ->check(CLI::Range(1u, 1024u));
  append_cmd->add_flag("--dry-run", append.dry_run,
                       "Check every line (JSON, card numbers, envelope) and write nothing; exit 1 "
                       "listing the lines that would be rejected");
  append_cmd->add_flag("!--no-sync", append.sync, "Skip fdatasync after each batch");
  add_log_options(append_cmd, &append.log);
  append_cmd->add_option("--transactional-id", append.log.transactional_id,
                         "Kafka transactional.id (default payledger-append.<topic>); a second "
                         "producer with the same id fences the first");
  append_cmd->add_option("--batch", append.batch_events,
                         "Records per append batch: per Kafka transaction (default 10000), or "
                         "per write + fdatasync of the embedded log (default 50000)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1000000}));
}

void add_fold_and_demo(CLI::App& app, Commands& c) {
  c.fold_cmd = app.add_subcommand(
      "fold", "Fold new log records into the projections (exactly once; resumable)");
  add_fold_options(c.fold_cmd, &c.fold);
  c.rebuild_cmd = app.add_subcommand(
      "rebuild", "Drop the projections and refold the whole log from offset 0");
  add_fold_options(c.rebuild_cmd, &c.rebuild);
  c.rebuild_cmd->add_option("--from-checkpoint", c.restore_from,
                            "Start from this checkpoint (`payledger checkpoint`) instead of "
                            "offset 0: its projections, then the log's tail");
  c.rebuild_cmd->add_flag("--verify", c.restore_verify,
                          "With --from-checkpoint: then verify the result against a full "
                          "refold (`payledger verify`)");

  DemoArgs& demo = c.demo;
  c.demo_cmd = app.add_subcommand(
      "demo", "Generate events, append them, fold them and summarise the books");
  CLI::App* demo_cmd = c.demo_cmd;
  demo_cmd->add_option("--events,-n", demo.events, "Number of events")
      ->check(kCountNotNegative)
      ->capture_default_str();
  demo_cmd->add_option("--data", demo.common.data,
                       "New data directory (default: a fresh directory under /tmp)");
  demo_cmd->add_option("--seed", demo.seed, "Random seed")->capture_default_str();
  demo_cmd->add_option("--merchants", demo.merchants, "Number of merchants")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1000000u));
  demo_cmd->add_option("--partitions", demo.partitions, "Log partitions")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1024u));
  demo_cmd->add_flag("--json", demo.common.json, "Print the summary as JSON");
  add_log_options(demo_cmd, &demo.log);
  demo_cmd->add_flag("--quiet,-q", demo.common.quiet, "No progress bars");
}

// A query command over one or more --data dirs.
CLI::App* add_query(CLI::App* parent, Query& q, const std::string& name,
                    const std::string& description) {
  q.cmd = parent->add_subcommand(name, description);
  add_query_common(q.cmd, &q.dirs, &q.common);
  return q.cmd;
}

// --csv and -O/--output-format for the commands that print tables.
void add_output_format(CLI::App* cmd, Common* common) {
  cmd->add_flag("--csv", common->csv, "Print CSV (RFC 4180, header row) for spreadsheets");
  cmd->add_option_function<std::string>(
         "-O,--output-format",
         [common](const std::string& f) {
           common->csv = f == "csv";
           common->json = f == "json";
         },
         "Output format: txt (default), csv or json")
      ->check(CLI::IsMember({"txt", "csv", "json"}));
}

// --as-of and --at-offset (docs/audit.md, "Point in time").
void add_point_options(CLI::App* cmd, PointArgs* p) {
  cmd->add_option("--as-of", p->as_of,
                  "The books as of this event time: lines of events that occurred at or before "
                  "it (RFC 3339, UTC or with an offset, e.g. 2026-01-31T23:59:59Z; or "
                  "YYYY-MM-DD = its close, 23:59:59Z). Late events (occurred before, arrived "
                  "after) are included: this is today's knowledge of that moment");
  cmd->add_option("--at-offset", p->at_offset,
                  "The books as they stood at these log positions, P:O,... (partition: next "
                  "offset, as `payledger digest` prints them); partitions not named count "
                  "whole. With --as-of: what the books said then about that moment");
}

void add_book_queries(CLI::App& app, Commands& c) {
  CLI::App* balance = add_query(&app, c.balance, "balance",
                                "Show balances (posted = available, pending = holds) by account "
                                "prefix, now or at a past point");
  balance->add_option("--account", c.prefix, "Account name prefix, e.g. merchant:m00001-BR:");
  add_point_options(balance, &c.balance_point);
  add_output_format(balance, &c.balance.common);
  CLI::App* statement = add_query(
      &app, c.statement, "statement",
      "List the lines posted to one account in event-time order, each naming its merchant, "
      "payment and event, with opening, running and closing balances");
  statement->add_option("--account", c.account, "Full account name, e.g. psp:revenue:fees")
      ->required();
  statement->add_option("--from,-b", c.statement_point.from,
                        "First moment, included (RFC 3339, or YYYY-MM-DD = its start)");
  statement->add_option("--to,-e", c.statement_point.to,
                        "Last moment, included (RFC 3339, or YYYY-MM-DD = its close)");
  statement->add_option("--limit", c.statement_limit, "At most this many lines (0 = all)")
      ->capture_default_str()
      ->check(kCount);
  add_point_options(statement, &c.statement_point);
  add_output_format(statement, &c.statement.common);
  CLI::App* tb = add_query(&app, c.tb, "trial-balance",
                           "Check debits equal credits per asset (exit 1 if they do not), now "
                           "or at a past point");
  add_point_options(tb, &c.tb_point);
  add_query(&app, c.digest, "digest",
            "Print the SHA-256 digest of the books (same log => same digest), the log positions "
            "it covers and each partition's hash-chain head");
  CLI::App* accounts = add_query(&app, c.accounts, "accounts",
                                 "List accounts (type, normal side) and the assets they hold");
  accounts->add_option("--prefix", c.accounts_prefix, "Only accounts starting with this");
  add_output_format(accounts, &c.accounts.common);

  c.verify_cmd = app.add_subcommand(
      "verify",
      "Refold the log into a scratch store and compare it with the stored projections; check "
      "every stored hash-chain checkpoint against the log's records. Exit 1 naming the first "
      "difference (partition, offset, account)");
  c.verify_cmd->add_option("--data", c.verify.common.data, "Data directory")->required();
  c.verify_cmd->add_option("--batch", c.verify.batch_events, "Events per refold batch")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{1000000}));
  c.verify_cmd->add_flag("--json", c.verify.common.json, "Print the report as JSON");
  c.verify_cmd->add_flag("--quiet,-q", c.verify.common.quiet, "No progress bar");
  CLI::App* checkpoint = add_query(
      &app, c.checkpoint, "checkpoint",
      "Copy the projections (RocksDB checkpoint: hard links) with the log positions and chain "
      "heads they cover into a new directory; restore with rebuild --from-checkpoint");
  checkpoint->add_option("--out", c.checkpoint_out, "New directory for the checkpoint")
      ->required();
}

void add_reject_and_report_commands(CLI::App& app, Commands& c) {
  CLI::App* rejects = add_query(&app, c.rejects, "rejects",
                                "List events the fold rejected, with code, reason and original "
                                "record");
  rejects->add_option("--limit", c.rejects_limit, "At most this many (0 = all)")
      ->capture_default_str()
      ->check(kCount);
  add_output_format(rejects, &c.rejects.common);

  c.replay_cmd = app.add_subcommand(
      "replay", "Append rejected events again (after fixing their cause) for the next fold");
  add_common(c.replay_cmd, &c.replay.common);
  c.replay_cmd->add_option("--code", c.replay.code,
                           "Only rejects with this code, e.g. unknown_payment");
  c.replay_cmd->add_option("--at", c.replay.at,
                           "Only the reject at this log position, e.g. p2/1500");

  CLI::App* rates = add_query(
      &app, c.rates, "rates",
      "Show published FX rates per pair (mid, bid, ask, 1/mid, source); exit 1 if the "
      "partitions' copies differ");
  rates->add_option("--pair", c.rates_args.pair, "One pair, canonical direction, e.g. USD/BRL");
  rates->add_option("--as-of", c.rates_args.as_of,
                    "The latest rates as of this time (RFC 3339, e.g. 2026-03-31T23:59:59Z, or "
                    "YYYY-MM-DD = its close)");
  rates->add_flag("--history", c.rates_args.history,
                  "Every publication (up to --as-of), not only the latest per pair");

  CLI::App* positions = add_query(
      &app, c.positions, "positions",
      "Show FX positions per owner (house, merchants) and asset: amount, cost, average cost, "
      "realised and unrealised P&L in the reporting currency; forwards marked to market");
  auto fx_owner_options = [](CLI::App* cmd, PositionsArgs& a) {
    cmd->add_option("--merchant", a.merchant, "Only this merchant's positions (its payables)");
    cmd->add_flag("--house", a.house_only,
                  "Only the house's positions (psp:fx:position) and its forwards");
    cmd->add_option("--reporting", a.reporting,
                    "Currency of cost and P&L; trades are valued at its published rates")
        ->capture_default_str();
  };
  fx_owner_options(positions, c.positions_args);
  positions->add_option("--as-of", c.positions_args.as_of,
                        "Positions after the events at or before this time (RFC 3339, or "
                        "YYYY-MM-DD = the close of that day, 23:59:59Z), valued at the rates "
                        "published by then");
  CLI::App* fx_pnl = add_query(
      &app, c.fx_pnl, "fx-pnl",
      "Show the FX P&L of a period [from, to): realised, unrealised at its start and end, "
      "forwards' marks and the revaluation runs in it");
  fx_owner_options(fx_pnl, c.fx_pnl_args);
  fx_pnl->add_option("--from", c.fx_pnl_args.from, "Start (RFC 3339 or YYYY-MM-DD), included")
      ->required();
  fx_pnl->add_option("--to", c.fx_pnl_args.to, "End (RFC 3339 or YYYY-MM-DD), excluded")
      ->required();

  add_query(&app, c.fx_backtest, "fx-backtest",
            "Replay the merchant-driven currency flows (cross-currency payments, balance "
            "conversions) under three hedging policies - convert each day's net at the next "
            "fix (spot_at_settlement), convert each flow when it comes in (lock_at_checkout), "
            "weekly forwards of the forecast net plus the rest at the fix after the week "
            "(forecast_forwards) - and print each policy's cost per currency against the mid "
            "when the money came in")
      ->add_option("--reporting", c.backtest_reporting, "Currency the flows are converted into")
      ->capture_default_str();

  CLI::App* payment = add_query(
      &app, c.payment, "payment",
      "Show one payment's state machine (status, amounts, hold, dispute, expiry) and its "
      "timeline: each event, its time and its lines (fees as charged)");
  payment->add_option("--merchant", c.payment_merchant,
                      "Merchant id (optional when the payment id is unique)");
  payment->add_option("--id", c.payment_id, "Payment id")->required();

  auto* report = app.add_subcommand("report", "Business reports over the projections");
  report->require_subcommand(1);
  add_query(report, c.report_checkout, "checkout",
            "Checkout conversion: abandonment rate by payment method and market");
}

// payledger exposure (docs/fx.md, "Exposure and forecast").
void add_exposure(CLI::App& app, Commands& c) {
  CLI::App* cmd = add_query(
      &app, c.exposure, "exposure",
      "Money not yet settled per currency and value-date week, what is hedged, and a forecast "
      "of money in (with 80% and 95% bands)");
  cmd->add_option("--horizon", c.exposure_args.horizon, "Days ahead, Nd with N from 1 to 365")
      ->capture_default_str();
  cmd->add_option("--as-of", c.exposure_args.as_of,
                  "The moment of the answer (RFC 3339, or YYYY-MM-DD = its close); default: the "
                  "books' latest event time. "
                  "It decides what has lapsed and where the weeks start; the state is the books "
                  "as folded");
  cmd->add_option("--plot", c.exposure_args.plot,
                  "Also draw history and forecast per currency with gnuplot into FILE.svg or "
                  "FILE.png");
  cmd->footer(
      "Fields (amounts exact, in the currency's minor units shown as decimals):\n"
      "  card_holds            card authorisations not captured; value date: the authorisation's "
      "expiry (none: created + 7 d)\n"
      "  vouchers_outstanding  issued, unpaid vouchers at face value; value date: their expiry\n"
      "  vouchers_expected     face x the method's pay rate in these books (paid in time / "
      "ended), rounded half-even once per currency, method and week\n"
      "  bnpl_upfronts         owed by BNPL providers (up-front less refunds' claw-back); value "
      "date: approval + 1 d\n"
      "  payables              merchants' posted payables (money out); value date: as-of + 1 d\n"
      "  net                   card_holds + vouchers_expected + bnpl_upfronts - payables\n"
      "  hedged                locked quotes unused and unexpired at the as-of (count per pair; "
      "quotes carry no notional); forwards: the house's forwards open at the as-of, the "
      "amount of the currency they sell less what they buy\n"
      "  forecast              daily money in (posted debits of psp:clearing, psp:bank and "
      "psp:receivable accounts, payouts and coupon funding excluded), ETS(A,A,A) weekly; fewer "
      "than 14 days: Holt, fewer than 3: the mean; none without history. Floating point, "
      "never booked\n"
      "Value dates before the as-of count in week 1; holds and vouchers lapsed by the as-of "
      "are left out (counted under \"lapsed\").\n"
      "JSON also has: buckets[].bucket/from/to (week N or later; dates UTC, to inclusive, null "
      "for later), total; forecast.method (ets_aaa, holt, mean, none), note (why a simpler "
      "method), history_days, history_from, params (alpha, beta, gamma, sigma2), "
      "daily[].date and forecast_mean, forecast_lo80/hi80, forecast_lo95/hi95 (major units); "
      "voucher_pay_rates[] (method, paid, ended, outstanding); lapsed; money_in_accounts; "
      "complete (and gaps), as for every query.");
}

// payledger settle, settlements, wallets (docs/settlement.md).
void add_settlement(CLI::App& app, Commands& c) {
  c.settle_cmd = app.add_subcommand(
      "settle",
      "Decide what each merchant with a settlement policy is paid now, append the "
      "instructions (and, on the tokenised rail, the token mint and transfer) and fold them");
  CLI::App* cmd = c.settle_cmd;
  cmd->require_subcommand(0, 1);
  // Not required here: `settle report` has its own; cmd_settle checks both.
  add_common(cmd, &c.settle.common, true, /*required=*/false);
  add_log_options(cmd, &c.settle.log);
  cmd->add_option("--as-of", c.settle.as_of,
                  "The moment of the run (RFC 3339, e.g. 2026-08-28T17:45:00+01:00; not a date: "
                  "cut-offs are local): the last cut-off (batch) or sweep (tokenised) at or "
                  "before it is the cycle paid (required)");
  cmd->add_option("--merchant", c.settle.merchant, "Only this merchant");
  cmd->add_flag("--dry-run", c.settle.dry_run, "Decide and print; append nothing");
  cmd->footer(
      "First the run's start (settlement_run_started) is appended to every partition and "
      "folded, so expiries due by the as-of are booked. Then per merchant and currency with a "
      "policy: reserves due are released; what was payable at the cycle's cut-off (at most "
      "what is payable now), plus reserves released by then, less the reserve (policy percent "
      "of the cycle's new money, rounded half-even) is instructed under the cycle's id (stl-CCY-DATE, tokenised stl-CCY-DATETHHMM) if the "
      "cycle has none yet and the amount reaches the minimum payout. A second run for the "
      "same cycle appends nothing; a batch cycle is paid only on its cut-off's local day "
      "(not_due otherwise: run settle after each cut-off). Refuses books behind their log. "
      "Exit 1 if a merchant could "
      "not be decided (e.g. a date outside its currency's calendar), the fold rejected an "
      "appended event, no merchant (or not --merchant M) has a policy, or the as-of is before "
      "the books' latest event. See also `settle report --compare-rails`, `settlements`, "
      "`wallets`; docs/settlement.md.");
  CLI::App* r = add_query(cmd, c.settle_report, "report",
                          "Working capital in transit: the same payable history replayed under "
                          "the batch and the tokenised rail, side by side");
  r->add_flag("--compare-rails", c.settle_report_args.compare_rails,
              "Compare the rails (required: the one report so far)");
  r->add_option("--from", c.settle_report_args.from,
                "Start of the period (RFC 3339 or a date); default: the history's first UTC day");
  r->add_option("--to", c.settle_report_args.to,
                "End of the period, exclusive (RFC 3339 or a date); default: the day after the "
                "history's last");
  r->add_option("--merchant", c.settle_report_args.merchant,
                "Only this merchant (and per-merchant rows)");
  r->add_option("--plot", c.settle_report_args.plot,
                "Also draw in-transit capital over time per rail with gnuplot into FILE.svg or "
                "FILE.png");
  r->footer(
      "Per currency and rail: flows, total paid, average and peak money in transit (payable, "
      "not yet at the merchant), average (amount-weighted) and p95 time to funds, and the "
      "tokenised/batch ratio of average in-transit capital. Each merchant's own policy "
      "schedules (batch: cut-off, zone, T+N over the currency's calendar; tokenised: the "
      "sweep) replay its payable flows; settlement events themselves are left out. Reserves "
      "are ignored (equal on both rails). docs/settlement.md \"Working capital in transit\".");
  CLI::App* s = add_query(&app, c.settlements, "settlements",
                          "List settlement instructions: status (instructed, sent, transferred, "
                          "confirmed, returned), value date and ageing");
  s->add_option("--merchant", c.settlements_args.merchant, "Only this merchant");
  s->add_option("--status", c.settlements_args.status,
                "Only this status: instructed, sent, transferred, confirmed, returned, or open "
                "(not yet confirmed or returned)");
  s->add_option("--as-of", c.settlements_args.as_of,
                "Measure ageing at this moment (default: the books' latest event time)");
  CLI::App* w = add_query(&app, c.wallets, "wallets",
                          "Deposit-token wallets per holder, and tokens in circulation against "
                          "the deposits set aside for them per currency (exit 1 if they differ)");
  w->add_option("--merchant", c.wallets_merchant, "Only this merchant's wallet");
}

// payledger reconcile (docs/cli.md "Reconciliation").
void add_reconcile(CLI::App& app, Commands& c) {
  CLI::App* cmd = add_query(&app, c.reconcile, "reconcile",
                            "Match a bank statement (camt.053 XML or CSV) against the ledger's "
                            "movements on a bank account and report the breaks");
  cmd->add_option("--statement", c.reconcile_args.statement,
                  "Statement file: ISO 20022 camt.053 (any version) or the CSV statement of "
                  "docs/cli.md")
      ->required();
  cmd->add_option("--account", c.reconcile_args.account,
                  "Ledger account (default: the statement's own account id, e.g. "
                  "psp:bank:operating in Acct/Id/Othr/Id)");
  cmd->add_option("--date-tolerance", c.reconcile_args.date_tolerance_days,
                  "Days a value date may differ from the movement's UTC date in the second pass")
      ->capture_default_str();
  cmd->footer(
      "Passes: duplicates (same AcctSvcrRef/NtryRef, or reference+amount+date) are reported, "
      "never matched; reversal pairs (RvslInd) found; exact (reference, amount, value date = "
      "movement's UTC date); within the tolerance; already_matched (claimed by another "
      "statement); amount_mismatch (same reference); missing_in_ledger; movements dated in "
      "[opening, closing] left over: missing_in_bank. Checks: opening + booked entries = "
      "closing; the ledger's balance before the opening date and at the closing date against "
      "OPBD/CLBD. The report is stored in DIR/reconciliation (by the file's SHA-256): a re-run "
      "prints it unchanged. Exit 0 clean, 1 breaks or a failed check, 2 usage.");
}

// payledger export (docs/cli.md "Export to hledger / beancount").
void add_export(CLI::App& app, Commands& c) {
  CLI::App* cmd = add_query(&app, c.export_, "export",
                            "Write the journal of applied events as an hledger or beancount "
                            "journal whose balances equal `payledger balance`");
  cmd->add_option("--format", c.export_args.format, "Journal format: hledger or beancount")
      ->required()
      ->check(CLI::IsMember({"hledger", "beancount"}));
  cmd->add_option("--as-of", c.export_args.as_of,
                  "Only events that occurred at or before this event time (RFC 3339, or "
                  "YYYY-MM-DD = its close, 23:59:59Z): the balances are then `balance --as-of`'s");
  cmd->add_option("-o,--out", c.export_args.out,
                  "Output file, written to FILE.tmp and renamed when complete ('-' = stdout, "
                  "the default); with --json a summary goes to stdout");
  cmd->footer(
      "One transaction per journal entry, dated by the UTC day of its event; debits positive, "
      "credits negative, amounts exact in the asset's decimals. Pending (held) lines go to a "
      "parallel tree: hledger pending:<account>, beancount <Root>:Pending:<Account>. hledger "
      "keeps payledger's account names; beancount roots them by account type (Assets, "
      "Liabilities, Income, Expenses, Equity) and capitalises each segment ('_' and '.' become "
      "'-'); two accounts that would share a name fail the export. Exit 0 written, 1 refused "
      "(nothing left under FILE), 2 usage.");
}

// payledger generate-statement (docs/cli.md "Reconciliation").
void add_generate_statement(CLI::App& app, Commands& c) {
  GenerateStatementArgs& a = c.generate_statement_args;
  CLI::App* cmd = add_query(&app, c.generate_statement, "generate-statement",
                            "Write the camt.053 statement a bank would send for a ledger bank "
                            "account, with seeded breaks, to try reconcile on");
  cmd->add_option("--account", a.account, "Ledger bank account, e.g. psp:bank:pix")->required();
  cmd->add_option("--currency", a.currency, "Currency of the statement, e.g. BRL")->required();
  cmd->add_option("--from", a.from, "First UTC day, YYYY-MM-DD (default: the books' first)");
  cmd->add_option("--to", a.to, "Last UTC day, YYYY-MM-DD (default: the books' last)");
  cmd->add_option("--seed", a.seed, "Random seed: which movements get the breaks")
      ->capture_default_str();
  cmd->add_option("--breaks", a.breaks, "Breaks of each kind (0: a statement that reconciles "
                                        "clean)")
      ->capture_default_str()
      ->check(CLI::Range(0u, kStatementBreaksMax));
  cmd->add_option("-o,--out", a.out, "Statement file to write (camt.053.001.02 XML)")->required();
  cmd->footer(
      "One Ntry per posted movement of the account in the currency dated in the period "
      "(EndToEndId = the movement's reference: the payment id, else the instruction, payout or "
      "business id), OPBD = the ledger's balance before the first day, CLBD = OPBD + the "
      "entries. Each of --breaks N times: a movement left out (missing_in_bank), a bank fee "
      "of 1 unit (missing_in_ledger), an amount one minor unit larger (amount_mismatch), a "
      "value date one day late (matched within tolerance) and a credit of 25 units with its "
      "reversal (a reversal pair). Exit 0 written, 1 bad input (no such account or currency, "
      "too few movements), 2 usage.");
}

void add_topic(CLI::App& app, Commands& c) {
  TopicArgs& topic = c.topic;
  auto* topic_cmd = app.add_subcommand("topic", "Manage the Kafka topic");
  topic_cmd->require_subcommand(1);
  c.topic_create = topic_cmd->add_subcommand(
      "create", "Create the topic with a chosen partition count (ok if it exists as asked)");
  CLI::App* topic_create = c.topic_create;
  topic_create->add_option("--brokers", topic.log.brokers, "Kafka bootstrap servers")
      ->capture_default_str();
  topic_create->add_option("--topic", topic.log.topic, "Topic name")->capture_default_str();
  topic_create->add_option("--partitions", topic.partitions, "Partitions (merchants spread "
                                                             "over them; folds scale to this)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1024u));
  topic_create->add_option("--replication", topic.replication, "Replication factor")
      ->capture_default_str();
  topic_create->add_option("-X", topic.log.properties, "librdkafka property key=value")
      ->check(kafka_property_validator());
  topic_create->add_flag("--json", topic.json, "Print the result as JSON");
}

// Parses the command line: -1 to go on, or the exit code (help, version, usage error).
int parse(CLI::App& app, int argc, char** argv) {
  if (int code = check_command(app, argc, argv); code >= 0) return code;
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  return -1;
}

// Kafka-only options on an embedded fold would be silently ignored: refuse them (usage
// error). Returns -1 if none is given.
int refuse_kafka_only_options(const Commands& c) {
  for (auto [cmd, kafka] : {std::pair{c.fold_cmd, c.fold.log.kafka()},
                            std::pair{c.rebuild_cmd, c.rebuild.log.kafka()},
                            std::pair{c.append_cmd, c.append.log.kafka()},
                            std::pair{c.settle_cmd, c.settle.log.kafka()}}) {
    if (!*cmd || kafka) continue;
    for (const char* kafka_only : {"--group", "--until-idle", "--topic", "--brokers", "-X",
                                   "--transactional-id", "--allow-partial-history",
                                   "--instance-id"}) {
      const CLI::Option* option = cmd->get_option_no_throw(kafka_only);
      if (option != nullptr && option->count() > 0) {
        fprintf(stderr, "payledger: %s applies to the Kafka log only; add --log kafka (or drop it)\n",
                kafka_only);
        return kExitUsage;
      }
    }
  }
  return -1;
}

int run(const Commands& c) {
  if (*c.generate) return cmd_generate(c.gen);
  if (*c.topic_create) return cmd_topic_create(c.topic);
  if (*c.append_cmd) return cmd_append(c.append);
  if (*c.fold_cmd) return cmd_fold(c.fold);
  if (*c.rebuild_cmd && !c.restore_from.empty()) {
    return cmd_restore(c.rebuild, c.restore_from, c.restore_verify);
  }
  if (*c.rebuild_cmd && c.restore_verify) return usage("--verify goes with --from-checkpoint");
  if (*c.rebuild_cmd) return cmd_rebuild(c.rebuild);
  if (*c.demo_cmd) return cmd_demo(c.demo);
  if (*c.balance.cmd) return cmd_balance(c.balance.common, c.prefix, c.balance_point);
  if (*c.statement.cmd) {
    return cmd_statement(c.statement.common, c.account, c.statement_limit, c.statement_point);
  }
  if (*c.tb.cmd) return cmd_trial_balance(c.tb.common, c.tb_point);
  if (*c.accounts.cmd) return cmd_accounts(c.accounts.common, c.accounts_prefix);
  if (*c.verify_cmd) return cmd_verify(c.verify);
  if (*c.checkpoint.cmd) return cmd_checkpoint(c.checkpoint.common, c.checkpoint_out);
  if (*c.digest.cmd) return cmd_digest(c.digest.common);
  if (*c.rejects.cmd) return cmd_rejects(c.rejects.common, c.rejects_limit);
  if (*c.replay_cmd) return cmd_replay(c.replay);
  if (*c.report_checkout.cmd) return cmd_report_checkout(c.report_checkout.common);
  if (*c.rates.cmd) return cmd_rates(c.rates.common, c.rates_args);
  if (*c.positions.cmd) return cmd_positions(c.positions.common, c.positions_args);
  if (*c.fx_pnl.cmd) return cmd_fx_pnl(c.fx_pnl.common, c.fx_pnl_args);
  if (*c.fx_backtest.cmd) return cmd_fx_backtest(c.fx_backtest.common, c.backtest_reporting);
  if (*c.payment.cmd) return cmd_payment(c.payment.common, c.payment_merchant, c.payment_id);
  if (*c.exposure.cmd) return cmd_exposure(c.exposure.common, c.exposure_args);
  if (*c.settle_report.cmd) return cmd_settle_report(c.settle_report.common, c.settle_report_args);
  if (*c.settle_cmd) return cmd_settle(c.settle);
  if (*c.settlements.cmd) return cmd_settlements(c.settlements.common, c.settlements_args);
  if (*c.wallets.cmd) return cmd_wallets(c.wallets.common, c.wallets_merchant);
  if (*c.reconcile.cmd) return cmd_reconcile(c.reconcile.common, c.reconcile_args);
  if (*c.export_.cmd) return cmd_export(c.export_.common, c.export_args);
  if (*c.generate_statement.cmd) {
    return cmd_generate_statement(c.generate_statement.common, c.generate_statement_args);
  }
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "payledger - an event-sourced payments ledger.\n"
      "Events are appended to a partitioned log and folded into RocksDB projections:\n"
      "balances (posted and pending), statements, payment states, a projection digest.\n"
      "Exit codes: 0 ok, 1 rejected input or failed check, 2 usage error."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "payledger 0.1.0");
  Commands c;
  add_generate(app, c);
  add_append(app, c);
  add_fold_and_demo(app, c);
  add_book_queries(app, c);
  add_reject_and_report_commands(app, c);
  add_topic(app, c);
  add_exposure(app, c);
  add_settlement(app, c);
  add_reconcile(app, c);
  add_export(app, c);
  add_generate_statement(app, c);
  if (int code = parse(app, argc, argv); code >= 0) return code;

  for (Query* q : {&c.balance, &c.statement, &c.tb, &c.digest, &c.rejects, &c.report_checkout,
                   &c.payment, &c.rates, &c.positions, &c.fx_pnl, &c.fx_backtest,
                   &c.exposure, &c.settlements, &c.wallets, &c.settle_report, &c.accounts,
                   &c.checkpoint, &c.reconcile, &c.export_, &c.generate_statement}) {
    split_dirs(q->dirs, &q->common);
  }
  install_signal_handlers();
  c.append.partitions_given = c.append_partitions->count() > 0;
  if (int code = refuse_kafka_only_options(c); code >= 0) return code;
  try {
    return run(c);
  } catch (const std::exception& e) {
    fprintf(stderr, "payledger: internal error: %s\n", e.what());
    return kExitFailed;
  }
}
