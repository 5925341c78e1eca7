#include "models/registry.h"


#include <optional>

#include "models/mobilenet_v2.h"
#include "models/mobilenet_v3.h"
#include "models/pbcnet7.h"
#include "models/resnet.h"
#include "models/squeezenet.h"
#include "models/alexnet.h"
#include "models/convnext.h"
#include "models/densenet.h"
#include "models/efficientnet.h"
#include "models/googlenet.h"
#include "models/inception.h"
#include "models/vgg.h"
#include "nn/layers.h"

namespace hemo::models {

namespace {
double dropout_or(const ModelOptions& o, double fallback) { return o.dropout >= 0 ? o.dropout : fallback; }

ModelSpec vgg_spec(int depth, bool bn) {
  ModelSpec s;
  s.name = cat("vgg", depth, bn ? "_bn" : "");
  s.family = "vgg";
  s.head = "classifier.6";
  // The last convolutional block's ReLU, before its max-pool: the rectified conv5 maps the
  // Grad-CAM paper uses for VGG-16 (14x14 at 224x224; the pool would halve them).
  s.gradcam_layer = VGG::last_activation(depth, bn);
  s.make = [depth, bn](int64_t k, const ModelOptions& o, Generator& g) -> nn::ModulePtr {
    return std::make_shared<VGG>(depth, bn, k, dropout_or(o, 0.5), g);
  };
  return s;
}

ModelSpec resnet_spec(const std::string& name, int depth, int64_t groups = 1, int64_t width_per_group = 64) {
  ModelSpec s;
  s.name = name;
  s.family = "resnet";
  s.head = "fc";
  // The last block of layer4 (two blocks in ResNet-18, three in every deeper one): the last
  // convolutional feature map, as in the Grad-CAM paper.
  s.gradcam_layer = cat("layer4.", depth == 18 ? 1 : 2);
  s.make = [depth, groups, width_per_group](int64_t k, const ModelOptions&, Generator& g) -> nn::ModulePtr {
    return std::make_shared<ResNet>(depth, groups, width_per_group, k, g);
  };
  return s;
}

ModelSpec mobilenet_v3_spec(bool large) {
  ModelSpec s;
  s.name = large ? "mobilenet_v3_large" : "mobilenet_v3_small";
  s.family = "mobilenet_v3";
  s.head = "classifier.3";
  s.gradcam_layer = cat("features.", MobileNetV3::last_feature_index(large));
  s.make = [large](int64_t k, const ModelOptions& o, Generator& g) -> nn::ModulePtr {
    return std::make_shared<MobileNetV3>(large, k, dropout_or(o, 0.2), g);
  };
  return s;
}

std::vector<ModelSpec> build_specs() {
  std::vector<ModelSpec> specs;
  ModelSpec alexnet;
  alexnet.name = "alexnet";
  alexnet.family = "alexnet";
  alexnet.head = "classifier.6";
  alexnet.gradcam_layer = AlexNet::kLastActivation;
  alexnet.make = [](int64_t k, const ModelOptions& o, Generator& g) -> nn::ModulePtr {
    return std::make_shared<AlexNet>(k, dropout_or(o, 0.5), g);
  };
  specs.push_back(alexnet);
  for (int depth : {11, 13, 16, 19})
    for (bool bn : {false, true}) specs.push_back(vgg_spec(depth, bn));
  specs.push_back(resnet_spec("resnet18", 18));
  specs.push_back(resnet_spec("resnet34", 34));
  specs.push_back(resnet_spec("resnet50", 50));
  specs.push_back(resnet_spec("resnet101", 101));
  specs.push_back(resnet_spec("resnet152", 152));
  specs.push_back(resnet_spec("wide_resnet50_2", 50, 1, 128));
  specs.push_back(resnet_spec("wide_resnet101_2", 101, 1, 128));
  specs.push_back(resnet_spec("resnext50_32x4d", 50, 32, 4));
  specs.push_back(resnet_spec("resnext101_32x8d", 101, 32, 8));
  specs.push_back(resnet_spec("resnext101_64x4d", 101, 64, 4));
  for (int depth : {121, 161, 169, 201}) {
    ModelSpec s;
    s.name = cat("densenet", depth);
    s.family = "densenet";
    s.head = "classifier";
    s.gradcam_layer = DenseNet::kLastFeature;
    s.make = [depth](int64_t k, const ModelOptions& o, Generator& g) -> nn::ModulePtr {
      return std::make_shared<DenseNet>(depth, k, o.memory_efficient, g);
    };
    specs.push_back(s);
  }
  for (const char* version : {"1_0", "1_1"}) {
    ModelSpec s;
    s.name = cat("squeezenet", version);
    s.family = "squeezenet";
    s.head = "classifier.1";  // a 1x1 convolution
    // The last Fire module (its two expand branches joined): the last convolutional feature map.
    s.gradcam_layer = SqueezeNet::kLastFire;
    s.make = [v = std::string(version)](int64_t k, const ModelOptions& o, Generator& g) -> nn::ModulePtr {
      return std::make_shared<SqueezeNet>(v, k, dropout_or(o, 0.5), g);
    };
    specs.push_back(s);
  }

  for (const char* variant : {"tiny", "small", "base"}) {
    ModelSpec s;
    s.name = cat("convnext_", variant);
    s.family = "convnext";
    s.head = "classifier.2";
    // The last stage's blocks (pytorch-grad-cam's documented choice for ConvNeXt: model.features[-1]).
    s.gradcam_layer = ConvNeXt::kLastStage;
    s.make = [v = std::string(variant)](int64_t k, const ModelOptions& o, Generator& g) -> nn::ModulePtr {
      return std::make_shared<ConvNeXt>(v, k, o.stochastic_depth, g);
    };
    specs.push_back(s);
  }

  ModelSpec googlenet;
  googlenet.name = "googlenet";
  googlenet.family = "googlenet";
  googlenet.head = "fc";
  googlenet.gradcam_layer = "inception5b";  // the last Inception block
  googlenet.make = [](int64_t k, const ModelOptions& o, Generator& g) -> nn::ModulePtr {
    return std::make_shared<GoogLeNet>(k, dropout_or(o, 0.2), dropout_or(o, 0.7), g);  // --dropout sets both
  };
  specs.push_back(googlenet);

  ModelSpec inception;
  inception.name = "inception_v3";
  inception.family = "inception";
  inception.default_input = 299;
  inception.head = "fc";
  inception.gradcam_layer = "Mixed_7c";  // the last mixed block
  inception.make = [](int64_t k, const ModelOptions& o, Generator& g) -> nn::ModulePtr {
    return std::make_shared<InceptionV3>(k, dropout_or(o, 0.5), g);
  };
  specs.push_back(inception);

  // torchvision's evaluation crop sizes (the papers' input sizes).
  const std::pair<const char*, int64_t> efficientnets[] = {{"b0", 224}, {"b1", 240}, {"b2", 288}, {"b3", 300},
                                                           {"b4", 380}, {"b5", 456}, {"b6", 528}, {"b7", 600}};
  for (const auto& [variant, input] : efficientnets) {
    ModelSpec s;
    s.name = cat("efficientnet_", variant);
    s.family = "efficientnet";
    s.default_input = input;
    s.head = "classifier.1";
    s.gradcam_layer = EfficientNet::kLastFeature;  // the last feature block (features[-1])
    s.make = [v = std::string(variant)](int64_t k, const ModelOptions& o, Generator& g) -> nn::ModulePtr {
      return std::make_shared<EfficientNet>(v, k, o.dropout, o.stochastic_depth, g);
    };
    specs.push_back(s);
  }

  ModelSpec v2;
  v2.name = "mobilenet_v2";
  v2.family = "mobilenet_v2";
  v2.head = "classifier.1";
  v2.gradcam_layer = "features.18";
  v2.make = [](int64_t k, const ModelOptions& o, Generator& g) -> nn::ModulePtr {
    return std::make_shared<MobileNetV2>(k, dropout_or(o, 0.2), g);
  };
  specs.push_back(v2);
  specs.push_back(mobilenet_v3_spec(false));
  specs.push_back(mobilenet_v3_spec(true));

  ModelSpec p;
  p.name = "pbcnet7";
  p.family = "pbcnet7";
  p.default_input = PBCNet7::kDefaultInput;
  p.head = "classifier.2";
  // Block 5's ReLU: the deepest map with more than 2x2 positions (4x4 at the 100x100 input; block
  // 6's is 2x2, too coarse to locate a cell). With a pbcnet7 trained on pbc-128 (8 epochs, 93.6%
  // test accuracy) and pbc-mini's 200 images, block 5 gave no flat map and put the heat on the
  // cell (centred in PBC images: mean over the central half / mean overall 1.21), where block 4's
  // 7x7 map was flat for 17 images and lit the background (0.60).
  p.gradcam_layer = "features.5.1";
  p.make = [](int64_t k, const ModelOptions& o, Generator& g) -> nn::ModulePtr {
    const int64_t input = o.input_size > 0 ? o.input_size : PBCNet7::kDefaultInput;
    return std::make_shared<PBCNet7>(k, input, o.pool_stride, dropout_or(o, 0.25), g);
  };
  specs.push_back(p);
  return specs;
}

const std::vector<ModelSpec>& specs() {
  static const std::vector<ModelSpec> all = build_specs();
  return all;
}
}  // namespace

const ModelSpec& model_spec(const std::string& name) {
  for (const ModelSpec& s : specs())
    if (s.name == name) return s;
  std::string known;
  for (const ModelSpec& s : specs()) known += (known.empty() ? "" : ", ") + s.name;
  throw Error(cat("unknown model '", name, "'; known models: ", known));
}

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (const ModelSpec& s : specs()) names.push_back(s.name);
  return names;
}

void validate_options(const std::string& name, const ModelOptions& opt) {
  const ModelSpec& spec = model_spec(name);
  HEMO_CHECK(opt.dropout <= 1, "create_model(", name, "): dropout must be in [0, 1], got ", opt.dropout);
  HEMO_CHECK(opt.stochastic_depth <= 0 || spec.family == "convnext" || spec.family == "efficientnet", "create_model(",
             name, "): stochastic depth (--drop-path) is part of ConvNeXt and EfficientNet only; ", name,
             " has none");
}

nn::ModulePtr create_model(const std::string& name, int64_t num_classes, const ModelOptions& opt, Generator& gen) {
  const ModelSpec& spec = model_spec(name);
  HEMO_CHECK(num_classes >= 1, "create_model(", name, "): num_classes must be at least 1, got ", num_classes);
  validate_options(name, opt);
  std::optional<nn::NoInitGuard> no_init;
  if (!opt.init_weights) no_init.emplace();
  return spec.make(num_classes, opt, gen);
}

}  // namespace hemo::models
