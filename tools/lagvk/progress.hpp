#pragma once
// A one-line progress bar on stderr for long work (loading a model, encoding traces, running an
// evaluation). It redraws in place only on a terminal; anywhere else (a pipe, a log file, a test) it prints
// nothing, so the output that scripts and logs read stays clean. A command that prints lines while a bar is
// up calls clear() first, so that no line shares the bar's.
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <utility>

namespace lagvk::cli {

/// What a bar counts: bytes (shown in MB, the rate in MB/s) or items named by a plural noun ("logs").
struct ProgressUnit {
  std::string name;       ///< "MB", "logs", "tasks"
  double per_unit = 1.0;  ///< counted units per unit shown (1e6 bytes per MB)

  [[nodiscard]] static ProgressUnit bytes() { return {"MB", 1e6}; }
  [[nodiscard]] static ProgressUnit items(std::string plural) { return {std::move(plural), 1.0}; }
};

/// A bar's text, for example "loading m.gguf [######    ]  60% 30.0/50.0 MB, 10.0 MB/s, ETA 2s". The rate
/// and the ETA are left out until something has been done and some time has passed.
[[nodiscard]] std::string format_progress(const std::string& label, const ProgressUnit& unit,
                                          std::uint64_t done, std::uint64_t total, double elapsed_seconds);

/// A remaining time as people read it: "7s", "2m05s", "1h02m".
[[nodiscard]] std::string format_duration(double seconds);

/// Where a bar draws and how it tells the time (tests give a memory stream and a fake clock).
struct ProgressOutput {
  std::FILE* stream = stderr;
  bool terminal = false;            ///< whether to draw at all: only a terminal redraws a line in place
  std::function<double()> seconds;  ///< a monotonic clock, in seconds

  /// stderr, drawn when it is a terminal, with the steady clock.
  [[nodiscard]] static ProgressOutput standard_error();
};

class ProgressBar {
 public:
  ProgressBar(std::string label, ProgressUnit unit, ProgressOutput output = ProgressOutput::standard_error());
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  /// done out of total; redraws when the percentage changes, and at least twice a second for the rate.
  void update(std::uint64_t done, std::uint64_t total);
  /// Changes the text before the bar ("quantizing 3/40 tensors"); shown at the next redraw.
  void set_label(std::string label) { label_ = std::move(label); }
  /// Erases the bar's line, so that the next output starts on a clean line; the next update redraws it.
  void clear();
  /// Erases the bar for good (also done by the destructor).
  void finish();

 private:
  void draw(std::uint64_t done, std::uint64_t total, double now);

  std::string label_;
  ProgressUnit unit_;
  ProgressOutput output_;
  double started_ = 0.0;
  double last_drawn_ = 0.0;
  int last_percent_ = -1;
  bool on_screen_ = false;
  bool finished_ = false;
};

}  // namespace lagvk::cli
