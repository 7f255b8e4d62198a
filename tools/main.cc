// payledger: the command-line front end. See docs/cli.md for every command.
#include <CLI/CLI.hpp>

#include "tools/commands.h"

namespace {

using namespace payledger::tools;

void add_common(CLI::App* cmd, Common* common, bool json = true) {
  cmd->add_option("--data", common->data,
                  "Data directory: DIR/log holds the event log, DIR/projections the RocksDB "
                  "projections")
      ->required();
  if (json) cmd->add_flag("--json", common->json, "Print one JSON document on stdout");
}

void add_fold_options(CLI::App* cmd, FoldArgs* args) {
  add_common(cmd, &args->common);
  cmd->add_option("--batch", args->batch_events, "Events per atomic RocksDB WriteBatch")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{1000000}));
  cmd->add_flag("!--no-sync", args->sync, "Do not fsync the WAL at each batch commit");
  cmd->add_flag("--quiet,-q", args->common.quiet, "No progress bar");
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
  generate->add_option("--events,-n", gen.events, "Number of events")->capture_default_str();
  generate->add_option("--seed", gen.seed, "Random seed (same seed => same events)")
      ->capture_default_str();
  generate->add_option("--merchants", gen.merchants, "Number of merchants")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1000000u));
  generate->add_option("--out,-o", gen.out, "Output file ('-' = stdout)")->capture_default_str();

  AppendArgs append;
  auto* append_cmd = app.add_subcommand(
      "append", "Append NDJSON events (payledger.v1 JSON mapping) to the embedded log");
  add_common(append_cmd, &append.common);
  append_cmd->add_option("input", append.input, "NDJSON file ('-' = stdin)")
      ->capture_default_str();
  append_cmd->add_option("--partitions", append.partitions,
                         "Partitions when the log is created (keyed by merchant)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1024u));
  append_cmd->add_flag("!--no-sync", append.sync, "Skip fdatasync after each batch");

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
  demo_cmd->add_option("--events,-n", demo.events, "Number of events")->capture_default_str();
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
  demo_cmd->add_flag("--quiet,-q", demo.common.quiet, "No progress bars");

  Common balance_common;
  std::string prefix;
  auto* balance = app.add_subcommand(
      "balance", "Show balances (posted = available, pending = holds) by account prefix");
  add_common(balance, &balance_common);
  balance->add_option("--account", prefix, "Account name prefix, e.g. merchant:m00001-BR:");

  Common statement_common;
  std::string account;
  uint64_t statement_limit = 0;
  auto* statement = app.add_subcommand("statement", "List every line posted to one account");
  add_common(statement, &statement_common);
  statement->add_option("--account", account, "Full account name, e.g. psp:revenue:fees")
      ->required();
  statement->add_option("--limit", statement_limit, "At most this many lines (0 = all)")
      ->capture_default_str();

  Common tb_common;
  auto* tb = app.add_subcommand(
      "trial-balance", "Check debits equal credits per asset (exit 1 if they do not)");
  add_common(tb, &tb_common);

  Common digest_common;
  auto* digest = app.add_subcommand(
      "digest", "Print the SHA-256 digest of the books (same log => same digest)");
  add_common(digest, &digest_common);

  Common rejects_common;
  uint64_t rejects_limit = 0;
  auto* rejects = app.add_subcommand(
      "rejects", "List events the fold rejected, with code, reason and original record");
  add_common(rejects, &rejects_common);
  rejects->add_option("--limit", rejects_limit, "At most this many (0 = all)")
      ->capture_default_str();

  ReplayArgs replay;
  auto* replay_cmd = app.add_subcommand(
      "replay", "Append rejected events again (after fixing their cause) for the next fold");
  add_common(replay_cmd, &replay.common);
  replay_cmd->add_option("--code", replay.code, "Only rejects with this code, e.g. unknown_payment");
  replay_cmd->add_option("--at", replay.at, "Only the reject at this log position, e.g. p2/1500");

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

  try {
    if (*generate) return cmd_generate(gen);
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
  } catch (const std::exception& e) {
    fprintf(stderr, "payledger: internal error: %s\n", e.what());
    return kExitFailed;
  }
  return kExitUsage;
}
