// SkipLog: the files a command leaves out (undecodable images found by a scan or by the loader,
// second paths to a file already used), each named once, all on one stream (stderr by default),
// in the order met, then one line with their number at the end.
//
//   SkipLog skips;                       // std::cerr
//   skips.add_all(folder.skipped);       // "skipped data/b/x.jpg: truncated or corrupt JPEG data (...)"
//   opts.on_skip = skips.callback();     // the loader's skips (loader.h), the same way
//   ...
//   skips.report_total("hemo eval");     // "hemo eval: 2 files skipped (named above)"; nothing when none
//
// A file met again (the same path: in every epoch, by every model of an ensemble) is not named
// again nor counted twice. Thread-safe. The log must outlive the callbacks handed out.
#pragma once
#include <cstddef>
#include <functional>
#include <iosfwd>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "data/image_folder.h"

namespace hemo::data {

// "skipped PATH: REASON", or "skipped REASON" when the reason starts with the path already.
std::string skip_note(const Skipped& s);

class SkipLog {
 public:
  explicit SkipLog(std::ostream& out);
  SkipLog();  // std::cerr
  SkipLog(const SkipLog&) = delete;
  SkipLog& operator=(const SkipLog&) = delete;

  // Names `s` on the stream unless its path was met before. Returns whether it was new.
  bool add(const Skipped& s);
  void add_all(const std::vector<Skipped>& all);
  std::function<void(const Skipped&)> callback();

  size_t count() const;
  std::vector<Skipped> skipped() const;  // in the order met
  // "COMMAND: N file(s) skipped (named above)" when any was; nothing otherwise.
  void report_total(std::string_view command) const;

 private:
  std::ostream& out_;
  mutable std::mutex mu_;
  std::set<std::string> paths_;
  std::vector<Skipped> skipped_;
};

}  // namespace hemo::data
