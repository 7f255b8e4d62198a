#include "tools/progress.h"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

namespace payledger::tools {

namespace {
constexpr int kBarWidth = 30;
constexpr auto kRedrawInterval = std::chrono::milliseconds(100);
}  // namespace

bool stderr_is_tty() { return ::isatty(STDERR_FILENO) == 1; }

uint64_t per_second(uint64_t count, std::chrono::steady_clock::duration elapsed) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count();
  return us <= 0 ? 0 : count * 1'000'000ull / static_cast<uint64_t>(us);
}

Progress::Progress(std::string label, bool enabled)
    : label_(std::move(label)),
      enabled_(enabled),
      start_(std::chrono::steady_clock::now()),
      last_(start_ - kRedrawInterval) {}

void Progress::update(uint64_t done, uint64_t total) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_ < kRedrawInterval) return;
  last_ = now;
  draw(done, total);
}

void Progress::finish(uint64_t done, uint64_t total) {
  if (!enabled_) return;
  draw(done, total);
  std::fputc('\n', stderr);
}

void Progress::draw(uint64_t done, uint64_t total) {
  uint64_t permille = total == 0 ? 1000 : std::min<uint64_t>(1000, done * 1000 / total);
  int filled = static_cast<int>(permille * kBarWidth / 1000);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(kBarWidth - filled), '.');
  uint64_t rate = per_second(done, std::chrono::steady_clock::now() - start_);
  fmt::print(stderr, "\r  {:<10} [{}] {:>3}.{}%  {}/{} events  {} ev/s   ", label_, bar,
             permille / 10, permille % 10, done, total, rate);
  std::fflush(stderr);
}

}  // namespace payledger::tools
