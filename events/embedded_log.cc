#include "events/embedded_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

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
  put_u32(out, static_cast<uint32_t>(body.size()));
  put_u32(out, crc_of(body.data(), body.size()));
  out.append(body);
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
    if (got == 0) return make_error(Code::kCorrupt, fmt::format("short read in {}", path));
    done += static_cast<size_t>(got);
  }
  return Status::Ok();
}

std::string partition_path(const std::string& dir, uint32_t index) {
  return fmt::format("{}/p-{:04}.log", dir, index);
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
  }
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

Result<std::unique_ptr<EmbeddedLog>> EmbeddedLog::open(const std::string& dir,
                                                       const EmbeddedLogOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error(Code::kIo, fmt::format("create {}: {}", dir, ec.message()));
  std::unique_ptr<EmbeddedLog> log(new EmbeddedLog(dir, options));
  if (options.writer) {
    std::string lock_path = dir + "/LOCK";
    log->lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (log->lock_fd_ < 0) return io_error("open", lock_path);
    if (::flock(log->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      return make_error(Code::kIo, fmt::format("event log {} is locked by another writer", dir));
    }
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
    std::ofstream out(meta_path);
    out << count << "\n";
    if (!out.flush()) return io_error("write", meta_path);
  }
  log->parts_.resize(count);
  for (uint32_t i = 0; i < count; ++i) {
    if (Status s = log->open_partition(i); !s) return s.error();
  }
  return log;
}

Status EmbeddedLog::open_partition(uint32_t index) {
  std::string path = partition_path(dir_, index);
  int flags = options_.writer ? (O_RDWR | O_CREAT | O_APPEND) : O_RDONLY;
  Partition& part = parts_[index];
  part.fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
  if (part.fd < 0) {
    if (!options_.writer && errno == ENOENT) return Status::Ok();  // empty partition
    return io_error("open", path);
  }
  if (Status s = scan_tail(part); !s) return s;
  if (options_.writer) {
    struct stat st {};
    if (::fstat(part.fd, &st) != 0) return io_error("stat", path);
    uint64_t size = static_cast<uint64_t>(st.st_size);
    if (size > part.end) {
      // Only the last frame may be cut short by a crash mid-append; a bad frame with whole
      // frames after it is corruption, and truncating would lose the records behind it.
      char header[kHeaderBytes];
      bool torn = size - part.end < kHeaderBytes;
      if (!torn) {
        if (Status s = pread_all(part.fd, header, kHeaderBytes, part.end, path); !s) return s;
        torn = part.end + kHeaderBytes + get_u32(header) >= size;
      }
      if (!torn) {
        return make_error(Code::kCorrupt,
                          fmt::format("{}: bad record at byte {} followed by more data; "
                                      "refusing to truncate",
                                      path, part.end));
      }
      if (::ftruncate(part.fd, static_cast<off_t>(part.end)) != 0) return io_error("truncate", path);
    }
  }
  return Status::Ok();
}

Status EmbeddedLog::scan_tail(Partition& part) {
  if (part.fd < 0) return Status::Ok();
  std::string chunk;
  for (;;) {
    chunk.resize(kScanChunkBytes);
    ssize_t got = ::pread(part.fd, chunk.data(), chunk.size(), static_cast<off_t>(part.end));
    if (got < 0) return make_error(Code::kIo, fmt::format("read log: {}", std::strerror(errno)));
    size_t n = static_cast<size_t>(got);
    size_t pos = 0;
    while (pos + kHeaderBytes <= n) {
      uint32_t len = get_u32(chunk.data() + pos);
      if (len < kBodyPrefixBytes || len > kRecordBodyMax) return Status::Ok();  // torn or corrupt
      if (pos + kHeaderBytes + len > n) break;  // record continues in the next chunk
      uint32_t crc = get_u32(chunk.data() + pos + 4);
      if (crc != crc_of(chunk.data() + pos + kHeaderBytes, len)) return Status::Ok();
      part.positions.push_back(part.end);
      part.end += kHeaderBytes + len;
      pos += kHeaderBytes + len;
    }
    if (pos == 0) return Status::Ok();  // nothing whole left (end of file or torn tail)
  }
}

Status EmbeddedLog::append(std::span<const AppendRecord> records) {
  if (!options_.writer) return make_error(Code::kInvalidArgument, "log opened read-only");
  std::vector<std::string> frames(parts_.size());
  std::vector<std::vector<uint64_t>> sizes(parts_.size());
  for (const AppendRecord& r : records) {
    if (r.key.size() > 0xffff || r.value.size() + r.key.size() + kBodyPrefixBytes > kRecordBodyMax) {
      return make_error(Code::kInvalidArgument, "record too large for the embedded log");
    }
    uint32_t p = partition_for_key(r.key, partition_count());
    size_t before = frames[p].size();
    append_frame(frames[p], r);
    sizes[p].push_back(frames[p].size() - before);
  }
  for (uint32_t p = 0; p < parts_.size(); ++p) {
    if (frames[p].empty()) continue;
    Partition& part = parts_[p];
    std::string path = partition_path(dir_, p);
    if (Status s = write_all(part.fd, frames[p], path); !s) {
      (void)::ftruncate(part.fd, static_cast<off_t>(part.end));  // drop the partial batch
      return s;
    }
    if (options_.sync && ::fdatasync(part.fd) != 0) return io_error("fdatasync", path);
    for (uint64_t size : sizes[p]) {
      part.positions.push_back(part.end);
      part.end += size;
    }
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
  if (from_offset >= part.positions.size()) {
    if (Status s = scan_tail(part); !s) return s;
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
  char* base = out->reserve(end - first);
  if (Status s = pread_all(part.fd, base, end - first, first, partition_path(dir_, partition));
      !s) {
    return s;
  }
  out->records.reserve(last - from_offset);
  for (uint64_t off = from_offset; off < last; ++off) {
    const char* p = base + (part.positions[off] - first);
    uint32_t len = get_u32(p);
    const char* body = p + kHeaderBytes;
    size_t key_len = static_cast<unsigned char>(body[1]) |
                     (static_cast<size_t>(static_cast<unsigned char>(body[2])) << 8);
    if (kBodyPrefixBytes + key_len > len) {
      return make_error(Code::kCorrupt, fmt::format("record {}/{} has a bad key length",
                                                    partition, off));
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
  if (Status s = scan_tail(part); !s) return s.error();
  return static_cast<uint64_t>(part.positions.size());
}

}  // namespace payledger::events
