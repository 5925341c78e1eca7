#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "data/image_folder.h"
#include "data/manifest.h"
#include "data/sampler.h"
#include "data/source.h"
#include "models/registry.h"
#include "nn/ops_loss.h"
#include "nn/state_dict.h"
#include "tensor/autograd.h"
#include "tensor/rng.h"
#include "train/checkpoint.h"
#include "train/evaluate.h"
#include "train/gradcam_report.h"
#include "train/optim.h"
#include "train/progress.h"
#include "train/report_html.h"
#include "train/run_files.h"
#include "train/schedule.h"
#include "train/tensorboard.h"

namespace hemo::train {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::unique_ptr<Optimizer> make_optimizer(const TrainConfig& c, std::vector<Tensor> params) {
  if (c.optimizer == OptimizerKind::sgd) return std::make_unique<Sgd>(std::move(params), SgdOptions{c.lr, c.momentum, 0, c.weight_decay, c.nesterov});
  AdamOptions o;
  o.lr = c.lr;
  o.weight_decay = c.weight_decay;
  o.decoupled = c.optimizer == OptimizerKind::adamw;
  return std::make_unique<Adam>(std::move(params), o);
}

Schedule make_schedule(const TrainConfig& c) {
  Schedule s;
  s.kind = c.schedule;
  s.base_lr = c.lr;
  s.step_size = c.step_size;
  s.gamma = c.gamma;
  s.warmup_epochs = c.warmup_epochs;
  s.total_epochs = c.epochs;
  return s;
}

nlohmann::json generator_state(const Generator& g) {
  auto s = g.state();
  return {{"seed", s.seed}, {"stream", s.stream}, {"offset", s.offset}, {"buffered", s.buffered}};
}

void set_generator_state(Generator& g, const nlohmann::json& j) {
  g.set_state({j.at("seed").get<uint64_t>(), j.at("stream").get<uint64_t>(), j.at("offset").get<uint64_t>(),
               j.at("buffered").get<uint64_t>()});
}

bool improved(Monitor monitor, double value, double best, bool have_best) {
  if (!have_best) return true;
  return monitor == Monitor::val_loss ? value < best : value > best;
}

}  // namespace

TrainResult run_training(const TrainConfig& config, const std::function<void(const std::string&)>& log_fn) {
  auto log = [&](const std::string& line) {
    if (log_fn)
      log_fn(line);
    else
      std::cerr << line << "\n";
  };
  config.validate();
  const fs::path run_dir = config.out;
  fs::create_directories(run_dir);
  const Device device = resolve(config.device);

  // ---- data ----
  HEMO_CHECK(!config.data.empty(), "no data folder given (--data DIR: an ImageFolder of class subfolders)");
  HEMO_CHECK(fs::is_directory(config.data), "data folder ", config.data, " does not exist or is not a folder");
  data::SplitOptions split;
  split.ratios = {config.split_train, config.split_val, config.split_test};
  split.seed = config.seed;
  std::vector<data::Skipped> skipped;
  fs::path manifest_path = config.manifest.empty() ? run_dir / "split.csv" : fs::path(config.manifest);
  data::Manifest manifest = data::load_or_create_manifest(config.data, manifest_path, split, &skipped);
  for (const auto& s : skipped) log("skipped " + s.path + ": " + s.reason);
  const int64_t num_classes = static_cast<int64_t>(manifest.classes.size());
  const std::string split_hash = manifest_hash(manifest.to_csv());

  const models::ModelSpec& spec = models::model_spec(config.model);
  const int64_t input = config.input_size > 0 ? config.input_size : spec.default_input;
  auto train_samples = manifest.samples(data::Split::Train);
  auto val_samples = manifest.samples(data::Split::Val);
  auto test_samples = manifest.samples(data::Split::Test);
  HEMO_CHECK(!train_samples.empty(), "the split of ", config.data, " has no training images");
  if (val_samples.empty()) val_samples = test_samples;
  HEMO_CHECK(!val_samples.empty(), "the split of ", config.data, " has neither validation nor test images");
  log(cat("data: ", config.data, ": ", num_classes, " classes; ", train_samples.size(), " train, ", val_samples.size(),
          " val, ", test_samples.size(), " test images (", skipped.size(), " skipped); input ", input, "x", input));

  data::TransformSpec train_tf = config.augment ? data::TransformSpec::train(static_cast<int>(input))
                                                : data::TransformSpec::eval(static_cast<int>(input));
  if (config.augment) {
    train_tf.rotation = static_cast<float>(config.rotation);
    train_tf.vflip = config.vflip ? 0.5f : 0.0f;
  }
  data::TransformSpec eval_tf = data::TransformSpec::eval(static_cast<int>(input));
  auto train_src = std::make_shared<data::FileSource>(train_samples);
  data::LoaderOptions train_opts;
  train_opts.batch_size = config.batch_size;
  train_opts.threads = config.threads;
  train_opts.seed = config.seed;
  train_opts.order = config.balanced_sampler ? data::Order::Weighted : data::Order::Shuffle;
  train_opts.allocator = batch_allocator(device);
  data::Loader train_loader(train_src, train_tf, train_opts);
  data::LoaderOptions eval_opts = train_opts;
  eval_opts.order = data::Order::Sequential;
  data::Loader val_loader(std::make_shared<data::FileSource>(val_samples), eval_tf, eval_opts);

  // ---- model, optimizer, state ----
  // Two streams of the seed: initialization, and dropout (layers draw from the default generator
  // unless a model hands them its own; both are saved in every checkpoint).
  Generator init_gen(config.seed, 1);
  default_generator().set_state({config.seed, 2, 0, 0});
  models::ModelOptions mopt;
  mopt.input_size = input;
  if (config.dropout >= 0) mopt.dropout = config.dropout;
  nn::ModulePtr model = models::create_model(config.model, num_classes, mopt, init_gen);
  if (!config.pretrained.empty()) {
    Checkpoint pre = load_checkpoint(config.pretrained);
    HEMO_CHECK(pre.meta.architecture == config.model, "--pretrained ", config.pretrained, " holds a ",
               pre.meta.architecture, " but --model is ", config.model);
    auto report = nn::load_state_dict(*model, pre.model, nn::LoadMode::transfer, spec.head);
    log(cat("pretrained: ", report.loaded.size(), " tensors from ", config.pretrained,
            report.reinitialized.empty() ? "" : cat("; re-initialized ", spec.head, " for ", num_classes, " classes")));
  }
  if (config.freeze_backbone) nn::freeze_backbone(*model, spec.head);
  model->to(device);
  std::vector<Tensor> params;
  for (const Tensor& p : model->parameters())
    if (p.requires_grad()) params.push_back(p);
  auto optimizer = make_optimizer(config, params);
  Schedule schedule = make_schedule(config);
  Tensor class_weights;
  if (config.class_weights) {
    auto w = data::balanced_class_weights(train_src->labels(), num_classes);
    class_weights = Tensor::from_vector(w, {num_classes}).to(device);
  }

  ModelMeta meta;
  meta.architecture = config.model;
  meta.num_classes = num_classes;
  meta.class_names = manifest.classes;
  meta.input_size = input;
  meta.mean = {eval_tf.mean[0], eval_tf.mean[1], eval_tf.mean[2]};
  meta.std = {eval_tf.std[0], eval_tf.std[1], eval_tf.std[2]};

  RunFiles files(run_dir.string(), /*append=*/config.resume);
  nlohmann::json history = nlohmann::json::array();
  int start_epoch = 0, best_epoch = -1, stale = 0;
  double best_value = 0;
  const fs::path last_path = run_dir / "last.safetensors", best_path = run_dir / "best.safetensors";
  if (config.resume) {
    Checkpoint last = load_checkpoint(last_path.string());
    check_matches(last, config.model, num_classes);
    HEMO_CHECK(last.train_state.is_object(), last_path.string(), " holds no training state to resume from");
    const auto& st = last.train_state;
    HEMO_CHECK(st.at("manifest_hash") == split_hash, "--resume: the split manifest changed since ", last_path.string(),
               " was written; resuming would train on other images");
    nn::load_state_dict(*model, last.model);
    optimizer->load_state(last.optimizer);
    set_generator_state(default_generator(), st.at("dropout_rng"));
    set_generator_state(init_gen, st.at("init_rng"));
    start_epoch = st.at("epoch").get<int>() + 1;
    best_epoch = st.at("best_epoch").get<int>();
    best_value = st.at("best_value").get<double>();
    stale = st.at("stale").get<int>();
    history = st.at("history");
    files.restore_history(history);
    log(cat("resuming ", last_path.string(), " after epoch ", start_epoch));
  } else {
    files.write_config(config.to_json());
  }

  TrainResult result;
  result.run_dir = run_dir.string();
  for (const auto& h : history) result.train_losses.push_back(h.at("train_loss").get<double>());
  const auto run_start = Clock::now();
  double longest_epoch = 0;

  for (int epoch = start_epoch; epoch < config.epochs; ++epoch) {
    const auto t0 = Clock::now();
    const double lr = schedule.lr_at(epoch);
    optimizer->set_lr(lr);
    model->train();
    train_loader.start_epoch(epoch);
    Progress progress(cat("epoch ", epoch + 1, "/", config.epochs), train_loader.samples_per_epoch());
    double loss_sum = 0;
    int64_t seen = 0, correct = 0, step = 0;
    while (auto batch = train_loader.next()) {
      Tensor x = batch_tensor(*batch, device);
      Tensor logits = (*model)(x);
      Tensor loss = nn::cross_entropy(logits, batch->labels, class_weights, config.label_smoothing);
      double value = loss.item();
      HEMO_CHECK(std::isfinite(value), "training stopped: the loss became ", value, " at epoch ", epoch + 1, ", step ",
                 step + 1, " (lr ", lr, "); no checkpoint was written from this step. Try a lower --lr or --clip-grad-norm.");
      optimizer->zero_grad();
      loss.backward();
      if (config.clip_grad_norm > 0) clip_grad_norm(params, config.clip_grad_norm);
      optimizer->step();
      {
        Tensor host = logits.detach().to(Device::cpu());
        const float* p = host.data<float>();
        int64_t k = host.size(1);
        for (int64_t i = 0; i < batch->n; ++i) {
          int64_t best = 0;
          for (int64_t c = 1; c < k; ++c)
            if (p[i * k + c] > p[i * k + best]) best = c;
          correct += best == batch->labels[static_cast<size_t>(i)];
        }
      }
      loss_sum += value * static_cast<double>(batch->n);
      seen += batch->n;
      ++step;
      progress.update(seen, cat("loss ", loss_sum / static_cast<double>(seen)));
    }
    progress.finish();
    const double train_seconds = seconds_since(t0);
    Predictions val = predict(*model, val_loader, device);

    EpochRecord rec;
    rec.epoch = epoch + 1;
    rec.train_loss = loss_sum / static_cast<double>(std::max<int64_t>(seen, 1));
    rec.train_acc = static_cast<double>(correct) / static_cast<double>(std::max<int64_t>(seen, 1));
    rec.val_loss = val.loss;
    rec.val_acc = val.accuracy();
    rec.lr = lr;
    rec.images_per_s = static_cast<double>(seen) / std::max(train_seconds, 1e-9);
    rec.seconds = seconds_since(t0);
    files.log_epoch(rec);
    result.train_losses.push_back(rec.train_loss);
    history.push_back(to_json(rec));

    const double monitored = config.monitor == Monitor::val_loss ? rec.val_loss : rec.val_acc;
    const bool better = improved(config.monitor, monitored, best_value, best_epoch >= 0);
    if (better) {
      best_epoch = epoch;
      best_value = monitored;
      stale = 0;
    } else {
      ++stale;
    }
    log(cat("epoch ", rec.epoch, "/", config.epochs, ": train loss ", rec.train_loss, " acc ", rec.train_acc, " | val loss ",
            rec.val_loss, " acc ", rec.val_acc, " | lr ", lr, " | ", static_cast<int64_t>(rec.images_per_s), " img/s, ",
            static_cast<int64_t>(rec.seconds), " s", better ? " | best" : ""));

    nlohmann::json state = {{"epoch", epoch},
                            {"best_epoch", best_epoch},
                            {"best_value", best_value},
                            {"stale", stale},
                            {"monitor", option_name(config.monitor)},
                            {"optimizer", optimizer->name()},
                            {"dropout_rng", generator_state(default_generator())},
                            {"init_rng", generator_state(init_gen)},
                            {"manifest_hash", split_hash},
                            {"history", history},
                            {"config", config.to_json()}};
    save_checkpoint(last_path.string(), *model, meta, optimizer.get(), state);
    if (better) save_checkpoint(best_path.string(), *model, meta, nullptr, state);
    ++result.epochs_run;

    if (config.patience > 0 && stale >= config.patience) {
      log(cat("early stop: ", option_name(config.monitor), " has not improved for ", stale, " epochs (best at epoch ", best_epoch + 1, ")"));
      break;
    }
    longest_epoch = std::max(longest_epoch, rec.seconds);
    if (config.max_minutes > 0 && epoch + 1 < config.epochs &&
        seconds_since(run_start) + longest_epoch > config.max_minutes * 60) {
      log(cat("stopping: another epoch would pass the time limit of ", config.max_minutes, " minutes"));
      break;
    }
  }

  // ---- test ----
  if (config.restore_best && fs::exists(best_path)) {
    nn::load_state_dict(*model, load_checkpoint(best_path.string()).model);
    log(cat("evaluating the best epoch (", best_epoch + 1, ") on the test split"));
  }
  auto eval_samples = test_samples.empty() ? val_samples : test_samples;
  data::Loader test_loader(std::make_shared<data::FileSource>(eval_samples), eval_tf, eval_opts);
  Predictions test = predict(*model, test_loader, device, "test");
  result.test = compute_metrics(test.truth, test.predicted, test.probabilities, manifest.classes);
  result.best_epoch = best_epoch;
  result.best_value = best_value;
  files.write_evaluation(result.test, test.paths, test.truth, test.predicted, test.probabilities, manifest.classes);
  // Grad-CAM overlays of test images for report.html (train/gradcam_report.h).
  const std::vector<GalleryItem> gallery = report_gallery(*model, meta, test, device);
  files.write_report(config.to_json(), history, result.test, cat("hemo: ", config.model, " on ", config.data), gallery);
  log(format_table(result.test));
  log("run directory: " + run_dir.string());
  return result;
}

}  // namespace hemo::train
