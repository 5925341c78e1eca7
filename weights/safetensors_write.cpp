// safetensors writer: entry checks, header layout, crash-safe save. Contract in safetensors.h.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "weights/safetensors.h"

namespace hemo::safetensors {

namespace {

[[noreturn]] void bad_entry(const std::string& name, const std::string& what) {
  throw Error("safetensors: cannot write tensor \"" + name + "\": " + what);
}

// numel x dtype size of a well-formed entry; throws on negative dims and overflow.
uint64_t expected_bytes(const Entry& e) {
  uint64_t n = 1;
  for (int64_t d : e.shape) {
    if (d < 0) bad_entry(e.name, "negative dimension " + std::to_string(d));
    if (__builtin_mul_overflow(n, static_cast<uint64_t>(d), &n)) bad_entry(e.name, "size overflows");
  }
  if (__builtin_mul_overflow(n, dtype_size(e.dtype), &n)) bad_entry(e.name, "size overflows");
  return n;
}

[[noreturn]] void io_fail(const std::string& path, const std::string& what, int err) {
  throw Error(path + ": " + what + ": " + std::strerror(err));
}

void write_all(int fd, const uint8_t* p, size_t n, const std::string& tmp) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      io_fail(tmp, "write failed", errno);
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void fsync_dir(const std::string& dir, const std::string& path) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) io_fail(path, "cannot open directory " + dir + " to fsync it", errno);
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    io_fail(path, "fsync of directory " + dir + " failed", err);
  }
  ::close(fd);
}

}  // namespace

template <class T>
Entry make_entry(std::string name, std::vector<int64_t> shape, const T* values) {
  Entry e{std::move(name), dtype_of<T>(), std::move(shape), {}};
  e.data.resize(expected_bytes(e));
  if (!e.data.empty()) std::memcpy(e.data.data(), values, e.data.size());
  return e;
}

#define HEMO_SAFETENSORS_MAKE_ENTRY(T) \
  template Entry make_entry<T>(std::string, std::vector<int64_t>, const T*);
HEMO_SAFETENSORS_MAKE_ENTRY(double)
HEMO_SAFETENSORS_MAKE_ENTRY(float)
HEMO_SAFETENSORS_MAKE_ENTRY(int64_t)
HEMO_SAFETENSORS_MAKE_ENTRY(int32_t)
HEMO_SAFETENSORS_MAKE_ENTRY(int16_t)
HEMO_SAFETENSORS_MAKE_ENTRY(int8_t)
HEMO_SAFETENSORS_MAKE_ENTRY(uint8_t)
HEMO_SAFETENSORS_MAKE_ENTRY(uint16_t)
HEMO_SAFETENSORS_MAKE_ENTRY(uint32_t)
HEMO_SAFETENSORS_MAKE_ENTRY(uint64_t)
#undef HEMO_SAFETENSORS_MAKE_ENTRY

std::vector<uint8_t> serialize(const std::vector<Entry>& tensors,
                               const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::set<std::string_view> names;
  uint64_t offset = 0;
  for (const Entry& e : tensors) {
    if (e.name.empty() || e.name == "__metadata__") bad_entry(e.name, "reserved or empty name");
    if (!names.insert(e.name).second) bad_entry(e.name, "duplicate name");
    const uint64_t n = expected_bytes(e);
    if (e.data.size() != n)
      bad_entry(e.name, "data has " + std::to_string(e.data.size()) + " bytes, shape x " +
                            std::string(dtype_name(e.dtype)) + " needs " + std::to_string(n));
    header[e.name] = {{"dtype", dtype_name(e.dtype)},
                      {"shape", e.shape},
                      {"data_offsets", {offset, offset + n}}};
    offset += n;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& ex) {  // invalid UTF-8 in a name or metadata
    throw Error(std::string("safetensors: cannot write the header: ") + ex.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  const uint64_t n = text.size();
  std::vector<uint8_t> out(8 + n);
  out.reserve(8 + n + offset);
  std::memcpy(out.data(), &n, 8);
  std::memcpy(out.data() + 8, text.data(), n);
  for (const Entry& e : tensors) out.insert(out.end(), e.data.begin(), e.data.end());
  return out;
}

void save(const std::string& path, const std::vector<Entry>& tensors,
          const std::map<std::string, std::string>& metadata) {
  const std::vector<uint8_t> bytes = serialize(tensors, metadata);  // throws before any I/O
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) io_fail(path, "cannot create temporary file " + tmp, errno);
  try {
    write_all(fd, bytes.data(), bytes.size(), tmp);
    if (::fsync(fd) != 0) io_fail(tmp, "fsync failed", errno);
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    io_fail(tmp, "close failed", err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    io_fail(path, "cannot rename " + tmp + " over it", err);
  }
  fsync_dir(dir, path);
}

}  // namespace hemo::safetensors
