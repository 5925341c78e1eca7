// A progress report for a loop over `total` items (images): on a terminal one line redrawn in
// place with "\r" at most 10 times a second,
//   train 3/20 [#########.....................]  31%  1234/4000  512.3 img/s  ETA 0:05  loss 0.532
// and otherwise (a log file, CI) a plain line each time another 10% is done, so logs stay short.
// finish() prints the total time and the average rate and ends the line.
#pragma once
#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>

namespace hemo::train {

class Progress {
 public:
  // out: where to write (std::cerr when null). tty: redraw in place (default: stderr is a TTY).
  Progress(std::string label, int64_t total, bool tty = stderr_is_tty(), std::ostream* out = nullptr);
  ~Progress();  // finishes the line if finish() was not called
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // done: items finished so far (0..total); extra: free text appended, e.g. "loss 0.532".
  void update(int64_t done, const std::string& extra = "");
  void finish(const std::string& extra = "");

  double elapsed_s() const;
  double items_per_s() const;  // done / elapsed (0 before any time has passed)
  static bool stderr_is_tty();
  // "M:SS" or "H:MM:SS"; "--:--" for a negative or non-finite time.
  static std::string format_duration(double seconds);

 private:
  std::string line(const std::string& extra) const;

  using Clock = std::chrono::steady_clock;
  std::string label_;
  int64_t total_, done_ = 0;
  bool tty_, finished_ = false, drawn_ = false;
  std::ostream* out_;
  Clock::time_point start_, last_draw_;
  int64_t last_decile_ = 0;
  size_t last_width_ = 0;
  std::string extra_;
};

}  // namespace hemo::train
