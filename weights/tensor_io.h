// Between safetensors files and hemo tensors.
//
// load_tensors reads every tensor of a file, in file order, as a float32 CPU tensor (F64, F16,
// BF16 and the integer dtypes are converted; torchvision's int64 num_batches_tracked buffers
// become float32 counts, exact below 2^24). save_tensors writes float32, float64 or bfloat16
// tensors as F32, F64 or BF16 (a bfloat16 tensor's bits as they are),
// copying CUDA tensors to the host first, crash-safely (see safetensors::save).
//
// narrowed stores an F32 entry in 16 bits, F16 or BF16 (rounded to nearest even: core/fp16.h,
// core/bf16.h), and returns any other entry as it is: a shipped model's file at half the size. F16
// keeps 11 significant bits where BF16 keeps 8, but only values below 65520 in magnitude; a finite
// value beyond that is an error that names the tensor and the value (store it as BF16 then).
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"
#include "weights/safetensors.h"

namespace hemo::weights {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

struct TensorFile {
  NamedTensors tensors;
  std::map<std::string, std::string> metadata;
  const Tensor* find(const std::string& name) const;
};

TensorFile load_tensors(const std::string& path);
Tensor to_tensor(const safetensors::File& file, const std::string& name);  // float32 CPU
safetensors::Entry to_entry(const std::string& name, const Tensor& t);    // F32, F64 or BF16 as t's dtype
safetensors::Entry narrowed(const safetensors::Entry& e, safetensors::DType to);  // to: F16 or BF16
void save_tensors(const std::string& path, const NamedTensors& tensors,
                  const std::map<std::string, std::string>& metadata = {});

}  // namespace hemo::weights
