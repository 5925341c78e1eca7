// safetensors: the one weight and checkpoint file format of hemo (reader and writer).
//
// Format (Hugging Face safetensors, https://github.com/huggingface/safetensors):
//   bytes [0, 8)        N, the header length, an unsigned 64-bit little-endian integer
//   bytes [8, 8+N)      the header: UTF-8 JSON object, possibly padded at the end with spaces
//                         { "__metadata__": {"key": "value", ...},            (optional)
//                           "<tensor name>": {"dtype": "F32", "shape": [2, 3],
//                                             "data_offsets": [begin, end]}, ... }
//   bytes [8+N, EOF)    the data section; a tensor's bytes are [8+N+begin, 8+N+end),
//                       row-major ("C" order), little-endian, no padding between tensors.
//
// Reading (File::parse / File::load) validates everything the reference implementation (the
// Rust crate's SafeTensors::read_metadata and Metadata::validate) validates, and a little more.
// Every violation throws FormatError; its message starts with the origin (file path) and names
// the rule broken (the quoted keyword is stable and tested):
//   - the file is shorter than the 8-byte length prefix                         "shorter"
//   - N > 100,000,000 (the reference's limit)                                    "limit"
//   - 8 + N runs past the end of the file                                        "past the end"
//   - the header is not valid UTF-8                                              "UTF-8"
//   - the header is not valid JSON                                               "JSON"
//   - the header is not a JSON object, or a tensor entry is not an object        "not an object"
//   - a key appears twice in any JSON object of the header                       "duplicate"
//   - a tensor entry lacks dtype, shape or data_offsets                          "missing"
//   - a field has the wrong JSON type (dtype not a string, shape not an array of
//     integers, data_offsets not an array of exactly two non-negative integers)   "must be"
//   - the dtype is not one of DType's names                                      "unknown dtype"
//   - a shape dimension is negative                                              "negative"
//   - the element count, or count x dtype size, overflows 64 bits (or a dim > INT64_MAX)
//                                                                                "overflow"
//   - data_offsets with begin > end                                              "begin > end"
//   - offsets, sorted by begin, are not contiguous from 0 (a gap or an overlap)  "contiguous"
//   - shape x dtype size != end - begin                                          "span"
//   - the data section length != the last tensor's end (trailing/missing bytes)  "data section"
//   - "__metadata__" is not an object of string values (null is accepted as {}) "__metadata__"
// Unknown extra fields inside a tensor entry are ignored, as the reference does.
// Every error is a hemo::Error (core/error.h), the framework's one exception type; FormatError
// is the kind a malformed file gives. Lookups of absent tensors (info, bytes, values) throw naming
// the origin and the tensor; values<T>() with a T that does not match the dtype throws naming
// both dtypes. I/O failures (load, save) throw with the path and the errno text.
//
// Writing (serialize / save): the header is compact JSON with "__metadata__" first when the map
// is non-empty, then the tensors in the given order, laid out contiguously in that order; the
// header is padded with spaces to a multiple of 8 bytes, so the data section starts 8-aligned,
// as the reference does. Entries are checked first (hemo::Error): a name that is empty
// or "__metadata__" or repeated, a negative dim, or data.size() != numel x dtype size.
// save() is crash-safe: it writes "<path>.tmp.<pid>" in the same directory, fsyncs it, renames
// it over path and fsyncs the directory; on any error the temporary file is removed and the
// previous file at path is left untouched.
//
// Byte order: hemo targets little-endian hosts only (static_assert in the .cpp); values are
// copied, never reinterpreted in place, so unaligned data sections are fine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "core/error.h"

namespace hemo::safetensors {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, U16, U32, U64 };

size_t dtype_size(DType);            // bytes per element
std::string_view dtype_name(DType);  // "F32", ... as in the format
bool parse_dtype(std::string_view name, DType* out);  // false when name is not a known dtype

// The native C++ type of a dtype, for values<T>() and make_entry<T>(): float F32, double F64,
// int8_t I8, int16_t I16, int32_t I32, int64_t I64, uint8_t U8, uint16_t U16, uint32_t U32,
// uint64_t U64. values<uint8_t>() also reads BOOL (bytes 0/1). F16 and BF16 have no native type:
// read them with bytes(), write them by filling Entry::data directly.
template <class T>
constexpr DType dtype_of() {
  if constexpr (std::is_same_v<T, double>) return DType::F64;
  else if constexpr (std::is_same_v<T, float>) return DType::F32;
  else if constexpr (std::is_same_v<T, int64_t>) return DType::I64;
  else if constexpr (std::is_same_v<T, int32_t>) return DType::I32;
  else if constexpr (std::is_same_v<T, int16_t>) return DType::I16;
  else if constexpr (std::is_same_v<T, int8_t>) return DType::I8;
  else if constexpr (std::is_same_v<T, uint8_t>) return DType::U8;
  else if constexpr (std::is_same_v<T, uint16_t>) return DType::U16;
  else if constexpr (std::is_same_v<T, uint32_t>) return DType::U32;
  else if constexpr (std::is_same_v<T, uint64_t>) return DType::U64;
  else static_assert(sizeof(T) == 0, "no safetensors dtype for this C++ type");
}

// A file that breaks a rule of the format (the list above).
struct FormatError : Error {
  using Error::Error;
};

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;  // [] is a scalar (1 element); a 0 dim makes an empty tensor
  uint64_t begin = 0, end = 0;  // byte offsets inside the data section
  int64_t numel() const;
};

class File {
 public:
  static File load(const std::string& path);                                 // reads the whole file
  static File parse(std::vector<uint8_t> bytes, const std::string& origin);  // origin used in messages

  const std::string& origin() const { return origin_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }  // sorted by data offset
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  const TensorInfo& info(const std::string& name) const;
  std::span<const uint8_t> bytes(const std::string& name) const;
  template <class T>
  std::vector<T> values(const std::string& name) const;

 private:
  std::string origin_;
  std::vector<uint8_t> bytes_;  // the whole file
  size_t data_start_ = 0;       // 8 + N
  std::map<std::string, std::string> metadata_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, size_t> index_;  // name -> position in tensors_
};

struct Entry {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;  // little-endian, row-major
};

// Copies numel(shape) values of type T (see dtype_of) into a new Entry.
template <class T>
Entry make_entry(std::string name, std::vector<int64_t> shape, const T* values);

std::vector<uint8_t> serialize(const std::vector<Entry>& tensors,
                               const std::map<std::string, std::string>& metadata = {});
void save(const std::string& path, const std::vector<Entry>& tensors,
          const std::map<std::string, std::string>& metadata = {});

}  // namespace hemo::safetensors
