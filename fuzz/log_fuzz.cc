// Embedded log reader: the input becomes partition 0 of a one-partition log; the log is
// opened as a reader and read to the end, then opened as a writer (which repairs a torn
// tail or refuses corruption), read again and appended to. Every call must return records
// or a kCorrupt/kIo error, never crash or read out of bounds (ASan).
#include <stdlib.h>

#include <cstddef>
#include <cstdlib>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "events/embedded_log.h"
#include "fuzz/fuzz_util.h"

namespace {

using payledger::Code;
using payledger::events::EmbeddedLog;

// Never destroyed: the atexit handler that removes it runs after static destructors.
const std::string& work_dir() {
  static const std::string* dir = [] {
    // tmpfs when there is one: each input creates and deletes files, no disk needed.
    std::filesystem::path base = std::filesystem::is_directory("/dev/shm")
                                     ? std::filesystem::path("/dev/shm")
                                     : std::filesystem::temp_directory_path();
    auto* path = new std::string(base / "payledger-fuzz-log-XXXXXX");
    FUZZ_ASSERT(::mkdtemp(path->data()) != nullptr, "mkdtemp");
    std::atexit([] { std::filesystem::remove_all(work_dir()); });
    return path;
  }();
  return *dir;
}

bool expected_error(Code code) { return code == Code::kCorrupt || code == Code::kIo; }

// Reads partition 0 to the end in reads of `max` records; returns the records seen, or -1
// after an (expected) error.
int64_t read_all(EmbeddedLog& log, size_t max) {
  payledger::events::ReadBatch batch;
  uint64_t offset = 0;
  for (;;) {
    auto status = log.read(0, offset, max, &batch);
    if (!status) {
      FUZZ_ASSERT(expected_error(status.error().code), status.error().reason.c_str());
      return -1;
    }
    if (batch.records.empty()) break;
    FUZZ_ASSERT(batch.records.size() <= max, "read returned more records than asked");
    for (const auto& rec : batch.records) {
      FUZZ_ASSERT(rec.partition == 0 && rec.offset == offset, "records out of order");
      // Touch every byte: ASan reports a view past the batch's buffer.
      volatile char sink = 0;
      for (char c : rec.key) sink = static_cast<char>(sink ^ c);
      for (char c : rec.value) sink = static_cast<char>(sink ^ c);
      ++offset;
    }
  }
  auto end = log.end_offset(0);
  if (!end) {
    FUZZ_ASSERT(expected_error(end.error().code), end.error().reason.c_str());
    return -1;
  }
  FUZZ_ASSERT(*end == offset, "end_offset differs from the records read");
  return static_cast<int64_t>(offset);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& dir = work_dir();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/partitions") << "1\n";
  std::ofstream(dir + "/p-0000.log", std::ios::binary)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));

  payledger::events::EmbeddedLogOptions options;
  options.sync = false;
  options.writer = false;
  int64_t read_count = -1;
  {
    auto reader = EmbeddedLog::open(dir, options);
    if (!reader) {
      FUZZ_ASSERT(expected_error(reader.error().code), reader.error().reason.c_str());
    } else {
      read_count = read_all(**reader, 3);
      FUZZ_ASSERT(read_all(**reader, 4096) == read_count, "two readings disagree");
    }
  }

  options.writer = true;
  auto writer = EmbeddedLog::open(dir, options);
  if (!writer) {
    FUZZ_ASSERT(expected_error(writer.error().code), writer.error().reason.c_str());
    return 0;
  }
  int64_t before = read_all(**writer, 4096);
  if (before < 0) return 0;
  // A writer that opened keeps every record a reader saw, and its appends land after them.
  if (read_count >= 0) FUZZ_ASSERT(before >= read_count, "opening as a writer lost records");
  std::vector<payledger::events::AppendRecord> records{{"m1", "appended"}};
  auto appended = (*writer)->append(records);
  if (!appended) {
    FUZZ_ASSERT(expected_error(appended.error().code), appended.error().reason.c_str());
    return 0;
  }
  payledger::events::ReadBatch batch;
  auto status = (*writer)->read(0, static_cast<uint64_t>(before), 10, &batch);
  FUZZ_ASSERT(status.ok(), "reading the appended record failed");
  FUZZ_ASSERT(batch.records.size() == 1 && batch.records[0].value == "appended",
              "the appended record is not the next record");
  return 0;
}
