#include "train/config.h"

#include <cmath>

#include "core/error.h"
#include "train/json_shape.h"

namespace hemo::train {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(TrainConfig, model, data, out, manifest, pretrained, recipe, input_size,
                                                device, precision, split_train, split_val, split_test, augment, rotation, vflip, quarter_turns, crop_scale, color_jitter,
                                                balanced_sampler, class_weights, threads, epochs, batch_size, optimizer,
                                                lr, momentum, weight_decay, nesterov, schedule, step_size, gamma,
                                                warmup_epochs, label_smoothing, clip_grad_norm, dropout, drop_path, memory_efficient, fusion, multi_tensor, channels_last, sync_every_step, cuda_graphs, freeze_backbone, detect_anomaly, skip_nonfinite,
                                                monitor, patience, restore_best, max_minutes, seed, resume, overwrite,
                                                distributed, sync_bn, world_size)

nlohmann::json TrainConfig::to_json() const { return *this; }
TrainConfig TrainConfig::from_json(const nlohmann::json& j, const std::string& origin) {
  require_json_shape(j, TrainConfig{}.to_json(), cat(origin, ": the training configuration"));
  try {
    TrainConfig config = j.get<TrainConfig>();
    if (!j.contains("precision")) config.precision = Precision::fp32;  // written before --precision
    return config;
  } catch (const nlohmann::json::exception& e) {  // a field of the wrong type (fuzz_checkpoint)
    throw Error(cat(origin, ": the training configuration is malformed: ", e.what()));
  }
}

void TrainConfig::validate() const {
  HEMO_CHECK(epochs > 0, "--epochs must be positive (got ", epochs, ")");
  HEMO_CHECK(batch_size > 0, "--batch-size must be positive (got ", batch_size, ")");
  HEMO_CHECK(lr > 0, "--lr must be positive (got ", lr, ")");
  HEMO_CHECK(label_smoothing >= 0 && label_smoothing < 1, "--label-smoothing must be in [0, 1)");
  double s = split_train + split_val + split_test;
  HEMO_CHECK(split_train > 0 && split_val >= 0 && split_test >= 0 && s > 0.999 && s < 1.001,
             "--split ratios must be non-negative and sum to 1 (got ", split_train, "/", split_val, "/", split_test, ")");
  HEMO_CHECK(threads >= 0, "--threads must be >= 0");
  HEMO_CHECK(skip_nonfinite >= 0, "--skip-nonfinite must be >= 0 (got ", skip_nonfinite, ")");
  // Settings that would train on nonsense without saying so (each found by a new user).
  HEMO_CHECK(input_size == 0 || (input_size >= 8 && input_size <= 4096),
             "--input-size must be 0 (the model's default) or in [8, 4096] (got ", input_size, ")");
  HEMO_CHECK(momentum >= 0 && momentum < 1, "--momentum must be in [0, 1) (got ", momentum, ")");
  HEMO_CHECK(weight_decay >= 0, "--weight-decay must be >= 0 (got ", weight_decay, ")");
  HEMO_CHECK(step_size >= 1, "--step-size must be >= 1 epoch (got ", step_size, "; 0 would divide by zero)");
  HEMO_CHECK(gamma > 0 && std::isfinite(gamma), "--gamma must be a positive number (got ", gamma, ")");
  HEMO_CHECK(warmup_epochs >= 0 && warmup_epochs < epochs, "--warmup-epochs must be in [0, --epochs) (got ",
             warmup_epochs, ")");
  HEMO_CHECK(clip_grad_norm >= 0, "--clip-grad-norm must be >= 0 (0: off; got ", clip_grad_norm, ")");
  HEMO_CHECK(dropout < 0 || dropout < 1, "--dropout must be in [0, 1) (got ", dropout, "; 1 drops everything)");
  HEMO_CHECK(drop_path < 0 || drop_path < 1, "--drop-path must be in [0, 1) (got ", drop_path,
             "; 1 drops the deepest block always)");
  HEMO_CHECK(patience >= 0, "--patience must be >= 0 (0: never stop early; got ", patience, ")");
  HEMO_CHECK(max_minutes >= 0, "--max-minutes must be >= 0 (0: no limit; got ", max_minutes, ")");
  HEMO_CHECK(crop_scale < 0 || (crop_scale > 0 && crop_scale <= 1), "--crop-scale must be in (0, 1] (got ",
             crop_scale, "; 1: no random crop)");
  HEMO_CHECK(rotation >= 0 && rotation <= 180, "--rotation must be in [0, 180] degrees (got ", rotation, ")");
  HEMO_CHECK(!sync_bn || distributed, "--sync-bn synchronizes batch norm across the ranks of --distributed; add it");
  if (cuda_graphs) {  // what a replayed step cannot do (train/captured_step.h)
    const char* why =
        detect_anomaly  ? "--detect-anomaly (it checks every layer's values on the host)"
        : skip_nonfinite ? "--skip-nonfinite (it decides on the host, before the update, whether to apply it)"
        : distributed    ? "--distributed (the gradient all-reduce runs between backward and the update)"
        : class_weights  ? "--class-weights (the weighted mean's divisor is summed on the host per batch)"
        : drop_path > 0  ? "--drop-path (stochastic depth draws its samples on the host)"
                         : nullptr;
    HEMO_CHECK(!why, "--cuda-graphs cannot replay a step with ", why, "; drop one of the two");
  }
}

TrainConfig recipe(const std::string& name) {
  TrainConfig c;
  c.recipe = name;
  if (name == "gavas2021") {  // paper 002: SGD 0.9, lr 1e-3, x0.1 every 7 epochs, batch 32, 25 epochs
    c.model = "wide_resnet50_2";
    c.optimizer = OptimizerKind::sgd;
    c.lr = 1e-3;
    c.momentum = 0.9;
    c.schedule = ScheduleKind::step;
    c.step_size = 7;
    c.gamma = 0.1;
    c.batch_size = 32;
    c.epochs = 25;
    c.split_train = 0.64, c.split_val = 0.24, c.split_test = 0.12;
    // "random vertical and horizontal flips and rotating image by 60 degrees ... resized and
    // centered-cropped to 224x224": flips and rotation on the whole image, no random crop and no
    // colour jitter.
    c.augment = true, c.vflip = true, c.rotation = 60;
    c.crop_scale = 1, c.color_jitter = false;
    c.input_size = 224;
  } else if (name == "katar2022") {  // paper 001: Adam 1e-4, batch 64, <= 50 epochs, patience 5 on val acc
    c.model = "mobilenet_v3_small";
    c.optimizer = OptimizerKind::adam;
    c.lr = 1e-4;
    c.batch_size = 64;
    c.epochs = 50;
    c.monitor = Monitor::val_acc;
    c.patience = 5;
    c.restore_best = true;
    c.input_size = 224;
  } else if (name == "asghar2023") {  // paper 003: the 7-block CNN at 100x100, Adam 1e-3, keep lowest loss
    c.model = "pbcnet7";
    c.optimizer = OptimizerKind::adam;
    c.lr = 1e-3;
    c.batch_size = 32;
    // The paper ran 150 epochs and kept the weights of the lowest loss. Its validation loss bottoms
    // out long before that, so: at most 40 epochs, stop 6 epochs after the lowest validation loss
    // and test that epoch's weights (the same weights, hours sooner on a CPU).
    c.epochs = 40;
    c.monitor = Monitor::val_loss;
    c.patience = 6;
    c.restore_best = true;
    c.input_size = 100;
  } else if (name == "pramodha2023") {  // paper 000: MobileNetV2, augmentation + class balancing
    c.model = "mobilenet_v2";
    c.split_train = 0.7, c.split_val = 0.1, c.split_test = 0.2;  // the paper's 70/20/10 train/test/val
    c.optimizer = OptimizerKind::adam;
    c.lr = 1e-4;
    c.batch_size = 32;
    c.epochs = 30;
    c.augment = true, c.vflip = true, c.rotation = 30;
    c.balanced_sampler = true;
    c.monitor = Monitor::val_acc;
    c.patience = 5;
    c.input_size = 224;
  } else {
    std::string known;
    for (const auto& n : recipe_names()) known += " " + n;
    throw Error(cat("unknown recipe '", name, "'; known:", known));
  }
  return c;
}

std::vector<std::string> recipe_names() { return {"gavas2021", "katar2022", "asghar2023", "pramodha2023"}; }

}  // namespace hemo::train
