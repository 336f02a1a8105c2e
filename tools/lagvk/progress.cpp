#include "tools/lagvk/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>

namespace lagvk::cli {

namespace {

// "\r" returns to the line's start; ESC [ K erases to its end (a shorter line leaves nothing behind).
constexpr const char* kEraseLine = "\r\033[K";
constexpr int kBarWidth = 24;
constexpr double kRedrawSeconds = 0.5;

/// "30.0" for megabytes, "3" for items.
std::string amount(const ProgressUnit& unit, double value) {
  return unit.per_unit == 1.0 ? fmt::format("{:.0f}", value) : fmt::format("{:.1f}", value / unit.per_unit);
}

}  // namespace

std::string format_duration(double seconds) {
  const auto s = std::int64_t(std::ceil(std::max(seconds, 0.0)));
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, s % 3600 / 60);
}

std::string format_progress(const std::string& label, const ProgressUnit& unit, std::uint64_t done,
                            std::uint64_t total, double elapsed_seconds) {
  done = std::min(done, total);
  const int percent = total == 0 ? 100 : int(done * 100 / total);
  const int filled = percent * kBarWidth / 100;
  std::string text = fmt::format("{} [{}{}] {:3}% {}/{} {}", label, std::string(std::size_t(filled), '#'),
                                 std::string(std::size_t(kBarWidth - filled), ' '), percent,
                                 amount(unit, double(done)), amount(unit, double(total)), unit.name);
  if (done == 0 || elapsed_seconds <= 0.0) return text;
  const double per_second = double(done) / elapsed_seconds;
  text += fmt::format(", {:.1f} {}/s", per_second / unit.per_unit, unit.name);
  if (done < total) text += ", ETA " + format_duration(double(total - done) / per_second);
  return text;
}

ProgressOutput ProgressOutput::standard_error() {
  return {stderr, isatty(STDERR_FILENO) != 0, [] {
            return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
          }};
}

ProgressBar::ProgressBar(std::string label, ProgressUnit unit, ProgressOutput output)
    : label_(std::move(label)), unit_(std::move(unit)), output_(std::move(output)) {
  if (output_.terminal) started_ = output_.seconds();
}

ProgressBar::~ProgressBar() {
  finish();
}

void ProgressBar::update(std::uint64_t done, std::uint64_t total) {
  if (!output_.terminal || finished_ || total == 0) return;
  const double now = output_.seconds();
  const int percent = int(std::min(done, total) * 100 / total);
  if (on_screen_ && percent == last_percent_ && now - last_drawn_ < kRedrawSeconds) return;
  last_percent_ = percent;
  draw(done, total, now);
}

void ProgressBar::draw(std::uint64_t done, std::uint64_t total, double now) {
  const std::string text = format_progress(label_, unit_, done, total, now - started_);
  std::fprintf(output_.stream, "%s%s", kEraseLine, text.c_str());
  std::fflush(output_.stream);
  last_drawn_ = now;
  on_screen_ = true;
}

void ProgressBar::clear() {
  if (!on_screen_) return;
  std::fputs(kEraseLine, output_.stream);
  std::fflush(output_.stream);
  on_screen_ = false;
}

void ProgressBar::finish() {
  clear();
  finished_ = true;
}

}  // namespace lagvk::cli
