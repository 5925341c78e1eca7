#include "data/skip_log.h"

#include <iostream>

#include "core/error.h"

namespace hemo::data {

std::string skip_note(const Skipped& s) {
  const bool named = s.reason.rfind(s.path, 0) == 0;  // decoder messages start with the path
  return named ? cat("skipped ", s.reason) : cat("skipped ", s.path, ": ", s.reason);
}

SkipLog::SkipLog(std::ostream& out) : out_(out) {}
SkipLog::SkipLog() : SkipLog(std::cerr) {}

bool SkipLog::add(const Skipped& s) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!paths_.insert(s.path).second) return false;
  skipped_.push_back(s);
  out_ << skip_note(s) << "\n" << std::flush;
  return true;
}

void SkipLog::add_all(const std::vector<Skipped>& all) {
  for (const Skipped& s : all) add(s);
}

std::function<void(const Skipped&)> SkipLog::callback() {
  return [this](const Skipped& s) { add(s); };
}

size_t SkipLog::count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return skipped_.size();
}

std::vector<Skipped> SkipLog::skipped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return skipped_;
}

void SkipLog::report_total(std::string_view command) const {
  const size_t n = count();
  if (n == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  out_ << command << ": " << n << (n == 1 ? " file" : " files") << " skipped (named above)\n" << std::flush;
}

}  // namespace hemo::data
