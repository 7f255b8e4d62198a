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
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "events/kafka_log.h"
#include "projections/fold.h"

namespace payledger::projections {

struct KafkaFoldOptions {
  FoldOptions fold;  // fold.stop: finish the current batch, commit it and leave the group
  std::string group = "payledger-fold";
  // Commit (and make visible) at least this often while records flow, for low latency.
  int commit_interval_ms = 50;
  // Stop once every assigned partition is read to its end (and committed).
  bool until_idle = false;
  // Called after each commit (the folder's stats and next offsets are then durable).
  std::function<void(const Folder&)> on_commit;
};

Result<FoldStats> fold_kafka(Store& store, const events::KafkaOptions& kafka,
                             const KafkaFoldOptions& options);

}  // namespace payledger::projections
