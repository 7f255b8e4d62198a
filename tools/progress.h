// A terminal progress bar for long runs, drawn on stderr at most every 100 ms. Silent when
// disabled (not a terminal, --quiet or --json).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace payledger::tools {

class Progress {
 public:
  Progress(std::string label, bool enabled);
  void update(uint64_t done, uint64_t total);
  // Draws the final state and ends the line.
  void finish(uint64_t done, uint64_t total);

 private:
  void draw(uint64_t done, uint64_t total);
  std::string label_;
  bool enabled_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_;
};

// Whether stderr is a terminal.
bool stderr_is_tty();

// Events per second, as an integer (0 for an empty interval).
uint64_t per_second(uint64_t count, std::chrono::steady_clock::duration elapsed);

}  // namespace payledger::tools
