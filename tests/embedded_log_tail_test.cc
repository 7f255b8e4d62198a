// A trust_tail reader (the CLI queries) takes the end offset and the last record from the
// writer's tail hint instead of scanning the partition, and falls back to the full scan, which
// names any damage, for everything else (issue 9, queries).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "events/embedded_log.h"
#include "test_util.h"

namespace payledger::testing {
namespace {

using events::AppendRecord;
using events::EmbeddedLog;
using events::EmbeddedLogOptions;

Result<std::unique_ptr<EmbeddedLog>> open(const std::string& dir, bool writer, bool trust_tail) {
  EmbeddedLogOptions o;
  o.partitions = 1;
  o.writer = writer;
  o.sync = false;
  o.trust_tail = trust_tail;
  return EmbeddedLog::open(dir, o);
}

void append(EmbeddedLog& log, int n, const std::string& tag) {
  std::vector<AppendRecord> rs;
  for (int i = 0; i < n; ++i) rs.push_back({"k", tag + std::to_string(i)});
  ASSERT_TRUE(log.append(rs).ok());
}

void flip_byte(const std::string& path, uint64_t at) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(at));
  char c = 0;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(at));
  f.put(static_cast<char>(c ^ 0xff));
}

TEST(EmbeddedLogTail, AMiddleFlipIsLeftToTheFullScanTheLastRecordIsRead) {
  TempDir dir;
  {
    auto w = open(dir.path(), true, false);
    ASSERT_TRUE(w.ok());
    append(**w, 100, "v-");
  }
  std::string file = dir.path() + "/p-0000.log";
  flip_byte(file, std::filesystem::file_size(file) / 2);

  auto full = open(dir.path(), false, false);
  ASSERT_FALSE(full.ok());
  EXPECT_NE(full.error().reason.find("p-0000.log is corrupt at byte"), std::string::npos);

  auto lazy = open(dir.path(), false, true);
  ASSERT_TRUE(lazy.ok()) << lazy.error().reason;
  auto end = (*lazy)->end_offset(0);
  ASSERT_TRUE(end.ok()) << end.error().reason;
  EXPECT_EQ(*end, 100u);
  events::ReadBatch batch;
  ASSERT_TRUE((*lazy)->read(0, 99, 1, &batch).ok());
  ASSERT_EQ(batch.records.size(), 1u);
  EXPECT_EQ(batch.records[0].offset, 99u);
  EXPECT_EQ(batch.records[0].value, "v-99");
  // Any other record indexes the partition: the scan names the flipped frame.
  Status s = (*lazy)->read(0, 10, 1, &batch);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code::kCorrupt);
  EXPECT_NE(s.error().reason.find("p-0000.log is corrupt at byte"), std::string::npos);
}

TEST(EmbeddedLogTail, AFlippedLastRecordOrACutFileIsNamedByTheScan) {
  TempDir dir;
  {
    auto w = open(dir.path(), true, false);
    ASSERT_TRUE(w.ok());
    append(**w, 50, "v-");
  }
  std::string file = dir.path() + "/p-0000.log";
  uint64_t size = std::filesystem::file_size(file);
  flip_byte(file, size - 2);  // inside the last record's value
  auto lazy = open(dir.path(), false, true);
  ASSERT_TRUE(lazy.ok());
  auto end = (*lazy)->end_offset(0);
  ASSERT_FALSE(end.ok());
  EXPECT_NE(end.error().reason.find("p-0000.log is corrupt at byte"), std::string::npos);

  flip_byte(file, size - 2);  // intact again, then cut
  std::filesystem::resize_file(file, size - 3);
  auto cut = open(dir.path(), false, true);
  ASSERT_TRUE(cut.ok());
  auto cut_end = (*cut)->end_offset(0);
  ASSERT_FALSE(cut_end.ok());
  EXPECT_EQ(cut_end.error().code, Code::kCorrupt);
  EXPECT_NE(cut_end.error().reason.find("p-0000.log"), std::string::npos);
}

TEST(EmbeddedLogTail, AReaderSeesAppendsMadeAfterItOpened) {
  TempDir dir;
  auto w = open(dir.path(), true, false);
  ASSERT_TRUE(w.ok());
  append(**w, 5, "a-");
  auto lazy = open(dir.path(), false, true);
  ASSERT_TRUE(lazy.ok());
  EXPECT_EQ(*(*lazy)->end_offset(0), 5u);
  append(**w, 3, "b-");
  EXPECT_EQ(*(*lazy)->end_offset(0), 8u);  // 5 + 3
  events::ReadBatch batch;
  ASSERT_TRUE((*lazy)->read(0, 7, 10, &batch).ok());
  ASSERT_EQ(batch.records.size(), 1u);
  EXPECT_EQ(batch.records[0].value, "b-2");
  ASSERT_TRUE((*lazy)->read(0, 8, 10, &batch).ok());
  EXPECT_TRUE(batch.records.empty());
}

}  // namespace
}  // namespace payledger::testing
