// Exactly-once fold from Kafka as a consumer-group member. Each partition's next offset is
// stored in RocksDB in the same WriteBatch as the effects of the records before it; on every
// assignment the consumer starts each partition at the offset stored here (Kafka's committed
// group offsets are written too, but only for monitoring). A crash anywhere resumes at the
// last commit, so a restarted fold ends with the same digest as an uninterrupted one.
//
// Scale-out: several processes in one group split the partitions; each keeps the state of
// the partitions it folds in its own store. A partition that moves to another process is
// rebuilt there from that store's own offset (0 if it never held it). Queries over several
// stores take each partition from the store that folded it furthest (projections/queries.h).
//
// Never a silent jump: a stored offset outside the partition's [low, high) range, a log
// whose head was deleted before this store folded it, a partition count that changed, an
// assign error or any consumer error other than a bounded broker outage fails the fold.
// The store records "kafka:<cluster id>/<topic>" as its log identity and, for every
// partition, the log end last seen, so merged queries can tell a partition folded by
// nobody or left behind.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>

#include "events/kafka_log.h"
#include "projections/fold.h"

namespace payledger::projections {

struct KafkaFoldOptions {
  FoldOptions fold;  // fold.stop: finish the current batch, commit it and leave the group
  std::string group = "payledger-fold";
  // Non-empty: a static group member with this group.instance.id, so a restart after a
  // crash takes the partitions back at once instead of after the session timeout.
  std::string instance_id;
  // Commit (and make visible) at least this often while records flow, for low latency.
  int commit_interval_ms = 50;
  // Stop once every assigned partition is read to its end (and committed).
  bool until_idle = false;
  // A partition this store never held is folded from offset 0; when the log no longer
  // starts there (retention or DeleteRecords removed its head) the fold refuses, because
  // the books would miss that history, unless this is set: it then starts at the log start.
  bool allow_partial_history = false;
  // How often the log end of every partition of the topic (assigned here or not) is noted
  // in the store (Folder::note_log_end) and the partition count re-checked; always before
  // the last commit too.
  int log_end_interval_ms = 1000;
  // How long the brokers may stay unreachable (transient consumer errors, failed offset
  // queries) before the fold fails; librdkafka reconnects by itself meanwhile.
  int broker_down_max_ms = 60000;
  // Called after each commit (the folder's stats and next offsets are then durable).
  std::function<void(const Folder&)> on_commit;
  // One line for the operator: brokers unreachable (and for how long the fold waits),
  // brokers back.
  std::function<void(const std::string&)> on_notice;
};

// How long the fold's next poll may wait for records (ms). Nothing uncommitted: the full
// poll wait (`poll_wait_max_ms`). Records waiting to be committed: no longer than until
// their commit is due — once `since_commit` reaches `last_commit_cost` (the pacing after a
// costly commit) or `commit_interval_ms` — rounded up to whole ms, 0 once due.
int kafka_poll_wait_ms(size_t uncommitted, std::chrono::microseconds since_commit,
                       std::chrono::microseconds last_commit_cost, int commit_interval_ms,
                       int poll_wait_max_ms);

Result<FoldStats> fold_kafka(Store& store, const events::KafkaOptions& kafka,
                             const KafkaFoldOptions& options);

}  // namespace payledger::projections
