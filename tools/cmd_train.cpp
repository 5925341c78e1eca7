// `hemo train`: trains a model on an ImageFolder (train/trainer.h says what the run directory
// holds). `--recipe NAME` loads a source paper's setup first; every other flag overrides it.
#include "tools/command.h"

#include <functional>
#include <iostream>
#include <memory>
#include <type_traits>

#include "train/run_dir.h"
#include "train/trainer.h"

namespace {

using hemo::train::TrainConfig;
using Applier = std::function<void(TrainConfig&)>;

struct Flags {
  TrainConfig given;  // values as parsed; only those whose option was used are applied
  std::vector<Applier> appliers;
  std::string recipe;
  std::vector<double> split;
};

template <class T>
void option(CLI::App* cmd, Flags& f, const std::string& name, T TrainConfig::*field, const std::string& help) {
  CLI::Option* opt;
  if constexpr (hemo::NamedOption<T>) {
    opt = hemo::cli::add_choice_option(cmd, name, f.given.*field, help);
  } else {
    opt = cmd->add_option(name, f.given.*field, help);
    opt->default_str(CLI::detail::to_string(TrainConfig{}.*field));
    // An unsigned field (--seed) refuses a negative number rather than wrapping it around.
    if constexpr (std::is_unsigned_v<T>) opt->check(CLI::NonNegativeNumber);
  }
  f.appliers.push_back([opt, field, &f](TrainConfig& c) {
    if (opt->count()) c.*field = f.given.*field;
  });
}

// A switch. "--x,!--no-x" makes two: --x turns it on, --no-x off (for a recipe that turned it on),
// each with its own help line that says the default, rather than CLI11's "--x,--no-x{false}".
void flag(CLI::App* cmd, Flags& f, const std::string& name, bool TrainConfig::*field, const std::string& help) {
  const size_t bang = name.find(",!");
  if (bang == std::string::npos) {
    CLI::Option* opt = cmd->add_flag(name, f.given.*field, help);
    f.appliers.push_back([opt, field, &f](TrainConfig& c) {
      if (opt->count()) c.*field = f.given.*field;
    });
    return;
  }
  const std::string on_name = name.substr(0, bang), off_name = name.substr(bang + 2);
  CLI::Option* on = cmd->add_flag(on_name)->description(hemo::cat(help, TrainConfig{}.*field ? " (default: on)" : " (default: off)"));
  CLI::Option* off = cmd->add_flag(off_name)->description(hemo::cat("Turn ", on_name, " off"));
  f.appliers.push_back([on, off, on_name, off_name, field](TrainConfig& c) {
    if (on->count() && off->count())  // a usage error (exit 2), raised while the command line is parsed
      throw CLI::ValidationError(on_name, hemo::cat(on_name, " and ", off_name, " together: give one of them"));
    if (on->count()) c.*field = true;
    if (off->count()) c.*field = false;
  });
}

// Defaults, then a recipe's values, then the flags given. With --resume the run's saved
// configuration takes the place of the defaults, so flags not repeated keep the run's values
// (train/run_dir.h: the trainer refuses those that may not change).
TrainConfig resolve_train_flags(const Flags& f, const CLI::App& cmd) {
  const bool resume = cmd.get_option("--resume")->count() > 0;
  const std::string out = cmd.get_option("--out")->count() > 0 ? f.given.out : TrainConfig{}.out;
  TrainConfig c = !f.recipe.empty() ? hemo::train::recipe(f.recipe)
                  : resume          ? hemo::train::saved_run_config(out)
                                    : TrainConfig{};
  if (resume) c.distributed = false;  // how this process runs (under mpirun or not): this command's say
  for (const Applier& apply : f.appliers) apply(c);
  return c;
}

}  // namespace

namespace {
void add_train_command(CLI::App& app) {
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("train", "Train a classifier on an ImageFolder (one subfolder per class)");
  cmd->add_option("--recipe", f->recipe, "A source paper's setup: gavas2021, katar2022, asghar2023, pramodha2023");
  option(cmd, *f, "--model", &TrainConfig::model, "Architecture (see `hemo info --list`)");
  option(cmd, *f, "--data", &TrainConfig::data, "ImageFolder root, or a folder split into train/val/test");
  option(cmd, *f, "--out", &TrainConfig::out, "Run directory (checkpoints, logs, report.html)");
  option(cmd, *f, "--manifest", &TrainConfig::manifest, "Split manifest CSV to reuse or create (default: OUT/split.csv)");
  option(cmd, *f, "--pretrained", &TrainConfig::pretrained, "Start from these weights (a differing classifier is re-initialized)");
  option(cmd, *f, "--input-size", &TrainConfig::input_size, "Input side in pixels (0: the model's default)");
  option(cmd, *f, "--device", &TrainConfig::device, "cpu, cuda or auto");
  option(cmd, *f, "--precision", &TrainConfig::precision,
         "Convolution and GEMM arithmetic: fp32 (strict), tf32 (CUDA tensor cores), bf16 (bf16 products, float32 sums)");
  auto* split = cmd->add_option("--split", f->split, "Train/val/test ratios, e.g. 0.7 0.2 0.1")->expected(3);
  f->appliers.push_back([split, f = f.get()](TrainConfig& c) {
    if (split->count()) c.split_train = f->split[0], c.split_val = f->split[1], c.split_test = f->split[2];
  });
  flag(cmd, *f, "--augment,!--no-augment", &TrainConfig::augment, "Random resized crop, flips, rotation, color jitter");
  option(cmd, *f, "--rotation", &TrainConfig::rotation, "Rotation range in degrees, with --augment");
  flag(cmd, *f, "--vflip,!--no-vflip", &TrainConfig::vflip, "Vertical flips too, with --augment");
  flag(cmd, *f, "--quarter-turns,!--no-quarter-turns", &TrainConfig::quarter_turns,
       "With --augment: turn each image by 0, 90, 180 or 270 degrees, equally likely (pixels move exactly: no blur, "
       "no fill; with the flips, all eight symmetries of the square, as --tta dihedral averages over)");
  option(cmd, *f, "--crop-scale", &TrainConfig::crop_scale,
         "With --augment: the random crop's smallest area fraction (negative: 0.5; 1: the whole image, no crop)");
  flag(cmd, *f, "--color-jitter,!--no-color-jitter", &TrainConfig::color_jitter,
       "With --augment: brightness, contrast, saturation 0.2 and hue 0.02 jitter");
  flag(cmd, *f, "--balanced-sampler,!--no-balanced-sampler", &TrainConfig::balanced_sampler, "Draw classes equally often");
  flag(cmd, *f, "--class-weights,!--no-class-weights", &TrainConfig::class_weights, "Weight the loss by inverse class frequency");
  option(cmd, *f, "--threads", &TrainConfig::threads, "Data loader threads");
  option(cmd, *f, "--epochs", &TrainConfig::epochs, "Epochs (an upper bound with --patience)");
  option(cmd, *f, "--batch-size", &TrainConfig::batch_size, "Images per batch");
  option(cmd, *f, "--optimizer", &TrainConfig::optimizer, "sgd, adam or adamw");
  option(cmd, *f, "--lr", &TrainConfig::lr, "Learning rate");
  option(cmd, *f, "--momentum", &TrainConfig::momentum, "SGD momentum");
  option(cmd, *f, "--weight-decay", &TrainConfig::weight_decay, "Weight decay");
  flag(cmd, *f, "--nesterov", &TrainConfig::nesterov, "Nesterov momentum (SGD)");
  option(cmd, *f, "--schedule", &TrainConfig::schedule, "constant, step or cosine");
  option(cmd, *f, "--step-size", &TrainConfig::step_size, "Epochs between LR drops (step schedule)");
  option(cmd, *f, "--gamma", &TrainConfig::gamma, "LR factor per drop (step schedule)");
  option(cmd, *f, "--warmup-epochs", &TrainConfig::warmup_epochs, "Linear warmup epochs (cosine schedule)");
  option(cmd, *f, "--label-smoothing", &TrainConfig::label_smoothing, "Label smoothing in [0, 1)");
  option(cmd, *f, "--clip-grad-norm", &TrainConfig::clip_grad_norm, "Clip the gradient norm to this (0: off)");
  option(cmd, *f, "--dropout", &TrainConfig::dropout, "Dropout probability (negative: the model's default)");
  option(cmd, *f, "--drop-path", &TrainConfig::drop_path,
         "Stochastic depth: the deepest block's drop probability, shallower ones linearly less (ConvNeXt, "
         "EfficientNet; negative: torchvision's 0.1-0.5 / 0.2)");
  flag(cmd, *f, "--memory-efficient,!--no-memory-efficient", &TrainConfig::memory_efficient,
       "DenseNet: recompute each layer's concatenation in backward instead of keeping it (less memory, slower)");
  flag(cmd, *f, "--fusion,!--no-fusion", &TrainConfig::fusion,
       "Run the fused and specialized paths: batch norm, a ResNet block's shortcut add and the ReLU/ReLU6 after it "
       "as one op (in validation the convolution before them too; on CUDA in training, the convolution sums its "
       "output for the batch norm's statistics in the same cuDNN graph), and the specialized depthwise 3x3/5x5 "
       "kernels (the same numbers but for rounding: the depthwise weight gradients', and on CUDA the statistics' "
       "one-pass sums; --no-fusion to compare speed)");
  flag(cmd, *f, "--channels-last", &TrainConfig::channels_last,
       "Store the activations channels-last (NHWC): each batch is converted once, and the convolutions, batch "
       "norm, pooling and elementwise ops keep the format (faster for MobileNets on the CPU; docs/perf.md)");
  flag(cmd, *f, "--multi-tensor,!--no-multi-tensor", &TrainConfig::multi_tensor,
       "Update all parameters in one optimizer call (the same numbers; --no-multi-tensor to compare speed)");
  flag(cmd, *f, "--sync-every-step", &TrainConfig::sync_every_step,
       "Wait for the device after every step to read its loss and gradient norm (by default they stay on the "
       "device until the progress line or the epoch's end needs them; the same numbers: to compare speed)");
  flag(cmd, *f, "--cuda-graphs", &TrainConfig::cuda_graphs,
       "Capture the training step once as a CUDA graph and replay it for every full batch (one launch per step "
       "instead of hundreds; the same numbers). CUDA only; not with --detect-anomaly, --skip-nonfinite, "
       "--distributed, --class-weights or stochastic depth (train/captured_step.h)");
  flag(cmd, *f, "--freeze-backbone", &TrainConfig::freeze_backbone, "Train only the classifier head");
  flag(cmd, *f, "--detect-anomaly", &TrainConfig::detect_anomaly,
       "On a NaN or infinite loss or gradient, name the layer where it arose (checks every layer: slow)");
  option(cmd, *f, "--skip-nonfinite", &TrainConfig::skip_nonfinite,
         "Skip up to N steps whose loss or gradients are NaN or infinite before stopping");
  option(cmd, *f, "--monitor", &TrainConfig::monitor, "val_acc or val_loss: picks the best epoch");
  option(cmd, *f, "--patience", &TrainConfig::patience, "Stop after this many epochs without improvement (0: never)");
  flag(cmd, *f, "--restore-best,!--no-restore-best", &TrainConfig::restore_best, "Test the best epoch, not the last");
  option(cmd, *f, "--max-minutes", &TrainConfig::max_minutes, "Time limit: no epoch starts that would end past it (0: none)");
  option(cmd, *f, "--seed", &TrainConfig::seed, "Seed for the split, init, shuffling, augmentation and dropout");
  flag(cmd, *f, "--resume", &TrainConfig::resume,
       "Continue the run in OUT with its saved configuration (only --epochs, --patience, --max-minutes, --threads, "
       "--device, --data, --manifest, --detect-anomaly, --skip-nonfinite may change)");
  flag(cmd, *f, "--overwrite", &TrainConfig::overwrite, "Delete the previous run's files in OUT before training");
  flag(cmd, *f, "--distributed", &TrainConfig::distributed,
       "Data parallel over the ranks of mpirun (docs/training.md); --batch-size is per rank");
  flag(cmd, *f, "--sync-bn", &TrainConfig::sync_bn, "Batch norm with the statistics of every rank's batch (on CUDA staged through the host: slow; default: per rank)");
  // Epoch summaries and the final metrics table go to stdout; the progress bar to stderr.
  cmd->callback([f, cmd] {
    hemo::train::run_training(resolve_train_flags(*f, *cmd),
                              [](const std::string& line) { std::cout << line << "\n" << std::flush; });
  });
}

}  // namespace
HEMO_COMMAND("", 10, add_train_command);
