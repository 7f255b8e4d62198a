// An edited DIR/log/partitions file (issue 8, left item 7): the partition count of a log
// never changes, so a count that disagrees with the partition files is refused by writers
// and readers alike, naming the file; only a new, empty log may lack some of its files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "events/embedded_log.h"
#include "test_util.h"

namespace payledger::testing {
namespace {

using events::EmbeddedLog;
using events::EmbeddedLogOptions;

EmbeddedLogOptions options(bool writer) {
  EmbeddedLogOptions o;
  o.partitions = 4;
  o.sync = false;
  o.writer = writer;
  return o;
}

void write_count(const std::string& dir, const std::string& text) {
  std::ofstream(dir + "/partitions", std::ios::trunc) << text;
}

void append_one(EmbeddedLog& log) {
  std::vector<events::AppendRecord> records{{"m1", "x", events::RecordFormat::kRawJson}};
  ASSERT_TRUE(log.append(records).ok());
}

TEST(LogPartitions, ARaisedCountIsRefusedAndCreatesNothing) {
  TempDir tmp;
  std::string dir = tmp.path() + "/log";
  append_one(*EmbeddedLog::open(dir, options(true)).value());
  write_count(dir, "6\n");
  for (bool writer : {true, false}) {
    auto log = EmbeddedLog::open(dir, options(writer));
    ASSERT_FALSE(log.ok()) << "writer " << writer;
    EXPECT_EQ(log.error().code, Code::kCorrupt);
    EXPECT_NE(log.error().reason.find(dir + "/partitions says 6 partitions but the log has 4"),
              std::string::npos)
        << log.error().reason;
  }
  EXPECT_FALSE(std::filesystem::exists(dir + "/p-0004.log"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/p-0005.log"));
}

TEST(LogPartitions, ALoweredCountIsRefused) {
  TempDir tmp;
  std::string dir = tmp.path() + "/log";
  append_one(*EmbeddedLog::open(dir, options(true)).value());
  write_count(dir, "3\n");
  auto log = EmbeddedLog::open(dir, options(false));
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.error().reason.find("write 4 back"), std::string::npos) << log.error().reason;
}

TEST(LogPartitions, ANewEmptyLogMissingSomeFilesIsCompleted) {
  // A crash after the count was written but before every partition file was created.
  TempDir tmp;
  std::string dir = tmp.path() + "/log";
  { auto log = EmbeddedLog::open(dir, options(true)).value(); }
  for (const char* f : {"p-0002.log", "p-0002.synced", "p-0003.log", "p-0003.synced"}) {
    std::filesystem::remove(dir + "/" + f);
  }
  auto log = EmbeddedLog::open(dir, options(true));
  ASSERT_TRUE(log.ok()) << log.error().reason;
  EXPECT_EQ((*log)->partition_count(), 4u);
  EXPECT_TRUE(std::filesystem::exists(dir + "/p-0003.log"));
}

}  // namespace
}  // namespace payledger::testing
