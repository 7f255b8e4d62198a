#include "tools/commands.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "events/codec.h"
#include "events/embedded_log.h"
#include "events/kafka_log.h"
#include "ledger/account.h"
#include "ledger/fx.h"
#include "ledger/local_time.h"
#include "ledger/rules.h"
#include "projections/backtest.h"
#include "projections/fold.h"
#include "projections/kafka_fold.h"
#include "projections/positions.h"
#include "projections/queries.h"
#include "tools/bank_statement_gen.h"
#include "tools/generator.h"
#include "tools/progress.h"
#include "tools/query_stores.h"

namespace payledger::tools {

std::atomic<bool> g_stop{false};
std::atomic<int> g_signal{0};

int interrupted_exit() {
  int sig = g_signal.load();
  return 128 + (sig != 0 ? sig : SIGINT);
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

int fail(const Error& e) {
  fmt::print(stderr, "payledger: error: {} ({})\n", e.reason, code_name(e.code));
  return kExitFailed;
}

int usage(std::string_view message) {
  fmt::print(stderr, "payledger: {}\n", message);
  return kExitUsage;
}

// A moment given as RFC 3339 or a date (YYYY-MM-DD: its 00:00:00Z, or with `end_of_day` its
// 23:59:59Z: "as of the 31st" means its close); nullopt if neither.
std::optional<int64_t> parse_moment(const std::string& text, bool end_of_day) {
  google::protobuf::Timestamp t;
  if (google::protobuf::util::TimeUtil::FromString(text, &t)) return t.seconds();
  if (text.size() == 10 &&
      google::protobuf::util::TimeUtil::FromString(text + "T00:00:00Z", &t)) {
    return t.seconds() + (end_of_day ? 86399 : 0);
  }
  return std::nullopt;
}

namespace {

namespace v1 = payledger::v1;
using json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

// Records per append call: bounds memory while appending large NDJSON files.
constexpr size_t kAppendBatchMax = 50000;
constexpr size_t kKafkaAppendBatch = 10000;  // records per Kafka transaction

std::string log_dir(const std::string& data) { return data + "/log"; }
std::string projections_dir(const std::string& data) { return data + "/projections"; }


// Invalid UTF-8 (a reject's raw bytes) is printed as U+FFFD rather than aborting the dump;
// the exact bytes go out separately as base64 (see raw_json).
void print_json(const json& j) {
  std::cout << j.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
}

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    }
    i += n;
  }
  return true;
}

std::string base64(std::string_view in) {
  static constexpr char kTable[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) v |= static_cast<unsigned char>(in[i + 2]);
    out.push_back(kTable[(v >> 18) & 63]);
    out.push_back(kTable[(v >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kTable[(v >> 6) & 63] : '=');
    out.push_back(i + 2 < in.size() ? kTable[v & 63] : '=');
  }
  return out;
}

// Puts raw input bytes into j[name]; bytes that are not UTF-8 also go to j[name_base64]
// exactly (the text form shows them as U+FFFD).
void raw_json(json& j, const std::string& name, std::string_view bytes) {
  j[name] = std::string(bytes);
  if (!valid_utf8(bytes)) j[name + "_base64"] = base64(bytes);
}

std::string scaled(const ledger::Int128& v, int exponent) {
  return ledger::format_scaled(v, exponent);
}

Result<std::unique_ptr<events::EmbeddedLog>> open_log(const std::string& data, bool writer,
                                                      uint32_t partitions, bool sync,
                                                      bool trust_tail = false) {
  events::EmbeddedLogOptions o;
  o.writer = writer;
  o.trust_tail = trust_tail;
  o.partitions = partitions;
  o.sync = sync;
  return events::EmbeddedLog::open(log_dir(data), o);
}

Result<std::unique_ptr<projections::Store>> open_store(const std::string& data, bool read_only) {
  return projections::Store::open(projections_dir(data), read_only);
}

// One folding process per data directory: DIR/fold.lock holds an flock and its holder's pid,
// so a second fold (or replay, rebuild) names who holds it instead of failing on RocksDB's
// own lock. Held until the process exits.
Status take_fold_lock(const std::string& data) {
  static std::map<std::string, int> held;  // data dir -> lock fd
  if (held.count(data) != 0) return Status::Ok();
  std::error_code ec;
  std::filesystem::create_directories(data, ec);
  std::string path = data + "/fold.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return make_error(Code::kIo, fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char buf[32] = {};
    ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    ::close(fd);
    std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "unknown";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    return make_error(Code::kIo,
                      fmt::format("another payledger process is folding {} (pid {}); wait for it "
                                  "to finish or stop it (SIGINT) first",
                                  data, pid));
  }
  std::string pid = fmt::format("{}\n", ::getpid());
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    ::close(fd);
    return make_error(Code::kIo, fmt::format("cannot write {}: {}", path, std::strerror(errno)));
  }
  held[data] = fd;
  return Status::Ok();
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
  std::vector<std::string> dirs;  // the data directories, in the order of `stores`
  std::vector<std::unique_ptr<projections::Store>> owned;
  projections::Stores stores;
  projections::Coverage coverage;  // gaps are partitions missing or behind their log
};

// The end offsets of the embedded logs in the data directories that hold one (the highest
// per partition; nullopt when none does), after checking each log is the one its directory's
// projections fold and that all are one log. With `whole_log` every record's CRC is checked
// (a full scan); without, the log's tail hint stands in for it when it checks out (see
// events/embedded_log.h): the same identity, coverage and last-folded-record checks, in a
// few reads instead of a scan of the whole log.
Result<std::optional<std::vector<uint64_t>>> embedded_log_ends(const OpenStores& opened,
                                                               bool whole_log) {
  std::optional<std::vector<uint64_t>> ends;
  std::string identity, identity_dir;
  std::vector<std::filesystem::path> log_paths;
  for (size_t i = 0; i < opened.dirs.size(); ++i) {
    const std::string& d = opened.dirs[i];
    if (!std::filesystem::exists(log_dir(d) + "/partitions")) continue;
    auto log = open_log(d, /*writer=*/false, 0, false, /*trust_tail=*/!whole_log);
    if (!log) return log.error();

    auto folded = opened.stores[i]->recorded_log_identity();
    if (!folded) return folded.error();
    const std::string& id = (*log)->identity();
    if (!folded->empty() && !id.empty() && *folded != id) {
      return make_error(Code::kInvalidArgument,
                        fmt::format("the projections in {} fold log '{}' but {} is log '{}': "
                                    "run `payledger rebuild --data {}` to fold this log",
                                    projections_dir(d), *folded, log_dir(d), id, d));
    }
    // The books must not hold records the log no longer has (an older copy put back).
    if (Status s = projections::check_log_holds_folded(*opened.stores[i], **log); !s) {
      return s.error();
    }
    if (!id.empty() && !identity.empty() && id != identity) {
      return make_error(Code::kInvalidArgument,
                        fmt::format("{} and {} are different logs ('{}' and '{}'): their books "
                                    "cannot be merged; query each on its own",
                                    log_dir(identity_dir), log_dir(d), identity, id));
    }
    if (!id.empty()) identity = id, identity_dir = d;
    std::error_code ec;
    std::filesystem::path path = std::filesystem::canonical(log_dir(d), ec);
    if (ec) return make_error(Code::kIo, fmt::format("{}: {}", log_dir(d), ec.message()));
    if (!log_paths.empty() && path != log_paths.front()) {
      // An embedded log has one writer in one directory: two directories holding the same
      // log are copies that may have diverged since, and their books would mix.
      return make_error(Code::kInvalidArgument,
                        fmt::format("{} and {} are two copies of one embedded log, which may "
                                    "have diverged; several --data are for the instances of a "
                                    "Kafka fold: query each directory on its own",
                                    log_paths.front().string(), path.string()));
    }
    log_paths.push_back(path);
    uint32_t n = (*log)->partition_count();
    if (ends && ends->size() != n) {
      return make_error(Code::kInvalidArgument,
                        fmt::format("the logs of the --data directories have {} and {} "
                                    "partitions; query each on its own",
                                    ends->size(), n));
    }
    if (!ends) ends.emplace(n, 0);
    for (uint32_t p = 0; p < n; ++p) {
      auto end = (*log)->end_offset(p);
      if (!end) return end.error();
      (*ends)[p] = std::max((*ends)[p], *end);
    }
  }
  return ends;
}

std::string describe_gap(const OpenStores& opened, const projections::PartitionGap& gap) {
  if (!gap.store) {
    return fmt::format("partition {} is not folded by any --data store{}; add the --data of the "
                       "instance that folds it, or run `payledger fold`",
                       gap.partition,
                       gap.log_end ? fmt::format(" but its log holds {} records", *gap.log_end)
                                   : std::string(" (its log end is unknown)"));
  }
  const std::string& d = opened.dirs[*gap.store];
  return fmt::format("partition {} is folded to offset {} of {} in {}: the books are short by "
                     "{} records; run `payledger fold --data {}`",
                     gap.partition, *gap.folded, *gap.log_end, d, *gap.log_end - *gap.folded, d);
}

json gaps_json(const OpenStores& opened) {
  json out = json::array();
  for (const auto& gap : opened.coverage.gaps) {
    out.push_back(json{{"partition", gap.partition},
                       {"data", gap.store ? json(opened.dirs[*gap.store]) : json()},
                       {"folded", gap.folded ? json(*gap.folded) : json()},
                       {"log_end", gap.log_end ? json(*gap.log_end) : json()}});
  }
  return out;
}

// Adds "complete" (and the gaps when incomplete) to a query's JSON object.
void add_coverage(const OpenStores& opened, json* j) {
  (*j)["complete"] = opened.coverage.complete();
  if (!opened.coverage.complete()) (*j)["gaps"] = gaps_json(opened);
}

// Opens the stores, refuses stores of different logs, and warns on stderr about partitions
// missing or behind their log: then the answer would be short, so it is refused (kIncomplete)
// unless --allow-partial. `whole_log`: check every record of the embedded log (digest,
// trial-balance); the other queries check its identity, end and last folded record only.
Result<OpenStores> open_stores(const Common& common, bool whole_log = false) {
  OpenStores out;
  out.dirs.push_back(common.data);
  out.dirs.insert(out.dirs.end(), common.more_data.begin(), common.more_data.end());
  for (const auto& d : out.dirs) {
    auto st = open_store(d, true);
    if (!st) return st.error();
    out.stores.push_back(st->get());
    out.owned.push_back(std::move(st).value());
  }
  auto ends = embedded_log_ends(out, whole_log);
  if (!ends) return ends.error();
  auto cov = projections::coverage(out.stores, *ends);
  if (!cov) return cov.error();
  out.coverage = std::move(cov).value();
  for (const auto& gap : out.coverage.gaps) {
    fmt::print(stderr, "payledger: warning: {}\n", describe_gap(out, gap));
  }
  if (!out.coverage.complete() && !common.allow_partial) {
    return make_error(Code::kIncomplete,
                      fmt::format("the books are short: {} partition(s) missing or behind their "
                                  "log (see the warnings); fold them first, or pass "
                                  "--allow-partial for an answer from what is folded",
                                  out.coverage.gaps.size()));
  }
  return out;
}

json stats_json(const projections::FoldStats& s, uint64_t events_per_s, int64_t elapsed_ms) {
  return json{{"records", s.records},       {"applied", s.applied},
              {"rejected", s.rejected},     {"duplicates", s.duplicates},
              {"batches", s.batches},       {"elapsed_ms", elapsed_ms},
              {"deadlines_fired", s.deadlines_fired}, {"deadlines_failed", s.deadlines_failed},
              {"expiries_noop", s.expiries_noop},   {"dedupe_probes", s.dedupe_probes},
              {"events_per_s", events_per_s}};
}

// Folds the log (embedded DIR/log, or the Kafka topic as a group member) into DIR's
// projections, with a progress display unless quiet.
// `fold --log kafka`: the brokers are reached before DIR is touched (a broker that is down
// leaves no partial state), then the group member folds until stopped or idle.
Result<projections::FoldStats> run_fold_kafka(const FoldArgs& args,
                                              const projections::FoldOptions& options,
                                              Clock::time_point start, Clock::duration* elapsed) {
  const Common& common = args.common;
  bool show = !common.quiet && !common.json && stderr_is_tty();
  auto kafka = kafka_options(args.log);
  if (!kafka) return kafka.error();
  auto partitions = events::topic_partitions(*kafka);
  if (!partitions) return partitions.error();
  if (Status s = take_fold_lock(common.data); !s) return s.error();
  auto store = open_store(common.data, /*read_only=*/false);
  if (!store) return store.error();
  projections::KafkaFoldOptions ko;
  ko.fold = options;
  ko.group = args.log.group;
  ko.instance_id = args.log.instance_id;
  ko.until_idle = args.until_idle;
  ko.allow_partial_history = args.allow_partial_history;
  ko.on_notice = [&](const std::string& line) {
    if (show) fmt::print(stderr, "\n");
    fmt::print(stderr, "payledger: {}\n", line);
  };
  auto last_shown = Clock::now();
  ko.on_commit = [&](const projections::Folder& folder) {
    const projections::FoldStats& s = folder.stats();
    if (!show || Clock::now() - last_shown < std::chrono::milliseconds(250)) return;
    last_shown = Clock::now();
    fmt::print(stderr, "\r  folding from kafka: {} records ({} applied, {} rejected)   ",
               s.records, s.applied, s.rejected);
  };
  auto stats = projections::fold_kafka(**store, *kafka, ko);
  if (stats) {
    if (Status s = (*store)->flush(); !s) return s.error();
  }
  *elapsed = Clock::now() - start;
  if (show) fmt::print(stderr, "\n");
  return stats;
}

Result<projections::FoldStats> run_fold(const FoldArgs& args, Clock::duration* elapsed) {
  const Common& common = args.common;
  bool show = !common.quiet && !common.json && stderr_is_tty();
  projections::FoldOptions options;
  options.batch_events_max = args.batch_events;
  options.sync = args.sync;
  options.stop = &g_stop;
  // A second core writes each full batch while the next one folds (Folder::commit, which the
  // Kafka fold calls for its paced commits, still waits for it); the embedded fold also reads
  // and checks records ahead. The one-core bench measures without them.
  options.write_behind = true;
  auto start = Clock::now();
  if (args.log.kafka()) return run_fold_kafka(args, options, start, elapsed);
  options.read_ahead = true;
  auto log = open_log(common.data, /*writer=*/false, 0, false);
  if (!log) return log.error();
  // The store records which log it folds; a log from before identities gets one now.
  if (Status s = (*log)->ensure_identity(); !s) return s.error();
  options.log_identity = (*log)->identity();
  if (Status s = take_fold_lock(common.data); !s) return s.error();
  auto store = open_store(common.data, /*read_only=*/false);
  if (!store) return store.error();
  Progress progress("folding", show);
  options.on_progress = [&](const projections::FoldProgress& p) {
    progress.update(p.events_done, p.events_total);
  };
  auto stats = projections::fold(**store, **log, options);
  // So the queries that open the store next replay no WAL ("Query performance").
  if (stats) {
    if (Status s = (*store)->flush(); !s) return s.error();
  }
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
  if (s.deadlines_failed > 0) {
    // Not silent: a hold that could not lapse stays pending until an explicit expiry event.
    fmt::print(stderr,
               "payledger: warning: {} deadline(s) could not be booked (e.g. a balance would "
               "overflow); those payments stay as they are until an explicit expiry event\n",
               s.deadlines_failed);
  }
  if (s.rejected > 0) fmt::print("see the rejected events with `payledger rejects`\n");
}

// `interrupted`: a signal stopped a fold that would otherwise have read to the end of the
// log: the committed part is whole, but the books are behind the log, so not exit 0.
int finish_fold(const Common& common, Result<projections::FoldStats> stats,
                Clock::duration elapsed, bool interrupted) {
  if (!stats) return fail(stats.error());
  if (common.json) {
    json j = stats_json(*stats, per_second(stats->records, elapsed),
                        std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count());
    j["interrupted"] = interrupted;
    print_json(j);
  } else {
    print_fold_summary(*stats, elapsed);
  }
  if (interrupted) {
    fmt::print(stderr,
               "payledger: interrupted after {} events; what was folded is committed; rerun "
               "`payledger fold` to continue\n",
               stats->records);
    return interrupted_exit();
  }
  return kExitOk;
}

// Reads lines from a file descriptor in bounded memory: a line longer than `keep_max`
// keeps its first keep_max bytes, its length and its SHA-256. Stops at a line boundary when
// g_stop is set (reads on a terminal return EINTR: the signal handlers do not restart them).
class LineReader {
 public:
  enum class Next { kLine, kEnd, kInterrupted, kError };
  struct Line {
    std::string text;
    uint64_t length = 0;  // bytes of the whole line, without its newline
    bool truncated = false;
    std::string sha256;  // hex; only for truncated lines
    uint64_t number = 0;
  };
  LineReader(int fd, size_t keep_max) : fd_(fd), keep_max_(keep_max), buf_(1 << 16) {}
  int error() const { return err_; }
  uint64_t lines() const { return number_; }

  Next next(Line* line) {
    line->text.clear();
    line->length = 0;
    line->truncated = false;
    line->sha256.clear();
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> sha(nullptr, &EVP_MD_CTX_free);
    if (g_stop.load()) return Next::kInterrupted;  // between lines: nothing half-read
    bool any = false;
    while (true) {
      if (pos_ == len_) {
        if (g_stop.load()) return Next::kInterrupted;  // a partial line is not appended
        if (eof_) {
          if (!any) return Next::kEnd;
          break;
        }
        ssize_t n = ::read(fd_, buf_.data(), buf_.size());
        if (n < 0) {
          if (errno == EINTR) continue;
          err_ = errno;
          return Next::kError;
        }
        if (n == 0) eof_ = true;
        pos_ = 0;
        len_ = static_cast<size_t>(n);
        continue;
      }
      any = true;
      const char* start = buf_.data() + pos_;
      const auto* nl = static_cast<const char*>(std::memchr(start, '\n', len_ - pos_));
      size_t take = nl != nullptr ? static_cast<size_t>(nl - start) : len_ - pos_;
      consume(line, &sha, start, take);
      pos_ += take + (nl != nullptr ? 1 : 0);
      if (nl != nullptr) break;
    }
    if (sha) {
      unsigned char md[EVP_MAX_MD_SIZE];
      unsigned int md_len = 0;
      EVP_DigestFinal_ex(sha.get(), md, &md_len);
      for (unsigned i = 0; i < md_len; ++i) line->sha256 += fmt::format("{:02x}", md[i]);
    }
    line->number = ++number_;
    return Next::kLine;
  }

 private:
  void consume(Line* line, std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>* sha,
               const char* p, size_t n) {
    line->length += n;
    if (!line->truncated && line->text.size() + n <= keep_max_) {
      line->text.append(p, n);
      return;
    }
    if (!line->truncated) {
      line->truncated = true;
      sha->reset(EVP_MD_CTX_new());
      EVP_DigestInit_ex(sha->get(), EVP_sha256(), nullptr);
      EVP_DigestUpdate(sha->get(), line->text.data(), line->text.size());
      line->text.append(p, std::min(n, keep_max_ - line->text.size()));
    }
    EVP_DigestUpdate(sha->get(), p, n);
  }

  int fd_;
  size_t keep_max_;
  std::vector<char> buf_;
  size_t pos_ = 0, len_ = 0;
  bool eof_ = false;
  int err_ = 0;
  uint64_t number_ = 0;
};

bool is_blank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

// The first bytes of an oversized line, cut before a trailing run of digits so a card number
// split by the cut cannot slip past the mask with some of its digits.
std::string bounded_prefix(std::string_view text) {
  if (text.size() <= events::kParkedPrefixBytes) return std::string(text);
  size_t cut = events::kParkedPrefixBytes;
  auto digitish = [](char c) { return (c >= '0' && c <= '9') || c == ' ' || c == '-'; };
  if (digitish(text[cut])) {
    while (cut > 0 && digitish(text[cut - 1])) --cut;
  }
  return std::string(text.substr(0, cut));
}

// One NDJSON line as append logs it: the event (binary Protobuf), or a parked record that
// the fold turns into a reject with the reason found here and the line it came from. Bad
// input is never dropped, and a card number is masked before anything is written.
// `full` also runs the envelope checks and the posting rules' state-free checks the fold
// runs (for --dry-run).
events::AppendRecord to_record(const LineReader::Line& line, std::string_view text,
                               const std::string& source, bool full, v1::Envelope* scratch,
                               std::optional<events::ParkedInput>* parked) {
  events::ParkedInput p;
  p.source = source;
  p.length = line.length;
  if (line.truncated) {
    p.code = Code::kMalformed;
    p.reason = fmt::format(
        "line of {} bytes exceeds the {} byte event limit (its first bytes and SHA-256 are kept)",
        line.length, events::kEventBytesMax);
    p.kept = bounded_prefix(text);
    p.truncated = true;
    p.sha256 = line.sha256;
  } else {
    scratch->Clear();
    Status s = events::from_json(text, scratch);
    if (s) s = events::check_strings(*scratch);
    if (s && full) s = events::validate(*scratch);
    if (s && full) s = ledger::check_without_state(*scratch);
    if (s) {
      parked->reset();
      return events::event_record(*scratch);
    }
    p.code = s.error().code;
    p.reason = s.error().reason;
    if (p.code == Code::kPanDetected) {
      events::mask_pans(scratch);
      p.kept = events::to_json(*scratch);
    } else {
      p.kept = std::string(text);
    }
  }
  std::string masked = events::mask_record_value(events::RecordFormat::kRawJson, p.kept);
  if (masked != p.kept && p.code != Code::kPanDetected) {
    p.reason = fmt::format("the line holds a card number (masked); {}", p.reason);
    p.code = Code::kPanDetected;
  }
  p.kept = std::move(masked);
  p.reason = events::mask_pans(p.reason);
  *parked = p;
  return events::AppendRecord{"", events::encode_parked(p), events::RecordFormat::kRawJson};
}

// Opens the NDJSON input: a file (not a directory) or standard input ("-").
Result<int> open_input(const std::string& input) {
  if (input == "-") {
    if (::isatty(0)) {
      fmt::print(stderr, "reading NDJSON from standard input (Ctrl-D to end)\n");
    }
    return 0;
  }
  int fd = ::open(input.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return make_error(Code::kIo, fmt::format("cannot read {}: {}", input, std::strerror(errno)));
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    return make_error(Code::kInvalidArgument,
                      fmt::format("{} is a directory; give an NDJSON file (or - for stdin)", input));
  }
  return fd;
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
  GeneratorOptions options{args.events, args.seed, args.merchants, args.market,
                           !args.no_contracts};
  options.rates = !args.no_rates;
  Generator gen(options);
  v1::Envelope e;
  uint64_t written = 0;
  while (!g_stop.load() && gen.next(&e)) {
    *out << events::to_json(e) << '\n';
    ++written;
  }
  out->flush();
  if (!*out) return fail(make_error(Code::kIo, "write failed"));
  if (g_stop.load()) {
    fmt::print(stderr, "payledger: generate interrupted after {} of {} events (each line whole)\n",
               written, args.events);
    return interrupted_exit();
  }
  return kExitOk;
}

namespace {

// What one append run read and wrote, for its report.
struct AppendTally {
  uint64_t appended = 0;   // records written to the log
  uint64_t parked = 0;     // lines that are not valid events (logged as parked input)
  uint64_t events_ok = 0;  // valid events
  bool interrupted = false;
};
constexpr uint64_t kParkedShownMax = 20;

// Moves to the first non-blank line (dropping a UTF-8 byte order mark) and refuses a JSON
// array before anything is written (it would park as one giant malformed line).
Status first_event_line(LineReader& reader, const std::string& name, LineReader::Line* line,
                        LineReader::Next* next) {
  while ((*next = reader.next(line)) == LineReader::Next::kLine) {
    if (line->number == 1 && line->text.rfind("\xEF\xBB\xBF", 0) == 0) line->text.erase(0, 3);
    if (!is_blank(line->text)) break;
  }
  if (*next == LineReader::Next::kLine &&
      line->text[line->text.find_first_not_of(" \t\r")] == '[') {
    return make_error(
        Code::kInvalidArgument,
        fmt::format("{} holds a JSON array; append takes NDJSON (one event per line): convert it "
                    "with `jq -c '.[]' {} > events.ndjson`; nothing was appended",
                    name, name));
  }
  return Status::Ok();
}

// Appends every line from `line` on to `log` (nullptr: a dry run that only checks them) in
// batches; invalid lines are appended as parked input, each named on stderr (stdout in a dry
// run). Stops at the end of the input, a read error or an interrupt.
Status append_lines(const AppendArgs& args, const std::string& name, LineReader& reader,
                    LineReader::Line& line, LineReader::Next next, events::EventLog* log,
                    AppendTally* t) {
  size_t batch_max = args.batch_events != 0 ? args.batch_events
                    : args.log.kafka()    ? kKafkaAppendBatch
                                          : kAppendBatchMax;
  std::vector<events::AppendRecord> batch;
  v1::Envelope scratch;
  auto flush = [&]() -> Status {
    if (log != nullptr && !batch.empty()) {
      if (Status s = log->append(batch); !s) return s;
      t->appended += batch.size();
    }
    batch.clear();
    return Status::Ok();
  };
  std::optional<events::ParkedInput> why;
  for (; next == LineReader::Next::kLine; next = reader.next(&line)) {
    if (line.number == 1 && line.text.rfind("\xEF\xBB\xBF", 0) == 0) line.text.erase(0, 3);
    if (!line.truncated && is_blank(line.text)) continue;
    batch.push_back(to_record(line, line.text, fmt::format("{}:{}", name, line.number),
                              args.dry_run, &scratch, &why));
    if (why) {
      if (++t->parked <= kParkedShownMax || args.dry_run) {
        fmt::print(args.dry_run ? stdout : stderr, "{}: {}: {}\n", why->source,
                   code_name(why->code), why->reason);
      }
    } else {
      ++t->events_ok;
    }
    if (batch.size() >= batch_max) {
      if (Status s = flush(); !s) return s;
    }
  }
  if (Status s = flush(); !s) return s;
  if (next == LineReader::Next::kError) {
    return make_error(Code::kIo, fmt::format("reading {} after line {}: {} ({} records "
                                             "appended)",
                                             name, reader.lines(), std::strerror(reader.error()),
                                             t->appended));
  }
  t->interrupted = next == LineReader::Next::kInterrupted;
  return Status::Ok();
}

int report_dry_run(const AppendArgs& args, uint64_t lines, const AppendTally& t) {
  if (args.common.json) {
    print_json(json{{"lines", lines}, {"valid", t.events_ok}, {"rejected", t.parked},
                    {"interrupted", t.interrupted}});
  } else {
    fmt::print("dry run: {} valid events, {} lines would be rejected; nothing was written\n",
               t.events_ok, t.parked);
  }
  if (t.interrupted) return interrupted_exit();
  return t.parked == 0 ? kExitOk : kExitFailed;
}

int report_append(const AppendArgs& args, const std::string& name, uint64_t lines,
                  const AppendTally& t) {
  if (args.common.json) {
    print_json(json{{"appended", t.appended}, {"unparsed", t.parked},
                    {"interrupted", t.interrupted}, {"lines_read", lines}});
  } else {
    fmt::print("appended {} records ({} events, {} parked lines) to {}\n", t.appended,
               t.events_ok, t.parked,
               args.log.kafka()
                   ? fmt::format("kafka topic {} on {}", args.log.topic, args.log.brokers)
                   : log_dir(args.common.data));
    if (lines == 0 && !t.interrupted) {
      fmt::print(stderr, "warning: {} held no lines; nothing was appended\n", name);
    }
    if (t.parked > kParkedShownMax) {
      fmt::print(stderr, "... and {} more parked lines\n", t.parked - kParkedShownMax);
    }
    if (t.parked > 0) {
      fmt::print(stderr,
                 "warning: {} lines are not valid events; they were logged as parked input and "
                 "the fold will list them with their line (see `payledger rejects`)\n",
                 t.parked);
    }
  }
  if (t.interrupted) {
    fmt::print(stderr,
               "payledger: append interrupted after line {} of {}: the {} records before it are "
               "appended whole; append the rest from line {} on (e.g. `tail -n +{} {}`)\n",
               lines, name, t.appended, lines + 1, lines + 1, name);
    return interrupted_exit();
  }
  return kExitOk;
}

}  // namespace

int cmd_append(const AppendArgs& args) {
  if (!args.log.kafka() && args.common.data.empty() && !args.dry_run) {
    return usage("append to the embedded log needs --data DIR (or --log kafka)");
  }
  if (args.log.kafka() && args.partitions_given) {
    return usage("--partitions applies to the embedded log; create a Kafka topic with "
                 "`payledger topic create --partitions N`");
  }
  auto fd = open_input(args.input);
  if (!fd) return fd.error().code == Code::kInvalidArgument ? usage(fd.error().reason)
                                                            : fail(fd.error());
  struct Closer {
    int fd;
    ~Closer() {
      if (fd > 0) ::close(fd);
    }
  } closer{*fd};
  const std::string name = args.input == "-" ? "stdin" : args.input;
  LineReader reader(*fd, events::kEventBytesMax);
  LineReader::Line line;
  LineReader::Next next;
  if (Status s = first_event_line(reader, name, &line, &next); !s) return fail(s.error());
  std::unique_ptr<events::EventLog> log;
  if (!args.dry_run) {
    auto opened = open_append_log(args.common, args.log, args.partitions, args.sync);
    if (!opened) return fail(opened.error());
    log = std::move(opened).value();
    if (args.partitions_given && log->partition_count() != args.partitions) {
      return usage(fmt::format("the log in {} already has {} partitions; --partitions {} applies "
                               "only when a log is created (drop the option, or use a new --data)",
                               log_dir(args.common.data), log->partition_count(),
                               args.partitions));
    }
  }
  AppendTally tally;
  if (Status s = append_lines(args, name, reader, line, next, log.get(), &tally); !s) {
    return fail(s.error());
  }
  return args.dry_run ? report_dry_run(args, reader.lines(), tally)
                      : report_append(args, name, reader.lines(), tally);
}

int cmd_fold(const FoldArgs& args) {
  Clock::duration elapsed{};
  auto stats = run_fold(args, &elapsed);
  // A Kafka fold without --until-idle runs until a signal: then stopping is the plan.
  bool service = args.log.kafka() && !args.until_idle;
  return finish_fold(args.common, std::move(stats), elapsed, g_stop.load() && !service);
}

namespace {

// The error for an --account that names nothing in the books (a typo would otherwise read as
// "no balances" or "no lines"): the account, the books, and the nearest account name when
// one is close. `prefix`: balance's --account is a prefix of account names.
Error unknown_account(const projections::Stores& stores, const Common& common,
                      const std::string& account, bool prefix) {
  std::string best;
  // Close enough to be a typo: one edit in a short name, up to three in a long one.
  size_t best_distance = std::max<size_t>(1, std::min<size_t>(3, account.size() / 4)) + 1;
  auto rows = projections::list_balances(stores, "");
  if (rows) {
    for (const auto& r : *rows) {
      // A prefix is compared with the account's prefixes of about its length (a typo may
      // drop or add characters); a full name with the whole account.
      size_t from =
          prefix ? account.size() - std::min<size_t>(account.size(), 3) : r.account.size();
      size_t to = prefix ? std::min(r.account.size(), account.size() + 3) : r.account.size();
      for (size_t n = from; n <= to; ++n) {
        std::string candidate = r.account.substr(0, n);
        if (size_t d = edit_distance(account, candidate); d < best_distance) {
          best_distance = d;
          best = candidate;
        }
      }
    }
  }
  return make_error(Code::kInvalidArgument,
                    fmt::format("no account {}'{}' in the books of {}{} (list accounts with "
                                "`payledger balance --data {}`)",
                                prefix ? "starting with " : "", account, common.data,
                                best.empty() ? "" : fmt::format("; did you mean '{}'?", best),
                                common.data));
}

// Before a Kafka rebuild drops anything: the brokers answer, the topic exists with its
// partitions, and it is the log this store folded (a store of another log is not replaced by
// a rebuild). So a broker that is down or a mistyped --topic/--brokers leaves the books as
// they were, like a corrupt embedded log does.
Status check_kafka_rebuild(const FoldArgs& args) {
  auto kafka = kafka_options(args.log);
  if (!kafka) return kafka.error();
  auto info = events::topic_info(*kafka);  // kIo naming the brokers; the topic must exist
  if (!info) return info.error();
  if (info->partitions == 0) {
    return make_error(Code::kInvalidArgument,
                      fmt::format("topic '{}' on {} has no partitions", kafka->topic,
                                  kafka->brokers));
  }
  const std::string dir = projections_dir(args.common.data);
  if (!std::filesystem::exists(dir)) return Status::Ok();
  // A store that does not open (another layout version, damage) is what rebuild is for:
  // there is no identity to compare, and dropping it loses nothing readable.
  auto store = open_store(args.common.data, /*read_only=*/true);
  if (!store) return Status::Ok();
  auto recorded = (*store)->recorded_log_identity();
  if (!recorded) return recorded.error();
  std::string topic_identity = events::kafka_log_identity(*info, *kafka);
  if (!recorded->empty() && *recorded != topic_identity) {
    return make_error(Code::kInvalidArgument,
                      fmt::format("{} holds the books of log '{}', not of topic '{}' on {} "
                                  "('{}'): rebuild does not replace one log's books with "
                                  "another's; fold that topic into another --data directory, "
                                  "or delete {} first if these books are no longer wanted",
                                  dir, *recorded, kafka->topic, kafka->brokers, topic_identity,
                                  dir));
  }
  return Status::Ok();
}

}  // namespace

int cmd_rebuild(const FoldArgs& args) {
  if (!args.log.kafka() && !std::filesystem::exists(log_dir(args.common.data) + "/partitions")) {
    return fail(make_error(Code::kIo, fmt::format("no event log at {}", log_dir(args.common.data))));
  }
  if (args.log.kafka()) {
    if (Status s = check_kafka_rebuild(args); !s) {
      Error e = s.error();
      e.reason += fmt::format("; nothing was dropped, the projections in {} are kept",
                              projections_dir(args.common.data));
      return fail(e);
    }
  }
  if (!args.log.kafka()) {
    // Opening the log checks every record: a corrupt log keeps the projections it has.
    if (auto log = open_log(args.common.data, /*writer=*/false, 0, false); !log) {
      return fail(log.error());
    }
  }
  if (Status s = take_fold_lock(args.common.data); !s) return fail(s.error());
  if (Status s = projections::Store::destroy(projections_dir(args.common.data)); !s) {
    return fail(s.error());
  }
  if (!args.common.json) fmt::print("dropped projections; refolding from offset 0\n");
  return cmd_fold(args);
}

int cmd_balance(const Common& common, const std::string& prefix, const PointArgs& point_args) {
  auto opened = open_stores(common);
  if (!opened) return fail(opened.error());
  auto point = read_point(opened->stores, point_args);
  if (!point) return fail_point(point.error());
  auto rows = projections::balances_at(opened->stores, prefix, *point);
  if (!rows) return fail(rows.error());
  if (rows->empty() && !prefix.empty()) {
    auto now = projections::list_balances(opened->stores, prefix);
    if (!now) return fail(now.error());
    if (now->empty()) return fail(unknown_account(opened->stores, common, prefix, /*prefix=*/true));
  }
  if (common.csv) {
    std::cout << csv_record({"account", "asset", "posted", "pending", "posted_debit",
                             "posted_credit", "pending_debit", "pending_credit"});
    for (const auto& r : *rows) {
      const auto& b = r.balance;
      std::cout << csv_record({r.account, r.asset, scaled(b.posted_net(r.normal), r.exponent),
                               scaled(b.pending_net(r.normal), r.exponent),
                               scaled(b.posted_debit, r.exponent), scaled(b.posted_credit, r.exponent),
                               scaled(b.pending_debit, r.exponent),
                               scaled(b.pending_credit, r.exponent)});
    }
    return kExitOk;
  }
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

int cmd_statement(const Common& common, const std::string& account, uint64_t limit,
                  const PointArgs& point_args) {
  if (auto id = ledger::AccountId::parse(account); !id) return usage(id.error().reason);
  std::optional<int64_t> from, to;
  if (auto bad = read_as_of(point_args.to, &to, "--to"); bad) return usage(*bad);
  if (!point_args.from.empty()) {
    from = parse_moment(point_args.from, /*end_of_day=*/false);  // a date: its start
    if (!from) {
      return usage(fmt::format("--from '{}' is not an RFC 3339 time or a date (its start, "
                               "00:00:00Z)",
                               point_args.from));
    }
  }
  if (from && to && *from > *to) {
    return usage(fmt::format("--from {} is after --to {}", ledger::utc_rfc3339(*from),
                             ledger::utc_rfc3339(*to)));
  }
  auto opened = open_stores(common);
  if (!opened) return fail(opened.error());
  auto point = read_point(opened->stores, point_args);
  if (!point) return fail_point(point.error());
  if (from && point->as_of_s && *from > *point->as_of_s) {
    return usage(fmt::format("--from {} is after --as-of {}", ledger::utc_rfc3339(*from),
                             ledger::utc_rfc3339(*point->as_of_s)));
  }
  auto st = projections::statement_between(opened->stores, account, from, to, *point, limit);
  if (!st) return fail(st.error());
  if (st->assets.empty()) {
    // An empty statement of a mistyped account would read as "nothing happened": say so.
    return fail(unknown_account(opened->stores, common, account, /*prefix=*/false));
  }
  size_t total = 0;
  for (const auto& a : st->assets) total += a.lines;
  const ledger::Side normal = st->normal;
  auto exponent_of = [&](const std::string& asset) {
    auto a = ledger::Asset::find(asset);
    return a ? a->exponent() : 0;
  };
  auto line_fields = [&](const projections::TimedLine& t) {
    const auto& l = t.line;
    const int x = exponent_of(t.asset);
    const bool posted = l.bucket == ledger::Bucket::kPosted;
    return std::vector<std::string>{ledger::utc_rfc3339(l.occurred_at_s),
                                    fmt::format("{}:{}", t.partition, l.offset),
                                    t.merchant,
                                    t.payment,
                                    l.event_id,
                                    std::string(events::body_name_of(l.body_case)),
                                    posted ? "posted" : "pending",
                                    l.side == ledger::Side::kDebit ? "debit" : "credit",
                                    scaled(l.amount_minor, x),
                                    t.asset,
                                    scaled(t.running.posted_net(normal), x),
                                    scaled(t.running.pending_net(normal), x)};
  };
  if (common.csv) {
    std::cout << csv_record({"occurred_at", "position", "merchant", "payment", "event_id", "kind",
                             "bucket", "side", "amount", "asset", "posted_balance",
                             "pending_balance"});
    for (const auto& t : st->lines) std::cout << csv_record(line_fields(t));
    return kExitOk;
  }
  if (common.json) {
    json lines = json::array();
    for (const auto& t : st->lines) {
      auto f = line_fields(t);
      json j{{"occurred_at", f[0]}, {"partition", t.partition}, {"offset", t.line.offset},
             {"merchant", f[2]},    {"payment", f[3]},          {"event_id", f[4]},
             {"kind", f[5]},        {"bucket", f[6]},           {"side", f[7]},
             {"amount", f[8]},      {"asset", f[9]},            {"posted_balance", f[10]},
             {"pending_balance", f[11]}};
      if (!t.reference.empty() && t.reference != t.payment) j["reference"] = t.reference;
      if (t.fired) j["fired_by_fold"] = true;
      lines.push_back(std::move(j));
    }
    json assets = json::array();
    for (const auto& a : st->assets) {
      assets.push_back(json{{"asset", a.asset},
                            {"opening_posted", scaled(a.opening.posted_net(normal), a.exponent)},
                            {"opening_pending", scaled(a.opening.pending_net(normal), a.exponent)},
                            {"closing_posted", scaled(a.closing.posted_net(normal), a.exponent)},
                            {"closing_pending", scaled(a.closing.pending_net(normal), a.exponent)},
                            {"lines", a.lines}});
    }
    json doc{{"account", account}, {"order", "event_time"}, {"assets", assets},
             {"lines", lines},     {"total_lines", total}};
    if (from) doc["from"] = ledger::utc_rfc3339(*from);
    if (to) doc["to"] = ledger::utc_rfc3339(*to);
    if (!point->at_offsets.empty()) doc["at_offset"] = point_args.at_offset;
    add_coverage(*opened, &doc);
    print_json(doc);
    return kExitOk;
  }
  fmt::print("{:<20} {:<10} {:<14} {:<18} {:<18} {:<20} {:<7} {:<2} {:>14} {:<6} {:>16}\n",
             "TIME", "LOG POS", "MERCHANT", "PAYMENT", "EVENT", "KIND", "BUCKET", "", "AMOUNT",
             "ASSET", "POSTED BALANCE");
  for (const auto& a : st->assets) {
    if (from) {
      fmt::print("{:<20} opening {} {} (posted), {} pending\n", ledger::utc_rfc3339(*from), a.asset,
                 scaled(a.opening.posted_net(normal), a.exponent),
                 scaled(a.opening.pending_net(normal), a.exponent));
    }
  }
  for (const auto& t : st->lines) {
    auto f = line_fields(t);
    fmt::print("{:<20} {:<10} {:<14} {:<18} {:<18} {:<20} {:<7} {:<2} {:>14} {:<6} {:>16}\n", f[0],
               f[1], f[2].empty() ? "-" : f[2], f[3].empty() ? "-" : f[3], f[4], f[5], f[6],
               f[7] == "debit" ? "Dr" : "Cr", f[8], f[9], f[10]);
  }
  for (const auto& a : st->assets) {
    fmt::print("closing {} {} (posted), {} pending, {} lines\n", a.asset,
               scaled(a.closing.posted_net(normal), a.exponent),
               scaled(a.closing.pending_net(normal), a.exponent), a.lines);
  }
  if (limit != 0) {
    // A limited listing is not the whole account: say how much is left out.
    fmt::print("showing {} of {} lines\n", st->lines.size(), total);
  } else {
    fmt::print("{} lines\n", st->lines.size());
  }
  return kExitOk;
}

int cmd_trial_balance(const Common& common, const PointArgs& point_args) {
  auto opened = open_stores(common, /*whole_log=*/true);  // every record's CRC
  if (!opened) return fail(opened.error());
  auto point = read_point(opened->stores, point_args);
  if (!point) return fail_point(point.error());
  auto rows = projections::balances_at(opened->stores, "", *point);
  if (!rows) return fail(rows.error());
  auto tb = projections::trial_balance_of(*rows);
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
    json out{{"balanced", tb->balanced()}, {"accounts", tb->accounts}, {"assets", assets}};
    add_coverage(*opened, &out);
    print_json(out);
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
  auto opened = open_stores(common, /*whole_log=*/true);  // every record's CRC
  if (!opened) return fail(opened.error());
  auto digest = projections::projection_digest(opened->stores);
  if (!digest) return fail(digest.error());
  // The log positions the digest covers, and each partition's hash-chain head there.
  auto heads = projections::chain_heads(opened->stores);
  if (!heads) return fail(heads.error());
  std::string positions;
  for (const auto& h : *heads) {
    positions += fmt::format("{}{}:{}", positions.empty() ? "" : ",", h.partition, h.next_offset);
  }
  if (common.json) {
    json parts = json::array();
    for (const auto& h : *heads) {
      parts.push_back(json{{"partition", h.partition},
                           {"next_offset", h.next_offset},
                           {"records_chained", h.chain ? h.chain->records : 0},
                           {"chain_head", h.chain ? projections::hex_of(h.chain->head) : ""}});
    }
    json out{{"algorithm", "sha256"}, {"digest", *digest}, {"positions", positions},
             {"partitions", parts}};
    add_coverage(*opened, &out);
    print_json(out);
  } else {
    // stdout: the digest alone (scripts compare it across folds and log backends, whose
    // positions differ); what it covers on stderr.
    fmt::print("{}\n", *digest);
    fmt::print(stderr, "payledger: the digest covers log positions {} (--at-offset form)\n",
               positions);
    for (const auto& h : *heads) {
      fmt::print(stderr, "payledger:   partition {}: chain head {} ({} records)\n", h.partition,
                 h.chain ? projections::hex_of(h.chain->head) : "-",
                 h.chain ? h.chain->records : 0);
    }
  }
  return kExitOk;
}

int cmd_rejects(const Common& common, uint64_t limit) {
  auto opened = open_stores(common);
  if (!opened) return fail(opened.error());
  size_t total = 0;
  auto rejects = projections::list_rejects(opened->stores, limit, &total);
  if (!rejects) return fail(rejects.error());
  if (common.csv) {
    std::cout << csv_record({"partition", "offset", "code", "reason", "event_id", "merchant_id",
                             "resolved"});
    for (const auto& r : *rejects) {
      std::cout << csv_record({std::to_string(r.partition), std::to_string(r.offset),
                               std::string(code_name(r.code)), r.reason, r.event_id,
                               r.merchant_id, r.resolved});
    }
    return kExitOk;
  }
  if (common.json) {
    json out = json::array();
    for (const auto& r : *rejects) {
      json j{{"partition", r.partition}, {"offset", r.offset},
             {"code", code_name(r.code)}, {"reason", r.reason},
             {"event_id", r.event_id},    {"merchant_id", r.merchant_id}};
      if (!r.resolved.empty()) j["resolved"] = r.resolved;
      v1::Envelope e;
      if (r.format == events::RecordFormat::kRawJson && events::is_parked(r.value)) {
        auto parked = events::decode_parked(r.value);
        if (parked) {
          j["line"] = parked->source;
          raw_json(j, "raw", parked->kept);
          j["raw_bytes"] = parked->length;
          if (parked->truncated) {
            j["raw_truncated"] = true;
            j["raw_sha256"] = parked->sha256;
          }
        }
      } else if (r.format == events::RecordFormat::kRawJson) {
        raw_json(j, "raw", r.value);
      } else if (events::decode(r.value, &e)) {
        j["event"] = json::parse(events::to_json(e));
      }
      out.push_back(std::move(j));
    }
    print_json(out);
    return kExitOk;
  }
  for (const auto& r : *rejects) {
    fmt::print("p{}/{:<8} {:<22} {:<16} {:<14} {}{}\n", r.partition, r.offset, code_name(r.code),
               r.event_id.empty() ? "-" : r.event_id, r.merchant_id.empty() ? "-" : r.merchant_id,
               r.reason, r.resolved.empty() ? "" : fmt::format(" [resolved: {}]", r.resolved));
  }
  if (limit != 0) {
    fmt::print("showing {} of {} rejected events\n", rejects->size(), total);
  } else {
    fmt::print("{} rejected events\n", rejects->size());
  }
  return kExitOk;
}

int cmd_payment(const Common& common, const std::string& merchant_arg, const std::string& payment) {
  auto opened = open_stores(common);
  if (!opened) return fail(opened.error());
  // The payment's events (its timeline); without --merchant, the id finds its merchant.
  std::vector<std::string> merchants;
  auto timeline = projections::payment_timeline(opened->stores, merchant_arg, payment, &merchants);
  if (!timeline) return fail(timeline.error());
  std::string merchant = merchant_arg;
  if (merchant.empty()) {
    if (merchants.empty()) {
      return fail(make_error(Code::kUnknownPayment,
                             fmt::format("no merchant has a payment '{}'", payment)));
    }
    if (merchants.size() > 1) {
      std::string list;
      for (const auto& m : merchants) list += (list.empty() ? "" : ", ") + m;
      return fail(make_error(Code::kInvalidArgument,
                             fmt::format("payment id '{}' is used by {} merchants ({}): pass "
                                         "--merchant",
                                         payment, merchants.size(), list)));
    }
    merchant = merchants.front();
  }
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
         {"fee", scaled(p.fee, x)},                    // charged at money-in
         {"fee_returned", scaled(p.fee_returned, x)},  // by refunds and reversals
         {"coupons", scaled(p.coupons, x)},
         {"dispute", ledger::dispute_status_name(p.dispute)},
         {"created_at", ledger::utc_rfc3339(p.created_at_s)}};
  if (!p.coupon_funding.empty()) {
    // Per funder: what it paid and what voids, refunds and disputes gave back to it.
    ledger::Int128 returned = 0;
    json funders = json::array();
    for (const auto& f : p.coupon_funding) {
      json one{{"funder", ledger::coupon_funder_name(f.funder)},
               {"applied", scaled(f.applied, x)},
               {"returned", scaled(f.returned, x)}};
      if (!f.partner.empty()) one["partner"] = f.partner;
      funders.push_back(std::move(one));
      returned = returned + f.returned;
    }
    j["coupons_returned"] = scaled(returned, x);
    j["coupon_funders"] = std::move(funders);
  }
  if (p.expires_at_s != 0) j["expires_at"] = ledger::utc_rfc3339(p.expires_at_s);
  if (p.instalments != 0) {
    j["instalments"] = p.instalments;
    j["instalments_collected"] = p.instalments_collected;
  }
  if (p.fx) {  // converted into the merchant's settlement asset (docs/fx.md)
    j["settles_in"] = p.fx->settle;
    j["fx_pair"] = p.fx->pair;
    j["fx_rate"] = p.fx->rate;
    if (!p.fx->markup.empty()) j["fx_markup"] = p.fx->markup;
    if (!p.fx->quote_id.empty()) j["fx_quote_id"] = p.fx->quote_id;
    j["fx_net_posted"] = scaled(p.fx->posted, x);
  }
  json events_json = json::array();
  for (const auto& e : *timeline) {
    json lines = json::array();
    for (const auto& l : e.lines) {
      auto a = ledger::Asset::find(l.asset);
      lines.push_back(json{{"account", l.account},
                           {"asset", l.asset},
                           {"side", l.side == ledger::Side::kDebit ? "debit" : "credit"},
                           {"bucket", l.bucket == ledger::Bucket::kPosted ? "posted" : "pending"},
                           {"amount", scaled(l.amount_minor, a ? a->exponent() : 0)}});
    }
    json one{{"occurred_at", ledger::utc_rfc3339(e.occurred_at_s)},
             {"partition", e.partition},
             {"offset", e.offset},
             {"event_id", e.event_id},
             {"kind", std::string(events::body_name_of(e.body_case))},
             {"lines", lines}};
    if (e.fired) one["fired_by_fold"] = true;
    events_json.push_back(std::move(one));
  }
  if (common.json) {
    j["timeline"] = events_json;
    add_coverage(*opened, &j);
    print_json(j);
  } else {
    for (const auto& [k, v] : j.items()) {
      fmt::print("{:<22} {}\n", k, v.is_string() ? v.get<std::string>() : v.dump());
    }
    fmt::print("timeline ({} events; fee lines are those on psp:revenue:*):\n", timeline->size());
    for (const auto& e : events_json) {
      fmt::print("  {} p{}/{:<8} {:<20} {}{}\n", e["occurred_at"].get<std::string>(),
                 e["partition"].get<uint32_t>(), e["offset"].get<uint64_t>(),
                 e["kind"].get<std::string>(), e["event_id"].get<std::string>(),
                 e.contains("fired_by_fold") ? " (fired by the fold)" : "");
      for (const auto& l : e["lines"]) {
        fmt::print("      {:<2} {:>14} {:<6} {:<7} {}\n",
                   l["side"].get<std::string>() == "debit" ? "Dr" : "Cr",
                   l["amount"].get<std::string>(), l["asset"].get<std::string>(),
                   l["bucket"].get<std::string>(), l["account"].get<std::string>());
      }
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

namespace {

json rate_json(const ledger::FxRate& r, const std::string& inverse, uint32_t partitions) {
  return json{{"pair", r.pair},
              {"as_of", ledger::utc_rfc3339(r.as_of_s)},
              {"mid", r.mid},
              {"bid", r.bid},
              {"ask", r.ask},
              {"inverse_mid", inverse},
              {"source", r.source},
              {"event_id", r.event_id},
              {"partitions", partitions}};
}

// 1 / mid to 10 decimals, half-even (display only: conversions never use a rounded inverse).
std::string inverse_mid(const ledger::FxRate& r) {
  if (r.mid.empty()) return "";
  auto mid = ledger::Rate::parse(r.mid);
  if (!mid) return "";
  auto inv = ledger::inverse(*mid, 10, ledger::RoundingMode::kHalfEven);
  return inv ? inv->to_string() : "";
}

}  // namespace

int cmd_rates(const Common& common, const RatesArgs& args) {
  std::optional<int64_t> as_of;
  if (auto bad = read_as_of(args.as_of, &as_of)) return usage(*bad);
  if (!args.pair.empty()) {
    if (auto pair = ledger::CurrencyPair::parse(args.pair); !pair) {
      return usage(fmt::format("--pair: {}", pair.error().reason));
    }
  }
  auto opened = open_stores(common);
  if (!opened) return fail(opened.error());
  auto rows = projections::list_rates(opened->stores, args.pair, as_of, args.history);
  if (!rows) return fail(rows.error());
  const uint32_t partitions = opened->coverage.partitions;
  const auto pairs = projections::rates_by_pair(*rows);
  std::vector<std::string> differ;
  json out = json::array();
  if (!common.json) {
    fmt::print("{:<8} {:<20} {:>14} {:>14} {:>14} {:>14} {:<10} {}\n", "PAIR", "AS OF", "MID",
               "BID", "ASK", "1/MID", "SOURCE", "PARTITIONS");
  }
  for (const auto& pair : pairs) {
    if (pair.agreeing != partitions) {
      differ.push_back(fmt::format("{}: {} of {} partitions hold the rates of partition {}",
                                   pair.pair, pair.agreeing, partitions, pair.partition));
    }
    for (const auto& r : pair.rates) {
      std::string inverse = inverse_mid(r);
      if (common.json) {
        out.push_back(rate_json(r, inverse, pair.agreeing));
      } else {
        fmt::print("{:<8} {:<20} {:>14} {:>14} {:>14} {:>14} {:<10} {}/{}\n", r.pair,
                   ledger::utc_rfc3339(r.as_of_s), r.mid.empty() ? "-" : r.mid,
                   r.bid.empty() ? "-" : r.bid, r.ask.empty() ? "-" : r.ask,
                   inverse.empty() ? "-" : inverse, r.source, pair.agreeing, partitions);
      }
    }
  }
  if (common.json) print_json(out);
  if (pairs.empty() && !common.json) {
    fmt::print("no published rates{}{}\n", args.pair.empty() ? "" : " for " + args.pair,
               as_of ? " as of " + ledger::utc_rfc3339(*as_of) : "");
  }
  if (!differ.empty()) {
    for (const auto& d : differ) fmt::print(stderr, "payledger: error: {}\n", d);
    fmt::print(stderr,
               "payledger: error: the partitions' copies of the rates differ: a publication "
               "reached only some partitions (appended without key '*'), or was rejected in "
               "some (see `payledger rejects`)\n");
    return kExitFailed;
  }
  return kExitOk;
}

namespace {


// Display only: cost per unit of the asset, in the reporting currency, 6 decimals.
std::string average_cost(const ledger::Position& p, int asset_exp, int reporting_exp) {
  if (p.amount.is_zero()) return "";
  try {
    ledger::Int128 num = p.cost * ledger::pow10_128(6 + asset_exp);
    ledger::Int128 den = p.amount * ledger::pow10_128(reporting_exp);
    return ledger::format_scaled(num / den, 6);
  } catch (const std::exception&) {
    return "";
  }
}

// Money text of an optional amount; "-" (human) when unknown.
std::string opt_scaled(const std::optional<ledger::Int128>& v, int exponent) {
  return v ? scaled(*v, exponent) : "-";
}
json opt_json(const std::optional<ledger::Int128>& v, int exponent) {
  return v ? json(scaled(*v, exponent)) : json(nullptr);
}

json rate_ref_json(const std::optional<ledger::FxRate>& r) {
  if (!r) return nullptr;
  auto mid = ledger::mid_rate(*r);
  return json{{"pair", r->pair},
              {"as_of", ledger::utc_rfc3339(r->as_of_s)},
              {"value", mid ? mid->to_string() : ""},
              {"event_id", r->event_id}};
}

std::string rate_ref_text(const std::optional<ledger::FxRate>& r) {
  if (!r) return "-";
  auto mid = ledger::mid_rate(*r);
  return fmt::format("{} {} ({})", r->pair, mid ? mid->to_string() : "?",
                     ledger::utc_rfc3339(r->as_of_s).substr(0, 10));
}

// The request both FX queries build from their options, or a usage error (exit 2).
std::optional<std::string> positions_request(const PositionsArgs& args,
                                             projections::PositionsRequest* request) {
  if (!args.merchant.empty() && args.house_only) {
    return "--merchant and --house name different owners: give one";
  }
  if (auto bad = read_as_of(args.as_of, &request->as_of)) return *bad;
  request->house = args.merchant.empty();
  request->merchants = !args.house_only;
  if (!args.merchant.empty()) request->merchant = args.merchant;
  return std::nullopt;
}

// Rows whose cost is unknown (a trade no rate valued) are named on stderr.
void warn_unpriced(const projections::PositionsAnswer& a) {
  for (const auto& row : a.rows) {
    if (row.end.priced()) continue;
    fmt::print(stderr,
               "payledger: warning: {} {}: {} of {} trades had no {} rate published by their "
               "time: its cost and P&L are unknown (shown as -)\n",
               row.owner, row.asset.code(), row.end.unpriced, row.end.trades,
               ledger::CurrencyPair::of(row.asset, a.reporting)->to_string());
  }
}

json forward_json(const projections::ForwardValue& f, const ledger::Asset& reporting) {
  auto pair = ledger::CurrencyPair::parse(f.row.forward.pair);
  const int base_exp = pair ? pair->base().exponent() : 0;
  const int quote_exp = pair ? pair->quote().exponent() : 0;
  return json{{"forward_id", f.row.forward_id},
              {"pair", f.row.forward.pair},
              {"side", f.row.forward.buy ? "buy" : "sell"},
              {"notional", scaled(f.row.forward.notional, base_exp)},
              {"forward_rate", f.row.forward.rate},
              {"booked_at", ledger::utc_rfc3339(f.row.forward.booked_at_s)},
              {"value_date", ledger::utc_rfc3339(f.row.forward.value_date_s)},
              {"status", f.settled ? "settled" : "open"},
              {"spot", rate_ref_json(f.spot)},
              {"mark", opt_json(f.mark_quote, quote_exp)},
              {"mark_currency", pair ? pair->quote().code() : ""},
              {"mark_reporting", opt_json(f.mark_reporting, reporting.exponent())},
              {"value", opt_json(f.value(), reporting.exponent())}};
}

// P&L totals of one kind of owner: the house (the PSP's own FX P&L, its forwards included)
// or the merchants (each on its own payables: not the PSP's P&L). nullopt parts: unknown
// (a position or forward with no rate), so no total is shown rather than a partial one.
struct OwnerTotals {
  bool any = false;
  std::optional<ledger::Int128> realised = ledger::Int128(0);
  std::optional<ledger::Int128> unrealised = ledger::Int128(0);
  std::optional<ledger::Int128> forwards = ledger::Int128(0);
  static void add(std::optional<ledger::Int128>& sum, const std::optional<ledger::Int128>& v) {
    if (!v || !sum) {
      sum.reset();
    } else {
      *sum += *v;
    }
  }
  std::optional<ledger::Int128> total() const {
    if (!realised || !unrealised || !forwards) return std::nullopt;
    return *realised + *unrealised + *forwards;
  }
};

json totals_json(const OwnerTotals& t, int exponent) {
  return json{{"realised", opt_json(t.realised, exponent)},
              {"unrealised", opt_json(t.unrealised, exponent)},
              {"forwards", opt_json(t.forwards, exponent)},
              {"total", opt_json(t.total(), exponent)}};
}

std::string totals_text(std::string_view who, const OwnerTotals& t, int exponent,
                        std::string_view currency) {
  return fmt::format("{}: realised {}, unrealised {}, forwards {}, total {} {}", who,
                     opt_scaled(t.realised, exponent), opt_scaled(t.unrealised, exponent),
                     opt_scaled(t.forwards, exponent), opt_scaled(t.total(), exponent), currency);
}

// The totals the request asked for: {"house": ..., "merchants": ...}.
json owner_totals_json(const projections::PositionsRequest& request, const OwnerTotals& house,
                       const OwnerTotals& merchants, int exponent) {
  json totals = json::object();
  if (request.house) totals["house"] = totals_json(house, exponent);
  if (request.merchants) totals["merchants"] = totals_json(merchants, exponent);
  return totals;
}

void print_owner_totals(const projections::PositionsRequest& request, const OwnerTotals& house,
                        const OwnerTotals& merchants, int exponent, std::string_view currency) {
  if (request.house) {
    fmt::print("{}\n", totals_text("house (the PSP's FX P&L)", house, exponent, currency));
  }
  if (request.merchants) {
    fmt::print("{}\n",
               totals_text("merchants (on their own payables)", merchants, exponent, currency));
  }
}

// Checks --merchant names a merchant with a payable in the books (exit 1 otherwise).
std::optional<Error> unknown_merchant(const projections::Stores& stores,
                                      const std::string& merchant, const std::string& data) {
  if (merchant.empty()) return std::nullopt;
  auto rows = projections::list_balances(stores, ledger::Chart::merchant_payable(merchant).name());
  if (rows && !rows->empty()) return std::nullopt;
  if (!rows) return rows.error();
  return make_error(Code::kInvalidArgument,
                    fmt::format("merchant {} has no payable in the books of {}", merchant, data));
}

}  // namespace

int cmd_positions(const Common& common, const PositionsArgs& args) {
  auto reporting = ledger::Asset::find(args.reporting);
  if (!reporting) return usage(fmt::format("--reporting: {}", reporting.error().reason));
  projections::PositionsRequest request{*reporting};
  if (auto bad = positions_request(args, &request)) return usage(*bad);
  auto opened = open_stores(common);
  if (!opened) return fail(opened.error());
  if (auto e = unknown_merchant(opened->stores, args.merchant, common.data)) return fail(*e);
  auto answer = projections::positions(opened->stores, request);
  if (!answer) return fail(answer.error());
  const int rexp = reporting->exponent();
  const std::string at = request.as_of ? ledger::utc_rfc3339(*request.as_of) : "latest";
  OwnerTotals house, merchants;
  for (const auto& row : answer->rows) {
    OwnerTotals& t = row.owner == projections::kHouseOwner ? house : merchants;
    t.any = true;
    const bool priced = row.end.priced();
    OwnerTotals::add(t.realised, priced ? std::optional(row.end.position.realised) : std::nullopt);
    OwnerTotals::add(t.unrealised, priced ? row.end.unrealised : std::nullopt);
  }
  for (const auto& f : answer->forwards) {
    house.any = true;
    OwnerTotals::add(house.forwards, f.value());
  }
  if (common.json) {
    json out{{"reporting", reporting->code()}, {"as_of", request.as_of ? json(at) : json(nullptr)}};
    add_coverage(*opened, &out);
    json rows = json::array();
    for (const auto& row : answer->rows) {
      const auto& e = row.end;
      const int aexp = row.asset.exponent();
      const bool priced = e.priced();
      rows.push_back(json{
          {"owner", row.owner},
          {"asset", row.asset.code()},
          {"amount", scaled(e.position.amount, aexp)},
          {"cost", priced ? json(scaled(e.position.cost, rexp)) : json(nullptr)},
          {"average_cost", priced ? json(average_cost(e.position, aexp, rexp)) : json(nullptr)},
          {"realised", priced ? json(scaled(e.position.realised, rexp)) : json(nullptr)},
          {"unrealised", priced ? opt_json(e.unrealised, rexp) : json(nullptr)},
          {"rate", rate_ref_json(e.mark)},
          {"trades", e.trades},
          {"unpriced_trades", e.unpriced}});
    }
    out["positions"] = std::move(rows);
    json forwards = json::array();
    for (const auto& f : answer->forwards) forwards.push_back(forward_json(f, *reporting));
    out["forwards"] = std::move(forwards);
    out["totals"] = owner_totals_json(request, house, merchants, rexp);
    print_json(out);
  } else {
    fmt::print("FX positions in {} as of {}\n", reporting->code(), at);
    fmt::print("{:<22} {:<6} {:>20} {:>16} {:>14} {:>14} {:>14}  {}\n", "OWNER", "ASSET",
               "AMOUNT", "COST", "AVG COST", "REALISED", "UNREALISED", "RATE");
    for (const auto& row : answer->rows) {
      const auto& e = row.end;
      const int aexp = row.asset.exponent();
      const bool priced = e.priced();
      const std::string avg = priced ? average_cost(e.position, aexp, rexp) : "";
      fmt::print("{:<22} {:<6} {:>20} {:>16} {:>14} {:>14} {:>14}  {}\n", row.owner,
                 row.asset.code(), scaled(e.position.amount, aexp),
                 priced ? scaled(e.position.cost, rexp) : "-", avg.empty() ? "-" : avg,
                 priced ? scaled(e.position.realised, rexp) : "-",
                 priced ? opt_scaled(e.unrealised, rexp) : "-", rate_ref_text(e.mark));
    }
    if (answer->rows.empty()) fmt::print("no positions outside {}\n", reporting->code());
    if (!answer->forwards.empty()) {
      fmt::print("\n{:<14} {:<8} {:<5} {:>16} {:>12} {:<11} {:<8} {:>16} {:>16} {:>12}\n",
                 "FORWARD", "PAIR", "SIDE", "NOTIONAL", "RATE", "VALUE DATE", "STATUS", "MARK",
                 "MARK " + reporting->code(), "VALUE");
      for (const auto& f : answer->forwards) {
        auto pair = ledger::CurrencyPair::parse(f.row.forward.pair);
        fmt::print(
            "{:<14} {:<8} {:<5} {:>16} {:>12} {:<11} {:<8} {:>16} {:>16} {:>12}\n",
            f.row.forward_id, f.row.forward.pair, f.row.forward.buy ? "buy" : "sell",
            scaled(f.row.forward.notional, pair ? pair->base().exponent() : 0), f.row.forward.rate,
            ledger::utc_rfc3339(f.row.forward.value_date_s).substr(0, 10),
            f.settled ? "settled" : "open",
            f.mark_quote ? fmt::format("{} {}", scaled(*f.mark_quote, pair->quote().exponent()),
                                       pair->quote().code())
                         : "-",
            opt_scaled(f.mark_reporting, rexp), opt_scaled(f.value(), rexp));
      }
      fmt::print("(a settled forward's mark is as of its settlement; its value is then 0: the "
                 "exchange is in the position)\n");
    }
    fmt::print("\n");
    print_owner_totals(request, house, merchants, rexp, reporting->code());
  }
  warn_unpriced(*answer);
  return kExitOk;
}

int cmd_fx_pnl(const Common& common, const PositionsArgs& args) {
  auto reporting = ledger::Asset::find(args.reporting);
  if (!reporting) return usage(fmt::format("--reporting: {}", reporting.error().reason));
  auto from = parse_moment(args.from);
  auto to = parse_moment(args.to);
  if (!from || !to) {
    return usage(fmt::format("--from '{}' / --to '{}': give RFC 3339 times "
                             "(2026-03-31T23:59:59Z) or dates (2026-03-31 = its 00:00:00Z)",
                             args.from, args.to));
  }
  if (*from >= *to) return usage("--from must be before --to (the period is [from, to))");
  projections::PositionsRequest request{*reporting};
  PositionsArgs a = args;
  a.as_of.clear();
  if (auto bad = positions_request(a, &request)) return usage(*bad);
  request.as_of = *to - 1;
  request.from = *from;
  auto opened = open_stores(common);
  if (!opened) return fail(opened.error());
  if (auto e = unknown_merchant(opened->stores, args.merchant, common.data)) return fail(*e);
  auto answer = projections::positions(opened->stores, request);
  if (!answer) return fail(answer.error());
  const int rexp = reporting->exponent();
  using Opt = std::optional<ledger::Int128>;
  // Per position: realised in the period, unrealised at both ends (nothing before it existed).
  struct Pnl {
    Opt realised, unrealised_start, unrealised_end;
  };
  auto pnl_of = [](const projections::PositionRow& row) {
    Pnl p;
    if (!row.end.priced() || !row.start->priced()) return p;
    p.realised = row.end.position.realised - row.start->position.realised;
    p.unrealised_start = row.start->trades == 0 ? Opt(0) : row.start->unrealised;
    p.unrealised_end = row.end.unrealised;
    return p;
  };
  auto change = [](const Opt& end, const Opt& start) -> Opt {
    if (!end || !start) return std::nullopt;
    return *end - *start;
  };
  OwnerTotals house, merchants;
  for (const auto& row : answer->rows) {
    OwnerTotals& t = row.owner == projections::kHouseOwner ? house : merchants;
    t.any = true;
    Pnl p = pnl_of(row);
    OwnerTotals::add(t.realised, p.realised);
    OwnerTotals::add(t.unrealised, change(p.unrealised_end, p.unrealised_start));
  }
  // Forwards: the change of their value over the period (0 before booking and once settled).
  std::map<std::string, Opt> forward_start;
  for (const auto& f : answer->forwards_start) forward_start[f.row.forward_id] = f.value();
  auto forward_change = [&](const projections::ForwardValue& f) -> Opt {
    auto it = forward_start.find(f.row.forward_id);
    return change(f.value(), it == forward_start.end() ? Opt(0) : it->second);
  };
  for (const auto& f : answer->forwards) {
    house.any = true;
    OwnerTotals::add(house.forwards, forward_change(f));
  }
  auto runs = projections::list_revaluations(opened->stores);
  if (!runs) return fail(runs.error());
  // Each run in the period, valued as it was asked (positions as of its as-of, in its
  // currency), for the same owners as this request, house and merchants apart.
  struct RunTotal {
    projections::RevaluationRow row;
    OwnerTotals house, merchants;
    int exponent = 0;
  };
  std::vector<RunTotal> run_totals;
  for (const auto& r : *runs) {
    if (r.run.as_of_s < *from || r.run.as_of_s >= *to) continue;
    auto run_reporting = ledger::Asset::find(r.run.reporting);
    if (!run_reporting) return fail(run_reporting.error());
    projections::PositionsRequest rr{*run_reporting};
    rr.house = request.house;
    rr.merchants = request.merchants;
    rr.merchant = request.merchant;
    rr.as_of = r.run.as_of_s;
    auto valued = projections::positions(opened->stores, rr);
    if (!valued) return fail(valued.error());
    RunTotal rt{r, {}, {}, run_reporting->exponent()};
    for (const auto& row : valued->rows) {
      OwnerTotals& t = row.owner == projections::kHouseOwner ? rt.house : rt.merchants;
      t.any = true;
      OwnerTotals::add(t.unrealised, row.end.priced() ? row.end.unrealised : std::nullopt);
    }
    for (const auto& f : valued->forwards) OwnerTotals::add(rt.house.forwards, f.value());
    run_totals.push_back(std::move(rt));
  }
  if (common.json) {
    json out{{"reporting", reporting->code()},
             {"from", ledger::utc_rfc3339(*from)},
             {"to", ledger::utc_rfc3339(*to)}};
    add_coverage(*opened, &out);
    json rows = json::array();
    for (const auto& row : answer->rows) {
      Pnl p = pnl_of(row);
      Opt total;
      if (p.realised && p.unrealised_start && p.unrealised_end) {
        total = *p.realised + *p.unrealised_end - *p.unrealised_start;
      }
      rows.push_back(json{{"owner", row.owner},
                          {"asset", row.asset.code()},
                          {"amount_start",
                           scaled(row.start->position.amount, row.asset.exponent())},
                          {"amount_end", scaled(row.end.position.amount, row.asset.exponent())},
                          {"realised", opt_json(p.realised, rexp)},
                          {"unrealised_start", opt_json(p.unrealised_start, rexp)},
                          {"unrealised_end", opt_json(p.unrealised_end, rexp)},
                          {"total", opt_json(total, rexp)},
                          {"unpriced_trades", row.end.unpriced}});
    }
    out["positions"] = std::move(rows);
    json forwards = json::array();
    for (const auto& f : answer->forwards) {
      json j = forward_json(f, *reporting);
      j["change"] = opt_json(forward_change(f), rexp);
      forwards.push_back(std::move(j));
    }
    out["forwards"] = std::move(forwards);
    json jr = json::array();
    for (const auto& r : run_totals) {
      json j{{"as_of", ledger::utc_rfc3339(r.row.run.as_of_s)},
             {"reporting", r.row.run.reporting},
             {"event_id", r.row.run.event_id}};
      if (request.house) {
        j["house"] = json{{"unrealised", opt_json(r.house.unrealised, r.exponent)},
                          {"forwards", opt_json(r.house.forwards, r.exponent)}};
      }
      if (request.merchants) {
        j["merchants"] = json{{"unrealised", opt_json(r.merchants.unrealised, r.exponent)}};
      }
      jr.push_back(std::move(j));
    }
    out["revaluation_runs"] = std::move(jr);
    out["totals"] = owner_totals_json(request, house, merchants, rexp);
    print_json(out);
  } else {
    fmt::print("FX P&L in {} from {} to {} (end excluded)\n", reporting->code(),
               ledger::utc_rfc3339(*from), ledger::utc_rfc3339(*to));
    fmt::print("{:<22} {:<6} {:>14} {:>16} {:>16} {:>14}\n", "OWNER", "ASSET", "REALISED",
               "UNREALISED START", "UNREALISED END", "TOTAL");
    for (const auto& row : answer->rows) {
      Pnl p = pnl_of(row);
      Opt total;
      if (p.realised && p.unrealised_start && p.unrealised_end) {
        total = *p.realised + *p.unrealised_end - *p.unrealised_start;
      }
      fmt::print("{:<22} {:<6} {:>14} {:>16} {:>16} {:>14}\n", row.owner, row.asset.code(),
                 opt_scaled(p.realised, rexp), opt_scaled(p.unrealised_start, rexp),
                 opt_scaled(p.unrealised_end, rexp), opt_scaled(total, rexp));
    }
    for (const auto& f : answer->forwards) {
      auto it = forward_start.find(f.row.forward_id);
      fmt::print("{:<22} {:<6} {:>14} {:>16} {:>16} {:>14}\n", "forward " + f.row.forward_id,
                 reporting->code(), "",
                 opt_scaled(it == forward_start.end() ? Opt(0) : it->second, rexp),
                 opt_scaled(f.value(), rexp), opt_scaled(forward_change(f), rexp));
    }
    print_owner_totals(request, house, merchants, rexp, reporting->code());
    for (const auto& r : run_totals) {
      std::string parts;
      if (request.house) {
        parts += fmt::format(" house unrealised {}, forwards {};",
                             opt_scaled(r.house.unrealised, r.exponent),
                             opt_scaled(r.house.forwards, r.exponent));
      }
      if (request.merchants) {
        parts += fmt::format(" merchants unrealised {};",
                             opt_scaled(r.merchants.unrealised, r.exponent));
      }
      parts.pop_back();
      fmt::print("revaluation run {} as of {} in {}:{}\n", r.row.run.event_id,
                 ledger::utc_rfc3339(r.row.run.as_of_s), r.row.run.reporting, parts);
    }
  }
  warn_unpriced(*answer);
  return kExitOk;
}

namespace {

// cost / |benchmark| in basis points with one decimal ("12.3"); "-" when the benchmark is 0.
std::string basis_points(const ledger::Int128& cost, const ledger::Int128& benchmark) {
  if (benchmark.is_zero()) return "-";
  const ledger::Int128 b = benchmark.sign() < 0 ? ledger::Int128(-benchmark) : benchmark;
  ledger::Int128 tenths = cost * 100000;  // cost x 10,000 bp x 10 tenths
  ledger::Int128 q = tenths / b, r = tenths % b;
  if (r * 2 >= b && tenths.sign() > 0) q += 1;   // half up, away from zero (display only)
  if (-r * 2 >= b && tenths.sign() < 0) q -= 1;
  return ledger::format_scaled(q, 1);
}

}  // namespace

int cmd_fx_backtest(const Common& common, const std::string& reporting_code) {
  auto reporting = ledger::Asset::find(reporting_code);
  if (!reporting) return usage(fmt::format("--reporting: {}", reporting.error().reason));
  auto opened = open_stores(common);
  if (!opened) return fail(opened.error());
  auto bt = projections::fx_backtest(opened->stores, *reporting);
  if (!bt) return fail(bt.error());
  uint64_t flows = 0;
  for (const auto& c : bt->currencies) flows += c.flows;
  const int rexp = reporting->exponent();
  std::vector<projections::PolicyResult> totals(std::size(projections::kHedgePolicies));
  for (const auto& c : bt->currencies) {
    for (size_t i = 0; i < totals.size(); ++i) {
      totals[i].benchmark += c.policies[i].benchmark;
      totals[i].proceeds += c.policies[i].proceeds;
      totals[i].conversions += c.policies[i].conversions;
    }
  }
  if (common.json) {
    json out{{"reporting", bt->reporting},
             {"first", flows ? json(ledger::utc_rfc3339(bt->first_s)) : json(nullptr)},
             {"last", flows ? json(ledger::utc_rfc3339(bt->last_s)) : json(nullptr)}};
    add_coverage(*opened, &out);
    auto policy_json = [&](const projections::PolicyResult& p, size_t i) {
      return json{{"policy", projections::hedge_policy_name(projections::kHedgePolicies[i])},
                  {"proceeds", scaled(p.proceeds, rexp)},
                  {"cost", scaled(p.cost(), rexp)},
                  {"cost_bp", basis_points(p.cost(), p.benchmark)},
                  {"conversions", p.conversions}};
    };
    json currencies = json::array();
    for (const auto& c : bt->currencies) {
      json policies = json::array();
      for (size_t i = 0; i < c.policies.size(); ++i) {
        policies.push_back(policy_json(c.policies[i], i));
      }
      currencies.push_back(json{{"asset", c.asset},
                                {"flows", c.flows},
                                {"bought", scaled(c.bought, c.exponent)},
                                {"sold", scaled(c.sold, c.exponent)},
                                {"benchmark", scaled(c.benchmark, rexp)},
                                {"excluded_flows", c.excluded},
                                {"unpriced_flows", c.unpriced},
                                {"weeks", c.weeks},
                                {"weeks_with_forecast", c.weeks_with_forecast},
                                {"policies", std::move(policies)}});
    }
    out["currencies"] = std::move(currencies);
    json jt = json::array();
    for (size_t i = 0; i < totals.size(); ++i) {
      json t = policy_json(totals[i], i);
      t["benchmark"] = scaled(totals[i].benchmark, rexp);
      jt.push_back(std::move(t));
    }
    out["totals"] = std::move(jt);
    print_json(out);
  } else if (flows != 0) {
    fmt::print(
        "FX back-test in {}: the merchant-driven flows of psp:fx:position from {} to {}\n"
        "cost = value at the mid when the money came in - what the policy obtained "
        "(positive: a cost), in {} and basis points\n",
        bt->reporting, ledger::utc_rfc3339(bt->first_s), ledger::utc_rfc3339(bt->last_s),
        bt->reporting);
    fmt::print("{:<6} {:>7} {:>16}", "CCY", "FLOWS", "BENCHMARK");
    for (auto p : projections::kHedgePolicies) {
      fmt::print(" {:>28}", projections::hedge_policy_name(p));
    }
    fmt::print("\n");
    auto row = [&](const std::string& name, uint64_t n, const ledger::Int128& benchmark,
                   const std::vector<projections::PolicyResult>& policies) {
      fmt::print("{:<6} {:>7} {:>16}", name, n, scaled(benchmark, rexp));
      for (const auto& p : policies) {
        fmt::print(" {:>28}", fmt::format("{} ({} bp)", scaled(p.cost(), rexp),
                                          basis_points(p.cost(), p.benchmark)));
      }
      fmt::print("\n");
    };
    for (const auto& c : bt->currencies) {
      if (c.flows != 0) row(c.asset, c.flows, c.benchmark, c.policies);
    }
    row("total", flows, totals[0].benchmark, totals);
    for (const auto& c : bt->currencies) {
      if (c.excluded + c.unpriced != 0) {
        fmt::print("{}: {} flows left out ({} on days with no fix after them yet, {} with no "
                   "{} rate published by their time)\n",
                   c.asset, c.excluded + c.unpriced, c.excluded, c.unpriced,
                   ledger::CurrencyPair::of(ledger::Asset::find(c.asset).value(), *reporting)
                       ->to_string());
      }
    }
    for (const auto& c : bt->currencies) {
      if (c.weeks == 0) continue;
      fmt::print("forecast_forwards {}: {} weeks, {} with a forward booked on a forecast\n",
                 c.asset, c.weeks, c.weeks_with_forecast);
    }
  }
  if (flows == 0) {
    fmt::print(stderr,
               "payledger: error: no merchant FX flows to back-test in the books of {} (no "
               "cross-currency payments or balance conversions with a fix after them)\n",
               common.data);
    return kExitFailed;
  }
  return kExitOk;
}

namespace {

// A reject position given as --at pN/OFFSET.
struct LogPosition {
  uint32_t partition = 0;
  uint64_t offset = 0;
};

// The usage error of replay's options, if any.
std::optional<std::string> replay_usage_error(const ReplayArgs& args, LogPosition* at) {
  if (!args.at.empty() &&
      std::sscanf(args.at.c_str(), "p%u/%lu", &at->partition, &at->offset) != 2) {
    return fmt::format("--at '{}' is not a log position like p2/1500", args.at);
  }
  if (args.code.empty()) return std::nullopt;
  std::string names;
  for (int c = 1; c <= static_cast<int>(kLastCode); ++c) {
    if (code_name(static_cast<Code>(c)) == args.code) return std::nullopt;
    names += fmt::format("{}{}", names.empty() ? "" : ", ", code_name(static_cast<Code>(c)));
  }
  return fmt::format("--code '{}' is not a reject code; codes: {}", args.code, names);
}

// The open rejects --code/--at select; refuses an --at reject that was replayed already or
// whose original the log does not keep, and an empty choice (naming what was skipped).
Result<std::vector<projections::Reject>> choose_rejects(const ReplayArgs& args,
                                                        const LogPosition& at,
                                                        std::vector<projections::Reject> all) {
  std::vector<projections::Reject> chosen;
  uint64_t resolved = 0, not_replayable = 0;
  for (auto& r : all) {
    if (!args.code.empty() && code_name(r.code) != args.code) continue;
    if (!args.at.empty() && (r.partition != at.partition || r.offset != at.offset)) continue;
    // Input parked at append, or masked card data: what the log keeps is not the event.
    bool parked = r.format == events::RecordFormat::kRawJson && events::is_parked(r.value);
    bool keeps_original = !parked && r.code != Code::kPanDetected;
    if (!args.at.empty() && !r.resolved.empty()) {
      return make_error(Code::kInvalidArgument,
                        fmt::format("the reject at {} was already replayed ({}); replaying it "
                                    "twice is refused",
                                    args.at, r.resolved));
    }
    if (!args.at.empty() && !keeps_original) {
      return make_error(Code::kInvalidArgument,
                        fmt::format("the reject at {} cannot be replayed: its original is not "
                                    "kept ({}); fix the input and append it again",
                                    args.at, code_name(r.code)));
    }
    if (!r.resolved.empty()) {
      ++resolved;
    } else if (!keeps_original) {
      ++not_replayable;
    } else {
      chosen.push_back(std::move(r));
    }
  }
  if (chosen.empty()) {
    std::string what = !args.at.empty()     ? fmt::format("no reject at {}", args.at)
                       : !args.code.empty() ? fmt::format("no open rejects with code {}", args.code)
                                            : std::string("no open rejects");
    return make_error(Code::kInvalidArgument,
                      fmt::format("{} in {} ({} already replayed, {} not replayable); see "
                                  "`payledger rejects`",
                                  what, args.common.data, resolved, not_replayable));
  }
  return chosen;
}

// Appends the chosen rejects' records to the log again and marks each resolved with where
// its copy landed.
Status append_again(const std::string& data, projections::Store& store,
                    std::vector<projections::Reject>& chosen) {
  auto log = open_log(data, /*writer=*/true, 0, true);
  if (!log) return log.error();
  // Where each copy will land: we hold the writer lock, so the ends cannot move under us.
  std::vector<uint64_t> ends((*log)->partition_count());
  for (uint32_t p = 0; p < ends.size(); ++p) {
    auto end = (*log)->end_offset(p);
    if (!end) return end.error();
    ends[p] = *end;
  }
  std::vector<events::AppendRecord> records;
  // A broadcast record (a published rate) rejected in several partitions is appended again
  // once, which reaches every partition: per distinct record, where each partition's copy lands.
  std::map<std::string_view, std::vector<uint64_t>> broadcast;
  for (auto& r : chosen) {
    if (r.key == events::kBroadcastKey) {
      auto [it, first] = broadcast.try_emplace(r.value, ends);
      if (first) {
        for (uint64_t& end : ends) ++end;
        records.push_back({r.key, r.value, r.format});
      }
      r.resolved = fmt::format("replayed as p{}/{}", r.partition, it->second[r.partition]);
      continue;
    }
    uint32_t p = events::partition_for_key(r.key, (*log)->partition_count());
    r.resolved = fmt::format("replayed as p{}/{}", p, ends[p]++);
    records.push_back({r.key, r.value, r.format});
  }
  if (Status s = (*log)->append(records); !s) return s;
  projections::StoreBatch wb(store);
  for (const auto& r : chosen) {
    wb.put(projections::Cf::kRejects, projections::reject_key(r.partition, r.offset),
           projections::encode_reject(r));
  }
  if (Status s = store.write(wb, /*sync=*/true); !s) {
    return make_error(s.error().code, fmt::format("replayed {} rejects but could not mark them "
                                                  "resolved: {}",
                                                  chosen.size(), s.error().reason));
  }
  return Status::Ok();
}

}  // namespace

int cmd_replay(const ReplayArgs& args) {
  LogPosition at;
  if (auto why = replay_usage_error(args, &at)) return usage(*why);
  // The store is written (rejects marked resolved), so no fold may run beside the replay.
  if (Status s = take_fold_lock(args.common.data); !s) return fail(s.error());
  auto store = open_store(args.common.data, /*read_only=*/false);
  if (!store) return fail(store.error());
  auto rejects = projections::list_rejects(**store, 0);
  if (!rejects) return fail(rejects.error());
  auto chosen = choose_rejects(args, at, std::move(rejects).value());
  if (!chosen) return fail(chosen.error());
  if (Status s = append_again(args.common.data, **store, *chosen); !s) return fail(s.error());
  if (args.common.json) {
    json positions = json::array();
    for (const auto& r : *chosen) {
      positions.push_back(json{{"from", fmt::format("p{}/{}", r.partition, r.offset)},
                               {"to", r.resolved.substr(r.resolved.rfind(' ') + 1)}});
    }
    print_json(json{{"replayed", chosen->size()}, {"records", positions}});
  } else {
    fmt::print("appended {} rejected events again (marked resolved); run `payledger fold` to "
               "apply them\n",
               chosen->size());
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

namespace {

// The demo's data directory: --data if it holds no log yet, else a fresh one under /tmp.
// Returns the exit code if there is none to use.
Result<std::string> demo_data_dir(const Common& common) {
  if (common.data.empty()) {
    char tmpl[] = "/tmp/payledger-demo-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return make_error(Code::kIo, "cannot create a temp dir");
    return std::string(tmpl);
  }
  if (std::filesystem::exists(log_dir(common.data))) {
    return make_error(Code::kInvalidArgument,
                      fmt::format("{} already holds an event log; give a new --data dir",
                                  common.data));
  }
  return common.data;
}

// The fold the demo runs; on Kafka, a fresh topic and group per demo, named after its data
// directory. `batch_max` is set to the records per append (per transaction on Kafka).
Result<FoldArgs> demo_fold_args(const DemoArgs& args, const Common& common, size_t* batch_max) {
  FoldArgs fold;
  fold.common = common;
  fold.log = args.log;
  fold.until_idle = true;
  *batch_max = kAppendBatchMax;
  if (!args.log.kafka()) return fold;
  std::string suffix = std::filesystem::path(common.data).filename().string();
  fold.log.topic = args.log.topic + "." + suffix;
  fold.log.group = "payledger-demo." + suffix;
  auto o = kafka_options(fold.log);
  if (!o) return o.error();
  if (Status s = events::create_topic(*o, args.partitions, 1); !s) return s.error();
  if (!common.json) fmt::print("kafka topic {} on {}\n", fold.log.topic, fold.log.brokers);
  *batch_max = 10000;
  return fold;
}

// Generates the demo's events and appends them (binary Protobuf records, keyed by merchant)
// until done or asked to stop; returns how many were appended.
Result<uint64_t> append_generated(const DemoArgs& args, const Common& common,
                                  const FoldArgs& fold, size_t batch_max) {
  auto log = open_append_log(common, fold.log, args.partitions, true);
  if (!log) return log.error();
  Progress progress("appending", !common.json && !common.quiet && stderr_is_tty());
  GeneratorOptions options{args.events, args.seed, args.merchants, ""};
  options.rates = true;
  Generator gen(options);
  std::vector<events::AppendRecord> batch;
  v1::Envelope e;
  uint64_t appended = 0;
  auto flush = [&]() -> Status {
    if (Status s = (*log)->append(batch); !s) return s;
    appended += batch.size();
    batch.clear();
    return Status::Ok();
  };
  while (!g_stop.load() && gen.next(&e)) {
    batch.push_back(events::event_record(e));
    if (batch.size() < batch_max) continue;
    if (Status s = flush(); !s) return s.error();
    progress.update(appended, args.events);
  }
  if (Status s = flush(); !s) return s.error();
  progress.finish(appended, args.events);
  return appended;
}

// What the demo reports: the books after the fold, and how fast each step went.
struct DemoSummary {
  std::string data;
  uint64_t appended = 0;
  Clock::duration append_elapsed{};
  projections::FoldStats stats;
  Clock::duration fold_elapsed{};
  projections::TrialBalance tb;
  std::vector<projections::BalanceRow> house;
  std::string digest;
  std::optional<DemoSettlement> settlement;
  std::optional<DemoReconciliation> reconciliation;
};

void print_demo_json(const DemoSummary& d) {
  json tbj = json::array();
  for (const auto& r : d.tb.assets) {
    tbj.push_back(json{{"asset", r.asset}, {"debit", scaled(r.debit, r.exponent)},
                       {"credit", scaled(r.credit, r.exponent)}, {"balanced", r.balanced()}});
  }
  auto fold_ms = std::chrono::duration_cast<std::chrono::milliseconds>(d.fold_elapsed).count();
  print_json(json{{"data", d.data},
                  {"appended", d.appended},
                  {"append_events_per_s", per_second(d.appended, d.append_elapsed)},
                  {"fold", stats_json(d.stats, per_second(d.stats.records, d.fold_elapsed),
                                      fold_ms)},
                  {"balanced", d.tb.balanced()},
                  {"trial_balance", tbj},
                  {"settlement", d.settlement ? d.settlement->json : json(nullptr)},
                  {"reconciliation", d.reconciliation ? d.reconciliation->json : json(nullptr)},
                  {"digest", d.digest}});
}

void print_demo_text(const DemoSummary& d) {
  fmt::print("\ngenerated and appended {} events ({} events/s)\n", d.appended,
             per_second(d.appended, d.append_elapsed));
  print_fold_summary(d.stats, d.fold_elapsed);
  if (d.settlement) fmt::print("\n{}", d.settlement->text);
  if (d.reconciliation) fmt::print("\n{}", d.reconciliation->text);
  fmt::print("\nhouse accounts (posted / pending):\n");
  for (const auto& r : d.house) {
    fmt::print("  {:<22} {:>20} {:>20} {}\n", r.account,
               scaled(r.balance.posted_net(r.normal), r.exponent),
               scaled(r.balance.pending_net(r.normal), r.exponent), r.asset);
  }
  fmt::print("\ntrial balance: {} across {} assets and {} account balances\n",
             d.tb.balanced() ? "BALANCED" : "NOT BALANCED", d.tb.assets.size(), d.tb.accounts);
  for (const auto& r : d.tb.assets) {
    fmt::print("  {:<6} debit {:>22}  credit {:>22}  {}\n", r.asset, scaled(r.debit, r.exponent),
               scaled(r.credit, r.exponent), r.balanced() ? "ok" : "UNBALANCED");
  }
  fmt::print("\nprojection digest: {}\n", d.digest);
  fmt::print("\nexplore: payledger balance --data {} --account merchant:\n", d.data);
  fmt::print("         payledger statement --data {} --account psp:revenue:fees --limit 20\n",
             d.data);
}

// Reads the books the demo folded: trial balance, house accounts, digest.
Status read_demo_books(DemoSummary* d) {
  auto store = open_store(d->data, true);
  if (!store) return store.error();
  auto tb = projections::trial_balance(**store);
  if (!tb) return tb.error();
  auto house = projections::list_balances(**store, "psp:");
  if (!house) return house.error();
  auto digest = projections::projection_digest(**store);
  if (!digest) return digest.error();
  d->tb = std::move(tb).value();
  d->house = std::move(house).value();
  d->digest = std::move(digest).value();
  return Status::Ok();
}

}  // namespace

// generate + append, fold, summary.
int cmd_demo(const DemoArgs& args) {
  auto data = demo_data_dir(args.common);
  if (!data) {
    return data.error().code == Code::kInvalidArgument ? usage(data.error().reason)
                                                        : fail(data.error());
  }
  Common common = args.common;
  common.data = *data;
  if (!common.json) {
    fmt::print("payledger demo: {} events, {} merchants, seed {}, data in {}\n", args.events,
               args.merchants, args.seed, common.data);
  }
  size_t batch_max = 0;
  auto fold = demo_fold_args(args, common, &batch_max);
  if (!fold) return fail(fold.error());
  DemoSummary d;
  d.data = common.data;
  auto t0 = Clock::now();
  auto appended = append_generated(args, common, *fold, batch_max);
  if (!appended) return fail(appended.error());
  d.appended = *appended;
  d.append_elapsed = Clock::now() - t0;
  auto stats = run_fold(*fold, &d.fold_elapsed);
  if (!stats) return fail(stats.error());
  if (g_stop.load()) {
    fmt::print(stderr,
               "payledger: demo interrupted: {} events appended, {} folded; rerun `payledger "
               "fold --data {}` to finish the books\n",
               d.appended, stats->records, common.data);
    return interrupted_exit();
  }
  d.stats = *stats;
  // The demo ends with a settlement run at the books' latest event and the rails comparison.
  auto settled = demo_settlement(common, fold->log);
  if (!settled) return fail(settled.error());
  d.settlement = std::move(settled).value();
  // Then a bank statement of the busiest bank account with seeded breaks, reconciled: exit 1
  // only if the breaks found are not exactly those injected.
  auto reconciled = demo_reconciliation(common, args.seed);
  if (!reconciled) return fail(reconciled.error());
  d.reconciliation = std::move(reconciled).value();
  if (Status s = read_demo_books(&d); !s) return fail(s.error());
  if (common.json) {
    print_demo_json(d);
  } else {
    print_demo_text(d);
  }
  return d.tb.balanced() && d.settlement->ok && d.reconciliation->ok ? kExitOk : kExitFailed;
}

Result<QueryStores> open_query_stores(const Common& common) {
  auto opened = open_stores(common);
  if (!opened) return opened.error();
  QueryStores out;
  out.complete = opened->coverage.complete();
  if (!out.complete) out.gaps = gaps_json(*opened);
  out.dirs = std::move(opened->dirs);
  out.owned = std::move(opened->owned);
  out.stores = std::move(opened->stores);
  return out;
}

}  // namespace payledger::tools

namespace payledger::tools {

std::string csv_record(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i != 0) out.push_back(',');
    const std::string& f = fields[i];
    if (f.find_first_of(",\"\r\n") == std::string::npos) {
      out += f;
      continue;
    }
    out.push_back('"');
    for (char c : f) {
      if (c == '"') out.push_back('"');
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('\n');
  return out;
}

Result<std::unique_ptr<events::EmbeddedLog>> open_embedded_log(const std::string& data) {
  return open_log(data, /*writer=*/false, 0, false);
}
std::string projections_path(const std::string& data) { return projections_dir(data); }
Status lock_for_fold(const std::string& data) { return take_fold_lock(data); }

std::optional<std::string> read_as_of(const std::string& text, std::optional<int64_t>* out,
                                      std::string_view option) {
  out->reset();
  if (text.empty()) return std::nullopt;
  *out = parse_moment(text, /*end_of_day=*/true);
  if (*out) return std::nullopt;
  return fmt::format("{} '{}' is not an RFC 3339 time (2026-03-31T23:59:59Z) or a date "
                     "(2026-03-31 = its close, 23:59:59Z)",
                     option, text);
}

Result<std::optional<projections::FoldStats>> append_and_fold(
    const Common& common, const LogArgs& log, const std::vector<events::AppendRecord>& records,
    bool fold_kafka) {
  {
    auto opened = open_append_log(common, log, /*partitions=*/0, /*sync=*/true);
    if (!opened) return opened.error();
    if (Status s = (*opened)->append(records); !s) return s.error();
  }
  if (log.kafka() && !fold_kafka) return std::optional<projections::FoldStats>();
  FoldArgs fold;
  fold.common = common;
  fold.common.quiet = true;
  fold.log = log;
  fold.until_idle = true;
  Clock::duration elapsed{};
  auto stats = run_fold(fold, &elapsed);
  if (!stats) return stats.error();
  return std::optional<projections::FoldStats>(*stats);
}

}  // namespace payledger::tools
