#include "projections/kafka_fold.h"

#include <algorithm>
#include <chrono>
#include <optional>

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

}  // namespace

Result<FoldStats> fold_kafka(Store& store, const events::KafkaOptions& kafka,
                             const KafkaFoldOptions& options) {
  auto info = events::topic_info(kafka);  // fails fast, naming the brokers
  if (!info) return info.error();
  const uint32_t partitions = info->partitions;
  // Undecodable records, unknown schema versions and card numbers (the reject holds only
  // the masked copy) are also copied to <topic>.dlq (opened, and the topic created, at the
  // first one), made durable before each commit moves the offsets past them.
  std::unique_ptr<events::KafkaDeadLetters> letters;
  Status dead_error = Status::Ok();
  FoldOptions fold_options = options.fold;
  if (fold_options.log_identity.empty()) {
    fold_options.log_identity = events::kafka_log_identity(*info, kafka);
  }
  fold_options.on_reject = [&](const Reject& r) {
    if (r.code != Code::kMalformed && r.code != Code::kUnknownSchemaVersion &&
        r.code != Code::kPanDetected) {
      return;
    }
    if (!dead_error.ok()) return;
    if (!letters) {
      auto opened = events::KafkaDeadLetters::open(kafka);
      if (!opened) {
        dead_error = opened.error();
        return;
      }
      letters = std::move(opened).value();
    }
    Status s = letters->send({r.key, r.value, r.format, std::string(code_name(r.code)), r.reason,
                              r.partition, r.offset});
    if (!s) dead_error = s;
  };
  fold_options.before_commit = [&]() -> Status {
    if (!dead_error.ok()) return dead_error;
    return letters ? letters->flush() : Status::Ok();
  };
  auto opened = Folder::open(store, partitions, fold_options);
  if (!opened) return opened.error();
  Folder& folder = **opened;

  std::unique_ptr<events::KafkaGroupConsumer> consumer;
  Outage outage(kafka, options);
  const int query_timeout_ms = std::min(kafka.timeout_ms, kQueryTimeoutMsMax);
  // Notes every partition's log end (all of them: the merged queries compare each
  // partition's best store with the highest end any store saw) and re-checks the count.
  auto last_ends = Clock::time_point{};
  auto note_log_ends = [&]() -> Status {
    last_ends = Clock::now();
    auto count = consumer->partition_count(query_timeout_ms);
    if (count && *count != partitions) return partition_count_changed(kafka, partitions, *count);
    if (!count) {
      if (count.error().code != Code::kIo) return count.error();
      outage.trouble(count.error().reason);
      return outage.check();
    }
    for (uint32_t p = 0; p < partitions; ++p) {
      auto w = consumer->watermarks(p, query_timeout_ms);
      if (!w) {
        outage.trouble(w.error().reason);
        return outage.check();
      }
      folder.note_log_end(p, static_cast<uint64_t>(w->high));
    }
    outage.fine();
    return Status::Ok();
  };
  auto commit = [&](bool final_commit) -> Status {
    bool due = Clock::now() - last_ends >= std::chrono::milliseconds(options.log_end_interval_ms);
    if (final_commit || due) {
      if (Status s = note_log_ends(); !s) return s;
    }
    if (Status s = folder.commit(); !s) return s;
    std::vector<std::pair<uint32_t, uint64_t>> next;
    for (uint32_t p : consumer->assignment()) {
      if (p < partitions && folder.has_state(p)) next.emplace_back(p, folder.next_offset(p));
    }
    consumer->commit_informative(next);
    if (options.on_commit) options.on_commit(folder);
    return Status::Ok();
  };
  // Where each newly assigned partition starts: the stored offset if it lies in the range
  // the brokers hold; the log start (0) for a partition this store never held.
  auto on_assign = [&](const std::vector<uint32_t>& parts) -> Result<std::vector<int64_t>> {
    std::vector<int64_t> starts;
    for (uint32_t p : parts) {
      if (p >= partitions) return partition_count_changed(kafka, partitions, p + 1);
      auto w = consumer->watermarks(p, kafka.timeout_ms);
      if (!w) return w.error();
      if (folder.has_state(p)) {
        auto next = static_cast<int64_t>(folder.next_offset(p));
        if (next < w->low || next > w->high) {
          return events::out_of_range_error(kafka, p, next, *w);
        }
        starts.push_back(next);
      } else {
        if (w->low > 0 && !options.allow_partial_history) return history_missing(kafka, p, w->low);
        starts.push_back(w->low);
      }
    }
    return starts;
  };
  Status failed = Status::Ok();
  // After a failure nothing more is committed: the revoke that closing triggers must not
  // write a batch that met an error.
  auto on_revoke = [&](const std::vector<uint32_t>&) {
    return failed.ok() ? folder.commit() : Status::Ok();
  };
  auto made = events::KafkaGroupConsumer::open(kafka, options.group, on_assign, on_revoke,
                                               options.instance_id);
  if (!made) return made.error();
  consumer = std::move(made).value();

  events::ReadBatch batch;
  auto last_commit = Clock::now();
  while (options.fold.stop == nullptr || !options.fold.stop->load()) {
    if (Status s = consumer->poll(options.fold.read_records_max, kPollWaitMs, &batch); !s) {
      failed = s;
      break;
    }
    if (std::string why = consumer->take_transient_error(); !why.empty()) outage.trouble(why);
    if (!batch.records.empty()) outage.fine();
    if (Status s = outage.check(); !s) {
      failed = s;
      break;
    }
    for (const events::LogRecord& rec : batch.records) {
      if (rec.partition >= partitions) {
        failed = partition_count_changed(kafka, partitions, rec.partition + 1);
        break;
      }
      // A redelivery of something already folded (e.g. after a rebalance) is skipped.
      if (folder.has_state(rec.partition) && rec.offset < folder.next_offset(rec.partition)) {
        continue;
      }
      if (Status s = folder.fold_record(rec); !s) {
        failed = s;
        break;
      }
    }
    if (!failed.ok()) break;
    // A partition read to its end: no record lies before that position (transaction
    // markers and aborted records take offsets), so its next offset is that position and
    // matches the log end the queries compare it with.
    for (const auto& [p, position] : consumer->end_positions()) {
      if (p < partitions && position >= 0) folder.advance_to(p, static_cast<uint64_t>(position));
    }
    bool due = Clock::now() - last_commit >= std::chrono::milliseconds(options.commit_interval_ms);
    bool ends_due =
        Clock::now() - last_ends >= std::chrono::milliseconds(options.log_end_interval_ms);
    if ((folder.uncommitted() > 0 && (due || batch.records.empty())) || ends_due) {
      if (Status s = commit(/*final_commit=*/false); !s) {
        failed = s;
        break;
      }
      last_commit = Clock::now();
    }
    if (options.until_idle && batch.records.empty() && folder.uncommitted() == 0 &&
        consumer->idle()) {
      break;
    }
  }
  if (!failed.ok()) {
    // Uncommitted work is dropped; the stored state stays whole. Without brokers, leaving
    // the group can block forever: the consumer is dropped without it.
    if (outage.over()) {
      consumer->abandon();
    } else {
      (void)consumer->close();
    }
    return failed.error();
  }
  if (Status s = commit(/*final_commit=*/true); !s) {
    failed = s;  // the revoke that closing triggers must not commit again
    (void)consumer->close();
    return s.error();
  }
  if (Status s = consumer->close(); !s) return s.error();
  return folder.stats();
}

}  // namespace payledger::projections
