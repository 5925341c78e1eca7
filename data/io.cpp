#include "data/io.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <system_error>

#include <unistd.h>

#include "core/error.h"

namespace hemo::data {
namespace fs = std::filesystem;

namespace {
struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;
}  // namespace

std::vector<uint8_t> read_file_bytes(const fs::path& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) throw Error(cat(path.string(), ": no such file"));
  if (fs::is_directory(st)) throw Error(cat(path.string(), ": is a directory, not an image file"));
  if (!fs::is_regular_file(st)) throw Error(cat(path.string(), ": not a regular file"));
  FilePtr f(std::fopen(path.c_str(), "rb"));
  if (!f) throw Error(cat(path.string(), ": cannot open (", std::strerror(errno), ")"));
  std::vector<uint8_t> bytes;
  // Read in chunks rather than trusting the size from stat: the file may change under us.
  const uintmax_t hint = fs::file_size(path, ec);
  if (!ec && hint < (uintmax_t{1} << 32)) bytes.reserve(static_cast<size_t>(hint));
  uint8_t chunk[1 << 16];
  for (;;) {
    const size_t got = std::fread(chunk, 1, sizeof chunk, f.get());
    bytes.insert(bytes.end(), chunk, chunk + got);
    if (got < sizeof chunk) break;
  }
  if (std::ferror(f.get())) throw Error(cat(path.string(), ": read error (", std::strerror(errno), ")"));
  return bytes;
}

void write_file_atomic(const fs::path& path, std::span<const uint8_t> bytes) {
  static std::atomic<uint64_t> counter{0};
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  if (ec) throw Error(cat(path.parent_path().string(), ": cannot create folder (", ec.message(), ")"));
  fs::path tmp = path;
  tmp += cat(".tmp", ::getpid(), "-", counter.fetch_add(1));
  {
    FilePtr f(std::fopen(tmp.c_str(), "wb"));
    if (!f) throw Error(cat(tmp.string(), ": cannot create (", std::strerror(errno), ")"));
    if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f.get()) != bytes.size()) {
      const std::string why = std::strerror(errno);
      f.reset();
      fs::remove(tmp, ec);
      throw Error(cat(path.string(), ": write failed (", why, ")"));
    }
    if (std::fflush(f.get()) != 0) {
      const std::string why = std::strerror(errno);
      f.reset();
      fs::remove(tmp, ec);
      throw Error(cat(path.string(), ": write failed (", why, ")"));
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignore;
    fs::remove(tmp, ignore);
    throw Error(cat(path.string(), ": cannot rename temporary file into place (", ec.message(), ")"));
  }
}

void write_file_atomic(const fs::path& path, std::string_view text) {
  write_file_atomic(path, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()),
                                                   text.size()));
}

}  // namespace hemo::data
