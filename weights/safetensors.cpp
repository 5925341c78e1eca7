// safetensors reader: dtype tables, header validation, typed access. The contract (format and
// every rule checked) is in safetensors.h; the writer is in safetensors_write.cpp.
#include "weights/safetensors.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

namespace hemo::safetensors {

static_assert(std::endian::native == std::endian::little,
              "hemo's safetensors code assumes a little-endian host");

namespace {

struct DTypeRow {
  DType dtype;
  std::string_view name;
  size_t size;
};
constexpr DTypeRow kDTypes[] = {
    {DType::F64, "F64", 8}, {DType::F32, "F32", 4}, {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2}, {DType::I64, "I64", 8}, {DType::I32, "I32", 4},
    {DType::I16, "I16", 2}, {DType::I8, "I8", 1},   {DType::U8, "U8", 1},
    {DType::BOOL, "BOOL", 1}, {DType::U16, "U16", 2}, {DType::U32, "U32", 4},
    {DType::U64, "U64", 8},
};

const DTypeRow& row(DType d) {
  for (const auto& r : kDTypes)
    if (r.dtype == d) return r;
  throw Error("safetensors: invalid DType value");
}

constexpr uint64_t kMaxHeader = 100'000'000;  // the reference's MAX_HEADER_SIZE

// Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF), as Rust's from_utf8.
// Returns the offset of the first bad byte, or npos.
size_t first_invalid_utf8(const uint8_t* s, size_t n) {
  size_t i = 0;
  while (i < n) {
    const uint8_t c = s[i];
    size_t len;
    uint32_t cp, min;
    if (c < 0x80) { ++i; continue; }
    if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; min = 0x80; }
    else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; min = 0x800; }
    else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; min = 0x10000; }
    else return i;
    if (n - i < len) return i;
    for (size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::string::npos;
}

// Builds "<origin>: <what>" FormatErrors.
struct Fail {
  const std::string& origin;
  [[noreturn]] void operator()(const std::string& what) const {
    throw FormatError(origin + ": invalid safetensors file: " + what);
  }
};

using nlohmann::json;

// Parses the header, rejecting a key repeated inside any one JSON object (nlohmann would keep
// the last silently). The parser callback sees every key with the depth of its object.
json parse_header_json(const char* begin, const char* end, const Fail& fail) {
  std::vector<std::set<std::string>> keys;  // one set per open object
  std::string duplicate;
  auto cb = [&](int, json::parse_event_t ev, json& value) {
    if (ev == json::parse_event_t::object_start) keys.emplace_back();
    else if (ev == json::parse_event_t::object_end && !keys.empty()) keys.pop_back();
    else if (ev == json::parse_event_t::key && !keys.empty() &&
             !keys.back().insert(value.get<std::string>()).second && duplicate.empty())
      duplicate = value.get<std::string>();
    return true;
  };
  json j;
  try {
    j = json::parse(begin, end, cb, /*allow_exceptions=*/true);
  } catch (const json::exception& e) {
    fail(std::string("header is not valid JSON (") + e.what() + ")");
  }
  if (!duplicate.empty()) fail("duplicate key \"" + duplicate + "\" in the header JSON");
  if (!j.is_object()) fail("header JSON is not an object");
  return j;
}

uint64_t read_u64(const json& v, const std::string& what, const Fail& fail) {
  if (v.is_number_integer() && !v.is_number_unsigned()) fail(what + " is negative");
  if (!v.is_number_unsigned()) fail(what + " must be a non-negative integer");
  return v.get<uint64_t>();
}

TensorInfo parse_entry(const std::string& name, const json& e, const Fail& fail) {
  const std::string t = "tensor \"" + name + "\": ";
  if (!e.is_object()) fail(t + "entry is not an object");
  for (const char* field : {"dtype", "shape", "data_offsets"})
    if (!e.contains(field)) fail(t + "missing field \"" + field + "\"");
  TensorInfo info;
  info.name = name;
  const json& dt = e.at("dtype");
  if (!dt.is_string()) fail(t + "\"dtype\" must be a string");
  if (!parse_dtype(dt.get<std::string>(), &info.dtype))
    fail(t + "unknown dtype \"" + dt.get<std::string>() + "\"");
  const json& shape = e.at("shape");
  if (!shape.is_array()) fail(t + "\"shape\" must be an array of non-negative integers");
  uint64_t numel = 1;  // folded left with overflow checks, like the reference
  for (size_t i = 0; i < shape.size(); ++i) {
    const uint64_t d = read_u64(shape[i], t + "shape[" + std::to_string(i) + "]", fail);
    if (d > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      fail(t + "shape[" + std::to_string(i) + "] overflows int64");
    if (__builtin_mul_overflow(numel, d, &numel)) fail(t + "element count overflows 64 bits");
    info.shape.push_back(static_cast<int64_t>(d));
  }
  uint64_t nbytes = 0;
  if (__builtin_mul_overflow(numel, dtype_size(info.dtype), &nbytes))
    fail(t + "element count x dtype size overflows 64 bits");
  const json& off = e.at("data_offsets");
  if (!off.is_array() || off.size() != 2)
    fail(t + "\"data_offsets\" must be an array of two non-negative integers");
  info.begin = read_u64(off[0], t + "data_offsets[0]", fail);
  info.end = read_u64(off[1], t + "data_offsets[1]", fail);
  if (info.begin > info.end)
    fail(t + "data_offsets begin > end (" + std::to_string(info.begin) + " > " +
         std::to_string(info.end) + ")");
  if (info.end - info.begin != nbytes)
    fail(t + "shape x dtype size is " + std::to_string(nbytes) + " bytes but data_offsets span " +
         std::to_string(info.end - info.begin));
  return info;
}

std::map<std::string, std::string> parse_metadata(const json& m, const Fail& fail) {
  std::map<std::string, std::string> out;
  if (m.is_null()) return out;
  if (!m.is_object()) fail("\"__metadata__\" is not an object of string values");
  for (const auto& [k, v] : m.items()) {
    if (!v.is_string()) fail("\"__metadata__\" value of \"" + k + "\" is not a string");
    out.emplace(k, v.get<std::string>());
  }
  return out;
}

}  // namespace

size_t dtype_size(DType d) { return row(d).size; }
std::string_view dtype_name(DType d) { return row(d).name; }

bool parse_dtype(std::string_view name, DType* out) {
  for (const auto& r : kDTypes)
    if (r.name == name) {
      *out = r.dtype;
      return true;
    }
  return false;
}


int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

File File::parse(std::vector<uint8_t> bytes, const std::string& origin) {
  const Fail fail{origin};
  const size_t size = bytes.size();
  if (size < 8)
    fail("file is " + std::to_string(size) + " bytes, shorter than the 8-byte header length");
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  if (n > kMaxHeader)
    fail("header length " + std::to_string(n) + " exceeds the limit of " +
         std::to_string(kMaxHeader) + " bytes");
  if (n > size - 8)
    fail("header length " + std::to_string(n) + " runs past the end of the file (" +
         std::to_string(size) + " bytes)");
  const auto* h = bytes.data() + 8;
  if (size_t bad = first_invalid_utf8(h, n); bad != std::string::npos)
    fail("header is not valid UTF-8 (bad byte at header offset " + std::to_string(bad) + ")");
  const json j = parse_header_json(reinterpret_cast<const char*>(h),
                                   reinterpret_cast<const char*>(h + n), fail);
  File f;
  f.origin_ = origin;
  for (const auto& [key, value] : j.items()) {
    if (key == "__metadata__") f.metadata_ = parse_metadata(value, fail);
    else f.tensors_.push_back(parse_entry(key, value, fail));
  }
  std::sort(f.tensors_.begin(), f.tensors_.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  uint64_t expected = 0;
  for (const auto& t : f.tensors_) {
    if (t.begin != expected)
      fail("tensor \"" + t.name + "\": data_offsets begin at " + std::to_string(t.begin) +
           ", expected " + std::to_string(expected) +
           " (tensors must be contiguous from 0: no gap, no overlap)");
    expected = t.end;
  }
  const uint64_t data_len = size - 8 - n;
  if (data_len != expected)
    fail("data section is " + std::to_string(data_len) + " bytes but the tensors end at " +
         std::to_string(expected) + (data_len > expected ? " (trailing bytes)" : " (missing bytes)"));
  for (size_t i = 0; i < f.tensors_.size(); ++i) f.index_.emplace(f.tensors_[i].name, i);
  f.data_start_ = 8 + n;
  f.bytes_ = std::move(bytes);
  return f;
}

File File::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open for reading: " + std::strerror(errno));
  in.seekg(0, std::ios::end);
  const std::streamoff len = in.tellg();
  in.seekg(0, std::ios::beg);
  if (len < 0) throw Error(path + ": cannot determine the file size");
  std::vector<uint8_t> bytes(static_cast<size_t>(len));
  if (!in.read(reinterpret_cast<char*>(bytes.data()), len))
    throw Error(path + ": read failed: " + std::strerror(errno));
  return parse(std::move(bytes), path);
}

const TensorInfo& File::info(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end())
    throw Error(origin_ + ": no tensor named \"" + name + "\" in this file");
  return tensors_[it->second];
}

std::span<const uint8_t> File::bytes(const std::string& name) const {
  const TensorInfo& t = info(name);
  return {bytes_.data() + data_start_ + t.begin, static_cast<size_t>(t.end - t.begin)};
}

template <class T>
std::vector<T> File::values(const std::string& name) const {
  const TensorInfo& t = info(name);
  const DType want = dtype_of<T>();
  const bool ok = t.dtype == want || (want == DType::U8 && t.dtype == DType::BOOL);
  if (!ok)
    throw Error(origin_ + ": tensor \"" + name + "\" has dtype " +
                                std::string(dtype_name(t.dtype)) + ", asked for " +
                                std::string(dtype_name(want)));
  const auto b = bytes(name);
  std::vector<T> out(b.size() / sizeof(T));
  if (!b.empty()) std::memcpy(out.data(), b.data(), b.size());
  return out;
}

#define HEMO_SAFETENSORS_VALUES(T) template std::vector<T> File::values<T>(const std::string&) const;
HEMO_SAFETENSORS_VALUES(double)
HEMO_SAFETENSORS_VALUES(float)
HEMO_SAFETENSORS_VALUES(int64_t)
HEMO_SAFETENSORS_VALUES(int32_t)
HEMO_SAFETENSORS_VALUES(int16_t)
HEMO_SAFETENSORS_VALUES(int8_t)
HEMO_SAFETENSORS_VALUES(uint8_t)
HEMO_SAFETENSORS_VALUES(uint16_t)
HEMO_SAFETENSORS_VALUES(uint32_t)
HEMO_SAFETENSORS_VALUES(uint64_t)
#undef HEMO_SAFETENSORS_VALUES

}  // namespace hemo::safetensors
