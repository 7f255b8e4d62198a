#include "events/durable_file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include <fmt/format.h>

namespace payledger::events {
namespace {

constexpr std::string_view kTempMarker = ".tmp-";

Error io_error(std::string_view what, const std::string& path) {
  return make_error(Code::kIo, fmt::format("{} {}: {}", what, path, std::strerror(errno)));
}

std::string temp_path(const std::string& dir, const std::string& name) {
  return fmt::format("{}/{}{}{}", dir, name, kTempMarker, ::getpid());
}

Status write_temp(const std::string& path, const std::string& content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("create", path);
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Error e = io_error("write", path);
      ::close(fd);
      return e;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    Error e = io_error("fsync", path);
    ::close(fd);
    return e;
  }
  if (::close(fd) != 0) return io_error("close", path);
  return Status::Ok();
}

}  // namespace

Status fsync_directory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("open directory", dir);
  int rc = ::fsync(fd);
  Error e = rc != 0 ? io_error("fsync directory", dir) : Error{};
  ::close(fd);
  if (rc != 0) return e;
  return Status::Ok();
}

Status create_directories_durably(const std::string& dir) {
  std::filesystem::path path = std::filesystem::absolute(dir).lexically_normal();
  if (path.has_filename() == false) path = path.parent_path();
  std::vector<std::filesystem::path> created;  // innermost first
  for (auto p = path; !p.empty() && !std::filesystem::exists(p); p = p.parent_path()) {
    created.push_back(p);
    if (p == p.parent_path()) break;
  }
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return make_error(Code::kIo, fmt::format("create {}: {}", dir, ec.message()));
  for (auto it = created.rbegin(); it != created.rend(); ++it) {
    if (Status s = fsync_directory(it->parent_path().string()); !s) return s;
  }
  return Status::Ok();
}

Status replace_file_durably(const std::string& dir, const std::string& name,
                            const std::string& content) {
  std::string tmp = temp_path(dir, name);
  std::string path = dir + "/" + name;
  if (Status s = write_temp(tmp, content); !s) return s;
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Error e = io_error("rename " + tmp + " to", path);
    ::unlink(tmp.c_str());
    return e;
  }
  return fsync_directory(dir);
}

Result<bool> create_file_once_durably(const std::string& dir, const std::string& name,
                                      const std::string& content) {
  std::string tmp = temp_path(dir, name);
  std::string path = dir + "/" + name;
  if (Status s = write_temp(tmp, content); !s) return s.error();
  bool created = ::link(tmp.c_str(), path.c_str()) == 0;
  int link_errno = errno;
  ::unlink(tmp.c_str());
  if (!created && link_errno != EEXIST) {
    errno = link_errno;
    return io_error("link " + tmp + " to", path);
  }
  if (Status s = fsync_directory(dir); !s) return s.error();
  return created;
}

void remove_stale_temp_files(const std::string& dir) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    size_t at = name.rfind(kTempMarker);
    if (at == std::string::npos) continue;
    std::string pid_text = name.substr(at + kTempMarker.size());
    if (pid_text.empty() || pid_text.find_first_not_of("0123456789") != std::string::npos ||
        pid_text.size() > 9) {
      continue;
    }
    pid_t pid = static_cast<pid_t>(std::stol(pid_text));
    // A live process may be writing it right now; a dead one never finishes it.
    if (pid != ::getpid() && ::kill(pid, 0) != 0 && errno == ESRCH) {
      std::filesystem::remove(entry.path(), ec);
    }
  }
}

}  // namespace payledger::events
