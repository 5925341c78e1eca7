#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <utility>

#include "data/image_folder.h"
#include "data/manifest.h"
#include "data/sampler.h"
#include "data/skip_log.h"
#include "data/source.h"
#include "kernels/precision.h"
#include "models/aux_classifiers.h"
#include "models/registry.h"
#include "nn/fusion.h"
#include "nn/ops_elementwise.h"
#include "nn/ops_loss.h"
#include "nn/ops_step.h"
#include "nn/state_dict.h"
#include "tensor/autograd.h"
#include "tensor/rng.h"
#include "train/anomaly.h"
#include "train/captured_step.h"
#include "train/checkpoint.h"
#include "train/comm.h"
#include "train/evaluate.h"
#include "train/grad_reduce.h"
#include "train/hints.h"
#include "train/interrupt.h"
#include "train/gradcam_report.h"
#include "train/optim.h"
#include "train/progress.h"
#include "train/report_html.h"
#include "train/run_dir.h"
#include "train/run_files.h"
#include "train/schedule.h"
#include "train/setup.h"
#include "train/step_meter.h"
#include "train/tensorboard.h"
#include "train/train_state.h"

namespace hemo::train {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The data of a run: the split, its loaders and the transforms, from the configuration.
struct RunData {
  data::Manifest manifest;
  std::string split_hash;
  std::vector<data::Sample> train, val, test;
  data::TransformSpec train_tf, eval_tf;
  data::LoaderOptions eval_opts;
  std::shared_ptr<data::FileSource> train_src;
  std::unique_ptr<data::Loader> train_loader, val_loader;
  int64_t num_classes() const { return static_cast<int64_t>(manifest.classes.size()); }
};

// One training run, as named steps: run() = prepare the data, build the model, start or resume,
// then per epoch train, validate, keep the best and checkpoint, until done or stopped; then test.
class Trainer {
 public:
  Trainer(const TrainConfig& config, std::function<void(const std::string&)> log, std::shared_ptr<Communicator> comm)
      : config_(with_world(config, comm->size())), log_(std::move(log)), run_dir_(config.out), comm_(std::move(comm)) {}

  TrainResult run() {
    config_.validate();
    models::validate_options(config_.model, model_options());  // before --overwrite deletes anything
    device_ = resolve(config_.device);
    HEMO_CHECK(!config_.cuda_graphs || device_.is_cuda(), "--cuda-graphs needs a CUDA device (--device cuda); this run "
               "is on ", device_.str());
    set_precision(config_.precision);
    if (root()) {  // the run directory's rules: train/run_dir.h
      if (config_.resume) {
        check_resume_config(saved_run_config(run_dir_.string()), config_);
      } else {
        const std::vector<std::string> deleted = prepare_new_run_dir(config_);
        if (!deleted.empty()) log(cat("--overwrite: deleted the previous run's ", deleted.size(), " files in ", run_dir_.string()));
      }
      std::error_code ec;
      fs::create_directories(run_dir_, ec);
      HEMO_CHECK(!ec, "cannot create the run directory ", run_dir_.string(), ": ", ec.message());
    }
    prepare_data();
    build_model();
    start_or_resume();
    TrainResult result;
    result.run_dir = run_dir_.string();
    for (const auto& h : state_.history) result.train_losses.push_back(h.at("train_loss").get<double>());
    const auto run_start = Clock::now();
    double longest_epoch = 0;
    for (int epoch = state_.epoch + 1; epoch < config_.epochs; ++epoch) {
      const EpochRecord rec = train_epoch(epoch);
      result.train_losses.push_back(rec.train_loss);
      ++result.epochs_run;
      if (agree(stop_early())) break;
      longest_epoch = std::max(longest_epoch, rec.seconds);
      if (agree(out_of_time(epoch, seconds_since(run_start) + longest_epoch))) break;
    }
    if (const std::string hint = not_learning_hint(state_.history, val_labels(), d_.num_classes(),
                                                   static_cast<int64_t>(d_.train.size()), config_);
        !hint.empty())
      log(hint);
    test(result);
    if (root()) skips_.report_total("hemo train");
    return result;
  }

 private:
  static TrainConfig with_world(TrainConfig c, int size) {
    c.world_size = size;
    return c;
  }
  bool root() const { return comm_->is_root(); }
  std::vector<int64_t> val_labels() const {
    std::vector<int64_t> labels;
    for (const data::Sample& s : d_.val) labels.push_back(s.label);
    return labels;
  }
  // Rank 0's answer on every rank (time limits differ between ranks' clocks).
  bool agree(bool mine) const {
    uint8_t b = mine ? 1 : 0;
    comm_->broadcast(std::span<uint8_t>(&b, 1), 0, "the broadcast of rank 0's decision to stop");
    return b != 0;
  }

  // Rank 0 alone logs and writes the run directory; every rank computes the same decisions.
  void log(const std::string& line) const {
    if (!root()) return;
    if (log_)
      log_(line);
    else
      std::cerr << line << "\n";
  }

  void prepare_data() {
    HEMO_CHECK(!config_.data.empty(), "no data folder given (--data DIR: an ImageFolder of class subfolders)");
    HEMO_CHECK(fs::is_directory(config_.data), "data folder ", config_.data, " does not exist or is not a folder");
    data::SplitOptions split;
    split.ratios = {config_.split_train, config_.split_val, config_.split_test};
    split.seed = config_.seed;
    std::vector<data::Skipped> skipped;
    const fs::path manifest_path = config_.manifest.empty() ? run_dir_ / "split.csv" : fs::path(config_.manifest);
    // Rank 0 creates the manifest; the others read it after the barrier.
    if (root()) d_.manifest = data::load_or_create_manifest(config_.data, manifest_path, split, &skipped);
    comm_->barrier("the barrier after rank 0 wrote the split manifest");
    if (!root()) d_.manifest = data::load_or_create_manifest(config_.data, manifest_path, split, &skipped);
    if (root()) skips_.add_all(skipped);  // stderr, as the loaders' skips below
    d_.split_hash = manifest_hash(d_.manifest.to_csv());
    input_ = config_.input_size > 0 ? config_.input_size : models::model_spec(config_.model).default_input;
    d_.train = d_.manifest.samples(data::Split::Train);
    d_.val = d_.manifest.samples(data::Split::Val);
    d_.test = d_.manifest.samples(data::Split::Test);
    HEMO_CHECK(!d_.train.empty(), "the split of ", config_.data, " has no training images");
    if (d_.val.empty()) d_.val = d_.test;
    HEMO_CHECK(!d_.val.empty(), "the split of ", config_.data, " has neither validation nor test images");
    log(cat("data: ", config_.data, ": ", d_.num_classes(), " classes; ", d_.train.size(), " train, ", d_.val.size(),
            " val, ", d_.test.size(), " test images (", skipped.size(), " skipped); input ", input_, "x", input_));

    const int side = static_cast<int>(input_);
    d_.train_tf = train_transform(config_, side);
    d_.eval_tf = data::TransformSpec::eval(side);
    d_.train_src = std::make_shared<data::FileSource>(d_.train);
    data::LoaderOptions train_opts;
    train_opts.batch_size = config_.batch_size;
    train_opts.threads = config_.threads;
    train_opts.seed = config_.seed;
    train_opts.order = config_.balanced_sampler ? data::Order::Weighted : data::Order::Shuffle;
    train_opts.allocator = batch_allocator(device_);
    train_opts.shard_rank = comm_->rank();
    train_opts.shard_count = comm_->size();
    train_opts.on_skip = skips_.callback();  // an unreadable image is skipped, named on stderr
    if (comm_->size() > 1)
      log(cat("distributed: ", comm_->size(), " ranks (", comm_->backend(), "), batch ", config_.batch_size,
              " per rank, global batch ", config_.batch_size * comm_->size()));
    d_.train_loader = std::make_unique<data::Loader>(d_.train_src, d_.train_tf, train_opts);
    d_.eval_opts = train_opts;
    d_.eval_opts.shard_rank = 0, d_.eval_opts.shard_count = 1;  // every rank evaluates the whole split
    d_.eval_opts.order = data::Order::Sequential;
    d_.val_loader = std::make_unique<data::Loader>(std::make_shared<data::FileSource>(d_.val), d_.eval_tf, d_.eval_opts);
  }

  models::ModelOptions model_options() const {
    models::ModelOptions mopt;
    if (config_.dropout >= 0) mopt.dropout = config_.dropout;
    mopt.stochastic_depth = config_.drop_path;
    mopt.memory_efficient = config_.memory_efficient;
    return mopt;
  }

  void build_model() {
    // A speed switch (nn/fusion.h): the same numbers either way, but for the rounding of the
    // depthwise weight gradients (the specialized kernels sum them in another order).
    nn::set_fusion_enabled(config_.fusion);
    // Two streams of the seed: initialization, and dropout (layers draw from the default generator
    // unless a model hands them its own; both are saved in every checkpoint).
    default_generator().set_state({config_.seed, 2, 0, 0});
    models::ModelOptions mopt = model_options();
    mopt.input_size = input_;
    const models::ModelSpec& spec = models::model_spec(config_.model);
    model_ = models::create_model(config_.model, d_.num_classes(), mopt, init_gen_);
    if (!config_.pretrained.empty()) load_pretrained(spec);
    if (config_.freeze_backbone) nn::freeze_backbone(*model_, spec.head);
    model_->to(device_);
    for (const auto& [name, p] : model_->named_parameters())
      if (p.requires_grad()) params_.push_back(p), named_params_.emplace_back(name, p);
    if (config_.detect_anomaly) anomaly_ = std::make_unique<AnomalyDetector>(*model_);
    if (config_.sync_bn && comm_->size() > 1) sync_batch_norms();
    if (comm_->size() > 1) {
      std::unique_ptr<DeviceCollectives> device_collectives = device_.is_cuda() ? make_nccl_collectives(comm_) : nullptr;
      log(cat("gradients: all-reduced ",
              device_collectives ? cat("on the device by ", device_collectives->name())
                                 : cat("on the host by ", comm_->backend(),
                                       device_.is_cuda() ? " (no NCCL in this build: copied from the device)" : "")));
      reducer_ = std::make_unique<GradReducer>(comm_, params_, std::move(device_collectives), bucket_bytes_from_env());
    }
    // Debug seam: HEMO_STEP_READ_INTERVAL_S sets how often the step meter is read (default 0.5 s).
    const char* interval = std::getenv("HEMO_STEP_READ_INTERVAL_S");
    meter_ = std::make_unique<StepMeter>(device_, interval && *interval ? std::atof(interval) : 0.5);
    optimizer_ = make_optimizer(config_, params_);
    optimizer_->set_multi_tensor(config_.multi_tensor);
    if (config_.cuda_graphs) captured_ = std::make_unique<CapturedStep>(device_, *optimizer_, default_generator());
    schedule_ = make_schedule(config_);
    if (config_.class_weights) {
      auto w = data::balanced_class_weights(d_.train_src->labels(), d_.num_classes());
      class_weights_ = Tensor::from_vector(w, {d_.num_classes()}).to(device_);
    }
    meta_.architecture = config_.model;
    meta_.num_classes = d_.num_classes();
    meta_.class_names = d_.manifest.classes;
    meta_.input_size = input_;
    meta_.mean = {d_.eval_tf.mean[0], d_.eval_tf.mean[1], d_.eval_tf.mean[2]};
    meta_.std = {d_.eval_tf.std[0], d_.eval_tf.std[1], d_.eval_tf.std[2]};
  }

  // --sync-bn: every BatchNorm2d normalizes with the global batch's statistics (nn/ops_sync_norm.h).
  void sync_batch_norms() {
    const int64_t g = config_.batch_size * comm_->size(), last = d_.train_loader->samples_per_epoch() % g;
    HEMO_CHECK(last == 0 || last > g - config_.batch_size, "--sync-bn: the last step of an epoch holds ", last,
               " images, which leaves a rank without any; every rank must run every step's forward. Pick a --batch-size B "
               "such that the ", d_.train_loader->samples_per_epoch(), " training images leave either nothing or more than ",
               comm_->size() - 1, " x B for the last step");
    synchronize_batch_norms(*model_, comm_);
  }

  void load_pretrained(const models::ModelSpec& spec) {
    Checkpoint pre = load_checkpoint(config_.pretrained);
    HEMO_CHECK(pre.meta.architecture == config_.model, "--pretrained ", config_.pretrained, " holds a ",
               pre.meta.architecture, " but --model is ", config_.model);
    auto report = nn::load_state_dict(*model_, pre.model, nn::LoadMode::transfer, spec.head);
    log(cat("pretrained: ", report.loaded.size(), " tensors from ", config_.pretrained,
            report.reinitialized.empty() ? "" : cat("; re-initialized ", spec.head, " for ", d_.num_classes(), " classes")));
  }

  void start_or_resume() {
    if (root()) files_ = std::make_unique<RunFiles>(run_dir_.string(), /*append=*/config_.resume);
    state_.monitor = config_.monitor;
    if (!config_.resume) {
      if (root()) files_->write_config(config_.to_json());
      return;
    }
    const std::string last = last_path().string();
    Checkpoint ckpt = load_checkpoint(last);
    check_matches(ckpt, config_.model, d_.num_classes());
    HEMO_CHECK(ckpt.train_state.is_object(), last, " holds no training state to resume from");
    state_ = TrainState::from_json(ckpt.train_state, last);
    HEMO_CHECK(state_.manifest_hash == d_.split_hash, "--resume: the split manifest changed since ", last,
               " was written; resuming would train on other images");
    nn::load_state_dict(*model_, ckpt.model);
    optimizer_->load_state(ckpt.optimizer);
    default_generator().set_state(state_.dropout_rng);
    init_gen_.set_state(state_.init_rng);
    state_.monitor = config_.monitor;
    if (root()) files_->restore_history(state_.history);
    log(cat("resuming ", last, " after epoch ", state_.epoch + 1));
  }

  // One epoch: the training pass, validation, the epoch's record, the best so far, checkpoints.
  EpochRecord train_epoch(int epoch) {
    const auto t0 = Clock::now();
    const double lr = schedule_.lr_at(epoch);
    optimizer_->set_lr(lr);
    model_->train();
    data::Loader& loader = *d_.train_loader;
    // An epoch interrupted part way (train/interrupt.h) goes on from its next step, with its sums.
    const PartialEpoch resumed = std::exchange(state_.partial, PartialEpoch{});
    loader.start_epoch(epoch, resumed.steps);
    std::optional<Progress> progress;  // rank 0's own samples; the record below sums all ranks
    if (root()) progress.emplace(cat("epoch ", epoch + 1, "/", config_.epochs), loader.shard_samples_per_epoch());
    // The epoch's sums so far: the resumed part's plus the meter's (read when due, not every step).
    meter_->reset();
    int64_t step = resumed.steps, queued = resumed.seen;  // queued: images of the steps taken
    const auto sums = [&] {
      const StepTotals t = meter_->read();
      if (t.bad_step >= 0 && !sync_steps()) stop_nonfinite(t.bad_loss, t.bad_norm, param_name(t.bad_param), epoch, t.bad_step, lr);
      return PartialEpoch{step, resumed.loss_sum + t.loss_sum, resumed.correct + t.correct, resumed.seen + t.seen,
                          resumed.seconds + seconds_since(t0)};
    };
    std::string shown_loss;
    while (auto batch = loader.next()) {
      if (train_step(*batch, lr, epoch, batch->number)) queued += batch->n;
      step = batch->number + 1;  // (the loader passes over a batch whose every image was unreadable)
      if (sync_steps() || meter_->read_due()) {
        const PartialEpoch now = sums();
        if (now.seen > 0) shown_loss = cat("loss ", now.loss_sum / static_cast<double>(now.seen));
      }
      if (progress) progress->update(queued, shown_loss);
      if (interrupted(/*after_step=*/true)) stop_interrupted(epoch, sums());
    }
    const PartialEpoch end = sums();
    if (progress) progress->finish();
    double totals[3] = {end.loss_sum, static_cast<double>(end.correct), static_cast<double>(end.seen)};
    comm_->allreduce_sum(std::span<double>(totals, 3), "the all-reduce of the epoch's training metrics");
    const double loss_sum = totals[0];
    const int64_t correct = static_cast<int64_t>(totals[1]), seen = static_cast<int64_t>(totals[2]);
    const double train_seconds = resumed.seconds + seconds_since(t0);
    if (reducer_)
      log(cat("epoch ", epoch + 1, ": ", comm_->size(), " ranks; rank 0 waited ", reducer_->take_wait_seconds(),
              " s of ", train_seconds, " s for the gradient all-reduce (", reducer_->num_buckets(), " buckets)"));
    if (captured_)
      log(cat("--cuda-graphs: ", captured_->replays(), " steps replayed so far (",
              captured_->rng_blocks_per_step(), " random blocks per step; the capture allocated ",
              captured_->capture_mallocs(), " new blocks)"));
    const Predictions val = predict(*model_, *d_.val_loader, device_, "", format());

    EpochRecord rec;
    rec.epoch = epoch + 1;
    rec.train_loss = loss_sum / static_cast<double>(std::max<int64_t>(seen, 1));
    rec.train_acc = static_cast<double>(correct) / static_cast<double>(std::max<int64_t>(seen, 1));
    rec.val_loss = val.loss;
    rec.val_acc = val.accuracy();
    rec.lr = lr;
    rec.images_per_s = static_cast<double>(seen) / std::max(train_seconds, 1e-9);
    rec.seconds = resumed.seconds + seconds_since(t0);
    if (root()) files_->log_epoch(rec);
    state_.history.push_back(to_json(rec));
    const bool better = state_.record(epoch, config_.monitor == Monitor::val_loss ? rec.val_loss : rec.val_acc);
    log(cat("epoch ", rec.epoch, "/", config_.epochs, ": train loss ", rec.train_loss, " acc ", rec.train_acc,
            " | val loss ", rec.val_loss, " acc ", rec.val_acc, " | lr ", lr, " | ",
            static_cast<int64_t>(rec.images_per_s), " img/s, ", static_cast<int64_t>(rec.seconds), " s",
            better ? " | best" : ""));
    if (root()) save_checkpoints(better);
    if (interrupted()) stop_interrupted(epoch + 1, {});  // during validation: the epoch is complete and saved
    return rec;
  }

  // A SIGINT or SIGTERM arrived (rank 0's decides for every rank). Debug seam: the environment's
  // HEMO_INTERRUPT_AT_STEP raises SIGINT after that optimizer step of this process.
  bool interrupted(bool after_step = false) {
    if (after_step && interrupt_at_step_ > 0 && ++steps_in_process_ == interrupt_at_step_) std::raise(SIGINT);
    const bool mine = interrupt_signal() != 0;
    return comm_->size() > 1 ? agree(mine) : mine;
  }

  // Saves `last` with the interrupted epoch's position (nothing new if `partial` is empty: the
  // checkpoint of the epoch just completed is already written) and stops the run.
  [[noreturn]] void stop_interrupted(int epoch, const PartialEpoch& partial) {
    const int sig = interrupt_signal() ? interrupt_signal() : SIGINT;
    if (partial.steps > 0) {
      state_.partial = partial;
      if (root()) save_checkpoints(false);
    }
    const std::string where = partial.steps > 0 ? cat("epoch ", epoch + 1, ", step ", partial.steps, " of ",
                                                      d_.train_loader->batches_per_epoch())
                                                : cat("the end of epoch ", epoch);
    throw Interrupted(sig, cat("interrupted by ", sig == SIGTERM ? "SIGTERM" : "SIGINT", " at ", where, "; ",
                               last_path().string(), " holds the run up to there. Continue it with: hemo train --out ",
                               run_dir_.string(), " --resume"));
  }

  // Whether every step's loss and gradient norm are read at once (train/step_meter.h): when the
  // loop acts on them within the step, or to compare (--sync-every-step).
  bool sync_steps() const {
    return config_.sync_every_step || config_.skip_nonfinite > 0 || anomaly_ || comm_->size() > 1;
  }

  std::string param_name(int64_t i) const {
    return i >= 0 && i < static_cast<int64_t>(named_params_.size()) ? named_params_[static_cast<size_t>(i)].first : "";
  }

  // Forward, loss, backward, update on one batch; its loss, accuracy and gradient norm go to the
  // step meter. False: a non-finite step was skipped (synchronous mode only; deferred, such a step
  // is found at the meter's next read, which stops the run).
  // Distributed: the gradients are averaged over the ranks (train/grad_reduce.h); a rank with no
  // sample in this step only joins the all-reduce.
  bool train_step(const data::Batch& batch, double lr, int epoch, int64_t step) {
    if (captured_ && batch.n == config_.batch_size) return captured_train_step(batch, lr, epoch, step);
    return eager_train_step(batch, lr, epoch, step);
  }

  bool eager_train_step(const data::Batch& batch, double lr, int epoch, int64_t step) {
    const double share = reducer_ ? reducer_->begin_step(loss_weight(batch.labels, class_weights_)) : 1.0;
    optimizer_->zero_grad();
    if (batch.n == 0) {
      reducer_->finish();
      const Tensor param_sq = nn::grad_squares(params_);
      const double norm = squares_norm(param_sq);
      if (!finite_step(!std::isfinite(norm), std::nullopt, norm, first_nonfinite_grad(named_params_), epoch, step, lr))
        return false;
      apply_update(param_sq);
      return true;
    }
    std::optional<AnomalyDetector::Watch> watch;
    if (anomaly_) watch.emplace(*anomaly_);
    const Tensor logits = (*model_)(batch_tensor(batch, device_, format()));
    Tensor loss = nn::cross_entropy(logits, batch.labels, class_weights_, config_.label_smoothing);
    // GoogLeNet's and Inception-v3's side heads: their weighted losses join the main one.
    if (auto* aux = dynamic_cast<models::AuxClassifiers*>(model_.get()))
      for (const auto& [weight, aux_logits] : aux->take_aux_logits())
        loss = nn::add(loss, nn::scale(nn::cross_entropy(aux_logits, batch.labels, class_weights_,
                                                         config_.label_smoothing), weight));
    const Tensor mean_loss = loss;
    if (reducer_) loss = nn::scale(loss, share);  // W_r / W: the all-reduce's sum is then the mean
    loss.backward();
    watch.reset();
    if (reducer_) reducer_->finish();
    const Tensor param_sq = nn::grad_squares(params_);  // for the meter and the clip
    meter_->record(mean_loss, logits, batch.labels, param_sq, step);
    if (sync_steps()) {
      const StepTotals t = meter_->read();
      if (!finite_step(t.last_bad, t.last_loss, t.last_norm, param_name(t.last_param), epoch, step, lr)) return false;
    }
    apply_update(param_sq);
    return true;
  }

  // --cuda-graphs (train/captured_step.h): the first full batch runs eagerly on the graph's stream,
  // the second rehearses the captured step's work, the third is captured, and every full batch
  // after it replays the captured step.
  bool captured_train_step(const data::Batch& batch, double lr, int epoch, int64_t step) {
    const int64_t k = d_.num_classes();
    for (size_t i = 0; i < batch.labels.size(); ++i)  // cross_entropy's check, which a replay skips
      HEMO_CHECK(batch.labels[i] >= 0 && batch.labels[i] < k, "label ", batch.labels[i], " of batch ", batch.number,
                 " (sample ", i, ") is outside [0, ", k, ")");
    if (graph_warmups_ < CapturedStep::kWarmupSteps) {
      bool applied = false;
      captured_->eager([&] { applied = eager_train_step(batch, lr, epoch, step); });
      ++graph_warmups_;
      return applied;
    }
    captured_->run(batch, step, [&](const Tensor& x, const nn::StepOnDevice& in, bool capturing) {
      optimizer_->zero_grad();
      const Tensor logits = (*model_)(x.to(format()));
      Tensor loss = nn::cross_entropy(logits, in.labels, config_.label_smoothing);
      if (auto* aux = dynamic_cast<models::AuxClassifiers*>(model_.get()))
        for (const auto& [weight, aux_logits] : aux->take_aux_logits())
          loss = nn::add(loss, nn::scale(nn::cross_entropy(aux_logits, in.labels, config_.label_smoothing), weight));
      loss.backward();
      const Tensor param_sq = nn::grad_squares(params_);
      meter_->record(loss, logits, in, param_sq);
      if (config_.clip_grad_norm > 0) clip_grad_norm(params_, config_.clip_grad_norm, param_sq);
      if (capturing)
        optimizer_->launch_captured();
      else
        optimizer_->step();
    });
    ++state_.step;
    if (sync_steps()) {  // --sync-every-step: the update is applied; a non-finite step stops the run
      const StepTotals t = meter_->read();
      if (t.last_bad) stop_nonfinite(t.last_loss, t.last_norm, param_name(t.last_param), epoch, step, lr);
    }
    return true;
  }

  // Acts on a step's finiteness, read at once (synchronous mode): `bad` (the loss or the gradient
  // norm is not finite; train/anomaly.h) must agree on every rank. Finite: true. Else the step is
  // skipped (false) while --skip-nonfinite allows, and otherwise the run stops (stop_nonfinite).
  // `loss`: none for a rank without samples in this step (it has only the all-reduced gradients).
  bool finite_step(bool bad_here, std::optional<double> loss, double norm, const std::string& param, int epoch,
                   int64_t step, double lr) {
    double bad = bad_here ? 1 : 0;  // every rank decides alike
    if (comm_->size() > 1) comm_->allreduce_sum(std::span<double>(&bad, 1), "the all-reduce of the step's finiteness");
    if (bad == 0) return true;
    if (state_.nonfinite_skipped >= config_.skip_nonfinite) stop_nonfinite(loss, norm, param, epoch, step, lr);
    ++state_.nonfinite_skipped;
    optimizer_->zero_grad();
    log(cat("skipping ", nonfinite_where(epoch, step), ": ", nonfinite_what(loss, norm), " (",
            state_.nonfinite_skipped, " of the ", config_.skip_nonfinite, " steps --skip-nonfinite allows); ",
            param.empty() ? "" : cat("first non-finite gradient norm: ", param, "; "), nonfinite_finding()));
    return false;
  }

  static std::string nonfinite_where(int epoch, int64_t step) { return cat("epoch ", epoch + 1, ", step ", step + 1); }
  static std::string nonfinite_what(std::optional<double> loss, double norm) {
    return loss && !std::isfinite(*loss) ? cat("the loss became ", *loss) : cat("the gradient norm became ", norm);
  }
  std::string nonfinite_finding() const {
    return anomaly_ ? (anomaly_->finding().empty() ? "--detect-anomaly saw no non-finite value on this rank"
                                                   : anomaly_->finding())
                    : "rerun with --detect-anomaly to find the layer where it arose";
  }

  // Stops the run at a non-finite step with an Error that names the step and where the values went
  // bad; no checkpoint is written from such a step (every checkpoint follows a meter read).
  [[noreturn]] void stop_nonfinite(std::optional<double> loss, double norm, const std::string& param, int epoch,
                                   int64_t step, double lr) {
    throw Error(cat("training stopped: ", nonfinite_what(loss, norm), " at ", nonfinite_where(epoch, step), " (lr ", lr,
                    ")", param.empty() ? "" : cat("; the first parameter with a non-finite gradient norm is ", param),
                    "; ", nonfinite_finding(),
                    ". No checkpoint was written from this step: last and best hold the last completed epoch",
                    state_.nonfinite_skipped > 0 ? cat(" (", state_.nonfinite_skipped, " such steps were skipped before)") : "",
                    ". Try a lower --lr or --clip-grad-norm, or --skip-nonfinite N to step over rare bad batches."));
  }

  // param_sq: the step's squared gradient norms (nn::grad_squares), which the clip takes on the
  // device, so that clipping needs no host synchronization.
  void apply_update(const Tensor& param_sq) {
    if (config_.clip_grad_norm > 0) clip_grad_norm(params_, config_.clip_grad_norm, param_sq);
    optimizer_->step();
    ++state_.step;
  }

  void save_checkpoints(bool better) {
    state_.optimizer = optimizer_->name();
    state_.dropout_rng = default_generator().state();
    state_.init_rng = init_gen_.state();
    state_.manifest_hash = d_.split_hash;
    state_.config = config_.to_json();
    const nlohmann::json json = state_.to_json();
    save_checkpoint(last_path().string(), *model_, meta_, optimizer_.get(), json);
    if (better) save_checkpoint(best_path().string(), *model_, meta_, nullptr, json);
  }

  bool stop_early() const {
    if (config_.patience <= 0 || state_.stale < config_.patience) return false;
    log(cat("early stop: ", option_name(config_.monitor), " has not improved for ", state_.stale,
            " epochs (best at epoch ", state_.best_epoch + 1, ")"));
    return true;
  }

  // Would another epoch, judged by the longest so far, end past --max-minutes?
  bool out_of_time(int epoch, double seconds_at_next_end) const {
    if (config_.max_minutes <= 0 || epoch + 1 >= config_.epochs || seconds_at_next_end <= config_.max_minutes * 60)
      return false;
    log(cat("stopping: another epoch would pass the time limit of ", config_.max_minutes, " minutes"));
    return true;
  }

  void test(TrainResult& result) {
    if (!root()) return;  // rank 0 alone evaluates the test split and writes the report
    // Without a test split the validation split stands in, said wherever its figures appear: it
    // picked the best epoch, so they are optimistic.
    const std::string split = d_.test.empty() ? "the validation split (there is no test split; the validation split "
                                                "picked the best epoch, so these figures are optimistic)"
                                              : "the test split";
    if (config_.restore_best && fs::exists(best_path())) {
      nn::load_state_dict(*model_, load_checkpoint(best_path().string()).model);
      log(cat("evaluating the best epoch (", state_.best_epoch + 1, ") on ", split));
    } else {
      log(cat("evaluating the last epoch on ", split));
    }
    const auto& eval_samples = d_.test.empty() ? d_.val : d_.test;
    data::Loader test_loader(std::make_shared<data::FileSource>(eval_samples), d_.eval_tf, d_.eval_opts);
    const Predictions test = predict(*model_, test_loader, device_, "test", format());
    const auto& classes = d_.manifest.classes;
    result.test = compute_metrics(test.truth, test.predicted, test.probabilities, classes);
    result.test.evaluated_on = split;
    result.best_epoch = state_.best_epoch;
    result.best_value = state_.best_value;
    files_->write_evaluation(result.test, test.paths, test.truth, test.predicted, test.probabilities, classes);
    // Grad-CAM overlays of test images for report.html (train/gradcam_report.h).
    const std::vector<GalleryItem> gallery = report_gallery(*model_, meta_, test, device_);
    files_->write_report(config_.to_json(), state_.history, result.test,
                         cat("hemo: ", config_.model, " on ", config_.data), gallery);
    log(format_table(result.test));
    log("run directory: " + run_dir_.string());
  }

  fs::path last_path() const { return run_dir_ / "last.safetensors"; }
  MemoryFormat format() const { return config_.channels_last ? MemoryFormat::channels_last : MemoryFormat::contiguous; }
  fs::path best_path() const { return run_dir_ / "best.safetensors"; }

  const TrainConfig config_;
  const std::function<void(const std::string&)> log_;
  const fs::path run_dir_;
  const std::shared_ptr<Communicator> comm_;
  Device device_ = Device::cpu();
  RunData d_;
  int64_t input_ = 0;
  Generator init_gen_{config_.seed, 1};
  nn::ModulePtr model_;
  std::vector<Tensor> params_;
  std::vector<nn::NamedTensor> named_params_;     // params_ with their names
  std::unique_ptr<AnomalyDetector> anomaly_;  // --detect-anomaly only
  std::unique_ptr<Optimizer> optimizer_;
  Schedule schedule_;
  Tensor class_weights_;
  ModelMeta meta_;
  std::unique_ptr<RunFiles> files_;
  TrainState state_;
  std::unique_ptr<StepMeter> meter_;  // the steps' loss, accuracy and gradient norm
  const int64_t interrupt_at_step_ = [] {
    const char* s = std::getenv("HEMO_INTERRUPT_AT_STEP");
    return s ? std::atoll(s) : int64_t{0};
  }();
  int64_t steps_in_process_ = 0;
  std::unique_ptr<GradReducer> reducer_;  // several ranks only
  std::unique_ptr<CapturedStep> captured_;  // --cuda-graphs only
  int graph_warmups_ = 0;                   // eager steps run before the capture
  data::SkipLog skips_;  // the files left out (scan and loaders), each named once on stderr
};

}  // namespace

TrainResult run_training(const TrainConfig& config, const std::function<void(const std::string&)>& log) {
  const InterruptScope interrupts;
  const std::shared_ptr<Communicator> comm = make_communicator({config.distributed});
  if (comm->size() == 1) return Trainer(config, log, comm).run();
  // A failing rank must not leave the others waiting in a collective: it ends the job. An
  // interrupt is not a failure: every rank agreed on it and stops alike.
  try {
    return Trainer(config, log, comm).run();
  } catch (const Interrupted&) {
    throw;
  } catch (const std::exception& e) {
    comm->abort(cat("error: ", e.what()), 1);
  }
}

}  // namespace hemo::train
