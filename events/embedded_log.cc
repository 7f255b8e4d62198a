#include "events/embedded_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include <fmt/format.h>

#include "events/durable_file.h"
#include "events/schema/check.h"

namespace payledger::events {
namespace {

constexpr size_t kHeaderBytes = 8;                 // u32 body_len, u32 crc
constexpr size_t kBodyPrefixBytes = 3;             // u8 format, u16 key_len
constexpr size_t kRecordBodyMax = 1024 * 1024;     // a frame claiming more is corrupt
constexpr size_t kReadBytesMax = 16 * 1024 * 1024; // bytes one read() may load
constexpr size_t kScanChunkBytes = 4 * 1024 * 1024;

Error io_error(std::string_view what, const std::string& path) {
  return make_error(Code::kIo, fmt::format("{} {}: {}", what, path, std::strerror(errno)));
}

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t get_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

uint32_t crc_of(const char* data, size_t n) {
  return static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(data), static_cast<uInt>(n)));
}

void append_frame(std::string& out, const AppendRecord& r) {
  std::string body;
  body.reserve(kBodyPrefixBytes + r.key.size() + r.value.size());
  body.push_back(static_cast<char>(r.format));
  body.push_back(static_cast<char>(r.key.size() & 0xff));
  body.push_back(static_cast<char>((r.key.size() >> 8) & 0xff));
  body.append(r.key);
  body.append(r.value);
  size_t at = out.size();
  put_u32(out, static_cast<uint32_t>(body.size()));
  put_u32(out, crc_of(body.data(), body.size()));
  out.append(body);
  // Pair assertion with the read side: the frame about to be written decodes as itself.
  PAYLEDGER_CHECK(get_u32(out.data() + at) == body.size() &&
                      get_u32(out.data() + at + 4) ==
                          crc_of(out.data() + at + kHeaderBytes, body.size()),
                  "embedded log frame does not check out before it is written");
}

Status write_all(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("write", path);
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status pread_all(int fd, char* buf, size_t n, uint64_t pos, const std::string& path) {
  size_t done = 0;
  while (done < n) {
    ssize_t got = ::pread(fd, buf + done, n - done, static_cast<off_t>(pos + done));
    if (got < 0) {
      if (errno == EINTR) continue;
      return io_error("read", path);
    }
    if (got == 0) {
      return make_error(Code::kCorrupt,
                        fmt::format("event log {} ends at byte {}, before the record indexed "
                                    "there: the file was cut; restore the log directory from a "
                                    "backup",
                                    path, pos + done));
    }
    done += static_cast<size_t>(got);
  }
  return Status::Ok();
}

std::string partition_path(const std::string& dir, uint32_t index) {
  return fmt::format("{}/p-{:04}.log", dir, index);
}

std::string synced_name(uint32_t index) { return fmt::format("p-{:04}.synced", index); }

std::string tail_path(const std::string& dir, uint32_t index) {
  return fmt::format("{}/p-{:04}.tail", dir, index);
}

constexpr size_t kTailBytes = 32;  // u64 synced | u64 count | u64 last start | u32 crc | u32 0

void put_u64(std::string& out, uint64_t v) {
  put_u32(out, static_cast<uint32_t>(v & 0xffffffffu));
  put_u32(out, static_cast<uint32_t>(v >> 32));
}

uint64_t get_u64(const char* p) {
  return static_cast<uint64_t>(get_u32(p)) | (static_cast<uint64_t>(get_u32(p + 4)) << 32);
}

// The partition count of a log never changes (a merchant's partition is its key's hash modulo
// the count): checks that `dir`/partitions still says what the partition files say, so an
// edited count is refused instead of a writer creating partitions silently (records of old
// merchants would land in another partition than their history) or readers skipping the
// partitions above it. Missing files are only allowed while every partition is empty (a
// crash between writing the count and creating the files of a new log).
Status check_partition_files(const std::string& dir, uint32_t count) {
  uint32_t files = 0;  // one past the highest p-NNNN.log
  bool any_data = false;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    unsigned index = 0;
    char tail = 0;
    if (name.size() < 10 || !name.starts_with("p-") || !name.ends_with(".log") ||
        std::sscanf(name.c_str(), "p-%u.lo%c", &index, &tail) != 2 || tail != 'g') {
      continue;
    }
    files = std::max(files, index + 1);
    if (std::filesystem::file_size(entry.path(), ec) > 0 && !ec) any_data = true;
  }
  if (ec) {
    return make_error(Code::kIo, fmt::format("cannot list {}: {}", dir, ec.message()));
  }
  if (files > count || (files < count && any_data)) {
    return make_error(Code::kCorrupt,
                      fmt::format("{}/partitions says {} partitions but the log has {} "
                                  "(p-0000.log .. {}): the file was edited? A log's partition "
                                  "count cannot change (each merchant's events are in the "
                                  "partition of its key); write {} back into it. For another "
                                  "count, append the events to a new --data directory with "
                                  "--partitions",
                                  dir, count, files, fmt::format("p-{:04}.log", files - 1), files));
  }
  return Status::Ok();
}

// p-NNNN.synced: two slots, written alternately, each u64 synced bytes | u32 crc32 of those
// 8 bytes | u32 zero. The larger valid slot is the synced size; a slot that fails its CRC is
// corruption (a 16-byte pwrite is not torn by a crash), never a reason to trust the other.
constexpr size_t kSyncedSlotBytes = 16;
constexpr size_t kSyncedSlots = 2;

std::string synced_slot(uint64_t bytes) {
  std::string slot;
  put_u32(slot, static_cast<uint32_t>(bytes & 0xffffffffu));
  put_u32(slot, static_cast<uint32_t>(bytes >> 32));
  put_u32(slot, crc_of(slot.data(), 8));
  put_u32(slot, 0);
  return slot;
}

std::optional<uint64_t> parse_synced_slot(const char* p) {
  if (get_u32(p + 8) != crc_of(p, 8) || get_u32(p + 12) != 0) return std::nullopt;
  return static_cast<uint64_t>(get_u32(p)) | (static_cast<uint64_t>(get_u32(p + 4)) << 32);
}

constexpr size_t kIdHexDigits = 32;  // 128 random bits

std::string random_id() {
  std::random_device random;  // /dev/urandom on Linux
  std::string id;
  for (size_t i = 0; i < kIdHexDigits / 8; ++i) id += fmt::format("{:08x}", random());
  return id;
}

Error corrupt_frame(const std::string& path, uint32_t partition, uint64_t byte, uint64_t offset,
                    std::string_view why) {
  return make_error(Code::kCorrupt,
                    fmt::format("event log {} is corrupt at byte {} (record {} of partition "
                                "{}): {}. The records before it are intact; payledger never "
                                "cuts or skips a corrupt log: restore the log directory from a "
                                "backup",
                                path, byte, offset, partition, why));
}

}  // namespace

uint32_t partition_for_key(std::string_view key, uint32_t partitions) {
  PAYLEDGER_CHECK(partitions > 0);
  // CRC-32 of the key modulo the partition count: librdkafka's "consistent" partitioner
  // (the default consistent_random for non-empty keys), so kcat and other librdkafka
  // producers place a merchant's records where payledger does.
  return crc_of(key.data(), key.size()) % partitions;
}

EmbeddedLog::EmbeddedLog(std::string dir, EmbeddedLogOptions options)
    : dir_(std::move(dir)), options_(options) {}

EmbeddedLog::~EmbeddedLog() {
  for (auto& p : parts_) {
    if (p.fd >= 0) ::close(p.fd);
    if (p.synced_fd >= 0) ::close(p.synced_fd);
    if (p.tail_fd >= 0) ::close(p.tail_fd);
  }
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

Result<std::unique_ptr<EmbeddedLog>> EmbeddedLog::open(const std::string& dir,
                                                       const EmbeddedLogOptions& options) {
  if (options.writer) {
    if (Status s = create_directories_durably(dir); !s) return s.error();
  }
  std::unique_ptr<EmbeddedLog> log(new EmbeddedLog(dir, options));
  if (options.writer) {
    std::string lock_path = dir + "/LOCK";
    log->lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (log->lock_fd_ < 0) return io_error("open", lock_path);
    if (::flock(log->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      return make_error(Code::kIo, fmt::format("event log {} is locked by another writer", dir));
    }
    remove_stale_temp_files(dir);  // under the lock: no other writer is mid-write
  }
  std::string meta_path = dir + "/partitions";
  uint32_t count = 0;
  if (std::ifstream in(meta_path); in) {
    if (!(in >> count) || count == 0 || count > kPartitionsMax) {
      return make_error(Code::kCorrupt, fmt::format("{} does not hold a partition count", meta_path));
    }
  } else {
    if (!options.writer) {
      return make_error(Code::kIo, fmt::format("no event log at {} (nothing appended yet?)", dir));
    }
    if (options.partitions == 0 || options.partitions > kPartitionsMax) {
      return make_error(Code::kInvalidArgument,
                        fmt::format("partitions must be 1..{}", kPartitionsMax));
    }
    count = options.partitions;
    // The id first: a log whose partition count is on disk always has its identity.
    if (Status s = log->ensure_identity(); !s) return s.error();
    if (Status s = replace_file_durably(dir, "partitions", fmt::format("{}\n", count)); !s) {
      return s.error();
    }
  }
  // A log from before identities gets one from its first writer.
  if (Status s = options.writer ? log->ensure_identity() : log->load_identity(); !s) {
    return s.error();
  }
  if (Status s = check_partition_files(dir, count); !s) return s.error();
  log->parts_.resize(count);
  for (uint32_t i = 0; i < count; ++i) {
    if (Status s = log->open_partition(i); !s) return s.error();
  }
  return log;
}

Status EmbeddedLog::load_identity() {
  std::string path = dir_ + "/id";
  std::ifstream in(path);
  if (!in) {
    identity_.clear();
    return Status::Ok();
  }
  std::string id;
  in >> id;
  if (id.size() != kIdHexDigits || id.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return make_error(Code::kCorrupt,
                      fmt::format("{} does not hold a log id ({} hex digits)", path, kIdHexDigits));
  }
  identity_ = "embedded:" + id;
  return Status::Ok();
}

Status EmbeddedLog::ensure_identity() {
  if (Status s = load_identity(); !s || !identity_.empty()) return s;
  auto created = create_file_once_durably(dir_, "id", random_id() + "\n");
  if (!created) return created.error();
  return load_identity();  // ours, or the one another process linked first
}

Status EmbeddedLog::load_synced(uint32_t index) {
  Partition& part = parts_[index];
  std::string path = dir_ + "/" + synced_name(index);
  if (part.synced_fd < 0) {
    part.synced_fd = ::open(path.c_str(), (options_.writer ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (part.synced_fd < 0) {
      if (errno == ENOENT) return Status::Ok();  // a log written before synced sizes
      return io_error("open", path);
    }
  }
  char buf[kSyncedSlotBytes * kSyncedSlots] = {};
  ssize_t got = ::pread(part.synced_fd, buf, sizeof buf, 0);
  if (got < 0) return io_error("read", path);
  std::optional<uint64_t> best;
  for (size_t slot = 0; slot < kSyncedSlots; ++slot) {
    if (static_cast<size_t>(got) < (slot + 1) * kSyncedSlotBytes) break;
    auto bytes = parse_synced_slot(buf + slot * kSyncedSlotBytes);
    if (!bytes) {
      // Each slot is one 16-byte pwrite, which a crash does not tear: a bad slot is damage.
      // Falling back to the other (older) slot would hide the records past it from readers,
      // so the books would fold short.
      return make_error(Code::kCorrupt,
                        fmt::format("{} is corrupt (slot {} fails its CRC): the synced size of "
                                    "{} cannot be trusted; restore the log directory from a "
                                    "backup",
                                    path, slot, partition_path(dir_, index)));
    }
    if (!best || *bytes > *best) {
      best = bytes;
      part.next_slot = static_cast<int>((slot + 1) % kSyncedSlots);
    }
  }
  if (!best) {
    return make_error(Code::kCorrupt,
                      fmt::format("{} holds no valid synced size, so torn appends cannot be "
                                  "told from corruption in {}; restore the log directory from "
                                  "a backup",
                                  path, partition_path(dir_, index)));
  }
  part.synced = *best;
  return Status::Ok();
}

Status EmbeddedLog::store_synced(uint32_t index) {
  Partition& part = parts_[index];
  std::string path = dir_ + "/" + synced_name(index);
  std::string slot = synced_slot(part.end);
  off_t at = static_cast<off_t>(part.next_slot * kSyncedSlotBytes);
  if (::pwrite(part.synced_fd, slot.data(), slot.size(), at) != static_cast<ssize_t>(slot.size())) {
    return io_error("write", path);
  }
  if (options_.sync && ::fdatasync(part.synced_fd) != 0) return io_error("fdatasync", path);
  part.next_slot = (part.next_slot + 1) % static_cast<int>(kSyncedSlots);
  part.synced = part.end;
  return Status::Ok();
}

Status EmbeddedLog::open_partition(uint32_t index) {
  std::string path = partition_path(dir_, index);
  Partition& part = parts_[index];
  bool existed = std::filesystem::exists(path);
  if (options_.writer) {
    if (Status s = load_synced(index); !s) return s;
    if (part.synced_fd < 0 && !existed) {
      // A new partition: its synced size (0) exists before its data file, so no reader
      // ever takes the new file for an older log without one.
      std::string slots = synced_slot(0) + synced_slot(0);
      if (Status s = replace_file_durably(dir_, synced_name(index), slots); !s) return s;
      if (Status s = load_synced(index); !s) return s;
    }
  }
  int flags = options_.writer ? (O_RDWR | O_CREAT | O_APPEND) : O_RDONLY;
  part.fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
  if (part.fd < 0) {
    if (!options_.writer && errno == ENOENT) return Status::Ok();  // empty partition
    return io_error("open", path);
  }
  if (!existed && options_.writer) {
    if (Status s = fsync_directory(dir_); !s) return s;
  }
  if (!options_.writer && options_.trust_tail) {
    part.indexed = false;  // end_offset/read use the tail hint, or index on first need
    return Status::Ok();
  }
  Scan scan;
  if (Status s = scan_tail(index, &scan); !s) return s;
  if (!options_.writer) return Status::Ok();
  std::string tail = tail_path(dir_, index);
  part.tail_fd = ::open(tail.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (part.tail_fd < 0) return io_error("open", tail);
  if (scan.torn_at) {
    // The unfinished last append of a crash: never acknowledged, so cut it.
    PAYLEDGER_CHECK(*scan.torn_at == part.end && part.end >= part.synced);
    if (::ftruncate(part.fd, static_cast<off_t>(part.end)) != 0) return io_error("truncate", path);
  }
  if (part.synced_fd < 0) {
    // A log from before synced sizes: what the scan accepted becomes the synced size.
    if (::fdatasync(part.fd) != 0) return io_error("fdatasync", path);
    std::string slots = synced_slot(part.end) + synced_slot(part.end);
    if (Status s = replace_file_durably(dir_, synced_name(index), slots); !s) return s;
    if (Status s = load_synced(index); !s) return s;
    return store_tail(index);
  }
  if (part.end != part.synced || scan.torn_at) {
    // Whole frames of an append that crashed before recording them as synced are kept.
    if (::fdatasync(part.fd) != 0) return io_error("fdatasync", path);
    if (Status s = store_synced(index); !s) return s;
  }
  return store_tail(index);
}

Status EmbeddedLog::store_tail(uint32_t index) {
  Partition& part = parts_[index];
  PAYLEDGER_CHECK(part.synced == part.end, "a tail hint is written only for the synced size");
  std::string hint;
  put_u64(hint, part.synced);
  put_u64(hint, part.positions.size());
  put_u64(hint, part.positions.empty() ? 0 : part.positions.back());
  put_u32(hint, crc_of(hint.data(), hint.size()));
  put_u32(hint, 0);
  PAYLEDGER_CHECK(hint.size() == kTailBytes);
  if (::pwrite(part.tail_fd, hint.data(), hint.size(), 0) != static_cast<ssize_t>(hint.size())) {
    return io_error("write", tail_path(dir_, index));
  }
  return Status::Ok();
}

Result<std::optional<EmbeddedLog::Tail>> EmbeddedLog::trusted_tail(uint32_t index) {
  Partition& part = parts_[index];
  if (part.fd < 0) return std::optional<Tail>();
  // The synced size first, as the scan does: the bytes it covers are already written.
  if (Status s = load_synced(index); !s) return s.error();
  if (part.synced_fd < 0) return std::optional<Tail>();  // a log from before synced sizes
  std::string path = tail_path(dir_, index);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::optional<Tail>();  // a log from before hints: index it
  char hint[kTailBytes] = {};
  ssize_t got = ::pread(fd, hint, sizeof hint, 0);
  ::close(fd);
  if (got != static_cast<ssize_t>(kTailBytes) || get_u32(hint + 24) != crc_of(hint, 24) ||
      get_u32(hint + 28) != 0) {
    return std::optional<Tail>();
  }
  Tail tail{get_u64(hint + 8), get_u64(hint + 16), get_u64(hint)};
  // A hint of another synced size is stale (a writer between its two writes, or a crash).
  if (tail.synced != part.synced) return std::optional<Tail>();
  struct stat st {};
  if (::fstat(part.fd, &st) != 0) return io_error("stat", partition_path(dir_, index));
  // A file shorter than its synced size lost bytes: the full scan names the damage.
  if (static_cast<uint64_t>(st.st_size) < tail.synced) return std::optional<Tail>();
  if (tail.count == 0) {
    if (tail.synced != 0) return std::optional<Tail>();
    return std::optional<Tail>(tail);
  }
  // The last frame must end exactly at the synced size and check out.
  if (tail.last_start + kHeaderBytes + kBodyPrefixBytes > tail.synced ||
      tail.synced - tail.last_start - kHeaderBytes > kRecordBodyMax) {
    return std::optional<Tail>();
  }
  std::string frame(static_cast<size_t>(tail.synced - tail.last_start), '\0');
  if (Status s = pread_all(part.fd, frame.data(), frame.size(), tail.last_start,
                           partition_path(dir_, index));
      !s) {
    return s.error();
  }
  uint32_t len = get_u32(frame.data());
  if (len + kHeaderBytes != frame.size() ||
      get_u32(frame.data() + 4) != crc_of(frame.data() + kHeaderBytes, len)) {
    return std::optional<Tail>();
  }
  return std::optional<Tail>(tail);
}

Status EmbeddedLog::scan_tail(uint32_t index, Scan* scan) {
  Partition& part = parts_[index];
  if (part.fd < 0) return Status::Ok();
  std::string path = partition_path(dir_, index);
  // Readers read the synced size before the data: the bytes it covers are already written.
  if (!options_.writer) {
    if (Status s = load_synced(index); !s) return s;
  }
  bool has_synced = part.synced_fd >= 0;
  struct stat st {};
  if (::fstat(part.fd, &st) != 0) return io_error("stat", path);
  uint64_t size = static_cast<uint64_t>(st.st_size);
  scan->file_bytes = size;
  // A file shorter than its synced size lost bytes; the scan below names the first bad
  // record if the loss left one, else the error after it names the lost tail.
  bool lost_tail = has_synced && size < part.synced;
  // Readers see only what an acknowledged append made durable; a writer looks at it all.
  uint64_t limit = has_synced && !options_.writer ? std::min(part.synced, size) : size;
  std::string chunk;
  while (part.end < limit) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(kScanChunkBytes, size - part.end));
    chunk.resize(want);
    if (Status s = pread_all(part.fd, chunk.data(), want, part.end, path); !s) return s;
    size_t off = 0;
    while (part.end < limit) {
      uint64_t at = part.end;
      std::string why;
      bool prefix = false;  // a strict prefix of a frame at the end of the file
      uint32_t len = 0;
      if (size - at < kHeaderBytes) {
        why = fmt::format("{} bytes left, less than a record header", size - at);
        prefix = true;
      } else if (want - off < kHeaderBytes) {
        break;  // the header continues in the next chunk
      } else if (len = get_u32(chunk.data() + off);
                 len < kBodyPrefixBytes || len > kRecordBodyMax) {
        why = fmt::format("record length {} is out of range", len);
      } else if (at + kHeaderBytes + len > size) {
        why = fmt::format("a record of {} bytes runs past the end of the file", len);
        prefix = true;
      } else if (want - off < kHeaderBytes + len) {
        break;  // the record continues in the next chunk
      } else if (get_u32(chunk.data() + off + 4) !=
                 crc_of(chunk.data() + off + kHeaderBytes, len)) {
        why = "CRC mismatch";
      } else if (has_synced && at < part.synced && at + kHeaderBytes + len > part.synced) {
        why = fmt::format("the record crosses the synced size {}", part.synced);
      }
      if (!why.empty()) {
        bool torn = has_synced ? at >= part.synced : prefix;
        if (!torn) return corrupt_frame(path, index, at, part.positions.size(), why);
        scan->torn_at = at;
        return Status::Ok();
      }
      part.positions.push_back(at);
      part.end += kHeaderBytes + len;
      off += kHeaderBytes + len;
    }
    // A record (at most kRecordBodyMax) always fits in a chunk, so each pass makes progress.
    PAYLEDGER_CHECK(off > 0 || part.end >= limit, "embedded log scan made no progress");
  }
  if (lost_tail) {
    return make_error(Code::kCorrupt,
                      fmt::format("event log {} is {} bytes but {} bytes of it were synced: "
                                  "the log lost its tail (restored from an older copy, or a "
                                  "damaged disk?); restore the whole log directory from a "
                                  "backup",
                                  path, size, part.synced));
  }
  return Status::Ok();
}

Status EmbeddedLog::append(std::span<const AppendRecord> records) {
  if (!options_.writer) return make_error(Code::kInvalidArgument, "log opened read-only");
  std::vector<std::string> frames(parts_.size());
  std::vector<std::vector<uint64_t>> sizes(parts_.size());
  for (const AppendRecord& r : records) {
    if (r.key.size() > 0xffff || r.value.size() + r.key.size() + kBodyPrefixBytes > kRecordBodyMax) {
      return make_error(Code::kInvalidArgument, "record too large for the embedded log");
    }
    const bool broadcast = r.key == kBroadcastKey;
    const uint32_t first = broadcast ? 0 : partition_for_key(r.key, partition_count());
    const uint32_t last = broadcast ? partition_count() - 1 : first;
    for (uint32_t p = first; p <= last; ++p) {
      size_t before = frames[p].size();
      append_frame(frames[p], r);
      sizes[p].push_back(frames[p].size() - before);
    }
  }
  for (uint32_t p = 0; p < parts_.size(); ++p) {
    if (frames[p].empty()) continue;
    Partition& part = parts_[p];
    std::string path = partition_path(dir_, p);
    Status wrote = write_all(part.fd, frames[p], path);
    if (wrote && options_.sync && ::fdatasync(part.fd) != 0) wrote = io_error("fdatasync", path);
    if (!wrote) {
      (void)::ftruncate(part.fd, static_cast<off_t>(part.end));  // drop the partial batch
      return wrote;
    }
    for (uint64_t size : sizes[p]) {
      part.positions.push_back(part.end);
      part.end += size;
    }
    // Only now, after the data is durable, does the synced size cover it.
    if (Status s = store_synced(p); !s) return s;
    if (Status s = store_tail(p); !s) return s;
  }
  return Status::Ok();
}

Status EmbeddedLog::read(uint32_t partition, uint64_t from_offset, size_t max_records,
                         ReadBatch* out) {
  out->clear();
  if (partition >= parts_.size()) {
    return make_error(Code::kInvalidArgument, fmt::format("no partition {}", partition));
  }
  Partition& part = parts_[partition];
  if (part.fd < 0) {  // a reader opened before the writer created this partition
    if (Status s = open_partition(partition); !s) return s;
  }
  if (!part.indexed) {
    auto tail = trusted_tail(partition);
    if (!tail) return tail.error();
    if (*tail && from_offset >= (*tail)->count) return Status::Ok();
    if (*tail && from_offset + 1 == (*tail)->count && max_records > 0) {
      // The last record (what a query checks against the books): one read, no scan.
      const uint64_t at = (*tail)->last_start;
      return decode_frames(partition, from_offset, std::span<const uint64_t>(&at, 1),
                           (*tail)->synced, out);
    }
    part.indexed = true;  // any other record: index the partition (the full scan)
  }
  if (from_offset >= part.positions.size()) {
    Scan scan;
    if (Status s = scan_tail(partition, &scan); !s) return s;
    if (from_offset >= part.positions.size()) return Status::Ok();
  }
  max_records = std::min(max_records, kReadRecordsMax);
  uint64_t first = part.positions[from_offset];
  uint64_t last = std::min<uint64_t>(from_offset + max_records, part.positions.size());
  // Shrink the range until it fits the byte budget (at least one record).
  while (last > from_offset + 1) {
    uint64_t end = last == part.positions.size() ? part.end : part.positions[last];
    if (end - first <= kReadBytesMax) break;
    last = from_offset + (last - from_offset) / 2;
  }
  uint64_t end = last == part.positions.size() ? part.end : part.positions[last];
  return decode_frames(
      partition, from_offset,
      std::span<const uint64_t>(part.positions.data() + from_offset, last - from_offset), end,
      out);
}

Status EmbeddedLog::decode_frames(uint32_t partition, uint64_t from_offset,
                                  std::span<const uint64_t> positions, uint64_t end,
                                  ReadBatch* out) {
  Partition& part = parts_[partition];
  const uint64_t first = positions.front();
  std::string path = partition_path(dir_, partition);
  char* base = out->reserve(end - first);
  if (Status s = pread_all(part.fd, base, end - first, first, path); !s) return s;
  out->records.reserve(positions.size());
  for (size_t i = 0; i < positions.size(); ++i) {
    uint64_t off = from_offset + i;
    uint64_t at = positions[i];
    uint64_t next = i + 1 == positions.size() ? end : positions[i + 1];
    const char* p = base + (at - first);
    uint32_t len = get_u32(p);
    const char* body = p + kHeaderBytes;
    // Pair assertion with the scan and the write: the bytes are still the frame indexed.
    if (len + kHeaderBytes != next - at || get_u32(p + 4) != crc_of(body, len)) {
      out->clear();
      return corrupt_frame(path, partition, at, off, "the record changed after it was indexed");
    }
    size_t key_len = static_cast<unsigned char>(body[1]) |
                     (static_cast<size_t>(static_cast<unsigned char>(body[2])) << 8);
    if (kBodyPrefixBytes + key_len > len) {
      out->clear();
      return corrupt_frame(path, partition, at, off, "bad key length");
    }
    LogRecord rec;
    rec.partition = partition;
    rec.offset = off;
    rec.format = static_cast<RecordFormat>(body[0]);
    rec.key = std::string_view(body + kBodyPrefixBytes, key_len);
    rec.value = std::string_view(body + kBodyPrefixBytes + key_len, len - kBodyPrefixBytes - key_len);
    out->records.push_back(rec);
  }
  return Status::Ok();
}

Result<uint64_t> EmbeddedLog::end_offset(uint32_t partition) {
  if (partition >= parts_.size()) {
    return make_error(Code::kInvalidArgument, fmt::format("no partition {}", partition));
  }
  Partition& part = parts_[partition];
  if (part.fd < 0) {
    if (Status s = open_partition(partition); !s) return s.error();
  }
  if (!part.indexed) {
    auto tail = trusted_tail(partition);
    if (!tail) return tail.error();
    if (*tail) return (*tail)->count;
    part.indexed = true;  // no usable hint: index the partition (the full scan)
  }
  Scan scan;
  if (Status s = scan_tail(partition, &scan); !s) return s.error();
  return static_cast<uint64_t>(part.positions.size());
}

}  // namespace payledger::events
