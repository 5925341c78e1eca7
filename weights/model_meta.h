// ModelMeta: what makes a weights file self-describing. hemo writes it into the safetensors
// metadata (string -> string) of every model file it produces (checkpoints, converted
// torchvision weights), and reads it back in hemo predict/eval/forward and hemo-infer:
//   architecture   registry name ("resnet18", "pbcnet7", ...)
//   num_classes    decimal integer
//   class_names    JSON list of num_classes strings
//   input_size     decimal integer: the square input side the model expects
//   mean, std      JSON lists of 3 numbers: the per-channel normalization of RGB in [0, 1]
//   pool_stride    optional decimal integer, pbcnet7's max-pool stride; written only when it is
//                  not the default 2 (tests/models and the PyTorch twin write it)
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace hemo::weights {

struct ModelMeta {
  std::string architecture;
  int64_t num_classes = 0;
  std::vector<std::string> class_names;
  int64_t input_size = 0;
  std::array<double, 3> mean{0.485, 0.456, 0.406}, std{0.229, 0.224, 0.225};
  int64_t pool_stride = 2;
  // Limits every reader enforces before anything is sized by them: an input side of 20000 would
  // cost gigabytes of activations before any other check could refuse it.
  static constexpr int64_t kMinInputSize = 8, kMaxInputSize = 4096, kMaxClasses = 100000;

  std::map<std::string, std::string> to_metadata() const;
  // Reads the fields above; a missing, malformed or out-of-range one is an Error naming `origin`
  // and the key (validate's checks included).
  static ModelMeta from_metadata(const std::map<std::string, std::string>& md, const std::string& origin);
  // num_classes in [1, kMaxClasses], input_size in [kMinInputSize, kMaxInputSize], pool_stride 1
  // or 2, mean finite, std positive and finite; an Error naming `origin` and the field otherwise.
  void validate(const std::string& origin) const;
};

}  // namespace hemo::weights
