#include "core/output_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/error.h"

namespace hemo {

namespace {

[[noreturn]] void fail(const std::string& path, const char* what, int err) {
  throw Error(cat(path, ": ", what, ": ", std::strerror(err)));
}

}  // namespace

OutputFile::OutputFile(std::string path, Mode mode) : path_(std::move(path)) {
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (mode == Mode::append ? O_APPEND : O_TRUNC);
  do {
    fd_ = ::open(path_.c_str(), flags, 0644);
  } while (fd_ < 0 && errno == EINTR);
  if (fd_ < 0) fail(path_, "cannot open for writing", errno);
}

OutputFile::~OutputFile() {
  if (fd_ >= 0) ::close(fd_);
}

void OutputFile::write(std::string_view bytes) {
  if (fd_ < 0) fail(path_, "write after close", EBADF);
  const char* p = bytes.data();
  size_t n = bytes.size();
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail(path_, "write failed", errno);
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void OutputFile::sync() {
  if (fd_ >= 0 && ::fsync(fd_) != 0) fail(path_, "fsync failed", errno);
}

void OutputFile::close() {
  if (fd_ < 0) return;
  const int fd = fd_;
  fd_ = -1;
  // Linux releases the descriptor even when close fails; retrying could close someone else's.
  if (::close(fd) != 0 && errno != EINTR) fail(path_, "close failed", errno);
}

void write_file_atomically(const std::string& path, std::string_view bytes) {
  const std::string tmp = cat(path, ".tmp.", ::getpid());
  try {
    OutputFile f(tmp, OutputFile::Mode::truncate);
    f.write(bytes);
    f.sync();
    f.close();
  } catch (const Error& e) {
    ::unlink(tmp.c_str());
    throw Error(cat("cannot write ", path, ": ", e.what(), " (", path, " is left as it was)"));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    fail(path, cat("cannot rename ", tmp, " over it").c_str(), err);
  }
}

}  // namespace hemo
