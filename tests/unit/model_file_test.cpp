// models/model_file: the one way to open a model file. A pbcnet7 with stride-1 pools (metadata
// pool_stride) is rebuilt with that stride and computes what was saved; errors name the file.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <limits>

#include "data/transforms.h"
#include "models/model_file.h"
#include "tensor/autograd.h"

using namespace hemo;
namespace fs = std::filesystem;

namespace {
fs::path work_dir() {
  const fs::path p = fs::path(HEMO_TEST_WORK_DIR) / "unit" / "model_file";
  fs::create_directories(p);
  return p;
}
}  // namespace

TEST_CASE("model_file: pool_stride from the metadata is honoured; the weights load strictly; eval transform") {
  models::ModelOptions opt;
  opt.pool_stride = 1;
  opt.input_size = 12;
  Generator gen(3);
  nn::ModulePtr saved = models::create_model("pbcnet7", 3, opt, gen);
  saved->eval();
  weights::ModelMeta meta;
  meta.architecture = "pbcnet7";
  meta.num_classes = 3;
  meta.class_names = {"a", "b", "c"};
  meta.input_size = 12;
  meta.mean = {0.5, 0.5, 0.5};
  meta.pool_stride = 1;
  CHECK(meta.to_metadata().at("pool_stride") == "1");
  const fs::path path = work_dir() / "stride1.safetensors";
  weights::save_tensors(path.string(), saved->state_dict(), meta.to_metadata());

  const models::ModelFile file = models::read_model_file(path.string());
  CHECK(file.meta.pool_stride == 1);
  nn::ModulePtr loaded = models::build_model(file, Device::cpu()).module;
  CHECK_FALSE(loaded->is_training());
  Tensor x = Tensor::full({1, 3, 12, 12}, 0.25);
  NoGradGuard no_grad;
  CHECK((*loaded)(x).to_vector<float>() == (*saved)(x).to_vector<float>());

  const data::TransformSpec tf = data::TransformSpec::eval(file.meta.input_size, file.meta.mean, file.meta.std);
  CHECK(tf.size == 12);
  CHECK(tf.mean[0] == 0.5f);
  CHECK(tf.std[2] == doctest::Approx(0.225f));

  weights::ModelMeta plain = meta;
  plain.pool_stride = 2;
  CHECK(plain.to_metadata().count("pool_stride") == 0);  // files without it read as before
}

TEST_CASE("model_file: errors start with the path") {
  const fs::path garbage = work_dir() / "garbage.safetensors";
  std::ofstream(garbage) << "not a model";
  CHECK_THROWS_WITH_AS(models::read_model_file(garbage.string()),
                       doctest::Contains("not a safetensors model file, or a damaged one"), Error);
  CHECK_THROWS_WITH_AS(models::read_model_file((work_dir() / "absent.safetensors").string()),
                       doctest::Contains("absent.safetensors: cannot open for reading"), Error);
  auto md = weights::ModelMeta{"pbcnet7", 1, {"a"}, 12}.to_metadata();
  md["pool_stride"] = "two";
  const fs::path odd = work_dir() / "odd.safetensors";
  weights::save_tensors(odd.string(), {}, md);
  CHECK_THROWS_WITH_AS(models::read_model_file(odd.string()), doctest::Contains("pool_stride is not an integer"), Error);
}

TEST_CASE("model_file: a model tensor holding NaN or infinity is refused, naming the tensor") {
  const auto md = weights::ModelMeta{"pbcnet7", 1, {"a"}, 12}.to_metadata();
  for (const float bad : {std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::infinity()}) {
    const fs::path p = work_dir() / "nonfinite.safetensors";
    weights::save_tensors(p.string(), {{"classifier.weight", Tensor::from_vector<float>({0.5f, bad, 1.0f}, {3})}}, md);
    CHECK_THROWS_WITH_AS(models::read_model_file(p.string()),
                         doctest::Contains("nonfinite.safetensors: tensor 'classifier.weight' holds"), Error);
    CHECK_THROWS_WITH_AS(models::read_model_file(p.string()), doctest::Contains("at element 1"), Error);
  }
}
