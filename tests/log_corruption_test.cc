// The embedded log tells a torn tail (the unfinished last append of a crash, cut on open)
// from corruption (any other bad frame: reported with its file and byte offset, never cut,
// never read past). Issue 8 item 1.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

#include "events/embedded_log.h"
#include "test_util.h"

namespace payledger::testing {
namespace {

using events::AppendRecord;
using events::EmbeddedLog;
using events::EmbeddedLogOptions;

constexpr uint32_t kPartitions = 3;
// Frame of record i < 10 with key "k" and value "value-i": u32 len | u32 crc | u8 format |
// u16 key_len | "k" | "value-i" = 8 + 1 + 2 + 1 + 7 = 19 bytes.
constexpr uint64_t kFrameBytes = 19;

Result<std::unique_ptr<EmbeddedLog>> open_log(const std::string& dir, bool writer) {
  EmbeddedLogOptions o;
  o.partitions = kPartitions;
  o.writer = writer;
  o.sync = false;
  return EmbeddedLog::open(dir, o);
}

std::string file_of(const std::string& dir) {
  uint32_t p = events::partition_for_key("k", kPartitions);
  return dir + "/p-000" + std::to_string(p) + ".log";
}

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// A log whose partition of key "k" holds records value-0 .. value-9.
std::string ten_records(const TempDir& dir) {
  auto log = open_log(dir.path(), true);
  EXPECT_TRUE(log.ok());
  std::vector<AppendRecord> records;
  for (int i = 0; i < 10; ++i) records.push_back({"k", "value-" + std::to_string(i)});
  EXPECT_TRUE((*log)->append(records).ok());
  std::string file = file_of(dir.path());
  EXPECT_EQ(std::filesystem::file_size(file), 10 * kFrameBytes);
  return file;
}

// Every way of opening and reading the log reports kCorrupt naming the file and the byte,
// and the file keeps every byte.
void expect_corrupt_at(const std::string& dir, const std::string& file, uint64_t byte) {
  std::string before = bytes_of(file);
  std::string where = fmt::format("byte {}", byte);
  for (bool writer : {true, false}) {
    auto log = open_log(dir, writer);
    ASSERT_FALSE(log.ok()) << (writer ? "writer" : "reader") << " opened a corrupt log";
    EXPECT_EQ(log.error().code, Code::kCorrupt) << log.error().reason;
    EXPECT_NE(log.error().reason.find(file), std::string::npos) << log.error().reason;
    EXPECT_NE(log.error().reason.find(where), std::string::npos) << log.error().reason;
  }
  EXPECT_EQ(bytes_of(file), before) << "a corrupt log was modified";
}

void flip(const std::string& file, uint64_t at, char value) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(at));
  f.put(value);
}

TEST(LogCorruption, AFlippedLengthFieldInTheMiddleIsCorruptionNotATornTail) {
  TempDir dir;
  std::string file = ten_records(dir);
  // Record 4's length now claims 100 bytes: it would run past the end of the file, which
  // is what a torn tail looks like, but five synced records follow it.
  flip(file, 4 * kFrameBytes, 100);
  expect_corrupt_at(dir.path(), file, 4 * kFrameBytes);
}

TEST(LogCorruption, AnImplausibleLengthInTheMiddleIsCorruption) {
  TempDir dir;
  std::string file = ten_records(dir);
  flip(file, 4 * kFrameBytes + 3, 0x7f);  // top byte: a 2 GB record
  expect_corrupt_at(dir.path(), file, 4 * kFrameBytes);
}

TEST(LogCorruption, AFlippedPayloadByteIsCorruption) {
  TempDir dir;
  std::string file = ten_records(dir);
  flip(file, 4 * kFrameBytes + 14, 'X');  // inside "value-4"
  expect_corrupt_at(dir.path(), file, 4 * kFrameBytes);
}

TEST(LogCorruption, AFlippedCrcIsCorruption) {
  TempDir dir;
  std::string file = ten_records(dir);
  flip(file, 4 * kFrameBytes + 5, 0x55);
  expect_corrupt_at(dir.path(), file, 4 * kFrameBytes);
}

TEST(LogCorruption, ACorruptLastRecordThatWasSyncedIsCorruption) {
  TempDir dir;
  std::string file = ten_records(dir);
  flip(file, 9 * kFrameBytes + 14, 'X');  // the last record, acknowledged by append
  expect_corrupt_at(dir.path(), file, 9 * kFrameBytes);
}

TEST(LogCorruption, BytesCutFromTheMiddleAreCorruption) {
  TempDir dir;
  std::string file = ten_records(dir);
  std::string bytes = bytes_of(file);
  // Record 4 loses its last 6 bytes; records 5..9 follow it.
  bytes.erase(5 * kFrameBytes - 6, 6);
  write_bytes(file, bytes);
  expect_corrupt_at(dir.path(), file, 4 * kFrameBytes);
}

TEST(LogCorruption, ALogShorterThanWhatWasSyncedLostItsTail) {
  TempDir dir;
  std::string file = ten_records(dir);
  std::filesystem::resize_file(file, 7 * kFrameBytes);  // e.g. restored from an older copy
  for (bool writer : {true, false}) {
    auto log = open_log(dir.path(), writer);
    ASSERT_FALSE(log.ok());
    EXPECT_EQ(log.error().code, Code::kCorrupt) << log.error().reason;
    EXPECT_NE(log.error().reason.find(file), std::string::npos) << log.error().reason;
    EXPECT_NE(log.error().reason.find(std::to_string(10 * kFrameBytes)), std::string::npos)
        << log.error().reason;
  }
  EXPECT_EQ(std::filesystem::file_size(file), 7 * kFrameBytes);
}

TEST(LogCorruption, CorruptionAfterAReaderOpenedIsReportedByReadAndEndOffset) {
  TempDir dir;
  std::string file = ten_records(dir);
  auto reader = open_log(dir.path(), false).value();
  uint32_t p = events::partition_for_key("k", kPartitions);
  flip(file, 6 * kFrameBytes + 14, 'X');
  events::ReadBatch batch;
  Status read = reader->read(p, 0, 100, &batch);
  ASSERT_FALSE(read.ok()) << "read returned " << batch.records.size() << " records";
  EXPECT_EQ(read.error().code, Code::kCorrupt);
  EXPECT_NE(read.error().reason.find(fmt::format("byte {}", 6 * kFrameBytes)), std::string::npos)
      << read.error().reason;
  // A fresh reader finds it while indexing.
  auto fresh = open_log(dir.path(), false);
  ASSERT_FALSE(fresh.ok());
  EXPECT_EQ(fresh.error().code, Code::kCorrupt);
}

TEST(LogCorruption, ATornTailOfAnUnfinishedAppendIsCut) {
  TempDir dir;
  std::string file = ten_records(dir);
  // A crash mid-append leaves a prefix of a frame the append never acknowledged: here the
  // header and 5 bytes of a new frame.
  std::string torn = bytes_of(file).substr(0, 8 + 5);
  {
    std::ofstream out(file, std::ios::binary | std::ios::app);
    out << torn;
  }
  auto reader = open_log(dir.path(), false).value();  // a reader skips it and sees 10
  uint32_t p = events::partition_for_key("k", kPartitions);
  EXPECT_EQ(reader->end_offset(p).value(), 10u);
  auto log = open_log(dir.path(), true);
  ASSERT_TRUE(log.ok()) << log.error().reason;
  EXPECT_EQ(std::filesystem::file_size(file), 10 * kFrameBytes);
  EXPECT_EQ((*log)->end_offset(p).value(), 10u);
  ASSERT_TRUE((*log)->append(std::vector<AppendRecord>{{"k", "value-a"}}).ok());
  events::ReadBatch batch;
  ASSERT_TRUE((*log)->read(p, 0, 100, &batch).ok());
  ASSERT_EQ(batch.records.size(), 11u);
  EXPECT_EQ(batch.records[10].value, "value-a");
}

TEST(LogCorruption, AZeroFilledTailOfAnUnfinishedAppendIsCut) {
  TempDir dir;
  std::string file = ten_records(dir);
  // Power loss after the file grew but before its blocks were written: zeros.
  {
    std::ofstream out(file, std::ios::binary | std::ios::app);
    out << std::string(4 * kFrameBytes, '\0');
  }
  auto log = open_log(dir.path(), true);
  ASSERT_TRUE(log.ok()) << log.error().reason;
  EXPECT_EQ(std::filesystem::file_size(file), 10 * kFrameBytes);
}

TEST(LogCorruption, WholeFramesOfAnUnacknowledgedAppendAreKept) {
  TempDir dir;
  std::string file = ten_records(dir);
  // The crash came after the data was written but before the append recorded it as synced.
  std::string bytes = bytes_of(file);
  {
    std::ofstream out(file, std::ios::binary | std::ios::app);
    out << bytes.substr(0, 2 * kFrameBytes);
  }
  auto log = open_log(dir.path(), true);
  ASSERT_TRUE(log.ok()) << log.error().reason;
  uint32_t p = events::partition_for_key("k", kPartitions);
  EXPECT_EQ((*log)->end_offset(p).value(), 12u);
  log->reset();
  EXPECT_EQ(open_log(dir.path(), false).value()->end_offset(p).value(), 12u);
}

// Logs written before the synced-size record (no p-NNNN.synced): a frame is torn only if
// it is a strict prefix of a frame at the end of the file.
TEST(LogCorruption, AnOlderLogWithoutSyncedSizeStillTellsCorruptionFromATornTail) {
  TempDir dir;
  std::string file = ten_records(dir);
  std::string sidecar = file.substr(0, file.size() - 4) + ".synced";
  ASSERT_TRUE(std::filesystem::remove(sidecar));
  flip(file, 4 * kFrameBytes, 100);  // a length running past the end, 5 records after it
  expect_corrupt_at(dir.path(), file, 4 * kFrameBytes);

  TempDir torn_dir;
  std::string torn = ten_records(torn_dir);
  ASSERT_TRUE(std::filesystem::remove(torn.substr(0, torn.size() - 4) + ".synced"));
  std::filesystem::resize_file(torn, 10 * kFrameBytes - 3);  // the last record cut short
  auto log = open_log(torn_dir.path(), true);
  ASSERT_TRUE(log.ok()) << log.error().reason;
  EXPECT_EQ(std::filesystem::file_size(torn), 9 * kFrameBytes);
  EXPECT_TRUE(std::filesystem::exists(torn.substr(0, torn.size() - 4) + ".synced"));
}

// Issue 8 item 4a: a log's identity, so projections can tell logs apart.
TEST(LogIdentity, ANewLogHasARandomIdThatSurvivesReopening) {
  TempDir a, b;
  std::string id_a = open_log(a.path(), true).value()->identity();
  std::string id_b = open_log(b.path(), true).value()->identity();
  ASSERT_EQ(id_a.size(), std::string("embedded:").size() + 32) << id_a;
  EXPECT_TRUE(id_a.starts_with("embedded:"));
  EXPECT_NE(id_a, id_b);
  EXPECT_EQ(open_log(a.path(), true).value()->identity(), id_a);
  EXPECT_EQ(open_log(a.path(), false).value()->identity(), id_a);
}

TEST(LogIdentity, AnOlderLogWithoutAnIdGetsOneFromItsFirstWriterOrEnsureIdentity) {
  TempDir dir;
  ten_records(dir);
  ASSERT_TRUE(std::filesystem::remove(dir.path() + "/id"));
  auto reader = open_log(dir.path(), false).value();
  EXPECT_EQ(reader->identity(), "");  // a plain reader changes nothing
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/id"));
  ASSERT_TRUE(reader->ensure_identity().ok());
  std::string id = reader->identity();
  EXPECT_TRUE(id.starts_with("embedded:")) << id;
  EXPECT_EQ(open_log(dir.path(), true).value()->identity(), id);  // kept, not replaced

  TempDir other;
  ten_records(other);
  ASSERT_TRUE(std::filesystem::remove(other.path() + "/id"));
  std::string made = open_log(other.path(), true).value()->identity();
  EXPECT_TRUE(made.starts_with("embedded:")) << made;
  EXPECT_EQ(open_log(other.path(), false).value()->identity(), made);
}

TEST(LogIdentity, AMangledIdIsCorruption) {
  TempDir dir;
  ten_records(dir);
  write_bytes(dir.path() + "/id", "not-hex\n");
  auto log = open_log(dir.path(), false);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.error().code, Code::kCorrupt);
  EXPECT_NE(log.error().reason.find(dir.path() + "/id"), std::string::npos) << log.error().reason;
}

// Issue 8 item 10: metadata is written to a temp file and renamed or linked into place;
// a temp file left by a crash is never read, and a writer removes it.
TEST(LogMetadata, ATempFileLeftByACrashIsIgnoredAndRemoved) {
  TempDir dir;
  // pid 4194305 is above Linux's pid_max: that process is certainly gone.
  std::string stale = dir.path() + "/partitions.tmp-4194305";
  std::string stale_id = dir.path() + "/id.tmp-4194305";
  write_bytes(stale, "99\n");
  write_bytes(stale_id, "0123");
  auto log = open_log(dir.path(), true);
  ASSERT_TRUE(log.ok()) << log.error().reason;
  EXPECT_EQ((*log)->partition_count(), kPartitions);  // not the 99 of the temp file
  EXPECT_FALSE(std::filesystem::exists(stale));
  EXPECT_FALSE(std::filesystem::exists(stale_id));
  EXPECT_EQ(bytes_of(dir.path() + "/partitions"), "3\n");
  // No temp file of this process is left behind either.
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos)
        << entry.path();
  }
}

TEST(LogMetadata, ATempFileOfALiveProcessIsLeftAlone) {
  TempDir dir;
  std::string live = dir.path() + "/id.tmp-" + std::to_string(::getppid());
  write_bytes(live, "in progress");
  ASSERT_TRUE(open_log(dir.path(), true).ok());
  EXPECT_TRUE(std::filesystem::exists(live));
}

}  // namespace
}  // namespace payledger::testing

namespace payledger::testing {
namespace {

// A flipped bit in either slot of p-NNNN.synced: the other slot may hold an older size (0
// here), and trusting it would hide every record past it from readers, so the books would
// fold short with exit 0. Every open refuses instead, naming the sidecar, and keeps the data.
TEST(LogCorruption, ADamagedSyncedSizeSlotIsCorruptionNotAnOlderSize) {
  for (int slot = 0; slot < 2; ++slot) {
    TempDir dir;
    std::string file = ten_records(dir);
    std::string sidecar = file.substr(0, file.size() - 4) + ".synced";
    std::string data = bytes_of(file);
    flip(sidecar, slot * 16 + 3, '\x5a');  // inside the slot's size bytes
    for (bool writer : {true, false}) {
      auto log = open_log(dir.path(), writer);
      ASSERT_FALSE(log.ok()) << "slot " << slot << (writer ? " writer" : " reader")
                             << " opened a log with a damaged synced size";
      EXPECT_EQ(log.error().code, Code::kCorrupt) << log.error().reason;
      EXPECT_NE(log.error().reason.find(sidecar), std::string::npos) << log.error().reason;
    }
    EXPECT_EQ(bytes_of(file), data) << "the data file was modified";
  }
}

}  // namespace
}  // namespace payledger::testing
