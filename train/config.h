// TrainConfig: everything a training run is made of, resolved from a recipe preset and then the
// command-line flags (any flag overrides the preset). Saved as JSON in the run directory and in
// every checkpoint, so a run can be reproduced and resumed. The choices are typed options
// (train/options.h); the JSON holds their names ("adam", "val_loss", ...), as it always has.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "train/options.h"

namespace hemo::train {

struct TrainConfig {
  // what and where
  std::string model = "pbcnet7";
  std::string data;            // an ImageFolder (or a folder already split into train/val/test)
  std::string out = "runs/hemo";
  std::string manifest;        // "" : <out>/split.csv
  std::string pretrained;      // weights to start from (transfer: a differing head is re-initialized)
  std::string recipe;          // the preset these values came from, for the record
  int64_t input_size = 0;      // 0: the model's default
  DeviceChoice device = DeviceChoice::cpu;
  // kernels/precision.h. TF32 by default (as PyTorch runs convolutions); configurations written
  // before the field existed read as fp32, the arithmetic they ran in.
  Precision precision = Precision::tf32;
  // data
  double split_train = 0.7, split_val = 0.2, split_test = 0.1;
  bool augment = false;
  double rotation = 0;         // degrees, with augment
  bool vflip = false;
  bool quarter_turns = false;  // with augment: turns by 0, 90, 180 or 270 degrees
  double crop_scale = -1;      // with augment: the random crop's smallest area fraction (< 0: 0.5; 1: no crop)
  bool color_jitter = true;    // with augment
  bool balanced_sampler = false;
  bool class_weights = false;
  int threads = 2;             // loader threads
  // optimization
  int epochs = 10;
  int batch_size = 32;
  OptimizerKind optimizer = OptimizerKind::adam;
  double lr = 1e-3, momentum = 0.9, weight_decay = 0;
  bool nesterov = false;
  ScheduleKind schedule = ScheduleKind::constant;
  double step_size = 7, gamma = 0.1, warmup_epochs = 0;
  double label_smoothing = 0;
  double clip_grad_norm = 0;   // 0: off
  double dropout = -1;         // < 0: the model's default
  double drop_path = -1;       // stochastic depth of the deepest block (ConvNeXt, EfficientNet); < 0: torchvision's
  bool memory_efficient = true;  // DenseNet: recompute each layer's concatenation in backward (models/densenet.h)
  bool fusion = true;            // batch norm + ReLU/ReLU6 as one op (nn/fusion.h); the same numbers either way
  bool multi_tensor = true;      // one optimizer update for all parameters (kernels/optim.h); the same numbers
  bool channels_last = false;    // activations stored NHWC (tensor/tensor.h); the same model up to rounding
  bool sync_every_step = false;  // read each step's loss and norm at once (train/step_meter.h); the same numbers
  bool cuda_graphs = false;      // capture the step once as a CUDA graph and replay it (train/captured_step.h)
  bool freeze_backbone = false;
  // non-finite losses and gradients (train/anomaly.h)
  bool detect_anomaly = false;      // find the layer where a NaN or infinity arose (slow)
  int skip_nonfinite = 0;           // steps with a non-finite loss or gradient to skip before stopping
  // stopping
  Monitor monitor = Monitor::val_acc;  // picks the best checkpoint
  int patience = 0;                 // epochs without improvement before stopping; 0: never stop early
  bool restore_best = true;         // evaluate the best checkpoint on the test split
  double max_minutes = 0;           // 0: no limit; else no epoch starts that would end past it
                                    // (judged by the longest epoch so far)
  uint64_t seed = 0;
  bool resume = false;              // continue <out>/last.safetensors (train/run_dir.h)
  bool overwrite = false;           // a new run into an <out> holding one deletes its files first
  // data parallel (docs/training.md): one process per rank under mpirun; batch_size is per rank
  bool distributed = false;         // --distributed: ranks from MPI (train/comm.h)
  bool sync_bn = false;             // --sync-bn: batch norm statistics over all ranks
  int world_size = 1;               // set by the trainer: the ranks of the run, for the record

  nlohmann::json to_json() const;
  // An Error naming `origin` when a field has the wrong type (a missing field keeps its default).
  static TrainConfig from_json(const nlohmann::json& j, const std::string& origin = "training configuration");
  void validate() const;  // throws hemo::Error naming the bad field
};

// The source papers' setups (../shared/docs/RECIPES.md): gavas2021, katar2022, asghar2023,
// pramodha2023. Throws for an unknown name, listing the known ones.
TrainConfig recipe(const std::string& name);
std::vector<std::string> recipe_names();

}  // namespace hemo::train
