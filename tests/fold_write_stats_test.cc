// FoldStats::keys_written / bytes_written (issue 9: the fold bench reports RocksDB keys and
// bytes written per event) are exactly what the fold's WriteBatches handed RocksDB.
#include <gtest/gtest.h>

#include <rocksdb/db.h>

#include "events/codec.h"
#include "events/embedded_log.h"
#include "projections/fold.h"
#include "projections/store.h"
#include "test_util.h"
#include "tools/generator.h"

namespace payledger::testing {
namespace {

using projections::Cf;

size_t varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 128) v >>= 7, ++n;
  return n;
}

struct Contents {
  uint64_t keys = 0;
  uint64_t batch_bytes = 0;  // the WriteBatch records that would put them all
};

// Every key of every column family, and the size of WriteBatch Put records for them
// (RocksDB's format: tag byte, column family id varint unless the default family, key and
// value each as varint length + bytes). The store creates its column families in Cf order
// after RocksDB's default one (id 0), so Cf i has id i + 1.
Contents contents(projections::Store& store) {
  Contents c;
  for (int i = 0; i < static_cast<int>(Cf::kCount); ++i) {
    const uint32_t cf_id = static_cast<uint32_t>(i) + 1;
    projections::StoreCursor it = store.cursor(static_cast<Cf>(i), projections::Reading::kFold);
    for (it.seek_to_first(); it.valid(); it.next()) {
      ++c.keys;
      size_t k = it.key().size(), v = it.value().size();
      c.batch_bytes += 1 + varint_size(cf_id) + varint_size(k) + k + varint_size(v) + v;
    }
  }
  return c;
}

TEST(FoldWriteStats, KeysAndBytesWrittenAreTheCommittedWriteBatches) {
  TempDir dir;
  events::EmbeddedLogOptions lo;
  lo.partitions = 4;
  lo.sync = false;
  auto log = events::EmbeddedLog::open(dir.path() + "/log", lo).value();
  tools::Generator gen({3000, 5, 30, "", true});
  std::vector<events::AppendRecord> records;
  v1::Envelope e;
  while (gen.next(&e)) records.push_back(events::event_record(e));
  ASSERT_TRUE(log->append(records).ok());
  auto store = projections::Store::open(dir.path() + "/projections", false).value();
  Contents before = contents(*store);
  projections::FoldOptions o;
  o.sync = false;
  o.batch_events_max = 100000;  // one WriteBatch: every key is put once into a fresh store
  auto stats = projections::fold(*store, *log, o);
  ASSERT_TRUE(stats.ok()) << stats.error().reason;
  ASSERT_EQ(stats->batches, 1u);
  Contents after = contents(*store);
  ASSERT_GT(after.keys, before.keys);
  EXPECT_EQ(stats->keys_written, after.keys - before.keys);
  // One batch: its 12-byte header (sequence number, count) and one Put record per key.
  EXPECT_EQ(stats->bytes_written, 12 + after.batch_bytes - before.batch_bytes);
}

}  // namespace
}  // namespace payledger::testing
