// The `payledger` subcommands. Each returns the process exit code: 0 ok, 1 rejected input or
// a failed check (or an I/O failure), 2 usage error. Human output goes to stdout; progress
// and errors to stderr; --json prints one JSON document on stdout.
#pragma once

#include <cstdint>
#include <string>

namespace payledger::tools {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

struct Common {
  std::string data;  // data directory: DIR/log (event log), DIR/projections (RocksDB)
  bool json = false;
  bool quiet = false;  // no progress bar
};

struct GenerateArgs {
  uint64_t events = 1000;
  uint64_t seed = 1;
  uint32_t merchants = 100;
  std::string out = "-";
};
int cmd_generate(const GenerateArgs& args);

struct AppendArgs {
  Common common;
  std::string input = "-";
  uint32_t partitions = 4;  // only when the log is created
  bool sync = true;
};
int cmd_append(const AppendArgs& args);

struct FoldArgs {
  Common common;
  uint64_t batch_events = 50000;
  bool sync = true;
};
int cmd_fold(const FoldArgs& args);
int cmd_rebuild(const FoldArgs& args);

struct DemoArgs {
  Common common;
  uint64_t events = 200000;
  uint64_t seed = 42;
  uint32_t merchants = 500;
  uint32_t partitions = 4;
};
int cmd_demo(const DemoArgs& args);

int cmd_balance(const Common& common, const std::string& prefix);
int cmd_statement(const Common& common, const std::string& account, uint64_t limit);
int cmd_trial_balance(const Common& common);
int cmd_digest(const Common& common);
int cmd_rejects(const Common& common, uint64_t limit);

struct ReplayArgs {
  Common common;
  std::string code;  // only rejects with this code name ("" = any)
  std::string at;    // only the reject at "p<partition>/<offset>" ("" = any)
};
// Appends the original records of the selected rejects to the log again; the next fold
// applies them if their cause is gone, or parks them again at their new position.
int cmd_replay(const ReplayArgs& args);

}  // namespace payledger::tools
