#include "projections/kafka_fold.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>

namespace payledger::projections {
namespace {

using Clock = std::chrono::steady_clock;
// How long one poll waits for records when none are buffered.
constexpr int kPollWaitMs = 20;
// Offset and metadata queries of the periodic log-end check wait at most this long (an
// unreachable broker must not stall the loop past its outage bound by much).
constexpr int kQueryTimeoutMsMax = 5000;

Error partition_count_changed(const events::KafkaOptions& kafka, uint32_t folded,
                              uint32_t now) {
  return make_error(
      Code::kInvalidArgument,
      fmt::format("topic '{}' has {} partitions now; this fold started with {}: partitions "
                  "must never be added to a payledger topic (merchants would move to other "
                  "partitions and their history would split). Create a new topic with the "
                  "partition count you need, append the events to it again and fold that",
                  kafka.topic, now, folded));
}

Error history_missing(const events::KafkaOptions& kafka, uint32_t partition, int64_t low) {
  return make_error(
      Code::kInvalidArgument,
      fmt::format("topic '{}' partition {} starts at offset {}, not 0: its first records were "
                  "deleted (retention, DeleteRecords) before this store folded them, so its "
                  "books would miss that history. Fold a topic that keeps everything "
                  "(retention.ms=-1), or pass --allow-partial-history to fold from offset {} "
                  "anyway",
                  kafka.topic, partition, low, low));
}

// Tracks a broker outage: when it began, and whether it has lasted past the bound.
class Outage {
 public:
  Outage(const events::KafkaOptions& kafka, const KafkaFoldOptions& options)
      : kafka_(kafka), options_(options) {}
  void trouble(const std::string& why) {
    last_ = why;
    if (since_) return;
    since_ = Clock::now();
    notice(fmt::format("Kafka broker(s) {} unreachable ({}); waiting up to {} s for them",
                       kafka_.brokers, why, options_.broker_down_max_ms / 1000.0));
  }
  void fine() {
    if (!since_) return;
    notice(fmt::format("Kafka broker(s) {} reachable again after {} ms", kafka_.brokers,
                       elapsed_ms()));
    since_.reset();
  }
  bool over() const { return since_ && elapsed_ms() > options_.broker_down_max_ms; }
  Status check() const {
    if (!over()) return Status::Ok();
    return make_error(Code::kIo,
                      fmt::format("cannot reach Kafka broker(s) {} for {} ms (last error: {}); "
                                  "the fold stops, its committed state is whole: run it again "
                                  "once the brokers are back",
                                  kafka_.brokers, elapsed_ms(), last_));
  }

 private:
  int64_t elapsed_ms() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - *since_).count();
  }
  void notice(const std::string& line) const {
    if (options_.on_notice) options_.on_notice(line);
  }
  const events::KafkaOptions& kafka_;
  const KafkaFoldOptions& options_;
  std::optional<Clock::time_point> since_;
  std::string last_;
};

// What one log-end check saw: the topic's partition count and every partition's high
// watermark, or why the brokers did not answer.
struct LogEnds {
  Result<uint32_t> count = 0u;
  std::vector<int64_t> highs;
  std::string trouble;  // a failed offset query (brokers unreachable): empty if none
};

// Runs the log-end checks on a thread of its own: they are broker round trips (measured
// 15-110 ms each on a busy box) and, on the fold's thread, delayed every record waiting to
// become visible. The fold takes the latest result when it is ready.
class LogEndWatch {
 public:
  LogEndWatch(events::KafkaGroupConsumer& consumer, uint32_t partitions, int interval_ms,
              int timeout_ms)
      : consumer_(consumer),
        partitions_(partitions),
        interval_(interval_ms),
        timeout_ms_(timeout_ms),
        thread_([this] { loop(); }) {}
  ~LogEndWatch() { stop(); }
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  std::optional<LogEnds> take() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(latest_, std::nullopt);
  }
  // One check, on the caller's thread (the last commit notes the ends it saw itself).
  LogEnds check() {
    LogEnds seen;
    seen.count = consumer_.partition_count(timeout_ms_);
    if (!seen.count) return seen;
    auto ends = consumer_.end_offsets(partitions_, timeout_ms_);
    if (!ends) {
      seen.trouble = ends.error().reason;
      return seen;
    }
    seen.highs = std::move(ends).value();
    return seen;
  }

 private:
  void loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      lock.unlock();
      LogEnds seen = check();
      lock.lock();
      latest_ = std::move(seen);
      wake_.wait_for(lock, interval_, [this] { return stopping_; });
    }
  }

  events::KafkaGroupConsumer& consumer_;
  const uint32_t partitions_;
  const std::chrono::milliseconds interval_;
  const int timeout_ms_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::optional<LogEnds> latest_;
  std::thread thread_;  // last: starts once the members above exist
};

// One fold_kafka run: the folder, the consumer and the loop that feeds one to the other,
// split into the steps a reader looks for (wiring, assignment, batch, commit, finish).
class KafkaFold {
 public:
  KafkaFold(Store& store, const events::KafkaOptions& kafka, const KafkaFoldOptions& options,
            uint32_t partitions)
      : store_(store),
        kafka_(kafka),
        options_(options),
        partitions_(partitions),
        outage_(kafka, options),
        query_timeout_ms_(std::min(kafka.timeout_ms, kQueryTimeoutMsMax)) {}

  Status open(const events::TopicInfo& info);
  Status run();
  Result<FoldStats> finish(Status ran);

 private:
  FoldOptions fold_options(const events::TopicInfo& info);
  Result<std::vector<int64_t>> starts_for(const std::vector<uint32_t>& parts);
  Status fold_batch(const events::ReadBatch& batch);
  bool commit_due(const events::ReadBatch& batch) const;
  // Records not yet known to be in the store: folded since the last commit, or in a full
  // batch the writer thread still holds (an idle topic must still see that write's result).
  bool pending() const { return folder_->uncommitted() > 0 || folder_->writing(); }
  Result<bool> note_log_ends(const LogEnds& seen);
  Result<bool> take_log_ends();
  Status commit(bool final_commit);
  bool elapsed(Clock::time_point since, int ms) const {
    return Clock::now() - since >= std::chrono::milliseconds(ms);
  }

  Store& store_;
  const events::KafkaOptions& kafka_;
  const KafkaFoldOptions& options_;
  const uint32_t partitions_;
  Outage outage_;
  const int query_timeout_ms_;
  // Undecodable records, unknown schema versions and card numbers (the reject holds only
  // the masked copy) are also copied to <topic>.dlq (opened, and the topic created, at the
  // first one), made durable before each commit moves the offsets past them.
  std::unique_ptr<events::KafkaDeadLetters> letters_;
  Status dead_error_ = Status::Ok();
  std::unique_ptr<Folder> folder_;
  std::unique_ptr<events::KafkaGroupConsumer> consumer_;
  std::unique_ptr<LogEndWatch> watch_;  // after consumer_: stopped before it goes
  Clock::time_point last_commit_ = Clock::now();
  // When a log-end check last answered: the brokers' silence is an outage even when neither
  // the consumer nor a failed check reports one (a check can block past its timeout while
  // librdkafka retries, and a lost connection is not always a consumer error).
  Clock::time_point last_answer_ = Clock::now();
  Clock::duration commit_cost_{};  // how long the last commit took
  // After a failure nothing more is committed: the revoke that closing triggers must not
  // write a batch that met an error.
  Status failed_ = Status::Ok();
};

FoldOptions KafkaFold::fold_options(const events::TopicInfo& info) {
  FoldOptions fold = options_.fold;
  if (fold.log_identity.empty()) fold.log_identity = events::kafka_log_identity(info, kafka_);
  fold.on_reject = [this](const Reject& r) {
    if (r.code != Code::kMalformed && r.code != Code::kUnknownSchemaVersion &&
        r.code != Code::kPanDetected) {
      return;
    }
    if (!dead_error_.ok()) return;
    if (!letters_) {
      auto opened = events::KafkaDeadLetters::open(kafka_);
      if (!opened) {
        dead_error_ = opened.error();
        return;
      }
      letters_ = std::move(opened).value();
    }
    Status s = letters_->send({r.key, r.value, r.format, std::string(code_name(r.code)),
                               r.reason, r.partition, r.offset});
    if (!s) dead_error_ = s;
  };
  fold.before_commit = [this]() -> Status {
    if (!dead_error_.ok()) return dead_error_;
    return letters_ ? letters_->flush() : Status::Ok();
  };
  return fold;
}

Status KafkaFold::open(const events::TopicInfo& info) {
  auto opened = Folder::open(store_, partitions_, fold_options(info));
  if (!opened) return opened.error();
  folder_ = std::move(opened).value();
  auto on_assign = [this](const std::vector<uint32_t>& parts) { return starts_for(parts); };
  auto on_revoke = [this](const std::vector<uint32_t>&) {
    return failed_.ok() ? folder_->commit() : Status::Ok();
  };
  auto made = events::KafkaGroupConsumer::open(kafka_, options_.group, on_assign, on_revoke,
                                               options_.instance_id);
  if (!made) return made.error();
  consumer_ = std::move(made).value();
  watch_ = std::make_unique<LogEndWatch>(*consumer_, partitions_, options_.log_end_interval_ms,
                                         query_timeout_ms_);
  return Status::Ok();
}

// Where each newly assigned partition starts: the stored offset if it lies in the range
// the brokers hold; the log start (0) for a partition this store never held.
Result<std::vector<int64_t>> KafkaFold::starts_for(const std::vector<uint32_t>& parts) {
  std::vector<int64_t> starts;
  for (uint32_t p : parts) {
    if (p >= partitions_) return partition_count_changed(kafka_, partitions_, p + 1);
    auto w = consumer_->watermarks(p, kafka_.timeout_ms);
    if (!w) return w.error();
    if (folder_->has_state(p)) {
      auto next = static_cast<int64_t>(folder_->next_offset(p));
      if (next < w->low || next > w->high) return events::out_of_range_error(kafka_, p, next, *w);
      starts.push_back(next);
    } else {
      if (w->low > 0 && !options_.allow_partial_history) {
        return history_missing(kafka_, p, w->low);
      }
      starts.push_back(w->low);
    }
  }
  return starts;
}

Status KafkaFold::fold_batch(const events::ReadBatch& batch) {
  for (const events::LogRecord& rec : batch.records) {
    if (rec.partition >= partitions_) {
      return partition_count_changed(kafka_, partitions_, rec.partition + 1);
    }
    // A redelivery of something already folded (e.g. after a rebalance) is skipped.
    if (folder_->has_state(rec.partition) && rec.offset < folder_->next_offset(rec.partition)) {
      continue;
    }
    if (Status s = folder_->fold_record(rec); !s) return s;
  }
  // A partition read to its end: no record lies before that position (transaction
  // markers and aborted records take offsets), so its next offset is that position and
  // matches the log end the queries compare it with.
  for (const auto& [p, position] : consumer_->end_positions()) {
    if (p < partitions_ && position >= 0) folder_->advance_to(p, static_cast<uint64_t>(position));
  }
  return Status::Ok();
}

// Commit as soon as the consumer has nothing more buffered (a poll that returned fewer
// records than asked for drained it): whatever arrived is made visible at once instead of
// waiting for more. But at most half the time goes to commits: when a commit (its fsync)
// took longer than the time since the last one, a drained queue waits that long (group
// commit), else a fold that falls behind commits ever smaller batches and never catches
// up. While records keep flowing, at least every commit_interval_ms.
bool KafkaFold::commit_due(const events::ReadBatch& batch) const {
  bool drained = batch.records.size() < options_.fold.read_records_max;
  bool paced = Clock::now() - last_commit_ >= commit_cost_;
  return pending() && ((drained && paced) || elapsed(last_commit_, options_.commit_interval_ms));
}

// Notes every partition's log end (all of them: the merged queries compare each
// partition's best store with the highest end any store saw) and re-checks the count.
// True if the check answered; false while the brokers are unreachable (within the bound).
Result<bool> KafkaFold::note_log_ends(const LogEnds& seen) {
  if (!seen.count) {
    if (seen.count.error().code != Code::kIo) return seen.count.error();
    outage_.trouble(seen.count.error().reason);
  } else if (*seen.count != partitions_) {
    return partition_count_changed(kafka_, partitions_, *seen.count);
  } else if (!seen.trouble.empty()) {
    outage_.trouble(seen.trouble);
  } else {
    for (uint32_t p = 0; p < partitions_; ++p) {
      folder_->note_log_end(p, static_cast<uint64_t>(seen.highs[p]));
    }
    outage_.fine();
    return true;
  }
  if (Status s = outage_.check(); !s) return s.error();
  return false;
}

// The watcher's latest check, if one is ready: true if it noted log ends (to be committed).
Result<bool> KafkaFold::take_log_ends() {
  std::optional<LogEnds> seen = watch_->take();
  if (!seen) return false;
  return note_log_ends(*seen);
}

Status KafkaFold::commit(bool final_commit) {
  if (final_commit) {
    auto noted = note_log_ends(watch_->check());
    if (!noted) return noted.error();
  }
  auto started = Clock::now();
  if (Status s = folder_->commit(); !s) return s;
  last_commit_ = Clock::now();
  commit_cost_ = last_commit_ - started;
  std::vector<std::pair<uint32_t, uint64_t>> next;
  for (uint32_t p : consumer_->assignment()) {
    if (p < partitions_ && folder_->has_state(p)) next.emplace_back(p, folder_->next_offset(p));
  }
  consumer_->commit_informative(next);
  if (options_.on_commit) options_.on_commit(*folder_);
  return Status::Ok();
}

Status KafkaFold::run() {
  events::ReadBatch batch;
  while (options_.fold.stop == nullptr || !options_.fold.stop->load()) {
    // Records waiting for their commit wait no longer than until it is due (not for the
    // next records to arrive).
    int wait_ms = kafka_poll_wait_ms(
        folder_->uncommitted() + (folder_->writing() ? 1 : 0),
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - last_commit_),
        std::chrono::duration_cast<std::chrono::microseconds>(commit_cost_),
        options_.commit_interval_ms, kPollWaitMs);
    if (Status s = consumer_->poll(options_.fold.read_records_max, wait_ms, &batch); !s) {
      return s;
    }
    if (std::string why = consumer_->take_transient_error(); !why.empty()) outage_.trouble(why);
    if (!batch.records.empty()) outage_.fine();
    if (Status s = outage_.check(); !s) return s;
    if (Status s = fold_batch(batch); !s) return s;
    auto ends_noted = take_log_ends();
    if (!ends_noted) return ends_noted.error();
    if (*ends_noted) {
      last_answer_ = Clock::now();
    } else if (elapsed(last_answer_, options_.broker_down_max_ms + options_.log_end_interval_ms)) {
      outage_.trouble(fmt::format("no answer to the log-end check for {} ms",
                                  std::chrono::duration_cast<std::chrono::milliseconds>(
                                      Clock::now() - last_answer_)
                                      .count()));
      if (Status s = outage_.check(); !s) return s;
    }
    if (*ends_noted || commit_due(batch)) {
      if (Status s = commit(/*final_commit=*/false); !s) return s;
    }
    if (options_.until_idle && batch.records.empty() && !pending() &&
        consumer_->idle()) {
      break;
    }
  }
  return Status::Ok();
}

// After a failure uncommitted work is dropped (the stored state stays whole) and, without
// brokers, the consumer is dropped without leaving the group (that can block forever).
// Otherwise the last commit notes the log ends, then the consumer leaves the group.
Result<FoldStats> KafkaFold::finish(Status ran) {
  failed_ = ran.ok() ? ran : folder_->fail(ran);
  watch_->stop();
  if (!failed_.ok()) {
    if (outage_.over()) {
      consumer_->abandon();
    } else {
      (void)consumer_->close();
    }
    return failed_.error();
  }
  if (Status s = commit(/*final_commit=*/true); !s) {
    failed_ = s;  // the revoke that closing triggers must not commit again
    (void)consumer_->close();
    return s.error();
  }
  if (Status s = consumer_->close(); !s) return s.error();
  return folder_->stats();
}

}  // namespace

int kafka_poll_wait_ms(size_t uncommitted, std::chrono::microseconds since_commit,
                       std::chrono::microseconds last_commit_cost, int commit_interval_ms,
                       int poll_wait_max_ms) {
  if (uncommitted == 0) return poll_wait_max_ms;
  using std::chrono::microseconds;
  microseconds due = std::min(last_commit_cost, microseconds(commit_interval_ms * 1000));
  microseconds left = due - since_commit;
  if (left <= microseconds(0)) return 0;
  int64_t ms = (left.count() + 999) / 1000;  // up: a 0-ms poll before it is due would spin
  return static_cast<int>(std::min<int64_t>(ms, poll_wait_max_ms));
}

Result<FoldStats> fold_kafka(Store& store, const events::KafkaOptions& kafka,
                             const KafkaFoldOptions& options) {
  auto info = events::topic_info(kafka);  // fails fast, naming the brokers
  if (!info) return info.error();
  KafkaFold fold(store, kafka, options, info->partitions);
  if (Status s = fold.open(*info); !s) return s.error();
  return fold.finish(fold.run());
}

}  // namespace payledger::projections
