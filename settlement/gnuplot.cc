#include "settlement/gnuplot.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

extern char** environ;

namespace payledger::settlement {

Status run_gnuplot(const std::string& script) {
  const char* argv[] = {"gnuplot", script.c_str(), nullptr};
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, "gnuplot", nullptr, nullptr, const_cast<char* const*>(argv),
                        environ);
  if (rc != 0) {
    return make_error(Code::kIo,
                      fmt::format("cannot run gnuplot ({}): install it (Debian: apt-get install "
                                  "gnuplot-nox; scripts/install-deps) or drop --plot",
                                  std::strerror(rc)));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return make_error(Code::kIo, "waiting for gnuplot failed");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return make_error(Code::kIo,
                      fmt::format("gnuplot failed ({} {}) drawing the chart; see its message "
                                  "above",
                                  WIFEXITED(status) ? "exit" : "signal",
                                  WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status)));
  }
  return Status::Ok();
}

std::string gnuplot_string(const std::string& s) {
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("''") : std::string(1, ch);
  return out + "'";
}

Result<GnuplotWorkDir> GnuplotWorkDir::create(const std::string& prefix) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path dir = fs::temp_directory_path(ec);
  if (ec) dir = "/tmp";
  std::string pattern = (dir / (prefix + "-XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr) {
    return make_error(Code::kIo, fmt::format("cannot create a temporary directory in {}: {}",
                                             dir.string(), std::strerror(errno)));
  }
  return GnuplotWorkDir(std::move(pattern));
}

GnuplotWorkDir::~GnuplotWorkDir() {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace payledger::settlement
