// Checked file output: every open, write, fsync, close and rename is checked, and a failure throws
// hemo::Error naming the file and the system's reason, e.g.
//   "runs/x/epochs.csv: write failed: No space left on device"
// A full disk, an exceeded quota, a read-only or vanished directory is never silently ignored and
// never a crash. (std::ofstream reports none of these by itself: its buffer hides a failed write
// until a flush nobody checks, and its state carries no reason.)
//
// OutputFile      an open file descriptor (truncate or append). write() writes all the bytes at
//                 once (looping over short writes and EINTR), so an error shows at the write that
//                 caused it; close() is checked (some filesystems report ENOSPC only there); the
//                 destructor closes without checking, for the path where an error already flies.
// write_file_atomically(path, bytes)
//                 writes "<path>.tmp.<pid>", fsyncs and closes it, then renames it over `path`: a
//                 reader (or a crash) sees the old file or the new one, never half of one. On any
//                 failure the temporary file is removed and `path` is left exactly as it was.
#pragma once
#include <string>
#include <string_view>

namespace hemo {

class OutputFile {
 public:
  enum class Mode { truncate, append };
  // Creates the file if needed (mode 0644); throws hemo::Error naming `path` if it cannot.
  OutputFile(std::string path, Mode mode);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  void write(std::string_view bytes);
  void sync();   // fsync
  void close();  // checked; further writes are an error
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

void write_file_atomically(const std::string& path, std::string_view bytes);

}  // namespace hemo
