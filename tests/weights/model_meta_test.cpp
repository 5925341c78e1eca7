// ModelMeta: the metadata that makes a weights file self-describing (weights/model_meta.h).
#include <doctest/doctest.h>

#include <filesystem>

#include "weights/model_meta.h"
#include "weights/tensor_io.h"

using namespace hemo;
using weights::ModelMeta;

namespace {
ModelMeta sample() {
  ModelMeta m;
  m.architecture = "mobilenet_v3_small";
  m.num_classes = 3;
  m.class_names = {"basophil", "eosinophil", "\"ig\", immature"};
  m.input_size = 224;
  m.mean = {0.5, 0.25, 0.125};
  m.std = {0.2, 0.3, 0.4};
  return m;
}

void check_equal(const ModelMeta& a, const ModelMeta& b) {
  CHECK(a.architecture == b.architecture);
  CHECK(a.num_classes == b.num_classes);
  CHECK(a.class_names == b.class_names);
  CHECK(a.input_size == b.input_size);
  CHECK(a.mean == b.mean);
  CHECK(a.std == b.std);
}

std::string error_of(const std::map<std::string, std::string>& md) {
  try {
    ModelMeta::from_metadata(md, "w.safetensors");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("ModelMeta: round trip through the metadata map and through a weights file") {
  const ModelMeta m = sample();
  check_equal(ModelMeta::from_metadata(m.to_metadata(), "map"), m);
  CHECK(m.to_metadata().at("class_names") == R"(["basophil","eosinophil","\"ig\", immature"])");

  const auto dir = std::filesystem::path(HEMO_TEST_WORK_DIR) / "weights";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "meta.safetensors").string();
  weights::save_tensors(path, {{"w", Tensor::ones({2})}}, m.to_metadata());
  check_equal(ModelMeta::from_metadata(weights::load_tensors(path).metadata, path), m);
}

TEST_CASE("ModelMeta: a missing or malformed field is an error naming the file and the key") {
  auto md = sample().to_metadata();
  md.erase("architecture");
  CHECK(error_of(md).find("w.safetensors: not a hemo model file: metadata lacks 'architecture'") == 0);

  md = sample().to_metadata();
  md["num_classes"] = "three";
  CHECK(error_of(md).find("num_classes/input_size is not an integer") != std::string::npos);

  md = sample().to_metadata();
  md["mean"] = "[0.5, 0.5";
  CHECK(error_of(md).find("metadata 'mean' is not valid JSON") != std::string::npos);

  md = sample().to_metadata();
  md["std"] = "[1, 2]";
  CHECK(error_of(md).find("class_names/mean/std has the wrong form") != std::string::npos);

  md = sample().to_metadata();
  md["num_classes"] = std::to_string(4);  // (a literal "4" trips GCC 12's -Wrestrict false positive)
  CHECK(error_of(md).find("metadata names 3 classes but num_classes is 4") != std::string::npos);
}

TEST_CASE("ModelMeta: out-of-range sizes and a zero or non-finite normalization are refused before use") {
  // input_size 20000 would cost gigabytes of activations before anything else refused it.
  for (const char* size : {"20000", "4097", "7", "0", "-3"}) {
    auto md = sample().to_metadata();
    md["input_size"] = size;
    CAPTURE(size);
    CHECK(error_of(md).find(std::string("w.safetensors: metadata input_size ") + size + " is outside [8, 4096]") == 0);
  }
  auto md = sample().to_metadata();
  md["input_size"] = "4096";
  CHECK(error_of(md).empty());
  md["std"] = "[0.2, 0, 0.4]";  // a normalization by 0 gives infinite inputs, NaN probabilities
  CHECK(error_of(md).find("metadata std[1] is 0; a normalization divides by it") != std::string::npos);
  md["std"] = "[0.2, -0.3, 0.4]";
  CHECK(error_of(md).find("metadata std[1] is -0.3") != std::string::npos);
  md = sample().to_metadata();
  md["mean"] = "[0.5, 1e999, 0.5]";  // JSON's largest numbers overflow to infinity
  CHECK(!error_of(md).empty());
  md = sample().to_metadata();
  md["pool_stride"] = "3";
  CHECK(error_of(md).find("metadata pool_stride 3 is not 1 or 2") != std::string::npos);
}
