// Shipped models: the trained blood-cell classifiers that come with hemo (weights/MODELS.md), so
// that `hemo predict IMG`, `hemo gradcam IMG` and `hemo-infer IMG` work with no training step and
// `hemo eval --ensemble shipped` runs their majority vote.
//
// A shipped model is a hemo model file (weights/model_meta.h) whose metadata also holds
//   hemo.shipped.name           its name, the file name without ".safetensors" ("pbcnet7-pbc128")
//   hemo.shipped.test_accuracy  accuracy on its held-out test split, a decimal in [0, 1]
//   hemo.shipped.test_images    how many images that split has
//   hemo.shipped.manifest       the split manifest's file name, beside the model ("pbc128-split.csv")
//   hemo.shipped.recipe         the resolved training configuration (JSON), for the model card
//   hemo.shipped.commit         the hemo commit that packaged it
// `hemo package` writes them (tools/cmd_package.cpp). Files without hemo.shipped.name (converted
// ImageNet weights kept in the same folder) are not shipped models.
//
// Where they are looked for, first folder holding at least one shipped model wins:
//   1. $HEMO_WEIGHTS_DIR, when set (and then only there: a deliberate choice is never overridden);
//   2. share/hemo/weights beside the running binary's bin/ (an installed hemo or .deb);
//   3. weights/ beside the binary, for a binary copied next to its models;
//   4. the source tree's weights/ (a build folder's binaries; compiled in as HEMO_SOURCE_WEIGHTS_DIR).
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "weights/model_meta.h"

namespace hemo::weights {

struct ShippedModel {
  std::filesystem::path file;
  std::string name;
  ModelMeta meta;
  double test_accuracy = 0;
  int64_t test_images = 0;
  std::string manifest;  // file name of the split manifest, in the same folder
};

// The folders above, in order, that exist (or $HEMO_WEIGHTS_DIR alone when set, existing or not).
std::vector<std::filesystem::path> shipped_model_dirs();

// The shipped models of one folder, best test accuracy first (ties by name). A file that claims
// to be shipped but is damaged is an Error naming it.
std::vector<ShippedModel> shipped_models_in(const std::filesystem::path& dir);

// The shipped models of the first folder of shipped_model_dirs() that has any; an Error saying
// where it looked, and what to do instead, when none has.
std::vector<ShippedModel> shipped_models();

// shipped_models().front(): the model `hemo predict` and hemo-infer use without one named.
ShippedModel best_shipped_model();

}  // namespace hemo::weights
