#include "weights/tensor_io.h"

#include <cmath>
#include <cstring>

#include "core/bf16.h"
#include "core/error.h"
#include "core/fp16.h"

namespace hemo::weights {

namespace {
template <class T>
void convert(const std::vector<T>& in, float* out) {
  for (size_t i = 0; i < in.size(); ++i) out[i] = static_cast<float>(in[i]);
}
}  // namespace

Tensor to_tensor(const safetensors::File& file, const std::string& name) {
  using safetensors::DType;
  const auto& info = file.info(name);
  Tensor t = Tensor::empty(info.shape, hemo::DType::f32);
  float* out = t.data<float>();
  switch (info.dtype) {
    case DType::F32: {  // the common case: one copy (little-endian host, as safetensors.cpp asserts)
      auto bytes = file.bytes(name);
      std::memcpy(out, bytes.data(), bytes.size());
      break;
    }
    case DType::F64: convert(file.values<double>(name), out); break;
    case DType::I64: convert(file.values<int64_t>(name), out); break;
    case DType::I32: convert(file.values<int32_t>(name), out); break;
    case DType::I16: convert(file.values<int16_t>(name), out); break;
    case DType::I8: convert(file.values<int8_t>(name), out); break;
    case DType::U8:
    case DType::BOOL: convert(file.values<uint8_t>(name), out); break;
    case DType::U16: convert(file.values<uint16_t>(name), out); break;
    case DType::U32: convert(file.values<uint32_t>(name), out); break;
    case DType::U64: convert(file.values<uint64_t>(name), out); break;
    case DType::F16:
    case DType::BF16: {
      auto bytes = file.bytes(name);
      for (int64_t i = 0; i < t.numel(); ++i) {
        uint16_t v;
        std::memcpy(&v, bytes.data() + 2 * i, 2);
        out[i] = info.dtype == DType::F16 ? fp16_to_float(v) : bf16_to_float(bf16{v});
      }
      break;
    }
  }
  return t;
}

TensorFile load_tensors(const std::string& path) {
  auto file = safetensors::File::load(path);
  TensorFile out;
  out.metadata = file.metadata();
  for (const auto& info : file.tensors()) out.tensors.emplace_back(info.name, to_tensor(file, info.name));
  return out;
}

const Tensor* TensorFile::find(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return &t;
  return nullptr;
}

safetensors::Entry to_entry(const std::string& name, const Tensor& t) {
  Tensor host = t.detach().to(Device::cpu());
  if (host.dtype() == hemo::DType::f64) return safetensors::make_entry(name, host.shape(), host.data<double>());
  if (host.dtype() == hemo::DType::bf16) {  // the bits as they are: little-endian like the host
    const auto* bytes = reinterpret_cast<const uint8_t*>(host.data<bf16>());
    return {name, safetensors::DType::BF16, host.shape(), std::vector<uint8_t>(bytes, bytes + host.nbytes())};
  }
  return safetensors::make_entry(name, host.shape(), host.data<float>());
}

safetensors::Entry narrowed(const safetensors::Entry& e, safetensors::DType to) {
  using safetensors::DType;
  HEMO_CHECK(to == DType::F16 || to == DType::BF16, "narrowed: ", e.name, ": 16-bit storage is F16 or BF16");
  if (e.dtype != DType::F32) return e;
  safetensors::Entry out{e.name, to, e.shape, std::vector<uint8_t>(e.data.size() / 2)};
  for (size_t i = 0; i < e.data.size() / 4; ++i) {
    float f;
    std::memcpy(&f, e.data.data() + 4 * i, 4);
    uint16_t h = 0;
    if (to == DType::BF16) {
      h = bf16_from_float(f).bits;
    } else {
      h = fp16_from_float(f);
      HEMO_CHECK(!std::isfinite(f) || std::isfinite(fp16_to_float(h)), e.name, ": value ", f, " at index ", i,
                 " is beyond fp16's range (|x| < 65520); store it as bf16");
    }
    std::memcpy(out.data.data() + 2 * i, &h, 2);
  }
  return out;
}

void save_tensors(const std::string& path, const NamedTensors& tensors, const std::map<std::string, std::string>& metadata) {
  std::vector<safetensors::Entry> entries;
  entries.reserve(tensors.size());
  for (const auto& [n, t] : tensors) entries.push_back(to_entry(n, t));
  safetensors::save(path, entries, metadata);
}

}  // namespace hemo::weights
