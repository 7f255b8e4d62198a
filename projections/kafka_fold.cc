#include "projections/kafka_fold.h"

#include <chrono>

#include <fmt/format.h>

namespace payledger::projections {
namespace {

using Clock = std::chrono::steady_clock;
// How long one poll waits for records when none are buffered.
constexpr int kPollWaitMs = 20;

}  // namespace

Result<FoldStats> fold_kafka(Store& store, const events::KafkaOptions& kafka,
                             const KafkaFoldOptions& options) {
  auto partitions = events::topic_partitions(kafka);  // fails fast, naming the brokers
  if (!partitions) return partitions.error();
  // Undecodable records and unknown schema versions are also copied to <topic>.dlq (opened,
  // and the topic created, at the first one), made durable before each commit moves the
  // offsets past them.
  std::unique_ptr<events::KafkaDeadLetters> letters;
  Status dead_error = Status::Ok();
  FoldOptions fold_options = options.fold;
  fold_options.on_reject = [&](const Reject& r) {
    if (r.code != Code::kMalformed && r.code != Code::kUnknownSchemaVersion) return;
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
  auto opened = Folder::open(store, *partitions, fold_options);
  if (!opened) return opened.error();
  Folder& folder = **opened;

  std::unique_ptr<events::KafkaGroupConsumer> consumer;
  auto commit = [&]() -> Status {
    if (Status s = folder.commit(); !s) return s;
    if (consumer) {
      std::vector<std::pair<uint32_t, uint64_t>> next;
      for (uint32_t p : consumer->assignment()) {
        if (folder.has_state(p)) next.emplace_back(p, folder.next_offset(p));
      }
      consumer->commit_informative(next);
    }
    if (options.on_commit) options.on_commit(folder);
    return Status::Ok();
  };
  auto on_assign = [&](const std::vector<uint32_t>& parts) {
    std::vector<int64_t> starts;
    for (uint32_t p : parts) {
      starts.push_back(folder.has_state(p) ? static_cast<int64_t>(folder.next_offset(p)) : -1);
    }
    return starts;
  };
  Status failed = Status::Ok();
  // After a failure nothing more is committed: the revoke that closing triggers must not
  // write a batch that met an error.
  auto on_revoke = [&](const std::vector<uint32_t>&) {
    return failed.ok() ? folder.commit() : Status::Ok();
  };
  auto made = events::KafkaGroupConsumer::open(kafka, options.group, on_assign, on_revoke);
  if (!made) return made.error();
  consumer = std::move(made).value();

  events::ReadBatch batch;
  auto last_commit = Clock::now();
  while (options.fold.stop == nullptr || !options.fold.stop->load()) {
    if (Status s = consumer->poll(options.fold.read_records_max, kPollWaitMs, &batch); !s) {
      failed = s;
      break;
    }
    for (const events::LogRecord& rec : batch.records) {
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
    bool due = Clock::now() - last_commit >= std::chrono::milliseconds(options.commit_interval_ms);
    if (folder.uncommitted() > 0 && (due || batch.records.empty())) {
      if (Status s = commit(); !s) {
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
    (void)consumer->close();  // uncommitted work is dropped; the stored state stays whole
    return failed.error();
  }
  if (Status s = commit(); !s) return s.error();
  if (Status s = consumer->close(); !s) return s.error();
  return folder.stats();
}

}  // namespace payledger::projections
