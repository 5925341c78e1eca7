#include "train/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <utility>

namespace hemo::train {

namespace {

std::string format_rate(double r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f img/s", r);
  return buf;
}

}  // namespace

Progress::Progress(std::string label, int64_t total, bool tty, std::ostream* out)
    : label_(std::move(label)),
      total_(total),
      tty_(tty),
      out_(out ? out : &std::cerr),
      start_(Clock::now()),
      last_draw_(start_) {}

Progress::~Progress() {
  if (!finished_ && drawn_) {
    try {
      finish();
    } catch (...) {
    }
  }
}

bool Progress::stderr_is_tty() { return isatty(fileno(stderr)) == 1; }

std::string Progress::format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const int64_t s = static_cast<int64_t>(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  return buf;
}

double Progress::elapsed_s() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

double Progress::items_per_s() const {
  const double t = elapsed_s();
  return t > 0 ? static_cast<double>(done_) / t : 0.0;
}

std::string Progress::line(const std::string& extra) const {
  const double rate = items_per_s();
  std::string s = label_;
  char buf[96];
  if (total_ > 0) {
    const double frac = std::clamp(static_cast<double>(done_) / static_cast<double>(total_), 0.0, 1.0);
    if (tty_) {
      constexpr int kWidth = 30;
      const int filled = static_cast<int>(frac * kWidth);
      s += " [" + std::string(static_cast<size_t>(filled), '#') + std::string(static_cast<size_t>(kWidth - filled), '.') +
           "]";
    }
    std::snprintf(buf, sizeof buf, " %3d%%  %lld/%lld", static_cast<int>(frac * 100), static_cast<long long>(done_),
                  static_cast<long long>(total_));
    s += buf;
  } else {
    std::snprintf(buf, sizeof buf, " %lld", static_cast<long long>(done_));
    s += buf;
  }
  s += "  " + format_rate(rate);
  if (total_ > 0 && done_ < total_)
    s += "  ETA " + format_duration(rate > 0 ? static_cast<double>(total_ - done_) / rate : -1.0);
  if (!extra.empty()) s += "  " + extra;
  return s;
}

void Progress::update(int64_t done, const std::string& extra) {
  done_ = done;
  extra_ = extra;
  const Clock::time_point now = Clock::now();
  if (tty_) {
    if (drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
    const std::string s = line(extra);
    // Pad with spaces so a shorter line fully covers the previous one.
    *out_ << '\r' << s << std::string(last_width_ > s.size() ? last_width_ - s.size() : 0, ' ') << std::flush;
    last_width_ = s.size();
  } else {
    if (total_ <= 0) return;
    const int64_t decile = std::min<int64_t>(done * 10 / total_, 10);
    if (decile <= last_decile_) return;
    last_decile_ = decile;
    *out_ << line(extra) << '\n' << std::flush;
  }
  drawn_ = true;
  last_draw_ = now;
}

void Progress::finish(const std::string& extra) {
  if (finished_) return;
  finished_ = true;
  const std::string tail = extra.empty() ? extra_ : extra;
  const std::string summary = label_ + " done: " + std::to_string(done_) + " in " + format_duration(elapsed_s()) +
                              ", " + format_rate(items_per_s()) + (tail.empty() ? "" : "  " + tail);
  if (tty_) {
    *out_ << '\r' << summary << std::string(last_width_ > summary.size() ? last_width_ - summary.size() : 0, ' ')
          << '\n'
          << std::flush;
  } else {
    *out_ << summary << '\n' << std::flush;
  }
}

}  // namespace hemo::train
