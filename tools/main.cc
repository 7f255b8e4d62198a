// payledger: the command-line front end. See docs/cli.md for every command.
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstring>
#include <string>
#include <vector>

#include "events/kafka_log.h"
#include "tools/commands.h"

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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "payledger - an event-sourced payments ledger.\n"
      "Events are appended to a partitioned log and folded into RocksDB projections:\n"
      "balances (posted and pending), statements, payment states, a projection digest.\n"
      "Exit codes: 0 ok, 1 rejected input or failed check, 2 usage error."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "payledger 0.1.0");

  GenerateArgs gen;
  auto* generate = app.add_subcommand(
      "generate", "Write a seeded, realistic stream of payment events as NDJSON");
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
                     "No merchant contracts: every fee an explicit fee_assessed event (the "
                     "stream generated before contracts, byte for byte)");
  generate->add_option("--out,-o", gen.out, "Output file ('-' = stdout)")->capture_default_str();

  AppendArgs append;
  auto* append_cmd = app.add_subcommand(
      "append", "Append NDJSON events (payledger.v1 JSON mapping) to the embedded log");
  add_common(append_cmd, &append.common, true, /*required=*/false);
  append_cmd->add_option("input", append.input, "NDJSON file ('-' = stdin)")
      ->capture_default_str();
  auto* append_partitions =
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

  FoldArgs fold;
  auto* fold_cmd = app.add_subcommand(
      "fold", "Fold new log records into the projections (exactly once; resumable)");
  add_fold_options(fold_cmd, &fold);

  FoldArgs rebuild;
  auto* rebuild_cmd = app.add_subcommand(
      "rebuild", "Drop the projections and refold the whole log from offset 0");
  add_fold_options(rebuild_cmd, &rebuild);

  DemoArgs demo;
  auto* demo_cmd = app.add_subcommand(
      "demo", "Generate events, append them, fold them and summarise the books");
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

  Common balance_common;
  std::vector<std::string> balance_dirs;
  std::string prefix;
  auto* balance = app.add_subcommand(
      "balance", "Show balances (posted = available, pending = holds) by account prefix");
  add_query_common(balance, &balance_dirs, &balance_common);
  balance->add_option("--account", prefix, "Account name prefix, e.g. merchant:m00001-BR:");

  Common statement_common;
  std::vector<std::string> statement_dirs;
  std::string account;
  uint64_t statement_limit = 0;
  auto* statement = app.add_subcommand("statement", "List every line posted to one account");
  add_query_common(statement, &statement_dirs, &statement_common);
  statement->add_option("--account", account, "Full account name, e.g. psp:revenue:fees")
      ->required();
  statement->add_option("--limit", statement_limit, "At most this many lines (0 = all)")
      ->capture_default_str()
      ->check(kCount);

  Common tb_common;
  std::vector<std::string> tb_dirs;
  auto* tb = app.add_subcommand(
      "trial-balance", "Check debits equal credits per asset (exit 1 if they do not)");
  add_query_common(tb, &tb_dirs, &tb_common);

  Common digest_common;
  std::vector<std::string> digest_dirs;
  auto* digest = app.add_subcommand(
      "digest", "Print the SHA-256 digest of the books (same log => same digest)");
  add_query_common(digest, &digest_dirs, &digest_common);

  Common rejects_common;
  std::vector<std::string> rejects_dirs;
  uint64_t rejects_limit = 0;
  auto* rejects = app.add_subcommand(
      "rejects", "List events the fold rejected, with code, reason and original record");
  add_query_common(rejects, &rejects_dirs, &rejects_common);
  rejects->add_option("--limit", rejects_limit, "At most this many (0 = all)")
      ->capture_default_str()
      ->check(kCount);

  ReplayArgs replay;
  auto* replay_cmd = app.add_subcommand(
      "replay", "Append rejected events again (after fixing their cause) for the next fold");
  add_common(replay_cmd, &replay.common);
  replay_cmd->add_option("--code", replay.code, "Only rejects with this code, e.g. unknown_payment");
  replay_cmd->add_option("--at", replay.at, "Only the reject at this log position, e.g. p2/1500");

  Common payment_common;
  std::vector<std::string> payment_dirs;
  std::string payment_merchant, payment_id;
  auto* payment_cmd = app.add_subcommand(
      "payment", "Show one payment's state machine: status, amounts, hold, dispute, expiry");
  add_query_common(payment_cmd, &payment_dirs, &payment_common);
  payment_cmd->add_option("--merchant", payment_merchant, "Merchant id")->required();
  payment_cmd->add_option("--id", payment_id, "Payment id")->required();

  Common report_common;
  std::vector<std::string> report_dirs;
  auto* report = app.add_subcommand("report", "Business reports over the projections");
  report->require_subcommand(1);
  auto* report_checkout = report->add_subcommand(
      "checkout", "Checkout conversion: abandonment rate by payment method and market");
  add_query_common(report_checkout, &report_dirs, &report_common);

  TopicArgs topic;
  auto* topic_cmd = app.add_subcommand("topic", "Manage the Kafka topic");
  topic_cmd->require_subcommand(1);
  auto* topic_create = topic_cmd->add_subcommand(
      "create", "Create the topic with a chosen partition count (ok if it exists as asked)");
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

  split_dirs(balance_dirs, &balance_common);
  split_dirs(statement_dirs, &statement_common);
  split_dirs(tb_dirs, &tb_common);
  split_dirs(digest_dirs, &digest_common);
  split_dirs(rejects_dirs, &rejects_common);
  split_dirs(report_dirs, &report_common);
  split_dirs(payment_dirs, &payment_common);
  install_signal_handlers();
  append.partitions_given = append_partitions->count() > 0;
  // Kafka-only options on an embedded fold would be silently ignored: refuse them.
  for (auto [cmd, kafka] : {std::pair{fold_cmd, fold.log.kafka()},
                            std::pair{rebuild_cmd, rebuild.log.kafka()},
                            std::pair{append_cmd, append.log.kafka()}}) {
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

  try {
    if (*generate) return cmd_generate(gen);
    if (*topic_create) return cmd_topic_create(topic);
    if (*append_cmd) return cmd_append(append);
    if (*fold_cmd) return cmd_fold(fold);
    if (*rebuild_cmd) return cmd_rebuild(rebuild);
    if (*demo_cmd) return cmd_demo(demo);
    if (*balance) return cmd_balance(balance_common, prefix);
    if (*statement) return cmd_statement(statement_common, account, statement_limit);
    if (*tb) return cmd_trial_balance(tb_common);
    if (*digest) return cmd_digest(digest_common);
    if (*rejects) return cmd_rejects(rejects_common, rejects_limit);
    if (*replay_cmd) return cmd_replay(replay);
    if (*report_checkout) return cmd_report_checkout(report_common);
    if (*payment_cmd) return cmd_payment(payment_common, payment_merchant, payment_id);
  } catch (const std::exception& e) {
    fprintf(stderr, "payledger: internal error: %s\n", e.what());
    return kExitFailed;
  }
  return kExitUsage;
}
