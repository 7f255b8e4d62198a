// gnuplot as a subprocess, shared by the charts of `exposure` (tools/exposure_command.cc) and
// the rails comparison (settlement/transit.h). Lives here, not in tools/, because
// payledger_settlement draws its own chart and tools/ sits above settlement/ (never the
// reverse). Nothing here is settlement-specific.
#pragma once

#include <string>

#include "events/schema/result.h"

namespace payledger::settlement {

// Runs `gnuplot SCRIPT` (posix_spawnp: no shell), its output to stderr. kIo, saying what to
// install, when gnuplot is missing; kIo when it fails.
Status run_gnuplot(const std::string& script);

// A gnuplot single-quoted string literal ('' inside doubles a quote).
std::string gnuplot_string(const std::string& s);

// A fresh private directory under the temp dir for a chart's script and data, removed with
// everything in it when the object dies.
class GnuplotWorkDir {
 public:
  // kIo naming the temp directory if it cannot be created.
  static Result<GnuplotWorkDir> create(const std::string& prefix);
  GnuplotWorkDir(GnuplotWorkDir&& other) noexcept : path_(std::move(other.path_)) {
    other.path_.clear();
  }
  GnuplotWorkDir& operator=(GnuplotWorkDir&&) = delete;
  ~GnuplotWorkDir();
  const std::string& path() const { return path_; }

 private:
  explicit GnuplotWorkDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace payledger::settlement
